//! Canvas charts. Each chart has a pure `*_chart` function that turns an [`Analysis`] into what is
//! drawn (tested natively) and a `draw_*` function that draws it with plotters on a canvas.
//!
//! [`Analysis`]: quantscope_core::Analysis

pub mod ab;
pub mod allocation;
pub mod bits;
pub mod calibrators;
pub mod channels;
pub mod clips;
pub mod groups;
pub mod histogram;
pub mod layer;
pub mod layer_errors;
pub mod number_line;
pub mod panes;
pub mod pareto;
pub mod stream;
pub mod transfer;
pub mod voronoi;

thread_local! {
    static DARK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Draws the charts that follow in the dark palette (`true`) or the light one.
pub fn set_dark(dark: bool) {
    DARK.with(|d| d.set(dark));
}

/// The theme's colours for what is not data: background, ink (axes, text, black series), grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Palette {
    pub bg: plotters::style::RGBColor,
    pub fg: plotters::style::RGBColor,
    pub grid: plotters::style::RGBColor,
    /// The faint minor grid.
    pub faint: plotters::style::RGBColor,
}

/// The current theme's [`Palette`] (the panels' background, so a chart sits in its panel).
pub fn palette() -> Palette {
    use plotters::style::RGBColor;
    if DARK.with(std::cell::Cell::get) {
        Palette {
            bg: RGBColor(28, 33, 41),
            fg: RGBColor(228, 232, 239),
            grid: RGBColor(58, 66, 80),
            faint: RGBColor(40, 46, 56),
        }
    } else {
        Palette {
            bg: RGBColor(255, 255, 255),
            fg: RGBColor(0, 0, 0),
            grid: RGBColor(225, 225, 232),
            faint: RGBColor(235, 235, 235),
        }
    }
}

/// Chart text of `px` pixels in the theme's ink.
pub fn text(px: u32) -> plotters::style::TextStyle<'static> {
    use plotters::style::IntoFont;
    ("sans-serif", px).into_font().color(&palette().fg)
}

/// A chart's mesh in the theme's colours: axes and labels in ink, the grid's major lines in the
/// grid colour, its minor lines hidden in the background, `font` for labels and axis titles.
pub fn themed_mesh<'m, 'a, 'b, X, Y, XT, YT, DB>(
    mesh: &'m mut plotters::chart::MeshStyle<'a, 'b, X, Y, DB>,
    font: &plotters::style::TextStyle<'b>,
) -> &'m mut plotters::chart::MeshStyle<'a, 'b, X, Y, DB>
where
    X: plotters::coord::ranged1d::Ranged<ValueType = XT>
        + plotters::coord::ranged1d::ValueFormatter<XT>,
    Y: plotters::coord::ranged1d::Ranged<ValueType = YT>
        + plotters::coord::ranged1d::ValueFormatter<YT>,
    DB: plotters::prelude::DrawingBackend,
{
    let p = palette();
    mesh.axis_style(p.fg)
        .bold_line_style(p.grid)
        .light_line_style(p.bg)
        .label_style(font.clone())
        .axis_desc_style(font.clone())
}

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
    root.fill(&palette().bg).map_err(|e| e.to_string())?;
    Ok(root)
}

/// A chart's plotting context over f64 × f64.
pub type F64Chart<'a> = plotters::chart::ChartContext<
    'a,
    plotters_canvas::CanvasBackend,
    plotters::coord::cartesian::Cartesian2d<
        plotters::coord::types::RangedCoordf64,
        plotters::coord::types::RangedCoordf64,
    >,
>;

