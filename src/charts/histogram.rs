//! The histogram view: input distribution, clipping range, thresholds and reconstructions.

use plotters::prelude::*;
use quantscope_core::Analysis;

use super::{canvas_root, pixel_map, thin_thresholds, PixelMap, Scale};

/// What the histogram chart draws.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramChart {
    pub x_range: (f32, f32),
    /// (left edge, right edge, height) of each non-empty input bin.
    pub input: Vec<(f32, f32, f64)>,
    /// The reconstructed values as a density in the input's units (see [`output_densities`]), so a
    /// level's bar lines up with the input density it replaces and never aliases with the bins.
    pub output: Vec<(f32, f32, f64)>,
    /// The whole tensor's histogram where it meets the view, scaled to the input's height (drawn
    /// faintly behind a group's own values; empty per tensor).
    pub background: Vec<(f32, f32, f64)>,
    pub y_max: f64,
    pub log_y: bool,
    /// The clipping range [α, β] of the displayed group.
    pub clip: (f32, f32),
    /// Thresholds drawn (every `threshold_stride`-th of `visible_thresholds`).
    pub thresholds: Vec<f32>,
    pub threshold_stride: usize,
    pub visible_thresholds: usize,
    /// Thresholds closer than a few pixels are drawn as short ticks on the axis, not as lines
    /// through the bars (a barcode).
    pub threshold_ticks: bool,
}

/// Height of a bar: the count, or log10(1 + count) on a log axis.
pub(super) fn height(count: f64, log_y: bool) -> f64 {
    if log_y {
        (1.0 + count).log10()
    } else {
        count
    }
}

/// The non-empty bins of `h` as (left edge, right edge, `height(count)`), edges in f64 first (the
/// bins of very wide ranges are wider than f32 can add). For the charts that draw a histogram as
/// it is (the calibrators', A/B).
pub fn bars(h: &quantscope_core::Histogram, height: impl Fn(u64) -> f64) -> Vec<(f32, f32, f64)> {
    let w = h.bin_width();
    let edge = |i: usize| (f64::from(h.lo) + i as f64 * w) as f32;
    h.counts
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(i, &c)| (edge(i), edge(i + 1), height(c)))
        .collect()
}

/// The grey of the data's bars where coloured marks go over them.
pub const DATA_GREY: RGBColor = RGBColor(150, 150, 160);

/// Thresholds at least this far apart (CSS px) are drawn as full-height lines.
const LINE_SPACING_PX: f64 = 6.0;

/// The reconstruction histogram `counts` (bins of `edge`) as densities: the count of each bin
/// times w / (the total width of the buckets of the levels in it), w the bin width. A level alone
/// in a bin wider than its bucket is lowered to the density of the values it replaces; a bin holding
/// two levels is not twice as tall as one holding one (the aliasing of 256 levels on 160 bins).
/// `levels` are the display group's distinct levels, sorted; without any in a bin its count is
/// kept as it is.
fn output_densities(counts: &[u64], levels: &[f32], edge: impl Fn(usize) -> f64) -> Vec<f64> {
    let w = edge(1) - edge(0);
    let bucket = |k: usize| -> f64 {
        let at = |j: usize| f64::from(levels[j]);
        match (k.checked_sub(1), levels.get(k + 1)) {
            (Some(a), Some(_)) => (at(k + 1) - at(a)) / 2.0,
            (Some(a), None) => at(k) - at(a),
            (None, Some(_)) => at(k + 1) - at(k),
            (None, None) => w,
        }
    };
    counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let (a, b) = (edge(i), edge(i + 1));
            let first = levels.partition_point(|&l| f64::from(l) < a);
            let last = levels.partition_point(|&l| f64::from(l) < b);
            let widths: f64 = (first..last).map(bucket).sum();
            if c == 0 || widths <= 0.0 || !widths.is_finite() {
                c as f64
            } else {
                c as f64 * w / widths
            }
        })
        .collect()
}

