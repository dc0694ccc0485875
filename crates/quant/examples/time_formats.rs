//! Prints timings of the formats (docs/performance.md): exact 1-D k-means (K = 16) on 16M bf16
//! values, a vector codebook (K = 256, D = 2) on 1M values, and `analyze` of every preset at 1M
//! values, full and interactive. Run: cargo run --release -p quantscope-core --example time_formats
use std::time::Instant;

use quantscope_core::synth::{generate, Distribution};
use quantscope_core::{analyze, presets, AnalysisOptions, Dataset, Format, QuantizerConfig};

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(r);
    }
    (best * 1e3, out.unwrap_or_else(|| panic!("no run")))
}

fn main() {
    let full = AnalysisOptions::default();
    let interactive = AnalysisOptions {
        interactive: true,
        ..full
    };
    // 16M values rounded to bf16, as a bf16 checkpoint tensor would be.
    let n16 = 16 * 1024 * 1024;
    let values: Vec<f32> = generate(Distribution::StudentT { nu: 4.0 }, n16, 3)
        .unwrap_or_default()
        .into_iter()
        .map(|v| half::bf16::from_f32(v * 0.02).to_f32())
        .collect();
    let d16 = Dataset::new("bf16", vec![4096, 4096], values).unwrap_or_else(|e| panic!("{e}"));
    let km = QuantizerConfig {
        format: Format::Kmeans,
        levels: 16,
        ..Default::default()
    };
    let (ms, a) = best_of(3, || analyze(&d16, &km, &full));
    let a = a.unwrap_or_else(|e| panic!("{e}"));
    println!(
        "exact k-means K=16, 16M bf16 values: {ms:.0} ms (analyze, incl. the coding pass); exact: {}; SQNR {:.2} dB",
        a.notes.is_empty(),
        a.metrics.sqnr_db
    );

    let d1 = Dataset::new(
        "1M",
        vec![1024, 1024],
        generate(Distribution::StudentT { nu: 4.0 }, 1 << 20, 5).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let pq = QuantizerConfig {
        format: Format::Kmeans,
        levels: 256,
        vector_dim: 2,
        ..Default::default()
    };
    let (ms, a) = best_of(2, || analyze(&d1, &pq, &full));
    let a = a.unwrap_or_else(|e| panic!("{e}"));
    println!(
        "vector codebook K=256 D=2, 1M values: {ms:.0} ms (train + code); SQNR {:.2} dB",
        a.metrics.sqnr_db
    );
    let (ms, _) = best_of(3, || analyze(&d1, &pq, &interactive));
    println!("  the same, interactive budget: {ms:.1} ms");

    println!("analyze at 1M values (best of 5), full / interactive:");
    for (name, config) in presets::fitting(1024) {
        let (a_ms, _) = best_of(5, || analyze(&d1, &config, &full));
        let (i_ms, _) = best_of(5, || analyze(&d1, &config, &interactive));
        println!("  {name:<12} {a_ms:>8.1} ms {i_ms:>8.1} ms");
    }
}
