//! Percentile calibration with exact order statistics.
//!
//! ```text
//! P_p(x) = x_(k) + f · (x_(k+1) − x_(k)),   h = p/100 · (n − 1),  k = ⌊h⌋,  f = h − k
//! ```
//! where x_(k) is the k-th smallest finite value (0-based) — `numpy.percentile`'s default "linear"
//! method. Selection (`select_nth_unstable`) makes it O(n) on a copy of the finite values.
//!
//! symmetric:  β = P_p(|x|), α = −β
//! asymmetric: α = P_(100−p)(x), β = P_p(x)
//!
//! Large inputs (more than [`NARROW_ABOVE`] values) are narrowed first, still exactly: a histogram
//! pass finds the bins that hold ranks k and k + 1 — binning is monotone, so every value in a lower
//! bin is ≤ every value in a higher one — and only the values of those bins are copied and
//! selected from, at rank k minus the count below. Two passes over the data and a small copy instead
//! of a copy of everything and a selection over it (16M values: see docs/performance.md).

use crate::affine::Scheme;
use crate::histogram::Histogram;

/// Inputs longer than this are narrowed with a histogram before selecting.
pub const NARROW_ABOVE: usize = 1 << 16;
/// Bins of the narrowing histogram.
const NARROW_BINS: usize = 4096;

/// The p-th percentile (0 ≤ p ≤ 100) of `values` with linear interpolation; reorders the slice.
/// `values` must be non-empty and finite.
pub fn percentile_linear(values: &mut [f32], p: f64) -> f32 {
    let (k, f) = rank(values.len(), p);
    interpolate_at(values, k, f)
}

/// The 0-based rank k and the fraction f of the p-th percentile of n values.
fn rank(n: usize, p: f64) -> (usize, f64) {
    let h = (p / 100.0).clamp(0.0, 1.0) * (n - 1) as f64;
    let k = h.floor() as usize;
    (k, h - k as f64)
}

/// x_(k) + f · (x_(k+1) − x_(k)) over `values` (non-empty, finite, k < len); reorders the slice.
fn interpolate_at(values: &mut [f32], k: usize, f: f64) -> f32 {
    let (_, &mut lo, upper) = values.select_nth_unstable_by(k, f32::total_cmp);
    if f == 0.0 || upper.is_empty() {
        return lo;
    }
    // The (k+1)-th smallest is the minimum of the part above k.
    let hi = upper.iter().copied().fold(f32::INFINITY, f32::min);
    (f64::from(lo) + f * (f64::from(hi) - f64::from(lo))) as f32
}

/// The finite values of `values` (their magnitudes with `abs`).
fn finite(values: &[f32], abs: bool) -> impl Iterator<Item = f32> + '_ {
    values
        .iter()
        .map(move |&v| if abs { v.abs() } else { v })
        .filter(|v| v.is_finite())
}

/// The percentiles `ps` of the finite values of `values` (of |values| with `abs`), or `None`
/// without finite values. `range` bounds the finite values (min, max) when known (any range gives
/// exact results; a tight one narrows best).
fn percentiles(
    values: &[f32],
    ps: &[f64],
    abs: bool,
    range: Option<(f32, f32)>,
) -> Option<Vec<f32>> {
    if values.len() <= NARROW_ABOVE {
        let mut all: Vec<f32> = finite(values, abs).collect();
        if all.is_empty() {
            return None;
        }
        return Some(ps.iter().map(|&p| percentile_linear(&mut all, p)).collect());
    }
    let (lo, hi) = range.or_else(|| super::finite_min_max(values))?;
    let (lo, hi) = if abs {
        (0.0, lo.abs().max(hi.abs()))
    } else {
        (lo, hi)
    };
    let h = Histogram::of(values, lo, hi, NARROW_BINS, abs);
    let (_, binner) = Histogram::empty(lo, hi, NARROW_BINS);
    let n = h.total() as usize;
    if n == 0 {
        return None;
    }
    // below[b] = values in bins before b.
    let below: Vec<usize> = h
        .counts
        .iter()
        .scan(0usize, |acc, &c| {
            let before = *acc;
            *acc += c as usize;
            Some(before)
        })
        .collect();
    let bin_of_rank = |r: usize| below.partition_point(|&b| b <= r) - 1;
    // For each percentile: the bins holding ranks k and k + 1, and the values found there.
    let wanted: Vec<(usize, f64, usize, usize)> = ps
        .iter()
        .map(|&p| {
            let (k, f) = rank(n, p);
            (k, f, bin_of_rank(k), bin_of_rank((k + 1).min(n - 1)))
        })
        .collect();
    // A cheap test on the value first, over the bins widened by one on each side (binning's own
    // rounding moves a value by far less than a bin), then the exact bin. NaN fails every
    // comparison; ±Inf lies outside the finite range. The two windows are fixed (a single
    // percentile repeats its window) so the test compiles to a few vector compares.
    let width = (f64::from(h.hi) - f64::from(h.lo)) / NARROW_BINS as f64;
    let window = |i: usize| {
        let (_, _, first, last) = wanted[i.min(wanted.len() - 1)];
        let at = |b: f64| (f64::from(h.lo) + b * width) as f32;
        (at(first as f64 - 1.0), at(last as f64 + 2.0))
    };
    let windows = [window(0), window(1)];
    let mut picked: Vec<Vec<f32>> = vec![Vec::new(); ps.len()];
    let mut pick = |v: f32| {
        let bin = binner.bin(v);
        for (&(_, _, first, last), out) in wanted.iter().zip(&mut picked) {
            if (first..=last).contains(&bin) {
                out.push(v);
            }
        }
    };
    if abs {
        narrow_pass::<true>(values, windows, &mut pick);
    } else {
        narrow_pass::<false>(values, windows, &mut pick);
    }
    Some(
        wanted
            .iter()
            .zip(&mut picked)
            .map(|(&(k, f, first, _), vals)| interpolate_at(vals, k - below[first], f))
            .collect(),
    )
}

