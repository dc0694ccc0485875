//! The layer lab's charts: each input's largest activation (where the outliers are), the weights'
//! histogram before and after the transform, and each output's error under every method.

use plotters::prelude::*;
use quantscope_core::layer::{LabResult, Method};
use quantscope_core::Histogram;

use super::{canvas_root, pixel_map, themed_mesh, PixelMap, Scale};

/// Most bars drawn (about a pixel column each on a laptop): inputs beyond it share a bar that
/// shows their largest value, so no outlier is lost.
pub const MAX_BARS: usize = 512;

/// Method colours (Okabe–Ito), in [`Method::ALL`] order.
pub const METHOD_COLOURS: [RGBColor; 3] = [
    RGBColor(230, 159, 0),
    RGBColor(0, 114, 178),
    RGBColor(0, 158, 115),
];
/// The weights before (ink) and after (vermillion) the transform.
pub const AFTER: RGBColor = RGBColor(213, 94, 0);

/// max|X| per input, banded.
#[derive(Clone, Debug, PartialEq)]
pub struct ActChart {
    /// (first input, one past the last, largest |x| among them).
    pub bars: Vec<(f64, f64, f32)>,
    pub inputs: usize,
    pub y_max: f32,
}

/// The bars of `act_abs_max`: one per input up to `max_bars` (at most [`MAX_BARS`]; about one per
/// two pixel columns of the canvas, so every bar is drawn), else bands keeping each band's maximum.
pub fn act_chart(act_abs_max: &[f32], max_bars: usize) -> ActChart {
    let n = act_abs_max.len();
    let per = n.div_ceil(max_bars.clamp(1, MAX_BARS)).max(1);
    let bars: Vec<(f64, f64, f32)> = act_abs_max
        .chunks(per)
        .enumerate()
        .map(|(k, c)| {
            let first = k * per;
            (
                first as f64,
                (first + c.len()) as f64,
                c.iter().copied().fold(0.0, f32::max),
            )
        })
        .collect();
    let y_max = bars.iter().map(|b| b.2).fold(0.0, f32::max);
    ActChart {
        bars,
        inputs: n,
        y_max: if y_max > 0.0 { y_max * 1.05 } else { 1.0 },
    }
}

/// Draws `chart`; the map's x values are input indices.
pub fn draw_act(
    canvas: web_sys::HtmlCanvasElement,
    chart: &ActChart,
    scale: Scale,
) -> Result<PixelMap, String> {
    let root = canvas_root(canvas)?;
    let x1 = chart.inputs.max(1) as f64;
    let mut cc = ChartBuilder::on(&root)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(34.0))
        .y_label_area_size(scale.px(52.0))
        .build_cartesian_2d(0.0..x1, 0f32..chart.y_max)
        .map_err(|e| e.to_string())?;
    let font = super::text(scale.px(12.0));
    themed_mesh(&mut cc.configure_mesh(), &font)
        .disable_x_mesh()
        .x_desc("input j (column of W)")
        .y_desc("max over tokens |x|")
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(&|v: &f64| format!("{}", v.round()))
        .y_label_formatter(&|v: &f32| super::axis_label(*v, f64::from(chart.y_max)))
        .draw()
        .map_err(|e| e.to_string())?;
    cc.draw_series(
        chart
            .bars
            .iter()
            .map(|&(a, b, y)| Rectangle::new([(a, 0.0), (b, y)], METHOD_COLOURS[1].filled())),
    )
    .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    let (px, _) = cc.plotting_area().get_pixel_range();
    Ok(pixel_map(px, (0.0, x1 as f32), scale))
}

/// The weight histograms as step outlines with log counts.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightsChart {
    /// (bin centre, log10(1 + count)) of W, and of W' when a transform changed it.
    pub before: Vec<(f32, f64)>,
    pub after: Option<Vec<(f32, f64)>>,
    pub x_range: (f32, f32),
    pub y_max: f64,
}

fn steps(h: &Histogram) -> Vec<(f32, f64)> {
    (0..h.counts.len())
        .map(|i| (h.bin_center(i), (1.0 + h.counts[i] as f64).log10()))
        .collect()
}

