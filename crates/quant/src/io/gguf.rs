//! GGUF files (llama.cpp's model format), header first: the header is parsed and validated from a
//! prefix of the file, and each tensor's bytes are decoded only when asked for — so a multi-GB
//! model costs the memory of its header (large metadata arrays are only counted) and one tensor.
//!
//! ```text
//! file   = "GGUF" ‖ version u32 (2 or 3) ‖ n_tensors u64 ‖ n_kv u64 ‖ kv × n_kv ‖ info × n_tensors
//!          ‖ padding to `general.alignment` (default 32) ‖ data
//! kv     = key: string ‖ value type u32 ‖ value          (all little-endian)
//! string = length u64 ‖ UTF-8 bytes
//! value  = u8 | i8 | u16 | i16 | u32 | i32 | f32 | bool (u8) | string | array | u64 | i64 | f64
//! array  = element type u32 ‖ count u64 ‖ elements
//! info   = name: string ‖ n_dims u32 ‖ ne u64 × n_dims (ne[0] innermost) ‖ ggml type u32
//!          ‖ offset u64 (into the data, a multiple of the alignment)
//! ```
//! Hand-written because the reader must work on a prefix (the page reads slices of a `File`) and
//! refuse a malformed file before allocating anything it describes: every length and count is
//! checked against the bytes that remain before use, every size with checked arithmetic; tensors
//! may not overlap or run past the end of the file. (llama.cpp's gguf-py reader, the reference,
//! maps the whole file.) Shapes are reported in numpy order (outermost first).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::TensorInfo;
use crate::ggml::{self, GgmlType};

/// Largest header read (metadata of big vocabularies runs to tens of MB).
pub const MAX_HEADER_LEN: u64 = 512 << 20;
/// GGML's most dimensions.
pub const MAX_DIMS: usize = 4;
/// Arrays in the metadata longer than this are kept as a count (token lists).
const KEEP_ARRAY: u64 = 64;
/// Arrays nest at most this deep.
const MAX_NESTING: u32 = 4;
const DEFAULT_ALIGNMENT: u64 = 32;

/// Why a GGUF file or tensor cannot be read. Every variant says what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GgufError {
    #[error("not a GGUF file: it starts with {0:02x?}, not \"GGUF\"")]
    BadMagic(Vec<u8>),
    #[error("not a GGUF file: it is only {0} bytes long")]
    TooShort(u64),
    #[error("GGUF version {0} is not supported (versions 2 and 3 are)")]
    Version(u32),
    #[error("a big-endian GGUF file: only little-endian files are read")]
    BigEndian,
    #[error("the header continues past byte {at_least} (read more of the file)")]
    NeedMore { at_least: u64 },
    #[error(
        "the file ends inside its header: it needs at least {at_least} bytes, it has {file_len}"
    )]
    HeaderPastEnd { at_least: u64, file_len: u64 },
    #[error("the header is longer than {MAX_HEADER_LEN} bytes")]
    HeaderTooLarge,
    #[error("the file says it holds {count} {what}, more than its {file_len} bytes can")]
    TooMany {
        what: &'static str,
        count: u64,
        file_len: u64,
    },
    #[error("a string at byte {at} is {len} bytes long, past the end of the file")]
    StringLength { at: u64, len: u64 },
    #[error("a string at byte {at} is not valid UTF-8")]
    Utf8 { at: u64 },
    #[error("metadata \"{key}\": unknown value type {value_type}")]
    ValueType { key: String, value_type: u32 },
    #[error("metadata \"{key}\": arrays nest deeper than {MAX_NESTING}")]
    Nesting { key: String },
    #[error("metadata \"{key}\" appears twice")]
    DuplicateKey { key: String },
    #[error("metadata general.alignment must be a power of two, got {0}")]
    Alignment(u64),
    #[error("tensor \"{name}\" appears twice")]
    DuplicateTensor { name: String },
    #[error("tensor \"{name}\" has {dims} dimensions (at most {MAX_DIMS})")]
    Dims { name: String, dims: u32 },
    #[error("tensor \"{name}\": shape {shape:?} has too many elements")]
    ShapeOverflow { name: String, shape: Vec<u64> },
    #[error("tensor \"{name}\": rows of {row} values are not whole blocks of {block} ({ty})")]
    PartialBlock {
        name: String,
        ty: &'static str,
        row: u64,
        block: usize,
    },
    #[error("tensor \"{name}\" starts at data offset {offset}, not a multiple of the alignment {alignment}")]
    Misaligned {
        name: String,
        offset: u64,
        alignment: u64,
    },
    #[error("tensor \"{name}\" overlaps tensor \"{other}\"")]
    Overlap { name: String, other: String },
    #[error("tensor \"{name}\" ends at byte {end} but the file has {file_len}")]
    PastEnd {
        name: String,
        end: u64,
        file_len: u64,
    },
    #[error("the file holds no tensors")]
    NoTensors,
    #[error("no tensor named \"{0}\" in the file")]
    NotFound(String),
    #[error("tensor \"{name}\" is of type {ty}, which Quantscope cannot read (it reads F32, F16, BF16, F64, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K–Q6_K, IQ4_NL, IQ4_XS and MXFP4)")]
    Unreadable { name: String, ty: String },
    #[error("tensor \"{name}\": got {actual} bytes, expected {expected}")]
    Truncated {
        name: String,
        expected: u64,
        actual: u64,
    },
}

