//! Arbitrary bytes as a .npy file: read or refused with an error, never a panic; what is read has
//! as many values as its shape says and goes through the quantizer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quantscope_core::io::npy::{read_f32, read_header};
use quantscope_core::{analyze, AnalysisOptions, Dataset, QuantizerConfig, Scheme};

fuzz_target!(|data: &[u8]| {
    let _ = read_header(data);
    if let Ok((shape, values)) = read_f32(data) {
        assert_eq!(shape.iter().product::<usize>(), values.len());
        if let Ok(d) = Dataset::new("fuzz", shape, values) {
            let config = QuantizerConfig {
                bits: 4,
                scheme: Scheme::Symmetric,
                ..Default::default()
            };
            let _ = analyze(&d, &config, &AnalysisOptions::default());
        }
    }
});
