//! Channel ranges (like AIMET's weight-range view): each band of channels' min…max as a bar along
//! the channel axis, the per-tensor range across it, the channels that set it in another colour;
//! below, each band's worst per-channel SQNR under each scale sharing compared.

use plotters::prelude::*;
use quantscope_core::study::ChannelStudy;

use super::{canvas_root, padded_range, pixel_map, PixelMap, Scale};

/// Band bars, the range lines and the setters.
pub const BAND: RGBColor = RGBColor(86, 180, 233);
pub const SETTER: RGBColor = RGBColor(213, 94, 0);
pub const TENSOR_RANGE: RGBColor = RGBColor(0, 0, 0);
/// The SQNR series, in order (per tensor first).
pub const SERIES: [RGBColor; 2] = [RGBColor(230, 159, 0), RGBColor(0, 114, 178)];

/// What the chart draws.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelsChart {
    /// Per band: (first channel, one past its last, min, max, holds a setter).
    pub bars: Vec<(f64, f64, f32, f32, bool)>,
    pub x_range: (f64, f64),
    pub y_range: (f32, f32),
    pub tensor_clip: (f32, f32),
    /// Per series: (band middle, worst SQNR) of the bands with a finite one.
    pub sqnr: Vec<Vec<(f64, f64)>>,
    pub sqnr_range: (f64, f64),
}

/// The chart of `study`.
pub fn channels_chart(study: &ChannelStudy) -> ChannelsChart {
    let bars: Vec<_> = study
        .bands
        .iter()
        .map(|b| {
            let setter = study
                .setters
                .iter()
                .any(|&c| (b.first..=b.last).contains(&c));
            (b.first as f64, (b.last + 1) as f64, b.min, b.max, setter)
        })
        .collect();
    let lo = study.min.min(study.tensor_clip.0);
    let hi = study.max.max(study.tensor_clip.1);
    let series = study.series.len();
    let sqnr: Vec<Vec<(f64, f64)>> = (0..series)
        .map(|s| {
            study
                .bands
                .iter()
                .filter_map(|b| {
                    let db = *b.worst_sqnr_db.get(s)?;
                    db.is_finite()
                        .then_some(((b.first + b.last + 1) as f64 / 2.0, db))
                })
                .collect()
        })
        .collect();
    let all = sqnr.iter().flatten().map(|p| p.1);
    let (s0, s1) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let sqnr_range = if s0.is_finite() && s1 > s0 {
        let pad = (s1 - s0) * 0.08;
        (s0 - pad, s1 + pad)
    } else if s0.is_finite() {
        (s0 - 1.0, s0 + 1.0)
    } else {
        (0.0, 1.0)
    };
    ChannelsChart {
        bars,
        x_range: (0.0, study.channels as f64),
        y_range: padded_range(lo, hi, 0.05),
        tensor_clip: study.tensor_clip,
        sqnr,
        sqnr_range,
    }
}

