//! Turning file bytes into datasets, with messages that name the file. Pure (no DOM), so it is
//! tested natively; the components only fetch the bytes.

use std::sync::Arc;

use quantscope_core::io::{self, FileKind, TensorInfo};
use quantscope_core::Dataset;

/// A file the user opened: its bytes and the tensors it holds.
#[derive(Debug)]
pub struct LoadedFile {
    pub name: String,
    pub kind: FileKind,
    pub bytes: Vec<u8>,
    pub tensors: Vec<TensorInfo>,
}

/// Largest file read into the page (larger ones need the header-first reader of a later version).
pub const MAX_FILE_BYTES: f64 = 1024.0 * 1024.0 * 1024.0;

/// Parses the file's table of contents; the message names the file.
pub fn open_file(name: &str, bytes: Vec<u8>) -> Result<LoadedFile, String> {
    let kind = FileKind::from_file_name(name).ok_or_else(|| {
        format!("{name}: unsupported file type (use .npy, .safetensors, .csv or .txt)")
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
    let pick = (file.kind == FileKind::Safetensors).then_some(tensor);
    io::load_tensor(file.kind, tensor, &file.bytes, pick)
        .map(Arc::new)
        .map_err(|e| match file.kind {
            FileKind::Safetensors => format!("{} (tensor \"{tensor}\"): {e}", file.name),
            _ => format!("{}: {e}", file.name),
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
}