/// A metadata value as shown (long arrays only counted).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Value {
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    Str(String),
    Array(Vec<Value>),
    /// An array too long to keep: its element type and length.
    LongArray {
        element_type: u32,
        len: u64,
    },
}

impl Value {
    /// The value as an unsigned integer, if it is one.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Self::U64(v) => Some(*v),
            Self::I64(v) => u64::try_from(*v).ok(),
            _ => None,
        }
    }

    /// A short text for people.
    pub fn display(&self) -> String {
        match self {
            Self::U64(v) => v.to_string(),
            Self::I64(v) => v.to_string(),
            Self::F64(v) => v.to_string(),
            Self::Bool(v) => v.to_string(),
            Self::Str(s) => s.clone(),
            Self::Array(a) => format!(
                "[{}]",
                a.iter().map(Value::display).collect::<Vec<_>>().join(", ")
            ),
            Self::LongArray { len, .. } => format!("[{len} values]"),
        }
    }
}

/// One tensor of the header. `begin`/`end` are absolute byte positions in the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    /// The type's id, and the type when llama.cpp's list (as Quantscope knows it) has it.
    pub type_id: u32,
    pub ty: Option<GgmlType>,
    /// Numpy order: outermost first (GGUF stores ne[0], the row length, first).
    pub shape: Vec<usize>,
    pub begin: u64,
    pub end: u64,
}

impl Entry {
    pub fn n_elements(&self) -> usize {
        self.shape.iter().product()
    }

    /// llama.cpp's name of its type (or `type N` for an id it does not know).
    pub fn type_name(&self) -> String {
        self.ty.map_or_else(
            || format!("type {}", self.type_id),
            |t| t.name().to_string(),
        )
    }

    pub fn info(&self) -> TensorInfo {
        TensorInfo {
            name: self.name.clone(),
            dtype: self.type_name(),
            shape: self.shape.clone(),
            is_float: self.ty.is_some_and(GgmlType::can_dequantize),
        }
    }
}

/// A validated header: the metadata and every tensor, in file order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub version: u32,
    pub metadata: BTreeMap<String, Value>,
    pub alignment: u64,
    /// Where the data starts.
    pub data_start: u64,
    pub tensors: Vec<Entry>,
}

