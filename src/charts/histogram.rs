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
    /// The same for the reconstructed values, each count spread over its bucket's width
    /// (height × min(1, bin width / S)), so a level's bar lines up with the input density it replaces.
    pub output: Vec<(f32, f32, f64)>,
    pub y_max: f64,
    pub log_y: bool,
    /// The clipping range [α, β] of the displayed group.
    pub clip: (f32, f32),
    /// Thresholds drawn (every `threshold_stride`-th of `visible_thresholds`).
    pub thresholds: Vec<f32>,
    pub threshold_stride: usize,
    pub visible_thresholds: usize,
}

/// Height of a bar: the count, or log10(1 + count) on a log axis.
fn height(count: u64, log_y: bool) -> f64 {
    if log_y {
        (1.0 + count as f64).log10()
    } else {
        count as f64
    }
}

/// Chart data for `analysis` on a plot `plot_width_px` CSS pixels wide.
pub fn histogram_chart(analysis: &Analysis, plot_width_px: f64, log_y: bool) -> HistogramChart {
    let h = &analysis.input_hist;
    // Bin edges in f64: the bins of [−f32::MAX, f32::MAX] are wider than f32 can add.
    let w = h.bin_width();
    let edge = |i: usize| (f64::from(h.lo) + i as f64 * w) as f32;
    // GGML stores d = 0 for a zero block, a negative d for Q4_0 and Inf where it overflows.
    let step = f64::from(analysis.display.params.scale.abs());
    let spread = if step.is_finite() && step > 0.0 {
        (w / step).min(1.0)
    } else {
        1.0
    };
    let bars = |counts: &[u64], factor: f64, min_width: f64| -> Vec<(f32, f32, f64)> {
        counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| {
                let spread_count = (c as f64 * factor).round().max(1.0) as u64;
                let (a, b) = (edge(i), edge(i + 1));
                let (a, b) = if min_width > w {
                    // A bar at least `min_width` wide around the bin's centre.
                    let mid = (f64::from(a) + f64::from(b)) / 2.0;
                    let half = min_width / 2.0;
                    ((mid - half) as f32, (mid + half) as f32)
                } else {
                    (a, b)
                };
                (a, b, height(spread_count, log_y))
            })
            .collect()
    };
    let input = bars(&h.counts, 1.0, 0.0);
    // Reconstructions sit on few levels: keep each bar visible (1/800 of the axis at least).
    let output = bars(
        &analysis.output_hist.counts,
        spread,
        super::span((h.lo, h.hi)) / 800.0,
    );
    let y_max = input
        .iter()
        .chain(output.iter())
        .map(|b| b.2)
        .fold(0.0, f64::max)
        .max(1.0);
    let x_range = (h.lo, h.hi);
    let (thresholds, threshold_stride, visible_thresholds) =
        thin_thresholds(&analysis.thresholds, x_range, plot_width_px);
    HistogramChart {
        x_range,
        input,
        output,
        y_max,
        log_y,
        clip: analysis.display.clip,
        thresholds,
        threshold_stride,
        visible_thresholds,
    }
}

/// Colours shared with the legend in the page (style/main.css uses the same values).
pub const INPUT_COLOR: RGBColor = RGBColor(70, 120, 190);
pub const OUTPUT_COLOR: RGBColor = RGBColor(230, 120, 30);
pub const CLIP_COLOR: RGBColor = RGBColor(200, 40, 60);
pub const THRESHOLD_COLOR: RGBColor = RGBColor(90, 90, 90);

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
    let font = ("sans-serif", scale.px(12.0)).into_font();
    let log_y = chart.log_y;
    cc.configure_mesh()
        .disable_mesh()
        .y_desc(if log_y {
            "count + 1 (log scale)"
        } else {
            "count"
        })
        .x_desc("value")
        .label_style(font.clone())
        .axis_desc_style(font)
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
            .input
            .iter()
            .map(|&(a, b, h)| Rectangle::new([(a, 0.0), (b, h)], INPUT_COLOR.mix(0.55).filled())),
    )
    .map_err(|e| e.to_string())?;
    let th_style = THRESHOLD_COLOR.mix(0.7).stroke_width(scale.px(1.0));
    cc.draw_series(
        chart
            .thresholds
            .iter()
            .map(|&t| PathElement::new(vec![(t, 0.0), (t, chart.y_max * 1.05)], th_style)),
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
}
