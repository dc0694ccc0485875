//! Entropy (KL-divergence) calibration as in TensorRT's INT8 calibrator.
//!
//! ```text
//! 1. histogram of |x| over [0, max|x|] in 2048 bins: h_0 … h_2047 (bin width w)
//! 2. for each candidate i = n_q … 2048 (n_q = 2^(b−1) quantized bins, 128 for 8 bits):
//!      P = h_0 … h_(i−1), with the tail Σ_(k≥i) h_k added to P_(i−1)
//!      Q: merge h_0 … h_(i−1) into n_q groups of ⌊i/n_q⌋ bins (the last takes the remainder),
//!         then spread each group's sum evenly over its non-empty bins (empty bins stay 0)
//!      KL(P ‖ Q) = Σ p log(p / q) over the normalised distributions (∞ if q = 0 where p > 0)
//! 3. threshold T = i* · w for the i* of least KL; the clip is [−T, T]
//! ```
//! (Migacz, "8-bit Inference with TensorRT", GTC 2017; the same steps as NVIDIA's
//! pytorch-quantization `_compute_amax_entropy`.) One O(n) pass, then O(bins) per candidate.
//! For an asymmetric scheme the clip is [max(min, −T), min(max, T)].

use crate::config::{QuantizerConfig, Scheme, Signedness};

/// Histogram bins of |x|.
pub const KL_BINS: usize = 2048;

/// KL(P ‖ Q) for the candidate that keeps the first `i` bins of `hist` (no allocation: P and Q
/// are formed bin by bin). Σ P is the total count; Σ Q is the count of the kept bins.
fn divergence(hist: &[f64], i: usize, n_quant: usize) -> f64 {
    let kept: f64 = hist[..i].iter().sum();
    let tail: f64 = hist[i..].iter().sum();
    let (sp, sq) = (kept + tail, kept);
    if sp == 0.0 || sq == 0.0 {
        return f64::INFINITY;
    }
    let merged = i / n_quant;
    let mut kl = 0.0;
    for j in 0..n_quant {
        let start = j * merged;
        let stop = if j == n_quant - 1 { i } else { start + merged };
        let src = &hist[start..stop];
        let sum: f64 = src.iter().sum();
        let nonzero = src.iter().filter(|&&c| c > 0.0).count();
        for (k, &c) in src.iter().enumerate() {
            let p = if start + k == i - 1 { c + tail } else { c };
            if p > 0.0 {
                if c == 0.0 {
                    return f64::INFINITY; // q = 0 where p > 0
                }
                let (pn, qn) = (p / sp, sum / nonzero as f64 / sq);
                kl += pn * (pn / qn).ln();
            }
        }
    }
    kl
}

/// The threshold T (see the module docs) of `values`, or `None` without finite values.
pub fn kl_threshold(values: &[f32], bits: u8, signedness: Signedness) -> Option<f32> {
    let (min, max) = super::finite_min_max(values)?;
    let amax = min.abs().max(max.abs());
    if amax == 0.0 {
        return Some(0.0);
    }
    let hist: Vec<f64> = crate::histogram::Histogram::of(values, 0.0, amax, KL_BINS, true)
        .counts
        .iter()
        .map(|&c| c as f64)
        .collect();
    let levels_bits = match signedness {
        Signedness::Signed => u32::from(bits.max(1)) - 1,
        Signedness::Unsigned => u32::from(bits.max(1)),
    };
    let n_quant = (1usize << levels_bits.min(11)).clamp(1, KL_BINS);
    let mut best = (KL_BINS, f64::INFINITY);
    for i in n_quant.max(1)..=KL_BINS {
        let d = divergence(&hist, i, n_quant);
        if d < best.1 {
            best = (i, d);
        }
    }
    Some(best.0 as f32 * amax / KL_BINS as f32)
}

/// The KL clipping range for `config`.
pub fn kl_range(values: &[f32], config: &QuantizerConfig) -> Option<(f32, f32)> {
    let t = kl_threshold(values, config.bits, config.signedness)?;
    match config.scheme {
        Scheme::Symmetric => Some((-t, t)),
        Scheme::Asymmetric => {
            let (min, max) = super::finite_min_max(values)?;
            Some((min.max(-t), max.min(t)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{generate, Distribution};

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn divergence_by_hand() {
        // 4 bins [4, 0, 2, 2], keep i = 4, 2 quantized bins → groups [4, 0] and [2, 2]:
        // Q = [4, 0, 2, 2] (empty bin stays empty) = P → KL 0.
        let h = [4.0, 0.0, 2.0, 2.0];
        assert_eq!(divergence(&h, 4, 2), 0.0);
        // [1, 3, 2, 2] → Q = [2, 2, 2, 2]; P = [1, 3, 2, 2]/8 → KL = Σ p ln(p/q)
        let h = [1.0, 3.0, 2.0, 2.0];
        let p = [0.125f64, 0.375, 0.25, 0.25];
        let expected: f64 = p.iter().map(|&x| x * (x / 0.25).ln()).sum();
        assert!((divergence(&h, 4, 2) - expected).abs() < 1e-12);
        // i = 2 folds the tail: P = [1, 3 + 4]; one group → Q = [4, 4]
        let p = [0.125f64, 0.875];
        let expected: f64 = p.iter().map(|&x| x * (x / 0.5).ln()).sum();
        assert!((divergence(&h, 2, 1) - expected).abs() < 1e-12);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn clips_heavy_tails_and_keeps_bounded_data() {
        let t = generate(Distribution::StudentT { nu: 2.0 }, 100_000, 3).unwrap_or_default();
        let amax = t.iter().fold(0f32, |m, x| m.max(x.abs()));
        let th = kl_threshold(&t, 8, Signedness::Signed).unwrap_or(0.0);
        assert!(
            th > 0.0 && th < amax / 4.0,
            "heavy tails are clipped: {th} of {amax}"
        );
        let u = generate(Distribution::Uniform, 100_000, 3).unwrap_or_default();
        let umax = u.iter().fold(0f32, |m, x| m.max(x.abs()));
        let th = kl_threshold(&u, 8, Signedness::Signed).unwrap_or(0.0);
        assert!(
            th > 0.9 * umax,
            "uniform data keeps most of its range: {th} of {umax}"
        );
        assert_eq!(kl_threshold(&[f32::NAN], 8, Signedness::Signed), None);
        assert_eq!(kl_threshold(&[0.0], 8, Signedness::Signed), Some(0.0));
    }
}
