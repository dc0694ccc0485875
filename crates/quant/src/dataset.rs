//! A tensor read once into a flat `f32` buffer with its C-order shape, plus the summary every view
//! needs (finite range, NaN/Inf counts), computed once when the dataset is built.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::histogram::Histogram;

/// Counts and range of a buffer; non-finite values are counted, not included in the range.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub finite: usize,
    pub nan_count: usize,
    pub inf_count: usize,
    /// Minimum of the finite values (0 when there are none).
    pub min: f32,
    /// Maximum of the finite values (0 when there are none).
    pub max: f32,
    pub mean: f64,
    pub std: f64,
}

impl Summary {
    /// One pass over `values`; mean and standard deviation in f64 (population std, like `np.std`).
    pub fn of(values: &[f32]) -> Self {
        let (mut nan, mut inf, mut finite) = (0usize, 0usize, 0usize);
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        let (mut sum, mut sum_sq) = (0f64, 0f64);
        for &v in values {
            if v.is_nan() {
                nan += 1;
            } else if v.is_infinite() {
                inf += 1;
            } else {
                finite += 1;
                lo = lo.min(v);
                hi = hi.max(v);
                let d = f64::from(v);
                sum += d;
                sum_sq += d * d;
            }
        }
        let (min, max, mean, std) = if finite == 0 {
            (0.0, 0.0, 0.0, 0.0)
        } else {
            let mean = sum / finite as f64;
            let var = (sum_sq / finite as f64 - mean * mean).max(0.0);
            (lo, hi, mean, var.sqrt())
        };
        Self {
            n: values.len(),
            finite,
            nan_count: nan,
            inf_count: inf,
            min,
            max,
            mean,
            std,
        }
    }
}

/// Why a buffer cannot become a dataset.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DatasetError {
    #[error("the tensor is empty")]
    Empty,
    #[error("shape {shape:?} holds {expected} values but {actual} were given")]
    ShapeMismatch {
        shape: Vec<usize>,
        expected: usize,
        actual: usize,
    },
    #[error("the tensor has no finite values ({nan} NaN, {inf} ±Inf)")]
    NoFiniteValues { nan: usize, inf: usize },
}

/// What a histogram was asked for: the span of values, its range and its bins.
type HistogramKey = (std::ops::Range<usize>, f32, f32, usize);
/// Recent histograms of a dataset.
type HistogramMemo = Arc<Mutex<Recent<HistogramKey, Histogram, 8>>>;
/// Recent whole-tensor clipping ranges of a dataset, by configuration.
type RangeMemo = Arc<Mutex<Recent<crate::QuantizerConfig, Option<(f32, f32)>, 16>>>;
/// Recent bounds of two-level scales, by configuration.
type BoundMemo = Arc<Mutex<Recent<crate::QuantizerConfig, f32, 16>>>;

/// The few results asked for last, newest first: a memo that holds at most `N` entries.
#[derive(Debug)]
struct Recent<K, V, const N: usize> {
    entries: Vec<(K, V)>,
}

impl<K, V, const N: usize> Default for Recent<K, V, N> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<K: PartialEq, V: Clone, const N: usize> Recent<K, V, N> {
    /// The value kept for `key` (moved to the front), if any.
    fn get(&mut self, key: &K) -> Option<V> {
        let i = self.entries.iter().position(|(k, _)| k == key)?;
        let entry = self.entries.remove(i);
        let value = entry.1.clone();
        self.entries.insert(0, entry);
        Some(value)
    }

    /// Keeps `value` for `key`, forgetting the oldest entry past `N`.
    fn put(&mut self, key: K, value: V) {
        self.entries.retain(|(k, _)| *k != key);
        self.entries.insert(0, (key, value));
        self.entries.truncate(N);
    }
}

/// `Recent::get`, else `compute` (kept) — with the lock held only to look and to store.
fn memoized<K: PartialEq, V: Clone, const N: usize>(
    memo: &Mutex<Recent<K, V, N>>,
    key: K,
    compute: impl FnOnce() -> V,
) -> V {
    if let Some(v) = memo.lock().ok().and_then(|mut m| m.get(&key)) {
        return v;
    }
    let v = compute();
    if let Ok(mut m) = memo.lock() {
        m.put(key, v.clone());
    }
    v
}

