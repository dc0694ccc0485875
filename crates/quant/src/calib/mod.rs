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

pub mod aciq;
pub mod kl;
mod minmax;
pub mod mse;
mod percentile;

pub use minmax::{finite_abs_max, finite_min_max};
pub use percentile::{percentile_linear, percentile_range};

use crate::config::{Calibration, QuantizerConfig};

/// The clipping range [α, β] of `values` (which may hold NaN/Inf; they are skipped).
/// Returns `None` when `values` holds no finite number.
pub fn clip_range(values: &[f32], config: &QuantizerConfig) -> Option<(f32, f32)> {
    clip_range_known(values, config, None)
}

/// [`clip_range`] when the finite (min, max) of `values` is already known (the dataset's summary
/// holds it for a whole tensor), which saves min-max, percentile, MSE and KL a pass over the data.
pub fn clip_range_known(
    values: &[f32],
    config: &QuantizerConfig,
    known: Option<(f32, f32)>,
) -> Option<(f32, f32)> {
    match config.calibration {
        Calibration::MinMax => known.or_else(|| finite_min_max(values)),
        Calibration::Percentile { p } => percentile_range(values, p, config.scheme, known),
        Calibration::Mse => mse::mse_range(values, config, known),
        Calibration::Sqnr { gamma } => mse::sqnr_range(values, config, known, gamma),
        Calibration::Kl => kl::kl_range(values, config, known),
        Calibration::Aciq { fit } => {
            aciq::aciq_range(values, config.bits, fit, config.scheme, known)
        }
        Calibration::Manual { lo, hi } => Some((lo, hi)),
    }
}
