//! The `quantscope quantize` contract: flags, JSON fields, outputs and errors.

use assert_cmd::Command;
use quantscope_core::io::npy;
use serde_json::Value;

fn quantscope() -> Command {
    Command::cargo_bin("quantscope").unwrap_or_else(|e| panic!("binary: {e}"))
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("write: {e}"));
    p
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

#[test]
fn per_tensor_int8_json_matches_a_hand_calculation() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let input = write(&dir, "x.npy", &npy::write_f32(&[4], &[-1.0, 0.0, 0.5, 3.0]));
    let v = json_of(quantscope().args(["quantize", "--json"]).arg(&input));
    assert_eq!(v["n"], 4);
    assert_eq!(v["scale"].as_f64(), Some(f64::from(4.0f32 / 255.0)));
    assert_eq!(v["zero_point"], -64);
    assert_eq!(v["clip"], serde_json::json!([-1.0, 3.0]));
    assert_eq!(v["levels_used"], 4);
    assert_eq!(v["nan_count"], 0);
    for key in [
        "mse",
        "rmse",
        "sqnr_db",
        "max_abs_error",
        "mean_abs_error",
        "cosine_similarity",
        "clipped_fraction",
        "code_entropy_bits",
        "bits_per_value",
    ] {
        assert!(v[key].is_number(), "{key} missing: {v}");
    }
    // 0.5 → code 32 - 64 = -32 → 32·S; error 0.5 − 32·4/255
    let s = 4.0f32 / 255.0;
    let errs = [-1.0f32 - (-64.0 * s), 0.0, 0.5 - 32.0 * s, 3.0 - 191.0 * s];
    let mse: f64 = errs
        .iter()
        .map(|&e| f64::from(e) * f64::from(e))
        .sum::<f64>()
        / 4.0;
    let got = v["mse"].as_f64().unwrap_or(f64::NAN);
    assert!((got - mse).abs() < 1e-12, "{got} vs {mse}");
}

#[test]
fn writes_codes_and_dequantized_with_the_input_shape() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let values: Vec<f32> = (0..24).map(|i| (i as f32 - 12.0) / 3.0).collect();
    let input = write(&dir, "w.npy", &npy::write_f32(&[4, 6], &values));
    let deq = dir.path().join("deq.npy");
    let codes = dir.path().join("codes.npy");
    let v = json_of(
        quantscope()
            .args([
                "quantize",
                "--json",
                "--bits",
                "4",
                "--symmetric",
                "--granularity",
                "channel",
                "--axis",
                "0",
            ])
            .arg(&input)
            .arg("--dequantized")
            .arg(&deq)
            .arg("--codes")
            .arg(&codes),
    );
    assert_eq!(v["scale"].as_array().map(Vec::len), Some(4));
    assert_eq!(v["clip"].as_array().map(Vec::len), Some(4));
    let (shape, r_hat) =
        npy::read_f32(&std::fs::read(&deq).unwrap_or_default()).unwrap_or_default();
    assert_eq!(shape, vec![4, 6]);
    let mse: f64 = values
        .iter()
        .zip(&r_hat)
        .map(|(a, b)| f64::from(a - b).powi(2))
        .sum::<f64>()
        / 24.0;
    assert!((mse - v["mse"].as_f64().unwrap_or(f64::NAN)).abs() < 1e-12);
    let code_bytes = std::fs::read(&codes).unwrap_or_default();
    assert!(code_bytes.windows(3).any(|w| w == b"<i4"));
    assert_eq!(
        (code_bytes.len() - 24 * 4) % 64,
        0,
        "header padded to 64 bytes"
    );
}

#[test]
fn safetensors_needs_a_tensor_name_when_there_are_several() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let st = quantscope_core::io::safetensors::write_f32(&[
        ("a", &[2], &[1.0, 2.0]),
        ("b", &[3], &[1.0, 2.0, 4.0]),
    ]);
    let input = write(&dir, "m.safetensors", &st);
    let out = quantscope()
        .arg("quantize")
        .arg(&input)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("holds 2 tensors"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    let v = json_of(
        quantscope()
            .args(["quantize", "--json", "--tensor", "b"])
            .arg(&input),
    );
    assert_eq!(v["n"], 3);
    assert_eq!(v["tensor"], "b");
}

