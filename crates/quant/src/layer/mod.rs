//! The layer lab: what quantizing a linear layer's weights does to its *output*.
//!
//! ```text
//! Y  = X · Wᵀ                    W: out × in (PyTorch's Linear), X: tokens × in
//! Ŷ  = X̂' · Ŵ'ᵀ                  X' = X · diag(1/s) · R,  W' = W · diag(s) · R
//! Ŵ' = method(W')                rtn: Q(W'); awq: Q(W'·diag(a))·diag(1/a); gptq: see gptq.rs
//! X̂' = X' or Q_act(X')           per tensor, signed symmetric min–max at `act_bits`
//! ```
//!
//! s is SmoothQuant's per-input scale (Xiao et al., 2023, eq. 4): s_j = max_t|X_tj|^α /
//! max_o|W_oj|^(1−α) (1 where either maximum is 0); R is a block-diagonal of normalised Sylvester
//! Hadamard matrices (optionally after random ±1 signs), as QuaRot/QuIP# rotate. Both leave the
//! unquantized output unchanged (X'·W'ᵀ = X·Wᵀ), and move the difficulty between X and W.
//!
//! Reported: output MSE = mean over tokens × outputs of (Y − Ŷ)², output SQNR =
//! 10·log10(ΣY² / Σ(Y − Ŷ)²), and the same for W against the effective weights Ŵ = Ŵ'·Rᵀ·diag(1/s)
//! (the quantized weights mapped back to W's space).

mod frozen;
mod gptq;
pub mod lab;
pub mod linalg;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::config::{Granularity, QuantizerConfig, Scheme, Signedness};
use crate::dataset::Dataset;
pub use frozen::{FreezeError, Frozen};
pub use gptq::{GptqInfo, GptqOptions};
pub use lab::{gap_sentence, lab, LabResult};

/// How the weights are quantized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Round to nearest: Ŵ = Q(W).
    Rtn,
    /// GPTQ: columns in order, each one's error spread onto the rest through H⁻¹.
    Gptq,
    /// AWQ: per-input scales from the mean |activation|, the best α of a grid.
    Awq,
}

impl Method {
    pub const ALL: [Self; 3] = [Self::Rtn, Self::Gptq, Self::Awq];

    pub fn name(self) -> &'static str {
        match self {
            Self::Rtn => "rtn",
            Self::Gptq => "gptq",
            Self::Awq => "awq",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }

    /// The method's usual abbreviation.
    pub fn short_label(self) -> &'static str {
        match self {
            Self::Rtn => "RTN",
            Self::Gptq => "GPTQ",
            Self::Awq => "AWQ",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Rtn => "round to nearest (RTN)",
            Self::Gptq => "GPTQ (error feedback through H⁻¹)",
            Self::Awq => "AWQ (activation-aware scales)",
        }
    }
}

/// AWQ's grid of α: 0, 1/20, …, 19/20 (llm-awq's `auto_scale`, n_grid = 20).
pub const AWQ_GRID: usize = 20;

/// Everything besides the weight quantizer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LayerOptions {
    pub method: Method,
    /// Hadamard rotation with blocks of this size (a power of two dividing `in`).
    pub rotate_block: Option<usize>,
    /// Random ±1 signs before the rotation, from this seed.
    pub rotate_seed: Option<u64>,
    /// SmoothQuant's migration strength α ∈ [0, 1].
    pub smooth_alpha: Option<f32>,
    /// Quantize the activations (per tensor, signed symmetric min–max) at this many bits.
    pub act_bits: Option<u8>,
    pub gptq: GptqOptions,
    /// Hold out the last this many tokens: everything is calibrated on the tokens before them
    /// (GPTQ's H, AWQ's search, SmoothQuant's maxima, the activations' range) and the errors are
    /// measured on them alone — how the method does on inputs it has not seen.
    pub holdout: Option<usize>,
}

impl Default for LayerOptions {
    fn default() -> Self {
        Self {
            method: Method::Rtn,
            rotate_block: None,
            rotate_seed: None,
            smooth_alpha: None,
            act_bits: None,
            gptq: GptqOptions::default(),
            holdout: None,
        }
    }
}

