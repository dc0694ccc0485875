//! Named configurations of the formats people deploy: the CLI's `--preset` and the app's "formats
//! side by side" table.

use crate::block::ScaleFormat;
use crate::config::{Granularity, QuantizerConfig, Scheme};
use crate::format::Format;

/// Every preset name, in the order the comparison lists them.
pub const PRESETS: [&str; 18] = [
    "int8",
    "int8-channel",
    "int4-g128",
    "int4-g32",
    "fp8-e4m3",
    "mxfp8-e4m3",
    "mxfp8-e5m2",
    "mxfp6-e2m3",
    "mxfp6-e3m2",
    "mxfp4",
    "mxint8",
    "nvfp4",
    "nf4",
    "q8_0",
    "q4_0",
    "q4_1",
    "kmeans16",
    "bf16",
];

/// The configuration a preset stands for; `None` for an unknown name.
///
/// MX presets follow OCP MX v1.0 (blocks of 32, E8M0 scale, floor rounding); NVFP4 uses blocks of
/// 16 with E4M3 scales under an f32 tensor scale; NF4 blocks of 64 with an f32 absmax (QLoRA
/// without double quantization); `intN-gG` is symmetric integer with an f16 scale per G values
/// (the GPTQ/AWQ layout, round-to-nearest); `int8-channel` per output channel (axis 0).
pub fn preset(name: &str) -> Option<QuantizerConfig> {
    let base = QuantizerConfig::default();
    let group = |size| Granularity::Group { size };
    let mx = |format| QuantizerConfig {
        format,
        scheme: Scheme::Symmetric,
        granularity: group(32),
        scale_format: ScaleFormat::E8m0,
        ..base.clone()
    };
    let int_group = |bits, size| QuantizerConfig {
        bits,
        scheme: Scheme::Symmetric,
        granularity: group(size),
        scale_format: ScaleFormat::F16,
        ..base.clone()
    };
    Some(match name {
        "int8" => QuantizerConfig {
            scheme: Scheme::Symmetric,
            ..base
        },
        "int8-channel" => QuantizerConfig {
            scheme: Scheme::Symmetric,
            granularity: Granularity::Channel { axis: 0 },
            ..base
        },
        "int4-g128" => int_group(4, 128),
        "int4-g32" => int_group(4, 32),
        "fp8-e4m3" => QuantizerConfig {
            format: Format::Fp8E4m3,
            ..base
        },
        "mxfp8-e4m3" => mx(Format::Fp8E4m3),
        "mxfp8-e5m2" => mx(Format::Fp8E5m2),
        "mxfp6-e2m3" => mx(Format::Fp6E2m3),
        "mxfp6-e3m2" => mx(Format::Fp6E3m2),
        "mxfp4" => mx(Format::Fp4E2m1),
        "mxint8" => QuantizerConfig {
            narrow_range: true,
            ..mx(Format::Int)
        },
        "nvfp4" => QuantizerConfig {
            format: Format::Fp4E2m1,
            scheme: Scheme::Symmetric,
            granularity: group(16),
            scale_format: ScaleFormat::E4m3,
            ..base
        },
        "nf4" => QuantizerConfig {
            format: Format::Nf4,
            granularity: group(64),
            ..base
        },
        "q8_0" => QuantizerConfig {
            format: Format::Q8_0,
            ..base
        },
        "q4_0" => QuantizerConfig {
            format: Format::Q4_0,
            ..base
        },
        "q4_1" => QuantizerConfig {
            format: Format::Q4_1,
            ..base
        },
        "kmeans16" => QuantizerConfig {
            format: Format::Kmeans,
            levels: 16,
            ..base
        },
        "bf16" => QuantizerConfig {
            format: Format::Bf16,
            ..base
        },
        _ => return None,
    })
}

/// The presets whose block layout fits a tensor whose last axis has length `last` (group sizes
/// must divide it).
pub fn fitting(last: usize) -> Vec<(&'static str, QuantizerConfig)> {
    PRESETS
        .iter()
        .filter_map(|&name| preset(name).map(|c| (name, c)))
        .filter(|(_, c)| {
            let size = match (c.format.ggml_block(), c.granularity) {
                (Some(b), _) => b,
                (None, Granularity::Group { size }) => size,
                _ => 1,
            };
            last % size == 0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn every_preset_is_valid() {
        for name in PRESETS {
            let c = preset(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(c.validate(), Ok(()), "{name}");
        }
        assert!(preset("fp3").is_none());
        // A last axis of 64 fits everything but int4-g128.
        let names: Vec<&str> = fitting(64).into_iter().map(|(n, _)| n).collect();
        assert!(!names.contains(&"int4-g128") && names.contains(&"mxfp4"));
    }
}