impl Header {
    /// `general.architecture`.
    pub fn architecture(&self) -> Option<&str> {
        match self.metadata.get("general.architecture") {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// `general.quantization_version`.
    pub fn quantization_version(&self) -> Option<u64> {
        self.metadata
            .get("general.quantization_version")
            .and_then(Value::as_u64)
    }

    /// `general.file_type` as llama.cpp names it (`MOSTLY_Q4_K_M`, …).
    pub fn file_type(&self) -> Option<String> {
        let id = self.metadata.get("general.file_type")?.as_u64()?;
        Some(file_type_name(id).map_or_else(|| format!("file type {id}"), str::to_string))
    }

    /// The attention heads (`ARCH.attention.head_count`, `ARCH.attention.head_count_kv`,
    /// which defaults to the first), for undoing llama.cpp's reordering of q/k rows.
    pub fn attention_heads(&self) -> Option<(usize, usize)> {
        let arch = self.architecture()?;
        let get = |k: &str| {
            self.metadata
                .get(&format!("{arch}.attention.{k}"))
                .and_then(Value::as_u64)
                .and_then(|v| usize::try_from(v).ok())
        };
        let heads = get("head_count")?;
        Some((heads, get("head_count_kv").unwrap_or(heads)))
    }

    pub fn find(&self, name: &str) -> Result<&Entry, GgufError> {
        self.tensors
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| GgufError::NotFound(name.to_string()))
    }

    /// The tensor called `name`, or the first one Quantscope can read.
    pub fn pick(&self, name: Option<&str>) -> Result<&Entry, GgufError> {
        match name {
            Some(n) => self.find(n),
            None => {
                let first = self.tensors.first().ok_or(GgufError::NoTensors)?;
                Ok(self
                    .tensors
                    .iter()
                    .find(|e| e.ty.is_some_and(GgmlType::can_dequantize))
                    .unwrap_or(first))
            }
        }
    }
}

/// `llama_ftype`'s names (gguf-py's `LlamaFileType`).
pub fn file_type_name(id: u64) -> Option<&'static str> {
    Some(match id {
        0 => "ALL_F32",
        1 => "MOSTLY_F16",
        2 => "MOSTLY_Q4_0",
        3 => "MOSTLY_Q4_1",
        7 => "MOSTLY_Q8_0",
        8 => "MOSTLY_Q5_0",
        9 => "MOSTLY_Q5_1",
        10 => "MOSTLY_Q2_K",
        11 => "MOSTLY_Q3_K_S",
        12 => "MOSTLY_Q3_K_M",
        13 => "MOSTLY_Q3_K_L",
        14 => "MOSTLY_Q4_K_S",
        15 => "MOSTLY_Q4_K_M",
        16 => "MOSTLY_Q5_K_S",
        17 => "MOSTLY_Q5_K_M",
        18 => "MOSTLY_Q6_K",
        19 => "MOSTLY_IQ2_XXS",
        20 => "MOSTLY_IQ2_XS",
        21 => "MOSTLY_Q2_K_S",
        22 => "MOSTLY_IQ3_XS",
        23 => "MOSTLY_IQ3_XXS",
        24 => "MOSTLY_IQ1_S",
        25 => "MOSTLY_IQ4_NL",
        26 => "MOSTLY_IQ3_S",
        27 => "MOSTLY_IQ3_M",
        28 => "MOSTLY_IQ2_S",
        29 => "MOSTLY_IQ2_M",
        30 => "MOSTLY_IQ4_XS",
        31 => "MOSTLY_IQ1_M",
        32 => "MOSTLY_BF16",
        36 => "MOSTLY_TQ1_0",
        37 => "MOSTLY_TQ2_0",
        38 => "MOSTLY_MXFP4_MOE",
        39 => "MOSTLY_NVFP4",
        40 => "MOSTLY_Q1_0",
        1024 => "GUESSED",
        _ => return None,
    })
}

/// A cursor over the prefix of a file of `file_len` bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    file_len: u64,
}

impl Cursor<'_> {
    /// The next `n` bytes, or why they are not there (past the prefix: read more; past the
    /// file: malformed, reported by the caller's own variant).
    fn take(&mut self, n: u64) -> Result<&[u8], GgufError> {
        let end = (self.at as u64)
            .checked_add(n)
            .ok_or(GgufError::HeaderTooLarge)?;
        if end > MAX_HEADER_LEN {
            return Err(GgufError::HeaderTooLarge);
        }
        if end > self.bytes.len() as u64 {
            return Err(GgufError::NeedMore { at_least: end });
        }
        let s = &self.bytes[self.at..end as usize];
        self.at = end as usize;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], GgufError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N as u64)?);
        Ok(a)
    }

    fn u32(&mut self) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Bytes left in the file after the cursor.
    fn left(&self) -> u64 {
        self.file_len.saturating_sub(self.at as u64)
    }

    fn string(&mut self) -> Result<String, GgufError> {
        let at = self.at as u64;
        let len = self.u64()?;
        if len > self.left() {
            return Err(GgufError::StringLength { at, len });
        }
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| GgufError::Utf8 { at })
    }

    /// Skips a string (a long array's element).
    fn skip_string(&mut self) -> Result<(), GgufError> {
        let at = self.at as u64;
        let len = self.u64()?;
        if len > self.left() {
            return Err(GgufError::StringLength { at, len });
        }
        self.take(len).map(|_| ())
    }
}

