//! What an analysis is: the figures every view shows, the part one share of the values
//! contributes, and the exact merge of the parts. The integer format's fast path
//! ([`mod@crate::analyze`]) and the other formats' block plans ([`crate::plan`]) both produce these;
//! [`crate::run`] chooses between them. Nothing here imports either path, so neither imports the
//! other's entry points.
//!
//! ```text
//! analyze(d, c, o) = merge([analyze_share(d, c, o, Share { index: k, count: K }) for k in 0..K])
//! ```
//! Every share sees the whole dataset and calibrates the groups its values belong to (a per-tensor
//! calibration is computed by each share alike; it is deterministic), then runs the fused pass
//! over its own span of values only. The parts hold only sums and counts — error sums, code counts,
//! histogram counts, overflow and clipping counts — so merging adds them: codes and counts are
//! identical to a single pass, and the metrics' f64 sums differ only by the order of addition
//! (relative difference far below 10⁻⁹; a test checks it).
//!
//! A share's span is whole chunks (rows, groups, blocks) when there are at least as many chunks as
//! shares, otherwise an even split of the values (a per-tensor layout), aligned to the sub-vector
//! length of vector codebooks.

use serde::{Deserialize, Serialize};

use crate::affine::AffineParams;
use crate::config::{ConfigError, QuantizerConfig};
use crate::dataset::Summary;
use crate::granularity::{GroupLayout, LayoutError};
use crate::histogram::Histogram;
use crate::metrics::{ErrorAccumulator, Metrics};

/// Why a dataset cannot be analysed with a configuration.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AnalyzeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("share {} of {} does not exist", .0.index, .0.count)]
    Share(Share),
    #[error("{} has no block plan (it has a pass of its own)", .0.name())]
    NoPlan(crate::format::Format),
}

/// Presentation options that do not change the numbers.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnalysisOptions {
    /// Histogram bins.
    pub bins: usize,
    /// Which group's levels and thresholds to report (clamped to the last group).
    pub display_group: usize,
    /// Keep the work interactive (tens of milliseconds): learned codebooks are trained on a
    /// sample or a coarser summary, and a note says so. The CLI leaves this off.
    pub interactive: bool,
    /// Report every group's parameters in [`Analysis::groups`] (the CLI's JSON does); the page
    /// draws only the display group and leaves this off, so half a million groups are not sent
    /// to it on every change.
    pub all_groups: bool,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        Self {
            bins: 160,
            display_group: 0,
            interactive: false,
            all_groups: true,
        }
    }
}

/// The calibrated range and parameters of one tensor, channel or group.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupParams {
    /// The clipping range the formulas used, [min(α, 0), max(β, 0)] (symmetric: [−a, a]).
    pub clip: (f32, f32),
    pub params: AffineParams,
    /// What decoding adds after the scale: r̂ = e · S + offset for the block formats (a GGML
    /// block's minimum, −dmin · m or m; 0 for the others and for `int`, whose zero-point is in
    /// `params`).
    #[serde(default)]
    pub offset: f32,
}

/// Everything the views show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub config: QuantizerConfig,
    /// How many tensors, channels or groups have their own parameters.
    pub n_groups: usize,
    pub display_group: usize,
    /// The parameters of the display group.
    pub display: GroupParams,
    /// Every group's parameters, in group order, when [`AnalysisOptions::all_groups`] is set;
    /// empty otherwise.
    pub groups: Vec<GroupParams>,
    /// Reconstruction levels of the display group, ascending.
    #[serde(with = "crate::wire::f32s")]
    pub levels: Vec<f32>,
    /// Decision thresholds of the display group, ascending (levels.len() − 1 of them).
    #[serde(with = "crate::wire::f32s")]
    pub thresholds: Vec<f32>,
    /// Histogram of the finite inputs.
    pub input_hist: Histogram,
    /// Histogram of the reconstructions, over the same bins.
    pub output_hist: Histogram,
    pub metrics: crate::metrics::Metrics,
    pub summary: Summary,
    /// What a person should know about how the numbers were found (a codebook trained on a
    /// sample or a summary, a format ignoring the granularity, …).
    pub notes: Vec<String>,
    /// The 2-D view of a vector codebook (sub-vector length 2).
    pub vector: Option<VectorView>,
    /// How the display group's values are scaled and coded (formats other than `int`).
    pub display_block: Option<Block>,
    /// The shown group's (super-)block as stored, for the GGML types coded through their bytes.
    #[serde(default)]
    pub ggml_block: Option<crate::ggml::ShownBlock>,
    /// The display group's own values and reconstructions (per-channel and per-group layouts).
    #[serde(default)]
    pub group_hist: Option<crate::group_view::GroupHistograms>,
}

