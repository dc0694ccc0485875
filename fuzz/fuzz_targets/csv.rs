//! Arbitrary bytes as CSV/text numbers: parsed or refused with an error, never a panic; a parsed
//! table is rectangular and goes through the quantizer with several formats.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quantscope_core::io::csv::parse;
use quantscope_core::{analyze, AnalysisOptions, Dataset, Format, QuantizerConfig};

fuzz_target!(|data: &[u8]| {
    if let Ok((shape, values)) = parse(data) {
        assert_eq!(shape.iter().product::<usize>(), values.len());
        if let Ok(d) = Dataset::new("fuzz", shape, values) {
            for format in [Format::Int, Format::Fp4E2m1, Format::Nf4, Format::Kmeans] {
                let config = QuantizerConfig {
                    format,
                    levels: 4,
                    ..Default::default()
                };
                let _ = analyze(&d, &config, &AnalysisOptions::default());
            }
        }
    }
});
