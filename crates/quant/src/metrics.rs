//! Error metrics of a reconstruction r̂ against the original r, over finite values only.
//!
//! ```text
//! d_i  = r_i − r̂_i,  n = number of finite values
//! MSE  = Σ d_i² / n                      RMSE = √MSE
//! SQNR = 10 · log10(Σ r_i² / Σ d_i²) dB  (+∞ when the reconstruction is exact)
//! max abs error = max |d_i|              mean abs error = Σ |d_i| / n
//! cosine = Σ r_i r̂_i / (√Σ r_i² · √Σ r̂_i²)   (1 when both are all zero)
//! clipped fraction = (values whose code was clamped to qmin or qmax) / n
//! clipping MSE = Σ d_i² over the clipped values / n: the part of the MSE from outside the range;
//!                MSE − clipping MSE is the rounding error of the values inside it
//! levels used = distinct values the codes that occur stand for (±0 once), of levels available
//! code entropy H = −Σ_q p_q log2 p_q over the code frequencies p_q, in bits
//! bits per value = b + n_groups · (32 + z_bits) / N
//! overflowed = finite r_i whose r̂_i is ±Inf or NaN (the format cannot hold them)
//! ```
//! An overflowed value is left out of n and of every sum; when there is one, MSE, RMSE, max and
//! mean abs error are +∞ and SQNR −∞ (its error is unbounded), and the cosine describes the others.
//! where N counts every value (a stored tensor keeps its NaNs too), the scale is stored as f32
//! (32 bits) and the zero-point takes b bits for asymmetric schemes and none for symmetric ones.
//! Sums are accumulated in f64.

use serde::{Deserialize, Serialize};

/// All metrics of one quantization.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Finite values measured.
    pub n: usize,
    pub mse: f64,
    pub rmse: f64,
    pub sqnr_db: f64,
    pub max_abs_error: f64,
    pub mean_abs_error: f64,
    pub cosine_similarity: f64,
    pub clipped_fraction: f64,
    pub levels_used: usize,
    pub code_entropy_bits: f64,
    pub bits_per_value: f64,
    /// Finite values whose reconstruction is ±Inf or NaN (see the module docs).
    #[serde(default)]
    pub overflowed: usize,
    /// Distinct values a code can stand for (±0 once): what `levels_used` is counted against.
    #[serde(default)]
    pub levels_available: usize,
    /// The part of `mse` from clipped values (see the module docs); `None` where the pass does
    /// not measure it (the block and small-group passes, where it cost a quarter of their time).
    #[serde(default)]
    pub clipping_mse: Option<f64>,
}

impl Metrics {
    /// The metrics from the error sums, the code counts (levels used, entropy) and the bits per
    /// value the caller worked out for its format.
    pub fn from_parts(acc: &ErrorAccumulator, code_counts: &[u64], bits_per_value: f64) -> Self {
        let e = acc.finish();
        let (levels_used, code_entropy_bits) = code_usage(code_counts);
        Self {
            n: e.n,
            mse: e.mse,
            rmse: e.rmse,
            sqnr_db: e.sqnr_db,
            max_abs_error: e.max_abs_error,
            mean_abs_error: e.mean_abs_error,
            cosine_similarity: e.cosine_similarity,
            clipped_fraction: e.clipped_fraction,
            levels_used,
            code_entropy_bits,
            bits_per_value,
            overflowed: e.overflowed,
            levels_available: code_counts.len(),
            clipping_mse: e.clipping_mse,
        }
    }

    /// These metrics with "levels used" counted by value: each pair of `twins` (codes of one
    /// value, such as ±0) counts once; `available` distinct values exist.
    pub fn counting_values(
        mut self,
        code_counts: &[u64],
        twins: &[(usize, usize)],
        available: usize,
    ) -> Self {
        let used = |c: usize| code_counts.get(c).is_some_and(|&n| n > 0);
        let both = twins.iter().filter(|&&(a, b)| used(a) && used(b)).count();
        self.levels_used -= both.min(self.levels_used);
        self.levels_available = available;
        self
    }
}

/// Independent partial sums in the accumulator: element i goes to lane i mod LANES (or a block of
/// LANES values at once), which breaks the loop-carried dependency of a single running sum and lets
/// the compiler use SIMD.
pub const LANES: usize = 8;

