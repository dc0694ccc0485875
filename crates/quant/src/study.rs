//! Studies of one tensor beyond the single analysis: where its channels' ranges lie and how much
//! each channel loses under a shared scale ([`channels`]), and static against dynamic ranges over
//! a stream of batches ([`stream`]). Both are measured on every value, with the core's own
//! quantizers, so their figures add up to the Error panel's.

use serde::{Deserialize, Serialize};

use crate::analysis::{AnalysisOptions, AnalyzeError};
use crate::config::{Calibration, Granularity, QuantizerConfig};
use crate::dataset::Dataset;
use crate::format::Format;
use crate::granularity::GroupLayout;
use crate::run::analyze;

/// Consecutive channels summarised as one (all of them when there are few).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// The channels `first..=last`.
    pub first: usize,
    pub last: usize,
    /// Smallest and largest finite value of these channels (NaN when none is finite).
    pub min: f32,
    pub max: f32,
    /// The worst channel's SQNR (dB) under each of [`ChannelStudy::series`], and that channel.
    pub worst_sqnr_db: Vec<f64>,
    pub worst_channel: Vec<usize>,
}

/// Per-channel ranges and errors of a tensor of two or more axes (channels along axis 0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelStudy {
    pub channels: usize,
    /// Values per channel.
    pub per_channel: usize,
    /// The tensor's finite min and max.
    pub min: f32,
    pub max: f32,
    /// The range a single per-tensor scale is calibrated on (the current calibration): what the
    /// channels share when they share a scale.
    pub tensor_clip: (f32, f32),
    /// The channels holding the tensor's extremes: they set a min–max per-tensor scale.
    pub setters: Vec<usize>,
    /// What each SQNR series quantizes with (e.g. "per tensor", "per channel").
    pub series: Vec<String>,
    /// The overall SQNR of each series (dB): equal to the analysis of that configuration.
    pub sqnr_db: Vec<f64>,
    pub bands: Vec<Band>,
}

/// The configurations a channel study compares: the integer format per tensor and per channel
/// (whichever the settings are, both), or the current settings alone for other formats.
pub fn channel_series(config: &QuantizerConfig) -> Vec<(String, QuantizerConfig)> {
    let with = |granularity| QuantizerConfig {
        granularity,
        ..config.clone()
    };
    match (config.format, config.granularity) {
        (Format::Int, Granularity::Group { size }) => vec![
            ("per tensor".into(), with(Granularity::Tensor)),
            (format!("per group of {size}"), config.clone()),
        ],
        (Format::Int, _) => vec![
            ("per tensor".into(), with(Granularity::Tensor)),
            ("per channel".into(), with(Granularity::Channel { axis: 0 })),
        ],
        (f, _) => vec![(f.name().to_string(), config.clone())],
    }
}

/// The channels `rows` of a channel study measured: what [`channels_from_parts`] needs of them.
/// Parts of disjoint row ranges covering every channel make the same study as [`channels`], bit
/// for bit, in any order (each channel's sums are taken within one part), so the page measures a
/// big tensor in slices a worker holds for a few milliseconds each ([`channel_slices`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelPart {
    /// The first channel measured here.
    pub first: usize,
    /// Per channel: Σx² of its finite values.
    pub signal: Vec<f64>,
    /// Per series of [`channel_series`], per channel: Σ(x − x̂)² of its finite values (infinite
    /// where a reconstruction is).
    pub noise: Vec<Vec<f64>>,
    /// Per channel: its finite (min, max), NaN where none is finite.
    pub ranges: Vec<(f32, f32)>,
    /// The per-tensor series' clipping range, where the study has one.
    pub tensor_clip: Option<(f32, f32)>,
}

/// Channels and values per channel of `shape`, or why it is not a matrix.
fn channel_shape(shape: &[usize]) -> Result<(usize, usize), StudyError> {
    if shape.len() < 2 || shape[0] < 2 {
        return Err(StudyError::NotMatrix(shape.to_vec()));
    }
    let n: usize = shape.iter().product();
    Ok((shape[0], n / shape[0]))
}

/// How many parts (of about equal row ranges) a channel study of `config` over `shape` goes in
/// so that each quantizes about `budget` values per series: 1 where a slice would redo work of
/// the whole tensor — a configuration that runs whole (its codebook or two-level scales need
/// every value) or groups that cycle through the rows (each slice would calibrate them all) —
/// and where one row alone is more than four budgets (a part would not be short).
pub fn channel_slices(config: &QuantizerConfig, shape: &[usize], budget: usize) -> usize {
    let Ok((channels, per_channel)) = channel_shape(shape) else {
        return 1;
    };
    let whole = channel_series(config).iter().any(|(_, cfg)| {
        crate::run::runs_whole(cfg, shape)
            || crate::plan::layout_for(cfg, shape).map_or(true, |l| !l.is_contiguous())
    });
    if whole || per_channel / 4 > budget {
        return 1;
    }
    let rows = (budget / per_channel.max(1)).max(1);
    channels.div_ceil(rows).max(1)
}

