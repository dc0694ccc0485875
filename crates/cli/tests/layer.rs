//! `quantscope layer` on the shipped MiniLM sample and on hand-made inputs: the JSON holds the
//! core's figures (one truth with the page), the written Ŵ is what the error was measured on, and
//! bad input ends with one line naming what is wrong.

use assert_cmd::Command;
use quantscope_core::io::npy;
use quantscope_core::layer::{self, Layer, LayerOptions};
use quantscope_core::{QuantizerConfig, Scheme};
use serde_json::Value;

fn quantscope() -> Command {
    Command::cargo_bin("quantscope").unwrap_or_else(|e| panic!("binary: {e}"))
}

fn sample(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/samples")
        .join(name)
}

fn json_of(cmd: &mut Command) -> Value {
    let out = cmd.output().unwrap_or_else(|e| panic!("run: {e}"));
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("json: {e}"))
}

fn read(path: &std::path::Path) -> (Vec<usize>, Vec<f32>) {
    npy::read_f32(&std::fs::read(path).unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_minilm_sample_shows_weight_and_output_error_apart() {
    let (w, x) = (
        sample("minilm-l0-ffn-output.npy"),
        sample("minilm-l0-ffn-input.npy"),
    );
    let v = json_of(
        quantscope()
            .args([
                "layer",
                "--json",
                "--bits",
                "4",
                "--symmetric",
                "--activations",
            ])
            .arg(&x)
            .arg(&w),
    );
    assert_eq!(
        (v["out"].as_u64(), v["in"].as_u64(), v["tokens"].as_u64()),
        (Some(384), Some(1536), Some(512))
    );
    assert_eq!(v["method"], "rtn");
    // One outlier weight takes the per-tensor scale: the weights are nearly all lost, the output
    // much less (the outlier carries most of it).
    let (wq, oq) = (
        v["weight_sqnr_db"].as_f64().unwrap_or(0.0),
        v["output_sqnr_db"].as_f64().unwrap_or(0.0),
    );
    assert!(wq < 1.0 && oq > 10.0, "weight {wq} dB, output {oq} dB");
    assert_eq!(v["per_output_mse"].as_array().map(Vec::len), Some(384));

    // The same figures from the core.
    let ((ws, wv), (xs, xv)) = (read(&w), read(&x));
    let l = Layer::new(&wv, &ws, &xv, &xs).unwrap_or_else(|e| panic!("{e}"));
    let config = QuantizerConfig {
        bits: 4,
        scheme: Scheme::Symmetric,
        ..QuantizerConfig::default()
    };
    let r = layer::run(&l, &config, &LayerOptions::default(), &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["output_mse"].as_f64(), Some(r.output_mse));
    assert_eq!(v["weight_mse"].as_f64(), Some(r.weight_mse));
}

#[test]
fn methods_and_transforms_report_their_own_fields_and_write_what_they_measured() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (out, inputs, tokens) = (16usize, 64usize, 80usize);
    let mut w: Vec<f32> = (0..out * inputs)
        .map(|i| ((i * 7919) % 997) as f32 / 500.0 - 1.0)
        .collect();
    w[5 * inputs + 9] = 12.0; // an outlier weight, which a rotation spreads
    let x: Vec<f32> = (0..tokens * inputs)
        .map(|i| {
            (((i * 104_729) % 1009) as f32 / 500.0 - 1.0) * if i % inputs == 3 { 20.0 } else { 1.0 }
        })
        .collect();
    let (wp, xp) = (dir.path().join("w.npy"), dir.path().join("x.npy"));
    std::fs::write(&wp, npy::write_f32(&[out, inputs], &w)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&xp, npy::write_f32(&[tokens, inputs], &x)).unwrap_or_else(|e| panic!("{e}"));
    let base = |method: &str| {
        let mut c = quantscope();
        c.args([
            "layer",
            "--json",
            "--bits",
            "4",
            "--symmetric",
            "--granularity",
            "channel",
            "--method",
            method,
        ])
        .arg("--activations")
        .arg(&xp)
        .arg(&wp);
        c
    };
    let awq = json_of(&mut base("awq"));
    assert!(awq["awq_alpha"].as_f64().is_some());
    assert_eq!(
        awq["awq_curve"].as_array().map(Vec::len),
        Some(layer::AWQ_GRID)
    );
    let rtn = json_of(&mut base("rtn"));
    assert!(rtn.get("awq_alpha").is_none() && rtn.get("gptq").is_none());
    assert!(awq["output_mse"].as_f64() <= rtn["output_mse"].as_f64());

    let w_hat = dir.path().join("w_hat.npy");
    let gptq = json_of(
        base("gptq")
            .args(["--gptq-block", "16"])
            .arg("--dequantized")
            .arg(&w_hat),
    );
    assert_eq!(gptq["gptq"]["block_size"], 16);
    let (shape, q) = read(&w_hat);
    assert_eq!(shape, [out, inputs]);
    // The written Ŵ is the one measured: its output error recomputed here equals the report's.
    let mut sum = 0.0;
    for t in 0..tokens {
        for o in 0..out {
            let (mut y, mut yq) = (0f64, 0f64);
            for j in 0..inputs {
                y += f64::from(x[t * inputs + j]) * f64::from(w[o * inputs + j]);
                yq += f64::from(x[t * inputs + j]) * f64::from(q[o * inputs + j]);
            }
            sum += (y - yq) * (y - yq);
        }
    }
    let mse = sum / (tokens * out) as f64;
    let want = gptq["output_mse"].as_f64().unwrap_or(f64::NAN);
    assert!((mse - want).abs() <= 1e-9 * want, "{mse} vs {want}");

    let rot = json_of(base("rtn").args(["--rotate", "hadamard", "--rotate-seed", "3"]));
    assert_eq!(rot["rotate_block"], 64);
    assert!(
        rot["quantized_max_over_std"].as_f64() < rot["weight_max_over_std"].as_f64(),
        "{rot}"
    );
}

#[test]
fn bad_input_is_one_line_naming_the_cause() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (wp, xp) = (dir.path().join("w.npy"), dir.path().join("x.npy"));
    std::fs::write(&wp, npy::write_f32(&[4, 8], &[0.5; 32])).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&xp, npy::write_f32(&[3, 6], &[1.0; 18])).unwrap_or_else(|e| panic!("{e}"));
    let fails = |extra: &[&str], x: &std::path::Path| {
        let out = quantscope()
            .arg("layer")
            .arg(&wp)
            .arg("--activations")
            .arg(x)
            .args(extra)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        err
    };
    assert!(fails(&[], &xp).contains("6 features per token but the weights take 8 inputs"));
    let xp8 = dir.path().join("x8.npy");
    std::fs::write(&xp8, npy::write_f32(&[3, 8], &[1.0; 24])).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        fails(&["--rotate", "hadamard", "--rotate-block", "3"], &xp8)
            .contains("power of two dividing the 8 inputs")
    );
    assert!(fails(&["--rotate-block", "4"], &xp8).contains("need --rotate hadamard"));
    assert!(fails(&["--smooth-alpha", "2"], &xp8).contains("α must lie in [0, 1]"));
    assert!(fails(&["--method", "gptq", "--preset", "q4_k"], &xp8).contains("Q4_K"));
}
