//! MSE-optimal clipping: the range [α, β] that minimises Σ (r − Q(r))² over this data.
//!
//! ```text
//! MSE(α, β) ≈ Σ_b n_b · (c_b − Q_{α,β}(c_b))²      (n_b values in bin b with centre c_b)
//! ```
//! One O(n) pass builds a histogram of [min, max] (`MSE_BINS` bins; a group with fewer values than
//! that is used value by value, exactly); every candidate then costs O(bins). The search:
//! - symmetric: a scan of `SCAN` candidates a ∈ (0, max|x|], then golden-section refinement in the
//!   bracket around the best;
//! - asymmetric: the same on a common shrink factor (α, β) = t·(min, max), then coordinate descent —
//!   scan and refine α with β fixed, then β with α fixed — for `ROUNDS` rounds, the later ones
//!   scanning only near the current ends.
//!
//! Within a bin every value is treated as its centre, so the result is an approximation of the true
//! optimum; the tests compare it with a brute-force search on the raw values (within 0.5 %).

use crate::affine::{round_half_even, AffineParams, IntGrid, Scheme};
use crate::metrics::LANES;

/// Histogram bins of the MSE search.
pub const MSE_BINS: usize = 4096;
/// Candidates in each scan.
const SCAN: usize = 96;
/// Golden-section steps after each scan.
const REFINE: usize = 24;
/// Coordinate-descent rounds (asymmetric).
const ROUNDS: usize = 3;
/// Candidates in the local scans of the later rounds.
const LOCAL_SCAN: usize = 12;

/// Weighted points (value, count) standing for the data.
struct Points {
    xs: Vec<f32>,
    ws: Vec<f64>,
    /// Every weight is 1 (the raw values of a small group).
    unit_weights: bool,
}

impl Points {
    fn of(values: &[f32], lo: f32, hi: f32) -> Self {
        let exact = || {
            let xs: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
            let ws = vec![1.0; xs.len()];
            Self {
                xs,
                ws,
                unit_weights: true,
            }
        };
        if values.len() <= MSE_BINS || hi <= lo {
            return exact();
        }
        let h = crate::histogram::Histogram::of(values, lo, hi, MSE_BINS, false);
        // Few finite values among many NaN/Inf: value by value after all (the histogram counted
        // the finite ones, so no separate pass is needed to find out).
        if h.total() <= MSE_BINS as u64 {
            return exact();
        }
        let (xs, ws) = h
            .counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| (h.bin_center(i), c as f64))
            .unzip();
        Self {
            xs,
            ws,
            unit_weights: false,
        }
    }

    /// Σ w · γ_x · (x − Q(x))² for the clipping range [lo, hi], where γ_x = `gamma` for values that
    /// are clipped and 1 otherwise (γ = 1: the plain squared error).
    fn sse(&self, lo: f32, hi: f32, config: IntGrid, gamma: f64) -> f64 {
        // One monomorphised loop per case, so the common ones (raw values of a small group, plain
        // MSE) carry no multiplications by 1.
        match (self.unit_weights, gamma == 1.0) {
            (true, true) => self.sse_with::<false, false>(lo, hi, config, gamma),
            (true, false) => self.sse_with::<false, true>(lo, hi, config, gamma),
            (false, true) => self.sse_with::<true, false>(lo, hi, config, gamma),
            (false, false) => self.sse_with::<true, true>(lo, hi, config, gamma),
        }
    }

    #[inline(always)]
    fn sse_with<const WEIGHTED: bool, const GAMMA: bool>(
        &self,
        lo: f32,
        hi: f32,
        config: IntGrid,
        gamma: f64,
    ) -> f64 {
        let p = AffineParams::from_range(lo, hi, config);
        // Called for every candidate of every group, so it dominates per-channel MSE calibration:
        // the shared quantizer arithmetic (`Coder`) inlined, no per-value rounding-mode dispatch,
        // and LANES independent partial sums instead of one serial chain of additions.
        let coder = p.coder(p.inv_scale());
        let mut sums = [0f64; LANES];
        let mut xs = self.xs.chunks_exact(LANES);
        let mut ws = self.ws.chunks_exact(LANES);
        let term = |x: f32, w: f64| {
            let (r_hat, clipped) = coder.real(x, round_half_even);
            let d = f64::from(x - r_hat);
            let mut e = d * d;
            if GAMMA && clipped {
                e *= gamma;
            }
            if WEIGHTED {
                e *= w;
            }
            e
        };
        for (x, w) in (&mut xs).zip(&mut ws) {
            for k in 0..LANES {
                sums[k] += term(x[k], w[k]);
            }
        }
        for (k, (&x, &w)) in xs.remainder().iter().zip(ws.remainder()).enumerate() {
            sums[k] += term(x, w);
        }
        sums.iter().sum()
    }
}

