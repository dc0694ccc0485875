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
//! pytorch-quantization `_compute_amax_entropy`.) One O(n) pass, then, with prefix sums, O(n_q)
//! per candidate.
//! For an asymmetric scheme the clip is [max(min, −T), min(max, T)].

use crate::affine::{IntGrid, Scheme, Signedness};

/// Histogram bins of |x|.
pub const KL_BINS: usize = 2048;

/// Prefix sums of a histogram that make each candidate's KL cost O(n_q) instead of O(i):
///
/// ```text
/// KL = Σ_k p_k ln p_k − Σ_j ln(q_j) · Σ_(k ∈ group j) p_k
/// ```
/// since Q is constant over the non-empty bins of a group. With h the counts, N = Σ h, the first
/// sum is (Σ_(k<i−1) h_k ln h_k − ln N · Σ_(k<i−1) h_k) / N plus the folded last bin's term.
struct Prefix {
    /// Σ_(m<k) h_m
    sum: Vec<f64>,
    /// number of non-empty bins among m < k
    nonzero: Vec<usize>,
    /// Σ_(m<k, h_m>0) h_m ln h_m
    h_ln_h: Vec<f64>,
}

impl Prefix {
    fn of(hist: &[f64]) -> Self {
        let n = hist.len();
        let (mut sum, mut nonzero, mut h_ln_h) =
            (vec![0.0; n + 1], vec![0; n + 1], vec![0.0; n + 1]);
        for (k, &h) in hist.iter().enumerate() {
            sum[k + 1] = sum[k] + h;
            nonzero[k + 1] = nonzero[k] + usize::from(h > 0.0);
            h_ln_h[k + 1] = h_ln_h[k] + if h > 0.0 { h * h.ln() } else { 0.0 };
        }
        Self {
            sum,
            nonzero,
            h_ln_h,
        }
    }
}

/// KL(P ‖ Q) for the candidate that keeps the first `i` bins of `hist` (see the module docs).
fn divergence(hist: &[f64], pre: &Prefix, i: usize, n_quant: usize) -> f64 {
    let total = pre.sum[hist.len()];
    let kept = pre.sum[i];
    let tail = total - kept;
    let last = hist[i - 1];
    if total == 0.0 || kept == 0.0 || (last == 0.0 && tail > 0.0) {
        return f64::INFINITY; // q = 0 where p > 0
    }
    let ln_total = total.ln();
    // Σ p ln p: the bins before the last, then the last bin with the tail folded in.
    let head = (pre.h_ln_h[i - 1] - ln_total * pre.sum[i - 1]) / total;
    let p_last = (last + tail) / total;
    let mut kl = head
        + if p_last > 0.0 {
            p_last * p_last.ln()
        } else {
            0.0
        };
    // − Σ_j ln(q_j) · P(group j), with q_j = (S_j / nz_j) / kept.
    let merged = i / n_quant;
    for j in 0..n_quant {
        let start = j * merged;
        let stop = if j == n_quant - 1 { i } else { start + merged };
        let s_j = pre.sum[stop] - pre.sum[start];
        let nz = pre.nonzero[stop] - pre.nonzero[start];
        if nz == 0 {
            continue; // every p in the group is 0 (the last bin was handled above)
        }
        let p_group = (s_j + if stop == i { tail } else { 0.0 }) / total;
        let q = s_j / nz as f64 / kept;
        kl -= q.ln() * p_group;
    }
    kl
}

/// The threshold T (see the module docs) of `values`, or `None` without finite values.
/// `known` is the finite (min, max) when the caller already has it (it saves a pass).
pub fn kl_threshold(
    values: &[f32],
    bits: u8,
    signedness: Signedness,
    known: Option<(f32, f32)>,
) -> Option<f32> {
    let (min, max) = known.or_else(|| super::finite_min_max(values))?;
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
    let pre = Prefix::of(&hist);
    let mut best = (KL_BINS, f64::INFINITY);
    for i in n_quant.max(1)..=KL_BINS {
        let d = divergence(&hist, &pre, i, n_quant);
        if d < best.1 {
            best = (i, d);
        }
    }
    // In f64: i · amax overflows f32 for amax near f32::MAX. The result is the same number (the
    // division by 2^11 is exact), and never exceeds amax.
    Some((best.0 as f64 * f64::from(amax) / KL_BINS as f64) as f32)
}

