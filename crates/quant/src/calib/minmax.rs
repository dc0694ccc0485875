//! Min-max calibration: the range of the finite values.

/// (min, max) of the finite values, or `None` if there are none.
pub fn finite_min_max(values: &[f32]) -> Option<(f32, f32)> {
    let (lo, hi) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    (lo <= hi).then_some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn skips_non_finite() {
        assert_eq!(
            finite_min_max(&[f32::NAN, 2.0, -1.0, f32::INFINITY]),
            Some((-1.0, 2.0))
        );
        assert_eq!(finite_min_max(&[f32::NAN]), None);
        assert_eq!(finite_min_max(&[]), None);
        assert_eq!(finite_min_max(&[3.0]), Some((3.0, 3.0)));
    }
}