#[test]
fn bad_input_is_one_line_on_stderr_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cases: [(&str, &[u8], &str); 4] = [
        ("bad.npy", b"\x93NUMPY\x01\x00\x05\x00{'de", "truncated"),
        ("bad.csv", b"1,2,x\n", "not a number"),
        ("nan.csv", b"nan,inf", "no finite values"),
        (
            "bad.safetensors",
            b"\x07\x00\x00\x00\x00\x00\x00\x00{\"a\":1}",
            "header entry \"a\"",
        ),
    ];
    for (name, bytes, expected) in cases {
        let input = write(&dir, name, bytes);
        let out = quantscope()
            .arg("quantize")
            .arg(&input)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(expected) && err.contains(name),
            "{name}: {err}"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    let input = write(&dir, "ok.csv", b"1,2,3,4");
    let out = quantscope()
        .args(["quantize", "--bits", "17"])
        .arg(&input)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2), "clap usage error");
    let out = quantscope()
        .args(["quantize", "--granularity", "group", "--group-size", "3"])
        .arg(&input)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not divide"));
    let out = quantscope()
        .args(["quantize", "--calibration", "manual", "--clip", "2,-1"])
        .arg(&input)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn every_calibration_method_runs_and_mse_beats_minmax_on_heavy_tails() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let values = quantscope_core::synth::generate(
        quantscope_core::synth::Distribution::StudentT { nu: 2.5 },
        50_000,
        4,
    )
    .unwrap_or_default();
    let input = write(&dir, "t.npy", &npy::write_f32(&[values.len()], &values));
    let mse_of = |extra: &[&str]| -> (f64, Value) {
        let v = json_of(
            quantscope()
                .args(["quantize", "--json", "--bits", "4", "--symmetric"])
                .args(extra)
                .arg(&input),
        );
        (v["mse"].as_f64().unwrap_or(f64::NAN), v)
    };
    let (minmax, _) = mse_of(&["--calibration", "minmax"]);
    let (mse, v) = mse_of(&["--calibration", "mse"]);
    assert!(mse < minmax / 2.0, "mse {mse} vs minmax {minmax}");
    assert!(v["clipped_fraction"].as_f64().unwrap_or(0.0) > 0.0);
    for extra in [
        &["--calibration", "kl"][..],
        &["--calibration", "sqnr", "--gamma", "3"],
        &["--calibration", "aciq"],
        &["--calibration", "aciq", "--aciq-fit", "gauss"],
        &["--calibration", "percentile", "--percentile", "99.9"],
    ] {
        let (m, v) = mse_of(extra);
        assert!(m.is_finite() && m > 0.0, "{extra:?}: {v}");
        assert!(
            m >= mse * 0.999,
            "{extra:?}: no method beats the MSE-optimal clip by much ({m} < {mse})"
        );
    }
}

#[test]
fn synth_writes_the_apps_distributions() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("t.npy");
    let status = quantscope()
        .args([
            "synth",
            "student-t",
            "--n",
            "5000",
            "--seed",
            "7",
            "--param",
            "nu=2.5",
            "--out",
        ])
        .arg(&out)
        .output()
        .map(|o| o.status)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    let (shape, values) =
        npy::read_f32(&std::fs::read(&out).unwrap_or_default()).unwrap_or_default();
    assert_eq!(shape, vec![5000]);
    let same = quantscope_core::synth::generate(
        quantscope_core::synth::Distribution::StudentT { nu: 2.5 },
        5000,
        7,
    )
    .unwrap_or_default();
    assert_eq!(values, same, "the CLI writes exactly the page's values");
    let bad = quantscope()
        .args(["synth", "normal", "--param", "nu=3", "--out"])
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("does not apply"));
    let bad = quantscope()
        .args(["synth", "cauchy", "--out"])
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown distribution"));
}

