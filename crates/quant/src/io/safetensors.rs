//! `.safetensors` files, header first: the 8-byte length and the JSON header are parsed and
//! validated on their own, and each tensor's bytes are decoded only when asked for — so a 10 GB
//! checkpoint costs the memory of its header and one tensor.
//!
//! ```text
//! file = n (u64 little-endian) ‖ header (n bytes of UTF-8 JSON) ‖ data
//! header = { "__metadata__"?: {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, … }
//! ```
//! The validation follows the reference implementation (the `safetensors` crate, `read_metadata`):
//! n ≤ 100,000,000; strict UTF-8 and JSON; offsets, sorted by begin, start at 0 and are contiguous;
//! element count (checked product of the shape) × dtype size = end − begin; the data ends exactly at
//! the end of the file. The crate needs the whole file in one buffer to validate, which is what
//! header-first reading avoids, so the ladder is re-implemented here; a property test checks that
//! both accept the files the crate writes and read the same values.

use std::collections::BTreeMap;

use half::{bf16, f16};
use serde::{Deserialize, Serialize};

use super::TensorInfo;
use crate::minifloat::{FP8_E4M3, FP8_E5M2};

/// Largest header accepted (the reference implementation's cap).
pub const MAX_HEADER_LEN: u64 = 100_000_000;

/// Why a safetensors file or tensor cannot be read. Every variant says what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SafetensorsError {
    #[error("file too short for a safetensors header: {0} bytes, need at least 8")]
    TooShort(u64),
    #[error("not a safetensors file: its first 8 bytes give a header length of {len} bytes, more than any safetensors header ({MAX_HEADER_LEN})")]
    HeaderTooLarge { len: u64 },
    #[error("not a safetensors file (or a truncated one): its first 8 bytes give a header of {len} bytes, but the file has {file_len}")]
    HeaderPastEnd { len: u64, file_len: u64 },
    #[error("header is not valid UTF-8")]
    HeaderUtf8,
    #[error("header is not valid JSON: {0}")]
    HeaderJson(String),
    #[error("header entry \"{name}\": {problem}")]
    Entry { name: String, problem: String },
    #[error("tensor \"{name}\" has unknown dtype \"{dtype}\"")]
    UnknownDtype { name: String, dtype: String },
    #[error("tensor \"{name}\": shape {shape:?} has too many elements")]
    ShapeOverflow { name: String, shape: Vec<usize> },
    #[error("tensor \"{name}\": {elements} elements of {dtype} need {expected} bytes, its offsets give {actual}")]
    ByteCount {
        name: String,
        dtype: String,
        elements: usize,
        expected: u64,
        actual: u64,
    },
    #[error("tensor \"{name}\" starts at byte {begin} of the data, expected {expected} (offsets must be contiguous, without overlap or gap)")]
    NotContiguous {
        name: String,
        begin: u64,
        expected: u64,
    },
    #[error("the data is {actual} bytes but the header describes {expected}")]
    DataLength { expected: u64, actual: u64 },
    #[error("the file holds no tensors")]
    NoTensors,
    #[error("no tensor named \"{0}\" in the file")]
    NotFound(String),
    #[error("the file holds {0} tensors; pick one")]
    Ambiguous(usize),
    #[error("tensor \"{name}\" has dtype {dtype}, which cannot be quantized (float tensors only)")]
    Dtype { name: String, dtype: String },
    #[error("tensor \"{name}\": got {actual} bytes, expected {expected}")]
    Truncated {
        name: String,
        expected: u64,
        actual: u64,
    },
}

/// The element types of the format, with their sizes in bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dtype {
    Bool,
    U8,
    I8,
    F8E5M2,
    F8E4M3,
    F8E8M0,
    I16,
    U16,
    F16,
    Bf16,
    I32,
    U32,
    F32,
    F64,
    I64,
    U64,
    F4,
    F6E2M3,
    F6E3M2,
}

