//! Min-max calibration: the range of the finite values.

/// (min, max) of the finite values, or `None` if there are none.
///
/// Eight independent lanes of compare-and-select (a masked non-finite value never wins), which the
/// compiler turns into SIMD; a fold over `f32::min` is one serial chain.
pub fn finite_min_max(values: &[f32]) -> Option<(f32, f32)> {
    const L: usize = 8;
    let mut lo = [f32::INFINITY; L];
    let mut hi = [f32::NEG_INFINITY; L];
    let mut blocks = values.chunks_exact(L);
    for block in blocks.by_ref() {
        for k in 0..L {
            let v = block[k];
            let ok = v.is_finite();
            lo[k] = if ok & (v < lo[k]) { v } else { lo[k] };
            hi[k] = if ok & (v > hi[k]) { v } else { hi[k] };
        }
    }
    for &v in blocks.remainder() {
        if v.is_finite() {
            lo[0] = if v < lo[0] { v } else { lo[0] };
            hi[0] = if v > hi[0] { v } else { hi[0] };
        }
    }
    // Compares rather than f32::min/max: no lane holds NaN, and in WebAssembly f32::min is a
    // call to fminf (this runs once per block of a block format).
    let lo = lo
        .iter()
        .copied()
        .fold(f32::INFINITY, |a, b| if b < a { b } else { a });
    let hi = hi
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, |a, b| if b > a { b } else { a });
    (lo <= hi).then_some((lo, hi))
}

/// max |v| of the finite values of `values`, 0 if there are none: the bound of a symmetric
/// min-max block, which is `max(|min|, |max|)` of [`finite_min_max`] for every input.
///
/// Read from the bits: |v| of a non-negative f32 orders as its bit pattern, and a pattern below
/// 0x7F80_0000 is finite, so this is an integer max over eight lanes, about a third of the time
/// of the float min and max together (profiled: that pair was 11 % of an MXFP4 pass).
pub fn finite_abs_max(values: &[f32]) -> f32 {
    const L: usize = 8;
    const MAG: u32 = 0x7FFF_FFFF;
    const INF: u32 = 0x7F80_0000;
    let lane = |v: f32| {
        let m = v.to_bits() & MAG;
        if m < INF {
            m
        } else {
            0
        }
    };
    let mut acc = [0u32; L];
    let mut blocks = values.chunks_exact(L);
    for block in blocks.by_ref() {
        for k in 0..L {
            acc[k] = acc[k].max(lane(block[k]));
        }
    }
    let mut m = blocks.remainder().iter().fold(0, |a, &v| a.max(lane(v)));
    for a in acc {
        m = m.max(a);
    }
    f32::from_bits(m)
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
        let mut long: Vec<f32> = (0..100).map(|i| i as f32 - 50.0).collect();
        long[3] = f32::NEG_INFINITY;
        long[17] = f32::NAN;
        long[98] = f32::INFINITY;
        assert_eq!(finite_min_max(&long), Some((-50.0, 49.0)));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn abs_max_is_the_bound_of_the_min_max_range() {
        let odd = [
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -0.0,
            0.0,
            f32::MIN_POSITIVE,
            -1e-45,
            f32::MAX,
            -f32::MAX,
            -3.5,
            2.25,
        ];
        let mut state = 0x9E37_79B9u32;
        for len in 0..40 {
            let v: Vec<f32> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    odd[state as usize % odd.len()]
                })
                .collect();
            let want = finite_min_max(&v).map_or(0.0, |(lo, hi)| lo.abs().max(hi.abs()));
            assert_eq!(finite_abs_max(&v).to_bits(), want.to_bits(), "{v:?}");
        }
    }
}
