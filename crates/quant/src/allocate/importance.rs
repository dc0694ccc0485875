//! Importance weighting: an error on an input that carries large activations costs more than one
//! on an input that is nearly always zero. A per-input-channel importance vector (llama.cpp's
//! imatrix keeps Σ x² of each input over calibration tokens; the layer lab's activations give
//! mean x²) weights a weight matrix's squared error by its column.
//!
//! ```text
//! W [out, in], importance v [in] (finite, ≥ 0, not all 0)
//! ŵ_j      = v_j · in / Σ_k v_k                           (mean 1: all-equal importance = plain MSE)
//! mse_v    = Σ_ij ŵ_j (w_ij − ŵ_ij)² / n_finite           (over the finite weights)
//! sum_sq_v = Σ_ij ŵ_j w_ij²                               (the model's SQNR uses the same weights)
//! ```

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{Kept, Point, TensorPoints};
use crate::config::QuantizerConfig;

/// Where importance vectors come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Importance {
    /// One vector per tensor, by the tensor's name (a `.safetensors` of 1-D tensors).
    ByName(HashMap<String, Vec<f32>>),
    /// One vector for every tensor with that many inputs (a single `.npy`).
    Every(Vec<f32>),
}

/// A bad importance vector.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportanceError {
    #[error(
        "the importance of {name} has {got} entries, the tensor has {want} inputs (its last axis)"
    )]
    Length {
        name: String,
        want: usize,
        got: usize,
    },
    #[error("the importance of {name} holds a negative or non-finite entry")]
    Invalid { name: String },
    #[error("the importance of {name} is all zero")]
    AllZero { name: String },
}

/// Which tensors were weighted (and which had no vector), for the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct ImportanceUse {
    pub weighted: Vec<String>,
    pub unweighted: Vec<String>,
}

impl Importance {
    /// From the tensors of an importance file (name, shape, values): each must be 1-D; `shared`
    /// (a single `.npy`) makes its one vector apply to every tensor of that width.
    pub fn from_tensors(
        file: &str,
        tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
        shared: bool,
    ) -> Result<Self, String> {
        let mut map = HashMap::new();
        for (name, shape, values) in tensors {
            if shape.len() != 1 {
                return Err(format!(
                    "{file}: importance tensor {name} has shape {shape:?}; one value per input (1-D) is expected"
                ));
            }
            if shared {
                return Ok(Self::Every(values));
            }
            map.insert(name, values);
        }
        if map.is_empty() {
            return Err(format!("{file}: no importance vector in it"));
        }
        Ok(Self::ByName(map))
    }

    /// The vector for tensor `name` with `inputs` inputs: by name (its length checked later), or
    /// the shared one when its length fits.
    pub fn for_tensor(&self, name: &str, inputs: usize) -> Option<&[f32]> {
        match self {
            Self::ByName(map) => map.get(name).map(Vec::as_slice),
            Self::Every(v) => (v.len() == inputs).then_some(v.as_slice()),
        }
    }

    /// The column weights ŵ of tensor `name` of `shape` (`None`: no vector for it, or not 2-D).
    pub fn weights_for(
        &self,
        name: &str,
        shape: &[usize],
    ) -> Result<Option<Vec<f64>>, ImportanceError> {
        let [_, inputs] = shape else {
            return Ok(None);
        };
        self.for_tensor(name, *inputs)
            .map(|v| column_weights(name, v, *inputs))
            .transpose()
    }
}

impl ImportanceUse {
    /// From each allocated tensor's name and whether its error was weighted.
    pub fn of<'a>(tensors: impl IntoIterator<Item = (&'a str, bool)>) -> Self {
        let mut u = Self::default();
        for (name, weighted) in tensors {
            if weighted {
                u.weighted.push(name.to_string());
            } else {
                u.unweighted.push(name.to_string());
            }
        }
        u
    }
}

/// [`super::measure`], or [`measure_weighted`] when there are column weights.
pub fn measure_with(
    dataset: &crate::Dataset,
    configs: &[QuantizerConfig],
    weights: Option<&[f64]>,
) -> Result<TensorPoints, Kept> {
    match weights {
        None => super::measure(dataset, configs),
        Some(w) => measure_weighted(dataset, configs, w),
    }
}

/// ŵ of the module's docs for tensor `name` with `inputs` inputs.
pub fn column_weights(
    name: &str,
    importance: &[f32],
    inputs: usize,
) -> Result<Vec<f64>, ImportanceError> {
    if importance.len() != inputs {
        return Err(ImportanceError::Length {
            name: name.to_string(),
            want: inputs,
            got: importance.len(),
        });
    }
    if importance.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(ImportanceError::Invalid {
            name: name.to_string(),
        });
    }
    let total: f64 = importance.iter().map(|&v| f64::from(v)).sum();
    if total <= 0.0 {
        return Err(ImportanceError::AllZero {
            name: name.to_string(),
        });
    }
    let scale = inputs as f64 / total;
    Ok(importance.iter().map(|&v| f64::from(v) * scale).collect())
}

