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

use crate::config::Scheme;

/// The p-th percentile (0 ≤ p ≤ 100) of `values` with linear interpolation; reorders the slice.
/// `values` must be non-empty and finite.
pub fn percentile_linear(values: &mut [f32], p: f64) -> f32 {
    let n = values.len();
    let h = (p / 100.0).clamp(0.0, 1.0) * (n - 1) as f64;
    let k = h.floor() as usize;
    let f = h - k as f64;
    let (_, &mut lo, upper) = values.select_nth_unstable_by(k, f32::total_cmp);
    if f == 0.0 || upper.is_empty() {
        return lo;
    }
    // The (k+1)-th smallest is the minimum of the part above k.
    let hi = upper.iter().copied().fold(f32::INFINITY, f32::min);
    (f64::from(lo) + f * (f64::from(hi) - f64::from(lo))) as f32
}

/// The clipping range for percentile `p` (see the module docs), or `None` without finite values.
pub fn percentile_range(values: &[f32], p: f64, scheme: Scheme) -> Option<(f32, f32)> {
    match scheme {
        Scheme::Symmetric => {
            let mut abs: Vec<f32> = values
                .iter()
                .filter(|v| v.is_finite())
                .map(|v| v.abs())
                .collect();
            if abs.is_empty() {
                return None;
            }
            let b = percentile_linear(&mut abs, p);
            Some((-b, b))
        }
        Scheme::Asymmetric => {
            let mut finite: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
            if finite.is_empty() {
                return None;
            }
            let hi = percentile_linear(&mut finite, p);
            let lo = percentile_linear(&mut finite, 100.0 - p);
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
            percentile_range(&v, 90.0, Scheme::Asymmetric),
            Some((-40.0, 40.0))
        );
        // |x| has values 0,1,1,2,2,...,50,50 (101 values); 90th percentile at h = 90 → 45
        assert_eq!(
            percentile_range(&v, 90.0, Scheme::Symmetric),
            Some((-45.0, 45.0))
        );
        assert_eq!(percentile_range(&[f32::NAN], 90.0, Scheme::Symmetric), None);
    }
}
