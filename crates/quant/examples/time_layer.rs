//! What the layer lab's methods cost natively (`cargo run --release -p quantscope-core --example
//! time_layer [OUT IN TOKENS]`, default the 4096 × 4096 layer with 512 tokens): RTN, AWQ's
//! 20-point search and GPTQ (int4 per output channel), with GPTQ's phases timed apart.
use quantscope_core::layer::{self, linalg, Layer, LayerOptions, Method};
use quantscope_core::synth::{generate, Distribution};
use quantscope_core::{Granularity, QuantizerConfig, Scheme};
use std::time::Instant;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (out, inputs, tokens) = match args.as_slice() {
        [o, i, t] => (*o, *i, *t),
        _ => (4096, 4096, 512),
    };
    let w = generate(Distribution::Normal, out * inputs, 1).unwrap_or_default();
    let x = generate(Distribution::StudentT { nu: 4.0 }, tokens * inputs, 2).unwrap_or_default();
    let l = Layer::new(&w, &[out, inputs], &x, &[tokens, inputs]).unwrap_or_else(|e| panic!("{e}"));
    let config = QuantizerConfig {
        bits: 4,
        scheme: Scheme::Symmetric,
        granularity: Granularity::Channel { axis: 0 },
        ..QuantizerConfig::default()
    };
    println!("W {out} × {inputs}, X {tokens} × {inputs}, int4 per channel");

    // GPTQ's linear algebra alone.
    let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let t = Instant::now();
    let mut h = linalg::gram(&x64, tokens, inputs);
    println!(
        "  XᵀX              {:8.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let mean = (0..inputs).map(|j| h[j * inputs + j]).sum::<f64>() / inputs as f64;
    for j in 0..inputs {
        h[j * inputs + j] += 0.01 * mean + 1e-9;
    }
    let t = Instant::now();
    let u = linalg::inverse_upper_cholesky(&h, inputs);
    println!(
        "  U = chol(H⁻¹)     {:8.0} ms{}",
        t.elapsed().as_secs_f64() * 1e3,
        if u.is_some() { "" } else { " (not SPD)" }
    );

    for method in Method::ALL {
        let options = LayerOptions {
            method,
            ..LayerOptions::default()
        };
        let t = Instant::now();
        let r = layer::run(&l, &config, &options, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
        println!(
            "{:<5} {:8.0} ms   output SQNR {:.2} dB",
            method.name(),
            t.elapsed().as_secs_f64() * 1e3,
            r.output_sqnr_db
        );
    }
}
