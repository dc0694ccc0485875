//! Error against the clipping range: for the current bits and scheme, the MSE of a sweep of
//! manual ranges (the fraction f of the data's range kept, on a log2 axis), split into its two
//! parts as stacked areas — rounding (values inside the range) below, clipping (values outside)
//! above — with each calibrator's choice and the current setting marked.
//!
//! Both axes are logarithmic (x: log2 f from 1/64 to 1; y: log10 MSE), drawn as linear axes of
//! the logarithms so the pointer maps back with [`PixelMap`].

use plotters::prelude::*;

use super::{canvas_root, pixel_map, PixelMap, Scale};
use crate::state::ClipPoint;

/// What the chart draws.
#[derive(Clone, Debug, PartialEq)]
pub struct ClipChart {
    /// (log2 f, log10 rounding part, log10 total) of each point with a finite positive MSE,
    /// ascending in f; the rounding part is floored at the axis bottom.
    pub points: Vec<(f64, f64, f64)>,
    /// (palette index, log2 f, log10 MSE) of each calibrator measured.
    pub marks: Vec<(usize, f64, f64)>,
    /// The current setting's (log2 f, log10 MSE).
    pub now: Option<(f64, f64)>,
    pub x_range: (f64, f64),
    /// log10 of the MSE axis's ends.
    pub y_range: (f64, f64),
}

/// log10 of a positive finite figure.
fn log(v: f64) -> Option<f64> {
    (v > 0.0 && v.is_finite()).then(|| v.log10())
}

/// The chart of `points` with `marks` (palette index, fraction kept, MSE) and the current
/// setting `now` (fraction, MSE).
pub fn clip_chart(
    points: &[ClipPoint],
    marks: &[(usize, f64, f64)],
    now: Option<(f64, f64)>,
) -> ClipChart {
    let totals: Vec<f64> = points.iter().filter_map(|p| log(p.mse)).collect();
    let top = totals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let low = totals.iter().copied().fold(f64::INFINITY, f64::min);
    // One decade below the least total keeps the rounding band readable where clipping takes
    // over, without letting a vanishing part stretch the axis.
    let y_range = if low.is_finite() {
        (low - 1.0, top.max(low) + 0.25)
    } else {
        (-1.0, 1.0)
    };
    let floor = |v: f64| log(v).map_or(y_range.0, |l| l.max(y_range.0));
    let mut pts: Vec<(f64, f64, f64)> = points
        .iter()
        .filter(|p| p.fraction > 0.0)
        .filter_map(|p| {
            let total = log(p.mse)?;
            let rounding = floor(p.mse - p.clipping_mse.max(0.0)).min(total);
            Some((p.fraction.log2(), rounding, total))
        })
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let on_axis = |(i, f, mse): (usize, f64, f64)| {
        (f > 0.0 && f.is_finite())
            .then(|| log(mse).map(|m| (i, f.log2(), m.clamp(y_range.0, y_range.1))))
            .flatten()
    };
    let marks = marks.iter().copied().filter_map(on_axis).collect();
    let now = now.and_then(|(f, mse)| on_axis((0, f, mse)).map(|(_, x, y)| (x, y)));
    ClipChart {
        points: pts,
        marks,
        now,
        x_range: (-6.25, 0.25),
        y_range,
    }
}

/// "1/8" for log2 f = −3, "1" for 0; "" between powers of two.
pub fn fraction_label(x: f64) -> String {
    let k = x.round();
    if (x - k).abs() > 1e-6 {
        return String::new();
    }
    if k >= 0.0 {
        "1".to_string()
    } else {
        format!("1/{}", 2f64.powf(-k) as u64)
    }
}

/// The rounding area's colour (blue) and the clipping area's (vermillion), the table's swatches.
pub const ROUNDING: RGBColor = RGBColor(0, 114, 178);
pub const CLIPPING: RGBColor = RGBColor(213, 94, 0);

