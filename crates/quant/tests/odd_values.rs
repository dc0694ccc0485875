//! No legal float32 input crashes the core or yields NaN figures (issue 17): subnormals, values
//! near f32's limits, tiny and huge mixed, signed zeros, a single value, NaN/Inf mixed in — through
//! every format, calibration, scheme and granularity, and through the histogram and percentile
//! code the views draw from.
//!
//! The grid test runs every combination and reports every failure at once (each run is caught, so
//! one panic does not hide the others); the property test feeds arbitrary bit patterns.

#[cfg(not(target_arch = "wasm32"))]
use std::panic::{catch_unwind, AssertUnwindSafe};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use quantscope_core::calib::{aciq::AciqFit, percentile_range};
use quantscope_core::{
    analyze, analyze_and_quantize, quantize, Analysis, AnalysisOptions, Calibration, Dataset,
    Format, Histogram, QuantizerConfig, Scheme,
};
#[cfg(not(target_arch = "wasm32"))]
use quantscope_core::{Granularity, ScaleFormat};

/// The odd but legal inputs of issue 17, each with a 2-D shape so per-channel and per-group
/// layouts apply.
fn odd_inputs() -> Vec<(&'static str, Vec<usize>, Vec<f32>)> {
    let sub = vec![0.0, 1e-41, 2.2e-41, 1.5e-41];
    let max: Vec<f32> = [3.4e38, -3.4e38, 1.0, 0.0].repeat(256);
    let limits: Vec<f32> = [f32::MAX, f32::MIN, f32::MIN_POSITIVE, -f32::from_bits(1)].repeat(8);
    let tiny_huge: Vec<f32> = (0..64)
        .map(|i| match i % 4 {
            0 => 1e-41 * i as f32,
            1 => 3e38 - i as f32 * 1e36,
            2 => -1e-30,
            _ => 1.0,
        })
        .collect();
    let zeros = vec![0.0, -0.0, 0.0, -0.0];
    let mixed: Vec<f32> = (0..32)
        .map(|i| match i % 5 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            3 => i as f32 * 0.25 - 3.0,
            _ => f32::from_bits(0x7FC0_1234), // a NaN with a payload
        })
        .collect();
    let mask: Vec<f32> = (0..64)
        .map(|i| if i % 3 == 0 { f32::MIN } else { 0.0 })
        .collect();
    let below_floor: Vec<f32> = (0..64).map(|i| 1e-10 * (i as f32 - 32.0)).collect();
    let one_subnormal = vec![f32::from_bits(1)];
    vec![
        ("subnormals", vec![2, 2], sub),
        ("near f32::MAX", vec![32, 32], max),
        ("f32 limits", vec![4, 8], limits),
        ("tiny and huge", vec![2, 32], tiny_huge),
        ("signed zeros", vec![2, 2], zeros),
        ("one value", vec![1, 1], vec![1.5]),
        ("one subnormal", vec![1], one_subnormal),
        ("NaN/Inf mixed", vec![4, 8], mixed),
        ("attention mask", vec![2, 32], mask),
        ("below the scale floor", vec![2, 32], below_floor),
    ]
}

fn calibrations() -> Vec<Calibration> {
    vec![
        Calibration::MinMax,
        Calibration::Percentile { p: 99.9 },
        Calibration::Percentile { p: 50.0 },
        Calibration::Mse,
        Calibration::Sqnr { gamma: 3.0 },
        Calibration::Kl,
        Calibration::Aciq {
            fit: AciqFit::Laplace,
        },
        Calibration::Aciq {
            fit: AciqFit::Gauss,
        },
        Calibration::Manual { lo: -1.0, hi: 1.0 },
        Calibration::Manual {
            lo: -f32::MAX,
            hi: f32::MAX,
        },
    ]
}