/// Draws `chart` (ranges above, SQNR below); the map's x values are channel indices.
pub fn draw_channels(
    canvas: web_sys::HtmlCanvasElement,
    chart: &ChannelsChart,
    scale: Scale,
) -> Result<PixelMap, String> {
    let root = canvas_root(canvas)?;
    let (top, bottom) = root.split_vertically(root.dim_in_pixel().1 * 11 / 20);
    let font = super::text(scale.px(12.0));
    let (x0, x1) = chart.x_range;
    let (y0, y1) = chart.y_range;
    let mut cc = ChartBuilder::on(&top)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(20.0))
        .y_label_area_size(scale.px(56.0))
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| e.to_string())?;
    cc.configure_mesh()
        .axis_style(super::palette().fg)
        .disable_x_mesh()
        .bold_line_style(super::palette().grid)
        .light_line_style(super::palette().bg)
        .y_desc("value")
        .label_style(font.clone())
        .axis_desc_style(font.clone())
        .x_labels(8)
        .y_labels(5)
        .x_label_formatter(&|v: &f64| format!("{}", v.round()))
        .y_label_formatter(&|v: &f32| super::axis_label(*v, super::span((y0, y1))))
        .draw()
        .map_err(|e| e.to_string())?;
    cc.draw_series(chart.bars.iter().map(|&(a, b, lo, hi, setter)| {
        let colour = if setter { SETTER } else { BAND };
        Rectangle::new([(a, lo), (b, hi)], colour.filled())
    }))
    .map_err(|e| e.to_string())?;
    for y in [chart.tensor_clip.0, chart.tensor_clip.1] {
        cc.draw_series(DashedLineSeries::new(
            vec![(x0, y), (x1, y)],
            scale.px(6.0),
            scale.px(4.0),
            TENSOR_RANGE.stroke_width(scale.px(1.5)),
        ))
        .map_err(|e| e.to_string())?;
    }
    let (s0, s1) = chart.sqnr_range;
    let mut lower = ChartBuilder::on(&bottom)
        .margin(scale.px(8.0))
        .x_label_area_size(scale.px(34.0))
        .y_label_area_size(scale.px(56.0))
        .build_cartesian_2d(x0..x1, s0..s1)
        .map_err(|e| e.to_string())?;
    lower
        .configure_mesh()
        .axis_style(super::palette().fg)
        .disable_x_mesh()
        .bold_line_style(super::palette().grid)
        .light_line_style(super::palette().bg)
        .x_desc("channel (row)")
        .y_desc("SQNR (dB)")
        .label_style(font.clone())
        .axis_desc_style(font)
        .x_labels(8)
        .y_labels(4)
        .x_label_formatter(&|v: &f64| format!("{}", v.round()))
        .y_label_formatter(&|v: &f64| format!("{v:.0}"))
        .draw()
        .map_err(|e| e.to_string())?;
    for (s, points) in chart.sqnr.iter().enumerate() {
        let colour = SERIES[s % SERIES.len()];
        lower
            .draw_series(LineSeries::new(
                points.clone(),
                colour.stroke_width(scale.px(1.5)),
            ))
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())?;
    let (px, _) = cc.plotting_area().get_pixel_range();
    Ok(pixel_map(px, (x0 as f32, x1 as f32), scale))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quantscope_core::study::Band;

    #[test]
    fn setters_are_marked_and_infinite_sqnr_left_out() {
        let band = |first, last, min, max, db: [f64; 2]| Band {
            first,
            last,
            min,
            max,
            worst_sqnr_db: db.to_vec(),
            worst_channel: vec![first, first],
        };
        let study = ChannelStudy {
            channels: 6,
            per_channel: 4,
            min: -1.0,
            max: 9.0,
            tensor_clip: (-1.0, 9.0),
            setters: vec![3],
            series: vec!["per tensor".into(), "per channel".into()],
            sqnr_db: vec![10.0, 20.0],
            bands: vec![
                band(0, 1, -1.0, 1.0, [5.0, 19.0]),
                band(2, 3, -0.5, 9.0, [14.0, f64::INFINITY]),
                band(4, 5, -0.2, 0.3, [2.0, 18.0]),
            ],
        };
        let c = channels_chart(&study);
        assert_eq!(c.bars[1], (2.0, 4.0, -0.5, 9.0, true));
        assert!(!c.bars[0].4 && !c.bars[2].4);
        assert_eq!(c.x_range, (0.0, 6.0));
        assert_eq!(c.sqnr[0], vec![(1.0, 5.0), (3.0, 14.0), (5.0, 2.0)]);
        assert_eq!(c.sqnr[1], vec![(1.0, 19.0), (5.0, 18.0)]);
        assert!(c.sqnr_range.0 < 2.0 && c.sqnr_range.1 > 19.0);
        assert!(c.y_range.0 < -1.0 && c.y_range.1 > 9.0);
    }
}