/// Why a layer cannot be measured.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("the weights must be a 2-D matrix [out, in]; this one has shape {0:?}")]
    WeightShape(Vec<usize>),
    #[error("the activations must be a 2-D matrix [tokens, in]; this one has shape {0:?}")]
    ActivationShape(Vec<usize>),
    #[error("the activations have {x_in} features per token but the weights take {w_in} inputs")]
    InMismatch { w_in: usize, x_in: usize },
    #[error("the {which} hold {count} NaN/±Inf values; the layer lab needs finite numbers")]
    NonFinite { which: &'static str, count: usize },
    #[error(
        "the rotation block must be a power of two dividing the {inputs} inputs; {block} is not"
    )]
    RotateBlock { block: usize, inputs: usize },
    #[error("SmoothQuant's α must lie in [0, 1]; {0} does not")]
    SmoothAlpha(f32),
    #[error("activation bits must be 2–16; {0} is not")]
    ActBits(u8),
    #[error("{holdout} held-out tokens of {tokens}: keep at least one token on each side")]
    Holdout { holdout: usize, tokens: usize },
    #[error("the smoothed or rotated weights overflow f32")]
    Overflow,
    #[error("GPTQ's block size must be at least 1")]
    GptqBlock,
    #[error("GPTQ's dampening must be a positive fraction; {0} is not")]
    GptqDamp(f64),
    #[error("H = 2/n·XᵀX stays not positive definite even with λ = mean diag H")]
    NotPositiveDefinite,
    #[error(transparent)]
    Quantizer(#[from] FreezeError),
    #[error(transparent)]
    Dataset(#[from] crate::dataset::DatasetError),
}

impl From<crate::analysis::AnalyzeError> for LayerError {
    fn from(e: crate::analysis::AnalyzeError) -> Self {
        Self::Quantizer(FreezeError::Analyze(e))
    }
}

/// A linear layer's weights and the activations it receives.
#[derive(Clone, Copy, Debug)]
pub struct Layer<'a> {
    w: &'a [f32],
    x: &'a [f32],
    out: usize,
    inputs: usize,
    tokens: usize,
}

impl<'a> Layer<'a> {
    /// Checks shapes (W [out, in], X [tokens, in]) and that every value is finite.
    pub fn new(
        w: &'a [f32],
        w_shape: &[usize],
        x: &'a [f32],
        x_shape: &[usize],
    ) -> Result<Self, LayerError> {
        let (&[out, inputs], &[tokens, x_in]) = (w_shape, x_shape) else {
            return Err(if w_shape.len() != 2 {
                LayerError::WeightShape(w_shape.to_vec())
            } else {
                LayerError::ActivationShape(x_shape.to_vec())
            });
        };
        if out == 0 || inputs == 0 || out.checked_mul(inputs) != Some(w.len()) {
            return Err(LayerError::WeightShape(w_shape.to_vec()));
        }
        if tokens == 0 || tokens.checked_mul(x_in) != Some(x.len()) {
            return Err(LayerError::ActivationShape(x_shape.to_vec()));
        }
        if x_in != inputs {
            return Err(LayerError::InMismatch { w_in: inputs, x_in });
        }
        for (which, v) in [("weights", w), ("activations", x)] {
            let count = v.iter().filter(|v| !v.is_finite()).count();
            if count > 0 {
                return Err(LayerError::NonFinite { which, count });
            }
        }
        Ok(Self {
            w,
            x,
            out,
            inputs,
            tokens,
        })
    }

    pub fn out(&self) -> usize {
        self.out
    }

    pub fn inputs(&self) -> usize {
        self.inputs
    }

    pub fn tokens(&self) -> usize {
        self.tokens
    }

    /// max_t |X_tj| for each input j: where the activation outliers are.
    pub fn activation_abs_max(&self) -> Vec<f32> {
        column_abs_max(self.x, self.inputs, self.tokens)
    }

    /// mean over the tokens of X_tj² per input j (sums in f64): llama.cpp's imatrix quantity,
    /// the importance `allocate` weights each input column's error by.
    pub fn activation_mean_sq(&self) -> Vec<f32> {
        let mut sums = vec![0f64; self.inputs];
        for row in self.x.chunks_exact(self.inputs).take(self.tokens) {
            for (s, &v) in sums.iter_mut().zip(row) {
                *s += f64::from(v) * f64::from(v);
            }
        }
        let t = self.tokens.max(1) as f64;
        sums.iter().map(|s| (s / t) as f32).collect()
    }
}