#[test]
fn info_lists_every_tensor_with_statistics() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let st = quantscope_core::io::safetensors::write_f32(&[
        ("w", &[2, 2], &[1.0, -3.0, 2.0, f32::NAN]),
        ("b", &[3], &[0.5, 0.5, 0.5]),
    ]);
    let input = write(&dir, "m.safetensors", &st);
    let v = json_of(quantscope().args(["info", "--json"]).arg(&input));
    let t = v["tensors"].as_array().cloned().unwrap_or_default();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0]["name"], "w");
    assert_eq!(t[0]["shape"], serde_json::json!([2, 2]));
    assert_eq!(t[0]["n"], 4);
    assert_eq!(
        (t[0]["min"].as_f64(), t[0]["max"].as_f64()),
        (Some(-3.0), Some(2.0))
    );
    assert_eq!(t[0]["nan_count"], 1);
    assert_eq!(t[0]["mean"].as_f64(), Some(0.0));
    // population std of [1, -3, 2] = √(14/3); max|x|/std = 3/√(14/3)
    let std = (14.0f64 / 3.0).sqrt();
    assert!((t[0]["std"].as_f64().unwrap_or(0.0) - std).abs() < 1e-9);
    assert!((t[0]["outlier_ratio"].as_f64().unwrap_or(0.0) - 3.0 / std).abs() < 1e-9);
    assert_eq!(t[1]["std"].as_f64(), Some(0.0));
    assert!(
        t[1]["outlier_ratio"].is_null(),
        "constant tensor has no ratio"
    );
    let out = quantscope()
        .arg("info")
        .arg(&input)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.lines().count() == 3 && table.contains("F32"),
        "{table}"
    );
}

#[test]
fn formats_and_presets_report_their_bits_and_levels() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let values: Vec<f32> = (0..4 * 64)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
        .collect();
    let input = write(&dir, "w.npy", &npy::write_f32(&[4, 64], &values));
    let run = |args: &[&str]| {
        json_of(
            quantscope()
                .arg("quantize")
                .arg(&input)
                .args(args)
                .arg("--json"),
        )
    };
    let bpv = |v: &Value| v["bits_per_value"].as_f64().unwrap_or(f64::NAN);
    // MXFP4: 4 bits + an 8-bit exponent per 32 values.
    let mx = run(&["--preset", "mxfp4"]);
    assert_eq!((bpv(&mx), mx["format"].as_str()), (4.25, Some("fp4-e2m1")));
    // The same through the separate flags.
    let flags = run(&[
        "--format",
        "fp4-e2m1",
        "--granularity",
        "group",
        "--group-size",
        "32",
        "--scale-format",
        "e8m0",
    ]);
    assert_eq!(flags["mse"], mx["mse"]);
    assert_eq!(bpv(&run(&["--format", "q4_0"])), 4.5);
    assert_eq!(
        bpv(&run(&[
            "--format",
            "fixed",
            "--int-bits",
            "3",
            "--frac-bits",
            "4"
        ])),
        8.0
    );
    // k-means with 8 levels uses at most 8 and beats uniform int3 at the same code width.
    let km = run(&["--format", "kmeans", "--levels", "8"]);
    let int3 = run(&["--bits", "3"]);
    assert!(km["levels_used"].as_u64() <= Some(8));
    assert!(km["mse"].as_f64() < int3["mse"].as_f64(), "{km} vs {int3}");
    // fp8 per tensor: every reconstruction is S times an E4M3 value, S = amax / 448.
    let deq = dir.path().join("deq.npy");
    let v = json_of(
        quantscope()
            .arg("quantize")
            .arg(&input)
            .args(["--format", "fp8-e4m3", "--json", "--dequantized"])
            .arg(&deq),
    );
    let s = v["scale"].as_f64().unwrap_or(f64::NAN) as f32;
    let amax = values.iter().fold(0f32, |a, v| a.max(v.abs()));
    assert_eq!(s, amax / 448.0);
    let out = npy::read_f32(&std::fs::read(&deq).unwrap_or_default()).unwrap_or_default();
    let e4m3 = quantscope_core::minifloat::FP8_E4M3;
    let representable: Vec<f32> = (0..=255u32).map(|c| e4m3.real_from_code(c)).collect();
    assert_eq!(out.1.len(), values.len());
    assert!(out.1.iter().all(|&r| representable.contains(&(r / s))));
}

