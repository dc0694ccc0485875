//! The transfer function r → Q(r) → r̂ as a staircase over the input range.

use plotters::prelude::*;
use quantscope_core::Analysis;

use super::histogram::{CLIP_COLOR, OUTPUT_COLOR};
use super::{axis_label, canvas_root, pixel_map, span, PixelMap, Scale};

/// What the transfer chart draws.
#[derive(Clone, Debug, PartialEq)]
pub struct TransferChart {
    pub x_range: (f32, f32),
    pub y_range: (f32, f32),
    /// The staircase as a polyline.
    pub steps: Vec<(f32, f32)>,
    /// Whether `steps` is exact (every step) or sampled (too many steps for the width).
    pub exact: bool,
    pub clip: (f32, f32),
    /// For the integer format, the codes: r̂ = S · (q − Z), so the right axis reads q, and real 0
    /// lands on q = Z (marked).
    pub codes: Option<Codes>,
}

/// The integer code axis of the transfer chart.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Codes {
    pub scale: f32,
    pub zero_point: i32,
    /// r̂(0): exactly 0 (the range always includes 0 and S · (Z − Z) = 0).
    pub zero_reconstruction: f32,
}

impl Codes {
    /// The code of reconstruction `y` on the right axis.
    pub fn code_of(&self, y: f32) -> f64 {
        f64::from(y) / f64::from(self.scale) + f64::from(self.zero_point)
    }
}

/// r̂ for input `x`: the level after the last threshold ≤ x.
fn reconstruct(levels: &[f32], thresholds: &[f32], x: f32) -> f32 {
    let k = thresholds.partition_point(|&t| t <= x);
    levels.get(k).copied().unwrap_or(0.0)
}

/// Chart data for `analysis` on a plot `plot_width_px` CSS pixels wide.
pub fn transfer_chart(analysis: &Analysis, plot_width_px: f64) -> TransferChart {
    // With many groups, the display group's own range (plus a quarter on each side) is what its
    // staircase is about; the whole data range would squash it flat.
    let (c0, c1) = analysis.display.clip;
    let (x0, x1) = if analysis.n_groups > 1 && c1 > c0 {
        super::padded_range(c0, c1, 0.25)
    } else {
        (analysis.input_hist.lo, analysis.input_hist.hi)
    };
    let (levels, thresholds) = (&analysis.levels, &analysis.thresholds);
    let inside: Vec<f32> = thresholds
        .iter()
        .copied()
        .filter(|t| *t > x0 && *t < x1)
        .collect();
    let exact = (inside.len() as f64) <= plot_width_px / 2.0;
    let mut steps = vec![(x0, reconstruct(levels, thresholds, x0))];
    if exact {
        for t in inside {
            let before = steps.last().map_or(0.0, |p| p.1);
            steps.push((t, before));
            steps.push((t, reconstruct(levels, thresholds, t)));
        }
    } else {
        let n = (plot_width_px * 2.0).max(2.0) as usize;
        for i in 1..n {
            let x = super::lerp(x0, x1, i as f64 / n as f64);
            steps.push((x, reconstruct(levels, thresholds, x)));
        }
    }
    steps.push((x1, reconstruct(levels, thresholds, x1)));
    let lo = steps.iter().map(|p| p.1).fold(x0, f32::min);
    let hi = steps.iter().map(|p| p.1).fold(x1, f32::max);
    let p = analysis.display.params;
    let codes = (analysis.config.format == quantscope_core::Format::Int
        && p.scale.is_finite()
        && p.scale > 0.0)
        .then(|| Codes {
            scale: p.scale,
            zero_point: p.zero_point,
            zero_reconstruction: reconstruct(levels, thresholds, 0.0),
        });
    TransferChart {
        x_range: (x0, x1),
        // 4 % of air above and below the staircase.
        y_range: super::padded_range(lo, hi, 0.04),
        steps,
        exact,
        clip: analysis.display.clip,
        codes,
    }
}

