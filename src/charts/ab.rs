//! The A/B chart: the input histogram and the reconstructions of two configurations over it.

use plotters::prelude::*;
use quantscope_core::{Analysis, Histogram};

use super::{canvas_root, Scale};

/// A's colour (vermillion) and B's (blue), from the colour-blind-safe palette.
pub const A_COLOR: RGBColor = RGBColor(213, 94, 0);
pub const B_COLOR: RGBColor = RGBColor(0, 114, 178);

/// What the chart draws: B's input and both reconstructions, each over its whole tensor (not
/// a display group: A and B may have different layouts), heights log10(1 + count).
#[derive(Clone, Debug, PartialEq)]
pub struct AbChart {
    pub x_range: (f32, f32),
    pub input: Vec<(f32, f32, f64)>,
    pub a: Vec<(f32, f32, f64)>,
    pub b: Vec<(f32, f32, f64)>,
    pub y_max: f64,
}

/// The non-empty bins of `h`, heights log10(1 + count).
fn bars(h: &Histogram) -> Vec<(f32, f32, f64)> {
    super::histogram::bars(h, |c| super::histogram::height(c as f64, true))
}

/// The chart of `a` (pinned) and `b` (current).
pub fn ab_chart(a: &Analysis, b: &Analysis) -> AbChart {
    let (input, oa, ob) = (
        bars(&b.input_hist),
        bars(&a.output_hist),
        bars(&b.output_hist),
    );
    let y_max = [&input, &oa, &ob]
        .iter()
        .flat_map(|bars| bars.iter().map(|b| b.2))
        .fold(1.0, f64::max);
    let lo = a.input_hist.lo.min(b.input_hist.lo);
    let hi = a.input_hist.hi.max(b.input_hist.hi);
    AbChart {
        x_range: super::padded_range(lo, hi, 0.02),
        input,
        a: oa,
        b: ob,
        y_max,
    }
}

/// Draws `chart`.
pub fn draw_ab(
    canvas: web_sys::HtmlCanvasElement,
    chart: &AbChart,
    scale: Scale,
) -> Result<(), String> {
    let root = canvas_root(canvas)?;
    let (x0, x1) = chart.x_range;
    let mut cc = ChartBuilder::on(&root)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(34.0))
        .y_label_area_size(scale.px(62.0))
        .build_cartesian_2d(x0..x1, 0.0..chart.y_max * 1.05)
        .map_err(|e| e.to_string())?;
    let font = super::text(scale.px(12.0));
    super::themed_mesh(&mut cc.configure_mesh(), &font)
        .disable_mesh()
        .y_desc("count + 1 (log scale)")
        .x_desc("value")
        .x_labels(7)
        .y_labels(5)
        .y_label_formatter(&|v: &f64| super::histogram::compact_count(10f64.powf(*v)))
        .x_label_formatter(&|v: &f32| super::axis_label(*v, super::span((x0, x1))))
        .draw()
        .map_err(|e| e.to_string())?;
    cc.draw_series(chart.input.iter().map(|&(a, b, h)| {
        Rectangle::new(
            [(a, 0.0), (b, h)],
            super::histogram::DATA_GREY.mix(0.45).filled(),
        )
    }))
    .map_err(|e| e.to_string())?;
    for (bars, color) in [(&chart.a, A_COLOR), (&chart.b, B_COLOR)] {
        cc.draw_series(
            bars.iter()
                .map(|&(a, b, h)| Rectangle::new([(a, 0.0), (b, h)], color.mix(0.45).filled())),
        )
        .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quantscope_core::{analyze, AnalysisOptions, Dataset, QuantizerConfig};

    #[test]
    fn both_reconstructions_on_one_range() {
        let values: Vec<f32> = (0..2000).map(|i| (i as f32 - 1000.0) / 200.0).collect();
        let d = Dataset::new("t", vec![2000], values).unwrap_or_else(|e| panic!("{e}"));
        let run = |bits| {
            analyze(
                &d,
                &QuantizerConfig {
                    bits,
                    ..Default::default()
                },
                &AnalysisOptions::default(),
            )
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let (a, b) = (run(2), run(4));
        let c = ab_chart(&a, &b);
        // 2 bits: 4 levels; 4 bits: 16 (the bars of each are its own).
        assert!(
            c.a.len() <= 4 && c.b.len() > 8,
            "{} {}",
            c.a.len(),
            c.b.len()
        );
        let total = |bars: &[(f32, f32, f64)]| {
            bars.iter()
                .map(|b| 10f64.powf(b.2) - 1.0)
                .sum::<f64>()
                .round()
        };
        assert_eq!(total(&c.a), 2000.0);
        assert_eq!(total(&c.b), 2000.0);
        assert!(c.x_range.0 <= -5.0 && c.x_range.1 >= 4.99);
        assert!(c.y_max >= c.input.iter().map(|b| b.2).fold(0.0, f64::max));
    }
}
