//! The front door: the configuration's rules checked, then its format family's path
//! ([`crate::family`]: the integer format's fast pass, or a format's block plan) — and whether the
//! work is best run whole or in shares (see [`crate::analysis`] for the parts and their merge):
//!
//! ```text
//! analyze(d, c, o) = merge([analyze_share(d, c, o, Share { index: k, count: K }) for k in 0..K])
//! ```

use crate::analysis::{
    merge_one, Analysis, AnalysisOptions, AnalyzeError, PartialAnalysis, Quantized, Share,
};
use crate::config::QuantizerConfig;
use crate::dataset::Dataset;
use crate::{family, plan};

/// Quantizes, measures and bins `dataset` with `config` (see the module docs): the analysis as one
/// share, merged.
pub fn analyze(
    dataset: &Dataset,
    config: &QuantizerConfig,
    options: &AnalysisOptions,
) -> Result<Analysis, AnalyzeError> {
    let part = analyze_share(dataset, config, options, Share::WHOLE)?;
    Ok(merge_one(part))
}

/// Quantizes every value of `dataset` (the same numbers as [`analyze`], kept rather than summarised).
pub fn quantize(dataset: &Dataset, config: &QuantizerConfig) -> Result<Quantized, AnalyzeError> {
    config.validate()?;
    family::quantize(dataset, config)
}

/// Calls `visit(index, r, r̂)` for every finite value of `span` — group by group, each group's
/// values in order — with the r̂ that [`quantize`] gives it, calibrating only the groups that
/// meet `span` and holding nothing of the tensor's size, so that a span at a time measures what
/// one quantization of the whole would (the channel study goes so, in slices). Returns the
/// clipping range of the first group met. Configurations that [`runs_whole`] are quantized whole
/// and the span read from that (then in index order, and the range is group 0's).
pub fn for_each_reconstructed(
    dataset: &Dataset,
    config: &QuantizerConfig,
    span: std::ops::Range<usize>,
    visit: impl FnMut(usize, f32, f32),
) -> Result<Option<(f32, f32)>, AnalyzeError> {
    config.validate()?;
    let end = span.end.min(dataset.len());
    let whole = runs_whole(config, dataset.shape());
    family::for_each_reconstructed(dataset, config, span.start.min(end)..end, whole, visit)
}

/// [`analyze`] and [`quantize`] from one calibration (one set of block scales, one trained
/// codebook): what a caller that wants both the metrics and the codes should use.
pub fn analyze_and_quantize(
    dataset: &Dataset,
    config: &QuantizerConfig,
    options: &AnalysisOptions,
) -> Result<(Analysis, Quantized), AnalyzeError> {
    config.validate()?;
    family::analyze_and_quantize(dataset, config, options)
}

/// Share `share` of [`analyze`] (see the module docs).
pub fn analyze_share(
    dataset: &Dataset,
    config: &QuantizerConfig,
    options: &AnalysisOptions,
    share: Share,
) -> Result<PartialAnalysis, AnalyzeError> {
    config.validate()?;
    if !share.is_valid() {
        return Err(AnalyzeError::Share(share));
    }
    family::analyze_share(dataset, config, options, share)
}

/// Whether an analysis under `config` is best run whole (as one share) rather than in slices:
/// every share would repeat work over the whole tensor that the dataset's memos do not keep —
/// learned codebooks (trained on all the values they code), and calibrating interleaved groups
/// (channels of an inner axis) by a method other than min–max, or two-level (E4M3) scales by
/// one that may reach beyond the data (ACIQ, a manual range). The others' two-level bound is
/// found once per dataset from the few groups that could hold it (`analyze::groups_amax`,
/// memoised), or given ([`keep_bound`]).
///
/// A per-tensor calibration is not among them: [`Dataset::tensor_range`] keeps it. Work that is
/// only costly (a search calibrator per group, llama.cpp's reference quantizers) splits exactly
/// into shares: see [`slice_cost`].
pub fn runs_whole(config: &QuantizerConfig, shape: &[usize]) -> bool {
    use crate::config::Calibration;
    if family::runs_whole(config) {
        return true;
    }
    let Ok(layout) = plan::layout_for(config, shape) else {
        // Refused in every share alike, at once.
        return false;
    };
    let interleaved_search = config.calibration != Calibration::MinMax && !layout.is_contiguous();
    interleaved_search || (needs_bound(config, shape) && !config.calibration.within_data())
}

