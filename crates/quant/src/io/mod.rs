//! Tensor readers and writers on byte slices (no file system here: the CLI and the page read the
//! bytes, this module interprets them).

pub mod csv;
pub mod export;
pub mod gguf;
pub mod npy;
pub mod safetensors;
pub mod shards;

use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, DatasetError};

/// The file formats Quantscope reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileKind {
    Npy,
    Safetensors,
    Gguf,
    Csv,
}

impl FileKind {
    /// The kind of a file from its name's extension (case-insensitive).
    pub fn from_file_name(name: &str) -> Option<Self> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "npy" => Some(Self::Npy),
            "safetensors" => Some(Self::Safetensors),
            "gguf" => Some(Self::Gguf),
            "csv" | "txt" | "tsv" => Some(Self::Csv),
            _ => None,
        }
    }
}

/// Name, dtype and shape of one tensor in a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    /// Whether Quantscope can quantize it (float dtypes).
    pub is_float: bool,
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("unsupported file type (expected .npy, .safetensors, .gguf, .csv or .txt)")]
    UnknownKind,
    #[error(transparent)]
    Npy(#[from] npy::NpyError),
    #[error(transparent)]
    Safetensors(#[from] safetensors::SafetensorsError),
    #[error(transparent)]
    Gguf(#[from] gguf::GgufError),
    #[error(transparent)]
    Csv(#[from] csv::CsvError),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
}

/// The tensors a file holds (one for .npy and CSV).
pub fn list_tensors(
    kind: FileKind,
    name: &str,
    bytes: &[u8],
) -> Result<Vec<TensorInfo>, ReadError> {
    Ok(match kind {
        FileKind::Npy => {
            let header = npy::read_header(bytes)?;
            vec![TensorInfo {
                name: name.to_string(),
                dtype: header.descr.clone(),
                shape: header.shape.clone(),
                is_float: header.is_float(),
            }]
        }
        FileKind::Safetensors => safetensors::list(bytes)?,
        FileKind::Gguf => gguf::list(bytes)?,
        FileKind::Csv => {
            let (shape, _) = csv::parse(bytes)?;
            vec![TensorInfo {
                name: name.to_string(),
                dtype: "text".to_string(),
                shape,
                is_float: true,
            }]
        }
    })
}

/// Reads one tensor as a dataset. `tensor` picks a safetensors entry (required when several).
pub fn load_tensor(
    kind: FileKind,
    name: &str,
    bytes: &[u8],
    tensor: Option<&str>,
) -> Result<Dataset, ReadError> {
    let (label, shape, values) = match kind {
        FileKind::Npy => {
            let (shape, values) = npy::read_f32(bytes)?;
            (name.to_string(), shape, values)
        }
        FileKind::Safetensors => safetensors::read_f32(bytes, tensor)?,
        FileKind::Gguf => gguf::read_f32(bytes, tensor)?,
        FileKind::Csv => {
            let (shape, values) = csv::parse(bytes)?;
            (name.to_string(), shape, values)
        }
    };
    Ok(Dataset::new(label, shape, values)?)
}