pub fn weights_chart(lab: &LabResult) -> WeightsChart {
    let before = steps(&lab.weights);
    let after = lab.transformed.as_ref().map(steps);
    let y_max = before
        .iter()
        .chain(after.iter().flatten())
        .map(|p| p.1)
        .fold(0.0, f64::max);
    WeightsChart {
        before,
        after,
        x_range: (lab.weights.lo, lab.weights.hi),
        y_max: (y_max * 1.08).max(1.0),
    }
}

/// Draws `chart`; the map's x values are weight values.
pub fn draw_weights(
    canvas: web_sys::HtmlCanvasElement,
    chart: &WeightsChart,
    scale: Scale,
) -> Result<PixelMap, String> {
    let root = canvas_root(canvas)?;
    let (x0, x1) = if chart.x_range.1 > chart.x_range.0 {
        chart.x_range
    } else {
        (chart.x_range.0 - 1.0, chart.x_range.0 + 1.0)
    };
    let mut cc = ChartBuilder::on(&root)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(34.0))
        .y_label_area_size(scale.px(52.0))
        .build_cartesian_2d(x0..x1, 0.0..chart.y_max)
        .map_err(|e| e.to_string())?;
    let font = super::text(scale.px(12.0));
    let span = super::span((x0, x1));
    themed_mesh(&mut cc.configure_mesh(), &font)
        .disable_x_mesh()
        .x_desc("weight value")
        .y_desc("count (log₁₀ 1+n)")
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(&|v: &f32| super::axis_label(*v, span))
        .y_label_formatter(&|v: &f64| format!("{v:.0}"))
        .draw()
        .map_err(|e| e.to_string())?;
    let ink = super::palette().fg;
    cc.draw_series(LineSeries::new(
        chart.before.iter().copied(),
        ink.stroke_width(scale.px(1.5)),
    ))
    .map_err(|e| e.to_string())?;
    if let Some(after) = &chart.after {
        cc.draw_series(LineSeries::new(
            after.iter().copied(),
            AFTER.stroke_width(scale.px(2.0)),
        ))
        .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())?;
    let (px, _) = cc.plotting_area().get_pixel_range();
    Ok(pixel_map(px, (x0, x1), scale))
}

/// Each output's MSE under every method, log scale.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputsChart {
    /// Per method (in [`Method::ALL`] order): (output index, log10 MSE) of the finite, positive
    /// ones, banded to at most [`MAX_BARS`] points keeping each band's largest error.
    pub lines: Vec<(Method, Vec<(f64, f64)>)>,
    pub outputs: usize,
    pub y_range: (f64, f64),
    /// The method drawn on top, thicker.
    pub shown: Method,
}