/// max |m_rj| over the first `rows` rows of a row-major matrix with `cols` columns, per column.
fn column_abs_max(m: &[f32], cols: usize, rows: usize) -> Vec<f32> {
    let mut out = vec![0f32; cols];
    for row in m.chunks_exact(cols).take(rows) {
        for (a, &v) in out.iter_mut().zip(row) {
            *a = a.max(v.abs());
        }
    }
    out
}

/// How heavy-tailed a weight matrix is.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// E[(w − μ)⁴] / σ⁴ (3 for a normal distribution).
    pub kurtosis: f64,
    /// max |w| / σ.
    pub max_over_std: f64,
}

impl Spread {
    pub fn of(v: &[f64]) -> Self {
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        let (m2, m4) = v.iter().fold((0.0, 0.0), |(a, b), &x| {
            let d = (x - mean) * (x - mean);
            (a + d, b + d * d)
        });
        let var = m2 / n;
        let max = v.iter().fold(0f64, |a, &x| a.max(x.abs()));
        Self {
            kurtosis: if var > 0.0 { m4 / n / (var * var) } else { 0.0 },
            max_over_std: if var > 0.0 { max / var.sqrt() } else { 0.0 },
        }
    }
}

/// The measured layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerReport {
    pub method: Method,
    /// The α AWQ chose (AWQ only).
    pub awq_alpha: Option<f32>,
    /// Output MSE at each α of AWQ's grid (AWQ only).
    pub awq_curve: Vec<(f32, f64)>,
    pub output_mse: f64,
    pub output_sqnr_db: f64,
    pub weight_mse: f64,
    pub weight_sqnr_db: f64,
    /// Mean over tokens of (Y − Ŷ)² for each output.
    pub per_output_mse: Vec<f64>,
    /// W before any transform, and the matrix actually quantized (W' = W·diag(s)·R).
    pub weight_before: Spread,
    pub weight_quantized: Spread,
    /// GPTQ's λ, dead inputs and loss (GPTQ only).
    pub gptq_damp: Option<f64>,
    pub gptq_loss: Option<f64>,
    pub notes: Vec<String>,
}

/// 10·log10(Σ ref² / Σ err²) in dB (+∞ for no error).
fn sqnr_db(signal: f64, noise: f64) -> f64 {
    if noise == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (signal / noise).log10()
    }
}

/// The block-diagonal Hadamard rotation with optional ±1 signs: x ↦ x·R for row vectors,
/// R = diag(d)·blockdiag(H_B/√B), and its inverse v ↦ v·Rᵀ.
struct Rotation {
    block: usize,
    signs: Option<Vec<f64>>,
}

impl Rotation {
    fn new(block: usize, inputs: usize, seed: Option<u64>) -> Result<Self, LayerError> {
        if block == 0 || !block.is_power_of_two() || inputs % block != 0 {
            return Err(LayerError::RotateBlock { block, inputs });
        }
        let signs = seed.map(|seed| {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            (0..inputs)
                .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
                .collect()
        });
        Ok(Self { block, signs })
    }

    /// The unnormalised fast Walsh–Hadamard transform of each block of `row`, then / √B.
    fn hadamard(&self, row: &mut [f64]) {
        let norm = 1.0 / (self.block as f64).sqrt();
        for b in row.chunks_exact_mut(self.block) {
            let mut h = 1;
            while h < b.len() {
                for i in (0..b.len()).step_by(2 * h) {
                    for j in i..i + h {
                        let (x, y) = (b[j], b[j + h]);
                        b[j] = x + y;
                        b[j + h] = x - y;
                    }
                }
                h *= 2;
            }
            b.iter_mut().for_each(|v| *v *= norm);
        }
    }

    /// Every row of `m` (rows of length `inputs`) times R.
    fn apply(&self, m: &mut [f64], inputs: usize) {
        for row in m.chunks_exact_mut(inputs) {
            if let Some(d) = &self.signs {
                row.iter_mut().zip(d).for_each(|(v, s)| *v *= s);
            }
            self.hadamard(row);
        }
    }

