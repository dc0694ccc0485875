//! The layer lab against `scripts/golden/make_layer.py`: RTN's weights bit for bit as numpy's
//! port of torch.ao's arithmetic computes them, GPTQ against a line-by-line numpy port of
//! IST-DASLab/gptq's `fasterquant`, AWQ's α search, SmoothQuant W8A8 and a Hadamard rotation —
//! natively and on wasm32.

use quantscope_core::layer::{self, GptqOptions, Layer, LayerOptions, Method};
use quantscope_core::{Granularity, QuantizerConfig, Scheme};
use serde_json::Value;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const GOLDEN: &str = include_str!("golden/layer.json");

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
        .unwrap_or_default()
}

fn close(got: f64, want: f64, rel: f64, what: &str) {
    assert!(
        (got - want).abs() <= rel * want.abs().max(1e-300),
        "{what}: {got} against numpy's {want}"
    );
}

fn run_case(doc: &Value, case: &Value) -> (layer::LayerReport, Vec<f64>) {
    let dim = |k: &str| doc[k].as_u64().unwrap_or(0) as usize;
    let (out, inputs, tokens) = (dim("out"), dim("in"), dim("tokens"));
    let w: Vec<f32> = f64s(&doc["w"]).iter().map(|&v| v as f32).collect();
    let x: Vec<f32> = f64s(&doc["x"]).iter().map(|&v| v as f32).collect();
    let l = Layer::new(&w, &[out, inputs], &x, &[tokens, inputs]).unwrap_or_else(|e| panic!("{e}"));
    let granularity = match case["per"].as_str() {
        Some("tensor") => Granularity::Tensor,
        Some("group") => Granularity::Group {
            size: case["group"].as_u64().unwrap_or(0) as usize,
        },
        _ => Granularity::Channel { axis: 0 },
    };
    let config = QuantizerConfig {
        bits: case["bits"].as_u64().unwrap_or(0) as u8,
        scheme: Scheme::Symmetric,
        granularity,
        ..QuantizerConfig::default()
    };
    let options = LayerOptions {
        method: Method::from_name(case["method"].as_str().unwrap_or("")).unwrap_or(Method::Rtn),
        rotate_block: case["rotate_block"].as_u64().map(|b| b as usize),
        smooth_alpha: case["smooth_alpha"].as_f64().map(|a| a as f32),
        act_bits: case["act_bits"].as_u64().map(|b| b as u8),
        gptq: GptqOptions {
            block_size: case["gptq_block"].as_u64().unwrap_or(128) as usize,
            act_order: case["act_order"].as_bool().unwrap_or(false),
            ..GptqOptions::default()
        },
        ..LayerOptions::default()
    };
    layer::run_with_weights(&l, &config, &options, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"))
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[test]
fn every_case_matches_numpy() {
    let doc: Value = serde_json::from_str(GOLDEN).unwrap_or_else(|e| panic!("golden json: {e}"));
    let cases = doc["cases"].as_array().cloned().unwrap_or_default();
    assert_eq!(cases.len(), 9);
    for case in &cases {
        let name = case["name"].as_str().unwrap_or("?");
        let (r, w_hat) = run_case(&doc, case);
        // RTN's and GPTQ's quantized weights, value for value (they are f32 values; serde_json's
        // default parser may miss the last bit of an f64, never of an f32).
        if case["w_hat"].is_array() {
            let want = f64s(&case["w_hat"]);
            assert_eq!(w_hat.len(), want.len());
            for (i, (&got, &want)) in w_hat.iter().zip(&want).enumerate() {
                assert_eq!(got as f32, want as f32, "{name}: weight {i}");
                assert_eq!(
                    f64::from(got as f32),
                    got,
                    "{name}: weight {i} is not an f32 value"
                );
            }
        }
        // RTN's figures are numpy's to rounding of the sums; GPTQ's to its float64 arithmetic.
        let rel = 1e-9;
        for key in [
            "output_mse",
            "output_sqnr_db",
            "weight_mse",
            "weight_sqnr_db",
        ] {
            let got = match key {
                "output_mse" => r.output_mse,
                "output_sqnr_db" => r.output_sqnr_db,
                "weight_mse" => r.weight_mse,
                _ => r.weight_sqnr_db,
            };
            close(
                got,
                case[key].as_f64().unwrap_or(f64::NAN),
                rel,
                &format!("{name}: {key}"),
            );
        }
        for (o, (&got, want)) in r
            .per_output_mse
            .iter()
            .zip(f64s(&case["per_output_mse"]))
            .enumerate()
        {
            close(got, want, rel, &format!("{name}: output {o}"));
        }
        if let Some(alpha) = case["awq_alpha"].as_f64() {
            assert_eq!(r.awq_alpha, Some(alpha as f32), "{name}");
            for ((_, got), want) in r.awq_curve.iter().zip(f64s(&case["awq_curve"])) {
                close(*got, want, rel, &format!("{name}: AWQ curve"));
            }
        }
        if let Some(damp) = case["damp"].as_f64() {
            close(
                r.gptq_damp.unwrap_or(f64::NAN),
                damp,
                1e-12,
                &format!("{name}: λ"),
            );
            close(
                r.gptq_loss.unwrap_or(f64::NAN),
                case["loss"].as_f64().unwrap_or(f64::NAN),
                rel,
                &format!("{name}: loss"),
            );
        }
    }
}