/// Bytes of one scalar of value type `t` (strings and arrays: none).
fn scalar_size(t: u32) -> Option<u64> {
    match t {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

fn value(c: &mut Cursor, t: u32, key: &str, depth: u32) -> Result<Value, GgufError> {
    Ok(match t {
        0 => Value::U64(u64::from(c.array::<1>()?[0])),
        1 => Value::I64(i64::from(c.array::<1>()?[0] as i8)),
        2 => Value::U64(u64::from(u16::from_le_bytes(c.array()?))),
        3 => Value::I64(i64::from(i16::from_le_bytes(c.array()?))),
        4 => Value::U64(u64::from(c.u32()?)),
        5 => Value::I64(i64::from(i32::from_le_bytes(c.array()?))),
        6 => Value::F64(f64::from(f32::from_le_bytes(c.array()?))),
        7 => Value::Bool(c.array::<1>()?[0] != 0),
        8 => Value::Str(c.string()?),
        9 => {
            if depth >= MAX_NESTING {
                return Err(GgufError::Nesting {
                    key: key.to_string(),
                });
            }
            let element_type = c.u32()?;
            let len = c.u64()?;
            // Every element takes at least one byte (8 for a string's length).
            let least = match element_type {
                8 => 8,
                9 => 12,
                other => scalar_size(other).ok_or_else(|| GgufError::ValueType {
                    key: key.to_string(),
                    value_type: other,
                })?,
            };
            if len.checked_mul(least).is_none_or(|b| b > c.left()) {
                return Err(GgufError::TooMany {
                    what: "array elements",
                    count: len,
                    file_len: c.file_len,
                });
            }
            if len > KEEP_ARRAY {
                match (element_type, scalar_size(element_type)) {
                    (_, Some(size)) => {
                        c.take(len * size)?;
                    }
                    (8, None) => {
                        for _ in 0..len {
                            c.skip_string()?;
                        }
                    }
                    _ => {
                        for _ in 0..len {
                            value(c, element_type, key, depth + 1)?;
                        }
                    }
                }
                Value::LongArray { element_type, len }
            } else {
                let mut items = Vec::new();
                for _ in 0..len {
                    items.push(value(c, element_type, key, depth + 1)?);
                }
                Value::Array(items)
            }
        }
        10 => Value::U64(c.u64()?),
        11 => Value::I64(i64::from_le_bytes(c.array()?)),
        12 => Value::F64(f64::from_le_bytes(c.array()?)),
        other => {
            return Err(GgufError::ValueType {
                key: key.to_string(),
                value_type: other,
            })
        }
    })
}

/// Parses and validates the header from `prefix`, the first bytes of a file of `file_len`
/// bytes. [`GgufError::NeedMore`] asks for a longer prefix.
pub fn parse_header(prefix: &[u8], file_len: u64) -> Result<Header, GgufError> {
    let prefix = &prefix[..prefix
        .len()
        .min(usize::try_from(file_len).unwrap_or(usize::MAX))];
    match parse(prefix, file_len) {
        Err(GgufError::NeedMore { at_least }) if at_least > file_len => {
            if file_len < 4 {
                Err(GgufError::TooShort(file_len))
            } else {
                Err(GgufError::HeaderPastEnd { at_least, file_len })
            }
        }
        other => other,
    }
}

fn parse(prefix: &[u8], file_len: u64) -> Result<Header, GgufError> {
    let mut c = Cursor {
        bytes: prefix,
        at: 0,
        file_len,
    };
    let magic = c.take(4)?;
    if magic != b"GGUF" {
        return Err(GgufError::BadMagic(magic.to_vec()));
    }
    let version = c.u32()?;
    match version {
        2 | 3 => {}
        v if v.swap_bytes() == 2 || v.swap_bytes() == 3 => return Err(GgufError::BigEndian),
        v => return Err(GgufError::Version(v)),
    }
    let n_tensors = c.u64()?;
    let n_kv = c.u64()?;
    // A key–value pair takes at least 8 + 4 + 1 bytes, a tensor's info 8 + 4 + 4 + 8.
    for (what, count, least) in [
        ("tensors", n_tensors, 24u64),
        ("metadata entries", n_kv, 13),
    ] {
        if count.checked_mul(least).is_none_or(|b| b > c.left()) {
            return Err(GgufError::TooMany {
                what,
                count,
                file_len,
            });
        }
    }
    let mut metadata = BTreeMap::new();
    for _ in 0..n_kv {
        let key = c.string()?;
        let t = c.u32()?;
        let v = value(&mut c, t, &key, 0)?;
        if metadata.insert(key.clone(), v).is_some() {
            return Err(GgufError::DuplicateKey { key });
        }
    }
    let alignment = match metadata.get("general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some(v) => match v.as_u64() {
            Some(a) if a.is_power_of_two() => a,
            other => return Err(GgufError::Alignment(other.unwrap_or(0))),
        },
    };
    let mut tensors: Vec<Entry> = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    let mut relative = Vec::new();
    for _ in 0..n_tensors {
        let name = c.string()?;
        if !names.insert(name.clone()) {
            return Err(GgufError::DuplicateTensor { name });
        }
        let dims = c.u32()?;
        if dims as usize > MAX_DIMS {
            return Err(GgufError::Dims { name, dims });
        }
        let mut ne = Vec::new();
        for _ in 0..dims {
            ne.push(c.u64()?);
        }
        let type_id = c.u32()?;
        let offset = c.u64()?;
        let shape: Option<Vec<usize>> = ne.iter().rev().map(|&d| usize::try_from(d).ok()).collect();
        let count = shape
            .as_ref()
            .and_then(|s| s.iter().try_fold(1usize, |a, &d| a.checked_mul(d)));
        let (Some(shape), Some(count)) = (shape, count) else {
            return Err(GgufError::ShapeOverflow { name, shape: ne });
        };
        let ty = GgmlType::from_id(type_id);
        // Unknown types are listed; their size is unknown, so they are checked for alignment
        // and order only (their end is the next tensor's start).
        let size = match ty {
            Some(t) => {
                let (block, _) = t.block_layout();
                let row = ne.first().copied().unwrap_or(1);
                if row % block as u64 != 0 {
                    return Err(GgufError::PartialBlock {
                        name,
                        ty: t.name(),
                        row,
                        block,
                    });
                }
                match ggml::byte_len(t, count) {
                    Some(b) => Some(b as u64),
                    None => return Err(GgufError::ShapeOverflow { name, shape: ne }),
                }
            }
            None => None,
        };
        if offset % alignment != 0 {
            return Err(GgufError::Misaligned {
                name,
                offset,
                alignment,
            });
        }
        relative.push((offset, size));
        tensors.push(Entry {
            name,
            type_id,
            ty,
            shape,
            begin: 0,
            end: 0,
        });
    }
    let header_end = c.at as u64;
    let data_start = header_end.div_ceil(alignment).saturating_mul(alignment);
    // Absolute positions; in offset order, no tensor may reach into the next.
    let mut order: Vec<usize> = (0..tensors.len()).collect();
    order.sort_by_key(|&i| relative[i].0);
    for (k, &i) in order.iter().enumerate() {
        let (offset, size) = relative[i];
        let begin = data_start.checked_add(offset);
        let next = order.get(k + 1).map(|&j| relative[j].0);
        let end = match size {
            Some(s) => begin.and_then(|b| b.checked_add(s)),
            None => next.map_or(Some(file_len), |n| data_start.checked_add(n)),
        };
        let (Some(begin), Some(end)) = (begin, end) else {
            return Err(GgufError::PastEnd {
                name: tensors[i].name.clone(),
                end: u64::MAX,
                file_len,
            });
        };
        // (An unknown type's end is the next tensor's start, or the end of the file: its start
        // may lie past either.)
        if end > file_len || begin > end {
            return Err(GgufError::PastEnd {
                name: tensors[i].name.clone(),
                end: end.max(begin),
                file_len,
            });
        }
        if let Some(&j) = order.get(k + 1) {
            if data_start.saturating_add(relative[j].0) < end {
                return Err(GgufError::Overlap {
                    name: tensors[i].name.clone(),
                    other: tensors[j].name.clone(),
                });
            }
        }
        tensors[i].begin = begin;
        tensors[i].end = end;
    }
    Ok(Header {
        version,
        metadata,
        alignment,
        data_start,
        tensors,
    })
}

/// Parses the header of a whole file held in memory.
pub fn read_header(bytes: &[u8]) -> Result<Header, GgufError> {
    parse_header(bytes, bytes.len() as u64)
}

/// Decodes tensor `entry` from its bytes (`end − begin` of them), as llama.cpp dequantizes.
pub fn decode(entry: &Entry, bytes: &[u8]) -> Result<Vec<f32>, GgufError> {
    let ty = entry
        .ty
        .filter(|t| t.can_dequantize())
        .ok_or_else(|| GgufError::Unreadable {
            name: entry.name.clone(),
            ty: entry.type_name(),
        })?;
    let expected = entry.end - entry.begin;
    if bytes.len() as u64 != expected {
        return Err(GgufError::Truncated {
            name: entry.name.clone(),
            expected,
            actual: bytes.len() as u64,
        });
    }
    ggml::dequantize(ty, bytes, entry.n_elements()).map_err(|_| GgufError::Truncated {
        name: entry.name.clone(),
        expected,
        actual: bytes.len() as u64,
    })
}

/// Every tensor's name, type and shape, in file order.
pub fn list(bytes: &[u8]) -> Result<Vec<TensorInfo>, GgufError> {
    Ok(read_header(bytes)?
        .tensors
        .iter()
        .map(Entry::info)
        .collect())
}

/// Reads tensor `name` (or the first readable one) of a whole file as (label, shape, values).
pub fn read_f32(
    bytes: &[u8],
    name: Option<&str>,
) -> Result<(String, Vec<usize>, Vec<f32>), GgufError> {
    let header = read_header(bytes)?;
    let entry = header.pick(name)?;
    let values = decode(entry, &bytes[entry.begin as usize..entry.end as usize])?;
    Ok((entry.name.clone(), entry.shape.clone(), values))
}

/// One tensor to write: its name, numpy-order shape, type and bytes.
pub struct TensorOut<'a> {
    pub name: &'a str,
    pub shape: &'a [usize],
    pub ty: GgmlType,
    pub bytes: &'a [u8],
}