/// Calls `pick` with every value (its magnitude with `ABS`) inside one of the two windows.
fn narrow_pass<const ABS: bool>(
    values: &[f32],
    windows: [(f32, f32); 2],
    pick: &mut impl FnMut(f32),
) {
    let [(a0, b0), (a1, b1)] = windows;
    let inside = |v: f32| (v >= a0 && v <= b0) | (v >= a1 && v <= b1);
    let magnitude = |v: f32| if ABS { v.abs() } else { v };
    let mut blocks = values.chunks_exact(8);
    for block in &mut blocks {
        // Most blocks hold no candidate: one branch per block of eight.
        if block
            .iter()
            .fold(false, |any, &v| any | inside(magnitude(v)))
        {
            block
                .iter()
                .map(|&v| magnitude(v))
                .filter(|&v| inside(v))
                .for_each(&mut *pick);
        }
    }
    blocks
        .remainder()
        .iter()
        .map(|&v| magnitude(v))
        .filter(|&v| inside(v))
        .for_each(pick);
}

/// The clipping range for percentile `p` (see the module docs), or `None` without finite values.
/// `known` is the finite (min, max) of `values` when the caller has it (it saves large inputs a
/// pass).
pub fn percentile_range(
    values: &[f32],
    p: f64,
    scheme: Scheme,
    known: Option<(f32, f32)>,
) -> Option<(f32, f32)> {
    match scheme {
        Scheme::Symmetric => {
            let b = percentiles(values, &[p], true, known)?[0];
            Some((-b, b))
        }
        Scheme::Asymmetric => {
            let q = percentiles(values, &[p, 100.0 - p], false, known)?;
            let (hi, lo) = (q[0], q[1]);
            Some((lo.min(hi), hi.max(lo)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn matches_numpy_linear_percentile() {
        // np.percentile([1, 2, 3, 4, 10], 90) = 4 + 0.6 * 6 = 7.6
        let mut v = vec![10.0, 1.0, 4.0, 3.0, 2.0];
        assert!((percentile_linear(&mut v, 90.0) - 7.6).abs() < 1e-6);
        assert_eq!(percentile_linear(&mut v, 100.0), 10.0);
        assert_eq!(percentile_linear(&mut v, 0.0), 1.0);
        assert_eq!(percentile_linear(&mut v, 50.0), 3.0);
        let mut one = vec![5.0];
        assert_eq!(percentile_linear(&mut one, 99.0), 5.0);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn ranges_for_both_schemes() {
        let v: Vec<f32> = (0..=100).map(|i| i as f32 - 50.0).collect(); // -50..=50
        assert_eq!(
            percentile_range(&v, 90.0, Scheme::Asymmetric, None),
            Some((-40.0, 40.0))
        );
        // |x| has values 0,1,1,2,2,...,50,50 (101 values); 90th percentile at h = 90 → 45
        assert_eq!(
            percentile_range(&v, 90.0, Scheme::Symmetric, None),
            Some((-45.0, 45.0))
        );
        assert_eq!(
            percentile_range(&[f32::NAN], 90.0, Scheme::Symmetric, None),
            None
        );
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// The straightforward reading: every finite value copied, then selected.
    fn direct(values: &[f32], p: f64, abs: bool) -> Option<f32> {
        let mut all: Vec<f32> = finite(values, abs).collect();
        (!all.is_empty()).then(|| percentile_linear(&mut all, p))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Narrowing by histogram gives the same order statistics as selecting over everything —
        /// heavy tails, ties (values rounded to few distinct ones), NaN/Inf, any p, with or without
        /// a known range.
        #[test]
        fn narrowed_percentiles_equal_direct_selection(
            seed in any::<u64>(),
            extra in 1usize..5000,
            p in prop_oneof![Just(0.0), Just(100.0), Just(50.0), 90.0f64..100.0, 0.0f64..100.0],
            ties in any::<bool>(),
            specials in 0usize..50,
            known in any::<bool>(),
        ) {
            let n = NARROW_ABOVE + extra;
            let mut v = crate::synth::generate(crate::synth::Distribution::StudentT { nu: 2.0 }, n, seed)
                .unwrap_or_default();
            if ties {
                v.iter_mut().for_each(|x| *x = (*x * 4.0).round() / 4.0);
            }
            for i in 0..specials {
                v[(i * 7919) % n] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][i % 3];
            }
            let range = if known { super::super::finite_min_max(&v) } else { None };
            for abs in [false, true] {
                let got = percentiles(&v, &[p, 100.0 - p], abs, range);
                let want = [direct(&v, p, abs), direct(&v, 100.0 - p, abs)];
                prop_assert_eq!(got.as_ref().map(|g| g[0]), want[0]);
                prop_assert_eq!(got.as_ref().map(|g| g[1]), want[1]);
            }
        }
    }
}
