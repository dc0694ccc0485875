//! The histogram of the one group (channel, block) whose clip and thresholds the page draws.
//!
//! Under per-channel and per-group layouts every group has its own clip and levels; drawing them
//! over the whole tensor's histogram compares one group's thresholds with everybody's values. This
//! bins the display group's own values and reconstructions over the group's range (the page draws
//! the tensor's own histogram behind them). Like the rest of a share's histograms the counts are of
//! the values in the share's span only, so shares add up. The cost is a pass over one group.

use serde::{Deserialize, Serialize};

use crate::granularity::GroupLayout;
use crate::histogram::Histogram;

/// The display group's histograms, all over the same bins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupHistograms {
    /// The group's finite values.
    pub input: Histogram,
    /// Their reconstructions.
    pub output: Histogram,
    /// The group's finite values in all (not only this share's).
    pub values: usize,
}

impl GroupHistograms {
    /// Whether `other` has the same bins.
    pub fn same_bins(&self, other: &Self) -> bool {
        let h = (&self.input, &other.input);
        h.0.lo == h.1.lo && h.0.hi == h.1.hi && h.0.counts.len() == h.1.counts.len()
    }

    /// Adds `other`'s counts (another share's, with the same bins).
    pub fn add(&mut self, other: &Self) {
        for (into, from) in [
            (&mut self.input, &other.input),
            (&mut self.output, &other.output),
        ] {
            for (a, b) in into.counts.iter_mut().zip(&from.counts) {
                *a += b;
            }
        }
    }
}

/// The element ranges of group `g`: chunks g, g + n_groups, g + 2·n_groups, … (C order).
pub fn group_chunks(
    layout: &GroupLayout,
    g: usize,
) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let cl = layout.chunk_len.max(1);
    let step = layout.n_groups.max(1);
    (g..)
        .step_by(step)
        .map(move |k| k.saturating_mul(cl))
        .take_while(move |&start| start < layout.n)
        .map(move |start| start..(start + cl).min(layout.n))
}

/// Where a group's histograms are drawn: the group's finite min–max joined with its `clip`, kept
/// inside `within` (the tensor histogram's range, over which the levels and thresholds are
/// reported), in at most `bins` bins.
#[derive(Clone, Copy, Debug)]
pub struct Bins {
    pub clip: (f32, f32),
    pub within: (f32, f32),
    pub bins: usize,
}