/// How one block maps values to elements and back.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// S for division, or 1/S when `multiply` is set.
    pub enc_scale: f32,
    pub multiply: bool,
    pub enc_offset: f32,
    pub dec_scale: f32,
    pub dec_offset: f32,
    /// Index into [`crate::plan::Plan::elements`].
    pub element: usize,
    /// The range the block's scale was derived from.
    pub clip: (f32, f32),
}

impl Block {
    #[inline]
    pub fn scaled(&self, r: f32) -> f32 {
        if self.multiply {
            (r - self.enc_offset) * self.enc_scale
        } else {
            (r - self.enc_offset) / self.enc_scale
        }
    }

    /// The real value at element-domain threshold `t`.
    pub(crate) fn real_from_scaled(&self, t: f32) -> f32 {
        if self.multiply {
            t / self.enc_scale + self.enc_offset
        } else {
            t * self.enc_scale + self.enc_offset
        }
    }

    #[inline]
    pub fn real_from_level(&self, level: f32) -> f32 {
        level * self.dec_scale + self.dec_offset
    }
}

/// The 2-D picture of a vector codebook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VectorView {
    pub centroids: Vec<[f32; 2]>,
    /// Up to 2,000 of the sub-vectors, evenly spaced through the tensor.
    pub sample: Vec<[f32; 2]>,
}

/// Codes and reconstruction of every value, for writing out.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantized {
    /// Integer codes; non-finite inputs get their group's zero-point.
    pub codes: Vec<i32>,
    /// r̂; non-finite inputs are passed through unchanged.
    pub dequantized: Vec<f32>,
    pub groups: Vec<GroupParams>,
    /// What each code stands for before the scale, where codes are unsigned indices or bit
    /// patterns of a table: `code_values[row · width + code]` with one row for every group (or a
    /// single row all groups share), NaN for codes with no value. Empty where the code is the
    /// number itself (`int`, fixed point, Q8_0, ternary) or an IEEE bit pattern (FP16, BF16).
    pub code_values: Vec<f32>,
    /// The row length of `code_values` (0 when empty).
    pub code_width: usize,
}

/// Part `index` of `count` equal parts of an analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub index: usize,
    pub count: usize,
}

impl Share {
    /// The whole analysis as one part.
    pub const WHOLE: Self = Self { index: 0, count: 1 };

    /// Whether `index < count`.
    pub fn is_valid(&self) -> bool {
        self.index < self.count
    }

    /// The values this share passes over (see the module docs); consecutive shares' spans
    /// partition 0..n. `align` > 1 keeps split points on multiples of it (sub-vectors).
    pub fn span(&self, layout: &GroupLayout, align: usize) -> std::ops::Range<usize> {
        let (k, count) = (self.index as u64, self.count.max(1) as u64);
        let n = layout.n as u64;
        let n_chunks = layout.n_chunks() as u64;
        let at = |units: u64, unit: u64, i: u64| ((units * i / count) * unit).min(n) as usize;
        if n_chunks >= count {
            let cl = layout.chunk_len.max(1) as u64;
            at(n_chunks, cl, k)..at(n_chunks, cl, k + 1)
        } else {
            let align = align.max(1) as u64;
            let units = n / align;
            let end = if k + 1 == count {
                layout.n
            } else {
                at(units, align, k + 1)
            };
            at(units, align, k)..end
        }
    }
}

