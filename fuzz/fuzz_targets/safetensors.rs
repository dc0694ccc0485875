//! Arbitrary bytes as a .safetensors file: the header must be accepted or refused with an error,
//! never a panic, and every float tensor of an accepted header must decode to its element count.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quantscope_core::io::safetensors::{decode, parse_index, read_header};
use quantscope_core::{analyze, AnalysisOptions, Dataset, QuantizerConfig};

fuzz_target!(|data: &[u8]| {
    let _ = parse_index(data);
    let Ok(header) = read_header(data) else {
        return;
    };
    for entry in header.tensors.iter().filter(|e| e.dtype.is_float()) {
        let bytes = &data[entry.begin as usize..entry.end as usize];
        let values = decode(entry, bytes).expect("a validated tensor decodes");
        assert_eq!(values.len(), entry.n_elements());
        // Whatever came out of the file goes through the quantizer without a panic.
        if let Ok(d) = Dataset::new("fuzz", entry.shape.clone(), values) {
            let _ = analyze(&d, &QuantizerConfig::default(), &AnalysisOptions::default());
        }
    }
});
