use super::*;

/// Deterministic pseudo-random values in [−1, 1) (portable to wasm32, where proptest is absent).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn int4_channel() -> QuantizerConfig {
    QuantizerConfig {
        bits: 4,
        scheme: Scheme::Symmetric,
        granularity: Granularity::Channel { axis: 0 },
        ..QuantizerConfig::default()
    }
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |a, &x| a.max(x.abs()))
}

#[test]
fn rotation_and_smoothing_leave_the_unquantized_output_unchanged() {
    for (seed, (out, inputs, tokens, block)) in [
        (8, 64, 10, 64),
        (5, 96, 7, 32),
        (3, 8, 20, 2),
        (16, 128, 3, 16),
    ]
    .into_iter()
    .enumerate()
    {
        let w = values(out * inputs, seed as u64);
        let mut x = values(tokens * inputs, 100 + seed as u64);
        x.iter_mut().step_by(7).for_each(|v| *v *= 40.0);
        let l =
            Layer::new(&w, &[out, inputs], &x, &[tokens, inputs]).unwrap_or_else(|e| panic!("{e}"));
        let w64: Vec<f64> = w.iter().map(|&v| f64::from(v)).collect();
        let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let y = linalg::mul_transposed(&x64, &w64, tokens, inputs, out);
        for signs in [None, Some(9)] {
            let r = Rotation::new(block, inputs, signs).unwrap_or_else(|e| panic!("{e}"));
            let s = smooth_scales(&l, 0.5);
            let (mut wt, mut xt) = (w64.clone(), x64.clone());
            for row in wt.chunks_exact_mut(inputs) {
                row.iter_mut().zip(&s).for_each(|(v, s)| *v *= s);
            }
            for row in xt.chunks_exact_mut(inputs) {
                row.iter_mut().zip(&s).for_each(|(v, s)| *v /= s);
            }
            r.apply(&mut wt, inputs);
            r.apply(&mut xt, inputs);
            let yt = linalg::mul_transposed(&xt, &wt, tokens, inputs, out);
            let diff: Vec<f64> = y.iter().zip(&yt).map(|(a, b)| a - b).collect();
            assert!(
                max_abs(&diff) <= 1e-5 * max_abs(&y),
                "block {block} signs {signs:?}"
            );
            // And the rotation is undone exactly enough to map Ŵ back.
            r.undo(&mut wt, inputs);
            for row in wt.chunks_exact_mut(inputs) {
                row.iter_mut().zip(&s).for_each(|(v, s)| *v /= s);
            }
            let back: Vec<f64> = wt.iter().zip(&w64).map(|(a, b)| a - b).collect();
            assert!(max_abs(&back) <= 1e-12 * max_abs(&w64));
        }
    }
}

#[test]
fn a_rotation_spreads_an_outlier_weight() {
    let (out, inputs, tokens) = (16, 64, 32);
    let mut w: Vec<f32> = values(out * inputs, 1).iter().map(|v| v * 0.05).collect();
    w[3 * inputs + 17] = 5.0;
    let x = values(tokens * inputs, 2);
    let l = Layer::new(&w, &[out, inputs], &x, &[tokens, inputs]).unwrap_or_else(|e| panic!("{e}"));
    let plain = run(&l, &int4_channel(), &LayerOptions::default(), &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}"));
    let rotated = run(
        &l,
        &int4_channel(),
        &LayerOptions {
            rotate_block: Some(64),
            ..LayerOptions::default()
        },
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plain.weight_before, plain.weight_quantized);
    assert!(rotated.weight_quantized.max_over_std < plain.weight_before.max_over_std / 3.0);
    assert!(rotated.weight_quantized.kurtosis < plain.weight_before.kurtosis / 10.0);
    assert!(
        rotated.output_sqnr_db > plain.output_sqnr_db,
        "{} vs {}",
        rotated.output_sqnr_db,
        plain.output_sqnr_db
    );
}

#[test]
fn gptq_equals_rtn_when_the_inputs_are_uncorrelated() {
    // X = diag(d): H = 2/n·diag(d²) is diagonal, so no error has anywhere to go.
    let (out, inputs) = (6, 40);
    let w = values(out * inputs, 3);
    let mut x = vec![0f32; inputs * inputs];
    for j in 0..inputs {
        x[j * inputs + j] = 0.5 + j as f32 / 10.0;
    }
    let l = Layer::new(&w, &[out, inputs], &x, &[inputs, inputs]).unwrap_or_else(|e| panic!("{e}"));
    for config in [
        int4_channel(),
        QuantizerConfig {
            bits: 3,
            ..QuantizerConfig::default()
        },
    ] {
        let (rtn, w_rtn) = run_with_weights(&l, &config, &LayerOptions::default(), &mut |_| {})
            .unwrap_or_else(|e| panic!("{e}"));
        let options = LayerOptions {
            method: Method::Gptq,
            gptq: GptqOptions {
                block_size: 16,
                ..GptqOptions::default()
            },
            ..LayerOptions::default()
        };
        let (gptq, w_gptq) =
            run_with_weights(&l, &config, &options, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w_gptq, w_rtn);
        assert_eq!(gptq.output_mse, rtn.output_mse);
    }
}