    /// Every row of `m` times Rᵀ (H is symmetric and its own inverse).
    fn undo(&self, m: &mut [f64], inputs: usize) {
        for row in m.chunks_exact_mut(inputs) {
            self.hadamard(row);
            if let Some(d) = &self.signs {
                row.iter_mut().zip(d).for_each(|(v, s)| *v *= s);
            }
        }
    }
}

/// SmoothQuant's s_j = max_t|X_tj|^α / max_o|W_oj|^(1−α), 1 where either maximum is 0, over
/// every token.
pub fn smooth_scales(layer: &Layer, alpha: f32) -> Vec<f64> {
    smooth_scales_over(layer, layer.tokens, alpha)
}

/// [`smooth_scales`] with the maxima over the first `tokens` tokens.
fn smooth_scales_over(layer: &Layer, tokens: usize, alpha: f32) -> Vec<f64> {
    let x_max = column_abs_max(layer.x, layer.inputs, tokens);
    let w_max = column_abs_max(layer.w, layer.inputs, layer.out);
    let a = f64::from(alpha);
    x_max
        .iter()
        .zip(&w_max)
        .map(|(&x, &w)| {
            if x == 0.0 || w == 0.0 {
                1.0
            } else {
                f64::from(x).powf(a) / f64::from(w).powf(1.0 - a)
            }
        })
        .collect()
}

/// AWQ's per-input scales for α: a_j = max((mean_t |X_tj|)^α, 1e-4), divided by √(max a · min a).
pub fn awq_scales(x_mean_abs: &[f64], alpha: f64) -> Vec<f64> {
    let mut a: Vec<f64> = x_mean_abs
        .iter()
        .map(|&m| m.powf(alpha).max(1e-4))
        .collect();
    let max = a.iter().copied().fold(f64::MIN, f64::max);
    let min = a.iter().copied().fold(f64::MAX, f64::min);
    let norm = (max * min).sqrt();
    a.iter_mut().for_each(|v| *v /= norm);
    a
}

/// Q(m) for an out × in matrix in f64, through the core's quantizer (in f32).
fn quantize_matrix(
    m: &[f64],
    rows: usize,
    cols: usize,
    config: &QuantizerConfig,
) -> Result<Vec<f64>, LayerError> {
    let v: Vec<f32> = m.iter().map(|&x| x as f32).collect();
    if v.iter().any(|x| !x.is_finite()) {
        return Err(LayerError::Overflow);
    }
    let ds = Dataset::new("W", vec![rows, cols], v)?;
    Ok(crate::run::quantize(&ds, config)?
        .dequantized
        .into_iter()
        .map(f64::from)
        .collect())
}

/// The activations' quantizer: per tensor, signed symmetric min–max at `bits`.
pub fn activation_config(bits: u8) -> QuantizerConfig {
    QuantizerConfig {
        bits,
        signedness: Signedness::Signed,
        scheme: Scheme::Symmetric,
        granularity: Granularity::Tensor,
        ..QuantizerConfig::default()
    }
}

/// Measures the layer with the weight quantizer `config` and the method and transforms of
/// `options`. `progress` receives the fraction done (GPTQ's columns, AWQ's grid).
pub fn run(
    layer: &Layer,
    config: &QuantizerConfig,
    options: &LayerOptions,
    progress: &mut dyn FnMut(f64),
) -> Result<LayerReport, LayerError> {
    run_with_weights(layer, config, options, progress).map(|(report, _)| report)
}

