//! Times `analyze` (int8, per tensor, min-max) on a `.npy` file, and a plain memory pass over the
//! same values; prints one JSON line. Used by scripts/bench/compare_numpy.py so numpy and the core
//! run on the same data in the same run.
use quantscope_core::io::npy;
use quantscope_core::{analyze, AnalysisOptions, Dataset, QuantizerConfig};
use std::time::Instant;

fn best_of(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        eprintln!("usage: bench_file FILE.npy");
        std::process::exit(2)
    });
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1)
    });
    let (shape, values) = npy::read_f32(&bytes).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1)
    });
    let d = Dataset::new(path.clone(), shape, values).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1)
    });
    let cfg = QuantizerConfig::default();
    let opts = AnalysisOptions::default();
    let mut mse = 0.0;
    let fused = best_of(7, || {
        mse = analyze(&d, &cfg, &opts)
            .map(|a| a.metrics.mse)
            .unwrap_or(f64::NAN)
    });
    let mut sum = 0.0;
    let pass = best_of(7, || {
        sum = d.values().iter().map(|&v| f64::from(v)).sum::<f64>()
    });
    println!(
        "{{\"n\": {}, \"fused_s\": {fused}, \"memory_pass_s\": {pass}, \"mse\": {mse}, \"sum\": {sum}}}",
        d.len()
    );
}
