//! Fixed-width histograms: what the charts draw from (never from the raw values).

use serde::{Deserialize, Serialize};

/// `counts.len()` equal-width bins over [lo, hi]; values outside are clamped into the end bins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub lo: f32,
    pub hi: f32,
    pub counts: Vec<u64>,
}

/// Precomputed binning of a range, used inside hot loops.
#[derive(Clone, Copy, Debug)]
pub struct Binner {
    lo: f32,
    inv_width: f32,
    last: usize,
    /// `last` as f32 (exact: bin counts are far below 2^24).
    last_f: f32,
}

impl Binner {
    /// A binner for `bins` (≥ 1) bins over [lo, hi]; an empty range is widened by ±0.5 around it.
    pub fn new(lo: f32, hi: f32, bins: usize) -> (Self, f32, f32) {
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            (lo - 0.5, lo + 0.5)
        };
        let bins = bins.max(1);
        let width = (hi - lo) / bins as f32;
        (
            Self {
                lo,
                inv_width: 1.0 / width,
                last: bins - 1,
                last_f: (bins - 1) as f32,
            },
            lo,
            hi,
        )
    }

    /// The bin of a finite value.
    #[inline]
    pub fn bin(&self, v: f32) -> usize {
        // Clamped in floating point first (NaN-free for finite v): the conversion then needs no
        // saturation fix-ups, which matters in the per-value loops.
        let x = ((v - self.lo) * self.inv_width).clamp(0.0, self.last_f);
        (x as u32 as usize).min(self.last)
    }
}

/// Interleaved partial histograms in [`Histogram::of`]: consecutive values go to different copies,
/// so a run of values in the same bin does not serialise on one counter.
const SUB: usize = 2;

impl Histogram {
    /// The histogram of the finite values of `values` (or of their absolute values with `abs`) in
    /// `bins` bins over [lo, hi]; values outside go to the end bins.
    pub fn of(values: &[f32], lo: f32, hi: f32, bins: usize, abs: bool) -> Self {
        let (mut h, binner) = Self::empty(lo, hi, bins);
        let n_bins = h.counts.len();
        // u32 partial counts: at most 2^32 − 1 values per copy and bin, far above any tensor here;
        // they are flushed into u64 every 2^31 values anyway.
        let mut sub = vec![0u32; SUB * n_bins];
        for part in values.chunks(1 << 31) {
            let mut blocks = part.chunks_exact(SUB);
            for block in blocks.by_ref() {
                for (k, &v) in block.iter().enumerate() {
                    let v = if abs { v.abs() } else { v };
                    if v.is_finite() {
                        sub[k * n_bins + binner.bin(v)] += 1;
                    }
                }
            }
            for &v in blocks.remainder() {
                let v = if abs { v.abs() } else { v };
                if v.is_finite() {
                    sub[binner.bin(v)] += 1;
                }
            }
            for (k, c) in sub.iter_mut().enumerate() {
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
                counts: vec![0; bins.max(1)],
            },
            binner,
        )
    }

    /// Width of one bin.
    pub fn bin_width(&self) -> f32 {
        (self.hi - self.lo) / self.counts.len() as f32
    }

    /// Centre of bin `i`.
    pub fn bin_center(&self, i: usize) -> f32 {
        self.lo + (i as f32 + 0.5) * self.bin_width()
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