/// Chart data for `analysis` on a plot `plot_width_px` CSS pixels wide: the display group's own
/// values when the analysis has them (per channel, per group), else the whole tensor's.
pub fn histogram_chart(analysis: &Analysis, plot_width_px: f64, log_y: bool) -> HistogramChart {
    let (h, out, tensor) = match &analysis.group_hist {
        Some(g) => (&g.input, &g.output, Some(&analysis.input_hist)),
        None => (&analysis.input_hist, &analysis.output_hist, None),
    };
    // Bin edges in f64: the bins of [−f32::MAX, f32::MAX] are wider than f32 can add.
    let w = h.bin_width();
    let edge64 = |i: usize| f64::from(h.lo) + i as f64 * w;
    let edge = |i: usize| edge64(i) as f32;
    let bars = |heights: &[f64], min_width: f64| -> Vec<(f32, f32, f64)> {
        heights
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0.0)
            .map(|(i, &c)| {
                let (a, b) = (edge(i), edge(i + 1));
                let (a, b) = if min_width > w {
                    // A bar at least `min_width` wide around the bin's centre.
                    let mid = (f64::from(a) + f64::from(b)) / 2.0;
                    let half = min_width / 2.0;
                    ((mid - half) as f32, (mid + half) as f32)
                } else {
                    (a, b)
                };
                (a, b, height(c.max(1.0), log_y))
            })
            .collect()
    };
    let counts = |c: &[u64]| c.iter().map(|&c| c as f64).collect::<Vec<f64>>();
    let input = bars(&counts(&h.counts), 0.0);
    let mut levels: Vec<f32> = analysis
        .levels
        .iter()
        .copied()
        .filter(|l| l.is_finite())
        .collect();
    levels.sort_by(f32::total_cmp);
    levels.dedup();
    let densities = if analysis.config.vector_dim > 1 {
        counts(&out.counts)
    } else {
        output_densities(&out.counts, &levels, edge64)
    };
    // Reconstructions sit on few levels: keep each bar visible (1/800 of the axis at least).
    let output = bars(&densities, super::span((h.lo, h.hi)) / 800.0);
    let in_max = h.counts.iter().copied().max().unwrap_or(0) as f64;
    // The tensor's own (coarser) bins that meet the view, cut to it and scaled to the group's
    // height: the shape of everything else behind the group.
    let background = tensor.map_or_else(Vec::new, |t| {
        let tw = t.bin_width();
        let (lo, hi) = (f64::from(h.lo), f64::from(h.hi));
        let inside: Vec<(f64, f64, u64)> = t
            .counts
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let a = f64::from(t.lo) + i as f64 * tw;
                (a.max(lo), (a + tw).min(hi), c)
            })
            .filter(|&(a, b, c)| b > a && c > 0)
            .collect();
        let t_max = inside.iter().map(|b| b.2).max().unwrap_or(0) as f64;
        let k = if t_max > 0.0 { in_max / t_max } else { 0.0 };
        inside
            .into_iter()
            .map(|(a, b, c)| (a as f32, b as f32, height((c as f64 * k).max(1.0), log_y)))
            .collect()
    });
    let y_max = input
        .iter()
        .chain(output.iter())
        .map(|b| b.2)
        .fold(0.0, f64::max)
        .max(1.0);
    let x_range = (h.lo, h.hi);
    let (thresholds, threshold_stride, visible_thresholds) =
        thin_thresholds(&analysis.thresholds, x_range, plot_width_px);
    let spacing = plot_width_px / (visible_thresholds.max(1) as f64);
    HistogramChart {
        x_range,
        input,
        output,
        background,
        y_max,
        log_y,
        clip: analysis.display.clip,
        thresholds,
        threshold_stride,
        visible_thresholds,
        threshold_ticks: spacing < LINE_SPACING_PX,
    }
}

/// What lies under the pointer at value `x` of the histogram: the bin, its input and
/// reconstruction counts (of the same histograms the chart draws), and where `x` goes — its code
/// and r̂ for the integer format, r̂ otherwise.
pub fn readout(analysis: &Analysis, x: f32) -> String {
    let (h, out) = match &analysis.group_hist {
        Some(g) => (&g.input, &g.output),
        None => (&analysis.input_hist, &analysis.output_hist),
    };
    let w = h.bin_width();
    let bins = h.counts.len();
    let i = if w > 0.0 {
        (((f64::from(x) - f64::from(h.lo)) / w).floor().max(0.0) as usize)
            .min(bins.saturating_sub(1))
    } else {
        0
    };
    let edge = |i: usize| f64::from(h.lo) + i as f64 * w;
    let n = crate::format::number;
    let bin = format!(
        "bin [{}, {}): {} input values, {} reconstructions",
        n(edge(i), 4),
        n(edge(i + 1), 4),
        crate::format::count(h.counts.get(i).copied().unwrap_or(0) as usize),
        crate::format::count(out.counts.get(i).copied().unwrap_or(0) as usize),
    );
    format!(
        "value {} → {}; {bin}",
        n(f64::from(x), 5),
        where_it_goes(analysis, x)
    )
}

