//! Fixed-width histograms: what the charts draw from (never from the raw values).

use serde::{Deserialize, Serialize};

/// `counts.len()` equal-width bins over [lo, hi]; values outside are clamped into the end bins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub lo: f32,
    pub hi: f32,
    #[serde(with = "crate::wire::u64s")]
    pub counts: Vec<u64>,
}

/// The most bins a histogram has (bin indices stay exact in f32 arithmetic, far below 2^22).
pub const MAX_BINS: usize = 1 << 20;

/// Precomputed binning of a range, used inside hot loops.
///
/// ```text
/// bin(v) = clamp(⌊(v·p − lo·p) · (1/w)⌋, 0, bins − 1),   w = (hi·p − lo·p) / bins
/// ```
/// p is a power of two that keeps every term a normal, finite f32 whatever the range: 1 for
/// ordinary ranges (so the arithmetic is the plain (v − lo)/w), ½ for a span beyond f32::MAX
/// (e.g. [−3.4e38, 3.4e38], whose hi − lo overflows), and 2^100 for spans below 2^−100
/// (subnormal data, whose bin width would underflow to 0 and make 1/w infinite). Multiplying by a
/// power of two is exact for every value that matters, so the bins are the true equal-width bins of
/// [lo, hi]. The final clamp is on the integer, so no value — not even NaN — yields an index
/// outside the table.
#[derive(Clone, Copy, Debug)]
pub struct Binner {
    pre: f32,
    lo: f32,
    inv_width: f32,
    last: u32,
    /// `last` as f32 (exact: bin counts are far below 2^24).
    last_f: f32,
}

/// Spans below this, 2^−100, are binned after scaling by [`TINY_PRE`].
const TINY_SPAN: f64 = 1.0 / (1u128 << 100) as f64;
/// 2^100 (bit pattern 0x7180_0000): brings a span of 2^−149 (one subnormal step) to 2^−49.
const TINY_PRE: f32 = (1u128 << 100) as f32;

impl Binner {
    /// A binner for `bins` bins (clamped to 1..=[`MAX_BINS`]) over [lo, hi] (finite); returns it
    /// with the range it bins, which is [lo, hi] unless that range is empty or not finite (see
    /// [`normalized_range`]).
    pub fn new(lo: f32, hi: f32, bins: usize) -> (Self, f32, f32) {
        let (lo, hi) = normalized_range(lo, hi);
        let bins = bins.clamp(1, MAX_BINS);
        let span = f64::from(hi) - f64::from(lo);
        let pre = if span > f64::from(f32::MAX) {
            0.5
        } else if span < TINY_SPAN {
            TINY_PRE
        } else {
            1.0
        };
        let width = (hi * pre - lo * pre) / bins as f32;
        (
            Self {
                pre,
                lo: lo * pre,
                inv_width: 1.0 / width,
                last: (bins - 1) as u32,
                last_f: (bins - 1) as f32,
            },
            lo,
            hi,
        )
    }

    /// Number of bins.
    pub fn bins(&self) -> usize {
        self.last as usize + 1
    }

    /// (p, lo · p, 1/w) of the binning formula (for the SIMD form of the fused pass).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn affine(&self) -> (f32, f32, f32) {
        (self.pre, self.lo, self.inv_width)
    }

    /// The last bin's index as f32.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn last_f(&self) -> f32 {
        self.last_f
    }

    /// The bin of a finite value (any other value gets some valid bin).
    #[inline]
    pub fn bin(&self, v: f32) -> usize {
        self.bin_u32(v) as usize
    }

    /// The bin of a value, branch-free so a block of them vectorises: clamped in floating point
    /// to [0, last] first, then floor and an exact integer read (truncation and floor agree on
    /// non-negative values; `as u32` would add saturation checks), then clamped again as an
    /// integer, which is what keeps a NaN (meaningless, but possible for a non-finite `v`) inside
    /// the table.
    #[inline(always)]
    pub(crate) fn bin_u32(&self, v: f32) -> u32 {
        let x = ((v * self.pre - self.lo) * self.inv_width).clamp(0.0, self.last_f);
        (crate::affine::int_of(crate::affine::floor(x)) as u32).min(self.last)
    }
}

