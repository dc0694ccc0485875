//! Arbitrary bytes as a GGUF file: the header must be accepted or refused with an error, never a
//! panic — whole, and from every prefix the page might read first — and every readable tensor of
//! an accepted header must decode to its element count.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quantscope_core::io::gguf::{decode, parse_header, read_header, GgufError};

fuzz_target!(|data: &[u8]| {
    // A prefix asks for more or gives the same header as the whole file.
    let whole = read_header(data);
    for cut in [0, 7, 24, 64, data.len() / 2] {
        match parse_header(&data[..cut.min(data.len())], data.len() as u64) {
            Err(GgufError::NeedMore { at_least }) => assert!(at_least as usize > cut),
            // (As text: a NaN in the metadata is the same NaN in both.)
            other => assert_eq!(format!("{other:?}"), format!("{whole:?}")),
        }
    }
    let Ok(header) = whole else {
        return;
    };
    for entry in &header.tensors {
        let bytes = &data[entry.begin as usize..entry.end as usize];
        if let Ok(values) = decode(entry, bytes) {
            assert_eq!(values.len(), entry.n_elements());
        }
    }
});
