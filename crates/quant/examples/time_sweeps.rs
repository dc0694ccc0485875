//! Prints what each row of the page's sweeps costs natively at 1M values (`cargo run --release
//! -p quantscope-core --example time_sweeps`): the calibrators at int4, every bit width, the
//! clip sweep — the same `analyze` calls the worker makes, best of 3 each.
use quantscope_core::config::{calibrators, clip_sweep};
use quantscope_core::synth::{generate, Distribution};
use quantscope_core::{analyze, AnalysisOptions, Calibration, Dataset, QuantizerConfig};

fn best(f: &dyn Fn()) -> f64 {
    (0..3)
        .map(|_| {
            let t = std::time::Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::MAX, f64::min)
}

fn main() {
    let values = generate(Distribution::Normal, 1 << 20, 1).unwrap_or_default();
    let d = Dataset::new("bench", vec![1024, 1024], values).unwrap_or_else(|e| panic!("{e}"));
    let opts = AnalysisOptions {
        bins: 16,
        all_groups: false,
        ..AnalysisOptions::default()
    };
    let base = QuantizerConfig {
        bits: 4,
        ..QuantizerConfig::default()
    };
    let run = |c: &QuantizerConfig| best(&|| assert!(analyze(&d, c, &opts).is_ok()));
    let mut total = 0.0;
    for (key, calibration) in calibrators(Calibration::MinMax, (-1.0, 1.0)) {
        let ms = run(&QuantizerConfig {
            calibration,
            ..base.clone()
        });
        total += ms;
        println!("calibrator {key:<10} {ms:6.2} ms");
    }
    println!("calibrators total {total:.1} ms");
    let bits: f64 = (1..=16u8)
        .map(|b| {
            run(&QuantizerConfig {
                bits: b,
                ..base.clone()
            })
        })
        .sum();
    println!("bit widths 1..16 total {bits:.1} ms");
    let s = d.summary();
    let clips: f64 = clip_sweep(s.min, s.max, false)
        .iter()
        .map(|&(_, (lo, hi))| {
            run(&QuantizerConfig {
                calibration: Calibration::Manual { lo, hi },
                ..base.clone()
            })
        })
        .sum();
    println!("clip sweep (25) total {clips:.1} ms");
}
