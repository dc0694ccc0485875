//! SQNR against bits per value for every format: each a point, the Pareto front joined up.

use plotters::prelude::*;
use quantscope_core::presets::Comparison;

use super::histogram::{INPUT_COLOR, OUTPUT_COLOR};
use super::{canvas_root, Scale};

/// What the Pareto chart draws.
#[derive(Clone, Debug, PartialEq)]
pub struct ParetoChart {
    /// (bits per value, SQNR dB, label, on the front, is the user's own row).
    pub points: Vec<(f64, f64, String, bool, bool)>,
    /// The front, by increasing bits per value.
    pub front: Vec<(f64, f64)>,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
}

/// The label of the user's own row in the comparison.
pub const YOURS: &str = "your settings";

/// Points with a finite SQNR (an exact reconstruction has +∞ and is left out of the picture).
pub fn pareto_chart(rows: &[Comparison]) -> ParetoChart {
    let points: Vec<(f64, f64, String, bool, bool)> = rows
        .iter()
        .filter(|r| r.sqnr_db.is_finite() && r.bits_per_value.is_finite())
        .map(|r| {
            (
                r.bits_per_value,
                r.sqnr_db,
                r.name.clone(),
                r.pareto,
                r.name == YOURS,
            )
        })
        .collect();
    let mut front: Vec<(f64, f64)> = points.iter().filter(|p| p.3).map(|p| (p.0, p.1)).collect();
    front.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for p in &points {
        x0 = x0.min(p.0);
        x1 = x1.max(p.0);
        y0 = y0.min(p.1);
        y1 = y1.max(p.1);
    }
    if points.is_empty() {
        (x0, x1, y0, y1) = (0.0, 16.0, 0.0, 60.0);
    }
    let (xp, yp) = (((x1 - x0) * 0.08).max(0.5), ((y1 - y0) * 0.1).max(2.0));
    ParetoChart {
        points,
        front,
        x_range: ((x0 - xp).max(0.0), x1 + xp),
        y_range: (y0 - yp, y1 + yp),
    }
}

/// Draws `chart` on `canvas`.
pub fn draw_pareto(
    canvas: web_sys::HtmlCanvasElement,
    chart: &ParetoChart,
    scale: Scale,
) -> Result<(), String> {
    let root = canvas_root(canvas)?;
    let (x0, x1) = chart.x_range;
    let (y0, y1) = chart.y_range;
    let mut cc = ChartBuilder::on(&root)
        .margin(scale.px(10.0))
        .x_label_area_size(scale.px(34.0))
        .y_label_area_size(scale.px(48.0))
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| e.to_string())?;
    let font = ("sans-serif", scale.px(12.0)).into_font();
    cc.configure_mesh()
        .x_desc("bits per value")
        .y_desc("SQNR (dB)")
        .label_style(font.clone())
        .axis_desc_style(font.clone())
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| e.to_string())?;
    cc.draw_series(LineSeries::new(
        chart.front.iter().copied(),
        OUTPUT_COLOR.stroke_width(scale.px(2.0)),
    ))
    .map_err(|e| e.to_string())?;
    let r = scale.px(4.0) as i32;
    let label_font = ("sans-serif", scale.px(11.0)).into_font();
    for (x, y, label, front, yours) in &chart.points {
        let color = if *yours {
            BLACK
        } else if *front {
            OUTPUT_COLOR
        } else {
            INPUT_COLOR
        };
        // Only the front and the user's point are labelled: the others crowd together.
        let text = if *front || *yours {
            label.clone()
        } else {
            String::new()
        };
        cc.draw_series(std::iter::once(
            EmptyElement::at((*x, *y))
                + Circle::new((0, 0), if *yours { r + 2 } else { r }, color.filled())
                + Text::new(text, (r + 2, -r - 2), label_font.clone().color(&color)),
        ))
        .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quantscope_core::QuantizerConfig;

    fn row(name: &str, bits: f64, sqnr: f64, pareto: bool) -> Comparison {
        Comparison {
            name: name.into(),
            config: QuantizerConfig::default(),
            bits_per_value: bits,
            mse: 0.0,
            sqnr_db: sqnr,
            pareto,
        }
    }

    #[test]
    fn front_and_range_come_from_the_rows() {
        let rows = [
            row("a", 4.0, 20.0, true),
            row("b", 4.5, 19.0, false),
            row("c", 8.0, 40.0, true),
            row(YOURS, 6.0, 30.0, true),
            row("exact", 16.0, f64::INFINITY, true),
        ];
        let c = pareto_chart(&rows);
        assert_eq!(c.points.len(), 4, "the +∞ row is left out");
        assert_eq!(c.front, vec![(4.0, 20.0), (6.0, 30.0), (8.0, 40.0)]);
        assert!(c.points.iter().any(|p| p.4 && p.2 == YOURS));
        assert!(c.x_range.0 < 4.0 && c.x_range.1 > 8.0);
        assert!(c.y_range.0 < 19.0 && c.y_range.1 > 40.0);
    }
}