/// Running sums for the error metrics; `add` one pair at a time, then `finish`. Sums of separate
/// parts [`merge`](Self::merge) into the sums of the whole (the parallel shares of an analysis).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorAccumulator {
    n: usize,
    clipped: usize,
    overflowed: usize,
    pub(crate) sum_sq_err: [f64; LANES],
    pub(crate) sum_abs_err: [f64; LANES],
    pub(crate) max_abs_err: [f64; LANES],
    pub(crate) sum_sq_ref: [f64; LANES],
    pub(crate) dot: [f64; LANES],
    #[serde(default)]
    pub(crate) sum_sq_clip: [f64; LANES],
    /// Some values were added without their clipping error (see [`add_block_sums`]): the split
    /// is unknown.
    ///
    /// [`add_block_sums`]: Self::add_block_sums
    #[serde(default)]
    pub(crate) unsplit: bool,
}

/// The error part of [`Metrics`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ErrorMetrics {
    pub n: usize,
    pub mse: f64,
    pub rmse: f64,
    pub sqnr_db: f64,
    pub max_abs_error: f64,
    pub mean_abs_error: f64,
    pub cosine_similarity: f64,
    pub clipped_fraction: f64,
    pub overflowed: usize,
    /// `None` where the pass did not split the error (see [`ErrorAccumulator::add_block_sums`]).
    pub clipping_mse: Option<f64>,
}

impl ErrorAccumulator {
    /// Adds one pair with a finite `r`; a non-finite `r_hat` is counted as overflowed.
    #[inline]
    pub fn add(&mut self, r: f32, r_hat: f32, clipped: bool) {
        if !r_hat.is_finite() {
            self.overflowed += 1;
            return;
        }
        let (r, q) = (f64::from(r), f64::from(r_hat));
        let d = r - q;
        let k = self.n % LANES;
        self.n += 1;
        self.clipped += usize::from(clipped);
        self.sum_sq_err[k] += d * d;
        self.sum_abs_err[k] += d.abs();
        if d.abs() > self.max_abs_err[k] {
            self.max_abs_err[k] = d.abs();
        }
        self.sum_sq_ref[k] += r * r;
        self.dot[k] += r * q;
        if clipped {
            self.sum_sq_clip[k] += d * d;
        }
    }

    /// Adds the sums of a block of LANES pairs at once (the vectorisable path); lanes with
    /// `finite[k] == false` contribute nothing. The counts of values and clipped values are added
    /// separately ([`add_counts`](Self::add_counts)), so the caller can keep them in integer lanes.
    /// With `SPLIT` the clipped lanes' error is summed apart too (`clipped` is read only then).
    #[inline(always)]
    pub fn add_block_sums<const SPLIT: bool>(
        &mut self,
        r: &[f32; LANES],
        r_hat: &[f32; LANES],
        finite: &[bool; LANES],
        clipped: &[bool; LANES],
    ) {
        for k in 0..LANES {
            let (rv, qv) = if finite[k] {
                (f64::from(r[k]), f64::from(r_hat[k]))
            } else {
                (0.0, 0.0)
            };
            let d = rv - qv;
            self.sum_sq_err[k] += d * d;
            self.sum_abs_err[k] += d.abs();
            self.max_abs_err[k] = if d.abs() > self.max_abs_err[k] {
                d.abs()
            } else {
                self.max_abs_err[k]
            };
            self.sum_sq_ref[k] += rv * rv;
            self.dot[k] += rv * qv;
            if SPLIT {
                self.sum_sq_clip[k] += if finite[k] & clipped[k] { d * d } else { 0.0 };
            }
        }
        if !SPLIT {
            self.unsplit = true;
        }
    }

    /// Says that values were added without their clipping error (the split is unknown).
    pub fn mark_unsplit(&mut self) {
        self.unsplit = true;
    }

    /// Adds `n` values of which `clipped` were clipped (with [`add_block_sums`](Self::add_block_sums)).
    pub fn add_counts(&mut self, n: usize, clipped: usize) {
        self.n += n;
        self.clipped += clipped;
    }

    /// Adds `n` values whose reconstruction overflowed (with [`add_block_sums`](Self::add_block_sums)).
    pub fn add_overflowed(&mut self, n: usize) {
        self.overflowed += n;
    }

