//! The number formats against vectors derived independently (`scripts/golden/make_formats.py`):
//! minifloat and 16-bit casts from ml_dtypes, MX / NVFP4 / GGML / NF4 blocks re-implemented in
//! numpy float32 — all bit for bit — and the learned codebooks against scikit-learn's KMeans (best
//! of 10) and faiss' ProductQuantizer. Runs natively and on wasm32.

use quantscope_core::format::Element;
use quantscope_core::{analyze, quantize, AnalysisOptions, Dataset, Format, QuantizerConfig};
use serde_json::Value;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const GOLDEN: &str = include_str!("golden/formats.json");

fn golden() -> Value {
    serde_json::from_str(GOLDEN).unwrap_or_else(|e| panic!("golden json: {e}"))
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x.as_u64().unwrap_or(u64::MAX) as u32)
                .collect()
        })
        .unwrap_or_default()
}

fn f32s(v: &Value) -> Vec<f32> {
    u32s(v).into_iter().map(f32::from_bits).collect()
}

fn element_of(name: &str) -> Element {
    use quantscope_core::codebook::LevelTable;
    match Format::from_name(name) {
        Some(Format::Fp16) => Element::F16,
        Some(Format::Bf16) => Element::Bf16,
        Some(f) => match f.minifloat() {
            Some(mf) => Element::Table(LevelTable::minifloat(mf)),
            None => panic!("not a cast: {name}"),
        },
        None => panic!("unknown format {name}"),
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn casts_match_ml_dtypes_bit_for_bit() {
    let g = golden();
    let cases = g["casts"].as_array().cloned().unwrap_or_default();
    assert_eq!(cases.len(), 7);
    for c in &cases {
        let name = c["format"].as_str().unwrap_or("?");
        let element = element_of(name);
        let (x, code, value) = (f32s(&c["x"]), u32s(&c["code"]), f32s(&c["value"]));
        assert!(x.len() > 500);
        for i in 0..x.len() {
            let (got_code, got_value, _) = element.encode(x[i]);
            assert_eq!(
                (got_code, got_value.to_bits()),
                (code[i], value[i].to_bits()),
                "{name}: x = {:e} ({:#010x})",
                x[i],
                x[i].to_bits()
            );
        }
    }
}

fn dataset(shape: Vec<usize>, values: Vec<f32>) -> Dataset {
    Dataset::new("golden", shape, values).unwrap_or_else(|e| panic!("{e}"))
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn block_formats_match_their_reference_definitions() {
    let g = golden();
    let cases = g["blocks"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = cases.iter().filter_map(|c| c["name"].as_str()).collect();
    for want in [
        "mxfp4-e2m1",
        "mxfp8-e4m3",
        "mxint8",
        "nvfp4",
        "q8_0",
        "q4_0",
        "q4_1",
        "nf4",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    for c in &cases {
        let name = c["name"].as_str().unwrap_or("?");
        let config: QuantizerConfig = serde_json::from_value(c["config"].clone())
            .unwrap_or_else(|e| panic!("{name} config: {e}"));
        let shape: Vec<usize> = u32s(&c["shape"]).into_iter().map(|d| d as usize).collect();
        let d = dataset(shape, f32s(&c["x"]));
        let want = f32s(&c["dequantized"]);
        let q = quantize(&d, &config).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mismatches: Vec<usize> = (0..want.len())
            .filter(|&i| {
                q.dequantized[i].to_bits() != want[i].to_bits() && q.dequantized[i] != want[i]
            })
            .collect();
        assert!(
            mismatches.is_empty(),
            "{name}: {} mismatches, first at {}: x {} got {} want {}",
            mismatches.len(),
            mismatches[0],
            d.values()[mismatches[0]],
            q.dequantized[mismatches[0]],
            want[mismatches[0]]
        );
        // analyze measures the same reconstruction.
        let a = analyze(&d, &config, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let mse = d
            .values()
            .iter()
            .zip(&want)
            .map(|(&r, &w)| (f64::from(r) - f64::from(w)).powi(2))
            .sum::<f64>()
            / want.len() as f64;
        assert!(
            (a.metrics.mse - mse).abs() <= 1e-12 + 1e-9 * mse,
            "{name}: {} vs {mse}",
            a.metrics.mse
        );
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn bits_per_value_of_the_named_block_formats() {
    let g = golden();
    let cases = g["blocks"].as_array().cloned().unwrap_or_default();
    let expect = [
        ("mxfp4-e2m1", 4.25),
        ("mxfp6-e2m3", 6.25),
        ("mxfp8-e4m3", 8.25),
        ("mxint8", 8.25),
        // NVFP4: 4 + 8/16 per block + one f32 tensor scale over 512 values.
        ("nvfp4", 4.5 + 32.0 / 512.0),
        ("q8_0", 8.5),
        ("q4_0", 4.5),
        ("q4_1", 5.0),
        // NF4 with an f32 absmax per 64 values.
        ("nf4", 4.5),
    ];
    for (name, bpv) in expect {
        let Some(c) = cases.iter().find(|c| c["name"] == name) else {
            panic!("{name} missing");
        };
        let config: QuantizerConfig =
            serde_json::from_value(c["config"].clone()).unwrap_or_else(|e| panic!("{e}"));
        let shape: Vec<usize> = u32s(&c["shape"]).into_iter().map(|d| d as usize).collect();
        let a = analyze(
            &dataset(shape, f32s(&c["x"])),
            &config,
            &AnalysisOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.metrics.bits_per_value, bpv, "{name}");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn exact_kmeans_is_never_worse_than_sklearn_best_of_ten() {
    let g = golden();
    for c in g["kmeans"].as_array().cloned().unwrap_or_default() {
        let k = c["k"].as_u64().unwrap_or(0) as u32;
        let x = f32s(&c["x"]);
        let sklearn = c["sklearn_mse"].as_f64().unwrap_or(0.0);
        let config = QuantizerConfig {
            format: Format::Kmeans,
            levels: k,
            ..Default::default()
        };
        let a = analyze(
            &Dataset::from_vec("x", x).unwrap_or_else(|e| panic!("{e}")),
            &config,
            &AnalysisOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        // f32 levels vs sklearn's f64 centres: allow 1e-6 relative.
        assert!(
            a.metrics.mse <= sklearn * (1.0 + 1e-6),
            "K = {k}: ours {} vs sklearn {sklearn}",
            a.metrics.mse
        );
        assert!(a.notes.is_empty(), "exact on 4,000 values: {:?}", a.notes);
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn vector_codebooks_are_within_two_percent_of_faiss() {
    let g = golden();
    for c in g["pq"].as_array().cloned().unwrap_or_default() {
        let (k, dim) = (
            c["k"].as_u64().unwrap_or(0) as u32,
            c["dim"].as_u64().unwrap_or(0) as usize,
        );
        let shape: Vec<usize> = u32s(&c["shape"]).into_iter().map(|d| d as usize).collect();
        let faiss = c["faiss_mse"].as_f64().unwrap_or(0.0);
        let config = QuantizerConfig {
            format: Format::Kmeans,
            levels: k,
            vector_dim: dim,
            ..Default::default()
        };
        let a = analyze(
            &dataset(shape, f32s(&c["x"])),
            &config,
            &AnalysisOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            a.metrics.mse <= faiss * 1.02,
            "K = {k}, D = {dim}: ours {} vs faiss {faiss}",
            a.metrics.mse
        );
        assert_eq!(a.vector.is_some(), dim == 2);
    }
}
