//! GGUF in the CLI: `info` lists a file written by llama.cpp's own writer, `quantize` reads its
//! tensors as llama.cpp dequantizes them and refuses an unreadable type by name, `export` writes
//! a tensor quantized in a GGML type (read back exactly), and `diff` pairs a Hugging Face
//! original with its llama.cpp names, undoing the converter's q/k row order.

use assert_cmd::Command;
use quantscope_core::ggml::{self, GgmlType};
use quantscope_core::io::gguf::{self, Meta, TensorOut};
use quantscope_core::io::npy;
use serde_json::Value;

fn quantscope() -> Command {
    Command::cargo_bin("quantscope").unwrap_or_else(|e| panic!("binary: {e}"))
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

fn fixture() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../quant/tests/golden/gguf-py.gguf")
}

#[test]
fn info_and_quantize_read_a_file_of_llama_cpps_writer() {
    let v = json_of(quantscope().args(["info", "--json"]).arg(fixture()));
    let tensors = v["tensors"].as_array().cloned().unwrap_or_default();
    assert_eq!(tensors.len(), 10);
    assert_eq!(v["gguf"][0]["architecture"], "llama");
    assert_eq!(v["gguf"][0]["file_type"], "MOSTLY_Q4_K_M");
    assert_eq!(v["gguf"][0]["quantization_version"], 2);
    let find = |name: &str| {
        tensors
            .iter()
            .find(|t| t["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not listed"))
    };
    let q4k = find("blk.0.ffn_down.weight");
    assert_eq!(q4k["dtype"], "Q4_K");
    assert_eq!(q4k["shape"], serde_json::json!([2, 256]));
    assert!(
        q4k["std"].is_number(),
        "statistics for a readable type: {q4k}"
    );
    let iq2 = find("iq2_xxs");
    assert_eq!(iq2["dtype"], "IQ2_XXS");
    assert!(iq2["std"].is_null(), "no statistics for an unreadable type");
    // A readable tensor quantizes; an unreadable one is refused by its type's name.
    let q = json_of(
        quantscope()
            .args(["quantize", "--json", "--tensor", "blk.0.attn_q.weight"])
            .arg(fixture()),
    );
    assert_eq!(q["n"], 512);
    let out = quantscope()
        .args(["quantize", "--tensor", "iq2_xxs"])
        .arg(fixture())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("IQ2_XXS") && err.lines().count() == 1, "{err}");
}

