//! Two panes over one x axis, as the channel-ranges and batch-stream charts draw them: above, a
//! bar from min to max per item with dashed lines across (a shared range) and an optional shaded
//! span; below, SQNR lines over the same items.

use plotters::prelude::*;

use super::{canvas_root, pixel_map, themed_mesh, PixelMap, Scale};

/// What the two panes draw.
pub struct Panes<'a> {
    pub x_range: (f64, f64),
    pub x_desc: &'a str,
    /// The upper pane's y label, range and bars (x from, x to, min, max, colour).
    pub y_desc: &'a str,
    pub y_range: (f32, f32),
    pub bars: Vec<(f64, f64, f32, f32, RGBColor)>,
    /// Horizontal dashed lines across the upper pane: (y, colour, width in CSS px).
    pub lines: Vec<(f32, RGBColor, f64)>,
    /// A shaded x span of the upper pane.
    pub shade: Option<(f64, f64, RGBColor)>,
    /// The share of the height the upper pane takes, in twentieths.
    pub upper_twentieths: u32,
    /// The lower pane: its SQNR range and lines.
    pub sqnr_range: (f64, f64),
    pub series: Vec<Series<'a>>,
}

/// One line of the lower pane.
#[derive(Clone, Copy)]
pub struct Series<'a> {
    pub points: &'a [(f64, f64)],
    pub colour: RGBColor,
    /// In CSS px.
    pub width: f64,
    /// A dot at each point.
    pub dots: bool,
}

/// Draws `panes`; the map's x values are the shared axis's.
pub fn draw_panes(
    canvas: web_sys::HtmlCanvasElement,
    panes: &Panes,
    scale: Scale,
) -> Result<PixelMap, String> {
    let root = canvas_root(canvas)?;
    let (top, bottom) =
        root.split_vertically(root.dim_in_pixel().1 * panes.upper_twentieths.min(20) / 20);
    let font = super::text(scale.px(12.0));
    let (x0, x1) = panes.x_range;
    let (y0, y1) = panes.y_range;
    let mut cc = ChartBuilder::on(&top)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(20.0))
        .y_label_area_size(scale.px(56.0))
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| e.to_string())?;
    themed_mesh(&mut cc.configure_mesh(), &font)
        .disable_x_mesh()
        .y_desc(panes.y_desc)
        .x_labels(8)
        .y_labels(5)
        .x_label_formatter(&|v: &f64| format!("{}", v.round()))
        .y_label_formatter(&|v: &f32| super::axis_label(*v, super::span((y0, y1))))
        .draw()
        .map_err(|e| e.to_string())?;
    if let Some((a, b, colour)) = panes.shade {
        cc.draw_series(std::iter::once(Rectangle::new(
            [(a, y0), (b, y1)],
            colour.mix(0.3).filled(),
        )))
        .map_err(|e| e.to_string())?;
    }
    cc.draw_series(
        panes
            .bars
            .iter()
            .map(|&(a, b, lo, hi, colour)| Rectangle::new([(a, lo), (b, hi)], colour.filled())),
    )
    .map_err(|e| e.to_string())?;
    for &(y, colour, width) in &panes.lines {
        cc.draw_series(DashedLineSeries::new(
            vec![(x0, y), (x1, y)],
            scale.px(6.0),
            scale.px(4.0),
            colour.stroke_width(scale.px(width)),
        ))
        .map_err(|e| e.to_string())?;
    }
    let (s0, s1) = panes.sqnr_range;
    let mut lower = ChartBuilder::on(&bottom)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(34.0))
        .y_label_area_size(scale.px(56.0))
        .build_cartesian_2d(x0..x1, s0..s1)
        .map_err(|e| e.to_string())?;
    themed_mesh(&mut lower.configure_mesh(), &font)
        .disable_x_mesh()
        .x_desc(panes.x_desc)
        .y_desc("SQNR (dB)")
        .x_labels(8)
        .y_labels(4)
        .x_label_formatter(&|v: &f64| format!("{}", v.round()))
        .y_label_formatter(&|v: &f64| format!("{v:.0}"))
        .draw()
        .map_err(|e| e.to_string())?;
    for &Series {
        points,
        colour,
        width,
        dots,
    } in &panes.series
    {
        lower
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(scale.px(width)),
            ))
            .map_err(|e| e.to_string())?;
        if dots {
            lower
                .draw_series(
                    points
                        .iter()
                        .map(|&p| Circle::new(p, scale.px(2.5), colour.filled())),
                )
                .map_err(|e| e.to_string())?;
        }
    }
    root.present().map_err(|e| e.to_string())?;
    let (px, _) = cc.plotting_area().get_pixel_range();
    Ok(pixel_map(px, (x0 as f32, x1 as f32), scale))
}