/// Part `index` of `count` consecutive, about equal parts of `0..len`: a channel study's rows
/// ([`channel_slices`]) or a stream study's batches ([`stream_slices`]).
pub fn part_range(len: usize, index: usize, count: usize) -> std::ops::Range<usize> {
    let count = count.max(1);
    let at = |k: usize| (len as u128 * k.min(count) as u128 / count as u128) as usize;
    at(index)..at(index + 1)
}

/// Measures the channels `rows` of `dataset` under [`channel_series`] of `config` (see
/// [`ChannelPart`]): each value quantized as [`quantize`] codes it, with only the groups of these
/// rows calibrated.
pub fn channels_part(
    dataset: &Dataset,
    config: &QuantizerConfig,
    rows: std::ops::Range<usize>,
) -> Result<ChannelPart, StudyError> {
    let (channels, per_channel) = channel_shape(dataset.shape())?;
    let rows = rows.start.min(channels)..rows.end.min(channels);
    let rows = rows.start..rows.end.max(rows.start);
    let span = rows.start * per_channel..rows.end * per_channel;
    let values = &dataset.values()[span.clone()];
    // Per channel: signal Σx² and, per series, noise Σ(x − x̂)² (finite inputs only, as the
    // metrics count them; an infinite reconstruction makes the noise infinite), each summed in
    // the order the quantizer visits the values (the same for a part as for the whole).
    let mut signal = Vec::with_capacity(rows.len());
    let mut ranges = Vec::with_capacity(rows.len());
    for row in values.chunks_exact(per_channel.max(1)) {
        signal.push(
            row.iter()
                .filter(|x| x.is_finite())
                .map(|&x| f64::from(x) * f64::from(x))
                .sum(),
        );
        ranges.push(crate::calib::finite_min_max(row).unwrap_or((f32::NAN, f32::NAN)));
    }
    let mut noise = Vec::new();
    let mut tensor_clip = None;
    for (_, cfg) in channel_series(config) {
        let mut sums = vec![0.0f64; rows.len()];
        let first = span.start;
        // The channel of the last value seen and where it ends: values mostly come in order.
        let (mut c, mut ends) = (0, first);
        let clip = crate::run::for_each_reconstructed(dataset, &cfg, span.clone(), |i, x, y| {
            if i >= ends || i + per_channel < ends {
                c = (i - first) / per_channel;
                ends = first + (c + 1) * per_channel;
            }
            let e = f64::from(x) - f64::from(y);
            if let Some(s) = sums.get_mut(c) {
                *s += e * e;
            }
        })?;
        if cfg.granularity == Granularity::Tensor {
            tensor_clip = tensor_clip.or(clip);
        }
        noise.push(sums);
    }
    Ok(ChannelPart {
        first: rows.start,
        signal,
        noise,
        ranges,
        tensor_clip,
    })
}

/// Measures every channel of `dataset` (axis 0) under [`channel_series`] of `config`, in at most
/// `max_bands` bands of consecutive channels (each keeps its extremes and its worst channel).
pub fn channels(
    dataset: &Dataset,
    config: &QuantizerConfig,
    max_bands: usize,
) -> Result<ChannelStudy, StudyError> {
    let (channels, _) = channel_shape(dataset.shape())?;
    let part = channels_part(dataset, config, 0..channels)?;
    let summary = dataset.summary();
    channels_from_parts(
        dataset.shape(),
        (summary.min, summary.max),
        config,
        max_bands,
        vec![part],
    )
}