/// Everything an analysis shows must be a number: no NaN anywhere, and finite wherever the data
/// has finite values — except where the format itself cannot hold a value (`overflowed`), whose
/// error is then reported as infinite.
fn check_analysis(a: &Analysis, finite: usize) -> Result<(), String> {
    let m = &a.metrics;
    if m.n + m.overflowed != finite {
        return Err(format!(
            "measured {} + {} overflowed of {finite} finite values",
            m.n, m.overflowed
        ));
    }
    let all = [
        ("mse", m.mse),
        ("rmse", m.rmse),
        ("sqnr_db", m.sqnr_db),
        ("max_abs_error", m.max_abs_error),
        ("mean_abs_error", m.mean_abs_error),
        ("cosine_similarity", m.cosine_similarity),
        ("clipped_fraction", m.clipped_fraction),
        ("code_entropy_bits", m.code_entropy_bits),
        ("bits_per_value", m.bits_per_value),
    ];
    for (name, v) in all {
        if v.is_nan() {
            return Err(format!("{name} is NaN"));
        }
    }
    if m.overflowed == 0 {
        for (name, v) in all {
            // SQNR is +∞ exactly when the reconstruction is exact.
            let exact_sqnr = name == "sqnr_db" && v == f64::INFINITY && m.mse == 0.0;
            if !v.is_finite() && !exact_sqnr {
                return Err(format!("{name} = {v} without overflow"));
            }
        }
    } else if a.notes.iter().all(|n| !n.contains("overflow")) {
        return Err("values overflowed but no note says so".into());
    }
    if !(-1.0..=1.0).contains(&m.cosine_similarity) {
        return Err(format!("cosine {}", m.cosine_similarity));
    }
    for (name, h) in [("input", &a.input_hist), ("output", &a.output_hist)] {
        if !(h.lo.is_finite() && h.hi.is_finite() && h.lo < h.hi) {
            return Err(format!("{name} histogram range [{}, {}]", h.lo, h.hi));
        }
        if !h.bin_width().is_finite() || h.bin_width() <= 0.0 && h.hi > h.lo {
            return Err(format!("{name} histogram bin width {}", h.bin_width()));
        }
    }
    if a.input_hist.total() != finite as u64 {
        return Err(format!(
            "input histogram holds {} of {finite}",
            a.input_hist.total()
        ));
    }
    if a.output_hist.total() > finite as u64 {
        return Err(format!(
            "output histogram holds {} of {finite}",
            a.output_hist.total()
        ));
    }
    for (name, v) in [("levels", &a.levels), ("thresholds", &a.thresholds)] {
        if v.iter().any(|x| !x.is_finite()) {
            return Err(format!("a non-finite entry in {name}"));
        }
        if v.windows(2).any(|w| w[0] > w[1]) {
            return Err(format!("{name} not ascending"));
        }
    }
    for g in &a.groups {
        if !(g.clip.0.is_finite() && g.clip.1.is_finite() && g.clip.0 <= g.clip.1) {
            return Err(format!("clip {:?}", g.clip));
        }
        // GGML stores what its arithmetic gives: d = 0 for a zero block, a negative d for Q4_0,
        // and an infinite f16 d where the scale overflows — or NaN, where llama.cpp's least
        // squares divide ∞ by ∞ (IQ4_NL) — and then values overflow too.
        let s = g.params.scale;
        let ggml = a.config.format.ggml_type().is_some();
        if (s.is_nan() && !ggml) || (!s.is_finite() && m.overflowed == 0) {
            return Err(format!("scale {s}"));
        }
    }
    Ok(())
}