/// "code q, r̂ = …" (integer format) or "r̂ = …" for value `x` in the shown group.
pub fn where_it_goes(analysis: &Analysis, x: f32) -> String {
    let n = |v: f32| crate::format::number(f64::from(v), 5);
    if analysis.config.format == quantscope_core::Format::Int {
        let p = analysis.display.params;
        let (q, clipped) = p.code_from_real(x, p.inv_scale(), analysis.config.rounding, 0.5);
        format!(
            "code {q}, r̂ = {}{}",
            n(p.real_from_code(q)),
            if clipped { " (clipped)" } else { "" }
        )
    } else {
        let k = analysis.thresholds.partition_point(|&t| t <= x);
        match analysis.levels.get(k) {
            Some(&l) => format!("r̂ = {}", n(l)),
            None => "r̂ outside the view".to_string(),
        }
    }
}

/// Colours shared with the legend in the page (style/main.css uses the same values).
pub const INPUT_COLOR: RGBColor = RGBColor(70, 120, 190);
pub const OUTPUT_COLOR: RGBColor = RGBColor(230, 120, 30);
pub const CLIP_COLOR: RGBColor = RGBColor(200, 40, 60);
pub const THRESHOLD_COLOR: RGBColor = RGBColor(90, 90, 90);
/// The whole tensor behind one group's values.
pub const BACKGROUND_COLOR: RGBColor = RGBColor(222, 222, 228);

/// Draws `chart` on `canvas` (whose backing store is `scale` × its CSS size).
pub fn draw_histogram(
    canvas: web_sys::HtmlCanvasElement,
    chart: &HistogramChart,
    scale: Scale,
) -> Result<PixelMap, String> {
    let root = canvas_root(canvas)?;
    let (x0, x1) = chart.x_range;
    let mut cc = ChartBuilder::on(&root)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(34.0))
        .y_label_area_size(scale.px(62.0))
        .build_cartesian_2d(x0..x1, 0.0..chart.y_max * 1.05)
        .map_err(|e| e.to_string())?;
    let font = super::text(scale.px(12.0));
    let log_y = chart.log_y;
    super::themed_mesh(&mut cc.configure_mesh(), &font)
        .disable_mesh()
        .y_desc(if log_y {
            "count + 1 (log scale)"
        } else {
            "count"
        })
        .x_desc("value")
        .x_labels(7)
        .y_labels(5)
        .y_label_formatter(&|v: &f64| compact_count(if log_y { 10f64.powf(*v) } else { *v }))
        .x_label_formatter(&|v: &f32| super::axis_label(*v, super::span((x0, x1))))
        .draw()
        .map_err(|e| e.to_string())?;

    let (c0, c1) = chart.clip;
    cc.draw_series(std::iter::once(Rectangle::new(
        [(c0.max(x0), 0.0), (c1.min(x1), chart.y_max * 1.05)],
        CLIP_COLOR.mix(0.04).filled(),
    )))
    .map_err(|e| e.to_string())?;
    cc.draw_series(
        chart
            .background
            .iter()
            .map(|&(a, b, h)| Rectangle::new([(a, 0.0), (b, h)], BACKGROUND_COLOR.filled())),
    )
    .map_err(|e| e.to_string())?;
    cc.draw_series(
        chart
            .input
            .iter()
            .map(|&(a, b, h)| Rectangle::new([(a, 0.0), (b, h)], INPUT_COLOR.mix(0.55).filled())),
    )
    .map_err(|e| e.to_string())?;
    let th_style = THRESHOLD_COLOR.mix(0.7).stroke_width(scale.px(1.0));
    // Dense thresholds: ticks along the axis (4 % of the height), not a barcode over the bars.
    let top = if chart.threshold_ticks {
        chart.y_max * 0.04
    } else {
        chart.y_max * 1.05
    };
    cc.draw_series(
        chart
            .thresholds
            .iter()
            .map(|&t| PathElement::new(vec![(t, 0.0), (t, top)], th_style)),
    )
    .map_err(|e| e.to_string())?;
    cc.draw_series(
        chart
            .output
            .iter()
            .map(|&(a, b, h)| Rectangle::new([(a, 0.0), (b, h)], OUTPUT_COLOR.mix(0.6).filled())),
    )
    .map_err(|e| e.to_string())?;
    let edge = CLIP_COLOR.stroke_width(scale.px(2.0));
    for c in [c0, c1] {
        if c >= x0 && c <= x1 {
            cc.draw_series(std::iter::once(PathElement::new(
                vec![(c, 0.0), (c, chart.y_max * 1.05)],
                edge,
            )))
            .map_err(|e| e.to_string())?;
        }
    }
    root.present().map_err(|e| e.to_string())?;
    let (px, _) = cc.plotting_area().get_pixel_range();
    Ok(pixel_map(px, chart.x_range, scale))
}