/// A named tensor: flat C-order values, its shape and its summary.
///
/// It also remembers the last few histograms of its values, so that a knob change that keeps the
/// plotted range (most do) re-bins nothing (see [`Dataset::histogram`]), and the last few
/// whole-tensor clipping ranges of the costly calibrators, so that the shares of one analysis
/// calibrate once (see [`Dataset::tensor_range`]), and of two-level scales' bounds. Clones share
/// the memos (the values are the same).
#[derive(Clone, Debug)]
pub struct Dataset {
    name: String,
    shape: Vec<usize>,
    values: Vec<f32>,
    summary: Summary,
    histograms: HistogramMemo,
    ranges: RangeMemo,
    bounds: BoundMemo,
}

impl PartialEq for Dataset {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.shape == other.shape && self.values == other.values
    }
}

impl Dataset {
    /// Builds a dataset after checking that the shape matches and some value is finite.
    pub fn new(
        name: impl Into<String>,
        shape: Vec<usize>,
        values: Vec<f32>,
    ) -> Result<Self, DatasetError> {
        if values.is_empty() {
            return Err(DatasetError::Empty);
        }
        let expected = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if expected != Some(values.len()) {
            return Err(DatasetError::ShapeMismatch {
                shape,
                expected: expected.unwrap_or(usize::MAX),
                actual: values.len(),
            });
        }
        let summary = Summary::of(&values);
        if summary.finite == 0 {
            return Err(DatasetError::NoFiniteValues {
                nan: summary.nan_count,
                inf: summary.inf_count,
            });
        }
        Ok(Self {
            name: name.into(),
            shape,
            values,
            summary,
            histograms: Arc::default(),
            ranges: Arc::default(),
            bounds: Arc::default(),
        })
    }

