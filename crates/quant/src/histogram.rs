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
            },
            lo,
            hi,
        )
    }

    /// The bin of a finite value.
    #[inline]
    pub fn bin(&self, v: f32) -> usize {
        let x = (v - self.lo) * self.inv_width;
        // `as usize` saturates negative values to 0.
        (x as usize).min(self.last)
    }
}

impl Histogram {
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
    fn constant_range_is_widened() {
        let (h, b) = Histogram::empty(2.0, 2.0, 10);
        assert_eq!((h.lo, h.hi), (1.5, 2.5));
        assert_eq!(b.bin(2.0), 5);
    }
}