/// Draws each point's label right of it, centred on it, where it does not overlap a label
/// already drawn (earlier points win): the views' tables and readouts name every point.
pub fn point_labels<'s>(
    cc: &mut F64Chart,
    points: impl IntoIterator<Item = ((f64, f64), &'s str)>,
    font: &plotters::style::TextStyle,
    scale: Scale,
) -> Result<(), String> {
    use plotters::prelude::*;
    let (char_w, line_h) = (f64::from(scale.px(7.0)), f64::from(scale.px(14.0)));
    let gap = scale.px(7.0);
    let right_edge = f64::from(cc.plotting_area().get_pixel_range().0.end);
    let mut taken: Vec<(f64, f64, f64, f64)> = Vec::new();
    for (at, label) in points {
        let (px, py) = cc.backend_coord(&at);
        let width = char_w * label.chars().count() as f64;
        // Right of the point, or left of it where the right would leave the plot.
        let dx = if f64::from(px) + f64::from(gap) + width > right_edge {
            -(f64::from(gap) + width)
        } else {
            f64::from(gap)
        };
        let (left, top) = (f64::from(px) + dx, f64::from(py) - line_h / 2.0);
        let bx = (left, top, left + width, top + line_h);
        if taken
            .iter()
            .any(|t| bx.0 < t.2 && t.0 < bx.2 && bx.1 < t.3 && t.1 < bx.3)
        {
            continue;
        }
        taken.push(bx);
        cc.draw_series(std::iter::once(
            EmptyElement::at(at)
                + Text::new(
                    label.to_string(),
                    (dx as i32, -(line_h as i32) / 2),
                    font.clone(),
                ),
        ))
        .map_err(|e| e.to_string())?;
    }
    Ok(())
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
/// the float steps of a tick loop produce). The span is an f64: that of [−f32::MAX, f32::MAX] is
/// not an f32.
pub fn axis_label(v: f32, span: f64) -> String {
    let v = if f64::from(v.abs()) < span.abs() * 1e-6 {
        0.0
    } else {
        v
    };
    crate::format::number(f64::from(v), 3)
}

/// The span of an axis range, in f64.
pub fn span(range: (f32, f32)) -> f64 {
    f64::from(range.1) - f64::from(range.0)
}

/// An axis range: [lo, hi] widened by `frac` of its span on each side, computed in f64 and kept
/// inside the finite f32 range; an empty, inverted or non-finite range is first made a proper one
/// as the histogram does ([`normalized_range`]). Every range a chart hands plotters comes from
/// here or from a histogram, so it is finite with lo < hi — plotters' tick search assumes that.
///
/// [`normalized_range`]: quantscope_core::histogram::normalized_range
pub fn padded_range(lo: f32, hi: f32, frac: f64) -> (f32, f32) {
    let (lo, hi) = quantscope_core::histogram::normalized_range(lo, hi);
    let pad = span((lo, hi)) * frac;
    let max = f64::from(f32::MAX);
    (
        (f64::from(lo) - pad).max(-max) as f32,
        (f64::from(hi) + pad).min(max) as f32,
    )
}

/// `a + t · (b − a)` in f64, as an f32 (no overflow for any finite a, b).
pub fn lerp(a: f32, b: f32, t: f64) -> f32 {
    (f64::from(a) + t * (f64::from(b) - f64::from(a))) as f32
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
        // The whole f32 line: labels are not all snapped to 0.
        assert_eq!(axis_label(1e38, span((-f32::MAX, f32::MAX))), "1e38");
    }

    #[test]
    fn padded_ranges_are_finite_and_proper() {
        assert_eq!(padded_range(0.0, 1.0, 0.25), (-0.25, 1.25));
        assert_eq!(padded_range(2.0, 2.0, 0.0), (1.5, 2.5));
        assert_eq!(
            padded_range(-f32::MAX, f32::MAX, 0.1),
            (-f32::MAX, f32::MAX)
        );
        let (a, b) = padded_range(0.0, 2e-41, 0.1);
        assert!(a < 0.0 && b > 2e-41);
        let (a, b) = padded_range(f32::NAN, f32::INFINITY, 0.1);
        assert!(a.is_finite() && b.is_finite() && a < b);
        assert_eq!(lerp(-f32::MAX, f32::MAX, 0.5), 0.0);
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
    use plotters::coord::ranged1d::Ranged;
    use plotters::coord::types::RangedCoordf32;
    use proptest::prelude::*;
    use quantscope_core::{
        analyze, AnalysisOptions, Calibration, Dataset, Format, Granularity, QuantizerConfig,
    };

    /// An f32 from every class: ±0, subnormals, normals of every exponent, ±f32::MAX, ±Inf, NaN.
    fn any_f32() -> impl Strategy<Value = f32> {
        prop_oneof![
            4 => any::<u32>().prop_map(f32::from_bits),
            2 => -10f32..10.0,
            1 => (0u32..0x0080_0000).prop_map(f32::from_bits),
            1 => prop_oneof![Just(0.0f32), Just(-0.0), Just(f32::MAX), Just(f32::MIN),
                             Just(f32::INFINITY), Just(f32::NAN), Just(f32::from_bits(1))],
        ]
    }

    /// What plotters needs of an axis: finite ends, lo < hi, a tick search that ends.
    fn check_axis(name: &str, (lo, hi): (f32, f32)) -> Result<(), TestCaseError> {
        prop_assert!(
            lo.is_finite() && hi.is_finite() && lo < hi,
            "{} [{}, {}]",
            name,
            lo,
            hi
        );
        let ticks = RangedCoordf32::from(lo..hi).key_points(7);
        prop_assert!(ticks.iter().all(|t| t.is_finite()), "{} ticks", name);
        prop_assert!(super::span((lo, hi)).is_finite());
        Ok(())
    }

    fn all_finite(name: &str, xs: impl IntoIterator<Item = f64>) -> Result<(), TestCaseError> {
        for x in xs {
            prop_assert!(x.is_finite(), "{}: {}", name, x);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Every chart-data function turns any analysis of arbitrary bit patterns into finite
        /// coordinates on proper axes.
        #[test]
        fn chart_data_of_odd_values_is_drawable(
            values in proptest::collection::vec(any_f32(), 1..64),
            format in proptest::sample::select(Format::ALL.to_vec()),
            per_group in any::<bool>(),
            calibration in prop_oneof![Just(Calibration::MinMax), Just(Calibration::Mse),
                                       Just(Calibration::Percentile { p: 99.0 })],
            bits in 1u8..=16,
            log_y in any::<bool>(),
        ) {
            prop_assume!(values.iter().any(|v| v.is_finite()));
            let n = values.len();
            let d = Dataset::new("t", vec![n], values).unwrap_or_else(|e| panic!("{e}"));
            let c = QuantizerConfig {
                format,
                bits,
                calibration,
                granularity: if per_group { Granularity::Group { size: 1 } } else { Granularity::Tensor },
                levels: 4,
                vector_dim: if format == Format::Kmeans && n % 2 == 0 && !per_group { 2 } else { 1 },
                ..Default::default()
            };
            let Ok(a) = analyze(&d, &c, &AnalysisOptions::default()) else {
                return Ok(());
            };
            let h = super::histogram::histogram_chart(&a, 600.0, log_y);
            check_axis("histogram x", h.x_range)?;
            all_finite("histogram bars", h.input.iter().chain(&h.output)
                .flat_map(|b| [f64::from(b.0), f64::from(b.1), b.2]))?;
            prop_assert!(h.input.iter().chain(&h.output).all(|b| b.0 <= b.1));
            prop_assert!(h.y_max.is_finite() && h.y_max >= 1.0);
            all_finite("thresholds", h.thresholds.iter().map(|&t| f64::from(t)))?;
            let t = super::transfer::transfer_chart(&a, 600.0);
            check_axis("transfer x", t.x_range)?;
            check_axis("transfer y", t.y_range)?;
            all_finite("steps", t.steps.iter().flat_map(|p| [f64::from(p.0), f64::from(p.1)]))?;
            if let Some(view) = &a.vector {
                let v = super::voronoi::voronoi_chart(view);
                check_axis("voronoi x", v.x_range)?;
                check_axis("voronoi y", v.y_range)?;
                prop_assert!(v.cells.iter().all(|&k| (k as usize) < view.centroids.len().max(1)));
            }
            let map = super::PixelMap { x_px: (50.0, 650.0), x_range: h.x_range };
            for px in [0.0, 50.0, 300.0, 650.0, 1e9] {
                prop_assert!(map.value_at(px).is_finite());
            }
            prop_assert!(map.pixel_of(h.x_range.1).is_finite());
        }
    }

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
