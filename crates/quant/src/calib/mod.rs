//! Calibration: choosing the clipping range [α, β] of one tensor, channel or group.
//!
//! | method     | exactness                                                              |
//! |------------|------------------------------------------------------------------------|
//! | min-max    | exact                                                                  |
//! | percentile | exact order statistics with linear interpolation (`numpy.percentile`)  |
//! | manual     | the user's range, as given                                             |
//!
//! Non-finite values never take part in calibration.

mod minmax;
mod percentile;

pub use minmax::finite_min_max;
pub use percentile::{percentile_linear, percentile_range};

use crate::config::{Calibration, Scheme};

/// The clipping range [α, β] of `values` (which may hold NaN/Inf; they are skipped).
/// Returns `None` when `values` holds no finite number.
pub fn clip_range(values: &[f32], calibration: Calibration, scheme: Scheme) -> Option<(f32, f32)> {
    match calibration {
        Calibration::MinMax => finite_min_max(values),
        Calibration::Percentile { p } => percentile_range(values, p, scheme),
        Calibration::Manual { lo, hi } => Some((lo, hi)),
    }
}