/// [`super::measure`] with each column's squared error weighted by `weights` (ŵ, one per input).
pub fn measure_weighted(
    dataset: &crate::Dataset,
    configs: &[QuantizerConfig],
    weights: &[f64],
) -> Result<TensorPoints, Kept> {
    let kept = |reason: String| Kept {
        name: dataset.name().to_string(),
        reason,
    };
    let inputs = weights.len().max(1);
    let x = dataset.values();
    let options = crate::AnalysisOptions {
        all_groups: false,
        ..crate::AnalysisOptions::default()
    };
    let (mut finite, mut sum_sq) = (0usize, 0.0);
    for (i, &v) in x.iter().enumerate() {
        if v.is_finite() {
            finite += 1;
            sum_sq += weights[i % inputs] * f64::from(v) * f64::from(v);
        }
    }
    let points: Vec<Point> = configs
        .iter()
        .enumerate()
        .filter_map(|(k, c)| {
            let (a, q) = crate::analyze_and_quantize(dataset, c, &options).ok()?;
            let err: f64 = x
                .iter()
                .zip(&q.dequantized)
                .enumerate()
                .filter(|(_, (v, _))| v.is_finite())
                .map(|(i, (&v, &r))| {
                    let d = f64::from(v) - f64::from(r);
                    weights[i % inputs] * d * d
                })
                .sum();
            let mse = err / finite.max(1) as f64;
            (mse.is_finite() && a.metrics.bits_per_value.is_finite()).then_some(Point {
                candidate: k,
                bits_per_value: a.metrics.bits_per_value,
                mse,
            })
        })
        .collect();
    if points.is_empty() {
        return Err(kept("no candidate fits its layout".into()));
    }
    Ok(TensorPoints {
        name: dataset.name().to_string(),
        n: dataset.len(),
        sum_sq,
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocate::{candidate, measure};
    use crate::Dataset;

    fn matrix(rows: usize, cols: usize) -> Dataset {
        let x: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * (1.0 + (i % cols) as f32))
            .collect();
        Dataset::new("m".to_string(), vec![rows, cols], x).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn equal_importance_is_the_plain_error() {
        let d = matrix(16, 8);
        let configs: Vec<_> = ["int3-channel", "int8-channel", "nf4"]
            .iter()
            .filter_map(|c| candidate(c))
            .collect();
        let w = column_weights("m", &[2.5; 8], 8).unwrap_or_else(|e| panic!("{e}"));
        assert!(w.iter().all(|&v| v == 1.0));
        let plain = measure(&d, &configs).unwrap_or_else(|k| panic!("{}", k.reason));
        let weighted =
            measure_weighted(&d, &configs, &w).unwrap_or_else(|k| panic!("{}", k.reason));
        assert_eq!(plain.points.len(), weighted.points.len());
        for (p, q) in plain.points.iter().zip(&weighted.points) {
            assert_eq!(p.bits_per_value, q.bits_per_value);
            assert!(
                (p.mse - q.mse).abs() <= 1e-12 * p.mse,
                "{} vs {}",
                p.mse,
                q.mse
            );
        }
        assert!((plain.sum_sq - weighted.sum_sq).abs() <= 1e-12 * plain.sum_sq);
    }

    #[test]
    fn a_column_of_no_importance_does_not_count() {
        let d = matrix(16, 2);
        let c = candidate("int3-channel").unwrap_or_else(|| panic!("int3"));
        let w = column_weights("m", &[0.0, 1.0], 2).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w, vec![0.0, 2.0]);
        let t = measure_weighted(&d, std::slice::from_ref(&c), &w)
            .unwrap_or_else(|k| panic!("{}", k.reason));
        // By hand: 2 · Σ_i (x_i1 − x̂_i1)² / 32 from the quantizer's own output.
        let q = crate::quantize(&d, &c).unwrap_or_else(|e| panic!("{e}"));
        let err: f64 = (0..16)
            .map(|i| f64::from(d.values()[2 * i + 1] - q.dequantized[2 * i + 1]).powi(2))
            .sum();
        assert!((t.points[0].mse - 2.0 * err / 32.0).abs() <= 1e-12 * err);
    }

    #[test]
    fn bad_vectors_are_refused_by_name() {
        assert_eq!(
            column_weights("w", &[1.0; 3], 4),
            Err(ImportanceError::Length {
                name: "w".into(),
                want: 4,
                got: 3
            })
        );
        assert!(matches!(
            column_weights("w", &[1.0, f32::NAN], 2),
            Err(ImportanceError::Invalid { .. })
        ));
        assert!(matches!(
            column_weights("w", &[1.0, -1.0], 2),
            Err(ImportanceError::Invalid { .. })
        ));
        assert!(matches!(
            column_weights("w", &[0.0, 0.0], 2),
            Err(ImportanceError::AllZero { .. })
        ));
        let shared = Importance::Every(vec![1.0; 4]);
        assert!(shared.for_tensor("a", 4).is_some() && shared.for_tensor("a", 5).is_none());
        assert_eq!(shared.weights_for("a", &[3, 4]), Ok(Some(vec![1.0; 4])));
        assert_eq!(shared.weights_for("a", &[4]), Ok(None));
        let by_name = Importance::from_tensors(
            "i.safetensors",
            vec![("w".into(), vec![2], vec![1.0, 3.0])],
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(by_name.weights_for("w", &[5, 2]), Ok(Some(vec![0.5, 1.5])));
        assert_eq!(by_name.weights_for("v", &[5, 2]), Ok(None));
        assert!(matches!(
            by_name.weights_for("w", &[5, 3]),
            Err(ImportanceError::Length { .. })
        ));
        let two_d =
            Importance::from_tensors("i.npy", vec![("i".into(), vec![2, 2], vec![1.0; 4])], true);
        assert!(two_d.is_err_and(|e| e.contains("1-D")));
        let u = ImportanceUse::of([("a", true), ("b", false)]);
        assert_eq!(
            (u.weighted, u.unweighted),
            (vec!["a".to_string()], vec!["b".to_string()])
        );
    }
}