impl Binner {
    /// [`bin`](Self::bin) of LANES values, step by step (see [`crate::fused::Lanes`]).
    #[inline(always)]
    pub(crate) fn bin_lanes(
        &self,
        v: &[f32; crate::metrics::LANES],
    ) -> [u32; crate::metrics::LANES] {
        const L: usize = crate::metrics::LANES;
        let mut x = [0f32; L];
        for k in 0..L {
            x[k] = ((v[k] * self.pre - self.lo) * self.inv_width).clamp(0.0, self.last_f);
        }
        let mut out = crate::affine::floor_lanes(&x);
        for o in &mut out {
            *o = (*o).min(self.last);
        }
        out
    }
}

/// The range a histogram of [lo, hi] bins: [lo, hi] itself when lo < hi (non-finite ends are
/// brought to ±f32::MAX); an empty range widened around its value by ±½, or by ±1/64 of its
/// magnitude where ½ would be lost in rounding, kept inside the finite f32 range.
pub fn normalized_range(lo: f32, hi: f32) -> (f32, f32) {
    let finite = |x: f32| {
        if x.is_nan() {
            0.0
        } else {
            x.clamp(-f32::MAX, f32::MAX)
        }
    };
    let (lo, hi) = (finite(lo), finite(hi));
    if hi > lo {
        return (lo, hi);
    }
    let w = 0.5f32.max(lo.abs() / 64.0);
    let (a, b) = (lo - w, lo + w);
    (a.max(-f32::MAX), b.min(f32::MAX))
}

/// Interleaved partial histograms in [`Histogram::of`]: consecutive values go to different copies,
/// so a run of values in the same bin does not serialise on one counter.
const SUB: usize = 2;
/// Values binned per block (vectorised), and blocks whose bin indices are buffered before counting.
const LANES: usize = 8;
const BATCH: usize = 64;

impl Histogram {
    /// The histogram of the finite values of `values` (or of their absolute values with `abs`) in
    /// `bins` bins over [lo, hi]; values outside go to the end bins.
    ///
    /// Blocks of LANES values get their bin indices without branches (non-finite values go to a
    /// spare slot past the tables), a batch of them is buffered, then counted in a tight loop: the
    /// scattered increments stay out of the vector code (as in the fused pass).
    pub fn of(values: &[f32], lo: f32, hi: f32, bins: usize, abs: bool) -> Self {
        // One monomorphised loop per mode: a run-time `abs` inside it kept the loop from
        // vectorising when the call was not inlined (measured 50 ms instead of 20 at 16M).
        if abs {
            Self::of_values::<true>(values, lo, hi, bins)
        } else {
            Self::of_values::<false>(values, lo, hi, bins)
        }
    }

    fn of_values<const ABS: bool>(values: &[f32], lo: f32, hi: f32, bins: usize) -> Self {
        let (mut h, binner) = Self::empty(lo, hi, bins);
        let n_bins = h.counts.len();
        let spare = (SUB * n_bins) as u32;
        // u32 partial counts: at most 2^32 − 1 values per copy and bin, far above any tensor here;
        // they are flushed into u64 every 2^31 values anyway.
        let mut sub = vec![0u32; SUB * n_bins + 1];
        let mut indices = [0u32; BATCH * LANES];
        let index = |k: usize, v: f32| {
            let v = if ABS { v.abs() } else { v };
            let i = (k % SUB) as u32 * n_bins as u32 + binner.bin_u32(v);
            if v.is_finite() {
                i
            } else {
                spare
            }
        };
        for part in values.chunks(1 << 31) {
            for batch in part.chunks(BATCH * LANES) {
                let mut blocks = batch.chunks_exact(LANES);
                let mut used = 0;
                for block in &mut blocks {
                    for (k, &v) in block.iter().enumerate() {
                        indices[used + k] = index(k, v);
                    }
                    used += LANES;
                }
                for (k, &v) in blocks.remainder().iter().enumerate() {
                    indices[used + k] = index(k, v);
                }
                used += blocks.remainder().len();
                for &i in &indices[..used] {
                    sub[i as usize] += 1;
                }
            }
            for (k, c) in sub[..SUB * n_bins].iter_mut().enumerate() {
                h.counts[k % n_bins] += u64::from(*c);
                *c = 0;
            }
        }
        h
    }