/// The KL clipping range at `bits` on `grid`.
pub fn kl_range(
    values: &[f32],
    bits: u8,
    grid: IntGrid,
    known: Option<(f32, f32)>,
) -> Option<(f32, f32)> {
    let known = known.or_else(|| super::finite_min_max(values));
    let t = kl_threshold(values, bits, grid.signedness, known)?;
    match grid.scheme {
        Scheme::Symmetric => Some((-t, t)),
        Scheme::Asymmetric => {
            let (min, max) = known?;
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
        assert!(divergence(&h, &Prefix::of(&h), 4, 2).abs() < 1e-12);
        // [1, 3, 2, 2] → Q = [2, 2, 2, 2]; P = [1, 3, 2, 2]/8 → KL = Σ p ln(p/q)
        let h = [1.0, 3.0, 2.0, 2.0];
        let p = [0.125f64, 0.375, 0.25, 0.25];
        let expected: f64 = p.iter().map(|&x| x * (x / 0.25).ln()).sum();
        let pre = Prefix::of(&h);
        assert!((divergence(&h, &pre, 4, 2) - expected).abs() < 1e-12);
        // i = 2 folds the tail: P = [1, 3 + 4]; one group → Q = [4, 4]
        let p = [0.125f64, 0.875];
        let expected: f64 = p.iter().map(|&x| x * (x / 0.5).ln()).sum();
        assert!((divergence(&h, &pre, 2, 1) - expected).abs() < 1e-12);
        // the last kept bin empty while the tail is not: Q has 0 where P has mass
        let h = [1.0, 0.0, 5.0];
        assert_eq!(divergence(&h, &Prefix::of(&h), 2, 1), f64::INFINITY);
    }

    /// The definition, bin by bin (P and Q built explicitly).
    fn naive(hist: &[f64], i: usize, n_quant: usize) -> f64 {
        let tail: f64 = hist[i..].iter().sum();
        let mut p = hist[..i].to_vec();
        p[i - 1] += tail;
        let merged = i / n_quant;
        let mut q = vec![0.0; i];
        for j in 0..n_quant {
            let start = j * merged;
            let stop = if j == n_quant - 1 { i } else { start + merged };
            let sum: f64 = hist[start..stop].iter().sum();
            let nz = hist[start..stop].iter().filter(|&&c| c > 0.0).count();
            for k in start..stop {
                if hist[k] > 0.0 {
                    q[k] = sum / nz as f64;
                }
            }
        }
        let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
        let mut kl = 0.0;
        for (&pk, &qk) in p.iter().zip(&q) {
            if pk > 0.0 {
                if qk == 0.0 {
                    return f64::INFINITY;
                }
                kl += pk / sp * ((pk / sp) / (qk / sq)).ln();
            }
        }
        kl
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn prefix_sum_divergence_equals_the_definition() {
        // A lumpy histogram with empty bins, from a fixed LCG.
        let mut s = 7u32;
        let hist: Vec<f64> = (0..300)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let v = f64::from(s >> 24);
                if v < 60.0 {
                    0.0
                } else {
                    v
                }
            })
            .collect();
        let pre = Prefix::of(&hist);
        for n_quant in [1, 4, 16] {
            for i in n_quant..=hist.len() {
                let (fast, slow) = (
                    divergence(&hist, &pre, i, n_quant),
                    naive(&hist, i, n_quant),
                );
                assert!(
                    fast == slow || (fast - slow).abs() <= 1e-9 * slow.abs().max(1e-6),
                    "i {i} n_q {n_quant}: {fast} vs {slow}"
                );
            }
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn clips_heavy_tails_and_keeps_bounded_data() {
        let t = generate(Distribution::StudentT { nu: 2.0 }, 100_000, 3).unwrap_or_default();
        let amax = t.iter().fold(0f32, |m, x| m.max(x.abs()));
        let th = kl_threshold(&t, 8, Signedness::Signed, None).unwrap_or(0.0);
        assert!(
            th > 0.0 && th < amax / 4.0,
            "heavy tails are clipped: {th} of {amax}"
        );
        let u = generate(Distribution::Uniform, 100_000, 3).unwrap_or_default();
        let umax = u.iter().fold(0f32, |m, x| m.max(x.abs()));
        let th = kl_threshold(&u, 8, Signedness::Signed, None).unwrap_or(0.0);
        assert!(
            th > 0.9 * umax,
            "uniform data keeps most of its range: {th} of {umax}"
        );
        assert_eq!(kl_threshold(&[f32::NAN], 8, Signedness::Signed, None), None);
        assert_eq!(kl_threshold(&[0.0], 8, Signedness::Signed, None), Some(0.0));
    }
}
