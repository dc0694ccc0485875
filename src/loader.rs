//! Turning file bytes into datasets, with messages that name the file. Pure (no DOM), so it is
//! tested natively; the components only fetch the bytes.

use std::sync::Arc;

use quantscope_core::io::gguf;
use quantscope_core::io::safetensors as st;
use quantscope_core::io::{self, FileKind, TensorInfo};
use quantscope_core::Dataset;

/// A file the user opened: the tensors it holds, and its bytes — all of them for `.npy` and CSV,
/// none for a safetensors or GGUF file opened header first (its tensors are read one at a time).
#[derive(Debug)]
pub struct LoadedFile {
    pub name: String,
    pub kind: FileKind,
    pub bytes: Vec<u8>,
    pub tensors: Vec<TensorInfo>,
    /// The validated header of a file opened header first.
    pub header: Option<Header>,
}

/// The header of a file opened header first.
#[derive(Debug)]
pub enum Header {
    Safetensors(st::Header),
    Gguf(gguf::Header),
}

impl LoadedFile {
    /// A llama-family GGUF file's attention heads (for undoing the converter's q/k row order).
    pub fn attention_heads(&self) -> Option<(usize, usize)> {
        match &self.header {
            Some(Header::Gguf(h)) => h.attention_heads(),
            Some(Header::Safetensors(_)) | None => None,
        }
    }

    /// What the file says about itself, for people: a GGUF file's architecture, llama.cpp file
    /// type and quantization version (empty for other files).
    pub fn description(&self) -> Vec<(String, String)> {
        match &self.header {
            Some(Header::Gguf(h)) => {
                let mut out = vec![("GGUF version".to_string(), h.version.to_string())];
                if let Some(a) = h.architecture() {
                    out.push(("architecture".into(), a.to_string()));
                }
                if let Some(t) = h.file_type() {
                    out.push(("file type".into(), t));
                }
                if let Some(v) = h.quantization_version() {
                    out.push(("quantization version".into(), v.to_string()));
                }
                if let Some(gguf::Value::Str(n)) = h.metadata.get("general.name") {
                    out.push(("name".into(), n.clone()));
                }
                out
            }
            Some(Header::Safetensors(_)) | None => Vec::new(),
        }
    }
}

/// Largest file read whole into the page (`.npy`, CSV).
pub const MAX_FILE_BYTES: f64 = 1024.0 * 1024.0 * 1024.0;

/// Largest tensor read from a safetensors file, as f32 values (the file itself may be larger).
pub const MAX_TENSOR_F32_BYTES: u64 = 1024 * 1024 * 1024;

/// Opens a safetensors file from its header alone: `header_json` is the n bytes after the 8-byte
/// length, `file_len` the file's size.
pub fn open_safetensors_header(
    name: &str,
    file_len: u64,
    header_json: &[u8],
) -> Result<LoadedFile, String> {
    let header = st::parse_header(header_json, file_len).map_err(|e| format!("{name}: {e}"))?;
    let tensors: Vec<TensorInfo> = header.tensors.iter().map(st::Entry::info).collect();
    if !tensors.iter().any(|t| t.is_float) {
        return Err(format!("{name}: no float tensor to quantize"));
    }
    Ok(LoadedFile {
        name: name.to_string(),
        kind: FileKind::Safetensors,
        bytes: Vec::new(),
        tensors,
        header: Some(Header::Safetensors(header)),
    })
}

