//! The model view's bar chart: each layer's share of the allocation's total squared error.

use plotters::prelude::*;
use quantscope_core::allocate::LayerError;

use super::{canvas_root, pixel_map, themed_mesh, PixelMap, Scale};

pub const BAR: RGBColor = RGBColor(0, 114, 178);
pub const OTHER: RGBColor = RGBColor(150, 150, 160);

/// One bar: its label, share of the total error (%), and whether it holds the unnumbered tensors.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub percent: f64,
    pub other: bool,
}

/// What the chart draws; bar k is centred on x = k (so the axis' whole-number ticks name bars).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerErrorChart {
    pub bars: Vec<Bar>,
    pub y_max: f64,
}

/// A bar's label: the block number, or "other" for the tensors outside the blocks.
pub fn label(l: &LayerError) -> String {
    l.layer
        .map_or_else(|| "other".to_string(), |k| k.to_string())
}

pub fn layer_error_chart(layers: &[LayerError]) -> LayerErrorChart {
    let bars: Vec<Bar> = layers
        .iter()
        .map(|l| Bar {
            label: label(l),
            percent: 100.0 * l.share,
            other: l.layer.is_none(),
        })
        .collect();
    let top = bars.iter().map(|b| b.percent).fold(0.0, f64::max);
    LayerErrorChart {
        bars,
        y_max: if top > 0.0 { top * 1.1 } else { 1.0 },
    }
}

/// The bar under data value `x` (the pixel map's x), if any.
pub fn bar_at(chart: &LayerErrorChart, x: f32) -> Option<usize> {
    (x >= -0.5)
        .then(|| (x + 0.5).floor() as usize)
        .filter(|&k| k < chart.bars.len())
}

/// Draws `chart`; the map's x values are bar positions.
pub fn draw_layer_errors(
    canvas: web_sys::HtmlCanvasElement,
    chart: &LayerErrorChart,
    scale: Scale,
) -> Result<PixelMap, String> {
    let root = canvas_root(canvas)?;
    let n = chart.bars.len().max(1) as f64;
    let mut cc = ChartBuilder::on(&root)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(34.0))
        .y_label_area_size(scale.px(48.0))
        .build_cartesian_2d(-0.5..n - 0.5, 0.0..chart.y_max)
        .map_err(|e| e.to_string())?;
    let font = super::text(scale.px(12.0));
    let labels = chart.bars.clone();
    themed_mesh(&mut cc.configure_mesh(), &font)
        .disable_x_mesh()
        .x_desc("layer (block number in the tensor names)")
        .y_desc("share of the total error (%)")
        .x_labels(chart.bars.len().min(24) + 1)
        .x_label_formatter(&move |v: &f64| {
            let k = v.round();
            if (v - k).abs() < 1e-6 && k >= 0.0 {
                labels
                    .get(k as usize)
                    .map(|b| b.label.clone())
                    .unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_labels(5)
        .y_label_formatter(&|v: &f64| format!("{v:.0}"))
        .draw()
        .map_err(|e| e.to_string())?;
    cc.draw_series(chart.bars.iter().enumerate().map(|(k, b)| {
        let x = k as f64;
        let colour = if b.other { OTHER } else { BAR };
        Rectangle::new([(x - 0.38, 0.0), (x + 0.38, b.percent)], colour.filled())
    }))
    .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    let (px, _) = cc.plotting_area().get_pixel_range();
    Ok(pixel_map(px, (-0.5, n as f32 - 0.5), scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(layer: Option<usize>, share: f64) -> LayerError {
        LayerError {
            layer,
            tensors: 1,
            n: 10,
            bits_per_value: 4.0,
            weighted_mse: share,
            share,
        }
    }

    #[test]
    fn bars_are_percent_shares_with_the_rest_last() {
        let c = layer_error_chart(&[layer(Some(0), 0.25), layer(Some(1), 0.5), layer(None, 0.25)]);
        let labels: Vec<&str> = c.bars.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["0", "1", "other"]);
        assert_eq!(c.bars[1].percent, 50.0);
        assert!(c.bars[2].other && !c.bars[0].other);
        assert!((c.y_max - 55.0).abs() < 1e-12);
        assert_eq!(
            (bar_at(&c, 1.3), bar_at(&c, 0.6), bar_at(&c, -0.4)),
            (Some(1), Some(1), Some(0))
        );
        assert_eq!((bar_at(&c, -0.6), bar_at(&c, 2.5)), (None, None));
        // No error anywhere: a proper axis, bars of 0.
        assert_eq!(layer_error_chart(&[layer(Some(0), 0.0)]).y_max, 1.0);
    }
}
