//! Named configurations of the formats people deploy: the CLI's `--preset` and the app's "formats
//! side by side" table.

use crate::analysis::AnalysisOptions;
use crate::block::ScaleFormat;
use crate::config::{Granularity, QuantizerConfig, Scheme};
use crate::dataset::Dataset;
use crate::format::Format;
use crate::run::analyze;

/// Every preset name, in the order the comparison lists them.
pub const PRESETS: [&str; 30] = [
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
    "q5_0",
    "q5_1",
    "q2_k",
    "q3_k",
    "q4_k",
    "q5_k",
    "q6_k",
    "iq4_nl",
    "iq4_xs",
    "tq1_0",
    "tq2_0",
    "kmeans16",
    "ternary",
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
        // llama.cpp's other types: their own blocks and scale rules (the settings above do not
        // apply to them). `q4_k` is the type of most tensors in a Q4_K_M file, `q6_k` of the rest.
        "q5_0" | "q5_1" | "q2_k" | "q3_k" | "q4_k" | "q5_k" | "q6_k" | "iq4_nl" | "iq4_xs"
        | "tq1_0" | "tq2_0" => QuantizerConfig {
            format: Format::from_name(name)?,
            ..base
        },
        "kmeans16" => QuantizerConfig {
            format: Format::Kmeans,
            levels: 16,
            ..base
        },
        // BitNet b1.58: −1, 0, +1 times the mean magnitude of the whole tensor.
        "ternary" => QuantizerConfig {
            format: Format::Ternary,
            ..base
        },
        "bf16" => QuantizerConfig {
            format: Format::Bf16,
            ..base
        },
        _ => return None,
    })
}

/// `current` switched to preset `name`: the preset's format, blocks, scales and scheme, with the
/// user's calibration, rounding and seed kept (they are choices a preset does not make). `None` for
/// an unknown name.
pub fn apply(name: &str, current: &QuantizerConfig) -> Option<QuantizerConfig> {
    Some(QuantizerConfig {
        calibration: current.calibration,
        rounding: current.rounding,
        seed: current.seed,
        ..preset(name)?
    })
}

/// The preset `config` is, when it is one: the first whose [`apply`] to `config` gives `config`
/// back (the user's calibration, rounding and seed are kept by `apply`, so they do not matter).
pub fn active(config: &QuantizerConfig) -> Option<&'static str> {
    PRESETS
        .iter()
        .copied()
        .find(|name| apply(name, config).as_ref() == Some(config))
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

/// One row of the "formats side by side" comparison.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Comparison {
    pub name: String,
    pub config: QuantizerConfig,
    pub bits_per_value: f64,
    pub mse: f64,
    pub sqnr_db: f64,
    /// No other row has at most as many bits per value and at least as much SQNR (one strictly).
    pub pareto: bool,
}

/// Whole rows (along the last axis) of `dataset`, evenly spaced, at most about `max_values`
/// values; a single row longer than that is cut to a prefix whose length is a multiple of 128.
/// The dataset itself when it is small enough.
pub fn sample_rows(dataset: &Dataset, max_values: usize) -> Result<Dataset, crate::DatasetError> {
    let n = dataset.len();
    if n <= max_values {
        return Ok(dataset.clone());
    }
    let shape = dataset.shape();
    let last = shape.last().copied().unwrap_or(n).max(1);
    let values = dataset.values();
    if last > max_values {
        let len = (max_values / 128).max(1) * 128;
        return Dataset::new(dataset.name(), vec![len], values[..len].to_vec());
    }
    let rows = n / last;
    let keep = (max_values / last).max(1);
    let picked: Vec<f32> = (0..keep)
        .flat_map(|k| {
            let r = k * rows / keep;
            values[r * last..(r + 1) * last].iter().copied()
        })
        .collect();
    Dataset::new(dataset.name(), vec![keep, last], picked)
}

/// Every preset that fits `dataset` (plus `extra` rows such as the user's own settings),
/// analysed and sorted by bits per value, with the Pareto front marked.
pub fn compare(
    dataset: &Dataset,
    extra: &[(String, QuantizerConfig)],
    options: &AnalysisOptions,
) -> Vec<Comparison> {
    let last = dataset.shape().last().copied().unwrap_or(dataset.len());
    let mut rows: Vec<Comparison> = fitting(last)
        .into_iter()
        .map(|(name, c)| (name.to_string(), c))
        .chain(extra.iter().cloned())
        .filter_map(|(name, config)| {
            let a = analyze(dataset, &config, options).ok()?;
            Some(Comparison {
                name,
                config,
                bits_per_value: a.metrics.bits_per_value,
                mse: a.metrics.mse,
                sqnr_db: a.metrics.sqnr_db,
                pareto: false,
            })
        })
        .collect();
    rank(&mut rows);
    rows
}

