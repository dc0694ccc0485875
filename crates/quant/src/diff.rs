//! "What did this quant do?": the tensors of an original checkpoint paired with those of a
//! published quantization, and the error of each.
//!
//! Pairs are made by name, else through llama.cpp's names for the llama architecture family
//! (`convert_hf_to_gguf.py` and `gguf-py/gguf/tensor_mapping.py`):
//!
//! | Hugging Face (`model.` prefix)            | GGUF                   |
//! |-------------------------------------------|------------------------|
//! | `embed_tokens.weight`                     | `token_embd.weight`    |
//! | `norm.weight`                             | `output_norm.weight`   |
//! | `lm_head.weight` (no prefix)              | `output.weight`        |
//! | `layers.N.self_attn.q_proj.weight`        | `blk.N.attn_q.weight`  |
//! | `layers.N.self_attn.k_proj.weight`        | `blk.N.attn_k.weight`  |
//! | `layers.N.self_attn.v_proj.weight`        | `blk.N.attn_v.weight`  |
//! | `layers.N.self_attn.o_proj.weight`        | `blk.N.attn_output.weight` |
//! | `layers.N.mlp.gate_proj.weight`           | `blk.N.ffn_gate.weight` |
//! | `layers.N.mlp.up_proj.weight`             | `blk.N.ffn_up.weight`  |
//! | `layers.N.mlp.down_proj.weight`           | `blk.N.ffn_down.weight` |
//! | `layers.N.input_layernorm.weight`         | `blk.N.attn_norm.weight` |
//! | `layers.N.post_attention_layernorm.weight`| `blk.N.ffn_norm.weight` |
//!
//! llama.cpp's converter also reorders the rows of the query and key projections for its rotary
//! embedding (`LlamaModel.permute`: rows viewed as [heads, 2, d/2] and the last two axes
//! swapped); [`permute_qk`] does the same to the original so that value i meets value i.

use serde::{Deserialize, Serialize};

/// The llama.cpp name of a Hugging Face tensor name of the llama family, if the table has it.
pub fn llama_cpp_name(hf: &str) -> Option<String> {
    match hf {
        "model.embed_tokens.weight" => return Some("token_embd.weight".into()),
        "model.norm.weight" => return Some("output_norm.weight".into()),
        "lm_head.weight" => return Some("output.weight".into()),
        _ => {}
    }
    let rest = hf.strip_prefix("model.layers.")?;
    let (n, rest) = rest.split_once('.')?;
    n.parse::<usize>().ok()?;
    let part = match rest {
        "self_attn.q_proj.weight" => "attn_q.weight",
        "self_attn.k_proj.weight" => "attn_k.weight",
        "self_attn.v_proj.weight" => "attn_v.weight",
        "self_attn.o_proj.weight" => "attn_output.weight",
        "mlp.gate_proj.weight" => "ffn_gate.weight",
        "mlp.up_proj.weight" => "ffn_up.weight",
        "mlp.down_proj.weight" => "ffn_down.weight",
        "input_layernorm.weight" => "attn_norm.weight",
        "post_attention_layernorm.weight" => "ffn_norm.weight",
        _ => return None,
    };
    Some(format!("blk.{n}.{part}"))
}

/// How two tensors were paired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pairing {
    /// The same name in both files.
    Name,
    /// llama.cpp's name of the original's ([`llama_cpp_name`]).
    LlamaCpp,
}

/// Pairs of (original index, quantized index, how), and the indices of each side left unpaired.
pub type Pairs = (Vec<(usize, usize, Pairing)>, Vec<usize>, Vec<usize>);

/// Pairs the names of an original and a quantized checkpoint (see the module docs).
pub fn pair_names(original: &[String], quantized: &[String]) -> Pairs {
    let mut taken = vec![false; quantized.len()];
    let mut pairs = Vec::new();
    let mut lone = Vec::new();
    for (i, name) in original.iter().enumerate() {
        let by_name = quantized
            .iter()
            .position(|q| q == name)
            .filter(|&j| !taken[j])
            .map(|j| (j, Pairing::Name));
        let mapped = || {
            let target = llama_cpp_name(name)?;
            quantized
                .iter()
                .position(|q| *q == target)
                .filter(|&j| !taken[j])
                .map(|j| (j, Pairing::LlamaCpp))
        };
        match by_name.or_else(mapped) {
            Some((j, how)) => {
                taken[j] = true;
                pairs.push((i, j, how));
            }
            None => lone.push(i),
        }
    }
    let lone_quantized = (0..quantized.len()).filter(|&j| !taken[j]).collect();
    (pairs, lone, lone_quantized)
}