/// The t in [lo, hi] minimising `f`: a scan, then golden-section search around the best scan point.
fn minimise(lo: f64, hi: f64, f: impl Fn(f64) -> f64) -> f64 {
    minimise_with(lo, hi, SCAN, f)
}

/// [`minimise`] within `radius` of `center` (clamped to [lo, hi]) with a shorter scan: the
/// coordinate-descent rounds after the first, which move each end only a little.
fn minimise_near(lo: f64, hi: f64, center: f64, radius: f64, f: impl Fn(f64) -> f64) -> f64 {
    minimise_with(
        (center - radius).max(lo),
        (center + radius).min(hi),
        LOCAL_SCAN,
        f,
    )
}

fn minimise_with(lo: f64, hi: f64, scan: usize, f: impl Fn(f64) -> f64) -> f64 {
    let step = (hi - lo) / scan as f64;
    let (mut best_t, mut best) = (hi, f(hi));
    for k in 1..scan {
        let t = lo + step * k as f64;
        let v = f(t);
        if v < best {
            (best_t, best) = (t, v);
        }
    }
    let (mut a, mut b) = ((best_t - step).max(lo), (best_t + step).min(hi));
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..REFINE {
        if fc < fd {
            (b, d, fd) = (d, c, fc);
            c = b - g * (b - a);
            fc = f(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    let (t, v) = if fc < fd { (c, fc) } else { (d, fd) };
    if v < best {
        t
    } else {
        best_t
    }
}

/// The MSE-optimal clipping range of `values` (NaN/Inf skipped), or `None` without finite values.
/// `known` is the finite (min, max) when the caller already has it (it saves a pass).
pub fn mse_range(
    values: &[f32],
    grid: impl Into<IntGrid>,
    known: Option<(f32, f32)>,
) -> Option<(f32, f32)> {
    weighted_range(values, grid.into(), known, 1.0)
}

/// AIMET-style SQNR calibration: the range minimising the quantization noise with the noise of
/// clipped values weighted by γ (AIMET's default γ = 3 protects the outliers more than MSE does;
/// γ = 1 is the MSE-optimal clip). Same search as [`mse_range`].
pub fn sqnr_range(
    values: &[f32],
    grid: impl Into<IntGrid>,
    known: Option<(f32, f32)>,
    gamma: f64,
) -> Option<(f32, f32)> {
    weighted_range(values, grid.into(), known, gamma)
}

fn weighted_range(
    values: &[f32],
    config: IntGrid,
    known: Option<(f32, f32)>,
    gamma: f64,
) -> Option<(f32, f32)> {
    let (min, max) = known.or_else(|| super::finite_min_max(values))?;
    let pts = Points::of(values, min, max);
    match config.scheme {
        Scheme::Symmetric => {
            let amax = f64::from(min.abs().max(max.abs()));
            if amax == 0.0 {
                return Some((0.0, 0.0));
            }
            let a = minimise(amax * 1e-3, amax, |a| {
                pts.sse(-a as f32, a as f32, config, gamma)
            }) as f32;
            Some((-a, a))
        }
        Scheme::Asymmetric => {
            // Both ends are moved toward 0 (the range always contains 0).
            let (lo0, hi0) = (f64::from(min.min(0.0)), f64::from(max.max(0.0)));
            if hi0 - lo0 == 0.0 {
                return Some((0.0, 0.0));
            }
            let t = minimise(1e-3, 1.0, |t| {
                pts.sse((lo0 * t) as f32, (hi0 * t) as f32, config, gamma)
            });
            let (mut lo, mut hi) = (lo0 * t, hi0 * t);
            // The first round scans each end over its whole range; later rounds only near
            // where it is (a few steps of the first scan either side).
            let radius = 4.0 / SCAN as f64;
            for round in 0..ROUNDS {
                let search = |current: f64, f: &dyn Fn(f64) -> f64| {
                    if round == 0 {
                        minimise(1e-3, 1.0, f)
                    } else {
                        minimise_near(1e-3, 1.0, current, radius, f)
                    }
                };
                if lo0 < 0.0 {
                    lo = lo0
                        * search(lo / lo0, &|u| {
                            pts.sse((lo0 * u) as f32, hi as f32, config, gamma)
                        });
                }
                if hi0 > 0.0 {
                    hi = hi0
                        * search(hi / hi0, &|v| {
                            pts.sse(lo as f32, (hi0 * v) as f32, config, gamma)
                        });
                }
            }
            Some(polish_zero_point(
                &pts,
                config,
                gamma,
                (lo as f32, hi as f32),
            ))
        }
    }
}

/// The last step of the asymmetric search, in (S, Z) rather than (α, β): moving one end at a
/// time changes the scale with it, so it cannot step to a neighbouring zero point at a similar
/// scale — where the optimum of a small group sometimes is (a test found 1.6 % above a
/// brute-force grid before this step). For each Z within 2 of the found one, a local search over
/// S in [S/1.5, 1.5 S] with α = S (qmin − Z), β = S (qmax − Z); the best range wins.
fn polish_zero_point(
    pts: &Points,
    config: IntGrid,
    gamma: f64,
    (lo, hi): (f32, f32),
) -> (f32, f32) {
    let p = AffineParams::from_range(lo, hi, config);
    let mut best = (pts.sse(lo, hi, config, gamma), lo, hi);
    let s = f64::from(p.scale);
    for z in (p.zero_point - 2).max(p.qmin)..=(p.zero_point + 2).min(p.qmax) {
        let range = |s: f64| {
            (
                (f64::from(p.qmin - z) * s) as f32,
                (f64::from(p.qmax - z) * s) as f32,
            )
        };
        let err = |s: f64| {
            let (a, b) = range(s);
            pts.sse(a, b, config, gamma)
        };
        let s_z = minimise_with(s / 1.5, s * 1.5, LOCAL_SCAN, err);
        let e = err(s_z);
        if e < best.0 {
            let (a, b) = range(s_z);
            best = (e, a, b);
        }
    }
    (best.1, best.2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::QuantizerConfig;
    #[cfg(not(target_arch = "wasm32"))]
    use crate::config::{Rounding, Signedness};
    use crate::synth::{generate, Distribution};

    /// Exact Σ (r − Q(r))² on the raw values.
    #[cfg(not(target_arch = "wasm32"))]
    fn exact_sse(values: &[f32], lo: f32, hi: f32, c: &QuantizerConfig) -> f64 {
        let p = AffineParams::from_range(lo, hi, c);
        values
            .iter()
            .map(|&r| {
                let (q, _) = p.code_from_real(r, p.inv_scale(), Rounding::NearestEven, 0.0);
                f64::from(r - p.real_from_code(q)).powi(2)
            })
            .sum()
    }

    /// The least exact error over a 150 × 150 grid of ranges (α, β) = (i·min/150, j·max/150).
    #[cfg(not(target_arch = "wasm32"))]
    fn brute_force_asymmetric(values: &[f32], c: &QuantizerConfig) -> f64 {
        let (min, max) = super::super::finite_min_max(values).unwrap_or((0.0, 0.0));
        let mut brute = f64::INFINITY;
        for i in 1..=150 {
            for j in 1..=150 {
                let (a, b) = (min * i as f32 / 150.0, max * j as f32 / 150.0);
                brute = brute.min(exact_sse(values, a, b, c));
            }
        }
        brute
    }

    // Native only: the brute-force reference takes minutes in a browser.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn symmetric_clip_is_within_half_a_percent_of_brute_force() {
        for (dist, bits) in [
            (Distribution::Laplace, 4u8),
            (Distribution::StudentT { nu: 3.0 }, 3),
            (Distribution::Normal, 8),
        ] {
            let v = generate(dist, 20_000, 5).unwrap_or_default();
            let c = QuantizerConfig {
                bits,
                scheme: Scheme::Symmetric,
                ..Default::default()
            };
            let (lo, hi) = mse_range(&v, &c, None).unwrap_or((0.0, 0.0));
            let found = exact_sse(&v, lo, hi, &c);
            let amax = v.iter().fold(0f32, |m, x| m.max(x.abs()));
            let brute = (1..=4000)
                .map(|k| amax * k as f32 / 4000.0)
                .map(|a| exact_sse(&v, -a, a, &c))
                .fold(f64::INFINITY, f64::min);
            assert!(
                found <= brute * 1.005,
                "{dist:?} {bits} bits: {found} vs brute {brute}"
            );
            let minmax = exact_sse(&v, -amax, amax, &c);
            assert!(found < minmax, "MSE clipping beats min-max on {dist:?}");
        }
    }

    // Native only: the brute-force reference takes minutes in a browser.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn asymmetric_clip_is_within_half_a_percent_of_brute_force() {
        let v: Vec<f32> = generate(Distribution::LogNormal { sigma: 0.8 }, 20_000, 9)
            .unwrap_or_default()
            .into_iter()
            .map(|x| x - 1.0)
            .collect();
        let c = QuantizerConfig {
            bits: 4,
            signedness: Signedness::Unsigned,
            ..Default::default()
        };
        let (lo, hi) = mse_range(&v, &c, None).unwrap_or((0.0, 0.0));
        let found = exact_sse(&v, lo, hi, &c);
        let brute = brute_force_asymmetric(&v, &c);
        assert!(found <= brute * 1.005, "{found} vs brute {brute}");
    }

    // Native only: the brute-force reference takes minutes in a browser.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn small_asymmetric_groups_are_within_half_a_percent_of_brute_force() {
        // One channel of a weight matrix: a few hundred raw values (no histogram), skewed; signed
        // and unsigned codes, 2 to 8 bits.
        // (2, 3 bits, signed) is the case that needed the zero-point polish.
        let cases = (0..16u64)
            .map(|seed| (seed, 2 + (seed % 7) as u8))
            .chain([(2, 3), (18, 3)]);
        for (seed, bits) in cases {
            let v: Vec<f32> = generate(Distribution::StudentT { nu: 3.0 }, 384, seed)
                .unwrap_or_default()
                .into_iter()
                .map(|x| if x > 0.0 { x * 1.7 } else { x })
                .collect();
            let c = QuantizerConfig {
                bits,
                signedness: if seed % 2 == 0 {
                    Signedness::Signed
                } else {
                    Signedness::Unsigned
                },
                ..Default::default()
            };
            let (lo, hi) = mse_range(&v, &c, None).unwrap_or((0.0, 0.0));
            let found = exact_sse(&v, lo, hi, &c);
            let brute = brute_force_asymmetric(&v, &c);
            assert!(
                found <= brute * 1.005,
                "seed {seed}, {bits} bits: {found} vs brute {brute}"
            );
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn a_larger_gamma_clips_less() {
        let v = generate(Distribution::StudentT { nu: 3.0 }, 20_000, 1).unwrap_or_default();
        let c = QuantizerConfig {
            bits: 4,
            scheme: Scheme::Symmetric,
            ..Default::default()
        };
        let (_, mse_hi) = mse_range(&v, &c, None).unwrap_or((0.0, 0.0));
        let (_, g1_hi) = sqnr_range(&v, &c, None, 1.0).unwrap_or((0.0, 0.0));
        let (_, g3_hi) = sqnr_range(&v, &c, None, 3.0).unwrap_or((0.0, 0.0));
        let (_, g30_hi) = sqnr_range(&v, &c, None, 30.0).unwrap_or((0.0, 0.0));
        assert_eq!(mse_hi, g1_hi, "γ = 1 is the MSE clip");
        assert!(
            mse_hi < g3_hi && g3_hi < g30_hi,
            "{mse_hi} < {g3_hi} < {g30_hi}"
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn degenerate_inputs() {
        let c = QuantizerConfig::default();
        assert_eq!(mse_range(&[f32::NAN], &c, None), None);
        assert_eq!(mse_range(&[0.0, 0.0], &c, None), Some((0.0, 0.0)));
        let r = mse_range(&[2.0; 10], &c, None).unwrap_or((0.0, 0.0));
        assert!(r.1 > 0.0 && r.1 <= 2.0);
    }
}
