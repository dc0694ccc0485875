//! NumPy `.npy` files, versions 1.0, 2.0 and 3.0 (C order; float dtypes are read as f32).
//!
//! ```text
//! "\x93NUMPY" major minor  header_len (u16 LE for v1, u32 LE for v2/v3)  header  data
//! header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
//! ```
//! (NumPy's format spec, `numpy.lib.format`.) Written by hand because no maintained crate reads all
//! three versions from a byte slice with checked lengths; the header parser accepts exactly the
//! dict NumPy writes.

use half::f16;

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Headers longer than this are refused before anything is allocated (NumPy itself caps at 10 KiB
/// for reading unless told otherwise).
pub const MAX_HEADER_LEN: usize = 1 << 16;

/// Why bytes are not a readable `.npy` file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NpyError {
    #[error("not a .npy file (bad magic bytes)")]
    BadMagic,
    #[error("unsupported .npy version {0}.{1}")]
    Version(u8, u8),
    #[error("the .npy header is truncated")]
    TruncatedHeader,
    #[error("the .npy header is {0} bytes, more than the {MAX_HEADER_LEN}-byte limit")]
    HeaderTooLarge(usize),
    #[error("the .npy header is not valid text")]
    HeaderEncoding,
    #[error("the .npy header is malformed: missing or invalid '{0}'")]
    HeaderField(&'static str),
    #[error("dtype '{0}' is not supported (float16/32/64 only)")]
    Dtype(String),
    #[error("shape {0:?} overflows")]
    ShapeOverflow(Vec<usize>),
    #[error("the data is truncated: expected {expected} bytes, found {actual}")]
    TruncatedData { expected: usize, actual: usize },
}

/// The parsed header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    pub descr: String,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
    /// Offset of the data.
    pub data_offset: usize,
}

impl NpyHeader {
    /// Whether the dtype is a float type this reader converts.
    pub fn is_float(&self) -> bool {
        element(&self.descr).is_some()
    }
}

#[derive(Clone, Copy)]
enum Element {
    F16,
    F32,
    F64,
}

fn element(descr: &str) -> Option<(Element, bool)> {
    // (element, big endian)
    let (order, kind) = descr.split_at_checked(1)?;
    let big = match order {
        "<" | "=" | "|" => false,
        ">" => true,
        _ => return None,
    };
    let e = match kind {
        "f2" => Element::F16,
        "f4" => Element::F32,
        "f8" => Element::F64,
        _ => return None,
    };
    Some((e, big))
}

/// Reads and checks the header.
pub fn read_header(bytes: &[u8]) -> Result<NpyHeader, NpyError> {
    if bytes.len() < 8 || &bytes[..6] != MAGIC {
        return Err(NpyError::BadMagic);
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_len, start) = match major {
        1 => {
            let b = bytes.get(8..10).ok_or(NpyError::TruncatedHeader)?;
            (usize::from(u16::from_le_bytes([b[0], b[1]])), 10)
        }
        2 | 3 => {
            let b = bytes.get(8..12).ok_or(NpyError::TruncatedHeader)?;
            let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            (usize::try_from(len).unwrap_or(usize::MAX), 12)
        }
        _ => return Err(NpyError::Version(major, minor)),
    };
    if header_len > MAX_HEADER_LEN {
        return Err(NpyError::HeaderTooLarge(header_len));
    }
    let end = start + header_len;
    let raw = bytes.get(start..end).ok_or(NpyError::TruncatedHeader)?;
    let text = std::str::from_utf8(raw).map_err(|_| NpyError::HeaderEncoding)?;
    if major < 3 && !text.is_ascii() {
        return Err(NpyError::HeaderEncoding);
    }
    let descr = dict_value(text, "descr")
        .and_then(|v| {
            v.strip_prefix('\'')
                .and_then(|v| v.split_once('\''))
                .map(|(s, _)| s.to_string())
        })
        .ok_or(NpyError::HeaderField("descr"))?;
    let fortran_order = match dict_value(text, "fortran_order") {
        Some(v) if v.starts_with("False") => false,
        Some(v) if v.starts_with("True") => true,
        _ => return Err(NpyError::HeaderField("fortran_order")),
    };
    let shape_src = dict_value(text, "shape")
        .and_then(|v| v.strip_prefix('('))
        .and_then(|v| v.split_once(')'))
        .map(|(inner, _)| inner)
        .ok_or(NpyError::HeaderField("shape"))?;
    let shape = shape_src
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| NpyError::HeaderField("shape"))?;
    Ok(NpyHeader {
        descr,
        fortran_order,
        shape,
        data_offset: end,
    })
}