#[test]
fn export_writes_npy_and_gguf_that_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let x: Vec<f32> = (0..2 * 512)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    let input = dir.path().join("w.npy");
    std::fs::write(&input, npy::write_f32(&[2, 512], &x)).unwrap_or_else(|e| panic!("{e}"));
    for (format, ty) in [
        ("q4_k", GgmlType::Q4K),
        ("iq4_xs", GgmlType::Iq4Xs),
        ("q5_0", GgmlType::Q5_0),
    ] {
        let out = dir.path().join(format!("{format}.gguf"));
        let status = quantscope()
            .args(["export", "--format", format, "--out"])
            .arg(&out)
            .arg(&input)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
            .status;
        assert!(status.success());
        let file = std::fs::read(&out).unwrap_or_else(|e| panic!("{e}"));
        let h = gguf::read_header(&file).unwrap_or_else(|e| panic!("{e}"));
        let t = &h.tensors[0];
        assert_eq!((t.ty, t.shape.as_slice()), (Some(ty), &[2usize, 512][..]));
        // Named by the file's name, not the path it was given (so `diff` pairs it with w.npy).
        assert_eq!(t.name, "w.npy");
        let codec = ty.codec().unwrap_or_else(|| panic!("codec"));
        assert_eq!(
            &file[t.begin as usize..t.end as usize],
            ggml::quantize(codec, &x)
        );
        // Back to .npy: the values llama.cpp would decode.
        let npy_out = dir.path().join(format!("{format}.npy"));
        let status = quantscope()
            .args(["export", "--out"])
            .arg(&npy_out)
            .arg(&out)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
            .status;
        assert!(status.success());
        let (shape, values) = npy::read_f32(&std::fs::read(&npy_out).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(shape, [2, 512]);
        let want = ggml::dequantize(ty, &ggml::quantize(codec, &x), x.len()).unwrap_or_default();
        assert_eq!(values, want, "{format}");
    }
    // A row that is not whole blocks, and a .gguf without a type: one line each.
    let odd = dir.path().join("odd.npy");
    std::fs::write(&odd, npy::write_f32(&[3, 100], &[0.5; 300])).unwrap_or_else(|e| panic!("{e}"));
    for (args, expected) in [
        (vec!["--format", "q4_k"], "not whole blocks of 256"),
        (vec![], "needs --format"),
    ] {
        let out = quantscope()
            .arg("export")
            .args(&args)
            .arg("--out")
            .arg(dir.path().join("o.gguf"))
            .arg(&odd)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(expected),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn diff_pairs_hugging_face_names_with_llama_cpps_and_unpermutes_q_and_k() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (heads, rows, cols) = (2usize, 8usize, 32usize);
    let q: Vec<f32> = (0..rows * cols).map(|i| (i as f32 * 0.37).sin()).collect();
    let v: Vec<f32> = (0..rows * cols).map(|i| (i as f32 * 0.11).cos()).collect();
    let emb: Vec<f32> = (0..4 * cols).map(|i| i as f32 / 100.0).collect();
    let original = quantscope_core::io::safetensors::write_f32(&[
        ("model.layers.0.self_attn.q_proj.weight", &[rows, cols], &q),
        ("model.layers.0.self_attn.v_proj.weight", &[rows, cols], &v),
        ("model.embed_tokens.weight", &[4, cols], &emb),
        (
            "model.layers.0.self_attn.rotary_emb.inv_freq",
            &[4],
            &[1.0; 4],
        ),
    ]);
    let original_path = dir.path().join("model.safetensors");
    std::fs::write(&original_path, original).unwrap_or_else(|e| panic!("{e}"));
    // The GGUF side as llama.cpp's converter writes it: q rows permuted, in Q8_0; v in Q8_0; the
    // embedding in F32 (exact).
    let permuted = quantscope_core::diff::permute_qk(&q, &[rows, cols], heads)
        .unwrap_or_else(|| panic!("permutation"));
    let q8 = GgmlType::Q8_0.codec().unwrap_or_else(|| panic!("codec"));
    let (bq, bv) = (ggml::quantize(q8, &permuted), ggml::quantize(q8, &v));
    let f32s: Vec<u8> = emb.iter().flat_map(|x| x.to_le_bytes()).collect();
    let file = gguf::write(
        &[
            ("general.architecture", Meta::Str("llama")),
            ("llama.attention.head_count", Meta::U32(heads as u32)),
        ],
        &[
            TensorOut {
                name: "blk.0.attn_q.weight",
                shape: &[rows, cols],
                ty: GgmlType::Q8_0,
                bytes: &bq,
            },
            TensorOut {
                name: "blk.0.attn_v.weight",
                shape: &[rows, cols],
                ty: GgmlType::Q8_0,
                bytes: &bv,
            },
            TensorOut {
                name: "token_embd.weight",
                shape: &[4, cols],
                ty: GgmlType::F32,
                bytes: &f32s,
            },
            TensorOut {
                name: "rope_freqs.weight",
                shape: &[4],
                ty: GgmlType::F32,
                bytes: &[0; 16],
            },
        ],
    );
    let quantized_path = dir.path().join("model-q8_0.gguf");
    std::fs::write(&quantized_path, file).unwrap_or_else(|e| panic!("{e}"));
    let d = json_of(
        quantscope()
            .args(["diff", "--json"])
            .arg(&original_path)
            .arg(&quantized_path),
    );
    let rows_out = d["tensors"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows_out.len(), 3, "{d}");
    let row = |name: &str| {
        rows_out
            .iter()
            .find(|r| r["original"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}: {d}"))
    };
    // The query compared after the converter's permutation: Q8_0's own error, not a shuffle's.
    let qr = row("model.layers.0.self_attn.q_proj.weight");
    assert_eq!(qr["quantized"], "blk.0.attn_q.weight");
    assert_eq!(qr["paired_by"], "llama-cpp");
    assert_eq!(qr["permuted"], true);
    assert_eq!(qr["dtype"], "Q8_0");
    assert_eq!(qr["bits_per_value"].as_f64(), Some(8.5));
    let want = ggml::dequantize(GgmlType::Q8_0, &bq, permuted.len()).unwrap_or_default();
    let (_, mse, _) = quantscope_core::diff::error(&permuted, &want);
    let got = qr["mse"].as_f64().unwrap_or(f64::NAN);
    assert!((got - mse).abs() <= 1e-12 * mse, "{got} vs {mse}");
    assert!(qr["sqnr_db"].as_f64().unwrap_or(0.0) > 30.0, "{qr}");
    // The embedding is exact (SQNR null: infinite), v is unpermuted.
    assert_eq!(row("model.embed_tokens.weight")["mse"].as_f64(), Some(0.0));
    assert!(row("model.layers.0.self_attn.v_proj.weight")["permuted"].is_null());
    assert_eq!(
        d["unmatched_original"],
        serde_json::json!(["model.layers.0.self_attn.rotary_emb.inv_freq"])
    );
    assert_eq!(
        d["unmatched_quantized"],
        serde_json::json!(["rope_freqs.weight"])
    );
}