/// Whether llama.cpp's converter reorders this original tensor's rows (query and key weights),
/// and with how many heads: (`n_head` for queries, `n_head_kv` for keys).
pub fn qk_heads(hf: &str, n_head: usize, n_head_kv: usize) -> Option<usize> {
    if hf.ends_with("self_attn.q_proj.weight") {
        Some(n_head)
    } else if hf.ends_with("self_attn.k_proj.weight") {
        Some(n_head_kv)
    } else {
        None
    }
}

/// `LlamaModel.permute` of a [rows, …] tensor with `heads` heads: the rows viewed as
/// [heads, 2, rows / heads / 2] with the last two axes swapped. `None` when the rows do not split
/// so.
pub fn permute_qk(values: &[f32], shape: &[usize], heads: usize) -> Option<Vec<f32>> {
    let rows = *shape.first()?;
    let width = values.len().checked_div(rows)?;
    if heads == 0 || rows % (2 * heads) != 0 || width * rows != values.len() {
        return None;
    }
    let half = rows / heads / 2;
    let mut out = vec![0f32; values.len()];
    for h in 0..heads {
        for i in 0..half {
            for t in 0..2 {
                let to = h * 2 * half + i * 2 + t;
                let from = h * 2 * half + t * half + i;
                out[to * width..(to + 1) * width]
                    .copy_from_slice(&values[from * width..(from + 1) * width]);
            }
        }
    }
    Some(out)
}

/// The error of `quantized` against `original` (finite pairs only): (n, MSE, SQNR in dB).
pub fn error(original: &[f32], quantized: &[f32]) -> (usize, f64, f64) {
    let mut acc = crate::metrics::ErrorAccumulator::default();
    for (&r, &q) in original.iter().zip(quantized) {
        if r.is_finite() {
            acc.add(r, q, false);
        }
    }
    let m = acc.finish();
    (m.n, m.mse, m.sqnr_db)
}

/// What one pair of tensors shows: the published type, its bits per value, and its error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiffRow {
    pub original: String,
    pub quantized: String,
    pub paired_by: Pairing,
    pub original_dtype: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    /// Bits per value of the quantized tensor's type, its scales included (`None` for a type of
    /// unknown size).
    pub bits_per_value: Option<f64>,
    /// Values compared (the original's finite ones).
    pub n: usize,
    pub mse: f64,
    pub sqnr_db: f64,
    /// The original's q/k rows were reordered as llama.cpp's converter does first.
    pub permuted: bool,
    /// Why the pair was not compared (shapes differ, a type that cannot be read, …).
    pub skipped: Option<String>,
}

/// Every pair, and the tensors of each side left without a partner.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DiffTable {
    pub rows: Vec<DiffRow>,
    pub unmatched_original: Vec<String>,
    pub unmatched_quantized: Vec<String>,
}

/// Bits per value of a tensor type named as the readers name them: llama.cpp's types (their
/// blocks' scales included) and safetensors' dtypes.
pub fn dtype_bits(dtype: &str) -> Option<f64> {
    crate::ggml::GgmlType::from_name(dtype)
        .map(crate::ggml::GgmlType::bits_per_value)
        .or_else(|| crate::io::safetensors::Dtype::from_name(dtype).map(|d| d.bits() as f64))
}