#[test]
fn gptq_beats_rtn_on_correlated_inputs_and_reports_progress() {
    let (out, inputs, tokens) = (12, 64, 256);
    let w = values(out * inputs, 4);
    // Correlated inputs: each token is a few shared factors plus noise.
    let f = values(tokens * 4, 5);
    let noise = values(tokens * inputs, 6);
    let x: Vec<f32> = (0..tokens * inputs)
        .map(|i| {
            let (t, j) = (i / inputs, i % inputs);
            f[t * 4 + j % 4] + 0.1 * noise[i]
        })
        .collect();
    let l = Layer::new(&w, &[out, inputs], &x, &[tokens, inputs]).unwrap_or_else(|e| panic!("{e}"));
    let rtn = run(&l, &int4_channel(), &LayerOptions::default(), &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}"));
    let mut seen = Vec::new();
    let options = LayerOptions {
        method: Method::Gptq,
        gptq: GptqOptions {
            block_size: 16,
            ..GptqOptions::default()
        },
        ..LayerOptions::default()
    };
    let gptq =
        run(&l, &int4_channel(), &options, &mut |p| seen.push(p)).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        gptq.output_mse < rtn.output_mse / 2.0,
        "{} vs {}",
        gptq.output_mse,
        rtn.output_mse
    );
    assert_eq!(seen, [0.25, 0.5, 0.75, 1.0]);
}