#[test]
fn format_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let input = write(&dir, "w.npy", &npy::write_f32(&[2, 6], &[0.5; 12]));
    for (args, expected) in [
        (
            vec!["--format", "kmeans", "--vector-dim", "4"],
            "does not divide",
        ),
        (
            vec!["--format", "kmeans", "--levels", "1"],
            "2 to 65536 levels",
        ),
        (
            vec!["--format", "int", "--scale-format", "e8m0"],
            "symmetric",
        ),
        (
            vec!["--format", "fixed", "--int-bits", "12", "--frac-bits", "8"],
            "Q12.8",
        ),
        (vec!["--format", "q8_0"], "does not divide"),
    ] {
        let out = quantscope()
            .arg("quantize")
            .arg(&input)
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(expected) && err.lines().count() == 1,
            "{args:?}: {err}"
        );
    }
    let out = quantscope()
        .arg("quantize")
        .arg(&input)
        .args(["--preset", "mxfp4", "--bits", "4"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out.status.code(),
        Some(2),
        "a preset conflicts with the flags it sets"
    );
}

/// A sharded checkpoint in `dir`: two shards and their index.
fn sharded(dir: &tempfile::TempDir) -> (std::path::PathBuf, Vec<(String, Vec<f32>)>) {
    use quantscope_core::io::safetensors::write_f32;
    let a: Vec<f32> = (0..64).map(|i| ((i * 7 % 13) as f32 - 6.0) / 3.0).collect();
    let b: Vec<f32> = (0..32).map(|i| (i as f32 * 0.37).sin()).collect();
    let c: Vec<f32> = (0..16).map(|i| i as f32 / 16.0).collect();
    write(
        dir,
        "model-00001-of-00002.safetensors",
        &write_f32(&[("a", &[8, 8], &a), ("c", &[16], &c)]),
    );
    write(
        dir,
        "model-00002-of-00002.safetensors",
        &write_f32(&[("b", &[4, 8], &b)]),
    );
    let index = write(
        dir,
        "model.safetensors.index.json",
        br#"{"metadata":{"total_size":448},"weight_map":{"a":"model-00001-of-00002.safetensors","c":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#,
    );
    (
        index,
        vec![("a".into(), a), ("c".into(), c), ("b".into(), b)],
    )
}

#[test]
fn report_covers_every_shard_and_totals_by_parameters() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (index, data) = sharded(&dir);
    let v = json_of(quantscope().arg("report").arg(&index).args([
        "--bits",
        "4",
        "--symmetric",
        "--json",
    ]));
    let rows = v["tensors"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names, vec!["a", "c", "b"]);
    // Each row is what `quantize` says for that tensor alone.
    for r in &rows {
        let name = r["name"].as_str().unwrap_or("");
        let file = r["file"].as_str().unwrap_or("");
        let one = json_of(quantscope().args([
            "quantize",
            file,
            "--tensor",
            name,
            "--bits",
            "4",
            "--symmetric",
            "--json",
        ]));
        assert_eq!(r["mse"], one["mse"], "{name}");
        assert_eq!(r["bits_per_value"], one["bits_per_value"], "{name}");
    }
    // Totals: parameter-weighted bits, and the SQNR of the model as one signal.
    let n: Vec<f64> = rows
        .iter()
        .map(|r| r["n"].as_f64().unwrap_or(0.0))
        .collect();
    let total = &v["total"];
    assert_eq!(total["n"].as_f64(), Some(n.iter().sum::<f64>()));
    let bits: f64 = rows
        .iter()
        .zip(&n)
        .map(|(r, n)| r["bits_per_value"].as_f64().unwrap_or(0.0) * n)
        .sum::<f64>()
        / n.iter().sum::<f64>();
    assert!((total["bits_per_value"].as_f64().unwrap_or(0.0) - bits).abs() < 1e-12);
    let err: f64 = rows
        .iter()
        .zip(&n)
        .map(|(r, n)| r["mse"].as_f64().unwrap_or(0.0) * n)
        .sum();
    let signal: f64 = data
        .iter()
        .flat_map(|(_, v)| v)
        .map(|&x| f64::from(x).powi(2))
        .sum();
    let sqnr = 10.0 * (signal / err).log10();
    assert!(
        (total["sqnr_db"].as_f64().unwrap_or(0.0) - sqnr).abs() < 1e-9,
        "{total} vs {sqnr}"
    );

    // CSV: a header, one row per tensor, the total.
    let out = quantscope()
        .arg("report")
        .arg(&index)
        .args(["--bits", "4", "--csv"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].starts_with("file,name,dtype,shape,n,mse,sqnr_db"));
    assert!(lines[4].starts_with(",TOTAL,"));

    // A tensor whose layout does not fit is reported as skipped, not fatal.
    let v = json_of(quantscope().arg("report").arg(&index).args([
        "--granularity",
        "group",
        "--group-size",
        "8",
        "--json",
    ]));
    let skipped: Vec<&Value> = v["tensors"]
        .as_array()
        .map(|a| a.iter().filter(|r| r["skipped"].is_string()).collect())
        .unwrap_or_default();
    assert_eq!(skipped.len(), 0, "8 divides 8, 16 and 8");
    let v = json_of(quantscope().arg("report").arg(&index).args([
        "--granularity",
        "group",
        "--group-size",
        "16",
        "--json",
    ]));
    assert_eq!(v["total"]["skipped"], 2, "a and b have rows of 8: {v}");
}