impl Dtype {
    const ALL: [(Self, &'static str, u64); 19] = [
        (Self::Bool, "BOOL", 8),
        (Self::U8, "U8", 8),
        (Self::I8, "I8", 8),
        (Self::F8E5M2, "F8_E5M2", 8),
        (Self::F8E4M3, "F8_E4M3", 8),
        (Self::F8E8M0, "F8_E8M0", 8),
        (Self::I16, "I16", 16),
        (Self::U16, "U16", 16),
        (Self::F16, "F16", 16),
        (Self::Bf16, "BF16", 16),
        (Self::I32, "I32", 32),
        (Self::U32, "U32", 32),
        (Self::F32, "F32", 32),
        (Self::F64, "F64", 64),
        (Self::I64, "I64", 64),
        (Self::U64, "U64", 64),
        (Self::F4, "F4", 4),
        (Self::F6E2M3, "F6_E2M3", 6),
        (Self::F6E3M2, "F6_E3M2", 6),
    ];

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|d| d.1 == s).map(|d| d.0)
    }

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|d| d.0 == self).map_or("?", |d| d.1)
    }

    pub fn bits(self) -> u64 {
        Self::ALL.iter().find(|d| d.0 == self).map_or(8, |d| d.2)
    }

    /// Float types Quantscope decodes (byte-aligned floats).
    pub fn is_float(self) -> bool {
        matches!(
            self,
            Self::F8E5M2 | Self::F8E4M3 | Self::F16 | Self::Bf16 | Self::F32 | Self::F64
        )
    }
}

/// One tensor of the header. `begin`/`end` are absolute byte positions in the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub begin: u64,
    pub end: u64,
}

impl Entry {
    pub fn n_elements(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn n_bytes(&self) -> u64 {
        self.end - self.begin
    }

    pub fn info(&self) -> TensorInfo {
        TensorInfo {
            name: self.name.clone(),
            dtype: self.dtype.name().to_string(),
            shape: self.shape.clone(),
            is_float: self.dtype.is_float(),
        }
    }
}

/// A validated header: every tensor in data order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// 8 + n: where the data starts.
    pub data_start: u64,
    pub tensors: Vec<Entry>,
    pub metadata: BTreeMap<String, String>,
}

impl Header {
    pub fn find(&self, name: &str) -> Result<&Entry, SafetensorsError> {
        self.tensors
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| SafetensorsError::NotFound(name.to_string()))
    }

    /// The tensor called `name`, or the only one.
    pub fn pick(&self, name: Option<&str>) -> Result<&Entry, SafetensorsError> {
        match name {
            Some(n) => self.find(n),
            None => match self.tensors.as_slice() {
                [] => Err(SafetensorsError::NoTensors),
                [one] => Ok(one),
                many => Err(SafetensorsError::Ambiguous(many.len())),
            },
        }
    }
}

/// The header's length n from the first 8 bytes (which must be there), checked against the cap
/// and the file length.
pub fn header_len(prefix: &[u8], file_len: u64) -> Result<u64, SafetensorsError> {
    let Some(first) = prefix.get(..8) else {
        return Err(SafetensorsError::TooShort(
            file_len.min(prefix.len() as u64),
        ));
    };
    let mut b = [0u8; 8];
    b.copy_from_slice(first);
    let n = u64::from_le_bytes(b);
    if n > MAX_HEADER_LEN {
        return Err(SafetensorsError::HeaderTooLarge { len: n });
    }
    if n.checked_add(8).is_none_or(|end| end > file_len) {
        return Err(SafetensorsError::HeaderPastEnd { len: n, file_len });
    }
    Ok(n)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: (u64, u64),
}

