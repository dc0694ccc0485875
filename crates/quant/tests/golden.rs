//! The core against golden vectors derived independently with numpy
//! (`scripts/golden/make_golden.py`, PyTorch observer arithmetic in float32): scales, zero-points,
//! codes and dequantized values bit for bit, the MSE to 1e-12. Runs natively and on wasm32.

use quantscope_core::{
    analyze, quantize, AnalysisOptions, Dataset, Granularity, QuantizerConfig, Scheme, Signedness,
};
use serde_json::Value;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const GOLDEN: &str = include_str!("golden/uniform.json");

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x.as_f64().unwrap_or(f64::NAN) as f32)
                .collect()
        })
        .unwrap_or_default()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_i64().unwrap_or(i64::MIN)).collect())
        .unwrap_or_default()
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn core_matches_the_numpy_golden_vectors() {
    let golden: Value = serde_json::from_str(GOLDEN).unwrap_or_else(|e| panic!("golden json: {e}"));
    let cases = golden["cases"].as_array().cloned().unwrap_or_default();
    assert!(cases.len() >= 30, "all corners present");
    for c in &cases {
        let name = c["name"].as_str().unwrap_or("?");
        let shape: Vec<usize> = ints(&c["shape"]).into_iter().map(|d| d as usize).collect();
        let granularity = match c["granularity"].as_str() {
            Some("channel") => Granularity::Channel {
                axis: c["axis"].as_u64().unwrap_or(0) as usize,
            },
            Some("group") => Granularity::Group {
                size: c["group_size"].as_u64().unwrap_or(1) as usize,
            },
            _ => Granularity::Tensor,
        };
        let config = QuantizerConfig {
            bits: c["bits"].as_u64().unwrap_or(8) as u8,
            signedness: if c["signed"].as_bool() == Some(true) {
                Signedness::Signed
            } else {
                Signedness::Unsigned
            },
            scheme: if c["symmetric"].as_bool() == Some(true) {
                Scheme::Symmetric
            } else {
                Scheme::Asymmetric
            },
            granularity,
            ..Default::default()
        };
        let d =
            Dataset::new(name, shape, f32s(&c["input"])).unwrap_or_else(|e| panic!("{name}: {e}"));
        let q = quantize(&d, &config).unwrap_or_else(|e| panic!("{name}: {e}"));
        let scales: Vec<f32> = q.groups.iter().map(|g| g.params.scale).collect();
        let zps: Vec<i64> = q
            .groups
            .iter()
            .map(|g| i64::from(g.params.zero_point))
            .collect();
        assert_eq!(scales, f32s(&c["scale"]), "{name}: scales");
        assert_eq!(zps, ints(&c["zero_point"]), "{name}: zero-points");
        let codes: Vec<i64> = q.codes.iter().map(|&x| i64::from(x)).collect();
        assert_eq!(codes, ints(&c["codes"]), "{name}: codes");
        assert_eq!(
            q.dequantized,
            f32s(&c["dequantized"]),
            "{name}: dequantized"
        );
        let a = analyze(&d, &config, &AnalysisOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mse = c["mse"].as_f64().unwrap_or(f64::NAN);
        assert!(
            (a.metrics.mse - mse).abs() <= mse.abs() * 1e-12 + 1e-30,
            "{name}: mse {} vs {mse}",
            a.metrics.mse
        );
    }
}
