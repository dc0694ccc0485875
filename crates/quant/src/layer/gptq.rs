//! GPTQ (Frantar et al., 2022, "GPTQ: Accurate Post-Training Quantization for Generative
//! Pre-trained Transformers", Algorithm 1), as IST-DASLab/gptq's `GPTQ.fasterquant`:
//!
//! ```text
//! H      = (2/n) · XᵀX                       X: the n tokens × `in` inputs the layer sees
//! dead   = { j : H_jj = 0 }:  H_jj ← 1, W[:, j] ← 0
//! H     += λ·I,  λ = damp · mean(diag H)      (damp = 0.01)
//! U      = upper Cholesky factor of H⁻¹       (H⁻¹ = UᵀU)
//! for each block of B columns (B = 128), each column j in it, in order:
//!     q      = Q(W[:, j])                     with the quantizer's parameters fixed beforehand
//!     e      = (W[:, j] − q) / U_jj
//!     W[:, k] −= e · U_jk   for the block's later columns k (at once for the later blocks)
//! ```
//!
//! The quantizer's parameters come from the weights before any column changes, except with
//! integer groups along the input (`int4-g128`…), which — as the reference — are calibrated when
//! the loop reaches a group's first column, from the weights as updated so far (the reference reads
//! them from the matrix that the block's own updates reach only at the block's end; so does this
//! port). With `act_order` the columns are visited by decreasing H_jj, and groups follow that order.

use super::frozen::Frozen;
use super::linalg;
use super::LayerError;
use crate::config::{Granularity, QuantizerConfig};
use crate::dataset::Dataset;
use crate::format::Format;

/// The reference's settings.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GptqOptions {
    /// Columns updated together before the lazy update of the rest (the reference's 128).
    pub block_size: usize,
    /// λ as a fraction of mean(diag H) (the reference's `percdamp`, 0.01).
    pub damp: f64,
    /// Visit columns by decreasing H_jj (the reference's `--act-order`).
    pub act_order: bool,
}

impl Default for GptqOptions {
    fn default() -> Self {
        Self {
            block_size: 128,
            damp: 0.01,
            act_order: false,
        }
    }
}

/// What GPTQ reports besides the weights.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GptqInfo {
    /// λ added to the diagonal.
    pub damp: f64,
    /// Inputs that are zero on every token (their weights are set to 0, as the reference does).
    pub dead: usize,
    /// Σ over rows and columns of (w − q)² / U_jj² / 2: the reference's `Losses.sum()`.
    pub loss: f64,
    pub notes: Vec<String>,
}

/// How each weight gets its quantizer.
enum Params {
    /// Fixed on the original W (index: row · cols + original column).
    Whole(Frozen),
    /// Integer groups of `size` consecutive inputs, calibrated at each group's first column.
    Regroup(usize),
}