/// The channel study from the parts of every channel (see [`ChannelPart`]), in any order, of a
/// tensor of `shape` whose finite (min, max) is `min_max` (what the page knows of the data).
pub fn channels_from_parts(
    shape: &[usize],
    min_max: (f32, f32),
    config: &QuantizerConfig,
    max_bands: usize,
    mut parts: Vec<ChannelPart>,
) -> Result<ChannelStudy, StudyError> {
    let (channels, per_channel) = channel_shape(shape)?;
    let series = channel_series(config);
    parts.sort_by_key(|p| p.first);
    let mut signal = Vec::with_capacity(channels);
    let mut noise = vec![Vec::with_capacity(channels); series.len()];
    let mut ranges = Vec::with_capacity(channels);
    let mut tensor_clip = None;
    for part in parts {
        let fits = part.first == signal.len()
            && part.noise.len() == series.len()
            && part.ranges.len() == part.signal.len()
            && part.noise.iter().all(|n| n.len() == part.signal.len());
        if !fits {
            return Err(StudyError::Parts {
                count: channels,
                at: signal.len(),
            });
        }
        signal.extend(part.signal);
        ranges.extend(part.ranges);
        for (all, n) in noise.iter_mut().zip(part.noise) {
            all.extend(n);
        }
        tensor_clip = tensor_clip.or(part.tensor_clip);
    }
    if signal.len() != channels {
        return Err(StudyError::Parts {
            count: channels,
            at: signal.len(),
        });
    }
    let tensor_clip = tensor_clip.unwrap_or(min_max);
    let sqnr = |sig: f64, err: f64| {
        if err.is_nan() || err == f64::INFINITY {
            f64::NEG_INFINITY
        } else if err == 0.0 {
            f64::INFINITY
        } else {
            10.0 * (sig / err).log10()
        }
    };
    let (min, max) = min_max;
    let mut setters: Vec<usize> = [
        ranges.iter().position(|r| r.0 == min),
        ranges.iter().position(|r| r.1 == max),
    ]
    .into_iter()
    .flatten()
    .collect();
    setters.sort_unstable();
    setters.dedup();
    let per_band = channels.div_ceil(max_bands.max(1));
    let bands = (0..channels)
        .step_by(per_band)
        .map(|first| {
            let last = (first + per_band).min(channels) - 1;
            let (lo, hi) = ranges[first..=last]
                .iter()
                .fold((f32::NAN, f32::NAN), |(lo, hi), r| {
                    (lo.min(r.0), hi.max(r.1))
                });
            let mut worst_sqnr_db = Vec::new();
            let mut worst_channel = Vec::new();
            for n in &noise {
                let (c, db) = (first..=last)
                    .map(|c| (c, sqnr(signal[c], n[c])))
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .unwrap_or((first, f64::NAN));
                worst_sqnr_db.push(db);
                worst_channel.push(c);
            }
            Band {
                first,
                last,
                min: lo,
                max: hi,
                worst_sqnr_db,
                worst_channel,
            }
        })
        .collect();
    let total_signal: f64 = signal.iter().sum();
    Ok(ChannelStudy {
        channels,
        per_channel,
        min,
        max,
        tensor_clip,
        setters,
        sqnr_db: noise
            .iter()
            .map(|n| sqnr(total_signal, n.iter().sum()))
            .collect(),
        series: series.into_iter().map(|(name, _)| name).collect(),
        bands,
    })
}

/// How a stream of batches is made from the data held.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamSpec {
    /// Batches: consecutive row blocks of the data (consecutive runs of values for 1-D data).
    pub batches: usize,
    /// The static range is calibrated once on the first `calibrate_on` batches.
    pub calibrate_on: usize,
    /// Batch t is scaled by e^(drift · t / (batches − 1)): activations whose range grows (0: the
    /// data as it is).
    pub drift: f64,
}

/// One batch under a static and a dynamic range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamBatch {
    /// The batch's own finite min and max (after the drift).
    pub min: f32,
    pub max: f32,
    pub static_mse: f64,
    pub static_sqnr_db: f64,
    /// Fraction of the batch's values outside the static range.
    pub static_clipped: f64,
    /// The range the batch's own calibration chose.
    pub dynamic_clip: (f32, f32),
    pub dynamic_mse: f64,
    pub dynamic_sqnr_db: f64,
}

/// Static against dynamic quantization of a stream of batches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamStudy {
    pub spec: StreamSpec,
    /// Values per batch.
    pub batch_len: usize,
    /// The static range (calibrated on the first batches, then fixed).
    pub static_clip: (f32, f32),
    pub batches: Vec<StreamBatch>,
    /// Milliseconds the dynamic ranges took to find (one calibration per batch) and the batches
    /// took to quantize, when the caller gave a clock.
    pub range_ms: Option<f64>,
    pub quantize_ms: Option<f64>,
}

