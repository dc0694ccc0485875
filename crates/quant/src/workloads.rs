//! Named workloads for benchmarks that compare the same code natively and as WebAssembly: the
//! `workloads` example times them natively, `crates/wasm-bench` in Node (V8, as in Chromium);
//! `scripts/bench/wasm.mjs` prints both. Each returns a checksum so nothing is optimised away.
//! Built only with the `workloads` feature.

use crate::analysis::AnalysisOptions;
use crate::config::{Granularity, QuantizerConfig, Scheme};
use crate::dataset::{Dataset, Summary};
use crate::histogram::Histogram;
use crate::run::analyze;

/// One workload: a name and the code to time.
pub struct Workload {
    pub name: &'static str,
    pub run: Box<dyn Fn() -> f64>,
}

/// The workloads over `n` normal values (seed 1, the page's default synthetic data), 2-D
/// (n/1024 rows of 1024) so every block format fits.
pub fn workloads(n: usize) -> Vec<Workload> {
    let n = (n / 1024).max(1) * 1024;
    let values =
        crate::synth::generate(crate::synth::Distribution::Normal, n, 1).unwrap_or_default();
    let d = match Dataset::new("bench", vec![n / 1024, 1024], values) {
        Ok(d) => std::rc::Rc::new(d),
        Err(_) => return Vec::new(),
    };
    // The page's options: interactive, the display group only.
    let opts = AnalysisOptions {
        interactive: true,
        all_groups: false,
        ..Default::default()
    };
    let mut out: Vec<Workload> = Vec::new();
    let d1 = d.clone();
    out.push(Workload {
        name: "memory pass (sum as f64)",
        run: Box::new(move || d1.values().iter().map(|&v| f64::from(v)).sum()),
    });
    let d1 = d.clone();
    out.push(Workload {
        name: "summary (min, max, mean, std)",
        run: Box::new(move || Summary::of(d1.values()).std),
    });
    let d1 = d.clone();
    out.push(Workload {
        name: "histogram, 160 bins",
        run: Box::new(move || {
            let s = d1.summary();
            Histogram::of(d1.values(), s.min, s.max, 160, false).counts[80] as f64
        }),
    });
    let configs: Vec<(&'static str, QuantizerConfig)> = vec![
        (
            "analyze int8 per tensor (fused pass)",
            QuantizerConfig::default(),
        ),
        (
            "analyze int4 per channel",
            QuantizerConfig {
                bits: 4,
                scheme: Scheme::Symmetric,
                granularity: Granularity::Channel { axis: 0 },
                ..Default::default()
            },
        ),
        ("analyze int4-g32 (f16 scales)", preset("int4-g32")),
        ("analyze int4-g128 (f16 scales)", preset("int4-g128")),
        ("analyze mxfp4", preset("mxfp4")),
        ("analyze mxfp8-e4m3", preset("mxfp8-e4m3")),
        ("analyze nvfp4", preset("nvfp4")),
        ("analyze q4_0", preset("q4_0")),
        ("analyze q8_0", preset("q8_0")),
        // llama.cpp's searching quantizers (the K and IQ4 types).
        ("analyze q2_k", preset("q2_k")),
        ("analyze q4_k", preset("q4_k")),
        ("analyze q6_k", preset("q6_k")),
        ("analyze iq4_xs", preset("iq4_xs")),
    ];
    for (name, config) in configs {
        let d1 = d.clone();
        out.push(Workload {
            name,
            run: Box::new(move || analyze(&d1, &config, &opts).map_or(f64::NAN, |a| a.metrics.mse)),
        });
    }
    // llama.cpp's reference quantizer alone (the bytes, nothing measured): the floor under an
    // analysis of these types that keeps its bytes exact.
    for (name, ty) in [
        ("bytes only q2_k", "Q2_K"),
        ("bytes only q4_k", "Q4_K"),
        ("bytes only q6_k", "Q6_K"),
        ("bytes only iq4_xs", "IQ4_XS"),
    ] {
        let d1 = d.clone();
        let codec = crate::ggml::GgmlType::from_name(ty).and_then(crate::ggml::GgmlType::codec);
        out.push(Workload {
            name,
            run: Box::new(move || {
                codec.map_or(f64::NAN, |c| {
                    f64::from(crate::ggml::quantize(c, d1.values())[7])
                })
            }),
        });
    }
    out
}

fn preset(name: &str) -> QuantizerConfig {
    crate::presets::preset(name).unwrap_or_default()
}
