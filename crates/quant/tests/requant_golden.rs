//! Integer-only inference against `scripts/golden/make_requant.py`, a Python port of TensorFlow
//! Lite's reference requantization and gemmlowp's fixed-point helpers: every edge case (ties,
//! negative values, left and right shifts, a mantissa rounding up to 2^31, shifts below −31, the
//! INT32_MIN · INT32_MIN saturation) and one layer end to end — bit for bit, natively and on wasm32.

use quantscope_core::intmatmul::{
    int_matmul, multiply_by_quantized_multiplier, quantize_multiplier, rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
};
use serde_json::Value;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const GOLDEN: &str = include_str!("golden/requant.json");

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .map(|a| a.iter().map(int).collect())
        .unwrap_or_default()
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[test]
fn requantization_matches_the_reference_bit_for_bit() {
    let doc: Value = serde_json::from_str(GOLDEN).unwrap_or_else(|e| panic!("{e}"));
    let list = |k: &str| doc[k].as_array().cloned().unwrap_or_default();
    assert_eq!(list("quantize_multiplier").len(), 19);
    for c in list("quantize_multiplier") {
        let m = c["m"].as_f64().unwrap_or(f64::NAN);
        let (m0, shift) = quantize_multiplier(m);
        assert_eq!(
            (i64::from(m0), i64::from(shift)),
            (int(&c["multiplier"]), int(&c["shift"])),
            "M = {m}"
        );
    }
    for c in list("high_mul") {
        let (a, b) = (int(&c["a"]) as i32, int(&c["b"]) as i32);
        assert_eq!(
            i64::from(saturating_rounding_doubling_high_mul(a, b)),
            int(&c["out"]),
            "{a} · {b}"
        );
    }
    for c in list("divide_by_pot") {
        let (x, e) = (int(&c["x"]) as i32, int(&c["e"]) as u32);
        assert_eq!(
            i64::from(rounding_divide_by_pot(x, e)),
            int(&c["out"]),
            "{x} / 2^{e}"
        );
    }
    for c in list("multiply") {
        let (x, m0, s) = (
            int(&c["x"]) as i32,
            int(&c["multiplier"]) as i32,
            int(&c["shift"]) as i32,
        );
        assert_eq!(
            i64::from(multiply_by_quantized_multiplier(x, m0, s)),
            int(&c["out"]),
            "{x} · {m0} · 2^({s} − 31)"
        );
    }
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[test]
fn a_layer_matches_the_reference_end_to_end() {
    let doc: Value = serde_json::from_str(GOLDEN).unwrap_or_else(|e| panic!("{e}"));
    let l = &doc["layer"];
    let floats = |k: &str| -> Vec<f32> {
        l[k].as_array()
            .map(|a| {
                a.iter()
                    .map(|v| v.as_f64().unwrap_or(f64::NAN) as f32)
                    .collect()
            })
            .unwrap_or_default()
    };
    let shape = |k: &str| -> Vec<usize> { ints(&l[k]).into_iter().map(|v| v as usize).collect() };
    let r = int_matmul(
        &floats("x"),
        &shape("x_shape"),
        &floats("w"),
        &shape("w_shape"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        r.input_scale,
        l["input_scale"].as_f64().unwrap_or(0.0) as f32
    );
    assert_eq!(i64::from(r.input_zero_point), int(&l["input_zero_point"]));
    assert_eq!(r.weight_scale, floats("weight_scale"));
    assert_eq!(
        r.output_scale,
        l["output_scale"].as_f64().unwrap_or(0.0) as f32
    );
    assert_eq!(i64::from(r.output_zero_point), int(&l["output_zero_point"]));
    let as64 = |v: &[i32]| v.iter().map(|&x| i64::from(x)).collect::<Vec<_>>();
    assert_eq!(as64(&r.multiplier), ints(&l["multiplier"]));
    assert_eq!(as64(&r.shift), ints(&l["shift"]));
    let i8s = |v: &[i8]| v.iter().map(|&x| i64::from(x)).collect::<Vec<_>>();
    assert_eq!(i8s(&r.x_q), ints(&l["x_q"]));
    assert_eq!(i8s(&r.w_q), ints(&l["w_q"]));
    assert_eq!(as64(&r.acc), ints(&l["acc"]));
    assert_eq!(i8s(&r.y_q), ints(&l["y_q"]));
}
