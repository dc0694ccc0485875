//! The histogram view: input distribution, clipping range, thresholds and reconstructions.

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use quantscope_core::Analysis;

use super::{thin_thresholds, PixelMap, Scale};

/// What the histogram chart draws.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramChart {
    pub x_range: (f32, f32),
    /// (left edge, right edge, height) of each non-empty input bin.
    pub input: Vec<(f32, f32, f64)>,
    /// The same for the reconstructed values.
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
    let w = h.bin_width();
    let bars = |counts: &[u64]| -> Vec<(f32, f32, f64)> {
        counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| {
                (
                    h.lo + i as f32 * w,
                    h.lo + (i + 1) as f32 * w,
                    height(c, log_y),
                )
            })
            .collect()
    };
    let input = bars(&h.counts);
    let output = bars(&analysis.output_hist.counts);
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
        clip: analysis.groups[analysis.display_group].clip,
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
    let backend = CanvasBackend::with_canvas_object(canvas).ok_or("no 2-D canvas context")?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (x0, x1) = chart.x_range;
    let mut cc = ChartBuilder::on(&root)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(34.0))
        .y_label_area_size(scale.px(52.0))
        .build_cartesian_2d(x0..x1, 0.0..chart.y_max * 1.05)
        .map_err(|e| e.to_string())?;
    let font = ("sans-serif", scale.px(12.0)).into_font();
    cc.configure_mesh()
        .disable_x_mesh()
        .y_desc(if chart.log_y {
            "log10(1 + count)"
        } else {
            "count"
        })
        .x_desc("value")
        .label_style(font.clone())
        .axis_desc_style(font)
        .x_labels(7)
        .y_labels(5)
        .draw()
        .map_err(|e| e.to_string())?;

    let (c0, c1) = chart.clip;
    cc.draw_series(std::iter::once(Rectangle::new(
        [(c0.max(x0), 0.0), (c1.min(x1), chart.y_max * 1.05)],
        CLIP_COLOR.mix(0.07).filled(),
    )))
    .map_err(|e| e.to_string())?;
    cc.draw_series(
        chart
            .input
            .iter()
            .map(|&(a, b, h)| Rectangle::new([(a, 0.0), (b, h)], INPUT_COLOR.mix(0.55).filled())),
    )
    .map_err(|e| e.to_string())?;
    let th_style = THRESHOLD_COLOR.mix(0.45).stroke_width(scale.px(1.0));
    cc.draw_series(
        chart
            .thresholds
            .iter()
            .map(|&t| PathElement::new(vec![(t, 0.0), (t, chart.y_max * 1.05)], th_style)),
    )
    .map_err(|e| e.to_string())?;
    cc.draw_series(chart.output.iter().map(|&(a, b, h)| {
        let mid = (a + b) / 2.0;
        let half = ((b - a) / 2.0).max((x1 - x0) / 800.0);
        Rectangle::new(
            [(mid - half, 0.0), (mid + half, h)],
            OUTPUT_COLOR.mix(0.85).filled(),
        )
    }))
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
    Ok(PixelMap {
        x_px: (f64::from(px.start) / scale.0, f64::from(px.end) / scale.0),
        x_range: chart.x_range,
    })
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
