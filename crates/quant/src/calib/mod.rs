//! Calibration: choosing the clipping range [α, β] of one tensor, channel or group.
//!
//! | method     | exactness                                                                    |
//! |------------|------------------------------------------------------------------------------|
//! | min-max    | exact                                                                        |
//! | percentile | exact order statistics with linear interpolation (`numpy.percentile`); large inputs narrowed by a histogram first, still exact |
//! | mse        | histogram approximation (4096 bins; exact for groups of ≤ 4096 values); tested within 0.5 % of a brute-force optimum, per tensor and on small asymmetric groups |
//! | sqnr       | as mse, with the noise of clipped values weighted by γ (AIMET-style)          |
//! | kl         | histogram method by definition (TensorRT: 2048 bins of |x|); exact to that definition |
//! | aciq       | analytical: exact fit statistics (mean, mean |x − μ|, std) and α* from the closed form |
//! | manual     | the user's range, as given                                                   |
//!
//! Non-finite values never take part in calibration.
//!
//! A calibrator is its own module here plus its variant of [`Calibration`] in this file (names,
//! description, parsing, validation and dispatch beside it): the CLI's `--calibration`, the page's
//! select and the comparison tables read them from here.

pub mod aciq;
pub mod kl;
mod minmax;
pub mod mse;
mod percentile;

pub use minmax::{
    finite_abs_max, finite_abs_maxes, finite_min_max, finite_min_maxes, first_largest,
    first_largests,
};
pub use percentile::{percentile_linear, percentile_range};

use serde::{Deserialize, Serialize};

use crate::affine::IntGrid;

/// What a calibrator needs of a quantizer's settings (a
/// [`QuantizerConfig`](crate::config::QuantizerConfig) gives it): the method, the bit width and
/// the integer grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Target {
    pub calibration: Calibration,
    pub bits: u8,
    pub grid: IntGrid,
}

/// The clipping range [α, β] of `values` (which may hold NaN/Inf; they are skipped).
/// Returns `None` when `values` holds no finite number.
pub fn clip_range(values: &[f32], target: impl Into<Target>) -> Option<(f32, f32)> {
    clip_range_known(values, target, None)
}

/// [`clip_range`] when the finite (min, max) of `values` is already known (the dataset's summary
/// holds it for a whole tensor), which saves min-max, percentile, MSE and KL a pass over the data.
pub fn clip_range_known(
    values: &[f32],
    target: impl Into<Target>,
    known: Option<(f32, f32)>,
) -> Option<(f32, f32)> {
    let Target {
        calibration,
        bits,
        grid,
    } = target.into();
    match calibration {
        Calibration::MinMax => known.or_else(|| finite_min_max(values)),
        Calibration::Percentile { p } => percentile_range(values, p, grid.scheme, known),
        Calibration::Mse => mse::mse_range(values, grid, known),
        Calibration::Sqnr { gamma } => mse::sqnr_range(values, grid, known, gamma),
        Calibration::Kl => kl::kl_range(values, bits, grid, known),
        Calibration::Aciq { fit } => aciq::aciq_range(values, bits, fit, grid.scheme, known),
        Calibration::Manual { lo, hi } => Some((lo, hi)),
    }
}

/// How the clipping range [α, β] is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Calibration {
    /// α = min, β = max of the finite values.
    #[default]
    MinMax,
    /// Percentile clipping; `p` in (0, 100]. Symmetric: β = P_p(|x|), α = −β.
    /// Asymmetric: α = P_(100−p)(x), β = P_p(x).
    Percentile { p: f64 },
    /// The clip that minimises the quantization MSE of this data.
    Mse,
    /// AIMET-style SQNR search: MSE with the clipped values' noise weighted by γ (≥ 1, default 3).
    Sqnr { gamma: f64 },
    /// Entropy calibration (TensorRT): the threshold of least KL divergence.
    Kl,
    /// Analytical clipping for a Laplace or Gaussian fit (Banner et al. 2019).
    Aciq { fit: crate::calib::aciq::AciqFit },
    /// A clipping range given by the user.
    Manual { lo: f32, hi: f32 },
}

/// A calibration method's parameter out of its range.
#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum CalibrationError {
    #[error("percentile must be in (0, 100], got {0}")]
    Percentile(f64),
    #[error("the clipping weight γ must be a finite number ≥ 1, got {0}")]
    Gamma(f64),
    #[error("manual clipping range needs finite lo < hi, got [{lo}, {hi}]")]
    ManualRange { lo: f32, hi: f32 },
}

