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

/// A point of the drawn chart, in CSS pixels of the canvas, with what a hover tells about it.
#[derive(Clone, Debug, PartialEq)]
pub struct PointAt {
    pub x: f64,
    pub y: f64,
    pub text: String,
}

/// A label box in pixels: (left, top, right, bottom).
type LabelBox = (f64, f64, f64, f64);

fn overlaps(a: LabelBox, b: LabelBox) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Where each label goes: for each (point, label width, height) in priority order, the first of
/// four offsets around the point (right-up, right-down, left-up, left-down) whose box overlaps no
/// label placed before, no other point's marker and stays inside `area`; `None` when no offset is
/// free (that point is read by hovering instead).
pub fn place_labels(
    points: &[(f64, f64)],
    sizes: &[(f64, f64)],
    marker: f64,
    area: LabelBox,
) -> Vec<Option<(f64, f64)>> {
    let mut placed: Vec<LabelBox> = Vec::new();
    let markers: Vec<LabelBox> = points
        .iter()
        .map(|&(x, y)| (x - marker, y - marker, x + marker, y + marker))
        .collect();
    points
        .iter()
        .zip(sizes)
        .enumerate()
        .map(|(i, (&(x, y), &(w, h)))| {
            let gap = marker + 2.0;
            let candidates = [
                (x + gap, y - gap - h),
                (x + gap, y + gap),
                (x - gap - w, y - gap - h),
                (x - gap - w, y + gap),
            ];
            let free = candidates.into_iter().find(|&(l, t)| {
                let b = (l, t, l + w, t + h);
                b.0 >= area.0
                    && b.1 >= area.1
                    && b.2 <= area.2
                    && b.3 <= area.3
                    && !placed.iter().any(|&p| overlaps(p, b))
                    && !markers
                        .iter()
                        .enumerate()
                        .any(|(j, &m)| j != i && overlaps(m, b))
            });
            if let Some((l, t)) = free {
                placed.push((l, t, l + w, t + h));
            }
            free
        })
        .collect()
}

/// Draws `chart` on `canvas`; returns where each point was drawn (for hover readouts).
pub fn draw_pareto(
    canvas: web_sys::HtmlCanvasElement,
    chart: &ParetoChart,
    scale: Scale,
) -> Result<Vec<PointAt>, String> {
    let root = canvas_root(canvas)?;
    let (x0, x1) = chart.x_range;
    let (y0, y1) = chart.y_range;
    let mut cc = ChartBuilder::on(&root)
        .margin(scale.px(10.0))
        .x_label_area_size(scale.px(34.0))
        .y_label_area_size(scale.px(48.0))
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| e.to_string())?;
    let font = super::text(scale.px(12.0));
    super::themed_mesh(&mut cc.configure_mesh(), &font)
        .x_desc("bits per value")
        .y_desc("SQNR (dB)")
        .light_line_style(super::palette().faint)
        .draw()
        .map_err(|e| e.to_string())?;
    cc.draw_series(LineSeries::new(
        chart.front.iter().copied(),
        OUTPUT_COLOR.stroke_width(scale.px(2.0)),
    ))
    .map_err(|e| e.to_string())?;
    let r = scale.px(4.0) as i32;
    let label_px = scale.px(11.0);
    let label_font = super::text(label_px);
    let pixel = |x: f64, y: f64| {
        let (px, py) = cc.backend_coord(&(x, y));
        (f64::from(px), f64::from(py))
    };
    // Labels: the user's point first, then the front from left to right; the rest are read by
    // hovering. Widths are estimated (0.6 em per character) — plotters would measure them with
    // an inline-styled element, which the CSP blocks.
    let mut order: Vec<usize> = (0..chart.points.len())
        .filter(|&i| chart.points[i].3 || chart.points[i].4)
        .collect();
    order.sort_by(|&a, &b| {
        let (pa, pb) = (&chart.points[a], &chart.points[b]);
        pb.4.cmp(&pa.4).then(pa.0.total_cmp(&pb.0))
    });
    let centres: Vec<(f64, f64)> = chart.points.iter().map(|p| pixel(p.0, p.1)).collect();
    let labelled: Vec<(f64, f64)> = order.iter().map(|&i| centres[i]).collect();
    let sizes: Vec<(f64, f64)> = order
        .iter()
        .map(|&i| {
            let chars = chart.points[i].2.chars().count() as f64;
            (chars * f64::from(label_px) * 0.6, f64::from(label_px) * 1.2)
        })
        .collect();
    let (xs, ys) = cc.plotting_area().get_pixel_range();
    let area = (
        f64::from(xs.start),
        f64::from(ys.start),
        f64::from(xs.end),
        f64::from(ys.end),
    );
    let spots = place_labels(&labelled, &sizes, f64::from(r) + 1.0, area);
    for (i, (x, y, _, front, yours)) in chart.points.iter().enumerate() {
        let color = if *yours {
            super::palette().fg
        } else if *front {
            OUTPUT_COLOR
        } else {
            INPUT_COLOR
        };
        cc.draw_series(std::iter::once(Circle::new(
            (*x, *y),
            if *yours { r + 2 } else { r },
            color.filled(),
        )))
        .map_err(|e| e.to_string())?;
        if let Some(k) = order.iter().position(|&o| o == i) {
            if let Some((l, t)) = spots[k] {
                root.draw(&Text::new(
                    chart.points[i].2.clone(),
                    (l as i32, t as i32),
                    label_font.clone().color(&color),
                ))
                .map_err(|e| e.to_string())?;
            }
        }
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(chart
        .points
        .iter()
        .zip(&centres)
        .map(|(p, &(px, py))| PointAt {
            x: px / scale.0,
            y: py / scale.0,
            text: format!(
                "{}: {} bits per value, SQNR {} dB",
                p.2,
                crate::format::number(p.0, 4),
                crate::format::number(p.1, 5)
            ),
        })
        .collect())
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

    #[test]
    fn labels_never_overlap_and_crowded_ones_are_left_to_hover() {
        // Five points within a few pixels: the labels take free spots or none, never overlapping.
        let points = [
            (100.0, 100.0),
            (104.0, 102.0),
            (108.0, 99.0),
            (300.0, 50.0),
            (101.0, 140.0),
        ];
        let sizes = [(60.0, 13.0); 5];
        let area = (0.0, 0.0, 400.0, 200.0);
        let spots = place_labels(&points, &sizes, 5.0, area);
        let boxes: Vec<LabelBox> = spots
            .iter()
            .zip(&sizes)
            .filter_map(|(s, &(w, h))| s.map(|(l, t)| (l, t, l + w, t + h)))
            .collect();
        for (i, a) in boxes.iter().enumerate() {
            assert!(a.0 >= 0.0 && a.1 >= 0.0 && a.2 <= 400.0 && a.3 <= 200.0);
            for b in &boxes[i + 1..] {
                assert!(!overlaps(*a, *b), "{a:?} and {b:?}");
            }
        }
        // The lone point is labelled; the first of the crowd is too.
        assert!(spots[3].is_some() && spots[0].is_some());
        // Near the right edge the label goes to the left.
        let edge = place_labels(&[(395.0, 100.0)], &[(60.0, 13.0)], 5.0, area);
        assert!(edge[0].is_some_and(|(l, _)| l < 395.0));
    }
}
