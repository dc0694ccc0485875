//! The quantized tensor as files: dequantized values and codes as `.npy`, and codes with their
//! scales and zero-points as `.safetensors` (written by the `safetensors` crate, so any reader of
//! the format takes it).

use std::borrow::Cow;

use safetensors::tensor::{Dtype, View};

use super::npy;
use crate::analysis::Quantized;
use crate::config::{Granularity, QuantizerConfig};
use crate::format::Format;

/// The shape of a tensor's per-group parameters: `[]` per tensor, `[channels]` per channel, the
/// tensor's shape with the last axis divided by the group size per group, `[n_groups]` for the
/// block formats' blocks.
pub fn group_shape(shape: &[usize], config: &QuantizerConfig, n_groups: usize) -> Vec<usize> {
    let fits = |s: &Vec<usize>| s.iter().product::<usize>() == n_groups;
    let wanted = match (config.format, config.granularity) {
        (Format::Int, Granularity::Tensor) => vec![],
        (Format::Int, Granularity::Channel { axis }) => vec![shape.get(axis).copied().unwrap_or(1)],
        (Format::Int, Granularity::Group { size }) => {
            let mut s = shape.to_vec();
            if let Some(last) = s.last_mut() {
                *last /= size.max(1);
            }
            s
        }
        _ => {
            // Blocks run along the last axis: rows × blocks per row when they tile the rows.
            let n: usize = shape.iter().product();
            let block = n / n_groups.max(1);
            match shape.split_last() {
                Some((&last, rows)) if block > 0 && last % block == 0 => {
                    rows.iter().copied().chain([last / block]).collect()
                }
                _ => vec![n_groups],
            }
        }
    };
    if fits(&wanted) {
        wanted
    } else {
        vec![n_groups]
    }
}

/// The dequantized values, as an f32 `.npy` of the data's shape.
pub fn dequantized_npy(shape: &[usize], q: &Quantized) -> Vec<u8> {
    npy::write_f32(shape, &q.dequantized)
}

/// The codes, as an i32 `.npy` of the data's shape.
pub fn codes_npy(shape: &[usize], q: &Quantized) -> Vec<u8> {
    npy::write_i32(shape, &q.codes)
}

/// The narrowest integer type that holds codes `lo..=hi`, signed when the format's codes are.
fn code_dtype(signed: bool, lo: i32, hi: i32) -> Dtype {
    let signed = signed || lo < 0;
    let fits = |min: i32, max: i32| lo >= min && hi <= max;
    match signed {
        true if fits(-128, 127) => Dtype::I8,
        true if fits(-32768, 32767) => Dtype::I16,
        false if fits(0, 255) => Dtype::U8,
        false if fits(0, 65535) => Dtype::U16,
        _ => Dtype::I32,
    }
}