#[test]
fn awq_is_never_worse_than_alpha_zero_which_is_rtn() {
    for seed in 0..6u64 {
        let (out, inputs, tokens) = (8, 32, 24);
        let w = values(out * inputs, seed);
        let mut x = values(tokens * inputs, seed + 50);
        for t in 0..tokens {
            x[t * inputs + (seed as usize % inputs)] *= 25.0;
        }
        let l =
            Layer::new(&w, &[out, inputs], &x, &[tokens, inputs]).unwrap_or_else(|e| panic!("{e}"));
        let rtn = run(&l, &int4_channel(), &LayerOptions::default(), &mut |_| {})
            .unwrap_or_else(|e| panic!("{e}"));
        let awq = run(
            &l,
            &int4_channel(),
            &LayerOptions {
                method: Method::Awq,
                ..LayerOptions::default()
            },
            &mut |_| {},
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(awq.awq_curve.len(), AWQ_GRID);
        assert_eq!(awq.awq_curve[0], (0.0, rtn.output_mse));
        assert!(awq.output_mse <= rtn.output_mse);
        let best = awq
            .awq_curve
            .iter()
            .map(|c| c.1)
            .fold(f64::INFINITY, f64::min);
        assert_eq!(awq.output_mse, best);
    }
}

#[test]
fn bad_input_gets_a_typed_error() {
    let w = values(4 * 8, 1);
    let x = values(3 * 8, 2);
    let shape_err = Layer::new(&w, &[4, 8], &x, &[4, 8]);
    assert!(matches!(shape_err, Err(LayerError::ActivationShape(_))));
    let x6 = values(3 * 6, 2);
    assert!(matches!(
        Layer::new(&w, &[4, 8], &x6, &[3, 6]),
        Err(LayerError::InMismatch { w_in: 8, x_in: 6 })
    ));
    assert!(matches!(
        Layer::new(&w, &[32], &x, &[3, 8]),
        Err(LayerError::WeightShape(_))
    ));
    let mut bad = x.clone();
    bad[4] = f32::NAN;
    bad[5] = f32::INFINITY;
    assert!(matches!(
        Layer::new(&w, &[4, 8], &bad, &[3, 8]),
        Err(LayerError::NonFinite {
            which: "activations",
            count: 2
        })
    ));
    let l = Layer::new(&w, &[4, 8], &x, &[3, 8]).unwrap_or_else(|e| panic!("{e}"));
    let with = |o: LayerOptions| run(&l, &int4_channel(), &o, &mut |_| {});
    assert!(matches!(
        with(LayerOptions {
            rotate_block: Some(3),
            ..LayerOptions::default()
        }),
        Err(LayerError::RotateBlock {
            block: 3,
            inputs: 8
        })
    ));
    assert!(matches!(
        with(LayerOptions {
            rotate_block: Some(16),
            ..LayerOptions::default()
        }),
        Err(LayerError::RotateBlock { .. })
    ));
    assert!(matches!(
        with(LayerOptions {
            smooth_alpha: Some(1.5),
            ..LayerOptions::default()
        }),
        Err(LayerError::SmoothAlpha(_))
    ));
    assert!(matches!(
        with(LayerOptions {
            act_bits: Some(1),
            ..LayerOptions::default()
        }),
        Err(LayerError::ActBits(1))
    ));
    // Fewer tokens than inputs: said, and dampened.
    let gptq = with(LayerOptions {
        method: Method::Gptq,
        ..LayerOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        gptq.notes
            .iter()
            .any(|n| n.contains("3 tokens for 8 inputs")),
        "{:?}",
        gptq.notes
    );
    assert!(gptq.output_mse.is_finite());
    // A K-quant cannot be quantized one weight at a time.
    let w256 = values(2 * 256, 3);
    let x256 = values(4 * 256, 4);
    let l = Layer::new(&w256, &[2, 256], &x256, &[4, 256]).unwrap_or_else(|e| panic!("{e}"));
    let q4k = crate::presets::preset("q4_k").unwrap_or_else(|| panic!("q4_k"));
    let err = run(
        &l,
        &q4k,
        &LayerOptions {
            method: Method::Gptq,
            ..LayerOptions::default()
        },
        &mut |_| {},
    );
    assert!(matches!(
        err,
        Err(LayerError::Quantizer(FreezeError::Joint(_)))
    ));
    // …while RTN with it works.
    assert!(run(&l, &q4k, &LayerOptions::default(), &mut |_| {}).is_ok());
}

#[test]
fn dead_inputs_are_zeroed_and_said() {
    let (out, inputs, tokens) = (4, 16, 32);
    let w = values(out * inputs, 7);
    let mut x = values(tokens * inputs, 8);
    for t in 0..tokens {
        x[t * inputs + 5] = 0.0;
    }
    let l = Layer::new(&w, &[out, inputs], &x, &[tokens, inputs]).unwrap_or_else(|e| panic!("{e}"));
    let (r, w_hat) = run_with_weights(
        &l,
        &int4_channel(),
        &LayerOptions {
            method: Method::Gptq,
            ..LayerOptions::default()
        },
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!((0..out).all(|o| w_hat[o * inputs + 5] == 0.0));
    assert!(
        r.notes.iter().any(|n| n.starts_with("1 inputs are zero")),
        "{:?}",
        r.notes
    );
}

#[test]
fn a_holdout_calibrates_on_the_first_tokens_and_measures_on_the_rest() {
    let (out, inputs, tokens, held) = (6, 32, 40, 10);
    let w = values(out * inputs, 11);
    let x = values(tokens * inputs, 12);
    let l = Layer::new(&w, &[out, inputs], &x, &[tokens, inputs]).unwrap_or_else(|e| panic!("{e}"));
    let options = LayerOptions {
        method: Method::Gptq,
        holdout: Some(held),
        ..LayerOptions::default()
    };
    let (r, w_hat) = run_with_weights(&l, &int4_channel(), &options, &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.per_output_mse.len(), out);
    assert!(
        r.notes[0].starts_with("Calibrated on the first 30 tokens"),
        "{:?}",
        r.notes
    );
    // The same weights as GPTQ on the first 30 tokens alone…
    let first = Layer::new(&w, &[out, inputs], &x[..30 * inputs], &[30, inputs])
        .unwrap_or_else(|e| panic!("{e}"));
    let (alone, w_alone) = run_with_weights(
        &first,
        &int4_channel(),
        &LayerOptions {
            method: Method::Gptq,
            ..LayerOptions::default()
        },
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w_hat, w_alone);
    assert_eq!(r.weight_mse, alone.weight_mse);
    // …measured on the last 10: by hand.
    let mut sum = 0.0;
    for t in tokens - held..tokens {
        for o in 0..out {
            let (mut y, mut yq) = (0.0, 0.0);
            for j in 0..inputs {
                y += f64::from(x[t * inputs + j]) * f64::from(w[o * inputs + j]);
                yq += f64::from(x[t * inputs + j]) * w_hat[o * inputs + j];
            }
            sum += (y - yq) * (y - yq);
        }
    }
    let mse = sum / (held * out) as f64;
    assert!(
        (r.output_mse - mse).abs() <= 1e-12 * mse,
        "{} vs {mse}",
        r.output_mse
    );
    for bad in [0, tokens] {
        let o = LayerOptions {
            holdout: Some(bad),
            ..LayerOptions::default()
        };
        assert!(matches!(
            run(&l, &int4_channel(), &o, &mut |_| {}),
            Err(LayerError::Holdout { .. })
        ));
    }
}
