//! `quantscope allocate`: the assignment of a small checkpoint is the brute-force optimum over
//! the core's per-tensor figures, fits the budget, keeps what it cannot allocate, and writes
//! llama.cpp's --tensor-type lines for GGML candidates.

use assert_cmd::Command;
use quantscope_core::allocate;
use quantscope_core::io::safetensors;
use quantscope_core::{analyze, AnalysisOptions, Dataset};
use serde_json::Value;

fn quantscope() -> Command {
    Command::cargo_bin("quantscope").unwrap_or_else(|e| panic!("binary: {e}"))
}

/// The JSON a successful run printed (its stderr in the message when it failed).
fn json_of(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"))
}

fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (s >> 40) as f32 / (1u64 << 24) as f32;
            // Heavy-ish tails so the candidates differ per tensor.
            (u - 0.5) * scale * if (s >> 20) % 97 == 0 { 12.0 } else { 1.0 }
        })
        .collect()
}

#[test]
fn the_assignment_is_the_brute_force_optimum_and_fits() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let shapes = [
        ("a.weight", [64usize, 128usize]),
        ("b.weight", [32, 256]),
        ("c.weight", [128, 64]),
    ];
    let data: Vec<(String, Vec<usize>, Vec<f32>)> = shapes
        .iter()
        .enumerate()
        .map(|(i, (n, s))| {
            (
                n.to_string(),
                s.to_vec(),
                values(s[0] * s[1], i as u64 + 1, 1.0 + i as f32),
            )
        })
        .collect();
    let bias = vec![0.5f32; 64];
    let mut entries: Vec<(&str, &[usize], &[f32])> = data
        .iter()
        .map(|(n, s, v)| (n.as_str(), s.as_slice(), v.as_slice()))
        .collect();
    entries.push(("a.bias", &[64], &bias));
    let path = dir.path().join("m.safetensors");
    std::fs::write(&path, safetensors::write_f32(&entries)).unwrap_or_else(|e| panic!("{e}"));
    let names = ["int2-channel", "int4-channel", "int8-channel", "mxfp4"];
    let budget = 4.6;
    let out = quantscope()
        .args([
            "allocate",
            "--json",
            "--budget",
            "4.6",
            "--candidates",
            &names.join(","),
        ])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let v = json_of(&out);
    assert_eq!(v["kept"][0]["name"], "a.bias");
    let assignment = v["assignment"].as_array().cloned().unwrap_or_default();
    assert_eq!(assignment.len(), 3);

    // Brute force over the core's figures.
    let opts = AnalysisOptions {
        all_groups: false,
        ..AnalysisOptions::default()
    };
    let points: Vec<Vec<(f64, f64)>> = data
        .iter()
        .map(|(n, s, x)| {
            let d = Dataset::new(n.clone(), s.clone(), x.clone()).unwrap_or_else(|e| panic!("{e}"));
            names
                .iter()
                .map(|c| {
                    let a = analyze(
                        &d,
                        &allocate::candidate(c).unwrap_or_else(|| panic!("{c}")),
                        &opts,
                    )
                    .unwrap_or_else(|e| panic!("{e}"));
                    (a.metrics.bits_per_value, a.metrics.mse)
                })
                .collect()
        })
        .collect();
    let sizes: Vec<f64> = data.iter().map(|d| d.2.len() as f64).collect();
    let total: f64 = sizes.iter().sum();
    let mut best = (f64::INFINITY, Vec::new());
    for code in 0..names.len().pow(3) {
        let pick: Vec<usize> = (0..3)
            .map(|t| code / names.len().pow(t as u32) % names.len())
            .collect();
        let bits: f64 = pick
            .iter()
            .enumerate()
            .map(|(t, &k)| sizes[t] * points[t][k].0)
            .sum();
        let err: f64 = pick
            .iter()
            .enumerate()
            .map(|(t, &k)| sizes[t] * points[t][k].1)
            .sum::<f64>()
            / total;
        if bits <= budget * total && err < best.0 {
            best = (err, pick);
        }
    }
    let got: Vec<&str> = assignment
        .iter()
        .map(|a| a["candidate"].as_str().unwrap_or(""))
        .collect();
    let want: Vec<&str> = best.1.iter().map(|&k| names[k]).collect();
    assert_eq!(got, want);
    let mse = v["total"]["weighted_mse"].as_f64().unwrap_or(f64::NAN);
    assert!(
        (mse - best.0).abs() <= 1e-12 * best.0,
        "{mse} vs {}",
        best.0
    );
    assert!(v["total"]["bits_per_value"].as_f64().unwrap_or(f64::MAX) <= budget);
    assert_eq!(v["slack_bits_per_value"], 0.0);
    // Uniform references and the Pareto curve come along.
    assert!(v["uniform"]
        .as_array()
        .is_some_and(|u| u.len() == names.len()));
    assert!(v["pareto"].as_array().is_some_and(|p| p.len() >= 2));
    // No block numbers in these names: one group holding every allocated tensor and all the error.
    assert_eq!(v["layers"][0]["layer"], Value::Null);
    assert_eq!(v["layers"][0]["tensors"], 3);
    assert_eq!(v["layers"][0]["share"], 1.0);
}

