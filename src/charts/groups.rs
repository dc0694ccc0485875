//! SQNR against bits per value (scale and zero-point storage included) for the current settings
//! per tensor, per channel and per group of each size: what a finer granularity buys and costs.

use plotters::prelude::*;

use super::{canvas_root, pixel_map, PixelMap, Scale};
use crate::state::GroupPoint;

pub const LINE: RGBColor = RGBColor(0, 114, 178);
pub const NOW: RGBColor = RGBColor(213, 94, 0);

/// What the chart draws.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupsChart {
    /// (bits per value, SQNR, label) from the coarsest granularity to the finest, finite only.
    pub points: Vec<(f64, f64, String)>,
    /// The current granularity's point.
    pub current: Option<(f64, f64)>,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
}

/// A point's short label: "tensor", "channel", "g32".
pub fn short_label(name: &str) -> String {
    if name.chars().all(|c| c.is_ascii_digit()) {
        format!("g{name}")
    } else {
        name.to_string()
    }
}

fn padded(lo: f64, hi: f64, frac: f64, min_span: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let span = (hi - lo).max(min_span);
    let mid = (lo + hi) / 2.0;
    (mid - span * (0.5 + frac), mid + span * (0.5 + frac))
}

/// The chart of `points` (sorted coarse to fine) with `current` (the current granularity's
/// name) marked.
pub fn groups_chart(points: &[GroupPoint], current: &str) -> GroupsChart {
    let finite: Vec<(f64, f64, String)> = points
        .iter()
        .filter(|p| p.sqnr_db.is_finite() && p.bits_per_value.is_finite())
        .map(|p| (p.bits_per_value, p.sqnr_db, short_label(&p.name)))
        .collect();
    let now = points
        .iter()
        .find(|p| p.name == current)
        .filter(|p| p.sqnr_db.is_finite())
        .map(|p| (p.bits_per_value, p.sqnr_db));
    let fold = |f: fn(&(f64, f64, String)) -> f64| {
        finite
            .iter()
            .map(f)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            })
    };
    let (x0, x1) = fold(|p| p.0);
    let (y0, y1) = fold(|p| p.1);
    GroupsChart {
        points: finite,
        current: now,
        x_range: padded(x0, x1, 0.12, 0.5),
        y_range: padded(y0, y1, 0.12, 2.0),
    }
}

/// Draws `chart`; the map's x values are bits per value.
pub fn draw_groups(
    canvas: web_sys::HtmlCanvasElement,
    chart: &GroupsChart,
    scale: Scale,
) -> Result<PixelMap, String> {
    let root = canvas_root(canvas)?;
    let (x0, x1) = chart.x_range;
    let (y0, y1) = chart.y_range;
    let mut cc = ChartBuilder::on(&root)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(34.0))
        .y_label_area_size(scale.px(52.0))
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| e.to_string())?;
    let font = super::text(scale.px(12.0));
    super::themed_mesh(&mut cc.configure_mesh(), &font)
        .x_desc("bits per value, scales included")
        .y_desc("SQNR (dB)")
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|v: &f64| format!("{v:.2}"))
        .y_label_formatter(&|v: &f64| format!("{v:.0}"))
        .draw()
        .map_err(|e| e.to_string())?;
    let line: Vec<(f64, f64)> = chart.points.iter().map(|p| (p.0, p.1)).collect();
    cc.draw_series(LineSeries::new(
        line.clone(),
        LINE.stroke_width(scale.px(2.0)),
    ))
    .map_err(|e| e.to_string())?;
    cc.draw_series(
        chart
            .points
            .iter()
            .map(|(x, y, _)| Circle::new((*x, *y), scale.px(3.5), LINE.filled())),
    )
    .map_err(|e| e.to_string())?;
    // Coarse granularities first: they keep their labels where points crowd.
    super::point_labels(
        &mut cc,
        chart.points.iter().map(|(x, y, l)| ((*x, *y), l.as_str())),
        &font,
        scale,
    )?;
    if let Some(p) = chart.current {
        cc.draw_series(std::iter::once(Circle::new(
            p,
            scale.px(7.0),
            NOW.stroke_width(scale.px(2.0)),
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

    #[test]
    fn points_labelled_infinite_left_out_current_found() {
        let p = |name: &str, span, b, s| GroupPoint {
            name: name.into(),
            span,
            bits_per_value: b,
            sqnr_db: s,
            mse: 0.0,
        };
        let pts = [
            p("tensor", 4096, 4.0, 10.0),
            p("channel", 64, 4.5, 15.0),
            p("32", 32, 5.0, f64::INFINITY),
            p("8", 8, 8.0, 22.0),
        ];
        let c = groups_chart(&pts, "channel");
        assert_eq!(
            c.points.iter().map(|p| p.2.as_str()).collect::<Vec<_>>(),
            ["tensor", "channel", "g8"]
        );
        assert_eq!(c.current, Some((4.5, 15.0)));
        assert!(c.x_range.0 < 4.0 && c.x_range.1 > 8.0);
        assert!(c.y_range.0 < 10.0 && c.y_range.1 > 22.0);
    }
}
