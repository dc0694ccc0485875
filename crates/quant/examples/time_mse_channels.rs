//! Per-channel MSE calibration on a wide embedding-like tensor (30,522 × 384), the slow case of a
//! whole-checkpoint report. Run: cargo run --release -p quantscope-core --example time_mse_channels
use quantscope_core::synth::{generate, Distribution};
use quantscope_core::{
    analyze, AnalysisOptions, Calibration, Dataset, Granularity, QuantizerConfig, Scheme,
};

fn main() {
    let (rows, cols) = (30_522, 384);
    let values = generate(Distribution::StudentT { nu: 4.0 }, rows * cols, 7).unwrap_or_default();
    let d = Dataset::new("emb", vec![rows, cols], values).unwrap_or_else(|e| panic!("{e}"));
    for (name, calibration) in [
        ("min-max", Calibration::MinMax),
        ("mse", Calibration::Mse),
        ("kl", Calibration::Kl),
        ("percentile", Calibration::Percentile { p: 99.9 }),
    ] {
        let c = QuantizerConfig {
            bits: 4,
            scheme: Scheme::Symmetric,
            granularity: Granularity::Channel { axis: 0 },
            calibration,
            ..Default::default()
        };
        let t = std::time::Instant::now();
        let a = analyze(&d, &c, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        println!(
            "{name:<10} per-channel, 30,522 × 384: {:.0} ms (SQNR {:.2} dB)",
            t.elapsed().as_secs_f64() * 1e3,
            a.metrics.sqnr_db
        );
    }
}