/// Parses and validates the header JSON (the n bytes after the length) of a file of `file_len`
/// bytes.
pub fn parse_header(json: &[u8], file_len: u64) -> Result<Header, SafetensorsError> {
    let text = std::str::from_utf8(json).map_err(|_| SafetensorsError::HeaderUtf8)?;
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| SafetensorsError::HeaderJson(e.to_string()))?;
    let data_start = 8 + json.len() as u64;
    let mut metadata = BTreeMap::new();
    let mut tensors = Vec::with_capacity(map.len());
    for (name, value) in map {
        if name == "__metadata__" {
            metadata = serde_json::from_value(value).map_err(|e| SafetensorsError::Entry {
                name,
                problem: format!("__metadata__ must map strings to strings ({e})"),
            })?;
            continue;
        }
        let raw: RawEntry = serde_json::from_value(value).map_err(|e| SafetensorsError::Entry {
            name: name.clone(),
            problem: e.to_string(),
        })?;
        let Some(dtype) = Dtype::from_name(&raw.dtype) else {
            return Err(SafetensorsError::UnknownDtype {
                name,
                dtype: raw.dtype,
            });
        };
        let (begin, end) = raw.data_offsets;
        if end < begin {
            return Err(SafetensorsError::Entry {
                name,
                problem: format!("data_offsets [{begin}, {end}] end before they begin"),
            });
        }
        let Some(elements) = raw
            .shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        else {
            return Err(SafetensorsError::ShapeOverflow {
                name,
                shape: raw.shape,
            });
        };
        let bits = (elements as u64).checked_mul(dtype.bits());
        let expected = bits.filter(|b| b % 8 == 0).map(|b| b / 8);
        if expected != Some(end - begin) {
            return Err(SafetensorsError::ByteCount {
                name,
                dtype: raw.dtype,
                elements,
                expected: expected.unwrap_or(u64::MAX),
                actual: end - begin,
            });
        }
        tensors.push(Entry {
            name,
            dtype,
            shape: raw.shape,
            begin,
            end,
        });
    }
    tensors.sort_by(|a, b| (a.begin, a.end, &a.name).cmp(&(b.begin, b.end, &b.name)));
    let mut expected = 0u64;
    for t in &mut tensors {
        if t.begin != expected {
            return Err(SafetensorsError::NotContiguous {
                name: t.name.clone(),
                begin: t.begin,
                expected,
            });
        }
        expected = t.end;
        // Relative to the data → absolute in the file (cannot overflow: both ≤ file_len below).
        t.begin = t.begin.saturating_add(data_start);
        t.end = t.end.saturating_add(data_start);
    }
    let actual = file_len.saturating_sub(data_start);
    if expected != actual {
        return Err(SafetensorsError::DataLength { expected, actual });
    }
    Ok(Header {
        data_start,
        tensors,
        metadata,
    })
}

/// Parses the header of a whole file held in memory.
pub fn read_header(bytes: &[u8]) -> Result<Header, SafetensorsError> {
    let file_len = bytes.len() as u64;
    let n = header_len(bytes, file_len)? as usize;
    parse_header(&bytes[8..8 + n], file_len)
}

/// Decodes little-endian float elements of `dtype` from `bytes` (a whole number of elements),
/// appending to `out`. Used chunk by chunk for large tensors.
pub fn decode_into(
    entry: &Entry,
    bytes: &[u8],
    out: &mut Vec<f32>,
) -> Result<(), SafetensorsError> {
    let not_float = || SafetensorsError::Dtype {
        name: entry.name.clone(),
        dtype: entry.dtype.name().to_string(),
    };
    match entry.dtype {
        Dtype::F32 => out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        ),
        Dtype::F16 => out.extend(
            bytes
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()),
        ),
        Dtype::Bf16 => out.extend(
            bytes
                .chunks_exact(2)
                .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32()),
        ),
        Dtype::F64 => {
            out.extend(bytes.chunks_exact(8).map(|c| {
                f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
            }))
        }
        Dtype::F8E4M3 => out.extend(bytes.iter().map(|&b| FP8_E4M3.real_from_code(u32::from(b)))),
        Dtype::F8E5M2 => out.extend(bytes.iter().map(|&b| FP8_E5M2.real_from_code(u32::from(b)))),
        _ => return Err(not_float()),
    }
    Ok(())
}