/// Refusals of a study.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StudyError {
    #[error("channel ranges need a tensor of two or more axes with 2 or more rows (channels); this one is {0:?}")]
    NotMatrix(Vec<usize>),
    #[error(
        "static against dynamic ranges compares the integer format's clipping range; pick int"
    )]
    Format,
    #[error("{batches} batches need at least {batches} rows (or values), the data has {have}")]
    TooFew { batches: usize, have: usize },
    #[error("calibrate on 1 to {batches} batches, not {calibrate_on}")]
    CalibrateOn { batches: usize, calibrate_on: usize },
    #[error("drift must be a number from −5 to 5, got {0}")]
    Drift(f64),
    #[error(transparent)]
    Analyze(#[from] AnalyzeError),
    #[error("{0}")]
    Data(#[from] crate::dataset::DatasetError),
    #[error("the study's parts do not cover its {count} channels or batches once each (a gap or overlap at {at})")]
    Parts { count: usize, at: usize },
}

/// Quantizes `dataset` as a stream of batches (see [`StreamSpec`]) with the settings of `config`
/// per tensor: once with a range calibrated on the first batches and kept (static), once with
/// each batch's own range (dynamic). `now` (ms) times the two, when given.
pub fn stream(
    dataset: &Dataset,
    config: &QuantizerConfig,
    spec: StreamSpec,
    now: Option<&dyn Fn() -> f64>,
) -> Result<StreamStudy, StudyError> {
    let part = stream_part(dataset, config, spec, 0..spec.batches, None, now)?;
    stream_from_parts(spec, vec![part])
}

/// The batches `first..` of a stream study measured ([`stream_part`]); parts of every batch
/// make the same study as [`stream`] (each part calibrates the same static range on the first
/// batches, or is given the range a part found), whose timings are the parts' summed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamPart {
    pub first: usize,
    pub batch_len: usize,
    pub static_clip: (f32, f32),
    pub batches: Vec<StreamBatch>,
    pub range_ms: Option<f64>,
    pub quantize_ms: Option<f64>,
}

/// Values per batch of a stream under `spec` over data of `shape`, or why `spec` is refused.
fn stream_batch_len(
    config: &QuantizerConfig,
    shape: &[usize],
    spec: &StreamSpec,
) -> Result<usize, StudyError> {
    if config.format != Format::Int {
        return Err(StudyError::Format);
    }
    let n: usize = shape.iter().product();
    let units = if shape.len() >= 2 { shape[0] } else { n };
    let unit = n / units.max(1);
    let batches = spec.batches;
    if batches < 2 || batches > units {
        return Err(StudyError::TooFew {
            batches: batches.max(2),
            have: units,
        });
    }
    if spec.calibrate_on == 0 || spec.calibrate_on > batches {
        return Err(StudyError::CalibrateOn {
            batches,
            calibrate_on: spec.calibrate_on,
        });
    }
    if !spec.drift.is_finite() || spec.drift.abs() > 5.0 {
        return Err(StudyError::Drift(spec.drift));
    }
    // Equal batches of whole rows; rows left over at the end are not used.
    Ok(units / batches * unit)
}

/// How many parts (of about equal runs of batches) a stream study goes in so that each costs
/// about a plain pass over `budget` values: a batch costs about three (its range, its static
/// and its dynamic analysis). The first part also calibrates the static range, which the others
/// are then given (see [`stream_part`]). 1 where `spec` is refused (the one part says why).
pub fn stream_slices(
    config: &QuantizerConfig,
    shape: &[usize],
    spec: &StreamSpec,
    budget: usize,
) -> usize {
    let Ok(batch_len) = stream_batch_len(config, shape, spec) else {
        return 1;
    };
    let per_part = (budget / (3 * batch_len).max(1)).max(1);
    spec.batches.div_ceil(per_part).max(1)
}

