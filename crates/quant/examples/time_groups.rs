//! Prints what each calibrator costs per group natively (`cargo run --release -p quantscope-core
//! --example time_groups`): int4 in groups of 32 and 128 over 1M values, best of 3.
use quantscope_core::config::calibrators;
use quantscope_core::synth::{generate, Distribution};
use quantscope_core::{
    analyze, AnalysisOptions, Calibration, Dataset, Granularity, QuantizerConfig,
};

fn main() {
    let values = generate(Distribution::Normal, 1 << 20, 1).unwrap_or_default();
    let d = Dataset::new("bench", vec![1024, 1024], values).unwrap_or_else(|e| panic!("{e}"));
    let opts = AnalysisOptions {
        all_groups: false,
        ..AnalysisOptions::default()
    };
    for size in [32usize, 128, 1024] {
        for (key, calibration) in calibrators(Calibration::MinMax, (-1.0, 1.0)) {
            let c = QuantizerConfig {
                bits: 4,
                granularity: Granularity::Group { size },
                calibration,
                ..QuantizerConfig::default()
            };
            let ms = (0..3)
                .map(|_| {
                    let t = std::time::Instant::now();
                    assert!(analyze(&d, &c, &opts).is_ok());
                    t.elapsed().as_secs_f64() * 1e3
                })
                .fold(f64::MAX, f64::min);
            println!("G={size:<5} {key:<10} {ms:8.2} ms");
        }
    }
}