/// Sorts rows by bits per value (then SQNR, best first) and marks the Pareto front.
pub fn rank(rows: &mut [Comparison]) {
    rows.sort_by(|a, b| {
        a.bits_per_value
            .total_cmp(&b.bits_per_value)
            .then(b.sqnr_db.total_cmp(&a.sqnr_db))
    });
    let flags: Vec<bool> = rows
        .iter()
        .map(|r| {
            !rows.iter().any(|o| {
                o.bits_per_value <= r.bits_per_value
                    && o.sqnr_db >= r.sqnr_db
                    && (o.bits_per_value < r.bits_per_value || o.sqnr_db > r.sqnr_db)
            })
        })
        .collect();
    for (r, f) in rows.iter_mut().zip(flags) {
        r.pareto = f;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn comparison_ranks_and_marks_the_front() {
        let values = crate::synth::generate(
            crate::synth::Distribution::StudentT { nu: 4.0 },
            64 * 256,
            3,
        )
        .unwrap_or_default();
        let d = Dataset::new("t", vec![64, 256], values).unwrap_or_else(|e| panic!("{e}"));
        let rows = compare(&d, &[], &AnalysisOptions::default());
        assert_eq!(rows.len(), PRESETS.len());
        assert!(rows
            .windows(2)
            .all(|w| w[0].bits_per_value <= w[1].bits_per_value));
        // The front is never empty, and the most precise format (bf16) is on it.
        assert!(rows.iter().any(|r| r.pareto));
        let best = rows.iter().max_by(|a, b| a.sqnr_db.total_cmp(&b.sqnr_db));
        assert!(best.is_some_and(|b| b.pareto));
        // Every front member beats every cheaper-or-equal row in SQNR.
        for r in rows.iter().filter(|r| r.pareto) {
            assert!(!rows
                .iter()
                .any(|o| o.bits_per_value <= r.bits_per_value && o.sqnr_db > r.sqnr_db));
        }
        // More bits per value on the front buys more SQNR.
        let front: Vec<&Comparison> = rows.iter().filter(|r| r.pareto).collect();
        assert!(front.windows(2).all(|w| w[0].sqnr_db < w[1].sqnr_db));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn sampling_keeps_whole_rows() {
        let d = Dataset::new("t", vec![100, 64], (0..6400).map(|i| i as f32).collect())
            .unwrap_or_else(|e| panic!("{e}"));
        let s = sample_rows(&d, 1000).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.shape(), &[15, 64]);
        // Each kept row starts at a multiple of 64.
        assert!(s
            .values()
            .chunks(64)
            .all(|r| r[0] as usize % 64 == 0 && r[63] == r[0] + 63.0));
        let flat = Dataset::from_vec("f", vec![1.0; 5000]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sample_rows(&flat, 1000).map(|s| s.len()).unwrap_or(0), 896);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn every_preset_is_valid() {
        for name in PRESETS {
            let c = preset(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(c.validate(), Ok(()), "{name}");
        }
        assert!(preset("fp3").is_none());
        // Applying a preset keeps the user's calibration, rounding and seed, and nothing else.
        let mine = QuantizerConfig {
            bits: 3,
            calibration: crate::config::Calibration::Percentile { p: 99.0 },
            rounding: crate::config::Rounding::Floor,
            seed: 9,
            ..Default::default()
        };
        let applied = apply("nvfp4", &mine).unwrap_or_default();
        assert_eq!(
            (applied.calibration, applied.rounding, applied.seed),
            (mine.calibration, mine.rounding, 9)
        );
        assert_eq!(applied.scale_format, ScaleFormat::E4m3);
        assert_eq!(applied.bits, QuantizerConfig::default().bits);
        assert!(apply("fp3", &mine).is_none());
        // A configuration that is a preset says which; one changed by hand is none.
        assert_eq!(active(&applied), Some("nvfp4"));
        for name in PRESETS {
            let c = apply(name, &mine).unwrap_or_default();
            let found = active(&c).unwrap_or("none");
            // Every preset is found as itself, or as one that applies identically.
            assert_eq!(apply(found, &mine), Some(c), "{name} found as {found}");
        }
        let hand = QuantizerConfig { bits: 5, ..applied };
        assert_eq!(active(&hand), None);
        // A last axis of 64 fits everything but int4-g128.
        let names: Vec<&str> = fitting(64).into_iter().map(|(n, _)| n).collect();
        assert!(!names.contains(&"int4-g128") && names.contains(&"mxfp4"));
    }
}