/// Measures the batches `batches` of the stream study of `dataset` (see [`stream`] and
/// [`StreamPart`]); `static_clip`: the static range another part calibrated (`None`: this part
/// calibrates it on the first batches).
pub fn stream_part(
    dataset: &Dataset,
    config: &QuantizerConfig,
    spec: StreamSpec,
    batches: std::ops::Range<usize>,
    static_clip: Option<(f32, f32)>,
    now: Option<&dyn Fn() -> f64>,
) -> Result<StreamPart, StudyError> {
    let batch_len = stream_batch_len(config, dataset.shape(), &spec)?;
    let count = spec.batches;
    let batches = batches.start.min(count)..batches.end.min(count);
    let per_tensor = QuantizerConfig {
        granularity: Granularity::Tensor,
        ..config.clone()
    };
    let options = AnalysisOptions {
        bins: 8,
        all_groups: false,
        ..AnalysisOptions::default()
    };
    // Batch t scaled by its drift.
    let batch = |t: usize| -> Result<Dataset, StudyError> {
        let m = (spec.drift * t as f64 / (count - 1) as f64).exp() as f32;
        let chunk = &dataset.values()[t * batch_len..(t + 1) * batch_len];
        let values: Vec<f32> = chunk.iter().map(|&x| x * m).collect();
        Ok(Dataset::new(
            format!("batch {t}"),
            vec![values.len()],
            values,
        )?)
    };
    let static_clip = match static_clip {
        Some(clip) => clip,
        None => {
            let mut first = Vec::with_capacity(spec.calibrate_on * batch_len);
            for t in 0..spec.calibrate_on {
                first.extend_from_slice(batch(t)?.values());
            }
            let calibration_set = Dataset::new("calibration batches", vec![first.len()], first)?;
            analyze(&calibration_set, &per_tensor, &options)?
                .display
                .clip
        }
    };
    let fixed = QuantizerConfig {
        calibration: Calibration::Manual {
            lo: static_clip.0,
            hi: static_clip.1,
        },
        ..per_tensor.clone()
    };
    let scaled: Vec<Dataset> = batches.clone().map(batch).collect::<Result<_, _>>()?;
    // Timed as two loops over every batch, not summed per batch: one batch's pass can be
    // shorter than the clock's resolution (a worker's is 0.1 ms).
    let timed = |f: &mut dyn FnMut() -> Result<(), StudyError>| -> Result<Option<f64>, StudyError> {
        let t0 = now.map(|n| n());
        f()?;
        Ok(now.zip(t0).map(|(n, t0)| n() - t0))
    };
    let layout = GroupLayout::new(Granularity::Tensor, &[batch_len])
        .map_err(|e| StudyError::Analyze(e.into()))?;
    // What dynamic quantization adds at run time: finding each batch's range.
    let range_ms = timed(&mut || {
        for d in &scaled {
            let found = crate::analyze::calibrate_ranges(
                d.values(),
                &layout,
                &per_tensor,
                crate::analyze::Known::of(d),
                0..1,
            );
            std::hint::black_box(found);
        }
        Ok(())
    })?;
    let mut fixed_runs = Vec::with_capacity(scaled.len());
    let quantize_ms = timed(&mut || {
        for d in &scaled {
            fixed_runs.push(analyze(d, &fixed, &options)?);
        }
        Ok(())
    })?;
    let mut out = Vec::with_capacity(scaled.len());
    for (d, s) in scaled.iter().zip(fixed_runs) {
        let dynamic = analyze(d, &per_tensor, &options)?;
        out.push(StreamBatch {
            min: d.summary().min,
            max: d.summary().max,
            static_mse: s.metrics.mse,
            static_sqnr_db: s.metrics.sqnr_db,
            static_clipped: s.metrics.clipped_fraction,
            dynamic_clip: dynamic.display.clip,
            dynamic_mse: dynamic.metrics.mse,
            dynamic_sqnr_db: dynamic.metrics.sqnr_db,
        });
    }
    Ok(StreamPart {
        first: batches.start,
        batch_len,
        static_clip,
        batches: out,
        range_ms,
        quantize_ms,
    })
}