/// Opens a GGUF file from a prefix of it (`Ok(None)`: the header goes on past the prefix; read
/// at least `at_least` bytes and try again).
pub fn open_gguf_header(
    name: &str,
    file_len: u64,
    prefix: &[u8],
) -> Result<Result<LoadedFile, u64>, String> {
    let header = match gguf::parse_header(prefix, file_len) {
        Ok(h) => h,
        Err(gguf::GgufError::NeedMore { at_least }) => return Ok(Err(at_least)),
        Err(e) => return Err(format!("{name}: {e}")),
    };
    let tensors: Vec<TensorInfo> = header.tensors.iter().map(gguf::Entry::info).collect();
    if !tensors.iter().any(|t| t.is_float) {
        let types: Vec<String> = tensors.iter().map(|t| t.dtype.clone()).collect();
        return Err(format!(
            "{name}: no tensor Quantscope can read (its types: {})",
            types.join(", ")
        ));
    }
    Ok(Ok(LoadedFile {
        name: name.to_string(),
        kind: FileKind::Gguf,
        bytes: Vec::new(),
        tensors,
        header: Some(Header::Gguf(header)),
    }))
}

/// The byte range of `tensor` in a file opened header first, after checking it fits the page.
pub fn tensor_range(file: &LoadedFile, tensor: &str) -> Result<(u64, u64), String> {
    let (n, begin, end) = match &file.header {
        Some(Header::Safetensors(h)) => {
            let e = h.find(tensor).map_err(|e| format!("{}: {e}", file.name))?;
            (e.n_elements(), e.begin, e.end)
        }
        Some(Header::Gguf(h)) => {
            let e = h.find(tensor).map_err(|e| format!("{}: {e}", file.name))?;
            if !e
                .ty
                .is_some_and(quantscope_core::ggml::GgmlType::can_dequantize)
            {
                return Err(format!(
                    "{} (tensor \"{tensor}\"): tensors of type {} cannot be read by Quantscope",
                    file.name,
                    e.type_name()
                ));
            }
            (e.n_elements(), e.begin, e.end)
        }
        None => return Err(format!("{}: not opened header first", file.name)),
    };
    let f32_bytes = 4 * n as u64;
    if f32_bytes > MAX_TENSOR_F32_BYTES {
        return Err(format!(
            "{} (tensor \"{tensor}\"): {} MB as f32 is more than this page holds (1 GB); use the quantscope CLI for it",
            file.name,
            f32_bytes / 1_000_000
        ));
    }
    Ok((begin, end))
}

/// Decodes `tensor` of a file opened header first from its bytes.
pub fn load_tensor_bytes(
    file: &LoadedFile,
    tensor: &str,
    bytes: &[u8],
) -> Result<Arc<Dataset>, String> {
    let context = |e: String| format!("{} (tensor \"{tensor}\"): {e}", file.name);
    let (shape, values) = match &file.header {
        Some(Header::Safetensors(h)) => {
            let entry = h.find(tensor).map_err(|e| context(e.to_string()))?;
            let values = st::decode(entry, bytes).map_err(|e| context(e.to_string()))?;
            (entry.shape.clone(), values)
        }
        Some(Header::Gguf(h)) => {
            let entry = h.find(tensor).map_err(|e| context(e.to_string()))?;
            let values = gguf::decode(entry, bytes).map_err(|e| context(e.to_string()))?;
            (entry.shape.clone(), values)
        }
        None => return Err(context("not opened header first".into())),
    };
    Dataset::new(tensor, shape, values)
        .map(Arc::new)
        .map_err(|e| context(e.to_string()))
}

/// Parses the file's table of contents; the message names the file.
pub fn open_file(name: &str, bytes: Vec<u8>) -> Result<LoadedFile, String> {
    let kind = FileKind::from_file_name(name).ok_or_else(|| {
        format!("{name}: unsupported file type (use .npy, .safetensors, .gguf, .csv or .txt)")
    })?;
    if bytes.is_empty() {
        return Err(format!("{name}: the file is empty"));
    }
    let tensors = io::list_tensors(kind, name, &bytes).map_err(|e| format!("{name}: {e}"))?;
    if !tensors.iter().any(|t| t.is_float) {
        return Err(format!("{name}: no float tensor to quantize"));
    }
    Ok(LoadedFile {
        name: name.to_string(),
        kind,
        bytes,
        tensors,
        header: None,
    })
}

