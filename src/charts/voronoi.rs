//! The 2-D view of a vector codebook: sub-vectors as dots, centroids as crosses, and each
//! centroid's Voronoi cell (the inputs it wins) as a tinted region.

use plotters::prelude::*;
use quantscope_core::analysis::VectorView;

use super::{axis_label, canvas_root, Scale};

/// Cells per side of the raster the Voronoi regions are painted on.
pub const GRID: usize = 120;

/// What the Voronoi chart draws.
#[derive(Clone, Debug, PartialEq)]
pub struct VoronoiChart {
    pub x_range: (f32, f32),
    pub y_range: (f32, f32),
    /// GRID × GRID nearest-centroid indices, row by row from the bottom (y0) up.
    pub cells: Vec<u32>,
    pub points: Vec<[f32; 2]>,
    pub centroids: Vec<[f32; 2]>,
}

/// Lays out the view: the range covers the sample and the centroids with a 5 % margin.
pub fn voronoi_chart(view: &VectorView) -> VoronoiChart {
    let all = view.sample.iter().chain(&view.centroids);
    let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for p in all {
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        y0 = y0.min(p[1]);
        y1 = y1.max(p[1]);
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (-1.0, 1.0, -1.0, 1.0);
    }
    let (x0, x1) = super::padded_range(x0, x1, 0.05);
    let (y0, y1) = super::padded_range(y0, y1, 0.05);
    let mut cells = Vec::with_capacity(GRID * GRID);
    for j in 0..GRID {
        let y = super::lerp(y0, y1, (j as f64 + 0.5) / GRID as f64);
        for i in 0..GRID {
            let x = super::lerp(x0, x1, (i as f64 + 0.5) / GRID as f64);
            cells.push(nearest(&view.centroids, x, y));
        }
    }
    VoronoiChart {
        x_range: (x0, x1),
        y_range: (y0, y1),
        cells,
        points: view.sample.clone(),
        centroids: view.centroids.clone(),
    }
}

fn nearest(centroids: &[[f32; 2]], x: f32, y: f32) -> u32 {
    let mut best = (0u32, f64::INFINITY);
    for (k, c) in centroids.iter().enumerate() {
        // In f64: squared distances of large coordinates overflow f32.
        let (dx, dy) = (
            f64::from(c[0]) - f64::from(x),
            f64::from(c[1]) - f64::from(y),
        );
        let d = dx * dx + dy * dy;
        if d < best.1 {
            best = (k as u32, d);
        }
    }
    best.0
}

/// A light colour per cell index (golden-angle hues, so neighbours differ).
fn cell_color(k: u32) -> RGBColor {
    let h = (k as f64 * 137.508) % 360.0;
    let (s, l) = (0.55, 0.86);
    let c = (1.0 - (2.0 * l - 1.0_f64).abs()) * s;
    let x = c * (1.0 - ((h / 60.0) % 2.0 - 1.0).abs());
    let m = l - c / 2.0;
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let to = |v: f64| ((v + m) * 255.0).round() as u8;
    RGBColor(to(r), to(g), to(b))
}

/// Draws `chart` on `canvas`.
pub fn draw_voronoi(
    canvas: web_sys::HtmlCanvasElement,
    chart: &VoronoiChart,
    scale: Scale,
) -> Result<(), String> {
    let root = canvas_root(canvas)?;
    let (x0, x1) = chart.x_range;
    let (y0, y1) = chart.y_range;
    let mut cc = ChartBuilder::on(&root)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(30.0))
        .y_label_area_size(scale.px(52.0))
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| e.to_string())?;
    let font = super::text(scale.px(12.0));
    let at = |i: usize, j: usize| {
        (
            super::lerp(x0, x1, i as f64 / GRID as f64),
            super::lerp(y0, y1, j as f64 / GRID as f64),
        )
    };
    cc.draw_series(chart.cells.iter().enumerate().map(|(idx, &k)| {
        let (i, j) = (idx % GRID, idx / GRID);
        Rectangle::new([at(i, j), at(i + 1, j + 1)], cell_color(k).filled())
    }))
    .map_err(|e| e.to_string())?;
    super::themed_mesh(&mut cc.configure_mesh(), &font)
        .x_desc("first value of the pair")
        .y_desc("second value")
        .x_label_formatter(&|v: &f32| axis_label(*v, super::span((x0, x1))))
        .y_label_formatter(&|v: &f32| axis_label(*v, super::span((y0, y1))))
        .disable_mesh()
        .draw()
        .map_err(|e| e.to_string())?;
    let dot = scale.px(1.5) as i32;
    cc.draw_series(
        chart
            .points
            .iter()
            .map(|p| Circle::new((p[0], p[1]), dot, RGBColor(40, 70, 130).mix(0.5).filled())),
    )
    .map_err(|e| e.to_string())?;
    let arm = scale.px(5.0) as i32;
    cc.draw_series(chart.centroids.iter().map(|c| {
        Cross::new(
            (c[0], c[1]),
            arm,
            super::palette().fg.stroke_width(scale.px(2.0)),
        )
    }))
    .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_belong_to_the_nearest_centroid() {
        let view = VectorView {
            centroids: vec![[-1.0, 0.0], [1.0, 0.0]],
            sample: vec![[-2.0, -1.0], [2.0, 1.0]],
        };
        let c = voronoi_chart(&view);
        assert_eq!(c.cells.len(), GRID * GRID);
        // Left half of each row → centroid 0, right half → 1 (the boundary is x = 0).
        let row = &c.cells[..GRID];
        assert!(row[..GRID / 2].iter().all(|&k| k == 0));
        assert!(row[GRID / 2..].iter().all(|&k| k == 1));
        assert!(c.x_range.0 < -2.0 && c.x_range.1 > 2.0);
        assert_ne!(cell_color(0), cell_color(1));
    }
}