#[test]
fn ggml_candidates_give_tensor_type_lines_and_bad_budgets_one_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let x = values(8 * 256, 5, 1.0);
    let y = values(8 * 256, 6, 3.0);
    let path = dir.path().join("m.safetensors");
    std::fs::write(
        &path,
        safetensors::write_f32(&[("blk.0.w", &[8, 256], &x), ("blk.1.w", &[8, 256], &y)]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = quantscope()
        .args([
            "allocate",
            "--budget",
            "6",
            "--candidates",
            "q4_k,q8_0",
            "--tensor-types",
        ])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("--tensor-type "))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines
            .iter()
            .all(|l| l.ends_with("=q4_k") || l.ends_with("=q8_0")),
        "{lines:?}"
    );
    for (args, want) in [
        (vec!["--budget", "1"], "below the cheapest assignment"),
        (
            vec!["--budget", "4", "--candidates", "int9-channel"],
            "unknown candidate int9-channel",
        ),
        (vec!["--budget=-1"], "positive number of bits"),
    ] {
        let out = quantscope()
            .arg("allocate")
            .args(&args)
            .arg(&path)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(want), "{err}");
    }
}

#[test]
fn importance_weights_each_column_and_a_bad_vector_is_one_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let x = values(16 * 64, 7, 1.0);
    let y = values(16 * 32, 8, 2.0);
    let path = dir.path().join("m.safetensors");
    std::fs::write(
        &path,
        safetensors::write_f32(&[("blk.0.w", &[16, 64], &x), ("blk.1.w", &[16, 32], &y)]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // Importance for blk.0.w only: the first inputs matter most.
    let imp: Vec<f32> = (0..64).map(|j| 1.0 / (1.0 + j as f32)).collect();
    let imp_path = dir.path().join("imatrix.safetensors");
    std::fs::write(
        &imp_path,
        safetensors::write_f32(&[("blk.0.w", &[64], &imp)]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let names = ["int3-channel", "int4-channel", "int8-channel"];
    let out = quantscope()
        .args(["allocate", "--json", "--budget", "4", "--candidates"])
        .arg(names.join(","))
        .arg("--importance")
        .arg(&imp_path)
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let v = json_of(&out);
    assert_eq!(v["importance"]["weighted"][0], "blk.0.w");
    assert_eq!(v["importance"]["unweighted"][0], "blk.1.w");
    // blk.0.w's MSE is the core's weighted error of its candidate; blk.1.w's the plain one.
    let configs: Vec<_> = names
        .iter()
        .map(|c| allocate::candidate(c).unwrap_or_else(|| panic!("{c}")))
        .collect();
    for (k, (name, shape, vals)) in [("blk.0.w", [16, 64], &x), ("blk.1.w", [16, 32], &y)]
        .into_iter()
        .enumerate()
    {
        let d = Dataset::new(name, shape.to_vec(), vals.clone()).unwrap_or_else(|e| panic!("{e}"));
        let row = &v["assignment"][k];
        assert_eq!(row["name"], name);
        let c = names
            .iter()
            .position(|n| row["candidate"] == *n)
            .unwrap_or_else(|| panic!("{row}"));
        let t = if k == 0 {
            let w = allocate::column_weights(name, &imp, 64).unwrap_or_else(|e| panic!("{e}"));
            allocate::measure_weighted(&d, &configs, &w)
        } else {
            allocate::measure(&d, &configs)
        }
        .unwrap_or_else(|k| panic!("{}", k.reason));
        let want = t.points[c].mse;
        let got = row["mse"].as_f64().unwrap_or(f64::NAN);
        assert!(
            (got - want).abs() <= 1e-12 * want,
            "{name}: {got} vs {want}"
        );
    }
    // A vector of the wrong length names the tensor, in one line, and nothing is printed.
    let short = dir.path().join("short.safetensors");
    std::fs::write(
        &short,
        safetensors::write_f32(&[("blk.0.w", &[10], &imp[..10])]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = quantscope()
        .args(["allocate", "--budget", "4", "--importance"])
        .arg(&short)
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the importance of blk.0.w has 10 entries, the tensor has 64 inputs"),
        "{err}"
    );
}

#[test]
fn a_target_size_is_the_budget_that_fills_it() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let x = values(32 * 64, 9, 1.0);
    let y = values(32 * 128, 10, 2.0);
    let bias = vec![0.1f32; 32];
    let path = dir.path().join("m.safetensors");
    std::fs::write(
        &path,
        safetensors::write_f32(&[
            ("blk.0.w", &[32, 64], &x),
            ("blk.1.w", &[32, 128], &y),
            ("blk.0.b", &[32], &bias),
        ]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let run = |args: &[&str]| {
        quantscope()
            .arg("allocate")
            .args(args)
            .arg(&path)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let out = run(&["--size", "4kB", "--json"]);
    let v = json_of(&out);
    // 4,000 bytes = 32,000 bits; the f32 bias keeps 32 · 32 = 1,024; 6,144 values share the rest.
    let budget = (32_000.0 - 1024.0) / 6144.0;
    assert!((v["budget"].as_f64().unwrap_or(0.0) - budget).abs() < 1e-12);
    assert_eq!(v["size"]["kept_bytes"], 128.0);
    let est = v["size"]["estimated_bytes"].as_f64().unwrap_or(f64::MAX);
    let bpv = v["total"]["bits_per_value"].as_f64().unwrap_or(f64::NAN);
    assert!((est - (6144.0 * bpv + 1024.0) / 8.0).abs() < 1e-6 && est <= 4000.0);
    // Both or neither of --budget and --size, a size the kept tensors fill: one line each.
    for (args, want) in [
        (
            vec!["--size", "4kB", "--budget", "4"],
            "cannot be used with",
        ),
        (vec![], "--budget"),
        (
            vec!["--size", "100"],
            "leaves nothing for the allocated tensors",
        ),
        (vec!["--size", "4 furlongs"], "unknown size unit"),
    ] {
        let out = run(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

/// A sharded checkpoint with one broken shard: the shard is named on stderr, its tensors are
/// kept out with the reason, and the others get the allocation they get without it.
#[test]
fn a_broken_shard_is_named_and_the_rest_is_allocated() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.path().join(name), bytes).unwrap_or_else(|e| panic!("{e}"));
    };
    let a = values(64 * 128, 7, 1.0);
    let b = values(32 * 256, 8, 3.0);
    write(
        "m-1.safetensors",
        &safetensors::write_f32(&[("a.weight", &[64, 128], &a)]),
    );
    write(
        "m-2.safetensors",
        &safetensors::write_f32(&[("b.weight", &[32, 256], &b)]),
    );
    // A header length running past the end of the file.
    write("m-3.safetensors", &[200, 0, 0, 0, 0, 0, 0, 0, b'{', b'}']);
    write(
        "m.safetensors.index.json",
        br#"{"weight_map":{"a.weight":"m-1.safetensors","b.weight":"m-2.safetensors","c.weight":"m-3.safetensors","d.weight":"m-3.safetensors"}}"#,
    );
    let run = |file: &str| {
        quantscope()
            .args(["allocate", "--json", "--budget", "4"])
            .arg(dir.path().join(file))
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let out = run("m.safetensors.index.json");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("shard m-3.safetensors set aside (2 tensors)"),
        "{err}"
    );
    let v = json_of(&out);
    let kept: Vec<(&str, &str)> = v["kept"]
        .as_array()
        .map(|k| {
            k.iter()
                .map(|k| {
                    (
                        k["name"].as_str().unwrap_or(""),
                        k["reason"].as_str().unwrap_or(""),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert_eq!(kept[0].0, "c.weight");
    assert_eq!(kept[1].0, "d.weight");
    assert!(
        kept[0].1.starts_with("shard m-3.safetensors: "),
        "{}",
        kept[0].1
    );
    // The two readable tensors, allocated as a checkpoint of just them.
    write(
        "both.safetensors",
        &safetensors::write_f32(&[("a.weight", &[64, 128], &a), ("b.weight", &[32, 256], &b)]),
    );
    let alone = json_of(&run("both.safetensors"));
    assert_eq!(v["assignment"], alone["assignment"]);
    assert_eq!(v["total"], alone["total"]);
    // Other commands still refuse the checkpoint, naming the shard.
    let out = quantscope()
        .arg("info")
        .arg(dir.path().join("m.safetensors.index.json"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("shard m-3.safetensors"));
}