/// Draws `chart`; `symmetric` names the x axis. The returned map's x values are log2 f.
pub fn draw_clips(
    canvas: web_sys::HtmlCanvasElement,
    chart: &ClipChart,
    symmetric: bool,
    scale: Scale,
) -> Result<PixelMap, String> {
    let root = canvas_root(canvas)?;
    let (x0, x1) = chart.x_range;
    let (y0, y1) = chart.y_range;
    let mut cc = ChartBuilder::on(&root)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(34.0))
        .y_label_area_size(scale.px(56.0))
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| e.to_string())?;
    let font = super::text(scale.px(12.0));
    let decades = (y1.floor() - y0.ceil()).max(1.0) as usize + 1;
    super::themed_mesh(&mut cc.configure_mesh(), &font)
        .x_desc(if symmetric {
            "clip bound β / max|x| (log)"
        } else {
            "clip width / min–max width (log)"
        })
        .y_desc("MSE (log scale)")
        .x_labels(7)
        .y_labels(decades.min(8))
        .x_label_formatter(&|v: &f64| fraction_label(*v))
        .y_label_formatter(&|v: &f64| {
            if (v - v.round()).abs() < 1e-6 {
                format!("1e{}", v.round())
            } else {
                String::new()
            }
        })
        .draw()
        .map_err(|e| e.to_string())?;
    let area = |top: Vec<(f64, f64)>, bottom: Vec<(f64, f64)>, colour: RGBColor| {
        let mut outline = top;
        outline.extend(bottom.into_iter().rev());
        Polygon::new(outline, colour.mix(0.35).filled())
    };
    let x_of = |p: &(f64, f64, f64)| p.0;
    let base: Vec<(f64, f64)> = chart.points.iter().map(|p| (x_of(p), y0)).collect();
    let rounding: Vec<(f64, f64)> = chart.points.iter().map(|p| (x_of(p), p.1)).collect();
    let total: Vec<(f64, f64)> = chart.points.iter().map(|p| (x_of(p), p.2)).collect();
    if chart.points.len() >= 2 {
        cc.draw_series(std::iter::once(area(rounding.clone(), base, ROUNDING)))
            .map_err(|e| e.to_string())?;
        cc.draw_series(std::iter::once(area(
            total.clone(),
            rounding.clone(),
            CLIPPING,
        )))
        .map_err(|e| e.to_string())?;
    }
    cc.draw_series(LineSeries::new(
        total,
        super::palette().fg.stroke_width(scale.px(2.0)),
    ))
    .map_err(|e| e.to_string())?;
    for &(i, x, y) in &chart.marks {
        let colour = super::calibrators::method_color(i);
        cc.draw_series(std::iter::once(Circle::new(
            (x, y),
            scale.px(5.0),
            colour.filled(),
        )))
        .map_err(|e| e.to_string())?;
    }
    if let Some((x, y)) = chart.now {
        cc.draw_series(std::iter::once(Circle::new(
            (x, y),
            scale.px(8.0),
            super::palette().fg.stroke_width(scale.px(2.0)),
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

    fn point(fraction: f64, mse: f64, clipping_mse: f64) -> ClipPoint {
        ClipPoint {
            fraction,
            clip: (-1.0, 1.0),
            mse,
            clipping_mse,
            sqnr_db: 0.0,
        }
    }

    #[test]
    fn the_parts_stack_to_the_total_on_log_axes() {
        let pts = [
            point(1.0, 0.01, 0.0),
            point(0.25, 0.5, 0.49),
            point(0.5, 0.02, 0.01),
            point(0.125, f64::INFINITY, 0.0),
        ];
        let c = clip_chart(&pts, &[(2, 0.5, 0.02), (1, 0.0, 1.0)], Some((1.0, 0.01)));
        // Sorted by f; the overflowed point left out.
        let xs: Vec<f64> = c.points.iter().map(|p| p.0).collect();
        assert_eq!(xs, vec![-2.0, -1.0, 0.0]);
        // Totals on the log axis; rounding = total − clipping.
        assert!((c.points[1].2 - 0.02f64.log10()).abs() < 1e-12);
        assert!((c.points[1].1 - 0.01f64.log10()).abs() < 1e-12);
        // No clipping: the rounding part is the whole.
        assert_eq!(c.points[2].1, c.points[2].2);
        // Nearly all clipping: the rounding part is 0.01, below the axis floor (0.01 is the least
        // total, floor one decade under it) it would be clamped; here it is just on it.
        assert!((c.points[0].1 - (-2.0)).abs() < 1e-9);
        assert_eq!(c.y_range.0, -3.0);
        // A mark at f = 0 has no place on a log axis.
        assert_eq!(c.marks, vec![(2, -1.0, 0.02f64.log10())]);
        assert_eq!(c.now, Some((0.0, -2.0)));
        assert_eq!(fraction_label(-3.0), "1/8");
        assert_eq!(fraction_label(0.0), "1");
        assert_eq!(fraction_label(-2.5), "");
    }
}
