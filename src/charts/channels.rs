//! Channel ranges (like AIMET's weight-range view): each band of channels' min…max as a bar along
//! the channel axis, the per-tensor range across it, the channels that set it in another colour;
//! below, each band's worst per-channel SQNR under each scale sharing compared.

use plotters::prelude::*;
use quantscope_core::study::ChannelStudy;

use super::panes::{draw_panes, Panes, Series};
use super::{padded_range, palette, PixelMap, Scale};

/// Band bars and the setters (the range lines are in the theme's ink).
pub const BAND: RGBColor = RGBColor(86, 180, 233);
pub const SETTER: RGBColor = RGBColor(213, 94, 0);
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
    let panes = Panes {
        x_range: chart.x_range,
        x_desc: "channel (row)",
        y_desc: "value",
        y_range: chart.y_range,
        bars: chart
            .bars
            .iter()
            .map(|&(a, b, lo, hi, setter)| (a, b, lo, hi, if setter { SETTER } else { BAND }))
            .collect(),
        lines: [chart.tensor_clip.0, chart.tensor_clip.1]
            .map(|y| (y, palette().fg, 1.5))
            .to_vec(),
        shade: None,
        upper_twentieths: 11,
        sqnr_range: chart.sqnr_range,
        series: chart
            .sqnr
            .iter()
            .enumerate()
            .map(|(s, points)| Series {
                points,
                colour: SERIES[s % SERIES.len()],
                width: 1.5,
                dots: false,
            })
            .collect(),
    };
    draw_panes(canvas, &panes, scale)
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