/// GPTQ of W (rows × cols, row-major) with inputs X (tokens × cols): the quantized weights Q
/// (rows × cols) and what the run found. `progress` receives the fraction of columns done.
#[allow(clippy::too_many_arguments)]
pub fn quantize(
    w: &[f64],
    rows: usize,
    cols: usize,
    x: &[f64],
    tokens: usize,
    config: &QuantizerConfig,
    options: &GptqOptions,
    progress: &mut dyn FnMut(f64),
) -> Result<(Vec<f64>, GptqInfo), LayerError> {
    if options.block_size == 0 {
        return Err(LayerError::GptqBlock);
    }
    if !(options.damp.is_finite() && options.damp > 0.0) {
        return Err(LayerError::GptqDamp(options.damp));
    }
    let to_f32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let params = match config.granularity {
        Granularity::Group { size } if config.format == Format::Int && size < cols => {
            // The layout check (size divides the last axis) is the quantizer's own.
            crate::plan::check_layout(config, &[rows, cols])
                .map_err(crate::analysis::AnalyzeError::from)
                .map_err(super::frozen::FreezeError::from)?;
            Params::Regroup(size)
        }
        _ => {
            let original = Dataset::new("W", vec![rows, cols], to_f32(w))?;
            Params::Whole(Frozen::new(&original, config)?)
        }
    };
    let mut info = GptqInfo::default();

    let mut h = linalg::gram(x, tokens, cols);
    let scale = 2.0 / tokens as f64;
    h.iter_mut().for_each(|v| *v *= scale);
    let mut w = w.to_vec();
    for j in 0..cols {
        if h[j * cols + j] == 0.0 {
            h[j * cols + j] = 1.0;
            info.dead += 1;
            for r in 0..rows {
                w[r * cols + j] = 0.0;
            }
        }
    }
    if info.dead > 0 {
        info.notes.push(format!(
            "{} inputs are zero on every token: their weights are set to 0, as GPTQ's reference does",
            info.dead
        ));
    }
    // Column order (act-order: decreasing H_jj, ties in index order).
    let mut perm: Vec<usize> = (0..cols).collect();
    if options.act_order {
        perm.sort_by(|&a, &b| h[b * cols + b].total_cmp(&h[a * cols + a]));
        let (mut wp, mut hp) = (vec![0.0; rows * cols], vec![0.0; cols * cols]);
        for r in 0..rows {
            for (j, &p) in perm.iter().enumerate() {
                wp[r * cols + j] = w[r * cols + p];
            }
        }
        for (i, &pi) in perm.iter().enumerate() {
            for (j, &pj) in perm.iter().enumerate() {
                hp[i * cols + j] = h[pi * cols + pj];
            }
        }
        (w, h) = (wp, hp);
    }
    let mean_diag = (0..cols).map(|j| h[j * cols + j]).sum::<f64>() / cols as f64;
    if tokens < cols {
        info.notes.push(format!(
            "{tokens} tokens for {cols} inputs: XᵀX has rank at most {tokens}, so H is singular \
             and only the dampening (λ = {} · mean diag H) makes it invertible",
            options.damp
        ));
    }
    let mut damp = options.damp;
    let hinv = loop {
        let lambda = damp * mean_diag;
        let mut hd = h.clone();
        for j in 0..cols {
            hd[j * cols + j] += lambda;
        }
        if let Some(u) = linalg::inverse_upper_cholesky(&hd, cols) {
            info.damp = lambda;
            break u;
        }
        if damp >= 1.0 {
            return Err(LayerError::NotPositiveDefinite);
        }
        damp *= 10.0;
        info.notes.push(format!(
            "H + λI was not positive definite; dampening raised to {damp} · mean diag H"
        ));
    };

    let mut q = vec![0.0; rows * cols];
    let bs = options.block_size;
    let mut regrouped: Option<(usize, Frozen)> = None;
    for i1 in (0..cols).step_by(bs) {
        let i2 = (i1 + bs).min(cols);
        let count = i2 - i1;
        let mut w1 = vec![0.0; rows * count];
        for r in 0..rows {
            w1[r * count..(r + 1) * count].copy_from_slice(&w[r * cols + i1..r * cols + i2]);
        }
        let mut err1 = vec![0.0; rows * count];
        for i in 0..count {
            let col = i1 + i;
            let d = hinv[col * cols + col];
            if let Params::Regroup(g) = params {
                if col % g == 0 {
                    let end = (col + g).min(cols);
                    let mut sub = Vec::with_capacity(rows * (end - col));
                    for r in 0..rows {
                        sub.extend(w[r * cols + col..r * cols + end].iter().map(|&v| v as f32));
                    }
                    let ds = Dataset::new("W group", vec![rows, end - col], sub)?;
                    regrouped = Some((col, Frozen::new(&ds, config)?));
                }
            }
            let u_row = &hinv[col * cols + i1 + i..col * cols + i2];
            // This column's quantizer and where its weights sit in the layout it was fixed for.
            let (frozen, index): (&Frozen, &dyn Fn(usize) -> usize) = match (&params, &regrouped) {
                (Params::Whole(f), _) => (f, &|r| r * cols + perm[col]),
                (Params::Regroup(g), Some((start, f))) => (f, &move |r| r * g + (col - start)),
                // Column 0 starts a group, so a group is always set here.
                (Params::Regroup(_), None) => return Err(LayerError::GptqBlock),
            };
            for r in 0..rows {
                let wv = w1[r * count + i];
                let qv = f64::from(frozen.reconstruct(index(r), wv as f32));
                q[r * cols + col] = qv;
                let e = (wv - qv) / d;
                info.loss += e * e / 2.0;
                err1[r * count + i] = e;
                for (dst, &u) in w1[r * count + i..(r + 1) * count].iter_mut().zip(u_row) {
                    *dst -= e * u;
                }
            }
        }
        // W[:, i2..] −= Err1 · U[i1..i2, i2..]
        linalg::sub_mul(
            &mut w,
            i2,
            cols,
            &err1,
            0,
            count,
            &hinv,
            i1 * cols + i2,
            cols,
            rows,
            count,
            cols - i2,
        );
        progress(i2 as f64 / cols as f64);
    }
    if options.act_order {
        let mut back = vec![0.0; rows * cols];
        for r in 0..rows {
            for (j, &p) in perm.iter().enumerate() {
                back[r * cols + p] = q[r * cols + j];
            }
        }
        q = back;
    }
    Ok((q, info))
}
