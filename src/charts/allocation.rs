//! The model view's chart: the least total error at each budget (the optimal allocations, a
//! Pareto curve), every uniform choice as a reference point, and the allocation shown.

use plotters::prelude::*;
use quantscope_core::allocate::Report;

use super::{canvas_root, pixel_map, themed_mesh, PixelMap, Scale};

pub const CURVE: RGBColor = RGBColor(0, 114, 178);
pub const UNIFORM: RGBColor = RGBColor(230, 159, 0);
pub const CHOSEN: RGBColor = RGBColor(213, 94, 0);

/// What the chart draws: x in bits per value, y in log10 of the weighted MSE.
#[derive(Clone, Debug, PartialEq)]
pub struct AllocationChart {
    pub curve: Vec<(f64, f64)>,
    pub uniform: Vec<(String, f64, f64)>,
    pub chosen: Option<(f64, f64)>,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
}

fn log(v: f64) -> Option<f64> {
    (v > 0.0 && v.is_finite()).then(|| v.log10())
}

pub fn allocation_chart(r: &Report) -> AllocationChart {
    let curve: Vec<(f64, f64)> = r
        .pareto
        .iter()
        .filter_map(|p| Some((p.bits_per_value, log(p.weighted_mse)?)))
        .collect();
    let uniform: Vec<(String, f64, f64)> = r
        .uniform
        .iter()
        .filter_map(|u| Some((u.candidate.clone(), u.bits_per_value, log(u.weighted_mse)?)))
        .collect();
    let chosen = log(r.total.weighted_mse).map(|y| (r.total.bits_per_value, y));
    let xs = curve
        .iter()
        .map(|p| p.0)
        .chain(uniform.iter().map(|u| u.1))
        .chain(chosen.map(|c| c.0));
    let ys = curve
        .iter()
        .map(|p| p.1)
        .chain(uniform.iter().map(|u| u.2))
        .chain(chosen.map(|c| c.1));
    let span = |it: &mut dyn Iterator<Item = f64>, pad: f64| {
        let (lo, hi) = it.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        if lo.is_finite() && hi > lo {
            (lo - pad * (hi - lo), hi + pad * (hi - lo))
        } else if lo.is_finite() {
            (lo - 1.0, lo + 1.0)
        } else {
            (0.0, 1.0)
        }
    };
    AllocationChart {
        x_range: span(&mut xs.clone(), 0.05),
        y_range: span(&mut ys.clone(), 0.08),
        curve,
        uniform,
        chosen,
    }
}

/// Draws `chart`; the map's x values are bits per value.
pub fn draw_allocation(
    canvas: web_sys::HtmlCanvasElement,
    chart: &AllocationChart,
    scale: Scale,
) -> Result<PixelMap, String> {
    let root = canvas_root(canvas)?;
    let (x0, x1) = chart.x_range;
    let (y0, y1) = chart.y_range;
    let mut cc = ChartBuilder::on(&root)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(34.0))
        .y_label_area_size(scale.px(60.0))
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| e.to_string())?;
    let font = super::text(scale.px(12.0));
    themed_mesh(&mut cc.configure_mesh(), &font)
        .x_desc("average bits per value (scales included)")
        .y_desc("weighted MSE")
        .x_labels(8)
        .y_labels(5)
        .x_label_formatter(&|v: &f64| format!("{v:.1}"))
        .y_label_formatter(&|v: &f64| crate::format::number(10f64.powf(*v), 2))
        .draw()
        .map_err(|e| e.to_string())?;
    cc.draw_series(LineSeries::new(
        chart.curve.iter().copied(),
        CURVE.stroke_width(scale.px(2.0)),
    ))
    .map_err(|e| e.to_string())?;
    cc.draw_series(
        chart
            .curve
            .iter()
            .map(|&p| Circle::new(p, scale.px(2.5), CURVE.filled())),
    )
    .map_err(|e| e.to_string())?;
    cc.draw_series(
        chart
            .uniform
            .iter()
            .map(|(_, x, y)| TriangleMarker::new((*x, *y), scale.px(5.0), UNIFORM.filled())),
    )
    .map_err(|e| e.to_string())?;
    // The legend and the assignment name every candidate; crowded labels give way.
    super::point_labels(
        &mut cc,
        chart.uniform.iter().map(|(n, x, y)| ((*x, *y), n.as_str())),
        &super::text(scale.px(10.0)),
        scale,
    )?;
    if let Some(c) = chart.chosen {
        cc.draw_series(std::iter::once(Circle::new(
            c,
            scale.px(6.0),
            CHOSEN.stroke_width(scale.px(2.5)),
        )))
        .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())?;
    let (px, _) = cc.plotting_area().get_pixel_range();
    Ok(pixel_map(px, (x0 as f32, x1 as f32), scale))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quantscope_core::allocate::{ParetoPoint, Totals, UniformPoint};

    #[test]
    fn the_chart_spans_every_point_and_logs_the_error() {
        let r = Report {
            budget: 4.5,
            candidates: vec!["a".into(), "b".into()],
            assignment: Vec::new(),
            total: Totals {
                bits_per_value: 4.4,
                weighted_mse: 1e-4,
                sqnr_db: 20.0,
            },
            slack_bits_per_value: 0.0,
            kept: Vec::new(),
            uniform: vec![
                UniformPoint {
                    candidate: "a".into(),
                    bits_per_value: 2.0,
                    weighted_mse: 1e-2,
                },
                UniformPoint {
                    candidate: "b".into(),
                    bits_per_value: 8.0,
                    weighted_mse: 0.0,
                },
            ],
            pareto: vec![
                ParetoPoint {
                    budget: 2.0,
                    bits_per_value: 2.0,
                    weighted_mse: 1e-2,
                },
                ParetoPoint {
                    budget: 8.0,
                    bits_per_value: 8.0,
                    weighted_mse: 1e-6,
                },
            ],
            tensor_types: Vec::new(),
            layers: Vec::new(),
            importance: None,
            size: None,
        };
        let c = allocation_chart(&r);
        assert_eq!(c.curve, vec![(2.0, -2.0), (8.0, -6.0)]);
        // A uniform choice with no error has no place on a log axis.
        assert_eq!(c.uniform, vec![("a".to_string(), 2.0, -2.0)]);
        assert_eq!(c.chosen, Some((4.4, -4.0)));
        assert!(c.x_range.0 < 2.0 && c.x_range.1 > 8.0);
        assert!(c.y_range.0 < -6.0 && c.y_range.1 > -2.0);
    }
}