/// 80000 → "80k", 1500000 → "1.5M", 12 → "12".
pub fn compact_count(v: f64) -> String {
    let v = v.max(0.0);
    let (x, suffix) = if v >= 1e6 {
        (v / 1e6, "M")
    } else if v >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let digits = if x >= 10.0 || x == x.round() { 0 } else { 1 };
    format!("{x:.digits$}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use quantscope_core::{analyze, AnalysisOptions, Dataset, QuantizerConfig};

    fn analysis(values: Vec<f32>, config: QuantizerConfig) -> Analysis {
        let d = Dataset::from_vec("t", values).unwrap_or_else(|e| panic!("{e}"));
        analyze(&d, &config, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn bars_cover_the_data_and_thresholds_are_all_drawn_at_low_bits() {
        let v: Vec<f32> = (0..1000).map(|i| i as f32 / 999.0 * 2.0 - 1.0).collect();
        let a = analysis(
            v,
            QuantizerConfig {
                bits: 3,
                ..Default::default()
            },
        );
        let c = histogram_chart(&a, 600.0, false);
        let total: f64 = c.input.iter().map(|b| b.2).sum();
        assert_eq!(total, 1000.0);
        assert_eq!(
            (c.threshold_stride, c.visible_thresholds, c.thresholds.len()),
            (1, 7, 7)
        );
        assert_eq!(c.clip, (-1.0, 1.0));
        // eight levels → at most eight non-empty output bins
        assert!(c.output.len() <= 8);
    }

    #[test]
    fn compact_counts() {
        assert_eq!(compact_count(80000.0), "80k");
        assert_eq!(compact_count(1_500_000.0), "1.5M");
        assert_eq!(compact_count(12.0), "12");
        assert_eq!(compact_count(2500.0), "2.5k");
    }

    #[test]
    fn output_mass_is_spread_over_the_bucket() {
        // 4 levels over [-1, 1] → S = 2/3 ≫ bin width: output bars are lowered by bin width / S.
        let v: Vec<f32> = (0..3000).map(|i| i as f32 / 2999.0 * 2.0 - 1.0).collect();
        let a = analysis(
            v,
            QuantizerConfig {
                bits: 2,
                ..Default::default()
            },
        );
        let c = histogram_chart(&a, 600.0, false);
        let out_total: f64 = c.output.iter().map(|b| b.2).sum();
        let w = a.input_hist.bin_width();
        let s = f64::from(a.groups[0].params.scale);
        assert!((out_total - 3000.0 * w / s).abs() < 4.0, "{out_total}");
        // each output bar is about as tall as the input density around it
        let in_max = c.input.iter().map(|b| b.2).fold(0.0, f64::max);
        assert!(c.output.iter().all(|b| b.2 <= in_max * 1.5));
    }

    #[test]
    fn dense_thresholds_are_thinned_and_log_axis_compresses() {
        let v: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.1).sin()).collect();
        let a = analysis(
            v,
            QuantizerConfig {
                bits: 10,
                ..Default::default()
            },
        );
        let c = histogram_chart(&a, 400.0, true);
        assert!(c.threshold_stride > 1);
        assert!(c.thresholds.len() as f64 <= 400.0 / super::super::MIN_THRESHOLD_SPACING_PX + 1.0);
        assert!(c.y_max < 4.0); // log10(1 + count) with count ≤ 1000
    }

    #[test]
    fn eight_bits_do_not_alias_and_dense_thresholds_are_ticks() {
        // 256 levels over 160 bins: each bin holds one or two levels. As densities the
        // reconstruction follows the (uniform) input instead of alternating between two heights.
        let v: Vec<f32> = (0..100_000)
            .map(|i| i as f32 / 99_999.0 * 2.0 - 1.0)
            .collect();
        let a = analysis(v, QuantizerConfig::default());
        assert_eq!(a.input_hist.counts.len(), 160);
        let c = histogram_chart(&a, 1000.0, false);
        let inner = &c.output[2..c.output.len() - 2];
        let (lo, hi) = inner
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), b| (lo.min(b.2), hi.max(b.2)));
        assert!(hi / lo < 1.05, "output bars between {lo} and {hi}");
        let in_mean = c.input.iter().map(|b| b.2).sum::<f64>() / c.input.len() as f64;
        assert!((hi / in_mean - 1.0).abs() < 0.05, "{hi} vs input {in_mean}");
        // The raw counts do alternate: what the chart used to draw.
        let raw: Vec<u64> = a.output_hist.counts[2..158].to_vec();
        let (rlo, rhi) = (
            raw.iter().min().copied().unwrap_or(0),
            raw.iter().max().copied().unwrap_or(0),
        );
        assert!(rhi as f64 / rlo as f64 > 1.8, "{rlo} {rhi}");
        // 255 thresholds on 1000 px: ticks, not lines.
        assert!(c.threshold_ticks);
        let low = analysis(
            (0..1000).map(|i| i as f32).collect(),
            QuantizerConfig {
                bits: 3,
                ..Default::default()
            },
        );
        assert!(!histogram_chart(&low, 1000.0, false).threshold_ticks);
    }

    #[test]
    fn per_channel_draws_the_channels_own_values_over_the_tensor() {
        use quantscope_core::Granularity;
        // Two rows with very different ranges; channel 1 (the second row) is [10, 20].
        let mut v: Vec<f32> = (0..100).map(|i| i as f32 / 99.0 - 0.5).collect();
        v.extend((0..100).map(|i| 10.0 + i as f32 / 9.9));
        let d = Dataset::new("t", vec![2, 100], v).unwrap_or_else(|e| panic!("{e}"));
        let config = QuantizerConfig {
            granularity: Granularity::Channel { axis: 0 },
            bits: 3,
            ..Default::default()
        };
        let options = AnalysisOptions {
            display_group: 1,
            ..Default::default()
        };
        let a = analyze(&d, &config, &options).unwrap_or_else(|e| panic!("{e}"));
        let c = histogram_chart(&a, 600.0, false);
        // The view is the channel's range [0, 20] (the clip includes 0), not the tensor's.
        assert_eq!(c.x_range, (0.0, 20.0));
        let total: f64 = c.input.iter().map(|b| b.2).sum();
        assert_eq!(total, 100.0);
        assert!(!c.background.is_empty());
        // All 7 thresholds of the channel's 8 levels lie in the view.
        assert_eq!(c.visible_thresholds, 7);
    }

    #[test]
    fn the_readout_names_the_bin_its_counts_and_the_code() {
        // 3 bits over [−1, 1]: S = 2/7; 0.5 → round(0.5 · 3.5) + Z = 2 + 0 … with Z from α = −1.
        let v: Vec<f32> = (0..1000).map(|i| i as f32 / 999.0 * 2.0 - 1.0).collect();
        let a = analysis(
            v,
            QuantizerConfig {
                bits: 3,
                ..Default::default()
            },
        );
        let p = a.display.params;
        let (q, _) = p.code_from_real(0.5, p.inv_scale(), a.config.rounding, 0.5);
        let text = readout(&a, 0.5);
        assert!(
            text.starts_with(&format!("value 0.5 → code {q}, r̂ = ")),
            "{text}"
        );
        // The bin of 0.5 holds about 1000 / 160 values: its count is the histogram's.
        let w = a.input_hist.bin_width();
        let i = ((0.5 - f64::from(a.input_hist.lo)) / w).floor() as usize;
        assert!(
            text.contains(&format!("{} input values", a.input_hist.counts[i])),
            "{text}"
        );
        // Far right: the last bin, never out of bounds.
        assert!(readout(&a, 1e9).contains("(clipped)"));
    }
}
