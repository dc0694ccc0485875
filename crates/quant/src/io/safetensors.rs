//! `.safetensors` files through the `safetensors` crate (Hugging Face's reference implementation,
//! which validates the header: size cap, UTF-8/JSON, checked offsets covering the buffer exactly).
//! This module converts the float dtypes to f32 and names the tensor in every error.

use half::{bf16, f16};
use safetensors::{Dtype, SafeTensorError, SafeTensors};

use super::TensorInfo;

/// Why a safetensors file or tensor cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SafetensorsError {
    #[error("invalid safetensors file: {0}")]
    Invalid(#[from] SafeTensorError),
    #[error("the file holds no tensors")]
    NoTensors,
    #[error("no tensor named \"{0}\" in the file")]
    NotFound(String),
    #[error("the file holds {0} tensors; pick one")]
    Ambiguous(usize),
    #[error("tensor \"{name}\" has dtype {dtype}, which cannot be quantized (float tensors only)")]
    Dtype { name: String, dtype: String },
}

fn is_float(dtype: Dtype) -> bool {
    matches!(dtype, Dtype::F16 | Dtype::BF16 | Dtype::F32 | Dtype::F64)
}

/// Every tensor's name, dtype and shape, in file order (by data offset).
pub fn list(bytes: &[u8]) -> Result<Vec<TensorInfo>, SafetensorsError> {
    let st = SafeTensors::deserialize(bytes)?;
    let mut tensors: Vec<(usize, TensorInfo)> = st
        .iter()
        .map(|(name, view)| {
            let offset = view.data().as_ptr() as usize;
            (
                offset,
                TensorInfo {
                    name: name.to_string(),
                    dtype: view.dtype().to_string(),
                    shape: view.shape().to_vec(),
                    is_float: is_float(view.dtype()),
                },
            )
        })
        .collect();
    tensors.sort_by_key(|(offset, t)| (*offset, t.name.clone()));
    Ok(tensors.into_iter().map(|(_, t)| t).collect())
}

/// Reads tensor `name` (or the only tensor) as (label, shape, f32 values).
pub fn read_f32(
    bytes: &[u8],
    name: Option<&str>,
) -> Result<(String, Vec<usize>, Vec<f32>), SafetensorsError> {
    let st = SafeTensors::deserialize(bytes)?;
    let name = match name {
        Some(n) => n.to_string(),
        None => {
            let names = st.names();
            match names.as_slice() {
                [] => return Err(SafetensorsError::NoTensors),
                [one] => one.to_string(),
                many => return Err(SafetensorsError::Ambiguous(many.len())),
            }
        }
    };
    let view = st.tensor(&name).map_err(|e| match e {
        SafeTensorError::TensorNotFound(n) => SafetensorsError::NotFound(n),
        other => SafetensorsError::Invalid(other),
    })?;
    let data = view.data();
    let values: Vec<f32> = match view.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
        other => {
            return Err(SafetensorsError::Dtype {
                name,
                dtype: other.to_string(),
            })
        }
    };
    let shape = view.shape().to_vec();
    Ok((name, shape, values))
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
        assert!(matches!(
            read_f32(&bytes, None),
            Err(SafetensorsError::Ambiguous(2))
        ));
        assert!(
            matches!(read_f32(&bytes, Some("c")), Err(SafetensorsError::NotFound(n)) if n == "c")
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn reads_half_precision() {
        // one BF16 tensor [1.0, -2.0] = 0x3f80, 0xc000
        let header = br#"{"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#;
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header);
        b.extend_from_slice(&[0x80, 0x3f, 0x00, 0xc0]);
        let (_, _, v) = read_f32(&b, None).unwrap_or_default();
        assert_eq!(v, vec![1.0, -2.0]);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn malformed_files_are_errors() {
        assert!(matches!(list(b""), Err(SafetensorsError::Invalid(_))));
        assert!(matches!(
            list(b"\xff\xff\xff\xff\xff\xff\xff\x7f{}"),
            Err(SafetensorsError::Invalid(_))
        ));
        let header = b"{not json}";
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header);
        assert!(matches!(list(&b), Err(SafetensorsError::Invalid(_))));
        let mut short = write_f32(&[("a", &[4], &[1.0, 2.0, 3.0, 4.0])]);
        short.truncate(short.len() - 4);
        assert!(matches!(list(&short), Err(SafetensorsError::Invalid(_))));
        let header = br#"{"i":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#;
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header);
        b.extend_from_slice(&[1, 0, 0, 0]);
        assert!(matches!(
            read_f32(&b, None),
            Err(SafetensorsError::Dtype { .. })
        ));
    }
}
