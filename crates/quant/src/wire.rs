//! Compact serde forms for long numeric arrays: one byte string (little-endian) instead of a
//! sequence of numbers. An analysis crossing from a worker to the page holds up to 65,536 code
//! counts and levels (16-bit formats); as a byte string it becomes one `Uint8Array` copy instead
//! of 65,536 JS values to build and read (measured: ~20 ms of the page's main thread for one
//! bf16 analysis, before). Reading also accepts a sequence of bytes (how JSON spells them).
//!
//! Use with `#[serde(with = "crate::wire::u64s")]` or `f32s`.

use serde::de::{Error, SeqAccess, Visitor};
use serde::{Deserializer, Serializer};

/// Bytes of `n`-byte little-endian numbers, from a byte string or a sequence of bytes.
struct Bytes<const N: usize>;

impl<'de, const N: usize> Visitor<'de> for Bytes<N> {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a byte string of {N}-byte numbers")
    }

    fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
        while let Some(b) = seq.next_element::<u8>()? {
            out.push(b);
        }
        Ok(out)
    }
}

fn read<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<Vec<u8>, D::Error> {
    let bytes = d.deserialize_byte_buf(Bytes::<N>)?;
    if bytes.len() % N != 0 {
        return Err(D::Error::custom(format!(
            "{} bytes is not a whole number of {N}-byte values",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// `Vec<u64>` as bytes.
pub mod u64s {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        s.serialize_bytes(&bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        let bytes = read::<D, 8>(d)?;
        Ok(bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect())
    }
}

/// `Vec<f32>` as bytes (bit patterns: NaN payloads and −0 survive).
pub mod f32s {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        s.serialize_bytes(&bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        let bytes = read::<D, 4>(d)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct T {
        #[serde(with = "super::u64s")]
        counts: Vec<u64>,
        #[serde(with = "super::f32s")]
        levels: Vec<f32>,
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn arrays_round_trip_through_json_bit_for_bit() {
        let t = T {
            counts: vec![0, 1, u64::MAX, 1 << 40],
            levels: vec![-0.0, 1.5, f32::INFINITY, f32::from_bits(0x7FC0_1234)],
        };
        let json = serde_json::to_string(&t).unwrap_or_default();
        let back: T = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(back.counts, t.counts);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.levels), bits(&t.levels));
        // A byte string that is not whole values is refused.
        let bad = r#"{"counts":[1,2,3],"levels":[]}"#;
        assert!(serde_json::from_str::<T>(bad).is_err());
    }
}