/// The parameters a calibration method may take (each method reads its own).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CalibrationParams {
    /// Percentile p of `percentile`.
    pub p: f64,
    /// γ of `sqnr`.
    pub gamma: f64,
    /// The fit of `aciq`.
    pub fit: crate::calib::aciq::AciqFit,
    /// The range of `manual`.
    pub range: (f32, f32),
}

impl Default for CalibrationParams {
    fn default() -> Self {
        Self {
            p: 99.9,
            gamma: 3.0,
            fit: crate::calib::aciq::AciqFit::Laplace,
            range: (-1.0, 1.0),
        }
    }
}

impl Calibration {
    /// The methods, by the key the CLI (`--calibration`), the page and the tables use.
    pub const METHODS: [&'static str; 7] = [
        "minmax",
        "percentile",
        "mse",
        "sqnr",
        "kl",
        "aciq",
        "manual",
    ];

    /// This method's key.
    pub fn key(&self) -> &'static str {
        match self {
            Self::MinMax => "minmax",
            Self::Percentile { .. } => "percentile",
            Self::Mse => "mse",
            Self::Sqnr { .. } => "sqnr",
            Self::Kl => "kl",
            Self::Aciq { .. } => "aciq",
            Self::Manual { .. } => "manual",
        }
    }

    /// A label for people of the method called `key`.
    pub fn method_label(key: &str) -> &'static str {
        match key {
            "minmax" => "min–max",
            "percentile" => "percentile",
            "mse" => "MSE-optimal",
            "sqnr" => "SQNR, clipped noise ×γ (AIMET)",
            "kl" => "entropy / KL (TensorRT)",
            "aciq" => "ACIQ (analytical clipping)",
            "manual" => "manual",
            _ => "?",
        }
    }

    /// A short label (legends, narrow tables) of the method called `key`.
    pub fn method_short_label(key: &str) -> &'static str {
        match key {
            "sqnr" => "SQNR (AIMET)",
            "kl" => "KL (TensorRT)",
            "aciq" => "ACIQ",
            other => Self::method_label(other),
        }
    }

    /// This method with its parameter, for people ("percentile 99.9", "manual [−1, 2]").
    pub fn describe(&self) -> String {
        match self {
            Self::Percentile { p } => format!("percentile {p}"),
            Self::Sqnr { gamma } => format!("SQNR γ = {gamma} (AIMET)"),
            Self::Aciq { fit } => format!("ACIQ ({})", fit.name()),
            Self::Manual { lo, hi } => format!("manual [{lo}, {hi}]"),
            Self::MinMax | Self::Mse | Self::Kl => Self::method_label(self.key()).to_string(),
        }
    }

    /// Checks the method's parameter.
    pub fn validate(&self) -> Result<(), CalibrationError> {
        match *self {
            Self::Percentile { p } if !(p > 0.0 && p <= 100.0) => {
                Err(CalibrationError::Percentile(p))
            }
            Self::Sqnr { gamma } if !(gamma.is_finite() && gamma >= 1.0) => {
                Err(CalibrationError::Gamma(gamma))
            }
            Self::Manual { lo, hi } if !(lo.is_finite() && hi.is_finite() && lo < hi) => {
                Err(CalibrationError::ManualRange { lo, hi })
            }
            Self::MinMax
            | Self::Percentile { .. }
            | Self::Mse
            | Self::Sqnr { .. }
            | Self::Kl
            | Self::Aciq { .. }
            | Self::Manual { .. } => Ok(()),
        }
    }

    /// Whether the method looks at the data's values to place the range inside them (a search or
    /// a fit; it may copy a group's values once more), rather than taking the extremes or the
    /// user's range.
    pub fn searches(&self) -> bool {
        match self {
            Self::MinMax | Self::Manual { .. } => false,
            Self::Percentile { .. }
            | Self::Mse
            | Self::Sqnr { .. }
            | Self::Kl
            | Self::Aciq { .. } => true,
        }
    }

    /// Whether the range it finds always lies within the data's: |α|, |β| never above the
    /// largest |x| (the searches scan clips up to it, the percentiles are order statistics; an
    /// ACIQ fit and the user's range may reach beyond). Two-level bounds rely on it to skip the
    /// groups that cannot hold the largest (see `analyze::groups_amax`); a test checks it.
    pub fn within_data(&self) -> bool {
        match self {
            Self::MinMax | Self::Percentile { .. } | Self::Mse | Self::Sqnr { .. } | Self::Kl => {
                true
            }
            Self::Aciq { .. } | Self::Manual { .. } => false,
        }
    }

    /// Whether the method tries many candidate ranges on each group's values (the MSE, SQNR and
    /// KL searches): costly per group, so an analysis runs it whole rather than in shares.
    pub fn searches_candidates(&self) -> bool {
        match self {
            Self::Mse | Self::Sqnr { .. } | Self::Kl => true,
            Self::MinMax | Self::Percentile { .. } | Self::Aciq { .. } | Self::Manual { .. } => {
                false
            }
        }
    }

    /// About how many times a plain min–max pass this method costs per value when it calibrates
    /// every group or channel apart (measured natively, `--example time_groups`, int4 over 1M
    /// values at 2026-12-06: min–max 5.2 ms in groups of 32, percentile 18.8, ACIQ 46.7, KL 709,
    /// MSE 1,380, SQNR 1,481; smaller for larger groups). What the page's tables cut their rows
    /// by, so that no slice holds a worker long.
    pub fn cost_per_group(&self) -> usize {
        match self {
            Self::MinMax | Self::Manual { .. } => 1,
            Self::Percentile { .. } => 4,
            Self::Aciq { .. } => 10,
            Self::Kl => 150,
            Self::Mse | Self::Sqnr { .. } => 300,
        }
    }

    /// The method called `key` with its parameter from `params`.
    pub fn from_key(key: &str, params: &CalibrationParams) -> Option<Self> {
        Some(match key {
            "minmax" => Self::MinMax,
            "percentile" => Self::Percentile { p: params.p },
            "mse" => Self::Mse,
            "sqnr" => Self::Sqnr {
                gamma: params.gamma,
            },
            "kl" => Self::Kl,
            "aciq" => Self::Aciq { fit: params.fit },
            "manual" => Self::Manual {
                lo: params.range.0,
                hi: params.range.1,
            },
            _ => return None,
        })
    }
}