pub fn outputs_chart(lab: &LabResult, shown: Method) -> OutputsChart {
    let per = lab.out.div_ceil(MAX_BARS).max(1);
    let lines: Vec<(Method, Vec<(f64, f64)>)> = lab
        .rows
        .iter()
        .map(|r| {
            let pts = r
                .per_output_mse
                .chunks(per)
                .enumerate()
                .filter_map(|(k, c)| {
                    let m = c.iter().copied().fold(0.0, f64::max);
                    (m > 0.0 && m.is_finite())
                        .then(|| ((k * per) as f64 + c.len() as f64 / 2.0, m.log10()))
                })
                .collect();
            (r.method, pts)
        })
        .collect();
    let (lo, hi) = lines
        .iter()
        .flat_map(|l| l.1.iter().map(|p| p.1))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    let y_range = if lo.is_finite() && hi > lo {
        (lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
    } else if lo.is_finite() {
        (lo - 1.0, lo + 1.0)
    } else {
        (-1.0, 1.0)
    };
    OutputsChart {
        lines,
        outputs: lab.out,
        y_range,
        shown,
    }
}

/// Draws `chart`; the map's x values are output indices.
pub fn draw_outputs(
    canvas: web_sys::HtmlCanvasElement,
    chart: &OutputsChart,
    scale: Scale,
) -> Result<PixelMap, String> {
    let root = canvas_root(canvas)?;
    let x1 = chart.outputs.max(1) as f64;
    let (y0, y1) = chart.y_range;
    let mut cc = ChartBuilder::on(&root)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(34.0))
        .y_label_area_size(scale.px(52.0))
        .build_cartesian_2d(0.0..x1, y0..y1)
        .map_err(|e| e.to_string())?;
    let font = super::text(scale.px(12.0));
    themed_mesh(&mut cc.configure_mesh(), &font)
        .disable_x_mesh()
        .x_desc("output o (row of W)")
        .y_desc("output MSE")
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(&|v: &f64| format!("{}", v.round()))
        .y_label_formatter(&|v: &f64| crate::format::number(10f64.powf(*v), 2))
        .draw()
        .map_err(|e| e.to_string())?;
    // The shown method last, so it is on top.
    let mut order: Vec<usize> = (0..chart.lines.len()).collect();
    order.sort_by_key(|&i| chart.lines[i].0 == chart.shown);
    for i in order {
        let (method, pts) = &chart.lines[i];
        let k = Method::ALL.iter().position(|m| m == method).unwrap_or(0);
        let width = if *method == chart.shown { 2.0 } else { 1.0 };
        cc.draw_series(LineSeries::new(
            pts.iter().copied(),
            METHOD_COLOURS[k % METHOD_COLOURS.len()].stroke_width(scale.px(width)),
        ))
        .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())?;
    let (px, _) = cc.plotting_area().get_pixel_range();
    Ok(pixel_map(px, (0.0, x1 as f32), scale))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quantscope_core::layer::{LayerReport, Spread};

    fn report(method: Method, per_output: Vec<f64>) -> LayerReport {
        LayerReport {
            method,
            awq_alpha: None,
            awq_curve: Vec::new(),
            output_mse: 0.0,
            output_sqnr_db: 0.0,
            weight_mse: 0.0,
            weight_sqnr_db: 0.0,
            per_output_mse: per_output,
            weight_before: Spread {
                kurtosis: 0.0,
                max_over_std: 0.0,
            },
            weight_quantized: Spread {
                kurtosis: 0.0,
                max_over_std: 0.0,
            },
            gptq_damp: None,
            gptq_loss: None,
            notes: Vec::new(),
        }
    }

    #[test]
    fn wide_inputs_are_banded_without_losing_an_outlier() {
        let mut m = vec![1.0f32; 1536];
        m[856] = 24.0;
        let c = act_chart(&m, 10_000);
        assert_eq!(c.bars.len(), 512);
        assert_eq!(c.bars[285], (855.0, 858.0, 24.0));
        assert!(c.y_max > 24.0);
        // A phone's canvas: fewer, wider bands, the outlier still the tallest.
        let narrow = act_chart(&m, 170);
        assert_eq!(narrow.bars.len(), 154); // ⌈1536 / 170⌉ = 10 inputs a bar
        assert_eq!(narrow.bars.iter().filter(|b| b.2 == 24.0).count(), 1);
        let few = act_chart(&[0.5, 2.0], 512);
        assert_eq!(few.bars, vec![(0.0, 1.0, 0.5), (1.0, 2.0, 2.0)]);
    }

    #[test]
    fn output_errors_are_logged_and_zero_ones_left_out() {
        let lab = LabResult {
            out: 3,
            inputs: 4,
            tokens: 2,
            rows: vec![
                report(Method::Rtn, vec![1e-2, 0.0, 1e-4]),
                report(Method::Gptq, vec![1e-3, 1e-3, 1e-3]),
            ],
            act_abs_max: vec![1.0; 4],
            act_mean_sq: vec![1.0; 4],
            weights: Histogram {
                lo: -1.0,
                hi: 1.0,
                counts: vec![0, 9, 99],
            },
            transformed: None,
        };
        let c = outputs_chart(&lab, Method::Gptq);
        assert_eq!(c.lines[0].1, vec![(0.5, -2.0), (2.5, -4.0)]);
        assert_eq!(c.lines[1].1.len(), 3);
        assert!(c.y_range.0 < -4.0 && c.y_range.1 > -2.0);
        let w = weights_chart(&lab);
        assert_eq!(w.before[2].1, 2.0);
        assert!(w.after.is_none());
    }
}
