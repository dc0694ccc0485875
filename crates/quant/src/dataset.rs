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

/// The last histogram asked for, with the span of values it counts.
type CachedHistogram = (std::ops::Range<usize>, Histogram);

/// A named tensor: flat C-order values, its shape and its summary.
///
/// It also remembers the last histogram of its values, so that a knob change that keeps the plotted
/// range (most do) re-bins nothing; see [`Dataset::histogram`].
#[derive(Clone, Debug)]
pub struct Dataset {
    name: String,
    shape: Vec<usize>,
    values: Vec<f32>,
    summary: Summary,
    histogram_cache: Arc<Mutex<Option<CachedHistogram>>>,
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
            histogram_cache: Arc::default(),
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
        let cached = self.histogram_cache.lock().ok().and_then(|c| c.clone());
        if let Some((_, h)) = cached.filter(|(s, h)| {
            *s == span
                && h.lo == empty.lo
                && h.hi == empty.hi
                && h.counts.len() == empty.counts.len()
        }) {
            return h;
        }
        let h = Histogram::of(&self.values[span.clone()], lo, hi, bins, false);
        if let Ok(mut c) = self.histogram_cache.lock() {
            *c = Some((span, h.clone()));
        }
        h
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