/// A metadata value to write.
#[derive(Clone, Copy, Debug)]
pub enum Meta<'a> {
    Str(&'a str),
    U32(u32),
}

/// Writes a GGUF version 3 file (alignment 32) with `metadata` and `tensors`, as gguf-py's
/// `GGUFWriter` lays one out.
pub fn write(metadata: &[(&str, Meta)], tensors: &[TensorOut]) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    let align = DEFAULT_ALIGNMENT as usize;
    let mut out = Vec::new();
    out.extend_from_slice(b"GGUF");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
    out.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
    for (k, v) in metadata {
        string(&mut out, k);
        match v {
            Meta::Str(s) => {
                out.extend_from_slice(&8u32.to_le_bytes());
                string(&mut out, s);
            }
            Meta::U32(x) => {
                out.extend_from_slice(&4u32.to_le_bytes());
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
    }
    let mut offset = 0usize;
    for t in tensors {
        string(&mut out, t.name);
        out.extend_from_slice(&(t.shape.len() as u32).to_le_bytes());
        for &d in t.shape.iter().rev() {
            out.extend_from_slice(&(d as u64).to_le_bytes());
        }
        out.extend_from_slice(&t.ty.id().to_le_bytes());
        out.extend_from_slice(&(offset as u64).to_le_bytes());
        offset += t.bytes.len().div_ceil(align) * align;
    }
    out.resize(out.len().div_ceil(align) * align, 0);
    for t in tensors {
        out.extend_from_slice(t.bytes);
        out.resize(out.len().div_ceil(align) * align, 0);
    }
    out
}

#[cfg(test)]
mod tests;