/// Whether an analysis under `config` needs its two-level scales' bound — the largest
/// calibrated group bound over the whole tensor — before any share scales a block (min–max
/// aside, whose bound is the tensor's largest |x|). Measured in parts first ([`bound_part`],
/// merged by their largest) and given to each share ([`keep_bound`]), the analysis goes in
/// slices like any other ([`bounded_slice_count`]): the page does so, so that no worker is held
/// long by it (where the calibrator may reach beyond the data every group is calibrated for it:
/// seconds at 16M values; otherwise only those that could hold it, and a share given nothing
/// finds it alone, once per dataset).
pub fn needs_bound(config: &QuantizerConfig, shape: &[usize]) -> bool {
    use crate::config::Calibration;
    if family::runs_whole(config) || config.calibration == Calibration::MinMax {
        return false;
    }
    plan::layout_for(config, shape).is_ok_and(|layout| {
        layout.is_contiguous()
            && layout.n_groups > 1
            && config.scale_format == crate::block::ScaleFormat::E4m3
    })
}

/// The largest calibrated bound of the groups whose first value lies in share `share`'s span
/// (each group in exactly one share of a count): the largest of every share's is the bound
/// [`needs_bound`] asks for, bit for bit.
pub fn bound_part(
    dataset: &Dataset,
    config: &QuantizerConfig,
    share: Share,
) -> Result<f32, AnalyzeError> {
    config.validate()?;
    if !share.is_valid() {
        return Err(AnalyzeError::Share(share));
    }
    let layout = plan::layout_for(config, dataset.shape())?;
    let groups = layout.groups_starting_in(share.span(&layout, 1));
    Ok(crate::analyze::groups_amax(
        dataset.values(),
        &layout,
        &crate::analyze::bound_key(config),
        crate::analyze::Known::of(dataset),
        groups,
    ))
}

/// Gives `dataset` the bound of `config`'s two-level scales (the largest of its
/// [`bound_part`]s), so that its shares scale their blocks without calibrating every group.
pub fn keep_bound(dataset: &Dataset, config: &QuantizerConfig, bound: f32) {
    dataset.keep_bound(&crate::analyze::bound_key(config), bound);
}

/// [`slice_count`] of an analysis whose two-level bound is given ([`needs_bound`]); also how
/// many parts its bound is measured in (each calibrates the groups of one slice).
pub fn bounded_slice_count(
    config: &QuantizerConfig,
    shape: &[usize],
    budget: usize,
) -> Option<usize> {
    needs_bound(config, shape)
        .then(|| count_slices(config, shape, budget, bounded_cost(config, shape)))
        .flatten()
}

/// How to cut an analysis under `config` into slices that each take about as long: `None` where
/// it runs whole ([`runs_whole`]), else its work per value in plain passes, so that a slice of
/// `budget / cost` values takes about as long as a plain pass over `budget` — a search
/// calibrator per group (MSE, SQNR, KL: 150–300×) or llama.cpp's K and IQ4 quantizers (20–50×)
/// go in slices of a few thousand values, and a worker never holds one long. (The page's tables
/// cut their rows so: a view waits for at most one slice.)
pub fn slice_cost(config: &QuantizerConfig, shape: &[usize]) -> Option<usize> {
    if runs_whole(config, shape) {
        return None;
    }
    Some(bounded_cost(config, shape))
}

/// [`slice_cost`] of a configuration as if it did not run whole (of one that [`needs_bound`]:
/// once its bound is given).
pub fn bounded_cost(config: &QuantizerConfig, shape: &[usize]) -> usize {
    let per_group = plan::layout_for(config, shape).is_ok_and(|l| l.n_groups > 1)
        && config.format.uses_scales();
    let calibration = if per_group {
        config.calibration.cost_per_group()
    } else {
        1
    };
    calibration.max(family::cost_per_value(config)).max(1)
}