/// The stream study from the parts of every batch ([`StreamPart`]), in any order.
pub fn stream_from_parts(
    spec: StreamSpec,
    mut parts: Vec<StreamPart>,
) -> Result<StreamStudy, StudyError> {
    parts.sort_by_key(|p| p.first);
    let gap = |at| StudyError::Parts {
        count: spec.batches,
        at,
    };
    let (batch_len, static_clip) = match parts.first() {
        Some(p) => (p.batch_len, p.static_clip),
        None => return Err(gap(0)),
    };
    let mut batches = Vec::with_capacity(spec.batches);
    let (mut range_ms, mut quantize_ms) = (Some(0.0), Some(0.0));
    for part in parts {
        // Every part calibrated the same static range (bit for bit, or the parts are not one
        // study's).
        let same = (part.static_clip.0.to_bits(), part.static_clip.1.to_bits())
            == (static_clip.0.to_bits(), static_clip.1.to_bits());
        if part.first != batches.len() || part.batch_len != batch_len || !same {
            return Err(gap(batches.len()));
        }
        batches.extend(part.batches);
        range_ms = range_ms.zip(part.range_ms).map(|(a, b)| a + b);
        quantize_ms = quantize_ms.zip(part.quantize_ms).map(|(a, b)| a + b);
    }
    if batches.len() != spec.batches {
        return Err(gap(batches.len()));
    }
    Ok(StreamStudy {
        spec,
        batch_len,
        static_clip,
        batches,
        range_ms,
        quantize_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{generate, scale_rows, Distribution};

    /// A 64 × 256 normal matrix with rows spread like trained weights and one outlier in row 5.
    fn matrix() -> Dataset {
        let mut v = generate(Distribution::Normal, 64 * 256, 3).unwrap_or_default();
        let _ = scale_rows(&mut v, 256, 0.5, 3);
        v[5 * 256 + 17] = 40.0;
        v[9 * 256 + 1] = f32::NAN;
        Dataset::new("m", vec![64, 256], v).unwrap_or_else(|e| panic!("{e}"))
    }

    fn int4() -> QuantizerConfig {
        QuantizerConfig {
            bits: 4,
            ..QuantizerConfig::default()
        }
    }

    /// The study as it was first written: each series quantized whole with [`crate::quantize`]
    /// and every channel's error read from the dequantized tensor.
    fn channels_by_quantizing_whole(d: &Dataset, config: &QuantizerConfig) -> ChannelPart {
        let per = d.len() / d.shape()[0];
        let rows = || d.values().chunks_exact(per);
        let finite_sum = |it: &mut dyn Iterator<Item = f64>| it.sum::<f64>();
        let mut part = ChannelPart {
            first: 0,
            signal: rows()
                .map(|r| {
                    finite_sum(
                        &mut r
                            .iter()
                            .filter(|x| x.is_finite())
                            .map(|&x| f64::from(x) * f64::from(x)),
                    )
                })
                .collect(),
            noise: Vec::new(),
            ranges: rows()
                .map(|r| crate::calib::finite_min_max(r).unwrap_or((f32::NAN, f32::NAN)))
                .collect(),
            tensor_clip: None,
        };
        for (_, cfg) in channel_series(config) {
            let q = crate::quantize(d, &cfg).unwrap_or_else(|e| panic!("{e}"));
            if cfg.granularity == Granularity::Tensor {
                part.tensor_clip = q.groups.first().map(|g| g.clip);
            }
            let out = q.dequantized.chunks_exact(per);
            part.noise.push(
                rows()
                    .zip(out)
                    .map(|(r, o)| {
                        finite_sum(&mut r.iter().zip(o).filter(|(x, _)| x.is_finite()).map(
                            |(&x, &y)| {
                                let e = f64::from(x) - f64::from(y);
                                e * e
                            },
                        ))
                    })
                    .collect(),
            );
        }
        part
    }

    /// Measured in slices or whole, the study is the one a whole quantization gives, bit for bit:
    /// integer per tensor, per channel and in groups (search calibrators included), block formats
    /// (MX, NVFP4, GGML's bytes), a level table, a cast and a learned codebook (which runs
    /// whole), on data with NaN, ±Inf and a constant row.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn channel_parts_in_any_slicing_make_the_study_of_a_whole_quantization() {
        let mut d = matrix().values().to_vec();
        d[3 * 256 + 4] = f32::INFINITY;
        d[7 * 256 + 200] = f32::NEG_INFINITY;
        d[11 * 256..12 * 256].fill(0.25);
        let d = Dataset::new("m", vec![64, 256], d).unwrap_or_else(|e| panic!("{e}"));
        let preset =
            |name: &str| crate::presets::preset(name).unwrap_or_else(|| panic!("no preset {name}"));
        let mut configs = vec![
            int4(),
            QuantizerConfig {
                calibration: Calibration::Mse,
                ..int4()
            },
            QuantizerConfig {
                granularity: Granularity::Group { size: 32 },
                calibration: Calibration::Percentile { p: 99.0 },
                ..int4()
            },
            QuantizerConfig {
                format: Format::Fp8E4m3,
                ..QuantizerConfig::default()
            },
            QuantizerConfig {
                format: Format::Bf16,
                ..QuantizerConfig::default()
            },
            QuantizerConfig {
                format: Format::Kmeans,
                bits: 3,
                ..QuantizerConfig::default()
            },
        ];
        for name in ["int4-g32", "mxfp4", "nvfp4", "q4_0", "q4_k", "nf4"] {
            configs.push(preset(name));
        }
        // Two-level scales calibrated by a search: each part finds the tensor's bound itself.
        configs.push(QuantizerConfig {
            calibration: Calibration::Mse,
            ..preset("nvfp4")
        });
        assert!(channel_slices(&configs[configs.len() - 1], d.shape(), 1024) > 1);
        let min_max = (d.summary().min, d.summary().max);
        for config in &configs {
            let whole = channels(&d, config, 10).unwrap_or_else(|e| panic!("{e}"));
            let reference = channels_from_parts(
                d.shape(),
                (d.summary().min, d.summary().max),
                config,
                10,
                vec![channels_by_quantizing_whole(&d, config)],
            )
            .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                format!("{whole:?}"),
                format!("{reference:?}"),
                "{}",
                config.format.name()
            );
            for count in [2, 3, 7, 64] {
                let mut parts: Vec<ChannelPart> = (0..count)
                    .map(|k| channels_part(&d, config, part_range(64, k, count)))
                    .collect::<Result<_, _>>()
                    .unwrap_or_else(|e| panic!("{e}"));
                parts.reverse();
                let sliced = channels_from_parts(d.shape(), min_max, config, 10, parts)
                    .unwrap_or_else(|e| panic!("{e}"));
                // Debug text: NaN bands compare equal too.
                assert_eq!(format!("{sliced:?}"), format!("{whole:?}"), "{count} parts");
            }
        }
        // A missing or doubled part is refused, not merged.
        let part = |rows| channels_part(&d, &int4(), rows).unwrap_or_else(|e| panic!("{e}"));
        for parts in [
            vec![part(0..30)],
            vec![part(0..30), part(31..64)],
            vec![part(0..33), part(30..64)],
        ] {
            assert!(matches!(
                channels_from_parts(d.shape(), min_max, &int4(), 10, parts),
                Err(StudyError::Parts { count: 64, .. })
            ));
        }
    }

    /// A stream study in parts of batches is the study measured whole, bit for bit (each part
    /// calibrates the same static range), and a missing or doubled part is refused.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn stream_parts_make_the_whole_study() {
        let d = matrix();
        let mse = QuantizerConfig {
            calibration: Calibration::Mse,
            ..int4()
        };
        for (config, batches, calibrate_on, drift) in
            [(int4(), 8, 2, 1.5), (mse, 16, 1, -0.5), (int4(), 5, 5, 0.0)]
        {
            let spec = StreamSpec {
                batches,
                calibrate_on,
                drift,
            };
            let whole = stream(&d, &config, spec, None).unwrap_or_else(|e| panic!("{e}"));
            for count in [2, 3, batches] {
                // The first part calibrates; the others are given its range, or calibrate
                // again (the same bits).
                let given = Some(whole.static_clip).filter(|_| count % 2 == 0);
                let mut parts: Vec<StreamPart> = (0..count)
                    .map(|k| {
                        let run = part_range(batches, k, count);
                        stream_part(&d, &config, spec, run, given.filter(|_| k > 0), None)
                    })
                    .collect::<Result<_, _>>()
                    .unwrap_or_else(|e| panic!("{e}"));
                parts.rotate_left(1);
                let sliced = stream_from_parts(spec, parts).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(sliced, whole, "{count} parts of {batches}");
            }
            let part = |run| {
                stream_part(&d, &config, spec, run, None, None).unwrap_or_else(|e| panic!("{e}"))
            };
            for parts in [
                vec![part(0..1)],
                vec![part(1..batches)],
                vec![part(0..2), part(1..batches)],
            ] {
                assert!(matches!(
                    stream_from_parts(spec, parts),
                    Err(StudyError::Parts { .. })
                ));
            }
        }
        // A part says why a spec is refused, as the whole does.
        let bad = StreamSpec {
            batches: 8,
            calibrate_on: 9,
            drift: 0.0,
        };
        assert_eq!(
            stream_part(&d, &int4(), bad, 0..4, None, None).err(),
            stream(&d, &int4(), bad, None).err()
        );
        // Parts: about the budget's three passes a batch (64 rows of 256: batches of 8 rows,
        // 2,048 values).
        let spec = StreamSpec {
            batches: 8,
            calibrate_on: 2,
            drift: 1.0,
        };
        assert_eq!(stream_slices(&int4(), d.shape(), &spec, 3 * 2_048), 8);
        assert_eq!(stream_slices(&int4(), d.shape(), &spec, 3 * 2_048 * 4), 2);
        assert_eq!(stream_slices(&int4(), d.shape(), &spec, 1 << 30), 1);
        assert_eq!(stream_slices(&int4(), d.shape(), &bad, 10), 1);
    }

    /// Slices hold about the budget's values, whole rows, and never cut work that needs the
    /// whole tensor.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn channel_slices_follow_the_budget_and_keep_whole_work_whole() {
        let shape = [16384, 1024];
        assert_eq!(channel_slices(&int4(), &shape, 1 << 18), 64);
        assert_eq!(channel_slices(&int4(), &shape, 256), 16384);
        assert_eq!(channel_slices(&int4(), &[4, 1 << 20], 1 << 18), 4);
        assert_eq!(
            channel_slices(&int4(), &[4, 1 << 22], 1 << 18),
            1,
            "rows too long"
        );
        assert_eq!(channel_slices(&int4(), &[1 << 20], 1 << 18), 1);
        let learned = QuantizerConfig {
            format: Format::Kmeans,
            bits: 3,
            ..QuantizerConfig::default()
        };
        assert_eq!(channel_slices(&learned, &shape, 1 << 18), 1);
        // Channels of the inner axis cycle through every row.
        let columns = QuantizerConfig {
            format: Format::Fp8E4m3,
            granularity: Granularity::Channel { axis: 1 },
            ..QuantizerConfig::default()
        };
        assert_eq!(channel_slices(&columns, &shape, 1 << 18), 1);
        let rows: Vec<_> = (0..3).map(|k| part_range(10, k, 3)).collect();
        assert_eq!(rows, [0..3, 3..6, 6..10]);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn channel_errors_add_up_to_the_analysis_of_each_series() {
        let d = matrix();
        let study = channels(&d, &int4(), 1000).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((study.channels, study.per_channel), (64, 256));
        assert_eq!(study.series, ["per tensor", "per channel"]);
        assert_eq!(study.bands.len(), 64);
        for ((_, cfg), db) in channel_series(&int4()).iter().zip(&study.sqnr_db) {
            let a = analyze(&d, cfg, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                (a.metrics.sqnr_db - db).abs() < 1e-9,
                "{db} vs {}",
                a.metrics.sqnr_db
            );
        }
        // The outlier's row sets the per-tensor max, and sharing its scale hurts the others.
        assert!(study.setters.contains(&5), "{:?}", study.setters);
        assert!(study.setters.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(study.bands[5].max, 40.0);
        assert_eq!(study.tensor_clip.1, 40.0);
        let b = &study.bands[20];
        assert!(b.worst_sqnr_db[1] > b.worst_sqnr_db[0] + 10.0, "{b:?}");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn bands_keep_the_extremes_and_the_worst_channel() {
        let d = matrix();
        let all = channels(&d, &int4(), 1000).unwrap_or_else(|e| panic!("{e}"));
        let few = channels(&d, &int4(), 10).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(few.bands.len(), 10); // 7 channels a band, the last has 1
        assert_eq!((few.bands[9].first, few.bands[9].last), (63, 63));
        for b in &few.bands {
            let part = &all.bands[b.first..=b.last];
            let lo = part.iter().map(|p| p.min).fold(f32::INFINITY, f32::min);
            let hi = part.iter().map(|p| p.max).fold(f32::NEG_INFINITY, f32::max);
            assert_eq!((b.min, b.max), (lo, hi));
            for s in 0..2 {
                let worst = part
                    .iter()
                    .map(|p| p.worst_sqnr_db[s])
                    .fold(f64::INFINITY, f64::min);
                assert_eq!(b.worst_sqnr_db[s], worst);
                assert_eq!(all.bands[b.worst_channel[s]].worst_sqnr_db[s], worst);
            }
        }
        let flat = Dataset::from_vec("v", vec![1.0, 2.0, 3.0]).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            channels(&flat, &int4(), 10),
            Err(StudyError::NotMatrix(_))
        ));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn a_drifting_stream_clips_under_a_static_range_and_not_under_dynamic_ones() {
        let d = matrix();
        let spec = StreamSpec {
            batches: 8,
            calibrate_on: 2,
            drift: 1.0,
        };
        let s = stream(&d, &int4(), spec, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((s.batch_len, s.batches.len()), (8 * 256, 8));
        // The static range is min–max of the first two batches, as they were scaled.
        let m1 = (1.0f64 / 7.0).exp() as f32;
        let first: Vec<f32> = d.values()[..2048]
            .iter()
            .copied()
            .chain(d.values()[2048..4096].iter().map(|&x| x * m1))
            .collect();
        let (lo, hi) = crate::calib::finite_min_max(&first).unwrap_or_default();
        assert_eq!(s.static_clip, (lo.min(0.0), hi.max(0.0)));
        let last = &s.batches[7];
        assert!(last.static_clipped > 0.0);
        assert!(last.dynamic_sqnr_db > last.static_sqnr_db);
        // Each dynamic figure is the batch's own analysis.
        let values: Vec<f32> = d.values()[7 * 2048..8 * 2048]
            .iter()
            .map(|&x| x * 1.0f64.exp() as f32)
            .collect();
        let batch = Dataset::from_vec("b", values).unwrap_or_else(|e| panic!("{e}"));
        let own =
            analyze(&batch, &int4(), &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(last.dynamic_mse, own.metrics.mse);
        assert_eq!(
            (last.min, last.max),
            (batch.summary().min, batch.summary().max)
        );
        // Calibrated on every batch with no drift, the static range is min–max of the data
        // used and clips nothing.
        let whole = StreamSpec {
            batches: 8,
            calibrate_on: 8,
            drift: 0.0,
        };
        let s = stream(&d, &int4(), whole, None).unwrap_or_else(|e| panic!("{e}"));
        let (lo, hi) = (d.summary().min, d.summary().max);
        assert_eq!(s.static_clip, (lo, hi));
        assert!(s.batches.iter().all(|b| b.static_clipped == 0.0));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn stream_settings_are_checked() {
        let d = matrix();
        let spec = |batches, calibrate_on, drift| StreamSpec {
            batches,
            calibrate_on,
            drift,
        };
        let mx = QuantizerConfig {
            format: Format::Fp8E4m3,
            ..int4()
        };
        assert_eq!(
            stream(&d, &mx, spec(8, 1, 0.0), None),
            Err(StudyError::Format)
        );
        assert!(matches!(
            stream(&d, &int4(), spec(65, 1, 0.0), None),
            Err(StudyError::TooFew { .. })
        ));
        assert!(matches!(
            stream(&d, &int4(), spec(8, 9, 0.0), None),
            Err(StudyError::CalibrateOn { .. })
        ));
        assert!(matches!(
            stream(&d, &int4(), spec(8, 1, f64::NAN), None),
            Err(StudyError::Drift(_))
        ));
    }
}
