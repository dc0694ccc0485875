//! Prints how long the page's studies take natively (`cargo run --release --example time_study`):
//! the channel study and the batch stream at 1M and 16M values, int4 per tensor.
use quantscope_core::study::{channels, stream, StreamSpec};
use quantscope_core::synth::{generate, Distribution};
use quantscope_core::{Dataset, QuantizerConfig};

fn main() {
    let cfg = QuantizerConfig {
        bits: 4,
        ..QuantizerConfig::default()
    };
    for (n, cols) in [(1_048_576, 1024), (16_777_216, 4096)] {
        let values = generate(Distribution::Normal, n, 1).unwrap_or_default();
        let d =
            Dataset::new("bench", vec![n / cols, cols], values).unwrap_or_else(|e| panic!("{e}"));
        let best = |f: &dyn Fn()| {
            (0..3)
                .map(|_| {
                    let t = std::time::Instant::now();
                    f();
                    t.elapsed().as_secs_f64() * 1e3
                })
                .fold(f64::MAX, f64::min)
        };
        let c = best(&|| assert!(channels(&d, &cfg, 512).is_ok()));
        let spec = StreamSpec {
            batches: 32,
            calibrate_on: 4,
            drift: 1.0,
        };
        let s = best(&|| assert!(stream(&d, &cfg, spec, None).is_ok()));
        println!("{n} values: channels {c:.1} ms, stream of 32 batches {s:.1} ms (best of 3)");
    }
}
