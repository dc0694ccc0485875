//! The number line: one row per format, a tick at every representable value in [−w, w].

use plotters::prelude::*;
use quantscope_core::numberline::{LineView, NumberLine};

use super::{axis_label, canvas_root, pixel_map, PixelMap, Scale};

/// Row colours (Okabe–Ito, colour-blind safe), one per format in the order drawn.
pub const ROW_COLOURS: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
];

/// The most ticks drawn per side of a row; beyond it every k-th value is drawn (and said).
pub const TICK_CAP: usize = 600;

/// The zoom: the half-width w of the window is 2^z for z in this range (2^−12 … 2^17: from well
/// inside FP8's subnormals to beyond FP16's largest value, 65,504).
pub const ZOOM_RANGE: (f64, f64) = (-12.0, 17.0);

/// One drawn row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub label: String,
    /// The row's view of the window (count, ticks, gaps), as the core computed it.
    pub view: LineView,
}

/// What the number line chart draws.
#[derive(Clone, Debug, PartialEq)]
pub struct NumberLineChart {
    /// Half-width w of the window [−w, w].
    pub half_width: f32,
    pub rows: Vec<Row>,
}

/// The half-width for zoom level `z` (log₂ w), kept inside [`ZOOM_RANGE`].
pub fn half_width(z: f64) -> f32 {
    z.clamp(ZOOM_RANGE.0, ZOOM_RANGE.1).exp2() as f32
}

/// Chart data for `lines` in [−w, w].
pub fn number_line_chart(lines: &[NumberLine], half_width: f32) -> NumberLineChart {
    NumberLineChart {
        half_width,
        rows: lines
            .iter()
            .map(|l| Row {
                label: format!("{}, {} bits", l.label, l.bits),
                view: l.view(half_width, TICK_CAP),
            })
            .collect(),
    }
}

/// Draws `chart` on `canvas`; the map turns the pointer back into a value.
pub fn draw_number_line(
    canvas: web_sys::HtmlCanvasElement,
    chart: &NumberLineChart,
    scale: Scale,
) -> Result<PixelMap, String> {
    let root = canvas_root(canvas)?;
    let w = chart.half_width;
    let n = chart.rows.len().max(1) as f32;
    let mut cc = ChartBuilder::on(&root)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(34.0))
        .y_label_area_size(scale.px(8.0))
        .build_cartesian_2d(-w..w, 0f32..n)
        .map_err(|e| e.to_string())?;
    let font = super::text(scale.px(12.0));
    super::themed_mesh(&mut cc.configure_mesh(), &font)
        .disable_y_mesh()
        .disable_y_axis()
        .x_desc("real value")
        .x_labels(7)
        .x_label_formatter(&|v: &f32| axis_label(*v, f64::from(2.0 * w)))
        .draw()
        .map_err(|e| e.to_string())?;
    let label_font = super::text(scale.px(12.0));
    for (i, row) in chart.rows.iter().enumerate() {
        // Row 0 at the top.
        let base = n - 1.0 - i as f32;
        let colour = ROW_COLOURS[i % ROW_COLOURS.len()];
        let style = colour.stroke_width(scale.px(1.0));
        let ticks = row
            .view
            .ticks
            .iter()
            .flat_map(|&t| [t, -t])
            .chain(std::iter::once(0.0));
        cc.draw_series(
            ticks.map(|t| PathElement::new(vec![(t, base + 0.12), (t, base + 0.62)], style)),
        )
        .map_err(|e| e.to_string())?;
        cc.draw_series(std::iter::once(Text::new(
            row.label.clone(),
            (-w, base + 0.93),
            label_font.clone(),
        )))
        .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())?;
    let (px, _) = cc.plotting_area().get_pixel_range();
    Ok(pixel_map(px, (-w, w), scale))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quantscope_core::Format;

    #[test]
    fn rows_carry_the_cores_views_and_the_zoom_is_clamped() {
        let lines: Vec<NumberLine> = [Format::Fp8E4m3, Format::Fixed]
            .iter()
            .map(|&f| NumberLine::of(f, 3, 4).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let chart = number_line_chart(&lines, half_width(0.0));
        assert_eq!(chart.half_width, 1.0);
        assert_eq!(chart.rows.len(), 2);
        assert_eq!(chart.rows[0].label, "FP8 E4M3, 8 bits");
        assert_eq!(chart.rows[1].view, lines[1].view(1.0, TICK_CAP));
        assert_eq!(half_width(40.0), 2f32.powi(17));
        assert_eq!(half_width(-40.0), 2f32.powi(-12));
    }
}
