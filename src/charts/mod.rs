//! Canvas charts. Each chart has a pure `*_chart` function that turns an [`Analysis`] into what is
//! drawn (tested natively) and a `draw_*` function that draws it with plotters on a canvas.
//!
//! [`Analysis`]: quantscope_core::Analysis

pub mod histogram;
pub mod pareto;
pub mod transfer;
pub mod voronoi;

/// Where the plotting area sits on the canvas, for mapping the pointer back to data values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PixelMap {
    /// Left and right pixel of the plotting area, in CSS pixels.
    pub x_px: (f64, f64),
    /// Data values at those pixels.
    pub x_range: (f32, f32),
}

impl PixelMap {
    /// The data value under CSS pixel `px` (clamped to the plotted range).
    pub fn value_at(&self, px: f64) -> f32 {
        let (p0, p1) = self.x_px;
        let t = if p1 > p0 {
            ((px - p0) / (p1 - p0)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (a, b) = self.x_range;
        (f64::from(a) + t * (f64::from(b) - f64::from(a))) as f32
    }

    /// The CSS pixel of data value `v`.
    pub fn pixel_of(&self, v: f32) -> f64 {
        let (a, b) = self.x_range;
        let t = if b > a {
            (f64::from(v) - f64::from(a)) / (f64::from(b) - f64::from(a))
        } else {
            0.0
        };
        self.x_px.0 + t * (self.x_px.1 - self.x_px.0)
    }
}

/// A white drawing area over the whole canvas.
pub fn canvas_root(
    canvas: web_sys::HtmlCanvasElement,
) -> Result<
    plotters::drawing::DrawingArea<plotters_canvas::CanvasBackend, plotters::coord::Shift>,
    String,
> {
    use plotters::prelude::*;
    let backend = plotters_canvas::CanvasBackend::with_canvas_object(canvas)
        .ok_or("no 2-D canvas context")?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    Ok(root)
}

/// Where a chart's plotting area landed, in CSS pixels, for pointer mapping.
pub fn pixel_map(px: std::ops::Range<i32>, x_range: (f32, f32), scale: Scale) -> PixelMap {
    PixelMap {
        x_px: (f64::from(px.start) / scale.0, f64::from(px.end) / scale.0),
        x_range,
    }
}

/// Smallest spacing, in CSS pixels, between two drawn threshold lines.
pub const MIN_THRESHOLD_SPACING_PX: f64 = 4.0;

/// Every `stride`-th threshold inside `range`, so that lines are at least
/// [`MIN_THRESHOLD_SPACING_PX`] apart on average over `plot_width_px`. Returns (drawn, stride, visible).
pub fn thin_thresholds(
    thresholds: &[f32],
    range: (f32, f32),
    plot_width_px: f64,
) -> (Vec<f32>, usize, usize) {
    let visible: Vec<f32> = thresholds
        .iter()
        .copied()
        .filter(|t| *t > range.0 && *t < range.1)
        .collect();
    let max_lines = (plot_width_px / MIN_THRESHOLD_SPACING_PX).max(1.0) as usize;
    let stride = visible.len().div_ceil(max_lines).max(1);
    let drawn = visible.iter().copied().step_by(stride).collect();
    (drawn, stride, visible.len())
}

/// An axis label; a value within a millionth of the axis span of 0 is 0 (not −1.4e−17, which
/// the float steps of a tick loop produce).
pub fn axis_label(v: f32, span: f32) -> String {
    let v = if v.abs() < span.abs() * 1e-6 { 0.0 } else { v };
    crate::format::number(f64::from(v), 3)
}

/// Sizes that scale with the device pixel ratio.
#[derive(Clone, Copy, Debug)]
pub struct Scale(pub f64);

impl Scale {
    pub fn px(&self, css_px: f64) -> u32 {
        (css_px * self.0).round().max(1.0) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_labels_snap_float_noise_to_zero() {
        assert_eq!(axis_label(-1.39e-17, 0.2), "0");
        assert_eq!(axis_label(0.05, 0.2), crate::format::number(0.05, 3));
    }

    #[test]
    fn pixel_map_round_trips() {
        let m = PixelMap {
            x_px: (50.0, 550.0),
            x_range: (-1.0, 1.0),
        };
        assert_eq!(m.value_at(300.0), 0.0);
        assert_eq!(m.value_at(0.0), -1.0);
        assert_eq!(m.value_at(1e9), 1.0);
        assert_eq!(m.pixel_of(0.5), 425.0);
    }

    #[test]
    fn thresholds_are_thinned_to_stay_legible() {
        let th: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        let (drawn, stride, visible) = thin_thresholds(&th, (-1.0, 2000.0), 400.0);
        assert_eq!(visible, 1000);
        assert_eq!(stride, 10);
        assert_eq!(drawn.len(), 100);
        let (drawn, stride, _) = thin_thresholds(&th[..15], (-1.0, 2000.0), 400.0);
        assert_eq!((drawn.len(), stride), (15, 1));
        let (_, _, visible) = thin_thresholds(&th, (10.0, 20.0), 400.0);
        assert_eq!(visible, 9);
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn thinning_keeps_lines_apart_and_in_order(n in 0usize..70_000, width in 50.0f64..3000.0) {
            let th: Vec<f32> = (0..n).map(|i| i as f32).collect();
            let (drawn, stride, visible) = super::thin_thresholds(&th, (-1.0, n as f32), width);
            prop_assert_eq!(visible, n);
            prop_assert!(drawn.len() as f64 <= width / super::MIN_THRESHOLD_SPACING_PX + 1.0);
            prop_assert_eq!(drawn.len(), n.div_ceil(stride));
            prop_assert!(drawn.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