/// How many shares a background row under `config` over data of `shape` goes in so that each
/// costs about a plain pass over `budget` values ([`slice_cost`]); `None` where it runs whole.
/// Where groups are calibrated one by one, a share never cuts a chunk (row, channel, group, block):
/// every share holding part of one calibrates all of it, so a 16M-value channel searched by MSE in
/// 2,000 slices would be searched 2,000 times. Where chunks are so big that one costs more than
/// four budgets, the row runs whole, as a long job (a view does not wait for it).
pub fn slice_count(config: &QuantizerConfig, shape: &[usize], budget: usize) -> Option<usize> {
    let cost = slice_cost(config, shape)?;
    count_slices(config, shape, budget, cost)
}

/// [`slice_count`] at `cost` per value.
fn count_slices(
    config: &QuantizerConfig,
    shape: &[usize],
    budget: usize,
    cost: usize,
) -> Option<usize> {
    let n: usize = shape.iter().product();
    let count = n.div_ceil((budget / cost).max(1)).max(1);
    match plan::layout_for(config, shape) {
        Ok(layout) if layout.n_groups > 1 && layout.n_chunks() < count => {
            let chunk_cost = layout.chunk_len.saturating_mul(cost);
            (chunk_cost <= budget.saturating_mul(4)).then_some(layout.n_chunks().max(1))
        }
        _ => Some(count),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{merge, MergeError};
    use crate::config::{Calibration, Granularity, Scheme};
    use crate::format::Format;
    use crate::granularity::GroupLayout;

    /// The parts of `count` shares, merged in reverse order.
    pub(crate) fn merged(
        d: &Dataset,
        c: &QuantizerConfig,
        o: &AnalysisOptions,
        count: usize,
    ) -> Result<Analysis, String> {
        let mut parts = Vec::new();
        for index in (0..count).rev() {
            parts.push(analyze_share(d, c, o, Share { index, count }).map_err(|e| e.to_string())?);
        }
        merge(parts).map_err(|e| e.to_string())
    }

    /// Equal but for the order of f64 additions in the error sums.
    pub(crate) fn assert_same(a: &Analysis, b: &Analysis, what: &str) {
        let (m, n) = (&a.metrics, &b.metrics);
        assert_eq!(
            (m.n, m.levels_used, m.overflowed, m.clipped_fraction),
            (n.n, n.levels_used, n.overflowed, n.clipped_fraction),
            "{what}"
        );
        assert_eq!(m.max_abs_error, n.max_abs_error, "{what}");
        assert_eq!(m.code_entropy_bits, n.code_entropy_bits, "{what}");
        assert_eq!(m.bits_per_value, n.bits_per_value, "{what}");
        for (x, y) in [
            (m.mse, n.mse),
            (m.sqnr_db, n.sqnr_db),
            (m.mean_abs_error, n.mean_abs_error),
            (m.cosine_similarity, n.cosine_similarity),
        ] {
            let close = x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs());
            assert!(close, "{what}: {x} vs {y}");
        }
        assert_eq!(a.input_hist, b.input_hist, "{what}");
        assert_eq!(a.output_hist, b.output_hist, "{what}");
        // (As text: a GGML scale that overflowed to NaN is the same NaN in both.)
        assert_eq!(
            format!("{:?}", a.groups),
            format!("{:?}", b.groups),
            "{what}"
        );
        assert_eq!(
            format!("{:?}", a.display),
            format!("{:?}", b.display),
            "{what}"
        );
        assert_eq!((a.n_groups, a.display_group), (b.n_groups, b.display_group));
        assert_eq!(a.levels, b.levels, "{what}");
        assert_eq!(a.thresholds, b.thresholds, "{what}");
        assert_eq!(
            format!("{:?}", a.display_block),
            format!("{:?}", b.display_block),
            "{what}"
        );
        assert_eq!(a.vector, b.vector, "{what}");
        let (mut x, mut y) = (a.notes.clone(), b.notes.clone());
        x.sort();
        y.sort();
        assert_eq!(x, y, "{what}");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn spans_partition_the_values() {
        let layouts = [
            GroupLayout::new(Granularity::Tensor, &[10, 7]),
            GroupLayout::new(Granularity::Channel { axis: 0 }, &[10, 7]),
            GroupLayout::new(Granularity::Channel { axis: 1 }, &[10, 7]),
            GroupLayout::new(Granularity::Group { size: 7 }, &[10, 7]),
        ];
        for layout in layouts.into_iter().flatten() {
            for count in 1..=12 {
                let mut next = 0;
                for index in 0..count {
                    let s = Share { index, count }.span(&layout, 1);
                    assert_eq!(s.start, next, "{layout:?} {index}/{count}");
                    next = s.end;
                }
                assert_eq!(next, 70);
            }
        }
        // Rows stay whole when there are enough of them; sub-vectors stay whole always.
        let rows = GroupLayout::new(Granularity::Channel { axis: 0 }, &[10, 7]);
        assert_eq!(
            rows.map(|l| Share { index: 1, count: 3 }.span(&l, 1)),
            Ok(21..42)
        );
        let flat = GroupLayout::new(Granularity::Tensor, &[10, 8]);
        assert_eq!(
            flat.map(|l| Share { index: 1, count: 3 }.span(&l, 4)),
            Ok(24..52)
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn merged_shares_equal_one_pass_for_the_presets() {
        let mut v = crate::synth::generate(
            crate::synth::Distribution::StudentT { nu: 3.0 },
            64 * 128,
            9,
        )
        .unwrap_or_default();
        v[77] = f32::NAN;
        v[1000] = f32::INFINITY;
        // (Rows of 256: the K types' super-blocks.)
        let d = Dataset::new("t", vec![32, 256], v).unwrap_or_else(|e| panic!("{e}"));
        let o = AnalysisOptions {
            display_group: 5,
            ..Default::default()
        };
        for name in crate::presets::PRESETS {
            let c = crate::presets::preset(name).unwrap_or_default();
            let one = crate::run::analyze(&d, &c, &o).unwrap_or_else(|e| panic!("{e}"));
            for count in [2, 3, 7] {
                let many = merged(&d, &c, &o, count).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_same(&one, &many, &format!("{name} in {count} shares"));
            }
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn a_merger_adds_parts_as_they_come_and_equals_merge_bit_for_bit() {
        let v = crate::synth::generate(crate::synth::Distribution::Laplace, 64 * 32, 3)
            .unwrap_or_default();
        let d = Dataset::new("t", vec![64, 32], v).unwrap_or_else(|e| panic!("{e}"));
        let c = QuantizerConfig {
            bits: 4,
            granularity: Granularity::Group { size: 32 },
            calibration: Calibration::Mse,
            ..Default::default()
        };
        let o = AnalysisOptions::default();
        let count = 9;
        let parts: Vec<PartialAnalysis> = (0..count)
            .map(|index| {
                analyze_share(&d, &c, &o, Share { index, count }).unwrap_or_else(|e| panic!("{e}"))
            })
            .collect();
        let want = merge(parts.clone()).unwrap_or_else(|e| panic!("{e}"));
        // Out of order, as two workers answer: the early ones wait, the rest are summed.
        let mut m = crate::analysis::Merger::new(count);
        for (k, i) in [1, 0, 3, 2, 5, 4, 8, 6, 7].into_iter().enumerate() {
            assert!(!m.is_complete());
            m.add(parts[i].clone()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(m.added(), k + 1);
            // A part that came already, or one of another cut, is refused.
            assert!(matches!(
                m.add(parts[i].clone()),
                Err(MergeError::Parts { .. })
            ));
        }
        assert!(m.is_complete());
        let got = m.finish().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.metrics.mse.to_bits(), want.metrics.mse.to_bits());
        assert_eq!(got, want);
        let mut m = crate::analysis::Merger::new(count);
        let other = analyze_share(&d, &c, &o, Share { index: 0, count: 2 })
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(m.add(other), Err(MergeError::Parts { .. })));
        let mut mismatched = parts[1].clone();
        mismatched.config.bits = 5;
        m.add(parts[0].clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.add(mismatched), Err(MergeError::Mismatch));
        assert!(matches!(
            m.finish(),
            Err(MergeError::Parts { index: 1, .. })
        ));
        assert_eq!(
            crate::analysis::Merger::new(3).finish(),
            Err(MergeError::Empty)
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn slices_are_cut_by_cost_and_only_repeated_whole_tensor_work_runs_whole() {
        let shape = [64usize, 256];
        let group = |calibration| QuantizerConfig {
            bits: 4,
            granularity: Granularity::Group { size: 32 },
            calibration,
            ..Default::default()
        };
        assert_eq!(slice_cost(&QuantizerConfig::default(), &shape), Some(1));
        assert_eq!(slice_cost(&group(Calibration::MinMax), &shape), Some(1));
        assert_eq!(slice_cost(&group(Calibration::Mse), &shape), Some(300));
        assert_eq!(slice_cost(&group(Calibration::Kl), &shape), Some(150));
        // Per tensor, a search is computed once per dataset (memoised): a plain pass.
        let tensor_mse = QuantizerConfig {
            calibration: Calibration::Mse,
            ..Default::default()
        };
        assert_eq!(slice_cost(&tensor_mse, &shape), Some(1));
        // Rows (contiguous channels) split; columns (interleaved) would repeat the whole tensor.
        let channels = |axis| QuantizerConfig {
            granularity: Granularity::Channel { axis },
            ..group(Calibration::Mse)
        };
        assert_eq!(slice_cost(&channels(0), &shape), Some(300));
        assert_eq!(slice_cost(&channels(1), &shape), None);
        let preset = |name| crate::presets::preset(name).unwrap_or_default();
        assert_eq!(slice_cost(&preset("q4_k"), &shape), Some(50));
        assert_eq!(slice_cost(&preset("q4_0"), &shape), Some(1));
        let kmeans = QuantizerConfig {
            format: Format::Kmeans,
            ..Default::default()
        };
        assert_eq!(slice_cost(&kmeans, &shape), None);
        // 16,384 values in slices of ~2^20 / 300 = 3,495: 5 shares; no more than there are
        // chunks where each is calibrated apart (2 channels: 2 shares); per tensor, any number.
        assert_eq!(
            slice_count(&group(Calibration::Mse), &shape, 1 << 20),
            Some(5)
        );
        assert_eq!(slice_count(&channels(0), &[2, 8192], 1 << 20), Some(2));
        // Two channels of 2^20 values, each a search of 300 budgets: whole, a long job.
        assert_eq!(slice_count(&channels(0), &[2, 1 << 20], 1 << 20), None);
        assert_eq!(slice_count(&tensor_mse, &shape, 1 << 10), Some(16));
        assert_eq!(slice_count(&kmeans, &shape, 1 << 20), None);
    }

    /// A two-level analysis calibrated by search, its bound measured in parts and given to each
    /// share, equals the whole analysis: NVFP4 and int4 with E4M3 scales, MSE, percentile, KL
    /// and ACIQ, data with NaN, ±Inf, a constant row and a zero row, in 2, 3 and 7 parts; a
    /// wrong bound given changes the figures (the shares use the one given), and shares given
    /// none equal it too.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn a_two_level_bound_measured_in_parts_gives_the_whole_analysis() {
        let mut v = crate::synth::generate(crate::synth::Distribution::Laplace, 24 * 64, 4)
            .unwrap_or_default();
        v[5] = f32::NAN;
        v[300] = f32::INFINITY;
        v[301] = f32::NEG_INFINITY;
        v[640..704].fill(2.5);
        v[704..768].fill(0.0);
        let fresh = || Dataset::new("t", vec![24, 64], v.clone()).unwrap_or_else(|e| panic!("{e}"));
        let o = AnalysisOptions {
            display_group: 3,
            ..Default::default()
        };
        let int4 = QuantizerConfig {
            bits: 4,
            scheme: Scheme::Symmetric,
            granularity: Granularity::Group { size: 16 },
            scale_format: crate::block::ScaleFormat::E4m3,
            ..Default::default()
        };
        let nvfp4 = crate::presets::preset("nvfp4").unwrap_or_default();
        for base in [nvfp4, int4] {
            for calibration in [
                Calibration::Mse,
                Calibration::Percentile { p: 99.0 },
                Calibration::Kl,
                Calibration::Aciq {
                    fit: crate::calib::aciq::AciqFit::Laplace,
                },
            ] {
                let c = QuantizerConfig {
                    calibration,
                    ..base.clone()
                };
                let what = format!("{:?} {calibration:?}", c.format);
                assert!(needs_bound(&c, &[24, 64]), "{what}");
                // Whole only where the bound needs every group calibrated.
                let whole = !calibration.within_data();
                assert_eq!(runs_whole(&c, &[24, 64]), whole, "{what}");
                assert_eq!(
                    slice_count(&c, &[24, 64], 1 << 20).is_none(),
                    whole,
                    "{what}"
                );
                let slices = bounded_slice_count(&c, &[24, 64], 1 << 12);
                assert!(slices.is_some_and(|k| k > 1), "{what}: {slices:?}");
                let one = analyze(&fresh(), &c, &o).unwrap_or_else(|e| panic!("{what}: {e}"));
                for count in [2, 3, 7] {
                    let d = fresh();
                    let bound = (0..count)
                        .map(|index| bound_part(&d, &c, Share { index, count }))
                        .collect::<Result<Vec<f32>, _>>()
                        .unwrap_or_else(|e| panic!("{what}: {e}"))
                        .into_iter()
                        .fold(0f32, f32::max);
                    let d = fresh();
                    keep_bound(&d, &c, bound);
                    let many = merged(&d, &c, &o, count).unwrap_or_else(|e| panic!("{e}"));
                    assert_same(&one, &many, &format!("{what} in {count} parts"));
                }
                let d = fresh();
                keep_bound(&d, &c, 1e-3);
                let wrong = merged(&d, &c, &o, 3).unwrap_or_else(|e| panic!("{e}"));
                let (x, y) = (wrong.metrics.mse, one.metrics.mse);
                assert!((x - y).abs() > 1e-6 * y, "{what}: {x} vs {y}");
                // Shares given nothing find the bound themselves, once per dataset.
                let alone = merged(&fresh(), &c, &o, 7).unwrap_or_else(|e| panic!("{e}"));
                assert_same(&one, &alone, &format!("{what} in 7 shares, no bound given"));
            }
        }
        // Min-max, per tensor, interleaved channels and other scale formats need no bound.
        let nvfp4 = crate::presets::preset("nvfp4").unwrap_or_default();
        assert!(!needs_bound(&nvfp4, &[24, 64]));
        let f16 = QuantizerConfig {
            calibration: Calibration::Mse,
            granularity: Granularity::Group { size: 16 },
            ..Default::default()
        };
        assert!(!needs_bound(&f16, &[24, 64]));
        assert_eq!(bounded_slice_count(&f16, &[24, 64], 1 << 12), None);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn merging_refuses_missing_repeated_or_mismatched_parts() {
        let d = Dataset::new("t", vec![4, 4], (0..16).map(|i| i as f32).collect())
            .unwrap_or_else(|e| panic!("{e}"));
        let c = QuantizerConfig::default();
        let o = AnalysisOptions::default();
        let part = |index, count| {
            analyze_share(&d, &c, &o, Share { index, count }).unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(merge(vec![]), Err(MergeError::Empty));
        assert!(matches!(
            merge(vec![part(0, 2)]),
            Err(MergeError::Parts { .. })
        ));
        assert!(matches!(
            merge(vec![part(0, 2), part(0, 2)]),
            Err(MergeError::Parts { .. })
        ));
        let mut other = part(1, 2);
        other.config.bits = 4;
        assert_eq!(merge(vec![part(0, 2), other]), Err(MergeError::Mismatch));
        assert!(matches!(
            analyze_share(&d, &c, &o, Share { index: 2, count: 2 }),
            Err(AnalyzeError::Share(_))
        ));
        // A symmetric per-channel MSE calibration in 3 shares: the same numbers.
        let c = QuantizerConfig {
            scheme: Scheme::Symmetric,
            granularity: Granularity::Channel { axis: 1 },
            calibration: Calibration::Mse,
            format: Format::Int,
            ..Default::default()
        };
        let one = crate::run::analyze(&d, &c, &o).unwrap_or_else(|e| panic!("{e}"));
        let many = merged(&d, &c, &o, 3).unwrap_or_else(|e| panic!("{e}"));
        assert_same(&one, &many, "per-channel mse");
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use super::tests::{assert_same, merged};
    use super::*;
    use crate::calib::aciq::AciqFit;
    use crate::config::{Calibration, Granularity, Rounding, Scheme};
    use crate::format::Format;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Any format, granularity, calibration, scale storage and number of shares: the merged
        /// parts are the single pass (codes and counts exactly, sums to 1e-9).
        #[test]
        fn merged_shares_equal_one_pass(
            rows in 1usize..9,
            cols in proptest::sample::select(vec![1usize, 2, 4, 8, 32]),
            seed in any::<u64>(),
            specials in proptest::collection::vec((0usize..400, 0u8..4), 0..5),
            format in proptest::sample::select(Format::ALL.to_vec()),
            granularity in prop_oneof![
                Just(Granularity::Tensor),
                (0usize..2).prop_map(|axis| Granularity::Channel { axis }),
                proptest::sample::select(vec![1usize, 2, 4]).prop_map(|size| Granularity::Group { size }),
            ],
            calibration in proptest::sample::select(vec![
                Calibration::MinMax, Calibration::Percentile { p: 99.0 }, Calibration::Mse,
                Calibration::Kl, Calibration::Aciq { fit: AciqFit::Gauss },
                Calibration::Manual { lo: -1.0, hi: 1.5 },
            ]),
            symmetric in any::<bool>(),
            bits in 1u8..=9,
            scale_format in proptest::sample::select(crate::block::ScaleFormat::ALL.to_vec()),
            rounding in proptest::sample::select(vec![Rounding::NearestEven, Rounding::Floor, Rounding::Stochastic]),
            count in 1usize..6,
            display_group in 0usize..40,
            interactive in any::<bool>(),
            vector in any::<bool>(),
        ) {
            let n = rows * cols;
            let mut v = crate::synth::generate(crate::synth::Distribution::Laplace, n, seed).unwrap_or_default();
            for (i, kind) in specials {
                v[i % n] = [f32::NAN, f32::INFINITY, 0.0, 3e38][usize::from(kind)];
            }
            prop_assume!(v.iter().any(|x| x.is_finite()));
            let d = Dataset::new("t", vec![rows, cols], v).unwrap_or_else(|e| panic!("{e}"));
            let c = QuantizerConfig {
                format,
                granularity,
                calibration,
                scheme: if symmetric { Scheme::Symmetric } else { Scheme::Asymmetric },
                bits,
                scale_format,
                rounding,
                levels: 5,
                vector_dim: if vector && format == Format::Kmeans { 2 } else { 1 },
                ..Default::default()
            };
            let o = AnalysisOptions { display_group, interactive, ..Default::default() };
            match crate::run::analyze(&d, &c, &o) {
                Ok(one) => {
                    let many = merged(&d, &c, &o, count).unwrap_or_else(|e| panic!("{e}"));
                    assert_same(&one, &many, &format!("{c:?} in {count}"));
                }
                Err(e) => {
                    let err = merged(&d, &c, &o, count).err();
                    prop_assert_eq!(err, Some(e.to_string()));
                }
            }
        }
    }
}