/// The text after `'key':` in a dict literal, with leading spaces removed.
fn dict_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let pattern = format!("'{key}'");
    let at = text.find(&pattern)?;
    let rest = text[at + pattern.len()..].trim_start();
    Some(rest.strip_prefix(':')?.trim_start())
}

/// Reads a float `.npy` as (shape, f32 values). f64 values are rounded to nearest f32.
pub fn read_f32(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>), NpyError> {
    let header = read_header(bytes)?;
    let (elem, big) =
        element(&header.descr).ok_or_else(|| NpyError::Dtype(header.descr.clone()))?;
    let n = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| NpyError::ShapeOverflow(header.shape.clone()))?;
    let size = match elem {
        Element::F16 => 2,
        Element::F32 => 4,
        Element::F64 => 8,
    };
    let expected = n
        .checked_mul(size)
        .ok_or_else(|| NpyError::ShapeOverflow(header.shape.clone()))?;
    let data = &bytes[header.data_offset..];
    if data.len() < expected {
        return Err(NpyError::TruncatedData {
            expected,
            actual: data.len(),
        });
    }
    let data = &data[..expected];
    let values: Vec<f32> = match (elem, big) {
        (Element::F32, false) => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        (Element::F32, true) => data
            .chunks_exact(4)
            .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        (Element::F16, false) => data
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        (Element::F16, true) => data
            .chunks_exact(2)
            .map(|c| f16::from_be_bytes([c[0], c[1]]).to_f32())
            .collect(),
        (Element::F64, big) => data
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                (if big {
                    f64::from_be_bytes(b)
                } else {
                    f64::from_le_bytes(b)
                }) as f32
            })
            .collect(),
    };
    let values = if header.fortran_order {
        c_order_from_fortran(&header.shape, values)
    } else {
        values
    };
    Ok((header.shape, values))
}

/// Reorders a Fortran-order (first index fastest) buffer into C order (last index fastest).
fn c_order_from_fortran(shape: &[usize], fortran: Vec<f32>) -> Vec<f32> {
    if shape.iter().filter(|&&d| d > 1).count() <= 1 {
        return fortran; // one non-trivial axis: both orders are the same
    }
    // C strides of each axis.
    let mut c_strides = vec![1usize; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        c_strides[a] = c_strides[a + 1] * shape[a + 1];
    }
    let mut out = vec![0f32; fortran.len()];
    let mut index = vec![0usize; shape.len()];
    for &v in &fortran {
        let c: usize = index.iter().zip(&c_strides).map(|(i, s)| i * s).sum();
        out[c] = v;
        // Advance the Fortran multi-index: first axis fastest.
        for (a, i) in index.iter_mut().enumerate() {
            *i += 1;
            if *i < shape[a] {
                break;
            }
            *i = 0;
        }
    }
    out
}

/// Builds a version-1.0 `.npy` file with `descr` and `shape` around `data` (little-endian bytes).
fn write(descr: &str, shape: &[usize], data: impl Iterator<Item = u8>) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_txt = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_txt}, }}");
    // Pad with spaces so that magic + len + header + '\n' is a multiple of 64.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(data);
    out
}

/// A little-endian f32 `.npy` file.
pub fn write_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    write("<f4", shape, values.iter().flat_map(|v| v.to_le_bytes()))
}

