//! Static against dynamic ranges over a stream of batches: each batch's min…max with the static
//! range across them (the calibration batches shaded), and below, each batch's SQNR both ways.

use plotters::prelude::*;
use quantscope_core::study::StreamStudy;

use super::panes::{draw_panes, Panes, Series};
use super::{padded_range, PixelMap, Scale};

pub const STATIC: RGBColor = RGBColor(213, 94, 0);
pub const DYNAMIC: RGBColor = RGBColor(0, 114, 178);
pub const BATCH: RGBColor = RGBColor(86, 180, 233);
pub const CALIBRATION: RGBColor = RGBColor(240, 228, 66);

/// What the chart draws.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamChart {
    /// Per batch: (t, min, max).
    pub ranges: Vec<(f64, f32, f32)>,
    pub static_clip: (f32, f32),
    /// Batches 0..calibrate_on are the calibration set.
    pub calibrate_on: usize,
    pub batches: usize,
    /// (t, SQNR) of the batches with a finite one.
    pub static_sqnr: Vec<(f64, f64)>,
    pub dynamic_sqnr: Vec<(f64, f64)>,
    pub y_range: (f32, f32),
    pub sqnr_range: (f64, f64),
}

/// The chart of `study`.
pub fn stream_chart(study: &StreamStudy) -> StreamChart {
    let b = &study.batches;
    let ranges: Vec<_> = b
        .iter()
        .enumerate()
        .map(|(t, x)| (t as f64, x.min, x.max))
        .collect();
    let finite = |f: fn(&quantscope_core::study::StreamBatch) -> f64| -> Vec<(f64, f64)> {
        b.iter()
            .enumerate()
            .map(|(t, x)| (t as f64, f(x)))
            .filter(|p| p.1.is_finite())
            .collect()
    };
    let static_sqnr = finite(|x| x.static_sqnr_db);
    let dynamic_sqnr = finite(|x| x.dynamic_sqnr_db);
    let (s0, s1) = static_sqnr
        .iter()
        .chain(&dynamic_sqnr)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, c), p| {
            (a.min(p.1), c.max(p.1))
        });
    let sqnr_range = if s0.is_finite() && s1 > s0 {
        let pad = (s1 - s0) * 0.08;
        (s0 - pad, s1 + pad)
    } else if s0.is_finite() {
        (s0 - 1.0, s0 + 1.0)
    } else {
        (0.0, 1.0)
    };
    let lo = ranges
        .iter()
        .map(|r| r.1)
        .fold(study.static_clip.0, f32::min);
    let hi = ranges
        .iter()
        .map(|r| r.2)
        .fold(study.static_clip.1, f32::max);
    StreamChart {
        ranges,
        static_clip: study.static_clip,
        calibrate_on: study.spec.calibrate_on,
        batches: b.len(),
        static_sqnr,
        dynamic_sqnr,
        y_range: padded_range(lo, hi, 0.05),
        sqnr_range,
    }
}

/// Draws `chart`; the map's x values are batch indices.
pub fn draw_stream(
    canvas: web_sys::HtmlCanvasElement,
    chart: &StreamChart,
    scale: Scale,
) -> Result<PixelMap, String> {
    let x0 = -0.5;
    let panes = Panes {
        x_range: (x0, chart.batches as f64 - 0.5),
        x_desc: "batch",
        y_desc: "batch range",
        y_range: chart.y_range,
        bars: chart
            .ranges
            .iter()
            .map(|&(t, lo, hi)| (t - 0.35, t + 0.35, lo, hi, BATCH))
            .collect(),
        lines: [chart.static_clip.0, chart.static_clip.1]
            .map(|y| (y, STATIC, 2.0))
            .to_vec(),
        shade: Some((x0, chart.calibrate_on as f64 - 0.5, CALIBRATION)),
        upper_twentieths: 10,
        sqnr_range: chart.sqnr_range,
        series: [(&chart.static_sqnr, STATIC), (&chart.dynamic_sqnr, DYNAMIC)]
            .map(|(points, colour)| Series {
                points,
                colour,
                width: 2.0,
                dots: true,
            })
            .to_vec(),
    };
    draw_panes(canvas, &panes, scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quantscope_core::study::{StreamBatch, StreamSpec};

    #[test]
    fn ranges_and_both_series_with_the_static_range_in_view() {
        let batch = |min, max, s, d| StreamBatch {
            min,
            max,
            static_mse: 0.0,
            static_sqnr_db: s,
            static_clipped: 0.0,
            dynamic_clip: (min, max),
            dynamic_mse: 0.0,
            dynamic_sqnr_db: d,
        };
        let study = StreamStudy {
            spec: StreamSpec {
                batches: 3,
                calibrate_on: 1,
                drift: 1.0,
            },
            batch_len: 10,
            static_clip: (-1.0, 1.0),
            batches: vec![
                batch(-1.0, 1.0, 20.0, 20.0),
                batch(-2.0, 2.0, 8.0, f64::INFINITY),
                batch(-0.5, 3.0, 4.0, 19.0),
            ],
            range_ms: None,
            quantize_ms: None,
        };
        let c = stream_chart(&study);
        assert_eq!(c.ranges[2], (2.0, -0.5, 3.0));
        assert_eq!(c.static_sqnr, vec![(0.0, 20.0), (1.0, 8.0), (2.0, 4.0)]);
        assert_eq!(c.dynamic_sqnr, vec![(0.0, 20.0), (2.0, 19.0)]);
        assert!(c.y_range.0 < -2.0 && c.y_range.1 > 3.0);
        assert!(c.sqnr_range.0 < 4.0 && c.sqnr_range.1 > 20.0);
        assert_eq!((c.calibrate_on, c.batches), (1, 3));
    }
}