/// What one share found: sums and counts that add up across shares, plus the display group's
/// parameters, levels and thresholds (the same in every share).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartialAnalysis {
    pub share: Share,
    pub config: QuantizerConfig,
    pub n_groups: usize,
    pub display_group: usize,
    pub display: GroupParams,
    #[serde(with = "crate::wire::f32s")]
    pub levels: Vec<f32>,
    #[serde(with = "crate::wire::f32s")]
    pub thresholds: Vec<f32>,
    /// The parameters of the groups whose first value lies in this share's span, in order
    /// (empty unless [`AnalysisOptions::all_groups`]).
    pub owned_groups: Vec<GroupParams>,
    /// Counts of this share's finite inputs over the common histogram range.
    pub input_hist: Histogram,
    /// Counts of this share's finite reconstructions over the same bins.
    pub output_hist: Histogram,
    pub acc: ErrorAccumulator,
    /// Occurrences of each code (format-specific numbering).
    #[serde(with = "crate::wire::u64s")]
    pub code_counts: Vec<u64>,
    pub bits_per_value: f64,
    pub summary: Summary,
    /// Notes about the method (the same text in every share where it applies).
    pub notes: Vec<String>,
    /// Owned groups whose clipping range is below the smallest scale (integer format).
    pub floored_groups: usize,
    /// Distinct values a code stands for, and the pairs of codes of one value (±0).
    pub levels_available: usize,
    pub twin_codes: Vec<(usize, usize)>,
    pub vector: Option<VectorView>,
    pub display_block: Option<Block>,
    #[serde(default)]
    pub ggml_block: Option<crate::ggml::ShownBlock>,
    /// The display group's histograms over this share's span (see [`crate::group_view`]).
    #[serde(default)]
    pub group_hist: Option<crate::group_view::GroupHistograms>,
}

/// Why parts cannot be merged into one analysis.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("no parts to merge")]
    Empty,
    #[error("part {index} of {count} is missing or repeated")]
    Parts { index: usize, count: usize },
    #[error("the parts were computed with different settings or histogram ranges")]
    Mismatch,
}

/// Adds the parts of one analysis into it. The parts may come in any order; each of
/// `0..count` must be there once, all with the same settings and histogram bins.
pub fn merge(mut parts: Vec<PartialAnalysis>) -> Result<Analysis, MergeError> {
    parts.sort_by_key(|p| p.share.index);
    let count = parts.first().ok_or(MergeError::Empty)?.share.count;
    let mut merger = Merger::new(count);
    for p in parts {
        merger.add(p)?;
    }
    merger.finish()
}

/// The parts of one analysis added as they come: in share order, a part that comes early waiting
/// for those before it, so the sums are added in the order [`merge`] adds them (the same figures
/// bit for bit) while only the early parts are held — a table's row of 16M values cut into
/// thousands of slices does not keep thousands of parts.
#[derive(Debug)]
pub struct Merger {
    count: usize,
    /// The next share to add, and the sum of those before it (with their notes).
    next: usize,
    sum: Option<(PartialAnalysis, Vec<String>)>,
    early: std::collections::BTreeMap<usize, PartialAnalysis>,
}

impl Merger {
    /// A merger of the shares `0..count`.
    pub fn new(count: usize) -> Self {
        Self {
            count,
            next: 0,
            sum: None,
            early: std::collections::BTreeMap::new(),
        }
    }

    /// Adds a part: refused if it is not one of this analysis's shares, came already, or was
    /// computed with other settings or histogram bins than the parts before it.
    pub fn add(&mut self, part: PartialAnalysis) -> Result<(), MergeError> {
        let Share { index, count } = part.share;
        if count != self.count
            || index >= count
            || index < self.next
            || self.early.contains_key(&index)
        {
            return Err(MergeError::Parts {
                index,
                count: self.count,
            });
        }
        let like = self
            .sum
            .as_ref()
            .map(|(s, _)| s)
            .or(self.early.values().next());
        if like.is_some_and(|first| !compatible(first, &part)) {
            return Err(MergeError::Mismatch);
        }
        self.early.insert(index, part);
        while let Some(part) = self.early.remove(&self.next) {
            match self.sum.as_mut() {
                None => {
                    let mut first = part;
                    let notes = std::mem::take(&mut first.notes);
                    self.sum = Some((first, notes));
                }
                Some((sum, notes)) => absorb(sum, notes, part),
            }
            self.next += 1;
        }
        Ok(())
    }

    /// Parts added so far.
    pub fn added(&self) -> usize {
        self.next + self.early.len()
    }

    /// Whether every part has come.
    pub fn is_complete(&self) -> bool {
        self.next == self.count && self.count > 0
    }

    /// The analysis of all the parts.
    pub fn finish(self) -> Result<Analysis, MergeError> {
        match self.sum {
            Some((sum, notes)) if self.next == self.count => Ok(conclude(sum, notes)),
            None if self.count == 0 || self.early.is_empty() && self.next == 0 => {
                Err(MergeError::Empty)
            }
            _ => Err(MergeError::Parts {
                index: self.next,
                count: self.count,
            }),
        }
    }
}

