use super::*;

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn names_ids_and_sizes_are_llama_cpps() {
    for t in GgmlType::ALL {
        assert_eq!(GgmlType::from_id(t.id()), Some(t));
        assert_eq!(GgmlType::from_name(t.name()), Some(t));
    }
    assert_eq!(
        GgmlType::from_id(4),
        None,
        "4 and 5 were Q4_2/Q4_3, removed"
    );
    assert_eq!(GgmlType::from_name("q4_k"), Some(GgmlType::Q4K));
    // Bits per value with the scales, as llama.cpp documents them.
    for (t, bpv) in [
        (GgmlType::Q4_0, 4.5),
        (GgmlType::Q5_0, 5.5),
        (GgmlType::Q5_1, 6.0),
        (GgmlType::Q8_0, 8.5),
        (GgmlType::Q2K, 2.625),
        (GgmlType::Q3K, 3.4375),
        (GgmlType::Q4K, 4.5),
        (GgmlType::Q5K, 5.5),
        (GgmlType::Q6K, 6.5625),
        (GgmlType::Iq4Nl, 4.5),
        (GgmlType::Iq4Xs, 4.25),
    ] {
        assert_eq!(t.bits_per_value(), bpv, "{}", t.name());
    }
    // Every codec is its own type's, and every type with a codec can be read.
    for t in GgmlType::ALL {
        if let Some(c) = t.codec() {
            assert_eq!(c.ty(), t);
            assert!(t.can_dequantize());
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn nearest_int_rounds_half_to_even_like_the_c_helper() {
    for (x, want) in [
        (0.5f32, 0),
        (1.5, 2),
        (2.5, 2),
        (-0.5, 0),
        (-1.5, -2),
        (-2.5, -2),
        (3.49, 3),
        (-3.51, -4),
        (4_194_303.0, 4_194_303),
        (-4_194_303.0, -4_194_303),
    ] {
        assert_eq!(nearest_int(x), want, "{x}");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn iq4_best_index_goes_up_at_the_midpoint() {
    // Between −10 and 1 the midpoint is −4.5: it codes to 1 (index 8); just below, to −10.
    assert_eq!(iq4::best_index(-4.5), 8);
    assert_eq!(iq4::best_index(-4.5 - 1e-6), 7);
    assert_eq!(iq4::best_index(-1000.0), 0);
    assert_eq!(iq4::best_index(1000.0), 15);
    for (k, &v) in iq4::KVALUES.iter().enumerate() {
        assert_eq!(iq4::best_index(f32::from(v)), k);
    }
    // Counting the midpoints is the C source's binary search: on every midpoint and its
    // neighbours, ±0, ±Inf, NaN and a stream of random bit patterns.
    let mut probes = vec![0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN];
    for w in iq4::KVALUES.windows(2) {
        let m = (f32::from(w[0]) + f32::from(w[1])) / 2.0;
        probes.extend([m, m.next_up(), m.next_down()]);
    }
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..200_000 {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let x = f32::from_bits((s >> 32) as u32);
        probes.extend([x, x * 1e-36, (x * 1e-36).clamp(-200.0, 200.0)]);
    }
    for x in probes {
        assert_eq!(iq4::best_index(x), iq4::best_index_search(x), "{x:e}");
    }
}

/// For every codec on random blocks: the codes and sub-blocks describe the bytes — each value
/// decodes to its sub-block's level of its code, scaled and offset — and what was quantized
/// decodes close to the input (within one step of its sub-block unless coded to an end level,
/// where the stored scales may clip it; exactly for all-zero data).
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn codes_and_sub_blocks_describe_the_bytes() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for t in GgmlType::ALL {
        let Some(codec) = t.codec() else {
            continue;
        };
        let b = codec.block_values();
        for trial in 0..20 {
            let scale = [1e-3f32, 0.05, 1.0, 300.0][trial % 4];
            let mut x: Vec<f32> = (0..b)
                .map(|_| (rng.random::<f32>() - 0.3) * scale)
                .collect();
            if trial == 19 {
                x.fill(0.0);
            }
            let bytes = quantize(codec, &x);
            let mut values = vec![0f32; b];
            codec.dequantize_block(&bytes, &mut values);
            let mut codes = vec![0u32; b];
            codec.codes_block(&bytes, &mut codes);
            let subs = codec.sub_blocks(&bytes);
            assert_eq!(subs.iter().map(|s| s.len).sum::<usize>(), b, "{}", t.name());
            for s in &subs {
                let step = s.scale.abs()
                    * s.levels
                        .windows(2)
                        .map(|w| (w[1] - w[0]).abs())
                        .fold(0f32, f32::max);
                for i in s.start..s.start + s.len {
                    let level = s.levels[codes[i] as usize];
                    let want = level * s.scale + s.offset;
                    assert!(
                        (values[i] - want).abs() <= 1e-6 * want.abs().max(1e-30),
                        "{} trial {trial} value {i}: {} vs {want}",
                        t.name(),
                        values[i]
                    );
                    let lo = s.levels.iter().copied().fold(f32::INFINITY, f32::min);
                    let hi = s.levels.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    if s.scale != 0.0 && level != lo && level != hi {
                        assert!(
                            (values[i] - x[i]).abs() <= step + 1e-6 * scale,
                            "{} trial {trial} value {i}: {} from {} (step {step})",
                            t.name(),
                            values[i],
                            x[i]
                        );
                    }
                }
            }
            if trial == 19 {
                assert!(values.iter().all(|v| *v == 0.0), "{}", t.name());
            }
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn dequantize_refuses_what_it_cannot_read_and_wrong_lengths() {
    assert_eq!(
        dequantize(GgmlType::Iq2Xxs, &[0; 66], 256),
        Err(DequantizeError::Unsupported("IQ2_XXS"))
    );
    assert!(matches!(
        dequantize(GgmlType::Q4K, &[0; 144], 100),
        Err(DequantizeError::PartialBlock { .. })
    ));
    assert!(matches!(
        dequantize(GgmlType::Q4K, &[0; 143], 256),
        Err(DequantizeError::Length { .. })
    ));
    let f = dequantize(GgmlType::F16, &[0x00, 0x3C, 0x00, 0xC0], 2);
    assert_eq!(f, Ok(vec![1.0, -2.0]));
}

/// The analysis of every byte-coded GGML format reconstructs exactly what llama.cpp's bytes
/// decode to, codes included, in one share or several (shares cut through super-blocks), and
/// the metrics are those of that reconstruction.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn the_analysis_of_a_ggml_format_is_its_bytes() {
    use crate::{analyze, merge, quantize as quantize_dataset, AnalysisOptions, Dataset, Format};
    use crate::{QuantizerConfig, Share};
    let values: Vec<f32> = (0..8 * 512)
        .map(|i| ((i as f32 * 0.37).sin() * 0.05) + if i == 700 { 3.0 } else { 0.0 })
        .collect();
    let d = Dataset::new("g", vec![8, 512], values.clone()).unwrap_or_else(|e| panic!("{e}"));
    for format in Format::ALL.into_iter().filter(|f| f.ggml_bytes().is_some()) {
        let ty = format.ggml_bytes().unwrap_or(GgmlType::F32);
        let codec = ty.codec().unwrap_or_else(|| panic!("{ty:?} has no codec"));
        let bytes = quantize(codec, &values);
        let want = dequantize(ty, &bytes, values.len()).unwrap_or_default();
        let config = QuantizerConfig {
            format,
            ..Default::default()
        };
        let q = quantize_dataset(&d, &config).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.dequantized, want, "{}", format.name());
        let b = codec.block_values();
        for (blk, chunk) in bytes.chunks(codec.block_bytes()).enumerate() {
            let mut codes = vec![0u32; b];
            codec.codes_block(chunk, &mut codes);
            for (k, c) in codes.iter().enumerate() {
                assert_eq!(
                    q.codes[blk * b + k],
                    *c as i32,
                    "{} code {}",
                    format.name(),
                    blk * b + k
                );
            }
        }
        let opts = AnalysisOptions::default();
        let whole = analyze(&d, &config, &opts).unwrap_or_else(|e| panic!("{e}"));
        let sse: f64 = values
            .iter()
            .zip(&want)
            .map(|(&r, &w)| (f64::from(r) - f64::from(w)).powi(2))
            .sum();
        let mse = sse / values.len() as f64;
        assert!(
            (whole.metrics.mse - mse).abs() <= 1e-12 * mse,
            "{}",
            format.name()
        );
        assert_eq!(
            whole.metrics.bits_per_value,
            ty.bits_per_value(),
            "{}",
            format.name()
        );
        // Three shares (their spans cut through super-blocks) merge to the same figures.
        let parts = (0..3)
            .map(|index| {
                crate::analyze_share(&d, &config, &opts, Share { index, count: 3 })
                    .unwrap_or_else(|e| panic!("{e}"))
            })
            .collect();
        let merged = merge(parts).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(merged.output_hist, whole.output_hist, "{}", format.name());
        assert_eq!(merged.metrics.levels_used, whole.metrics.levels_used);
        assert!((merged.metrics.mse - mse).abs() <= 1e-12 * mse);
    }
    // A row that is not whole super-blocks is refused with the reason.
    let d = Dataset::new("g", vec![2, 384], vec![0.5; 768]).unwrap_or_else(|e| panic!("{e}"));
    let config = QuantizerConfig {
        format: Format::Q4K,
        ..Default::default()
    };
    let e = analyze(&d, &config, &AnalysisOptions::default()).map(|_| ());
    assert!(
        matches!(
            &e,
            Err(crate::AnalyzeError::Layout(
                crate::granularity::LayoutError::Blocks {
                    block: 256,
                    last: 384,
                    ..
                }
            ))
        ),
        "{e:?}"
    );
}

/// The three legacy formats, coded by their own element coders from a plan made a batch of
/// blocks at a time, reconstruct exactly what llama.cpp's bytes decode to, over more blocks than
/// a batch and blocks that test the plan's arithmetic: all zero, constant (Q4_1's d = 0), a
/// range so small that d is subnormal (no finite 1/d), a tie of −m and m (Q4_0 keeps the first)
/// and a single large value.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn the_legacy_formats_reconstruct_their_bytes_over_many_blocks() {
    use crate::{quantize as quantize_dataset, Dataset, Format, QuantizerConfig};
    let (rows, cols) = (3, 32 * 50);
    let mut values: Vec<f32> = (0..rows * cols)
        .map(|i| (i as f32 * 0.731).sin() * (1.0 + (i / 32 % 7) as f32))
        .collect();
    let mut block = |b: usize, f: &dyn Fn(usize) -> f32| {
        for k in 0..32 {
            values[b * 32 + k] = f(k);
        }
    };
    block(3, &|_| 0.0);
    block(70, &|_| 0.25);
    block(71, &|k| k as f32 * 1e-41);
    block(72, &|k| 1e-39 - k as f32 * 1e-41);
    block(100, &|k| [0.5, -2.0, 1.0, 2.0][k % 4]);
    block(101, &|k| [0.5, 2.0, 1.0, -2.0][k % 4]);
    block(149, &|k| if k == 17 { -300.0 } else { 0.01 });
    let d = Dataset::new("g", vec![rows, cols], values.clone()).unwrap_or_else(|e| panic!("{e}"));
    for (format, ty) in [
        (Format::Q8_0, GgmlType::Q8_0),
        (Format::Q4_0, GgmlType::Q4_0),
        (Format::Q4_1, GgmlType::Q4_1),
    ] {
        let codec = ty.codec().unwrap_or_else(|| panic!("{ty:?} has no codec"));
        let want = dequantize(ty, &quantize(codec, &values), values.len()).unwrap_or_default();
        let config = QuantizerConfig {
            format,
            ..Default::default()
        };
        let q = quantize_dataset(&d, &config).unwrap_or_else(|e| panic!("{e}"));
        // Equal as numbers: a zero level times a negative d is −0 in the bytes' decoding.
        for (i, (g, w)) in q.dequantized.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{ty:?} value {i}");
        }
    }
}