    /// An empty histogram and its binner.
    pub fn empty(lo: f32, hi: f32, bins: usize) -> (Self, Binner) {
        let (binner, lo, hi) = Binner::new(lo, hi, bins);
        (
            Self {
                lo,
                hi,
                counts: vec![0; bins.clamp(1, MAX_BINS)],
            },
            binner,
        )
    }

    /// Width of one bin, in f64 (the span of [−f32::MAX, f32::MAX] is not an f32).
    pub fn bin_width(&self) -> f64 {
        (f64::from(self.hi) - f64::from(self.lo)) / self.counts.len() as f64
    }

    /// Centre of bin `i` (computed in f64, so it is finite for every range).
    pub fn bin_center(&self, i: usize) -> f32 {
        (f64::from(self.lo) + (i as f64 + 0.5) * self.bin_width()) as f32
    }

    /// Total count.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn bins_values_and_clamps_the_ends() {
        let (mut h, b) = Histogram::empty(0.0, 4.0, 4);
        for v in [0.0, 0.99, 1.0, 3.99, 4.0, 9.0, -1.0] {
            h.counts[b.bin(v)] += 1;
        }
        assert_eq!(h.counts, vec![3, 1, 0, 3]);
        assert_eq!(h.bin_center(1), 1.5);
        assert_eq!(h.total(), 7);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn histogram_of_values_and_magnitudes() {
        let v = [0.5, -1.5, 3.9, f32::NAN, 2.0, -0.1, f32::INFINITY, 1.0, 1.2];
        let h = Histogram::of(&v, 0.0, 4.0, 4, false);
        assert_eq!(h.counts, vec![3, 2, 1, 1]); // -1.5 and -0.1 clamp into bin 0
        let a = Histogram::of(&v, 0.0, 4.0, 4, true);
        assert_eq!(a.counts, vec![2, 3, 1, 1]);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn constant_range_is_widened() {
        let (h, b) = Histogram::empty(2.0, 2.0, 10);
        assert_eq!((h.lo, h.hi), (1.5, 2.5));
        assert_eq!(b.bin(2.0), 5);
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = f32> {
        prop_oneof![
            8 => -1e4f32..1e4,
            1 => Just(f32::NAN),
            1 => prop_oneof![Just(f32::INFINITY), Just(f32::NEG_INFINITY), Just(0.0), Just(-0.0)],
        ]
    }

    proptest! {
        /// The blocked, buffered histogram equals binning one value at a time with `as u32`
        /// truncation (the plain reading of "which bin"), for every length (partial blocks), both
        /// modes and NaN/±Inf anywhere.
        #[test]
        fn histogram_equals_the_per_value_count(
            values in proptest::collection::vec(value(), 0..1500),
            lo in -1e3f32..1e3,
            width in 1e-3f32..1e4,
            bins in 1usize..5000,
            abs in any::<bool>(),
        ) {
            let h = Histogram::of(&values, lo, lo + width, bins, abs);
            let (_, lo, hi) = Binner::new(lo, lo + width, bins);
            let mut want = vec![0u64; bins];
            let inv = 1.0 / ((hi - lo) / bins as f32);
            for &v in &values {
                let v = if abs { v.abs() } else { v };
                if v.is_finite() {
                    let x = ((v - lo) * inv).clamp(0.0, (bins - 1) as f32);
                    want[(x as u32 as usize).min(bins - 1)] += 1;
                }
            }
            prop_assert_eq!(h.counts, want);
        }
    }
}