    /// Adds the sums of `other` (lane by lane).
    pub fn merge(&mut self, other: &Self) {
        self.n += other.n;
        self.clipped += other.clipped;
        self.overflowed += other.overflowed;
        self.unsplit |= other.unsplit;
        for k in 0..LANES {
            self.sum_sq_err[k] += other.sum_sq_err[k];
            self.sum_abs_err[k] += other.sum_abs_err[k];
            self.max_abs_err[k] = self.max_abs_err[k].max(other.max_abs_err[k]);
            self.sum_sq_ref[k] += other.sum_sq_ref[k];
            self.dot[k] += other.dot[k];
            self.sum_sq_clip[k] += other.sum_sq_clip[k];
        }
    }

    /// The metrics of everything added so far (all zero for no values).
    pub fn finish(&self) -> ErrorMetrics {
        let total = |lanes: &[f64; LANES]| lanes.iter().sum::<f64>();
        let (sum_sq_err, sum_abs_err, sum_sq_ref, dot) = (
            total(&self.sum_sq_err),
            total(&self.sum_abs_err),
            total(&self.sum_sq_ref),
            total(&self.dot),
        );
        // Σr̂² = Σ(r − d)² = Σd² − Σr² + 2Σr·r̂ (one sum less in the hot loop; every term is a
        // sum of non-negative or large values, so nothing cancels badly).
        let sum_sq_out = (sum_sq_err - sum_sq_ref + 2.0 * dot).max(0.0);
        let max_abs_err = self.max_abs_err.iter().copied().fold(0.0, f64::max);
        let n = self.n.max(1) as f64;
        let unbounded = self.overflowed > 0;
        let mse = if unbounded {
            f64::INFINITY
        } else {
            sum_sq_err / n
        };
        let sqnr_db = if unbounded {
            f64::NEG_INFINITY
        } else if sum_sq_err == 0.0 {
            f64::INFINITY
        } else {
            10.0 * (sum_sq_ref / sum_sq_err).log10()
        };
        let norms = sum_sq_ref.sqrt() * sum_sq_out.sqrt();
        let cosine_similarity = if unbounded && self.n == 0 {
            0.0 // nothing was measured
        } else if norms > 0.0 {
            // |cos| ≤ 1 exactly; the sums' rounding may step past it.
            (dot / norms).clamp(-1.0, 1.0)
        } else if sum_sq_ref == sum_sq_out {
            1.0
        } else {
            0.0
        };
        let (max_abs_error, mean_abs_error) = if unbounded {
            (f64::INFINITY, f64::INFINITY)
        } else {
            (max_abs_err, sum_abs_err / n)
        };
        ErrorMetrics {
            n: self.n,
            mse,
            rmse: mse.sqrt(),
            sqnr_db,
            max_abs_error,
            mean_abs_error,
            cosine_similarity,
            clipped_fraction: self.clipped as f64 / n,
            overflowed: self.overflowed,
            clipping_mse: if self.unsplit {
                None
            } else if unbounded {
                Some(f64::INFINITY)
            } else {
                Some(total(&self.sum_sq_clip) / n)
            },
        }
    }
}

/// (levels used, Shannon entropy in bits) of code counts.
pub fn code_usage(counts: &[u64]) -> (usize, f64) {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return (0, 0.0);
    }
    let total = total as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .fold((0, 0.0), |(used, h), &c| {
            let p = c as f64 / total;
            (used + 1, h - p * p.log2())
        })
}