/// [`run`], and the effective quantized weights Ŵ = Ŵ'·Rᵀ·diag(1/s) (out × in, row-major).
pub fn run_with_weights(
    layer: &Layer,
    config: &QuantizerConfig,
    options: &LayerOptions,
    progress: &mut dyn FnMut(f64),
) -> Result<(LayerReport, Vec<f64>), LayerError> {
    let (out, inputs, tokens) = (layer.out, layer.inputs, layer.tokens);
    config
        .validate()
        .map_err(crate::analysis::AnalyzeError::from)?;
    let rotation = options
        .rotate_block
        .map(|b| Rotation::new(b, inputs, options.rotate_seed))
        .transpose()?;
    if let Some(a) = options.smooth_alpha {
        if !(0.0..=1.0).contains(&a) {
            return Err(LayerError::SmoothAlpha(a));
        }
    }
    let act = match options.act_bits {
        Some(b) if !(2..=16).contains(&b) => return Err(LayerError::ActBits(b)),
        Some(b) => Some(activation_config(b)),
        None => None,
    };
    let held = options.holdout.unwrap_or(0);
    if options.holdout.is_some() && (held == 0 || held >= tokens) {
        return Err(LayerError::Holdout {
            holdout: held,
            tokens,
        });
    }
    // Calibration tokens [0, cal), measured tokens [tokens − measured, tokens).
    let cal = tokens - held;
    let measured = if held > 0 { held } else { tokens };
    let mut notes = Vec::new();
    let adapts = options.method != Method::Rtn || options.smooth_alpha.is_some() || act.is_some();
    if held > 0 {
        notes.push(format!(
            "Calibrated on the first {cal} tokens; every error is measured on the last {held}, held out"
        ));
    } else if adapts {
        notes.push(
            "Calibrated and measured on the same tokens: hold some out to see how it does on inputs it has not seen"
                .to_string(),
        );
    }

    let w: Vec<f64> = layer.w.iter().map(|&v| f64::from(v)).collect();
    let x: Vec<f64> = layer.x.iter().map(|&v| f64::from(v)).collect();
    let eval_from = (tokens - measured) * inputs;
    let y = linalg::mul_transposed(&x[eval_from..], &w, measured, inputs, out);
    let y_cal = if held > 0 {
        linalg::mul_transposed(&x[..cal * inputs], &w, cal, inputs, out)
    } else {
        y.clone()
    };

    // W' and X'.
    let (mut wt, mut xt) = (w.clone(), x.clone());
    let smooth = options
        .smooth_alpha
        .map(|a| smooth_scales_over(layer, cal, a));
    transform(
        &mut wt,
        &mut xt,
        inputs,
        smooth.as_deref(),
        rotation.as_ref(),
    );
    let weight_before = Spread::of(&w);
    let weight_quantized = Spread::of(&wt);

    // X̂': the activations' range from the calibration tokens (static), applied to all of them.
    let xq = match &act {
        Some(c) => {
            let v: Vec<f32> = xt[..cal * inputs].iter().map(|&x| x as f32).collect();
            if v.iter().any(|x| !x.is_finite()) {
                return Err(LayerError::Overflow);
            }
            let frozen = Frozen::new(&Dataset::new("X", vec![cal, inputs], v)?, c)?;
            xt.iter()
                .enumerate()
                .map(|(i, &x)| f64::from(frozen.reconstruct(i, x as f32)))
                .collect()
        }
        None => xt.clone(),
    };
    let (xt_cal, xq_cal, xq_eval) = (&xt[..cal * inputs], &xq[..cal * inputs], &xq[eval_from..]);

    // Ŵ'.
    let (mut awq_alpha, mut awq_curve, mut gptq_damp, mut gptq_loss) =
        (None, Vec::new(), None, None);
    let wq = match options.method {
        Method::Rtn => quantize_matrix(&wt, out, inputs, config)?,
        Method::Gptq => {
            let (q, info) = gptq::quantize(
                &wt,
                out,
                inputs,
                xt_cal,
                cal,
                config,
                &options.gptq,
                progress,
            )?;
            gptq_damp = Some(info.damp);
            gptq_loss = Some(info.loss);
            notes.extend(info.notes);
            q
        }
        Method::Awq => {
            let mut mean_abs = vec![0f64; inputs];
            for row in xt_cal.chunks_exact(inputs) {
                mean_abs
                    .iter_mut()
                    .zip(row)
                    .for_each(|(m, v)| *m += v.abs());
            }
            mean_abs.iter_mut().for_each(|m| *m /= cal as f64);
            let mut best = (f64::INFINITY, 0f32, Vec::new());
            for k in 0..AWQ_GRID {
                let alpha = k as f64 / AWQ_GRID as f64;
                let a = awq_scales(&mean_abs, alpha);
                let mut scaled = wt.clone();
                for row in scaled.chunks_exact_mut(inputs) {
                    row.iter_mut().zip(&a).for_each(|(v, s)| *v *= s);
                }
                let mut q = quantize_matrix(&scaled, out, inputs, config)?;
                for row in q.chunks_exact_mut(inputs) {
                    row.iter_mut().zip(&a).for_each(|(v, s)| *v /= s);
                }
                let yq = linalg::mul_transposed(xq_cal, &q, cal, inputs, out);
                let mse = mean_sq_diff(&y_cal, &yq);
                awq_curve.push((alpha as f32, mse));
                if best.2.is_empty() || mse < best.0 {
                    best = (mse, alpha as f32, q);
                }
                progress((k + 1) as f64 / AWQ_GRID as f64);
            }
            let (_, alpha, q) = best;
            awq_alpha = Some(alpha);
            q
        }
    };

    let yq = linalg::mul_transposed(xq_eval, &wq, measured, inputs, out);
    let mut per_output_mse = vec![0f64; out];
    for (yr, qr) in y.chunks_exact(out).zip(yq.chunks_exact(out)) {
        for ((m, a), b) in per_output_mse.iter_mut().zip(yr).zip(qr) {
            *m += (a - b) * (a - b);
        }
    }
    per_output_mse
        .iter_mut()
        .for_each(|m| *m /= measured as f64);

    // Ŵ in W's space.
    let mut w_eff = wq;
    if let Some(r) = &rotation {
        r.undo(&mut w_eff, inputs);
    }
    if let Some(s) = &smooth {
        for row in w_eff.chunks_exact_mut(inputs) {
            row.iter_mut().zip(s).for_each(|(v, s)| *v /= s);
        }
    }

    let output_mse = mean_sq_diff(&y, &yq);
    let weight_mse = mean_sq_diff(&w, &w_eff);
    let sum_sq = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>();
    let report = LayerReport {
        method: options.method,
        awq_alpha,
        awq_curve,
        output_mse,
        output_sqnr_db: sqnr_db(sum_sq(&y), output_mse * y.len() as f64),
        weight_mse,
        weight_sqnr_db: sqnr_db(sum_sq(&w), weight_mse * w.len() as f64),
        per_output_mse,
        weight_before,
        weight_quantized,
        gptq_damp,
        gptq_loss,
        notes,
    };
    Ok((report, w_eff))
}

