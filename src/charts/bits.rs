//! SQNR against bit width for the current settings, with the 6.02 dB-per-bit line through the
//! current width for reference.

use plotters::prelude::*;

use super::{canvas_root, pixel_map, PixelMap, Scale};

/// What the chart draws.
#[derive(Clone, Debug, PartialEq)]
pub struct BitsChart {
    /// (b, SQNR) of each width with a finite SQNR, ascending in b.
    pub points: Vec<(u8, f64)>,
    /// The current width and its SQNR (the reference line passes through it).
    pub current: Option<(u8, f64)>,
    pub y_range: (f64, f64),
    /// Label every n-th width (1 on a wide canvas; more where 16 labels would collide).
    pub label_every: u8,
}

/// 20·log10(2): what one more bit adds to the SQNR of a uniform quantizer whose range is fixed.
pub const DB_PER_BIT: f64 = 6.020_599_913_279_624;

impl BitsChart {
    /// The reference line's SQNR at width `b`.
    pub fn reference(&self, b: f64) -> Option<f64> {
        self.current
            .map(|(b0, s0)| s0 + DB_PER_BIT * (b - f64::from(b0)))
    }
}

/// The chart of `points` (b, SQNR, MSE) with the current width `bits` marked, for a canvas
/// `css_width` pixels wide.
pub fn bits_chart(points: &[(u8, f64, f64)], bits: u8, css_width: f64) -> BitsChart {
    let mut finite: Vec<(u8, f64)> = points
        .iter()
        .filter(|p| p.1.is_finite())
        .map(|p| (p.0, p.1))
        .collect();
    finite.sort_by_key(|p| p.0);
    let current = finite.iter().copied().find(|p| p.0 == bits);
    let lo = finite.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi = finite.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let y_range = if lo.is_finite() && hi > lo {
        let pad = (hi - lo) * 0.06;
        (lo - pad, hi + pad)
    } else if lo.is_finite() {
        (lo - 1.0, lo + 1.0)
    } else {
        (0.0, 1.0)
    };
    BitsChart {
        points: finite,
        current,
        y_range,
        label_every: if css_width < 600.0 { 3 } else { 1 },
    }
}

/// Draws `chart`; the returned map's x values are bit widths.
pub fn draw_bits(
    canvas: web_sys::HtmlCanvasElement,
    chart: &BitsChart,
    scale: Scale,
) -> Result<PixelMap, String> {
    let root = canvas_root(canvas)?;
    let (y0, y1) = chart.y_range;
    let every = chart.label_every.max(1);
    let mut cc = ChartBuilder::on(&root)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(34.0))
        .y_label_area_size(scale.px(52.0))
        .build_cartesian_2d(0.5f32..16.5f32, y0..y1)
        .map_err(|e| e.to_string())?;
    let font = super::text(scale.px(12.0));
    super::themed_mesh(&mut cc.configure_mesh(), &font)
        .disable_x_mesh()
        .x_desc("bit width b")
        .y_desc("SQNR (dB)")
        .x_labels(16)
        .y_labels(6)
        .x_label_formatter(&|v: &f32| {
            let b = v.round() as i32;
            if (b - 1) % i32::from(every) == 0 {
                b.to_string()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|v: &f64| format!("{v:.0}"))
        .draw()
        .map_err(|e| e.to_string())?;
    if let (Some(a), Some(b)) = (chart.reference(1.0), chart.reference(16.0)) {
        let grey = RGBColor(120, 120, 130).stroke_width(scale.px(1.5));
        cc.draw_series(DashedLineSeries::new(
            vec![(1.0f32, a), (16.0f32, b)],
            scale.px(6.0),
            scale.px(4.0),
            grey,
        ))
        .map_err(|e| e.to_string())?;
    }
    let blue = RGBColor(0, 114, 178);
    let line: Vec<(f32, f64)> = chart
        .points
        .iter()
        .map(|&(b, s)| (f32::from(b), s))
        .collect();
    cc.draw_series(LineSeries::new(
        line.clone(),
        blue.stroke_width(scale.px(2.0)),
    ))
    .map_err(|e| e.to_string())?;
    cc.draw_series(
        line.iter()
            .map(|&p| Circle::new(p, scale.px(3.0), blue.filled())),
    )
    .map_err(|e| e.to_string())?;
    if let Some((b, s)) = chart.current {
        cc.draw_series(std::iter::once(Circle::new(
            (f32::from(b), s),
            scale.px(6.0),
            RGBColor(213, 94, 0).stroke_width(scale.px(2.0)),
        )))
        .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())?;
    let (px, _) = cc.plotting_area().get_pixel_range();
    Ok(pixel_map(px, (0.5, 16.5), scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_sorted_infinite_left_out_and_the_line_has_its_slope() {
        let pts = [
            (3u8, 14.0, 0.1),
            (1, 2.0, 0.9),
            (2, 8.5, 0.3),
            (16, f64::INFINITY, 0.0),
        ];
        let c = bits_chart(&pts, 2, 800.0);
        assert_eq!(c.points, vec![(1, 2.0), (2, 8.5), (3, 14.0)]);
        assert_eq!(c.current, Some((2, 8.5)));
        let slope = c.reference(3.0).unwrap_or(0.0) - c.reference(2.0).unwrap_or(0.0);
        assert!((slope - 6.0206).abs() < 1e-4);
        assert!(c.y_range.0 < 2.0 && c.y_range.1 > 14.0);
        // A width not measured has no reference line.
        assert_eq!(bits_chart(&pts, 9, 800.0).reference(1.0), None);
        assert_eq!(bits_chart(&pts, 2, 340.0).label_every, 3);
    }
}
