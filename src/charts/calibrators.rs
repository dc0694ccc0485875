//! The calibrators on one histogram: the display group's input values, and each calibration
//! method's clipping range [α, β] as a pair of lines and a bar of its own colour above the bins.

use plotters::prelude::*;
use quantscope_core::Analysis;

use super::{canvas_root, padded_range, pixel_map, PixelMap, Scale};

/// Okabe and Ito's colour-blind-safe palette without its yellow (too pale on white), one colour
/// per method in the order of `quantscope_core::config::calibrators` (the table's swatches are
/// the same colours, `.swatch.method-k` in style/main.css).
/// Method `i`'s colour in the current theme (min–max, black on white, is the ink colour).
pub fn method_color(i: usize) -> RGBColor {
    match i % METHOD_COLORS.len() {
        0 => super::palette().fg,
        k => METHOD_COLORS[k],
    }
}

pub const METHOD_COLORS: [RGBColor; 7] = [
    RGBColor(0, 0, 0),       // min–max: black
    RGBColor(230, 159, 0),   // percentile: orange
    RGBColor(0, 114, 178),   // MSE: blue
    RGBColor(0, 158, 115),   // SQNR: bluish green
    RGBColor(213, 94, 0),    // KL: vermillion
    RGBColor(204, 121, 167), // ACIQ: reddish purple
    RGBColor(86, 180, 233),  // manual: sky blue
];

/// What the chart draws.
#[derive(Clone, Debug, PartialEq)]
pub struct CalibratorChart {
    pub x_range: (f32, f32),
    /// (left edge, right edge, height) of each non-empty input bin.
    pub input: Vec<(f32, f32, f64)>,
    /// Height of the tallest bin; the method bars sit above it.
    pub y_max: f64,
    pub log_y: bool,
    /// (palette index, α, β) of each method measured.
    pub ranges: Vec<(usize, f32, f32)>,
}

impl CalibratorChart {
    /// The top of the y axis: the bins, then one band per method.
    pub fn y_top(&self) -> f64 {
        self.y_max * (1.1 + 0.08 * METHOD_COLORS.len() as f64)
    }

    /// The height of method `index`'s bar.
    pub fn bar_y(&self, index: usize) -> f64 {
        self.y_max * (1.1 + 0.08 * index as f64 + 0.04)
    }
}

/// The chart of `analysis`'s display group (its own values under per-channel and per-group
/// layouts) with `ranges` (palette index, clip) drawn over it; the x range covers the data and
/// every range.
pub fn calibrator_chart(
    analysis: &Analysis,
    ranges: &[(usize, (f32, f32))],
    log_y: bool,
) -> CalibratorChart {
    let h = analysis
        .group_hist
        .as_ref()
        .map_or(&analysis.input_hist, |g| &g.input);
    let input = super::histogram::bars(h, |c| super::histogram::height(c as f64, log_y));
    let y_max = input.iter().map(|b| b.2).fold(0.0, f64::max).max(1.0);
    let finite: Vec<(usize, f32, f32)> = ranges
        .iter()
        .filter(|(_, (a, b))| a.is_finite() && b.is_finite())
        .map(|&(i, (a, b))| (i, a, b))
        .collect();
    let lo = finite.iter().map(|r| r.1).fold(h.lo, f32::min);
    let hi = finite.iter().map(|r| r.2).fold(h.hi, f32::max);
    CalibratorChart {
        x_range: padded_range(lo, hi, 0.03),
        input,
        y_max,
        log_y,
        ranges: finite,
    }
}

/// Draws `chart` on `canvas`.
pub fn draw_calibrators(
    canvas: web_sys::HtmlCanvasElement,
    chart: &CalibratorChart,
    scale: Scale,
) -> Result<PixelMap, String> {
    let root = canvas_root(canvas)?;
    let (x0, x1) = chart.x_range;
    let top = chart.y_top();
    let mut cc = ChartBuilder::on(&root)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(34.0))
        .y_label_area_size(scale.px(62.0))
        .build_cartesian_2d(x0..x1, 0.0..top)
        .map_err(|e| e.to_string())?;
    let font = super::text(scale.px(12.0));
    let log_y = chart.log_y;
    let y_max = chart.y_max;
    super::themed_mesh(&mut cc.configure_mesh(), &font)
        .disable_mesh()
        .y_desc(if log_y {
            "count + 1 (log scale)"
        } else {
            "count"
        })
        .x_desc("value")
        .x_labels(7)
        .y_labels(4)
        // No count labels over the method bands.
        .y_label_formatter(&|v: &f64| {
            if *v > y_max * 1.01 {
                String::new()
            } else {
                super::histogram::compact_count(if log_y { 10f64.powf(*v) } else { *v })
            }
        })
        .x_label_formatter(&|v: &f32| super::axis_label(*v, super::span((x0, x1))))
        .draw()
        .map_err(|e| e.to_string())?;
    cc.draw_series(chart.input.iter().map(|&(a, b, h)| {
        Rectangle::new(
            [(a, 0.0), (b, h)],
            super::histogram::DATA_GREY.mix(0.6).filled(),
        )
    }))
    .map_err(|e| e.to_string())?;
    for &(i, a, b) in &chart.ranges {
        let color = super::calibrators::method_color(i);
        let line = color.mix(0.55).stroke_width(scale.px(1.5));
        let y = chart.bar_y(i);
        for c in [a, b] {
            cc.draw_series(std::iter::once(PathElement::new(
                vec![(c, 0.0), (c, y)],
                line,
            )))
            .map_err(|e| e.to_string())?;
        }
        cc.draw_series(std::iter::once(PathElement::new(
            vec![(a, y), (b, y)],
            color.stroke_width(scale.px(4.0)),
        )))
        .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())?;
    let (px, _) = cc.plotting_area().get_pixel_range();
    Ok(pixel_map(px, chart.x_range, scale))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quantscope_core::{analyze, AnalysisOptions, Dataset, QuantizerConfig};

    #[test]
    fn the_axis_covers_the_data_and_every_range_and_bars_do_not_overlap() {
        let values: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) / 100.0).collect();
        let d = Dataset::new("t", vec![1000], values).unwrap_or_else(|e| panic!("{e}"));
        let a = analyze(&d, &QuantizerConfig::default(), &AnalysisOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let chart = calibrator_chart(
            &a,
            &[(0, (-5.0, 4.99)), (6, (-9.0, 2.0)), (2, (f32::NAN, 1.0))],
            false,
        );
        assert!(chart.x_range.0 < -9.0 && chart.x_range.1 > 4.99);
        // The non-finite range is left out; the bars sit above the bins, each at its height.
        assert_eq!(chart.ranges.len(), 2);
        let heights: Vec<f64> = (0..7).map(|i| chart.bar_y(i)).collect();
        assert!(heights.windows(2).all(|w| w[1] > w[0]));
        assert!(heights[0] > chart.y_max && heights[6] < chart.y_top());
        assert_eq!(
            chart.input.iter().map(|b| b.2).sum::<f64>() as usize,
            1000,
            "linear heights are the counts"
        );
        let log = calibrator_chart(&a, &[], true);
        assert!(log.y_max < chart.y_max);
    }
}