/// Decodes a whole tensor from its bytes (`entry.end − entry.begin` of them).
pub fn decode(entry: &Entry, bytes: &[u8]) -> Result<Vec<f32>, SafetensorsError> {
    if bytes.len() as u64 != entry.n_bytes() {
        return Err(SafetensorsError::Truncated {
            name: entry.name.clone(),
            expected: entry.n_bytes(),
            actual: bytes.len() as u64,
        });
    }
    let mut out = Vec::with_capacity(entry.n_elements());
    decode_into(entry, bytes, &mut out)?;
    Ok(out)
}

/// Every tensor's name, dtype and shape, in file order.
pub fn list(bytes: &[u8]) -> Result<Vec<TensorInfo>, SafetensorsError> {
    Ok(read_header(bytes)?
        .tensors
        .iter()
        .map(Entry::info)
        .collect())
}

/// Reads tensor `name` (or the only tensor) of a whole file as (label, shape, f32 values).
pub fn read_f32(
    bytes: &[u8],
    name: Option<&str>,
) -> Result<(String, Vec<usize>, Vec<f32>), SafetensorsError> {
    let header = read_header(bytes)?;
    let entry = header.pick(name)?;
    let values = decode(entry, &bytes[entry.begin as usize..entry.end as usize])?;
    Ok((entry.name.clone(), entry.shape.clone(), values))
}

/// Why a sharded checkpoint's index cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    #[error("index is not valid JSON with a \"weight_map\" of tensor → file: {0}")]
    Json(String),
    #[error("shard name \"{0}\" is not a plain file name next to the index")]
    ShardName(String),
}

/// The shards of a sharded checkpoint (`model.safetensors.index.json`), each with the tensors the
/// index assigns to it, in file-name order.
pub fn parse_index(bytes: &[u8]) -> Result<BTreeMap<String, Vec<String>>, IndexError> {
    #[derive(Deserialize)]
    struct Index {
        weight_map: BTreeMap<String, String>,
    }
    let index: Index =
        serde_json::from_slice(bytes).map_err(|e| IndexError::Json(e.to_string()))?;
    let mut shards: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (tensor, file) in index.weight_map {
        // Shards live next to the index: no paths, no parent directories.
        if file.is_empty() || file.contains(['/', '\\']) || file == "." || file == ".." {
            return Err(IndexError::ShardName(file));
        }
        shards.entry(file).or_default().push(tensor);
    }
    Ok(shards)
}