    /// A one-dimensional dataset.
    pub fn from_vec(name: impl Into<String>, values: Vec<f32>) -> Result<Self, DatasetError> {
        let shape = vec![values.len()];
        Self::new(name, shape, values)
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    pub fn values(&self) -> &[f32] {
        &self.values
    }
    pub fn summary(&self) -> &Summary {
        &self.summary
    }
    pub fn len(&self) -> usize {
        self.values.len()
    }
    /// The histogram of the finite values in `bins` bins over [lo, hi] (values outside go to the end
    /// bins). The last one asked for is kept and returned again without a pass over the data.
    pub fn histogram(&self, lo: f32, hi: f32, bins: usize) -> Histogram {
        self.histogram_of(0..self.values.len(), lo, hi, bins)
    }

    /// [`histogram`](Self::histogram) of the values in `span` only (one share's).
    pub fn histogram_of(
        &self,
        span: std::ops::Range<usize>,
        lo: f32,
        hi: f32,
        bins: usize,
    ) -> Histogram {
        // The range as the histogram normalises it (an empty range is widened).
        let (empty, _) = Histogram::empty(lo, hi, bins);
        let span = span.start.min(self.values.len())..span.end.min(self.values.len());
        let key = (span.clone(), empty.lo, empty.hi, empty.counts.len());
        memoized(&self.histograms, key, || {
            Histogram::of(&self.values[span], lo, hi, bins, false)
        })
    }

    /// The whole tensor's clipping range under `config`'s calibration, computed by `calibrate`
    /// the first time and remembered (for the costly calibrators; the caller decides). Every share
    /// of a per-tensor analysis calibrates the whole tensor; with this they do it once per worker.
    pub fn tensor_range(
        &self,
        config: &crate::QuantizerConfig,
        calibrate: impl FnOnce() -> Option<(f32, f32)>,
    ) -> Option<(f32, f32)> {
        memoized(&self.ranges, config.clone(), calibrate)
    }

    /// The bound of `config`'s two-level scales over the whole tensor (the largest calibrated
    /// group bound, see `analyze::tensor_amax`), computed by `compute` the first time and
    /// remembered, or as [`keep_bound`](Self::keep_bound) gave it: every share of a two-level
    /// analysis needs it before it scales a block.
    pub(crate) fn two_level_bound(
        &self,
        config: &crate::QuantizerConfig,
        compute: impl FnOnce() -> f32,
    ) -> f32 {
        memoized(&self.bounds, config.clone(), compute)
    }

    /// Remembers `bound` as [`two_level_bound`](Self::two_level_bound) of `config` (measured in
    /// parts elsewhere: see `run::bound_part`).
    pub(crate) fn keep_bound(&self, config: &crate::QuantizerConfig, bound: f32) {
        if let Ok(mut m) = self.bounds.lock() {
            m.put(config.clone(), bound);
        }
    }

    /// Always false: an empty dataset cannot be built.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn memos_compute_once_per_key_and_forget_the_oldest() {
        let d = Dataset::from_vec("m", (0..1000).map(|i| i as f32).collect())
            .unwrap_or_else(|e| panic!("{e}"));
        let calls = std::cell::Cell::new(0);
        let config = |bits| crate::QuantizerConfig {
            bits,
            ..Default::default()
        };
        let range = |bits: u8| {
            d.tensor_range(&config(bits), || {
                calls.set(calls.get() + 1);
                Some((0.0, f32::from(bits)))
            })
        };
        assert_eq!(range(4), Some((0.0, 4.0)));
        assert_eq!(range(4), Some((0.0, 4.0)));
        assert_eq!(calls.get(), 1, "the second asks the memo");
        // Sixteen other settings push the first out.
        for b in 5..=20 {
            range(b);
        }
        range(20);
        range(4);
        range(4);
        assert_eq!(
            calls.get(),
            1 + 16 + 1,
            "only the forgotten one is computed again"
        );
        // The memo's histogram is the one a pass gives, for each of several spans.
        for span in [0..1000, 0..500, 500..1000] {
            let fresh = Histogram::of(&d.values()[span.clone()], -1.0, 1000.0, 10, false);
            assert_eq!(d.histogram_of(span.clone(), -1.0, 1000.0, 10), fresh);
            assert_eq!(d.histogram_of(span, -1.0, 1000.0, 10), fresh);
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn summary_counts_non_finite_and_leaves_them_out() {
        let s = Summary::of(&[1.0, f32::NAN, -3.0, f32::INFINITY, f32::NEG_INFINITY, 2.0]);
        assert_eq!((s.n, s.finite, s.nan_count, s.inf_count), (6, 3, 1, 2));
        assert_eq!((s.min, s.max), (-3.0, 2.0));
        assert_eq!(s.mean, 0.0);
        // population std of [1, -3, 2]: sqrt((1 + 9 + 4) / 3)
        assert!((s.std - (14.0f64 / 3.0).sqrt()).abs() < 1e-12);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn dataset_rejects_bad_buffers() {
        assert_eq!(Dataset::from_vec("x", vec![]), Err(DatasetError::Empty));
        assert!(matches!(
            Dataset::new("x", vec![2, 3], vec![0.0; 5]),
            Err(DatasetError::ShapeMismatch {
                expected: 6,
                actual: 5,
                ..
            })
        ));
        assert!(matches!(
            Dataset::new("x", vec![usize::MAX, 3], vec![0.0; 5]),
            Err(DatasetError::ShapeMismatch { .. })
        ));
        assert_eq!(
            Dataset::from_vec("x", vec![f32::NAN, f32::INFINITY]),
            Err(DatasetError::NoFiniteValues { nan: 1, inf: 1 })
        );
        let d = Dataset::new("x", vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(d.map(|d| d.summary().max), Ok(4.0));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn histogram_is_cached_per_range() {
        let d = Dataset::from_vec("x", vec![0.0, 1.0, 2.0, 3.0, f32::NAN])
            .unwrap_or_else(|e| panic!("{e}"));
        let h = d.histogram(0.0, 4.0, 4);
        assert_eq!(h.counts, vec![1, 1, 1, 1]);
        assert_eq!(d.histogram(0.0, 4.0, 4), h);
        assert_eq!(d.histogram(0.0, 2.0, 2).counts, vec![1, 3]);
        assert_eq!(d.histogram(0.0, 4.0, 2).counts, vec![2, 2]);
    }
}