/// The histograms of group `g` of `layout` over the values of `span` (see [`Bins`]), or `None`
/// under a per-tensor layout or for a group without finite values. `reconstruct(i, r)` is r̂ of
/// value i.
pub fn group_histograms(
    values: &[f32],
    layout: &GroupLayout,
    g: usize,
    span: std::ops::Range<usize>,
    Bins { clip, within, bins }: Bins,
    reconstruct: impl Fn(usize, f32) -> f32,
) -> Option<GroupHistograms> {
    if layout.n_groups <= 1 || g >= layout.n_groups {
        return None;
    }
    let (mut min, mut max, mut count) = (f32::INFINITY, f32::NEG_INFINITY, 0usize);
    for range in group_chunks(layout, g) {
        for &v in &values[range] {
            if v.is_finite() {
                min = min.min(v);
                max = max.max(v);
                count += 1;
            }
        }
    }
    if count == 0 {
        return None;
    }
    // A group has few values (16, 32, …): about 2√n bins (at least 16, at most `bins`) keep its
    // histogram a shape rather than a comb of single counts.
    let bins = bins
        .min(((count as f64).sqrt() * 2.0).ceil() as usize)
        .max(16.min(bins));
    let lo = min.min(clip.0).max(within.0);
    let hi = max.max(clip.1).min(within.1);
    let (mut input, binner) = Histogram::empty(lo.min(hi), hi.max(lo), bins);
    let mut output = input.clone();
    let span = span.start.min(values.len())..span.end.min(values.len());
    for range in group_chunks(layout, g) {
        let (a, b) = (range.start.max(span.start), range.end.min(span.end));
        for (i, &r) in values[a..b.max(a)].iter().enumerate() {
            let i = a + i;
            if r.is_finite() {
                input.counts[binner.bin(r)] += 1;
                output.counts[binner.bin(reconstruct(i, r))] += 1;
            }
        }
    }
    Some(GroupHistograms {
        input,
        output,
        values: count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Granularity;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn a_group_is_its_own_values_and_shares_add_up() {
        // 4 × 6, per channel on the last axis: channel 1 is column 1, interleaved in memory.
        let values: Vec<f32> = (0..24).map(|i| i as f32).collect();
        let layout = GroupLayout::new(Granularity::Channel { axis: 1 }, &[4, 6])
            .unwrap_or_else(|e| panic!("{e}"));
        let chunks: Vec<_> = group_chunks(&layout, 1).collect();
        assert_eq!(chunks, vec![1..2, 7..8, 13..14, 19..20]);
        let over = |span| {
            group_histograms(
                &values,
                &layout,
                1,
                span,
                Bins {
                    clip: (0.0, 19.0),
                    within: (0.0, 23.0),
                    bins: 19,
                },
                |_, r| r.round(),
            )
            .unwrap_or_else(|| panic!("a group"))
        };
        let whole = over(0..24);
        assert_eq!((whole.input.lo, whole.input.hi), (0.0, 19.0));
        assert_eq!(whole.values, 4);
        assert_eq!(whole.input.total(), 4);
        assert_eq!(whole.output.total(), 4);
        // Two shares split at 12 add up to the whole.
        let (mut first, second) = (over(0..12), over(12..24));
        assert!(first.same_bins(&second));
        first.add(&second);
        assert_eq!(first, whole);
        // Per tensor there is no group view.
        let tensor =
            GroupLayout::new(Granularity::Tensor, &[4, 6]).unwrap_or_else(|e| panic!("{e}"));
        assert!(group_histograms(
            &values,
            &tensor,
            0,
            0..24,
            Bins {
                clip: (0.0, 1.0),
                within: (0.0, 23.0),
                bins: 8
            },
            |_, r| r
        )
        .is_none());
    }

    /// For each layout and format, the analysis' group view counts the display group's values
    /// and the very reconstructions [`crate::quantize`] writes for them.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn the_analysis_shows_the_display_groups_own_values() {
        use crate::config::{Calibration, QuantizerConfig, Rounding, Scheme};
        use crate::format::Format;
        use crate::{analyze, quantize, AnalysisOptions, Dataset};
        let (rows, cols) = (16usize, 64usize);
        let values: Vec<f32> = (0..rows * cols)
            .map(|i| {
                let (r, c) = (i / cols, i % cols);
                ((i * 7919 % 997) as f32 / 997.0 - 0.5) * (1.0 + r as f32) + 0.01 * c as f32
            })
            .collect();
        let d =
            Dataset::new("t", vec![rows, cols], values.clone()).unwrap_or_else(|e| panic!("{e}"));
        let cases = [
            (
                Format::Int,
                Granularity::Channel { axis: 0 },
                Rounding::NearestEven,
                3,
            ),
            (
                Format::Int,
                Granularity::Channel { axis: 1 },
                Rounding::Stochastic,
                5,
            ),
            (
                Format::Int,
                Granularity::Group { size: 16 },
                Rounding::NearestEven,
                17,
            ),
            (
                Format::Fp4E2m1,
                Granularity::Group { size: 32 },
                Rounding::NearestEven,
                9,
            ),
            (
                Format::Nf4,
                Granularity::Group { size: 64 },
                Rounding::NearestEven,
                2,
            ),
            (Format::Q4_0, Granularity::Tensor, Rounding::NearestEven, 30),
            (
                Format::Kmeans,
                Granularity::Channel { axis: 0 },
                Rounding::NearestEven,
                7,
            ),
        ];
        for (format, granularity, rounding, g) in cases {
            let config = QuantizerConfig {
                format,
                granularity,
                rounding,
                bits: 4,
                levels: 8,
                scheme: Scheme::Asymmetric,
                calibration: Calibration::MinMax,
                ..Default::default()
            };
            let options = AnalysisOptions {
                display_group: g,
                ..Default::default()
            };
            let a = analyze(&d, &config, &options).unwrap_or_else(|e| panic!("{e}"));
            let view = a
                .group_hist
                .clone()
                .unwrap_or_else(|| panic!("{format:?}: a group view"));
            let layout =
                crate::plan::layout_for(&config, d.shape()).unwrap_or_else(|e| panic!("{e}"));
            let members: Vec<usize> = group_chunks(&layout, g).flatten().collect();
            assert_eq!(view.values, members.len(), "{format:?}");
            let q = quantize(&d, &config).unwrap_or_else(|e| panic!("{e}"));
            let (mut want_in, binner) =
                Histogram::empty(view.input.lo, view.input.hi, view.input.counts.len());
            let mut want_out = want_in.clone();
            for &i in &members {
                want_in.counts[binner.bin(values[i])] += 1;
                want_out.counts[binner.bin(q.dequantized[i])] += 1;
            }
            assert_eq!(view.input, want_in, "{format:?} {granularity:?}");
            assert_eq!(view.output, want_out, "{format:?} {granularity:?}");
            // The range holds the group's clip (where it lies inside the tensor's histogram).
            let clip = a.display.clip;
            assert!(
                view.input.lo <= clip.0.max(a.input_hist.lo)
                    && view.input.hi >= clip.1.min(a.input_hist.hi),
                "{format:?}"
            );
        }
    }
}