/// Builds a safetensors file from (name, shape, f32 values) — used by tests and sample files.
pub fn write_f32(tensors: &[(&str, &[usize], &[f32])]) -> Vec<u8> {
    let mut header = String::from("{");
    let mut offset = 0usize;
    for (i, (name, shape, values)) in tensors.iter().enumerate() {
        let len = values.len() * 4;
        let shape_json = serde_json::to_string(shape).unwrap_or_else(|_| "[]".into());
        let name_json = serde_json::to_string(name).unwrap_or_else(|_| "\"\"".into());
        if i > 0 {
            header.push(',');
        }
        header.push_str(&format!(
            "{name_json}:{{\"dtype\":\"F32\",\"shape\":{shape_json},\"data_offsets\":[{offset},{}]}}",
            offset + len
        ));
        offset += len;
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    for (_, _, values) in tensors {
        for v in *values {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(data);
        b
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn lists_and_reads_tensors() {
        let bytes = write_f32(&[("b", &[2], &[1.0, 2.0]), ("a", &[1, 3], &[3.0, 4.0, 5.0])]);
        let list = list(&bytes).unwrap_or_default();
        let names: Vec<&str> = list.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["b", "a"]);
        assert_eq!(list[1].shape, vec![1, 3]);
        assert_eq!(list[1].dtype, "F32");
        let (name, shape, v) = read_f32(&bytes, Some("a")).unwrap_or_default();
        assert_eq!(
            (name.as_str(), shape, v),
            ("a", vec![1, 3], vec![3.0, 4.0, 5.0])
        );
        assert_eq!(read_f32(&bytes, None), Err(SafetensorsError::Ambiguous(2)));
        assert_eq!(
            read_f32(&bytes, Some("c")),
            Err(SafetensorsError::NotFound("c".into()))
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn reads_half_precision_and_fp8() {
        // BF16 [1.0, -2.0] = 0x3f80, 0xc000
        let b = file(
            r#"{"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#,
            &[0x80, 0x3f, 0x00, 0xc0],
        );
        assert_eq!(read_f32(&b, None).map(|r| r.2), Ok(vec![1.0, -2.0]));
        // F8_E4M3 0x38 = 1.0, 0xC4 = −3; F8_E5M2 0x3C = 1.0
        let b = file(
            r#"{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"F8_E5M2","shape":[1],"data_offsets":[2,3]}}"#,
            &[0x38, 0xC4, 0x3C],
        );
        assert_eq!(read_f32(&b, Some("a")).map(|r| r.2), Ok(vec![1.0, -3.0]));
        assert_eq!(read_f32(&b, Some("b")).map(|r| r.2), Ok(vec![1.0]));
    }

    /// One byte literal per failure, each giving its own variant.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn each_failure_has_its_variant() {
        use SafetensorsError as E;
        let err = |b: &[u8]| read_header(b).err();
        assert_eq!(err(b""), Some(E::TooShort(0)));
        assert_eq!(err(b"\x02\x00\x00"), Some(E::TooShort(3)));
        assert_eq!(
            err(b"\x00\xe2\xf5\x05\x01\x00\x00\x00{}"),
            Some(E::HeaderTooLarge { len: 0x1_05f5_e200 })
        );
        assert_eq!(
            err(b"\x10\x00\x00\x00\x00\x00\x00\x00{}"),
            Some(E::HeaderPastEnd {
                len: 16,
                file_len: 10
            })
        );
        // Random bytes (their first 8 give a length of about 6e18) read as "not a safetensors
        // file", not as a huge header.
        let random = b"\x07\x3c\xa1\x9e\x55\x2b\xde\x53rest";
        let message = err(random).map(|e| e.to_string()).unwrap_or_default();
        assert!(message.starts_with("not a safetensors file"), "{message}");
        assert_eq!(
            err(&file("{\u{0}", b"")).map(|e| matches!(e, E::HeaderJson(_))),
            Some(true)
        );
        let mut bad_utf8 = 2u64.to_le_bytes().to_vec();
        bad_utf8.extend_from_slice(&[0xff, 0xfe]);
        assert_eq!(err(&bad_utf8), Some(E::HeaderUtf8));
        assert!(matches!(
            err(&file(r#"{"a":{"dtype":"F32","shape":[1]}}"#, b"")),
            Some(E::Entry { name, .. }) if name == "a"
        ));
        assert!(matches!(
            err(&file(r#"{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}"#, &[0; 4])),
            Some(E::UnknownDtype { dtype, .. }) if dtype == "F33"
        ));
        assert!(matches!(
            err(&file(
                r#"{"a":{"dtype":"F32","shape":[65536,65536,65536,65536],"data_offsets":[0,4]}}"#,
                &[0; 4]
            )),
            Some(E::ShapeOverflow { .. })
        ));
        assert!(matches!(
            err(&file(
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#,
                &[0; 4]
            )),
            Some(E::ByteCount {
                expected: 8,
                actual: 4,
                ..
            })
        ));
        // Overlap, and a gap.
        assert!(matches!(
            err(&file(
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#,
                &[0; 6]
            )),
            Some(E::NotContiguous {
                begin: 2,
                expected: 4,
                ..
            })
        ));
        assert!(matches!(
            err(&file(
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                &[0; 8]
            )),
            Some(E::NotContiguous {
                begin: 4,
                expected: 0,
                ..
            })
        ));
        assert!(matches!(
            err(&file(
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#,
                &[0; 4]
            )),
            Some(E::Entry { .. })
        ));
        // Offsets past the end (truncated data), and trailing bytes.
        assert_eq!(
            err(&file(
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                &[0; 5]
            )),
            Some(E::DataLength {
                expected: 8,
                actual: 5
            })
        );
        assert_eq!(
            err(&file(
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                &[0; 6]
            )),
            Some(E::DataLength {
                expected: 4,
                actual: 6
            })
        );
        let ints = file(
            r#"{"i":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#,
            &[1, 0, 0, 0],
        );
        assert!(matches!(read_f32(&ints, None), Err(E::Dtype { .. })));
        assert_eq!(list(&ints).map(|l| l[0].is_float), Ok(false));
        assert_eq!(read_f32(&file("{}", b""), None).err(), Some(E::NoTensors));
        let entry = &read_header(&ints).unwrap_or_else(|e| panic!("{e}")).tensors[0];
        assert!(matches!(
            decode(entry, &[0; 3]),
            Err(E::Truncated {
                expected: 4,
                actual: 3,
                ..
            })
        ));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn sharded_index_groups_tensors_by_file() {
        let index = br#"{"metadata":{"total_size":16},"weight_map":{"b":"model-00002-of-00002.safetensors","a":"model-00001-of-00002.safetensors","c":"model-00001-of-00002.safetensors"}}"#;
        let shards = parse_index(index).unwrap_or_default();
        assert_eq!(shards.len(), 2);
        assert_eq!(shards["model-00001-of-00002.safetensors"], vec!["a", "c"]);
        assert!(matches!(
            parse_index(br#"{"weight_map":{"a":"../etc/passwd"}}"#),
            Err(IndexError::ShardName(_))
        ));
        assert!(matches!(parse_index(b"{}"), Err(IndexError::Json(_))));
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Files written by the reference crate read back with the same names, shapes and values,
        /// and the crate accepts exactly what we accept after a random byte is changed.
        #[test]
        fn round_trip_and_agreement_with_the_reference(
            tensors in proptest::collection::vec(
                (proptest::collection::vec(1usize..5, 0..3), any::<u64>()),
                1..5,
            ),
            flip in any::<(usize, u8)>(),
        ) {
            let data: Vec<(String, Vec<usize>, Vec<f32>)> = tensors
                .iter()
                .enumerate()
                .map(|(i, (shape, seed))| {
                    let n: usize = shape.iter().product();
                    let v = (0..n).map(|k| ((seed.wrapping_add(k as u64) % 1000) as f32) / 7.0).collect();
                    (format!("t{i}"), shape.clone(), v)
                })
                .collect();
            let raw: Vec<Vec<u8>> = data
                .iter()
                .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
                .collect();
            let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = data
                .iter()
                .zip(&raw)
                .map(|((name, shape, _), bytes)| {
                    (name.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                        .unwrap_or_else(|e| panic!("{e}")))
                })
                .collect();
            let file = safetensors::serialize(views, None).unwrap_or_else(|e| panic!("{e}"));
            for (name, shape, v) in &data {
                let (n, s, got) = read_f32(&file, Some(name)).unwrap_or_else(|e| panic!("{e}"));
                prop_assert_eq!((&n, &s, &got), (name, shape, v));
            }
            let mut broken = file.clone();
            let at = flip.0 % broken.len();
            broken[at] ^= flip.1.max(1);
            let ours = read_header(&broken).is_ok();
            let theirs = safetensors::SafeTensors::deserialize(&broken).is_ok();
            // The header region is where validity is decided; a flipped data byte keeps both valid.
            prop_assert_eq!(ours, theirs, "byte {} flipped", at);
        }
    }
}