/// Draws `chart` on `canvas`.
pub fn draw_transfer(
    canvas: web_sys::HtmlCanvasElement,
    chart: &TransferChart,
    scale: Scale,
) -> Result<PixelMap, String> {
    let root = canvas_root(canvas)?;
    let (x0, x1) = chart.x_range;
    let (y0, y1) = chart.y_range;
    let codes = chart.codes;
    let (q0, q1) = codes.map_or((0.0, 1.0), |c| (c.code_of(y0), c.code_of(y1)));
    let mut cc = ChartBuilder::on(&root)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(34.0))
        .y_label_area_size(scale.px(58.0))
        .right_y_label_area_size(scale.px(if codes.is_some() { 52.0 } else { 0.0 }))
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| e.to_string())?
        .set_secondary_coord(x0..x1, q0..q1);
    let font = super::text(scale.px(12.0));
    super::themed_mesh(&mut cc.configure_mesh(), &font)
        .x_desc("input r")
        .y_desc("reconstruction r̂")
        .x_labels(7)
        .y_labels(6)
        .x_label_formatter(&|v: &f32| axis_label(*v, span((x0, x1))))
        .y_label_formatter(&|v: &f32| axis_label(*v, span((y0, y1))))
        .light_line_style(super::palette().faint)
        .draw()
        .map_err(|e| e.to_string())?;
    let (c0, c1) = chart.clip;
    cc.draw_series(std::iter::once(Rectangle::new(
        [(c0.max(x0), y0), (c1.min(x1), y1)],
        CLIP_COLOR.mix(0.07).filled(),
    )))
    .map_err(|e| e.to_string())?;
    cc.draw_series(LineSeries::new(
        [(x0, x0), (x1, x1)],
        super::palette().fg.mix(0.35).stroke_width(scale.px(1.0)),
    ))
    .map_err(|e| e.to_string())?;
    cc.draw_series(LineSeries::new(
        chart.steps.iter().copied(),
        OUTPUT_COLOR.stroke_width(scale.px(2.0)),
    ))
    .map_err(|e| e.to_string())?;
    if let Some(c) = codes {
        let font = super::text(scale.px(12.0));
        cc.configure_secondary_axes()
            // Inward ticks: for outward ones plotters measures the right-hand labels with a
            // styled DOM element, which the page's CSP (no inline styles) blocks.
            .set_all_tick_mark_size(-(scale.px(5.0) as i32))
            .y_desc("code q")
            .label_style(font.clone())
            .axis_desc_style(font.clone())
            .y_labels(6)
            .y_label_formatter(&|q: &f64| format!("{}", q.round()))
            .draw()
            .map_err(|e| e.to_string())?;
        // Real 0 lands exactly on a level: the code Z.
        if (x0..=x1).contains(&0.0) {
            let at = (0.0f32, c.zero_reconstruction);
            cc.draw_series(std::iter::once(Circle::new(
                at,
                scale.px(5.0),
                super::palette().fg.stroke_width(scale.px(2.0)),
            )))
            .map_err(|e| e.to_string())?;
            cc.draw_series(std::iter::once(Text::new(
                format!("r = 0 → q = Z = {}", c.zero_point),
                at,
                font.into_text_style(&root)
                    .pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Left,
                        plotters::style::text_anchor::VPos::Bottom,
                    )),
            )))
            .map_err(|e| e.to_string())?;
        }
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
    fn staircase_has_one_step_per_threshold_at_low_bits() {
        let v: Vec<f32> = (0..=100).map(|i| i as f32 / 50.0 - 1.0).collect();
        let d = Dataset::from_vec("t", v).unwrap_or_else(|e| panic!("{e}"));
        let c = QuantizerConfig {
            bits: 2,
            ..Default::default()
        };
        let a = analyze(&d, &c, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let t = transfer_chart(&a, 500.0);
        assert!(t.exact);
        // start + 2 points per visible threshold + end
        let inside = a
            .thresholds
            .iter()
            .filter(|&&x| x > t.x_range.0 && x < t.x_range.1)
            .count();
        assert_eq!(t.steps.len(), 2 + 2 * inside);
        // every y is a reconstruction level, and y never decreases
        assert!(t.steps.iter().all(|p| a.levels.contains(&p.1)));
        assert!(t
            .steps
            .windows(2)
            .all(|w| w[1].1 >= w[0].1 && w[1].0 >= w[0].0));
    }

    #[test]
    fn many_levels_are_sampled() {
        let v: Vec<f32> = (0..=1000).map(|i| i as f32).collect();
        let d = Dataset::from_vec("t", v).unwrap_or_else(|e| panic!("{e}"));
        let c = QuantizerConfig {
            bits: 12,
            ..Default::default()
        };
        let a = analyze(&d, &c, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let t = transfer_chart(&a, 300.0);
        assert!(!t.exact);
        assert_eq!(t.steps.len(), 601);
        let max_err = t
            .steps
            .iter()
            .map(|p| (p.0 - p.1).abs())
            .fold(0.0, f32::max);
        assert!(max_err <= a.groups[0].params.scale, "{max_err}");
    }

    #[test]
    fn the_code_axis_puts_real_zero_on_the_zero_point() {
        // Asymmetric 4 bits over [0, 10]: Z = qmin = −8, and r̂(0) = 0 sits on code −8.
        let v: Vec<f32> = (0..=100).map(|i| i as f32 / 10.0).collect();
        let d = Dataset::from_vec("t", v).unwrap_or_else(|e| panic!("{e}"));
        let c = QuantizerConfig {
            bits: 4,
            ..Default::default()
        };
        let a = analyze(&d, &c, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let codes = transfer_chart(&a, 500.0)
            .codes
            .unwrap_or_else(|| panic!("int codes"));
        assert_eq!(codes.zero_point, -8);
        assert_eq!(codes.zero_reconstruction, 0.0);
        assert_eq!(codes.code_of(0.0), -8.0);
        // The top level, 10, is code 7.
        assert!((codes.code_of(10.0) - 7.0).abs() < 1e-5);
        // Formats without integer codes have no code axis.
        let fp8 = QuantizerConfig {
            format: quantscope_core::Format::Fp8E4m3,
            ..Default::default()
        };
        let a = analyze(&d, &fp8, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(transfer_chart(&a, 500.0).codes.is_none());
    }
}