/// A little-endian i32 `.npy` file.
pub fn write_i32(shape: &[usize], values: &[i32]) -> Vec<u8> {
    write("<i4", shape, values.iter().flat_map(|v| v.to_le_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn round_trips_f32() {
        let bytes = write_f32(&[2, 3], &[1.0, -2.0, 3.5, 0.0, f32::NAN, 6.0]);
        assert_eq!(bytes.len() % 64, 24); // header padded to 64 bytes, then 24 data bytes
        let (shape, v) = read_f32(&bytes).unwrap_or_default();
        assert_eq!(shape, vec![2, 3]);
        assert_eq!(v[..4], [1.0, -2.0, 3.5, 0.0]);
        assert!(v[4].is_nan());
        let one = write_f32(&[3], &[1.0, 2.0, 3.0]);
        assert_eq!(read_f32(&one), Ok((vec![3], vec![1.0, 2.0, 3.0])));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn reads_f16_f64_and_big_endian() {
        let mut b = write("<f2", &[2], [0x00, 0x3c, 0x00, 0xc0].into_iter()); // 1.0, -2.0
        assert_eq!(read_f32(&b), Ok((vec![2], vec![1.0, -2.0])));
        b = write("<f8", &[1], 0.1f64.to_le_bytes().into_iter());
        assert_eq!(read_f32(&b), Ok((vec![1], vec![0.1f32])));
        b = write(">f4", &[1], 2.5f32.to_be_bytes().into_iter());
        assert_eq!(read_f32(&b), Ok((vec![1], vec![2.5])));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn fortran_order_is_read_into_c_order() {
        // np.asfortranarray(np.arange(6).reshape(2, 3)) stores 0, 3, 1, 4, 2, 5.
        let f = replace(
            &write_f32(&[2, 3], &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]),
            b"False",
            b"True ",
        );
        assert_eq!(
            read_f32(&f),
            Ok((vec![2, 3], vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]))
        );
        // 3-D: shape (2, 2, 2); Fortran order of arange(8).reshape(2, 2, 2) is 0 4 2 6 1 5 3 7.
        let f = replace(
            &write_f32(&[2, 2, 2], &[0.0, 4.0, 2.0, 6.0, 1.0, 5.0, 3.0, 7.0]),
            b"False",
            b"True ",
        );
        let expected: Vec<f32> = (0..8).map(|i| i as f32).collect();
        assert_eq!(read_f32(&f), Ok((vec![2, 2, 2], expected)));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn version_2_header() {
        let v1 = write_f32(&[1], &[4.0]);
        let header = &v1[10..64];
        let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
        v2.extend_from_slice(&(header.len() as u32).to_le_bytes());
        v2.extend_from_slice(header);
        v2.extend_from_slice(&4.0f32.to_le_bytes());
        assert_eq!(read_f32(&v2), Ok((vec![1], vec![4.0])));
    }

    /// `bytes` with the first occurrence of `from` replaced by `to` (same length).
    fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        if let Some(at) = bytes.windows(from.len()).position(|w| w == from) {
            out[at..at + to.len()].copy_from_slice(to);
        }
        out
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn each_failure_has_its_error() {
        assert_eq!(read_f32(b""), Err(NpyError::BadMagic));
        assert_eq!(read_f32(b"PK\x03\x04 not npy"), Err(NpyError::BadMagic));
        assert_eq!(
            read_f32(b"\x93NUMPY\x09\x00\x10\x00"),
            Err(NpyError::Version(9, 0))
        );
        assert_eq!(
            read_f32(b"\x93NUMPY\x01\x00\x50\x00{'descr'"),
            Err(NpyError::TruncatedHeader)
        );
        assert_eq!(
            read_f32(b"\x93NUMPY\x02\x00\xff\xff\xff\xff"),
            Err(NpyError::HeaderTooLarge(u32::MAX as usize))
        );
        let bad_dtype = write("<i4", &[1], 7i32.to_le_bytes().into_iter());
        assert_eq!(read_f32(&bad_dtype), Err(NpyError::Dtype("<i4".into())));
        let mut truncated = write_f32(&[4], &[1.0, 2.0, 3.0, 4.0]);
        truncated.truncate(truncated.len() - 3);
        assert_eq!(
            read_f32(&truncated),
            Err(NpyError::TruncatedData {
                expected: 16,
                actual: 13
            })
        );
        let huge = write("<f4", &[usize::MAX, 2], std::iter::empty());
        assert!(matches!(read_f32(&huge), Err(NpyError::ShapeOverflow(_))));
        let no_shape = replace(
            &write("<f4", &[1], std::iter::empty()),
            b"'shape'",
            b"'shope'",
        );
        assert_eq!(read_f32(&no_shape), Err(NpyError::HeaderField("shape")));
    }
}
