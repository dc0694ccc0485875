//! BitNet b1.58's ternary weights against a numpy port of its reference `weight_quant`
//! (`scripts/golden/make_ternary.py`): codes, and reconstructions bit for bit (±0 alike), per tensor, per
//! channel and per group, with the ties (|w · s| = ½ → 0) and the ε floor. Runs natively and on
//! wasm32.

use quantscope_core::{quantize, Dataset, Format, Granularity, QuantizerConfig};
use serde_json::Value;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const GOLDEN: &str = include_str!("golden/ternary.json");

fn numbers(v: &Value) -> Vec<i64> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_i64().unwrap_or(i64::MIN)).collect())
        .unwrap_or_default()
}

fn f32s(v: &Value) -> Vec<f32> {
    numbers(v)
        .into_iter()
        .map(|b| f32::from_bits(b as u32))
        .collect()
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn ternary_matches_bitnets_weight_quant_bit_for_bit() {
    let golden: Value = serde_json::from_str(GOLDEN).unwrap_or_else(|e| panic!("golden: {e}"));
    let cases = golden["cases"].as_array().cloned().unwrap_or_default();
    assert_eq!(cases.len(), 6);
    for case in cases {
        let name = case["name"].as_str().unwrap_or("?");
        let shape: Vec<usize> = numbers(&case["shape"])
            .iter()
            .map(|&d| d as usize)
            .collect();
        let granularity = match case["granularity"].as_str().unwrap_or("?") {
            "tensor" => Granularity::Tensor,
            "channel" => Granularity::Channel { axis: 0 },
            g => Granularity::Group {
                size: g
                    .strip_prefix("group:")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| panic!("{g}")),
            },
        };
        let d = Dataset::new(name, shape, f32s(&case["values"])).unwrap_or_else(|e| panic!("{e}"));
        let c = QuantizerConfig {
            format: Format::Ternary,
            granularity,
            ..QuantizerConfig::default()
        };
        let q = quantize(&d, &c).unwrap_or_else(|e| panic!("{name}: {e}"));
        let codes: Vec<i64> = q.codes.iter().map(|&c| i64::from(c)).collect();
        assert_eq!(codes, numbers(&case["codes"]), "{name}: codes");
        let expected = f32s(&case["dequantized"]);
        assert_eq!(q.dequantized.len(), expected.len(), "{name}");
        for (i, (a, b)) in q.dequantized.iter().zip(&expected).enumerate() {
            // Bit for bit, but for the sign of zero: the reference's q / s keeps −0 for a small
            // negative weight, the level table writes 0 (equal numbers).
            let same = a.to_bits() == b.to_bits() || (*a == 0.0 && *b == 0.0);
            assert!(same, "{name}: value {i}: {a} against {b}");
        }
    }
}
