//! The layer lab's page view in one call: every method side by side under the same transforms, and
//! what the charts draw (the activations' per-input maxima, the weights' histogram before and after
//! the transform), so the page renders what the core returns.

use serde::{Deserialize, Serialize};

use super::{run_with_weights, Layer, LayerError, LayerOptions, LayerReport, Method};
use crate::config::QuantizerConfig;
use crate::histogram::Histogram;

/// Bins of the weight histograms.
pub const LAB_BINS: usize = 120;

/// Every method on one layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabResult {
    pub out: usize,
    pub inputs: usize,
    pub tokens: usize,
    /// One report per method, in [`Method::ALL`] order (each equal to [`super::run`] with it).
    pub rows: Vec<LayerReport>,
    /// max_t |X_tj| per input j (the activation outliers).
    #[serde(with = "crate::wire::f32s")]
    pub act_abs_max: Vec<f32>,
    /// mean_t X_tj² per input j: the importance vector the whole-model view can weight by.
    #[serde(with = "crate::wire::f32s", default)]
    pub act_mean_sq: Vec<f32>,
    /// W's histogram, and W'·'s (the matrix quantized) when a transform changed it, over one range.
    pub weights: Histogram,
    pub transformed: Option<Histogram>,
}

/// Runs every method with `options`' transforms (its `method` is ignored). `progress` receives
/// the fraction done.
pub fn lab(
    layer: &Layer,
    config: &QuantizerConfig,
    options: &LayerOptions,
    progress: &mut dyn FnMut(f64),
) -> Result<LabResult, LayerError> {
    // Shares of the work: RTN is one pass, AWQ twenty, GPTQ a factorization and the columns.
    let shares = [
        (Method::Rtn, 0.05),
        (Method::Gptq, 0.55),
        (Method::Awq, 0.4),
    ];
    let mut rows = Vec::with_capacity(shares.len());
    let mut done = 0.0;
    for (method, share) in shares {
        let o = LayerOptions { method, ..*options };
        let (report, _) = run_with_weights(layer, config, &o, &mut |f| progress(done + share * f))?;
        rows.push(report);
        done += share;
        progress(done);
    }
    let w: Vec<f32> = layer.w.to_vec();
    let transformed = if options.rotate_block.is_some() || options.smooth_alpha.is_some() {
        Some(super::transformed_weights(layer, options)?)
    } else {
        None
    };
    let (lo, hi) = transformed.iter().chain(std::iter::once(&w)).fold(
        (f32::INFINITY, f32::NEG_INFINITY),
        |(lo, hi), v| {
            v.iter()
                .fold((lo, hi), |(lo, hi), &x| (lo.min(x), hi.max(x)))
        },
    );
    let hist = |v: &[f32]| Histogram::of(v, lo, hi, LAB_BINS, false);
    Ok(LabResult {
        out: layer.out,
        inputs: layer.inputs,
        tokens: layer.tokens,
        rows,
        act_abs_max: layer.activation_abs_max(),
        act_mean_sq: layer.activation_mean_sq(),
        weights: hist(&w),
        transformed: transformed.as_deref().map(hist),
    })
}

/// One sentence on why a method's weight and output errors differ (the view's caption).
pub fn gap_sentence(r: &LayerReport) -> String {
    let gap = r.output_sqnr_db - r.weight_sqnr_db;
    if !gap.is_finite() {
        return "No error at all: the quantizer represents these weights exactly.".into();
    }
    if gap > 3.0 {
        format!(
            "The output keeps {gap:.1} dB more signal than the weights: the errors fall on \
             weights the inputs barely use, or cancel in the sums, while the large weights that \
             carry the output are kept."
        )
    } else if gap < -3.0 {
        format!(
            "The output loses {:.1} dB more than the weights: the errors fall on the inputs \
             with large activations, which multiply them.",
            -gap
        )
    } else {
        "Weight and output SQNR agree within 3 dB: the inputs weigh every weight about alike."
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Granularity, Scheme};

    #[test]
    fn each_row_is_the_method_run_alone_and_the_charts_cover_both_matrices() {
        let (out, inputs, tokens) = (6, 32, 24);
        let mut w: Vec<f32> = (0..out * inputs)
            .map(|i| ((i * 37) % 19) as f32 / 19.0 - 0.5)
            .collect();
        w[7] = 6.0;
        let x: Vec<f32> = (0..tokens * inputs)
            .map(|i| ((i * 53) % 23) as f32 / 23.0 - 0.5 + if i % inputs == 2 { 9.0 } else { 0.0 })
            .collect();
        let l =
            Layer::new(&w, &[out, inputs], &x, &[tokens, inputs]).unwrap_or_else(|e| panic!("{e}"));
        let config = QuantizerConfig {
            bits: 4,
            scheme: Scheme::Symmetric,
            granularity: Granularity::Channel { axis: 0 },
            ..QuantizerConfig::default()
        };
        let options = LayerOptions {
            rotate_block: Some(32),
            holdout: Some(8),
            ..LayerOptions::default()
        };
        let mut last = 0.0;
        let r = lab(&l, &config, &options, &mut |p| {
            assert!(p >= last - 1e-12 && p <= 1.0 + 1e-12, "{p} after {last}");
            last = p;
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert!((last - 1.0).abs() < 1e-12);
        for (row, method) in r.rows.iter().zip(Method::ALL) {
            let alone = super::super::run(
                &l,
                &config,
                &LayerOptions { method, ..options },
                &mut |_| {},
            )
            .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(*row, alone);
        }
        assert_eq!(r.act_abs_max.len(), inputs);
        assert!(r.act_abs_max[2] > 9.0);
        // The importance: each input's mean square over the tokens.
        for (j, &m) in r.act_mean_sq.iter().enumerate() {
            let want = (0..tokens).map(|t| x[t * inputs + j].powi(2)).sum::<f32>() / tokens as f32;
            assert!((m - want).abs() <= 1e-5 * want, "input {j}: {m} vs {want}");
        }
        assert_eq!(r.act_mean_sq.len(), inputs);
        assert!(r.act_mean_sq[2] > 80.0);
        let t = r
            .transformed
            .unwrap_or_else(|| panic!("a rotation transforms W"));
        assert_eq!(
            (r.weights.total(), t.total()),
            ((out * inputs) as u64, (out * inputs) as u64)
        );
        assert_eq!((r.weights.lo, r.weights.hi), (t.lo, t.hi));
        assert!(r.weights.hi >= 6.0);
    }

    #[test]
    fn the_gap_sentence_names_the_side_that_loses() {
        let mut r = LayerReport {
            method: Method::Rtn,
            awq_alpha: None,
            awq_curve: Vec::new(),
            output_mse: 0.0,
            output_sqnr_db: 13.0,
            weight_mse: 0.0,
            weight_sqnr_db: 0.2,
            per_output_mse: Vec::new(),
            weight_before: super::super::Spread {
                kurtosis: 0.0,
                max_over_std: 0.0,
            },
            weight_quantized: super::super::Spread {
                kurtosis: 0.0,
                max_over_std: 0.0,
            },
            gptq_damp: None,
            gptq_loss: None,
            notes: Vec::new(),
        };
        assert!(gap_sentence(&r).starts_with("The output keeps 12.8 dB more"));
        r.output_sqnr_db = -5.0;
        assert!(gap_sentence(&r).starts_with("The output loses 5.2 dB more"));
        r.output_sqnr_db = 1.0;
        assert!(gap_sentence(&r).starts_with("Weight and output SQNR agree"));
    }
}