/// Every calibration method once, for comparing them on the same data: the keys the page and its
/// tests name them by, and each method with the parameters of `current` where it is that method
/// (the chosen percentile p, SQNR γ, ACIQ fit), else the defaults; `manual` is `current`'s range
/// when manual, else `range` (the range shown now, which choosing manual takes over).
pub fn calibrators(current: Calibration, range: (f32, f32)) -> [(&'static str, Calibration); 7] {
    let p = match current {
        Calibration::Percentile { p } => p,
        _ => 99.9,
    };
    let gamma = match current {
        Calibration::Sqnr { gamma } => gamma,
        _ => 3.0,
    };
    let fit = match current {
        Calibration::Aciq { fit } => fit,
        _ => crate::calib::aciq::AciqFit::Laplace,
    };
    let manual = match current {
        Calibration::Manual { lo, hi } => Calibration::Manual { lo, hi },
        _ => Calibration::Manual {
            lo: range.0,
            hi: if range.1 > range.0 {
                range.1
            } else {
                range.0 + 1.0
            },
        },
    };
    [
        ("minmax", Calibration::MinMax),
        ("percentile", Calibration::Percentile { p }),
        ("mse", Calibration::Mse),
        ("sqnr", Calibration::Sqnr { gamma }),
        ("kl", Calibration::Kl),
        ("aciq", Calibration::Aciq { fit }),
        ("manual", manual),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_parses_validates_and_is_classified_consistently() {
        let params = CalibrationParams::default();
        for key in Calibration::METHODS {
            let c = Calibration::from_key(key, &params).unwrap_or_else(|| panic!("{key}"));
            assert_eq!(c.key(), key);
            assert_eq!(c.validate(), Ok(()), "{key}");
            // A candidate search looks at the data, and the comparison table lists each method.
            assert!(!c.searches_candidates() || c.searches(), "{key}");
            assert!(calibrators(c, (-1.0, 1.0)).iter().any(|(k, _)| *k == key));
        }
        assert_eq!(
            Calibration::Sqnr { gamma: 0.5 }.validate(),
            Err(CalibrationError::Gamma(0.5))
        );
        assert!(!Calibration::MinMax.searches() && Calibration::Kl.searches_candidates());
    }
}
