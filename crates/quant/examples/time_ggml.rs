//! Prints what each GGML type's analysis costs natively at 1M values (`cargo run --release -p
//! quantscope-core --example time_ggml`): llama.cpp's reference quantizer plus the measuring
//! pass, best of 3.
use quantscope_core::synth::{generate, Distribution};
use quantscope_core::{analyze, AnalysisOptions, Dataset, Format, QuantizerConfig};

fn main() {
    let values = generate(Distribution::Normal, 1 << 20, 1).unwrap_or_default();
    let d = Dataset::new("bench", vec![1024, 1024], values).unwrap_or_else(|e| panic!("{e}"));
    let opts = AnalysisOptions {
        all_groups: false,
        ..AnalysisOptions::default()
    };
    for format in Format::ALL.into_iter().filter(|f| f.ggml_type().is_some()) {
        let c = QuantizerConfig {
            format,
            ..QuantizerConfig::default()
        };
        let ms = (0..3)
            .map(|_| {
                let t = std::time::Instant::now();
                assert!(analyze(&d, &c, &opts).is_ok());
                t.elapsed().as_secs_f64() * 1e3
            })
            .fold(f64::MAX, f64::min);
        println!("{:<8} {ms:8.2} ms", format.name());
    }
}