/// Whether two parts were computed with the same settings and histogram bins.
fn compatible(a: &PartialAnalysis, b: &PartialAnalysis) -> bool {
    let same_bins = |a: &Histogram, b: &Histogram| {
        a.lo == b.lo && a.hi == b.hi && a.counts.len() == b.counts.len()
    };
    a.config == b.config
        && same_bins(&a.input_hist, &b.input_hist)
        && same_bins(&a.output_hist, &b.output_hist)
        && a.code_counts.len() == b.code_counts.len()
        && match (&a.group_hist, &b.group_hist) {
            (Some(x), Some(y)) => x.same_bins(y),
            (None, None) => true,
            _ => false,
        }
}

/// Adds the sums and counts of `p` to those of `into` (notes gathered apart, once each).
fn absorb(into: &mut PartialAnalysis, notes: &mut Vec<String>, p: PartialAnalysis) {
    add(&mut into.input_hist.counts, &p.input_hist.counts);
    add(&mut into.output_hist.counts, &p.output_hist.counts);
    add(&mut into.code_counts, &p.code_counts);
    into.acc.merge(&p.acc);
    into.owned_groups.extend(p.owned_groups);
    into.floored_groups += p.floored_groups;
    if let (Some(to), Some(from)) = (into.group_hist.as_mut(), p.group_hist.as_ref()) {
        to.add(from);
    }
    for note in p.notes {
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
}

/// The analysis of the summed parts.
fn conclude(first: PartialAnalysis, mut notes: Vec<String>) -> Analysis {
    let metrics = Metrics::from_parts(&first.acc, &first.code_counts, first.bits_per_value)
        .counting_values(
            &first.code_counts,
            &first.twin_codes,
            first.levels_available,
        );
    let config = first.config;
    if let Some(note) = scale_floor_note(
        &config,
        first.n_groups,
        first.floored_groups,
        metrics.levels_used,
    ) {
        notes.push(note);
    }
    if metrics.overflowed > 0 {
        notes.push(overflow_note(
            &config,
            metrics.overflowed,
            first.summary.finite,
        ));
    }
    Analysis {
        config,
        n_groups: first.n_groups,
        display_group: first.display_group,
        display: first.display,
        groups: first.owned_groups,
        levels: first.levels,
        thresholds: first.thresholds,
        input_hist: first.input_hist,
        output_hist: first.output_hist,
        metrics,
        summary: first.summary,
        notes,
        vector: first.vector,
        display_block: first.display_block,
        ggml_block: first.ggml_block.clone(),
        group_hist: first.group_hist,
    }
}

fn add(into: &mut [u64], from: &[u64]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

/// The analysis of a single whole share.
pub(crate) fn merge_one(mut part: PartialAnalysis) -> Analysis {
    let notes = std::mem::take(&mut part.notes);
    conclude(part, notes)
}

/// What to say when clipping ranges are too narrow for the smallest scale: the scale is raised to
/// that floor, so the values use few levels — none but the zero-point when the range is far below
/// it. `floored` of `n_groups` groups are.
pub(crate) fn scale_floor_note(
    config: &QuantizerConfig,
    n_groups: usize,
    floored: usize,
    levels_used: usize,
) -> Option<String> {
    if floored == 0 || config.format != crate::format::Format::Int {
        return None;
    }
    let (qmin, qmax) = config.code_range();
    let which = if n_groups == 1 {
        "The clipping range is".to_string()
    } else {
        format!("{floored} of {n_groups} groups have a clipping range")
    };
    let effect = if levels_used <= 1 {
        "every value rounds to the zero-point, so the reconstruction is 0 (SQNR 0 dB)".to_string()
    } else {
        format!("only {levels_used} of {} levels are used", qmax - qmin + 1)
    };
    Some(format!(
        "{which} below the smallest scale, 2^-23 ≈ 1.19e-7 per step (PyTorch's floor, kept here): \
         {effect}. A power-of-two scale does not help (it only rounds up); fp8-e4m3, whose f32 \
         scale has no floor, or a bf16 cast keeps such small values"
    ))
}

/// Why `overflowed` of `finite` values have no finite reconstruction in `config`'s format.
pub(crate) fn overflow_note(config: &QuantizerConfig, overflowed: usize, finite: usize) -> String {
    let why = config.format.overflow_reason();
    format!(
        "{overflowed} of {finite} values overflow: {why}. Their error is unbounded, so MSE is \
         reported as ∞ and SQNR as −∞; the cosine describes the other values"
    )
}