struct Tensor {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &Tensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// `codes` (the narrowest integer type of the format's codes, the data's shape), `scales` (f32)
/// and, for the integer format, `zero_points` (i32), for the others `offsets` (f32), shaped by
/// [`group_shape`], and where codes index a table `levels` (f32: what each code stands for,
/// shared or one row per group); the metadata holds the settings (`config`, as the CLI's JSON
/// writes them), the data's `source` name and how to decode (`decode`). A vector codebook has no
/// scales: refused (its codes index centroids; use `.npy`).
pub fn quantized_safetensors(
    source: &str,
    shape: &[usize],
    config: &QuantizerConfig,
    q: &Quantized,
) -> Result<Vec<u8>, String> {
    if q.groups.is_empty() {
        return Err(
            "a vector codebook has no scales or zero-points to write: export its codes and \
             dequantized values as .npy"
                .into(),
        );
    }
    let (lo, hi) = q
        .codes
        .iter()
        .fold((0i32, 0i32), |(lo, hi), &c| (lo.min(c), hi.max(c)));
    let signed = config.signed_codes();
    let dtype = code_dtype(signed, lo, hi);
    let codes: Vec<u8> = match dtype {
        Dtype::I8 | Dtype::U8 => q.codes.iter().map(|&c| c as u8).collect(),
        Dtype::I16 | Dtype::U16 => q
            .codes
            .iter()
            .flat_map(|&c| (c as u16).to_le_bytes())
            .collect(),
        _ => q.codes.iter().flat_map(|&c| c.to_le_bytes()).collect(),
    };
    let gshape = group_shape(shape, config, q.groups.len());
    let mut tensors = vec![
        (
            "codes",
            Tensor {
                dtype,
                shape: shape.to_vec(),
                bytes: codes,
            },
        ),
        (
            "scales",
            Tensor {
                dtype: Dtype::F32,
                shape: gshape.clone(),
                bytes: q
                    .groups
                    .iter()
                    .flat_map(|g| g.params.scale.to_le_bytes())
                    .collect(),
            },
        ),
    ];
    let f32_bytes = |v: &mut dyn Iterator<Item = f32>| v.flat_map(f32::to_le_bytes).collect();
    let decode = if config.format == Format::Int {
        tensors.push((
            "zero_points",
            Tensor {
                dtype: Dtype::I32,
                shape: gshape,
                bytes: q
                    .groups
                    .iter()
                    .flat_map(|g| g.params.zero_point.to_le_bytes())
                    .collect(),
            },
        ));
        "x = (codes - zero_points) * scales, each group's own scale and zero-point".to_string()
    } else {
        // What decoding adds after the scale (a GGML block's minimum; 0 for most formats).
        tensors.push((
            "offsets",
            Tensor {
                dtype: Dtype::F32,
                shape: gshape.clone(),
                bytes: f32_bytes(&mut q.groups.iter().map(|g| g.offset)),
            },
        ));
        if q.code_width > 0 {
            // One table every group shares, or one per group.
            let shared = q.code_values.len() == q.code_width;
            let mut shape = if shared { Vec::new() } else { gshape };
            shape.push(q.code_width);
            tensors.push((
                "levels",
                Tensor {
                    dtype: Dtype::F32,
                    shape,
                    bytes: f32_bytes(&mut q.code_values.iter().copied()),
                },
            ));
            if shared {
                "x = levels[codes] * scales + offsets: levels holds what each code stands for \
                 (NaN: a code with no value), scales and offsets are each block's"
                    .to_string()
            } else {
                "x = levels[group][codes] * scales + offsets: each group's own table of what its \
                 codes stand for, and its scale and offset"
                    .to_string()
            }
        } else if config.knobs().fixed_widths {
            format!(
                "codes are Q{}.{} fixed-point integers: x = codes * 2^-{} (scales are 1, offsets 0)",
                config.int_bits, config.frac_bits, config.frac_bits
            )
        } else if config.signed_codes() {
            "x = codes * scales + offsets, each block's own scale and offset".to_string()
        } else {
            format!(
                "codes are {} bit patterns: x = their value * scales + offsets (scales 1, offsets 0)",
                config.format.label()
            )
        }
    };
    // One metadata entry holding an ordered JSON object: a map of several entries would be
    // written in hash order, and the same tensor would not give the same bytes twice.
    let about = serde_json::json!({
        "writer": format!("quantscope {}", env!("CARGO_PKG_VERSION")),
        "source": source,
        "format": config.format.name(),
        "config": config,
        "decode": decode,
    });
    let mut meta = hashbrown::HashMap::new();
    meta.insert("quantscope".to_string(), about.to_string());
    safetensors::serialize(tensors.iter().map(|(n, t)| (*n, t)), Some(meta))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Signedness;
    use crate::dataset::Dataset;
    use crate::run::quantize;
    use safetensors::SafeTensors;

    fn data() -> Dataset {
        let v: Vec<f32> = (0..4 * 64)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        Dataset::new("d", vec![4, 64], v).unwrap_or_else(|e| panic!("{e}"))
    }

    fn read_i32s(bytes: &[u8]) -> Vec<i32> {
        bytes
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn per_group_codes_scales_and_zero_points_decode_to_the_dequantized_values() {
        let d = data();
        let config = QuantizerConfig {
            bits: 4,
            granularity: Granularity::Group { size: 16 },
            ..QuantizerConfig::default()
        };
        let q = quantize(&d, &config).unwrap_or_else(|e| panic!("{e}"));
        let bytes =
            quantized_safetensors("d", d.shape(), &config, &q).unwrap_or_else(|e| panic!("{e}"));
        let st = SafeTensors::deserialize(&bytes).unwrap_or_else(|e| panic!("{e}"));
        let codes = st.tensor("codes").unwrap_or_else(|e| panic!("{e}"));
        let scales = st.tensor("scales").unwrap_or_else(|e| panic!("{e}"));
        let zps = st.tensor("zero_points").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((codes.dtype(), codes.shape()), (Dtype::I8, &[4, 64][..]));
        assert_eq!(scales.shape(), &[4, 4]);
        let scales: Vec<f32> = scales
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let zps = read_i32s(zps.data());
        for (i, (&c, &x)) in codes.data().iter().zip(&q.dequantized).enumerate() {
            let g = i / 16;
            let decoded = (f32::from(c as i8) - zps[g] as f32) * scales[g];
            assert_eq!(decoded, x, "value {i}");
        }
        let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap_or_else(|e| panic!("{e}"));
        let meta = meta.metadata().clone().unwrap_or_default();
        let about: serde_json::Value =
            serde_json::from_str(&meta["quantscope"]).unwrap_or_else(|e| panic!("{e}"));
        let back: QuantizerConfig =
            serde_json::from_value(about["config"].clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, config);
        assert_eq!(about["source"], "d");
        // The same tensor gives the same bytes.
        let again =
            quantized_safetensors("d", d.shape(), &config, &q).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again, bytes);
    }

    fn read_f32s(bytes: &[u8]) -> Vec<f32> {
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }

    /// Every format's file decodes to its dequantized values by the rule its metadata states:
    /// codes, scales, offsets and, where codes index a table, the levels — a GGML block's
    /// minimum (Q4_1, the K types) included. Per tensor, per channel and per group.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn every_formats_file_decodes_to_its_dequantized_values() {
        let v: Vec<f32> = (0..4 * 256)
            .map(|i| ((i * 37 % 101) as f32 - 40.0) / 7.0 * (1.0 + (i / 256) as f32))
            .collect();
        let d = Dataset::new("d", vec![4, 256], v).unwrap_or_else(|e| panic!("{e}"));
        let granularities = [
            Granularity::Tensor,
            Granularity::Channel { axis: 0 },
            Granularity::Group { size: 32 },
        ];
        let mut offsets_seen = 0;
        for format in Format::ALL.into_iter().filter(|&f| f != Format::Int) {
            for granularity in granularities {
                let mut config = QuantizerConfig {
                    levels: 8,
                    int_bits: 3,
                    frac_bits: 4,
                    ..QuantizerConfig::default()
                };
                config.set_format(format);
                config.granularity = granularity;
                let q = quantize(&d, &config).unwrap_or_else(|e| panic!("{e}"));
                let bytes = quantized_safetensors("d", d.shape(), &config, &q)
                    .unwrap_or_else(|e| panic!("{e}"));
                let st = SafeTensors::deserialize(&bytes).unwrap_or_else(|e| panic!("{e}"));
                let tensor = |name: &str| st.tensor(name).ok();
                let Some(codes) = tensor("codes") else {
                    panic!("{}: no codes", format.name())
                };
                let codes: Vec<i64> = match codes.dtype() {
                    Dtype::I8 => codes.data().iter().map(|&b| i64::from(b as i8)).collect(),
                    Dtype::U8 => codes.data().iter().map(|&b| i64::from(b)).collect(),
                    Dtype::I16 => codes
                        .data()
                        .chunks_exact(2)
                        .map(|b| i64::from(i16::from_le_bytes([b[0], b[1]])))
                        .collect(),
                    Dtype::U16 => codes
                        .data()
                        .chunks_exact(2)
                        .map(|b| i64::from(u16::from_le_bytes([b[0], b[1]])))
                        .collect(),
                    other => panic!("{}: codes of {other:?}", format.name()),
                };
                let scales = tensor("scales")
                    .map(|t| read_f32s(t.data()))
                    .unwrap_or_default();
                let offsets = tensor("offsets")
                    .map(|t| read_f32s(t.data()))
                    .unwrap_or_default();
                let levels = tensor("levels").map(|t| read_f32s(t.data()));
                assert_eq!(scales.len(), q.groups.len(), "{}", format.name());
                assert_eq!(offsets.len(), q.groups.len(), "{}", format.name());
                offsets_seen += offsets.iter().filter(|&&o| o != 0.0).count();
                let group_len = codes.len() / q.groups.len();
                for (i, (&c, &x)) in codes.iter().zip(&q.dequantized).enumerate() {
                    let g = i / group_len;
                    let value = match &levels {
                        Some(table) if table.len() == q.code_width => table[c as usize],
                        Some(table) => table[g * q.code_width + c as usize],
                        None if config.knobs().fixed_widths => {
                            c as f32 * (-f32::from(config.frac_bits)).exp2()
                        }
                        None if config.signed_codes() => c as f32,
                        None if format == Format::Fp16 => half::f16::from_bits(c as u16).to_f32(),
                        None => half::bf16::from_bits(c as u16).to_f32(),
                    };
                    let decoded = if config.knobs().fixed_widths {
                        value
                    } else {
                        value * scales[g] + offsets[g]
                    };
                    assert!(
                        decoded == x || decoded.to_bits() == x.to_bits(),
                        "{} {granularity:?} value {i}: code {c} decodes to {decoded}, not {x}",
                        format.name()
                    );
                }
            }
        }
        // Q4_1 and the K types with minima store offsets, and the test read them.
        assert!(offsets_seen > 0);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn a_vector_codebook_has_no_scales_to_write_and_says_so() {
        let d = data();
        let config = QuantizerConfig {
            format: Format::Kmeans,
            levels: 8,
            vector_dim: 2,
            ..QuantizerConfig::default()
        };
        let q = quantize(&d, &config).unwrap_or_else(|e| panic!("{e}"));
        assert!(q.groups.is_empty());
        let refused = quantized_safetensors("d", d.shape(), &config, &q);
        assert!(
            matches!(&refused, Err(m) if m.contains(".npy")),
            "{refused:?}"
        );
        // Its codes and reconstructions still go as .npy, of the data's shape.
        let (shape, values) = npy::read_f32(&dequantized_npy(d.shape(), &q)).unwrap_or_default();
        assert_eq!((shape, values), (vec![4, 64], q.dequantized.clone()));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn layouts_and_code_types() {
        assert_eq!(
            group_shape(&[4, 64], &QuantizerConfig::default(), 1),
            Vec::<usize>::new()
        );
        let per_channel = QuantizerConfig {
            granularity: Granularity::Channel { axis: 0 },
            ..QuantizerConfig::default()
        };
        assert_eq!(group_shape(&[4, 64], &per_channel, 4), vec![4]);
        let mx = QuantizerConfig {
            format: Format::Q4_0,
            ..QuantizerConfig::default()
        };
        assert_eq!(group_shape(&[4, 64], &mx, 8), vec![4, 2]);
        assert_eq!(group_shape(&[4, 63], &mx, 8), vec![8]);
        assert_eq!(code_dtype(false, 0, 15), Dtype::U8);
        assert_eq!(code_dtype(true, -8, 7), Dtype::I8);
        assert_eq!(code_dtype(false, 0, 65535), Dtype::U16);
        assert_eq!(code_dtype(true, -1, 40000), Dtype::I32);
        // An unsigned 8-bit int tensor: codes up to 255 in u8, read back exactly.
        let d = data();
        let u8cfg = QuantizerConfig {
            signedness: Signedness::Unsigned,
            ..QuantizerConfig::default()
        };
        let q = quantize(&d, &u8cfg).unwrap_or_else(|e| panic!("{e}"));
        let bytes =
            quantized_safetensors("d", d.shape(), &u8cfg, &q).unwrap_or_else(|e| panic!("{e}"));
        let st = SafeTensors::deserialize(&bytes).unwrap_or_else(|e| panic!("{e}"));
        let codes = st.tensor("codes").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(codes.dtype(), Dtype::U8);
        let back: Vec<i32> = codes.data().iter().map(|&c| i32::from(c)).collect();
        assert_eq!(back, q.codes);
        assert!(q.codes.contains(&255));
    }
}