#[test]
fn info_reads_shards_header_first_and_lists_integer_tensors() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (index, _) = sharded(&dir);
    let v = json_of(quantscope().arg("info").arg(&index).arg("--json"));
    assert_eq!(v["tensors"].as_array().map(Vec::len), Some(3));
    // An I32 tensor is listed with its dtype and shape, without statistics.
    let header = br#"{"i":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},"f":{"dtype":"F16","shape":[1],"data_offsets":[8,10]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&[1, 0, 0, 0, 2, 0, 0, 0, 0x00, 0x3c]);
    let st = write(&dir, "mixed.safetensors", &bytes);
    let v = json_of(quantscope().arg("info").arg(&st).arg("--json"));
    assert_eq!(v["tensors"][0]["dtype"], "I32");
    assert!(v["tensors"][0]["min"].is_null());
    assert_eq!(v["tensors"][1]["max"], 1.0);
    // An index naming a tensor its shard lacks, and a shard path escaping the directory.
    let bad = write(
        &dir,
        "bad.safetensors.index.json",
        br#"{"weight_map":{"zz":"model-00002-of-00002.safetensors"}}"#,
    );
    let out = quantscope()
        .arg("info")
        .arg(&bad)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("\"zz\"") && err.lines().count() == 1, "{err}");
    let evil = write(
        &dir,
        "evil.safetensors.index.json",
        br#"{"weight_map":{"a":"../x.safetensors"}}"#,
    );
    let out = quantscope()
        .arg("report")
        .arg(&evil)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a plain file name"));
    // `quantize` refuses an integer tensor by name.
    let out = quantscope()
        .args(["quantize"])
        .arg(&st)
        .args(["--tensor", "i"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("float tensors only"));
}