/// Compares an original checkpoint with a quantized one: pairs their tensors (see the module
/// docs), reads each pair with `load_original` / `load_quantized` (one pair in memory at a time)
/// and measures the quantized one against the original. `heads` are the llama family's
/// (n_head, n_head_kv), when known, for the q/k rows. `progress` is told the share of pairs done.
pub fn diff_files(
    original: &[crate::io::TensorInfo],
    quantized: &[crate::io::TensorInfo],
    heads: Option<(usize, usize)>,
    load_original: &mut dyn FnMut(&str) -> Result<Vec<f32>, String>,
    load_quantized: &mut dyn FnMut(&str) -> Result<Vec<f32>, String>,
    progress: &mut dyn FnMut(f64),
) -> DiffTable {
    let names =
        |ts: &[crate::io::TensorInfo]| ts.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    let (pairs, lone_a, lone_b) = pair_names(&names(original), &names(quantized));
    let total = pairs.len().max(1);
    let mut rows = Vec::with_capacity(pairs.len());
    for (k, (i, j, how)) in pairs.into_iter().enumerate() {
        let (a, b) = (&original[i], &quantized[j]);
        let mut row = DiffRow {
            original: a.name.clone(),
            quantized: b.name.clone(),
            paired_by: how,
            original_dtype: a.dtype.clone(),
            dtype: b.dtype.clone(),
            shape: b.shape.clone(),
            bits_per_value: dtype_bits(&b.dtype),
            n: 0,
            mse: f64::NAN,
            sqnr_db: f64::NAN,
            permuted: false,
            skipped: None,
        };
        if a.shape != b.shape {
            row.skipped = Some(format!("shapes differ: {:?} vs {:?}", a.shape, b.shape));
        } else if !a.is_float || !b.is_float {
            row.skipped = Some(format!("{} or {} cannot be read", a.dtype, b.dtype));
        } else {
            match load_original(&a.name).and_then(|x| Ok((x, load_quantized(&b.name)?))) {
                Ok((mut x, y)) => {
                    let h = heads.and_then(|(n, kv)| qk_heads(&a.name, n, kv));
                    if let (Some(h), Pairing::LlamaCpp) = (h, how) {
                        if let Some(p) = permute_qk(&x, &a.shape, h) {
                            x = p;
                            row.permuted = true;
                        }
                    }
                    let (n, mse, sqnr) = error(&x, &y);
                    (row.n, row.mse, row.sqnr_db) = (n, mse, sqnr);
                }
                Err(e) => row.skipped = Some(e),
            }
        }
        rows.push(row);
        progress((k + 1) as f64 / total as f64);
    }
    DiffTable {
        rows,
        unmatched_original: lone_a
            .into_iter()
            .map(|i| original[i].name.clone())
            .collect(),
        unmatched_quantized: lone_b
            .into_iter()
            .map(|j| quantized[j].name.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn llama_names_pair_and_the_rest_is_listed() {
        assert_eq!(
            llama_cpp_name("model.layers.12.self_attn.q_proj.weight").as_deref(),
            Some("blk.12.attn_q.weight")
        );
        assert_eq!(
            llama_cpp_name("model.layers.0.mlp.down_proj.weight").as_deref(),
            Some("blk.0.ffn_down.weight")
        );
        assert_eq!(llama_cpp_name("model.layers.x.mlp.up_proj.weight"), None);
        assert_eq!(llama_cpp_name("encoder.layer.0.output.dense.weight"), None);
        let a: Vec<String> = [
            "model.embed_tokens.weight",
            "lm_head.weight",
            "extra",
            "same",
        ]
        .map(String::from)
        .to_vec();
        let b: Vec<String> = [
            "same",
            "output.weight",
            "token_embd.weight",
            "rope_freqs.weight",
        ]
        .map(String::from)
        .to_vec();
        let (pairs, lone_a, lone_b) = pair_names(&a, &b);
        assert_eq!(
            pairs,
            [
                (0, 2, Pairing::LlamaCpp),
                (1, 1, Pairing::LlamaCpp),
                (3, 0, Pairing::Name)
            ]
        );
        assert_eq!((lone_a, lone_b), (vec![2], vec![3]));
    }

    /// The permutation as numpy computes it:
    /// `w.reshape(h, 2, r // h // 2, c).swapaxes(1, 2).reshape(r, c)` for h = 2, r = 8, c = 1
    /// takes rows 0 1 2 3 | 4 5 6 7 to 0 2 1 3 | 4 6 5 7.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn the_qk_permutation_is_llama_cpps() {
        let v: Vec<f32> = (0..8).map(|i| i as f32).collect();
        assert_eq!(
            permute_qk(&v, &[8, 1], 2),
            Some(vec![0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0])
        );
        let w: Vec<f32> = (0..12).map(|i| i as f32).collect();
        // One head of 4 rows of 3: rows 0 1 | 2 3 → 0 2 1 3.
        assert_eq!(
            permute_qk(&w, &[4, 3], 1),
            Some(vec![0., 1., 2., 6., 7., 8., 3., 4., 5., 9., 10., 11.])
        );
        assert_eq!(permute_qk(&w, &[4, 3], 3), None);
        assert_eq!(
            qk_heads("model.layers.3.self_attn.k_proj.weight", 32, 8),
            Some(8)
        );
        assert_eq!(
            qk_heads("model.layers.3.self_attn.v_proj.weight", 32, 8),
            None
        );
    }
}