/// Bits per stored value: b plus the per-group parameters spread over all `n_values`.
pub fn bits_per_value(
    bits: u8,
    n_groups: usize,
    param_bits_per_group: u32,
    n_values: usize,
) -> f64 {
    f64::from(bits) + (n_groups as f64 * f64::from(param_bits_per_group)) / n_values.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn error_metrics_match_a_hand_calculation() {
        // r = [1, -2, 3, 0], r̂ = [1, -1.5, 2, 0.5]; d = [0, -0.5, 1, -0.5]
        let mut acc = ErrorAccumulator::default();
        for (r, q, c) in [
            (1.0, 1.0, false),
            (-2.0, -1.5, false),
            (3.0, 2.0, true),
            (0.0, 0.5, false),
        ] {
            acc.add(r, q, c);
        }
        let m = acc.finish();
        assert_eq!(m.n, 4);
        // Σd² = 0 + 0.25 + 1 + 0.25 = 1.5 → MSE 0.375, RMSE √0.375
        assert_eq!(m.mse, 0.375);
        assert_eq!(m.rmse, 0.375f64.sqrt());
        // Σr² = 1 + 4 + 9 = 14 → SQNR = 10 log10(14 / 1.5) = 9.70037...
        assert!(
            (m.sqnr_db - 9.700_367_766_827_8).abs() < 1e-9,
            "{}",
            m.sqnr_db
        );
        assert_eq!(m.max_abs_error, 1.0);
        assert_eq!(m.mean_abs_error, 2.0 / 4.0);
        // Σr r̂ = 1 + 3 + 6 + 0 = 10; Σr̂² = 1 + 2.25 + 4 + 0.25 = 7.5 → 10 / √(14 · 7.5)
        assert!((m.cosine_similarity - 10.0 / (14.0f64 * 7.5).sqrt()).abs() < 1e-12);
        assert_eq!(m.clipped_fraction, 0.25);
        // The clipped value's d² = 1 alone: 1 / 4.
        assert_eq!(m.clipping_mse, Some(0.25));
        // The block form gives the same sums.
        let mut block = ErrorAccumulator::default();
        let mut r = [0f32; LANES];
        let mut q = [0f32; LANES];
        let (mut finite, mut clipped) = ([false; LANES], [false; LANES]);
        for (k, (rv, qv, c)) in [
            (1.0, 1.0, false),
            (-2.0, -1.5, false),
            (3.0, 2.0, true),
            (0.0, 0.5, false),
        ]
        .into_iter()
        .enumerate()
        {
            (r[k], q[k], finite[k], clipped[k]) = (rv, qv, true, c);
        }
        // A masked lane marked clipped adds nothing.
        (r[5], q[5], clipped[5]) = (9.0, 0.0, true);
        let mut unsplit = block;
        block.add_block_sums::<true>(&r, &q, &finite, &clipped);
        block.add_counts(4, 1);
        let b = block.finish();
        assert_eq!((b.mse, b.clipping_mse), (0.375, Some(0.25)));
        // Without the split the figure is unknown, and stays so when merged.
        unsplit.add_block_sums::<false>(&r, &q, &finite, &clipped);
        unsplit.add_counts(4, 1);
        assert_eq!(unsplit.finish().clipping_mse, None);
        block.merge(&unsplit);
        assert_eq!(block.finish().clipping_mse, None);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn exact_reconstruction_has_infinite_sqnr() {
        let mut acc = ErrorAccumulator::default();
        acc.add(0.0, 0.0, false);
        acc.add(0.0, 0.0, false);
        let m = acc.finish();
        assert_eq!(m.sqnr_db, f64::INFINITY);
        assert_eq!(m.cosine_similarity, 1.0);
        assert_eq!(m.mse, 0.0);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn an_overflowed_reconstruction_makes_the_error_unbounded() {
        // r = [1, 2, 3], r̂ = [1, +Inf, 2]: the Inf is counted, not summed.
        let mut acc = ErrorAccumulator::default();
        acc.add(1.0, 1.0, false);
        acc.add(2.0, f32::INFINITY, true);
        acc.add(3.0, 2.0, false);
        let m = acc.finish();
        assert_eq!((m.n, m.overflowed), (2, 1));
        assert_eq!(m.mse, f64::INFINITY);
        assert_eq!(m.sqnr_db, f64::NEG_INFINITY);
        assert_eq!(m.max_abs_error, f64::INFINITY);
        // The cosine of the measured pairs: (1 + 6) / (√10 · √5)
        assert!((m.cosine_similarity - 7.0 / (10.0f64 * 5.0).sqrt()).abs() < 1e-12);
        assert_eq!(m.clipped_fraction, 0.0);
        let mut nan = ErrorAccumulator::default();
        nan.add(0.0, f32::NAN, false);
        assert_eq!(nan.finish().overflowed, 1);
        assert!(!nan.finish().cosine_similarity.is_nan());
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn code_entropy_and_usage() {
        assert_eq!(code_usage(&[0, 5, 0, 5]), (2, 1.0));
        assert_eq!(code_usage(&[4, 0, 0, 0]), (1, 0.0));
        // p = [1/2, 1/4, 1/4] → H = 1.5 bits
        assert_eq!(code_usage(&[2, 1, 1]), (3, 1.5));
        assert_eq!(code_usage(&[0, 0]), (0, 0.0));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn bits_per_value_counts_the_parameters() {
        // int4, groups of 32, f32 scale + 4-bit zero-point: 4 + 36/32 = 5.125
        assert_eq!(bits_per_value(4, 4, 36, 128), 5.125);
        assert_eq!(
            bits_per_value(8, 1, 32, 1 << 20),
            8.0 + 32.0 / f64::from(1u32 << 20)
        );
    }
}