/// The first float tensor's name.
pub fn default_tensor(file: &LoadedFile) -> Option<&str> {
    file.tensors
        .iter()
        .find(|t| t.is_float)
        .map(|t| t.name.as_str())
}

/// Reads tensor `tensor` of `file`; the message names the file and tensor.
pub fn load_tensor(file: &LoadedFile, tensor: &str) -> Result<Arc<Dataset>, String> {
    let several = matches!(file.kind, FileKind::Safetensors | FileKind::Gguf);
    let pick = several.then_some(tensor);
    io::load_tensor(file.kind, tensor, &file.bytes, pick)
        .map(Arc::new)
        .map_err(|e| {
            if several {
                format!("{} (tensor \"{tensor}\"): {e}", file.name)
            } else {
                format!("{}: {e}", file.name)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quantscope_core::io::{npy, safetensors};

    #[test]
    fn opens_each_kind_and_names_the_file_in_errors() {
        let f = open_file("w.npy", npy::write_f32(&[2, 2], &[1.0, 2.0, 3.0, 4.0]));
        let f = f.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.tensors[0].shape, vec![2, 2]);
        let d = load_tensor(&f, "w.npy").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.shape(), &[2, 2]);

        let st = safetensors::write_f32(&[("<img src=x onerror=alert(1)>", &[2], &[1.0, 2.0])]);
        let f = open_file("m.safetensors", st).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(default_tensor(&f), Some("<img src=x onerror=alert(1)>"));

        let e = open_file("bad.npy", b"garbage".to_vec())
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("bad.npy: not a .npy file"), "{e}");
        let e = open_file("x.bin", vec![1]).err().unwrap_or_default();
        assert!(e.contains("unsupported file type"), "{e}");
        let e = open_file("e.csv", vec![]).err().unwrap_or_default();
        assert_eq!(e, "e.csv: the file is empty");
        let f = open_file("n.csv", b"nan, nan".to_vec()).unwrap_or_else(|e| panic!("{e}"));
        let e = load_tensor(&f, "n.csv").err().unwrap_or_default();
        assert!(e.contains("no finite values"), "{e}");
    }

    #[test]
    fn safetensors_header_first_reads_only_the_chosen_tensor() {
        let bytes =
            safetensors::write_f32(&[("a", &[2], &[1.0, 2.0]), ("b", &[1, 3], &[3.0, 4.0, 5.0])]);
        let n =
            st::header_len(&bytes, bytes.len() as u64).unwrap_or_else(|e| panic!("{e}")) as usize;
        let f = open_safetensors_header("m.safetensors", bytes.len() as u64, &bytes[8..8 + n])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(f.bytes.is_empty());
        assert_eq!(f.tensors.len(), 2);
        let (begin, end) = tensor_range(&f, "b").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(end - begin, 12);
        let d = load_tensor_bytes(&f, "b", &bytes[begin as usize..end as usize])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.values(), &[3.0, 4.0, 5.0]);
        // The wrong number of bytes, an unknown tensor, a header that does not match the file size.
        let e = load_tensor_bytes(&f, "b", &bytes[..4])
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("m.safetensors (tensor \"b\"): "), "{e}");
        assert!(tensor_range(&f, "zz").is_err());
        let e = open_safetensors_header("m.safetensors", 10_000, &bytes[8..8 + n])
            .err()
            .unwrap_or_default();
        assert!(e.contains("the data is"), "{e}");
        // A huge tensor is refused before anything is read.
        let huge = format!(
            r#"{{"w":{{"dtype":"BF16","shape":[65536,65536],"data_offsets":[0,{}]}}}}"#,
            2u64 << 32
        );
        let f = open_safetensors_header(
            "big.safetensors",
            8 + huge.len() as u64 + (2u64 << 32),
            huge.as_bytes(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let e = tensor_range(&f, "w").err().unwrap_or_default();
        assert!(e.contains("use the quantscope CLI"), "{e}");
    }
}
