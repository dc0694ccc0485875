//! Quick timing of `analyze` at 1M values (a benchmark lives in benches/; this prints one figure).
use quantscope_core::synth::{generate, Distribution};
use quantscope_core::{analyze, AnalysisOptions, Dataset, QuantizerConfig};

fn main() {
    let values = generate(Distribution::Normal, 1_000_000, 1).unwrap_or_default();
    let d = Dataset::from_vec("bench", values).unwrap_or_else(|e| panic!("{e}"));
    let cfg = QuantizerConfig::default();
    let opts = AnalysisOptions::default();
    let mut best = f64::MAX;
    for _ in 0..20 {
        let t = std::time::Instant::now();
        let a = analyze(&d, &cfg, &opts);
        best = best.min(t.elapsed().as_secs_f64());
        assert!(a.is_ok());
    }
    parts(&d);
    let sum: f64 = d.values().iter().map(|&v| f64::from(v)).sum();
    let t = std::time::Instant::now();
    let s2: f64 = d.values().iter().map(|&v| f64::from(v)).sum();
    println!(
        "analyze 1M: {:.2} ms (best of 20); plain sum pass {:.2} ms ({sum} {s2})",
        best * 1e3,
        t.elapsed().as_secs_f64() * 1e3
    );
}

#[allow(dead_code)]
fn parts(d: &Dataset) {
    use quantscope_core::metrics::ErrorAccumulator;
    let p = quantscope_core::AffineParams::from_range(-5.0, 5.0, &QuantizerConfig::default());
    let inv = p.inv_scale();
    let t = std::time::Instant::now();
    let mut n = 0i64;
    for &r in d.values() {
        let (q, _) = p.code_from_real(r, inv, quantscope_core::Rounding::NearestEven, 0.0);
        n += i64::from(q);
    }
    println!("code only {:.2} ms {n}", t.elapsed().as_secs_f64() * 1e3);
    let t = std::time::Instant::now();
    let mut acc = ErrorAccumulator::default();
    for &r in d.values() {
        let (q, c) = p.code_from_real(r, inv, quantscope_core::Rounding::NearestEven, 0.0);
        acc.add(r, p.real_from_code(q), c);
    }
    println!(
        "code+acc {:.2} ms {}",
        t.elapsed().as_secs_f64() * 1e3,
        acc.finish().mse
    );
}