/// Issue 17's grid: odd but legal float32 files × 9 formats × 6 calibrations through the binary.
/// Each ends with a result (exit 0) or a one-line error (exit 1), never a panic (exit 101).
#[test]
fn odd_values_end_with_a_result_or_one_line_never_a_panic() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inputs: [(&str, Vec<f32>); 9] = [
        ("sub", vec![0.0, 1e-41, 2.2e-41, 1.5e-41]),
        ("max", [3.4e38, -3.4e38, 1.0, 0.0].repeat(256)),
        (
            "limits",
            [f32::MAX, f32::MIN, f32::MIN_POSITIVE, 1.0].repeat(8),
        ),
        ("tiny_huge", [1e-41, 3e38, -1e-30, 1.0].repeat(16)),
        ("zeros", vec![0.0, -0.0, 0.0, -0.0]),
        ("one", vec![1.5]),
        ("nan_inf", [f32::NAN, 1.0, f32::INFINITY, -2.0].repeat(8)),
        ("mask", [f32::MIN, 0.0, 0.0, 0.0].repeat(16)),
        (
            "floor",
            (0..64).map(|i| 1e-10 * (i as f32 - 32.0)).collect(),
        ),
    ];
    let formats = [
        "int", "fp8-e4m3", "fp4-e2m1", "nf4", "fp16", "q8_0", "q4_1", "kmeans", "log2",
    ];
    let calibrations = ["minmax", "percentile", "mse", "sqnr", "kl", "aciq"];
    let mut failures = Vec::new();
    for (name, values) in &inputs {
        let path = write(
            &dir,
            &format!("{name}.npy"),
            &npy::write_f32(&[values.len()], values),
        );
        for format in formats {
            for calibration in calibrations {
                let out = quantscope()
                    .args(["quantize", "--json", "--format", format])
                    .args(["--calibration", calibration])
                    .arg(&path)
                    .output()
                    .unwrap_or_else(|e| panic!("{e}"));
                let err = String::from_utf8_lossy(&out.stderr);
                let ok = match out.status.code() {
                    Some(0) => serde_json::from_slice::<Value>(&out.stdout)
                        .map(|v| {
                            // null only for ±∞; where nothing overflowed, only SQNR of an
                            // exact reconstruction may be.
                            let overflow = v["overflowed"].as_u64().unwrap_or(0) > 0;
                            v["mse"].is_number() || overflow
                        })
                        .unwrap_or(false),
                    Some(1) => err.lines().count() == 1 && !err.contains("panicked"),
                    _ => false,
                };
                if !ok {
                    failures.push(format!(
                        "{name} {format} {calibration}: exit {:?}: {}",
                        out.status.code(),
                        err.lines().next().unwrap_or("")
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The human-readable output names the floor and the overflow.
    let out = quantscope()
        .arg("quantize")
        .arg(dir.path().join("floor.npy"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("below the smallest scale"), "{text}");
    let out = quantscope()
        .args(["quantize", "--format", "fp16"])
        .arg(dir.path().join("max.npy"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("overflowed        512"), "{text}");
    assert!(text.contains("beyond fp16's largest value"), "{text}");
    assert!(
        text.contains("clip              [-3.4e38, 3.4e38]"),
        "{text}"
    );
}

/// `report` on a checkpoint holding odd tensors (a mask at f32::MIN, subnormals) reports every
/// tensor and marks the overflow instead of calling it exact.
#[test]
fn report_survives_odd_tensors_and_names_the_overflow() {
    use quantscope_core::io::safetensors::write_f32;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mask = [f32::MIN, 0.0, 0.0, 0.0].repeat(8);
    let sub = [0.0, 1e-41, 2.2e-41, 1.5e-41];
    let st = write_f32(&[
        ("mask", &[4, 8][..], &mask[..]),
        ("sub", &[2, 2][..], &sub[..]),
    ]);
    let input = write(&dir, "odd.safetensors", &st);
    let out = quantscope()
        .args(["report", "--format", "fp16"])
        .arg(&input)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mask_row = text.lines().find(|l| l.starts_with("mask")).unwrap_or("");
    assert!(
        mask_row.contains("overflow") && !mask_row.contains("exact"),
        "{text}"
    );
    assert!(text.contains("8 values overflow the format"), "{text}");
    let v = json_of(quantscope().args(["report", "--json"]).arg(&input));
    let rows = v["tensors"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 2, "{v}");
    assert!(rows.iter().all(|r| r["mse"].is_number()), "{v}");
}

/// Q4_1's JSON gives each block's minimum as its offset: every value decodes from the codes as
/// d · q + m, the same r̂ as `--dequantized` writes.
#[test]
fn q4_1_json_offsets_decode_the_codes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let values: Vec<f32> = (0..64).map(|i| 0.5 + (i * 37 % 29) as f32 / 10.0).collect();
    let input = write(&dir, "x.npy", &npy::write_f32(&[2, 32], &values));
    let (codes, deq) = (dir.path().join("c.npy"), dir.path().join("d.npy"));
    let v = json_of(
        quantscope()
            .args(["quantize", "--json", "--format", "q4_1", "--codes"])
            .arg(&codes)
            .arg("--dequantized")
            .arg(&deq)
            .arg(&input),
    );
    let list = |key: &str| -> Vec<f32> {
        v[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x.as_f64().unwrap_or(f64::NAN) as f32)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (scales, offsets) = (list("scale"), list("offset"));
    assert_eq!(offsets.len(), 2, "{v}");
    // The data are positive: each block's minimum is its offset, not 0.
    assert!(offsets.iter().all(|&m| m > 0.4), "{offsets:?}");
    let read = |p: &std::path::Path| std::fs::read(p).unwrap_or_else(|e| panic!("{e}"));
    // The codes: little-endian i32, the file's last 64 · 4 bytes (after the .npy header).
    let raw = read(&codes);
    let codes: Vec<f32> = raw[raw.len() - 64 * 4..]
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32)
        .collect();
    let (_, deq) = npy::read_f32(&read(&deq)).unwrap_or_else(|e| panic!("{e}"));
    for (i, (&q, &x)) in codes.iter().zip(&deq).enumerate() {
        let g = i / 32;
        assert_eq!(scales[g] * q + offsets[g], x, "value {i}");
    }
}
