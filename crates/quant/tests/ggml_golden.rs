//! llama.cpp's GGML block types against `scripts/golden/make_ggml.py`: the legacy types' bytes
//! as llama.cpp's Python package (`gguf.quants`) quantizes them, the K and IQ4 types' bytes as a
//! separate numpy port of the C reference quantizers writes them, and every type's values as
//! `gguf.quants.dequantize` decodes those bytes — byte for byte and bit for bit, natively and on
//! wasm32.

use quantscope_core::ggml::{self, GgmlType};
use serde_json::Value;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const GOLDEN: &str = include_str!("golden/ggml.json");

fn golden() -> Value {
    serde_json::from_str(GOLDEN).unwrap_or_else(|e| panic!("golden json: {e}"))
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| f32::from_bits(x.as_u64().unwrap_or(u64::MAX) as u32))
                .collect()
        })
        .unwrap_or_default()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// The first index where two byte strings differ, with the block it lies in.
fn first_difference(a: &[u8], b: &[u8], block_bytes: usize) -> Option<(usize, usize)> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .map(|i| (i, i / block_bytes))
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn every_ggml_type_matches_llama_cpp_byte_for_byte() {
    let g = golden();
    let cases = g["cases"].as_array().cloned().unwrap_or_default();
    assert_eq!(cases.len(), 60, "4 inputs × 15 types");
    let mut seen = std::collections::BTreeSet::new();
    for case in cases {
        let name = case["type"].as_str().unwrap_or_default();
        let ty = GgmlType::from_name(name).unwrap_or_else(|| panic!("unknown type {name}"));
        seen.insert(name.to_string());
        let input = case["input"].as_str().unwrap_or_default();
        let x = f32s(&g["inputs"][input]);
        let bytes = hex(case["bytes"].as_str().unwrap_or_default());
        let want = f32s(&case["dequantized"]);
        let what = format!("{name} on {input}");
        // Decoding: bit for bit as gguf.quants.dequantize.
        let got = ggml::dequantize(ty, &bytes, x.len()).unwrap_or_else(|e| panic!("{what}: {e}"));
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g.to_bits(), w.to_bits(), "{what}: value {i}: {g} vs {w}");
        }
        // Coding: the same bytes (MXFP4 is read only).
        if let Some(codec) = ty.codec() {
            let ours = ggml::quantize(codec, &x);
            assert_eq!(ours.len(), bytes.len(), "{what}");
            assert_eq!(
                first_difference(&ours, &bytes, codec.block_bytes()),
                None,
                "{what}: first differing byte (and its block)"
            );
        }
    }
    let all = [
        "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "MXFP4", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K",
        "IQ4_NL", "IQ4_XS", "TQ1_0", "TQ2_0",
    ];
    assert_eq!(seen.len(), all.len());
    for t in all {
        assert!(seen.contains(t), "{t} has no golden case");
    }
}

/// A GGUF file written by llama.cpp's own writer (`gguf.GGUFWriter`): every tensor listed with
/// its type and numpy-order shape, the metadata read, and each tensor decoded bit for bit as
/// `gguf.quants.dequantize` decodes it; a type Quantscope does not read is listed and refused.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_gguf_file_written_by_llama_cpps_writer_reads_as_llama_cpp_reads_it() {
    use quantscope_core::io::gguf;
    let file = include_bytes!("golden/gguf-py.gguf");
    let want: Value =
        serde_json::from_str(include_str!("golden/gguf-py.json")).unwrap_or_else(|e| panic!("{e}"));
    let h = gguf::read_header(file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(h.architecture(), Some("llama"));
    assert_eq!(h.file_type().as_deref(), Some("MOSTLY_Q4_K_M"));
    assert_eq!(h.quantization_version(), Some(2));
    assert_eq!(
        h.metadata.get("tokenizer.ggml.tokens"),
        Some(&gguf::Value::LongArray {
            element_type: 8,
            len: 100
        })
    );
    let listed: Vec<(String, String)> = h
        .tensors
        .iter()
        .map(|t| (t.name.clone(), t.type_name()))
        .collect();
    assert_eq!(listed.len(), 10, "{listed:?}");
    let Some(want) = want.as_object() else {
        panic!("expected values")
    };
    for (name, w) in want {
        let (_, shape, values) =
            gguf::read_f32(file, Some(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want_shape: Vec<usize> = w["shape"]
            .as_array()
            .map(|a| a.iter().map(|d| d.as_u64().unwrap_or(0) as usize).collect())
            .unwrap_or_default();
        assert_eq!(shape, want_shape, "{name}");
        let want_values = f32s(&w["values"]);
        assert_eq!(values.len(), want_values.len(), "{name}");
        for (i, (g, w)) in values.iter().zip(&want_values).enumerate() {
            assert_eq!(g.to_bits(), w.to_bits(), "{name} value {i}");
        }
    }
    let iq2 = h.find("iq2_xxs").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(iq2.type_name(), "IQ2_XXS");
    assert!(matches!(
        gguf::read_f32(file, Some("iq2_xxs")),
        Err(gguf::GgufError::Unreadable { .. })
    ));
}