/// W' = W·diag(s)·R and X' = X·diag(1/s)·R in place (rows of length `inputs`).
fn transform(
    w: &mut [f64],
    x: &mut [f64],
    inputs: usize,
    smooth: Option<&[f64]>,
    rotation: Option<&Rotation>,
) {
    if let Some(s) = smooth {
        for row in w.chunks_exact_mut(inputs) {
            row.iter_mut().zip(s).for_each(|(v, s)| *v *= s);
        }
        for row in x.chunks_exact_mut(inputs) {
            row.iter_mut().zip(s).for_each(|(v, s)| *v /= s);
        }
    }
    if let Some(r) = rotation {
        r.apply(w, inputs);
        r.apply(x, inputs);
    }
}

/// W' = W·diag(s)·R, the matrix `options`' transforms give the quantizer (as [`run`] computes
/// it, SmoothQuant's maxima over the calibration tokens).
pub fn transformed_weights(layer: &Layer, options: &LayerOptions) -> Result<Vec<f32>, LayerError> {
    let rotation = options
        .rotate_block
        .map(|b| Rotation::new(b, layer.inputs, options.rotate_seed))
        .transpose()?;
    let cal = layer.tokens - options.holdout.unwrap_or(0).min(layer.tokens);
    let smooth = options
        .smooth_alpha
        .map(|a| smooth_scales_over(layer, cal, a));
    let mut w: Vec<f64> = layer.w.iter().map(|&v| f64::from(v)).collect();
    transform(
        &mut w,
        &mut [],
        layer.inputs,
        smooth.as_deref(),
        rotation.as_ref(),
    );
    Ok(w.into_iter().map(|v| v as f32).collect())
}

/// mean (a − b)².
fn mean_sq_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>() / a.len().max(1) as f64
}