/// Runs `analyze`, `quantize` and `analyze_and_quantize` on one input; a panic or a bad figure is
/// returned as text.
fn run(d: &Dataset, c: &QuantizerConfig, interactive: bool) -> Result<(), String> {
    let options = AnalysisOptions {
        interactive,
        ..Default::default()
    };
    let finite = d.summary().finite;
    let all = || {
        let a = analyze(d, c, &options);
        let q = quantize(d, c);
        let both = analyze_and_quantize(d, c, &options);
        (a, q, both)
    };
    // Natively a panic is caught and reported with the others; wasm32 aborts on panic, so there
    // a panic fails the test directly.
    #[cfg(not(target_arch = "wasm32"))]
    let (a, q, both) = catch_unwind(AssertUnwindSafe(all)).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .map_or("panic".to_string(), |s| format!("panic: {s}"))
    })?;
    #[cfg(target_arch = "wasm32")]
    let (a, q, both) = all();
    match (a, q, both) {
        (Ok(a), Ok(q), Ok((a2, _))) => {
            check_analysis(&a, finite)?;
            // (As text: a NaN that GGML's arithmetic stores is the same NaN in both.)
            if a != a2 && format!("{a:?}") != format!("{a2:?}") {
                return Err("analyze and analyze_and_quantize differ".into());
            }
            if q.codes.len() != d.len() || q.dequantized.len() != d.len() {
                return Err("quantize output has the wrong length".into());
            }
            // A NaN reconstruction of a finite value only where the format overflows (GGML's
            // 0 · Inf, as llama.cpp computes it), which the analysis reports.
            for (r, r_hat) in d.values().iter().zip(&q.dequantized) {
                if r.is_finite() && r_hat.is_nan() && a.metrics.overflowed == 0 {
                    return Err(format!("{r:e} dequantized to NaN"));
                }
            }
            Ok(())
        }
        // A configuration that does not fit this data is a typed error, and all three agree.
        (Err(a), Err(q), Err(b)) if a == q && a == b => Ok(()),
        (a, q, b) => Err(format!(
            "the three entry points disagree: {:?} / {:?} / {:?}",
            a.err(),
            q.err(),
            b.err()
        )),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn configs() -> Vec<QuantizerConfig> {
    let mut out = Vec::new();
    for format in Format::ALL {
        for calibration in calibrations() {
            for granularity in [
                Granularity::Tensor,
                Granularity::Channel { axis: 0 },
                Granularity::Group { size: 1 },
            ] {
                for scheme in [Scheme::Symmetric, Scheme::Asymmetric] {
                    out.push(QuantizerConfig {
                        format,
                        calibration,
                        granularity,
                        scheme,
                        bits: 4,
                        levels: 4,
                        ..Default::default()
                    });
                }
            }
        }
    }
    // Scale formats, bit widths at both ends, power-of-two scales, vector codebooks.
    for scale_format in ScaleFormat::ALL {
        for format in [Format::Int, Format::Fp4E2m1, Format::Nf4] {
            out.push(QuantizerConfig {
                format,
                scale_format,
                scheme: Scheme::Symmetric,
                granularity: Granularity::Group { size: 1 },
                ..Default::default()
            });
        }
    }
    for bits in [1, 2, 16] {
        for scheme in [Scheme::Symmetric, Scheme::Asymmetric] {
            for power_of_two_scale in [false, true] {
                out.push(QuantizerConfig {
                    bits,
                    scheme,
                    power_of_two_scale,
                    ..Default::default()
                });
            }
        }
    }
    out.push(QuantizerConfig {
        format: Format::Kmeans,
        vector_dim: 1,
        levels: 256,
        ..Default::default()
    });
    out.push(QuantizerConfig {
        format: Format::Kmeans,
        vector_dim: 2,
        levels: 4,
        ..Default::default()
    });
    out
}

/// The odd inputs through every format and calibration, per tensor — the part of the grid that
/// also runs in WebAssembly (the wasm build must compute the same guarded arithmetic).
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn odd_inputs_per_tensor_in_every_format_and_calibration() {
    let mut failures = Vec::new();
    for (name, shape, values) in odd_inputs() {
        let d = Dataset::new(name, shape, values).unwrap_or_else(|e| panic!("{name}: {e}"));
        for format in Format::ALL {
            for calibration in calibrations() {
                let c = QuantizerConfig {
                    format,
                    calibration,
                    bits: 4,
                    levels: 4,
                    ..Default::default()
                };
                if let Err(e) = run(&d, &c, true) {
                    failures.push(format!("{name} {} {calibration:?}: {e}", format.name()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn odd_inputs_never_panic_and_give_numbers_in_every_configuration() {
    let configs = configs();
    let mut failures = Vec::new();
    let mut runs = 0;
    // The expected panics are caught and reported below; keep their messages off the output.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for (name, shape, values) in odd_inputs() {
        let d = match Dataset::new(name, shape.clone(), values) {
            Ok(d) => d,
            Err(e) => panic!("{name}: {e}"),
        };
        for c in &configs {
            for interactive in [false, true] {
                runs += 1;
                if let Err(e) = run(&d, c, interactive) {
                    failures.push(format!(
                        "{name} {shape:?} | {} {:?} {:?} {:?} b{} {:?}: {e}",
                        c.format.name(),
                        c.calibration,
                        c.granularity,
                        c.scheme,
                        c.bits,
                        c.scale_format
                    ));
                }
            }
        }
        for preset in quantscope_core::presets::PRESETS {
            let Some(c) = quantscope_core::presets::preset(preset) else {
                continue;
            };
            runs += 1;
            if let Err(e) = run(&d, &c, false) {
                failures.push(format!("{name} | preset {preset}: {e}"));
            }
        }
    }
    std::panic::set_hook(hook);
    // One line per kind of failure (the text after the configuration), with a count and the
    // first configuration that showed it.
    let mut kinds: Vec<(String, usize, String)> = Vec::new();
    for f in &failures {
        let (what, why) = f.rsplit_once(": ").unwrap_or(("", f));
        let why: String = why.chars().filter(|c| !c.is_ascii_digit()).collect();
        match kinds.iter_mut().find(|k| k.0 == why) {
            Some(k) => k.1 += 1,
            None => kinds.push((why, 1, what.to_string())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed:\n{}",
        failures.len(),
        kinds
            .iter()
            .map(|(why, n, first)| format!("{n:5} × {why}   (first: {first})"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The histogram bins every finite value somewhere in range, for ranges from subnormal to the
/// whole f32 line, and its bins are real numbers.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn histogram_bins_every_range() {
    let ranges = [
        (0.0, 2.2e-41),
        (f32::from_bits(1), f32::from_bits(3)),
        (-f32::MAX, f32::MAX),
        (-3.4e38, 3.4e38),
        (0.0, f32::MAX),
        (1.0, 1.0),
        (f32::MAX, f32::MAX),
        (-1e-45, 1e-45),
    ];
    for (lo, hi) in ranges {
        for bins in [1, 7, 160, 4096] {
            let values = [
                lo,
                hi,
                0.0,
                -0.0,
                lo / 2.0 + hi / 2.0,
                f32::NAN,
                f32::INFINITY,
            ];
            let h = Histogram::of(&values, lo, hi, bins, false);
            assert_eq!(h.total(), 5, "[{lo:e}, {hi:e}] in {bins}");
            assert!(h.lo.is_finite() && h.hi.is_finite() && h.lo < h.hi);
            assert!(h.bin_width() > 0.0 && h.bin_width().is_finite());
            for i in 0..bins {
                assert!(h.bin_center(i).is_finite(), "[{lo:e}, {hi:e}] bin {i}");
            }
            let a = Histogram::of(&values, 0.0, lo.abs().max(hi.abs()), bins, true);
            assert_eq!(a.total(), 5);
        }
    }
    // A subnormal range is binned by value, not all into one bin: 1e-41 and 2e-41 are apart.
    let h = Histogram::of(&[0.0, 1e-41, 2e-41], 0.0, 2e-41, 4, false);
    assert_eq!(h.counts, vec![1, 0, 1, 1]);
    // The whole f32 line: −MAX, 0 and MAX land in the first, middle and last bins.
    let h = Histogram::of(&[-f32::MAX, 0.0, f32::MAX], -f32::MAX, f32::MAX, 4, false);
    assert_eq!(h.counts, vec![1, 0, 1, 1]);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn percentiles_of_odd_values() {
    for (name, _, values) in odd_inputs() {
        // Long enough to take the narrowing path as well as the direct one.
        let long: Vec<f32> = values.iter().copied().cycle().take(70_000).collect();
        for v in [&values, &long] {
            for p in [0.1, 50.0, 99.9, 100.0] {
                for scheme in [Scheme::Symmetric, Scheme::Asymmetric] {
                    let got = percentile_range(v, p, scheme, None);
                    let finite: Vec<f32> = v.iter().copied().filter(|x| x.is_finite()).collect();
                    match got {
                        None => assert!(finite.is_empty(), "{name}"),
                        Some((lo, hi)) => {
                            assert!(lo.is_finite() && hi.is_finite() && lo <= hi, "{name} p{p}");
                            let (min, max) = finite
                                .iter()
                                .fold((f32::MAX, -f32::MAX), |(a, b), &x| (a.min(x), b.max(x)));
                            let bound = min.abs().max(max.abs());
                            assert!(lo >= -bound && hi <= bound, "{name} p{p}: [{lo}, {hi}]");
                        }
                    }
                }
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// An f32 from every class: ±0, subnormals, normals of every exponent, f32::MAX, ±Inf and
    /// NaNs with payloads, plus ordinary values.
    fn any_f32() -> impl Strategy<Value = f32> {
        prop_oneof![
            4 => any::<u32>().prop_map(f32::from_bits),
            2 => -10f32..10.0,
            1 => (0u32..0x0080_0000, any::<bool>())
                .prop_map(|(m, s)| f32::from_bits(m | if s { 0x8000_0000 } else { 0 })),
            1 => prop_oneof![
                Just(0.0f32), Just(-0.0), Just(f32::MAX), Just(f32::MIN), Just(f32::INFINITY),
                Just(f32::NEG_INFINITY), Just(f32::MIN_POSITIVE), Just(f32::from_bits(1)),
            ],
        ]
    }

    fn any_calibration() -> impl Strategy<Value = Calibration> {
        proptest::sample::select(calibrations())
    }

    fn any_granularity() -> impl Strategy<Value = Granularity> {
        prop_oneof![
            Just(Granularity::Tensor),
            (0usize..2).prop_map(|axis| Granularity::Channel { axis }),
            prop_oneof![Just(1usize), Just(2), Just(4)]
                .prop_map(|size| Granularity::Group { size }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Arbitrary bit patterns in arbitrary shapes, through every format family, calibration
        /// and granularity: no panic, and numbers (not NaN) wherever finite values exist.
        #[test]
        fn arbitrary_bits_through_analyze(
            rows in 1usize..5,
            cols in prop_oneof![Just(1usize), Just(2), Just(4), Just(8), Just(12)],
            values in proptest::collection::vec(any_f32(), 96),
            format in proptest::sample::select(Format::ALL.to_vec()),
            calibration in any_calibration(),
            granularity in any_granularity(),
            symmetric in any::<bool>(),
            bits in 1u8..=16,
            scale_format in proptest::sample::select(ScaleFormat::ALL.to_vec()),
            interactive in any::<bool>(),
        ) {
            let values: Vec<f32> = values.into_iter().take(rows * cols).collect();
            prop_assume!(values.iter().any(|v| v.is_finite()));
            let d = Dataset::new("t", vec![rows, cols], values).unwrap_or_else(|e| panic!("{e}"));
            let c = QuantizerConfig {
                format,
                calibration,
                granularity,
                scheme: if symmetric { Scheme::Symmetric } else { Scheme::Asymmetric },
                bits,
                levels: 1 + u32::from(bits).min(8),
                scale_format,
                ..Default::default()
            };
            if let Err(e) = run(&d, &c, interactive) {
                prop_assert!(false, "{:?}: {}", d.values(), e);
            }
        }

        /// The histogram counts every finite value of arbitrary bit patterns over any range.
        #[test]
        fn arbitrary_bits_through_the_histogram(
            values in proptest::collection::vec(any_f32(), 0..200),
            a in any_f32(),
            b in any_f32(),
            bins in 1usize..5000,
            abs in any::<bool>(),
        ) {
            prop_assume!(a.is_finite() && b.is_finite());
            let (lo, hi) = (a.min(b), a.max(b));
            let h = Histogram::of(&values, lo, hi, bins, abs);
            let finite = values.iter().filter(|v| v.is_finite()).count();
            prop_assert_eq!(h.total(), finite as u64);
            prop_assert!(h.lo.is_finite() && h.hi.is_finite() && h.lo < h.hi);
        }

        /// Percentile selection on arbitrary bit patterns stays inside the finite values' range.
        #[test]
        fn arbitrary_bits_through_percentiles(
            values in proptest::collection::vec(any_f32(), 1..300),
            p in 0.01f64..=100.0,
            symmetric in any::<bool>(),
        ) {
            let scheme = if symmetric { Scheme::Symmetric } else { Scheme::Asymmetric };
            let finite: Vec<f32> = values.iter().copied().filter(|x| x.is_finite()).collect();
            match percentile_range(&values, p, scheme, None) {
                None => prop_assert!(finite.is_empty()),
                Some((lo, hi)) => {
                    let bound = finite.iter().fold(0f32, |m, x| m.max(x.abs()));
                    prop_assert!(lo <= hi && lo >= -bound && hi <= bound, "[{}, {}] bound {}", lo, hi, bound);
                }
            }
        }
    }
}

/// The input `fuzz/artifacts/analyze/crash-a80e3451…` (found by the `analyze` fuzz target after 10
/// minutes): four subnormal-or-zero values, 1-bit symmetric integers with E4M3 scales. The stored
/// scale, an E4M3 block scale times a tiny f32 tensor scale, was itself subnormal, so 1/S was +∞
/// and the code table index garbage (an out-of-bounds panic). The same data through every scale
/// storage and bit width.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn subnormal_data_with_stored_scales_of_every_format() {
    use quantscope_core::ScaleFormat;
    let values = vec![
        0.0f32,
        f32::from_bits(0x0001_0000),
        0.0,
        f32::from_bits(0x0000_3d01),
    ];
    let d = Dataset::new("fuzz crash", vec![1, 4], values).unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    for scale_format in ScaleFormat::ALL {
        for bits in [1u8, 2, 4, 8, 16] {
            for scheme in [Scheme::Symmetric, Scheme::Asymmetric] {
                let c = QuantizerConfig {
                    bits,
                    scheme,
                    scale_format,
                    ..Default::default()
                };
                if c.validate().is_err() {
                    continue;
                }
                if let Err(e) = run(&d, &c, false) {
                    failures.push(format!("{scale_format:?} {bits} bits {scheme:?}: {e}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
