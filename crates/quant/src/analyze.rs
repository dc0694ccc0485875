//! The integer format's fast path: quantize a dataset, measure it and bin it in one fused pass
//! (the other formats go through [`crate::plan`]; [`crate::run`] chooses).
//!
//! ```text
//! analyze(dataset, config, options) → Analysis
//!   1. lay out the groups (granularity) and calibrate each group's [α, β]
//!   2. derive each group's (S, Z)
//!   3. one pass over the values: q = Q(r), r̂ = S(q − Z), accumulate the metrics, count the codes,
//!      bin r and r̂ into histograms over the same edges
//! ```
//! Non-finite values are counted in the dataset summary and skipped by every step. The work can be
//! split across workers and merged exactly: see [`crate::analysis`]; [`crate::analyze()`] is one
//! share. The calibration helpers here (ranges per group, the histogram range) serve both paths.

use crate::affine::{max_nan_last, min_nan_last, stochastic_noise, AffineParams};
use crate::analysis::{
    merge_one, Analysis, AnalysisOptions, AnalyzeError, GroupParams, PartialAnalysis, Quantized,
    Share,
};
use crate::block::{stored_scale, tensor_scale, ElementRange, ScaleFormat};
use crate::calib::{clip_range, clip_range_known, finite_min_max};
use crate::config::{QuantizerConfig, Rounding, Scheme};
use crate::dataset::{Dataset, Summary};
use crate::granularity::GroupLayout;
use crate::histogram::Histogram;
use crate::metrics::{bits_per_value, ErrorAccumulator, LANES};

/// Largest per-group code table (entries of u32) the fused pass keeps: 4 MiB.
const MAX_CODE_TABLE: usize = 1 << 20;

/// Calibrated parameters of the consecutive groups `first..first + params.len()`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct GroupTable {
    pub first: usize,
    pub params: Vec<GroupParams>,
}

impl GroupTable {
    /// The parameters of group `g` (which the table holds).
    #[inline]
    pub fn get(&self, g: usize) -> GroupParams {
        self.params[g - self.first]
    }

    pub fn groups(&self) -> std::ops::Range<usize> {
        self.first..self.first + self.params.len()
    }
}

/// What a calibration may reuse of the tensor it calibrates.
#[derive(Clone, Copy, Debug, Default)]
pub struct Known<'a> {
    /// The finite (min, max) of the whole tensor (a [`Dataset`]'s summary): it saves a pass for a
    /// per-tensor calibration.
    pub min_max: Option<(f32, f32)>,
    /// The dataset the values are, whose memo keeps the whole-tensor ranges of the costly
    /// calibrators ([`Dataset::tensor_range`]).
    pub dataset: Option<&'a Dataset>,
}

impl<'a> Known<'a> {
    /// Nothing known: every calibration reads the values.
    pub const NOTHING: Known<'static> = Known {
        min_max: None,
        dataset: None,
    };

    /// Everything `dataset` knows of its values.
    pub fn of(dataset: &'a Dataset) -> Self {
        let s = dataset.summary();
        Self {
            min_max: Some((s.min, s.max)),
            dataset: Some(dataset),
        }
    }
}

/// The calibrated parameters of the groups `groups` (step 1 and 2 above).
pub fn calibrate_groups(
    values: &[f32],
    layout: &GroupLayout,
    config: &QuantizerConfig,
    known: Known<'_>,
    groups: std::ops::Range<usize>,
) -> Vec<GroupParams> {
    symmetric_min_max_groups(values, layout, config, groups.clone())
        .unwrap_or_else(|| calibrate_each_group(values, layout, config, known, groups))
}

/// [`calibrate_groups`] of the common per-group case — symmetric min–max groups of one
/// contiguous chunk each, f32/f16/bf16 scales not forced to powers of two, at least three codes
/// — 64 groups at a time through arrays: S = a / (span / 2) from each group's largest finite
/// |x| a, raised to [`MIN_SCALE`](crate::affine::MIN_SCALE), capped, stored and capped again,
/// exactly as `AffineParams::from_range(−a, a)` then `with_scale` do (a group with no finite
/// value, a = 0, gets the range [0, 0] as there); `None` for any other configuration. The
/// general path took each group through `from_range` one at a time (natively 8 % of an int4-g32
/// analysis). Tested equal to [`calibrate_each_group`], bit for bit.
fn symmetric_min_max_groups(
    values: &[f32],
    layout: &GroupLayout,
    config: &QuantizerConfig,
    groups: std::ops::Range<usize>,
) -> Option<Vec<GroupParams>> {
    use crate::affine::{cap_scale, MIN_SCALE};
    let fits = config.scheme == Scheme::Symmetric
        && config.calibration == crate::config::Calibration::MinMax
        && layout.n_groups > 1
        && layout.is_contiguous()
        && !config.power_of_two_scale
        && matches!(
            config.scale_format,
            ScaleFormat::F32 | ScaleFormat::F16 | ScaleFormat::Bf16
        );
    // The zero-point and code range every group shares (a symmetric zero-point does not
    // depend on the range).
    let shared = AffineParams::from_range(0.0, 0.0, config);
    let half = (shared.qmax - shared.qmin) as f32 / 2.0;
    // Below two steps a / half may overflow, which `from_range` redoes in f64.
    if !fits || half < 1.0 {
        return None;
    }
    let reach = (shared.zero_point - shared.qmin).max(shared.qmax - shared.zero_point);
    let bounds = group_abs_maxes(values, layout, groups);
    let mut out = Vec::with_capacity(bounds.len());
    for batch in bounds.chunks(64) {
        let mut scales = [0f32; 64];
        for (s, &a) in scales.iter_mut().zip(batch) {
            *s = cap_scale(max_nan_last(a / half, MIN_SCALE), reach, false);
        }
        if config.scale_format != ScaleFormat::F32 {
            crate::block::stored_16bit_scales(&mut scales, config.scale_format);
        }
        out.extend(batch.iter().zip(&scales).map(|(&a, &s)| GroupParams {
            // a ≥ +0: the clip `from_range`'s range gives, (−0, +0) for a zero bound.
            clip: (-a, a),
            params: AffineParams {
                scale: cap_scale(max_nan_last(s, f32::MIN_POSITIVE), reach, false),
                ..shared
            },
            offset: 0.0,
        }));
    }
    Some(out)
}

/// [`calibrate_groups`] group by group, for every configuration.
fn calibrate_each_group(
    values: &[f32],
    layout: &GroupLayout,
    config: &QuantizerConfig,
    known: Known<'_>,
    groups: std::ops::Range<usize>,
) -> Vec<GroupParams> {
    let ranges = calibrate_ranges(values, layout, config, known, groups.clone());
    // Two-level (e4m3) scales need the whole tensor's bound first.
    let (qmin, qmax) = config.code_range();
    let elem = ElementRange::of(qmax.max(-qmin).max(1) as f32);
    let t = if config.scale_format == ScaleFormat::E4m3 {
        let amax = tensor_amax(values, layout, config, known, &ranges, groups);
        tensor_scale(config.scale_format, amax, elem)
    } else {
        1.0
    };
    let power_of_two = config.power_of_two_scale || config.scale_format == ScaleFormat::E8m0;
    let mut out: Vec<GroupParams> = ranges
        .into_iter()
        .map(|range| {
            // A group without finite values gets the range [0, 0] (its values are all skipped).
            let (lo, hi) = range.unwrap_or((0.0, 0.0));
            let params = AffineParams::from_range(lo, hi, config);
            let (lo0, hi0) = (min_nan_last(lo, 0.0), max_nan_last(hi, 0.0));
            let clip = match config.scheme {
                Scheme::Symmetric => {
                    let a = max_nan_last(lo0.abs(), hi0);
                    (-a, a)
                }
                Scheme::Asymmetric => (lo0, hi0),
            };
            GroupParams {
                clip,
                params,
                offset: 0.0,
            }
        })
        .collect();
    // The stored scale: 16-bit scales (the scale itself rounded) a batch at a time — one
    // `stored_scale` call per group was a tenth of int4-g32's calibration natively — the
    // others group by group.
    match config.scale_format {
        ScaleFormat::F32 => {
            for g in &mut out {
                g.params = g.params.with_scale(g.params.scale, power_of_two);
            }
        }
        ScaleFormat::F16 | ScaleFormat::Bf16 => {
            for batch in out.chunks_mut(64) {
                let mut scales = [0f32; 64];
                for (s, g) in scales.iter_mut().zip(batch.iter()) {
                    *s = g.params.scale;
                }
                crate::block::stored_16bit_scales(&mut scales, config.scale_format);
                for (g, &s) in batch.iter_mut().zip(&scales) {
                    g.params = g.params.with_scale(s, power_of_two);
                }
            }
        }
        // Symmetric signed only (validated): derived from the bound and qmax.
        ScaleFormat::E8m0 | ScaleFormat::E4m3 => {
            for g in &mut out {
                let stored = stored_scale(
                    g.clip.1,
                    elem,
                    config.scale_format,
                    config.scale_rounding,
                    t,
                );
                g.params = g.params.with_scale(stored, power_of_two);
            }
        }
    }
    out
}

/// The bound of two-level scales: the largest |α|, |β| of every group's calibrated range. Taken
/// from `ranges` when they are every group's; from the tensor's (min, max) for min–max
/// calibration (the same number: the largest group bound is the largest |x|); otherwise every
/// group is calibrated.
pub(crate) fn tensor_amax(
    values: &[f32],
    layout: &GroupLayout,
    config: &QuantizerConfig,
    known: Known<'_>,
    ranges: &[Option<(f32, f32)>],
    groups: std::ops::Range<usize>,
) -> f32 {
    if groups == (0..layout.n_groups) {
        return largest_bound(ranges);
    }
    let all = || groups_amax(values, layout, config, known, 0..layout.n_groups);
    match (config.calibration, known.min_max, known.dataset) {
        (crate::config::Calibration::MinMax, Some((lo, hi)), _) => lo.abs().max(hi.abs()),
        // Once per dataset (or as measured in parts: `run::bound_part`), not once per share.
        (_, _, Some(d)) if std::ptr::eq(d.values(), values) => {
            d.two_level_bound(&bound_key(config), all)
        }
        _ => all(),
    }
}

/// What a two-level bound is remembered by: the configuration, symmetric (as two-level scales
/// are; the block formats calibrate so).
pub(crate) fn bound_key(config: &QuantizerConfig) -> QuantizerConfig {
    QuantizerConfig {
        scheme: Scheme::Symmetric,
        ..config.clone()
    }
}

/// The largest calibrated bound of the groups `groups` (a part of [`tensor_amax`]'s fold: the
/// parts' largest is the whole's, exactly).
///
/// Where the calibrator stays within the data ([`crate::config::Calibration::within_data`]) a group's bound is
/// at most its largest |x|: the groups are calibrated largest |x| first, until none left could
/// beat the largest bound found — the same number as calibrating every group (tested against
/// that), with a few searches instead of all (natively, NVFP4 by MSE over 16M normal values:
/// see docs/performance.md).
pub(crate) fn groups_amax(
    values: &[f32],
    layout: &GroupLayout,
    config: &QuantizerConfig,
    known: Known<'_>,
    groups: std::ops::Range<usize>,
) -> f32 {
    if !(layout.is_contiguous() && config.calibration.within_data()) {
        return largest_bound(&calibrate_ranges(values, layout, config, known, groups));
    }
    let reach: Vec<f32> = groups
        .clone()
        .map(|g| crate::calib::finite_abs_max(&values[layout.chunk_of(g)]))
        .collect();
    let mut order: Vec<usize> = (0..reach.len()).collect();
    order.sort_unstable_by(|&a, &b| reach[b].total_cmp(&reach[a]));
    let mut largest = 0f32;
    for k in order {
        if reach[k] <= largest {
            // Neither this group nor any after it (no larger |x|) can hold a larger bound.
            break;
        }
        let g = groups.start + k;
        largest = largest.max(largest_bound(&calibrate_ranges(
            values,
            layout,
            config,
            known,
            g..g + 1,
        )));
    }
    largest
}

/// The largest |α|, |β| of `ranges` (0 for none).
fn largest_bound(ranges: &[Option<(f32, f32)>]) -> f32 {
    ranges
        .iter()
        .flatten()
        .fold(0f32, |a, &(lo, hi)| a.max(lo.abs()).max(hi.abs()))
}

/// The largest finite |x| of each group of `groups` of a contiguous layout (0 for a group
/// without finite values).
pub(crate) fn group_abs_maxes(
    values: &[f32],
    layout: &GroupLayout,
    groups: std::ops::Range<usize>,
) -> Vec<f32> {
    let mut bounds = Vec::with_capacity(groups.len());
    let len = groups.len();
    crate::calib::finite_abs_maxes(
        &values[layout.span_of(groups)],
        layout.chunk_len,
        &mut bounds,
    );
    // Groups past the last value (empty chunks) come last: their bound is 0.
    bounds.resize(len, 0.0);
    bounds
}

/// The calibrated clipping range of each group of `groups` (`None` for a group with no finite
/// value; for a symmetric min–max configuration (−a, a), a the largest finite |x|, which is all
/// a symmetric scheme reads of it). `known.dataset`, when given, must be the dataset `values`
/// belong to.
pub fn calibrate_ranges(
    values: &[f32],
    layout: &GroupLayout,
    config: &QuantizerConfig,
    known: Known<'_>,
    groups: std::ops::Range<usize>,
) -> Vec<Option<(f32, f32)>> {
    if layout.n_groups == 1 {
        let calibrate = || clip_range_known(values, config, known.min_max);
        // Min-max from the known range and a manual range cost nothing; the searches and
        // percentiles read the whole tensor, which every share of an analysis would repeat.
        let cheap = !config.calibration.searches();
        let range = match known.dataset {
            Some(d) if !cheap && std::ptr::eq(d.values(), values) => {
                d.tensor_range(config, calibrate)
            }
            _ => calibrate(),
        };
        return groups.map(|_| range).collect();
    }
    // Each group is one chunk (per-group, or per-channel on the first axis): calibrate the
    // slices in place.
    if layout.is_contiguous() {
        let min_max = config.calibration == crate::config::Calibration::MinMax;
        if min_max && config.scheme == Scheme::Symmetric {
            // A symmetric range reads only the largest finite |x|: found from the bits, about
            // a fifth of the time of the ordered min and max (natively, int4-g32: 22 % of the
            // analysis before). A zero bound may be a group without finite values (None): asked
            // again afterwards, not in the same loop — merged with that call's result, each
            // range went through the stack and was read back before its stores could forward
            // (natively four times the time of finding it).
            let mut ranges: Vec<Option<(f32, f32)>> =
                group_abs_maxes(values, layout, groups.clone())
                    .into_iter()
                    .map(|a| Some((-a, a)))
                    .collect();
            for (g, range) in groups.zip(&mut ranges) {
                if matches!(range, Some((_, a)) if *a == 0.0) {
                    *range = finite_min_max(&values[layout.chunk_of(g)]);
                }
            }
            return ranges;
        }
        if min_max {
            let (mut ranges, len) = (Vec::with_capacity(groups.len()), groups.len());
            let span = &values[layout.span_of(groups)];
            crate::calib::finite_min_maxes(span, layout.chunk_len, &mut ranges);
            // Groups past the last value (empty chunks) come last: no finite values.
            ranges.resize(len, None);
            return ranges;
        }
        return groups
            .map(|g| clip_range(&values[layout.chunk_of(g)], config))
            .collect();
    }
    match config.calibration {
        // Min-max needs no gathering: one pass over the chunks.
        crate::config::Calibration::MinMax => {
            let mut ranges = vec![None::<(f32, f32)>; layout.n_groups];
            for (g, range) in layout.chunks() {
                if let Some((lo, hi)) = finite_min_max(&values[range]) {
                    ranges[g] = Some(match ranges[g] {
                        Some((a, b)) => (a.min(lo), b.max(hi)),
                        None => (lo, hi),
                    });
                }
            }
            ranges[groups].to_vec()
        }
        // Groups interleave (per-channel on an inner axis): gather them all in one pass.
        _ => {
            let gathered = layout.gather_all(values);
            gathered[groups]
                .iter()
                .map(|g| clip_range(g, config))
                .collect()
        }
    }
}

/// Runs the quantizer over the values of `span`, calling `visit(index, group, r, code, r̂,
/// clipped)` for each finite value. This is the one loop shared by [`analyze`] and [`quantize`].
#[inline]
fn for_each_quantized(
    values: &[f32],
    layout: &GroupLayout,
    span: std::ops::Range<usize>,
    groups: &GroupTable,
    config: &QuantizerConfig,
    mut visit: impl FnMut(usize, usize, f32, i32, f32, bool),
) {
    let rounding = config.rounding;
    for (g, range) in layout.chunks_in(span) {
        let p = groups.get(g).params;
        let inv = p.inv_scale();
        let start = range.start;
        for (offset, &r) in values[range].iter().enumerate() {
            if !r.is_finite() {
                continue;
            }
            let i = start + offset;
            let noise = if rounding == Rounding::Stochastic {
                stochastic_noise(config.seed, i as u64)
            } else {
                0.0
            };
            let (q, clipped) = p.code_from_real(r, inv, rounding, noise);
            visit(i, g, r, q, p.real_from_code(q), clipped);
        }
    }
}

/// One block of the fused pass: LANES values at once, without branches (non-finite values are
/// masked when `CHECK` is set), so the compiler vectorises it. Returns the table index of each
/// lane's code: two interleaved copies of the code table (even and odd lanes, so runs of equal codes
/// do not serialise on one counter) and a spare slot at the end where masked lanes are counted and
/// then ignored. The counts of values and clipped values go to integer lanes (`n`, `clipped`) rather
/// than being summed across the block. The arithmetic is [`Coder::code`](crate::affine::Coder::code),
/// shared with every other path.
#[cfg_attr(all(target_arch = "wasm32", not(test)), allow(dead_code))] // wasm: fused::int_chunk, tested equal
struct BlockKernel<R> {
    coder: crate::affine::Coder,
    params: AffineParams,
    round: R,
    n_levels: u32,
    spare: u32,
}

#[cfg_attr(all(target_arch = "wasm32", not(test)), allow(dead_code))] // wasm: fused::int_chunk, tested equal
impl<R: Fn(f32) -> f32 + Copy> BlockKernel<R> {
    #[inline(always)]
    fn run<const CHECK: bool>(
        &self,
        block: &[f32; LANES],
        sums: &mut ErrorAccumulator,
        n: &mut [u32; LANES],
        clipped: &mut [u32; LANES],
    ) -> [u32; LANES] {
        let mut r = [0f32; LANES];
        let mut r_hat = [0f32; LANES];
        let mut finite = [true; LANES];
        let mut clip = [false; LANES];
        let mut out = [0u32; LANES];
        for k in 0..LANES {
            if CHECK {
                finite[k] = block[k].is_finite();
            }
            r[k] = if finite[k] { block[k] } else { 0.0 };
            let (code, c) = self.coder.code(r[k], self.round);
            r_hat[k] = self.params.real_from_code(code);
            let idx = (k & 1) as u32 * self.n_levels + (code - self.params.qmin) as u32;
            out[k] = if finite[k] { idx } else { self.spare };
            n[k] += u32::from(finite[k]);
            clipped[k] += u32::from(finite[k] && c);
            clip[k] = c;
        }
        sums.add_block_sums::<true>(&r, &r_hat, &finite, &clip);
        out
    }
}

/// The fused pass over one chunk with deterministic rounding, in blocks of [`BlockKernel`]. Each
/// batch of blocks writes its table indices to a small buffer that is counted in a separate tight
/// loop — keeping the scattered increments out of the vector code. `counts` has 2 · n_levels + 1
/// entries (see [`BlockKernel`]). Without `CHECK_FINITE` (a tensor with no NaN or ±Inf) the
/// whole blocks skip the finite mask; the last partial block is padded with NaN and always masked.
#[inline]
#[cfg_attr(all(target_arch = "wasm32", not(test)), allow(dead_code))] // wasm: fused::int_chunk, tested equal
fn fused_chunk<const CHECK_FINITE: bool>(
    values: &[f32],
    params: AffineParams,
    round: impl Fn(f32) -> f32 + Copy,
    acc: &mut ErrorAccumulator,
    counts: &mut [u32],
) {
    /// Blocks whose indices are buffered before counting (their integer lane counts stay below
    /// 2^32 by far).
    const BATCH: usize = 64;
    /// Buffering pays natively (measured 1.4× at 1M values); in WebAssembly counting at once is
    /// faster (measured 13.5–15.1 vs 15.9–18.4 ms for the page's 1M benchmark), so the wasm build
    /// keeps it.
    const BUFFERED: bool = !cfg!(target_arch = "wasm32");
    let n_levels = (counts.len() - 1) / 2;
    let kernel = BlockKernel {
        coder: params.coder(params.inv_scale()),
        params,
        round,
        n_levels: n_levels as u32,
        spare: (2 * n_levels) as u32,
    };
    // A local accumulator the compiler can keep in registers; merged into `acc` at the end.
    let mut local = ErrorAccumulator::default();
    let mut indices = [0u32; BATCH * LANES];
    for batch in values.chunks(BATCH * LANES) {
        let mut used = 0;
        let (mut n, mut clipped) = ([0u32; LANES], [0u32; LANES]);
        let mut blocks = batch.chunks_exact(LANES);
        for block in &mut blocks {
            // chunks_exact: always LANES long (the fallback, all masked, is never taken).
            let block = block.try_into().unwrap_or(&[f32::NAN; LANES]);
            let idx = kernel.run::<CHECK_FINITE>(block, &mut local, &mut n, &mut clipped);
            if BUFFERED {
                indices[used..used + LANES].copy_from_slice(&idx);
                used += LANES;
            } else {
                for i in idx {
                    counts[i as usize] += 1;
                }
            }
        }
        for &i in &indices[..used] {
            counts[i as usize] += 1;
        }
        let tail = blocks.remainder();
        if !tail.is_empty() {
            let mut block = [f32::NAN; LANES];
            block[..tail.len()].copy_from_slice(tail);
            for i in kernel.run::<true>(&block, &mut local, &mut n, &mut clipped) {
                counts[i as usize] += 1;
            }
        }
        let total = |lanes: [u32; LANES]| lanes.iter().map(|&c| c as usize).sum();
        local.add_counts(total(n), total(clipped));
    }
    acc.merge(&local);
}

/// The histogram range: the data, the display group's clipping range and its representable range
/// (each limited to one data span on either side). The representable range moves with the bit
/// width, so the part beyond the data is snapped outward to 1/32 of the span: a change of bit
/// width then usually keeps the range, and the input histogram comes from the dataset's cache.
pub(crate) fn histogram_range(summary: &Summary, clip: (f32, f32), rep: (f32, f32)) -> (f32, f32) {
    // In f64: the data span of values near ±f32::MAX, and the ends one span beyond, are not f32s.
    let (min, max) = (f64::from(summary.min), f64::from(summary.max));
    let span = max - min;
    let grid = span / 32.0;
    let want_lo = f64::from(clip.0.min(rep.0)).max(min - span);
    let want_hi = f64::from(clip.1.max(rep.1)).min(max + span);
    let lo = if want_lo < min && grid > 0.0 {
        min - ((min - want_lo) / grid).ceil() * grid
    } else {
        min
    };
    let hi = if want_hi > max && grid > 0.0 {
        max + ((want_hi - max) / grid).ceil() * grid
    } else {
        max
    };
    let f32_max = f64::from(f32::MAX);
    (
        lo.clamp(-f32_max, f32_max) as f32,
        hi.clamp(-f32_max, f32_max) as f32,
    )
}

/// The calibrated parameters of the groups `groups` of the integer format.
fn calibrate_int(
    dataset: &Dataset,
    layout: &GroupLayout,
    config: &QuantizerConfig,
    groups: std::ops::Range<usize>,
) -> GroupTable {
    GroupTable {
        first: groups.start,
        params: calibrate_groups(dataset.values(), layout, config, Known::of(dataset), groups),
    }
}

/// Share `share` of the integer format's analysis; `calibrated` holds groups already calibrated
/// (by [`analyze_and_quantize`]).
pub(crate) fn analyze_int_share(
    dataset: &Dataset,
    config: &QuantizerConfig,
    options: &AnalysisOptions,
    share: Share,
) -> Result<PartialAnalysis, AnalyzeError> {
    let layout = GroupLayout::new(config.granularity, dataset.shape())?;
    let span = share.span(&layout, 1);
    let groups = calibrate_int(
        dataset,
        &layout,
        config,
        layout.groups_meeting(span.clone()),
    );
    Ok(analyze_int_part(
        dataset, config, options, share, &layout, &groups,
    ))
}

/// [`analyze_int_share`] with the groups calibrated (`groups` holds every group the share's span
/// meets).
fn analyze_int_part(
    dataset: &Dataset,
    config: &QuantizerConfig,
    options: &AnalysisOptions,
    share: Share,
    layout: &GroupLayout,
    groups: &GroupTable,
) -> PartialAnalysis {
    let values = dataset.values();
    let summary = *dataset.summary();
    let span = share.span(layout, 1);
    let display_group = options.display_group.min(layout.n_groups.max(1) - 1);
    let shown_group = if groups.groups().contains(&display_group) {
        groups.get(display_group)
    } else {
        calibrate_int(dataset, layout, config, display_group..display_group + 1).get(display_group)
    };
    let shown = shown_group.params;

    let (lo, hi) = histogram_range(&summary, shown_group.clip, shown.representable_range());
    let input_hist = dataset.histogram_of(span.clone(), lo, hi, options.bins);
    let (mut output_hist, binner) = Histogram::empty(lo, hi, options.bins);

    // Codes are counted per group when that table is small, and the reconstructions are binned
    // from the counts afterwards (one bin lookup per used code instead of per value).
    let (qmin, qmax) = config.code_range();
    let n_levels = (qmax - qmin + 1) as usize;
    let met = groups.params.len();
    let per_group = met.saturating_mul(n_levels) <= MAX_CODE_TABLE;
    let all_finite = summary.finite == summary.n;
    // Many small groups: one table for all, each reconstruction binned as it is made.
    let small_groups = met > 1 && layout.chunk_len < SMALL_GROUP;
    if config.rounding != Rounding::Stochastic && (small_groups || !per_group) {
        let (acc, code_counts, bins) = int_tally(
            values,
            layout,
            span.clone(),
            groups,
            config,
            &binner,
            all_finite,
        );
        output_hist.counts = bins;
        return int_part(
            dataset,
            config,
            options,
            share,
            layout,
            groups,
            IntResult {
                shown_group,
                input_hist,
                output_hist,
                acc,
                code_counts,
            },
        );
    }
    let mut counts = vec![0u32; if per_group { met * n_levels } else { n_levels }];
    let mut acc = ErrorAccumulator::default();
    if per_group && config.rounding != Rounding::Stochastic {
        // Per group: two interleaved copies of the code table and a spare slot (see fused_chunk).
        let stride = 2 * n_levels + 1;
        let mut doubled = vec![0u32; met * stride];
        for (g, range) in layout.chunks_in(span.clone()) {
            let local = g - groups.first;
            let table = &mut doubled[local * stride..(local + 1) * stride];
            let (chunk, p) = (&values[range], groups.get(g).params);
            // In WebAssembly the hand-written SIMD128 form of the same blocks (see fused::simd).
            #[cfg(target_arch = "wasm32")]
            crate::fused::int_chunk(
                chunk,
                p.coder(p.inv_scale()),
                p.qmin,
                config.rounding,
                all_finite,
                &mut acc,
                table,
            );
            // One monomorphised kernel per rounding mode, so the rounding is inlined and vectorised.
            #[cfg(not(target_arch = "wasm32"))]
            match config.rounding {
                Rounding::NearestAway if all_finite => {
                    fused_chunk::<false>(chunk, p, crate::affine::round_half_away, &mut acc, table)
                }
                Rounding::NearestAway => {
                    fused_chunk::<true>(chunk, p, crate::affine::round_half_away, &mut acc, table)
                }
                Rounding::Floor if all_finite => {
                    fused_chunk::<false>(chunk, p, crate::affine::floor, &mut acc, table)
                }
                Rounding::Floor => {
                    fused_chunk::<true>(chunk, p, crate::affine::floor, &mut acc, table)
                }
                _ if all_finite => {
                    fused_chunk::<false>(chunk, p, crate::affine::round_half_even, &mut acc, table)
                }
                _ => fused_chunk::<true>(chunk, p, crate::affine::round_half_even, &mut acc, table),
            }
        }
        for (g, pair) in doubled.chunks(stride).enumerate() {
            for (l, c) in counts[g * n_levels..(g + 1) * n_levels]
                .iter_mut()
                .enumerate()
            {
                *c = pair[l] + pair[n_levels + l];
            }
        }
    } else if per_group {
        for_each_quantized(
            values,
            layout,
            span.clone(),
            groups,
            config,
            |_, g, r, q, r_hat, clipped| {
                acc.add(r, r_hat, clipped);
                counts[(g - groups.first) * n_levels + (q - qmin) as usize] += 1;
            },
        );
    } else {
        for_each_quantized(
            values,
            layout,
            span.clone(),
            groups,
            config,
            |_, _, r, q, r_hat, clipped| {
                acc.add(r, r_hat, clipped);
                counts[(q - qmin) as usize] += 1;
                output_hist.counts[binner.bin(r_hat)] += 1;
            },
        );
    }
    let mut code_counts = vec![0u64; n_levels];
    for (k, &c) in counts.iter().enumerate() {
        code_counts[k % n_levels] += u64::from(c);
    }
    if per_group {
        for (local, table) in counts.chunks(n_levels).enumerate() {
            let p = groups.params[local].params;
            for (k, &c) in table.iter().enumerate().filter(|(_, &c)| c > 0) {
                output_hist.counts[binner.bin(p.real_from_code(qmin + k as i32))] += u64::from(c);
            }
        }
    }

    int_part(
        dataset,
        config,
        options,
        share,
        layout,
        groups,
        IntResult {
            shown_group,
            input_hist,
            output_hist,
            acc,
            code_counts,
        },
    )
}

/// What the integer pass found, before it becomes a part.
struct IntResult {
    shown_group: GroupParams,
    input_hist: Histogram,
    output_hist: Histogram,
    acc: ErrorAccumulator,
    code_counts: Vec<u64>,
}

/// Groups shorter than this (values) use [`int_tally`] rather than per-group code tables.
const SMALL_GROUP: usize = 1024;

/// The integer format's fused pass for many small groups (see [`crate::fused`]): error sums, code
/// counts and the reconstructions binned by `binner`.
fn int_tally(
    values: &[f32],
    layout: &GroupLayout,
    span: std::ops::Range<usize>,
    groups: &GroupTable,
    config: &QuantizerConfig,
    binner: &crate::histogram::Binner,
    all_finite: bool,
) -> (ErrorAccumulator, Vec<u64>, Vec<u64>) {
    use crate::fused::{IntKernel, Tally};
    let (qmin, qmax) = config.code_range();
    let mut tally = Tally::new((qmax - qmin + 1) as usize, binner.bins());
    // One monomorphised loop per rounding mode (stochastic rounding does not come here).
    macro_rules! pass {
        ($round:expr) => {
            tally.chunks_fast(
                layout.chunks_in(span).map(|(g, range)| {
                    let params = groups.get(g).params;
                    (
                        &values[range],
                        IntKernel {
                            coder: params.coder(params.inv_scale()),
                            params,
                            round: $round,
                            rounding: config.rounding,
                        },
                    )
                }),
                binner,
                all_finite,
            )
        };
    }
    match config.rounding {
        Rounding::NearestAway => pass!(crate::affine::round_half_away),
        Rounding::Floor => pass!(crate::affine::floor),
        Rounding::NearestEven | Rounding::Stochastic => pass!(crate::affine::round_half_even),
    }
    tally.finish()
}

/// The part of the integer format's analysis from what its pass found.
fn int_part(
    dataset: &Dataset,
    config: &QuantizerConfig,
    options: &AnalysisOptions,
    share: Share,
    layout: &GroupLayout,
    groups: &GroupTable,
    found: IntResult,
) -> PartialAnalysis {
    let IntResult {
        shown_group,
        input_hist,
        output_hist,
        acc,
        code_counts,
    } = found;
    let summary = *dataset.summary();
    let span = share.span(layout, 1);
    let shown = shown_group.params;
    let display_group = options.display_group.min(layout.n_groups.max(1) - 1);
    let (qmin, qmax) = config.code_range();
    let zero_point_bits = match config.scheme {
        Scheme::Symmetric => 0,
        Scheme::Asymmetric => u32::from(config.bits),
    };
    let bits = bits_per_value(
        config.bits,
        layout.n_groups,
        config.scale_format.bits() + zero_point_bits,
        dataset.len(),
    ) + f64::from(config.scale_format.tensor_bits()) / dataset.len().max(1) as f64;
    let owned = layout.groups_starting_in(span.clone());
    let inv = shown.inv_scale();
    let rounding = config.rounding;
    let group_hist = crate::group_view::group_histograms(
        dataset.values(),
        layout,
        display_group,
        span,
        crate::group_view::Bins {
            clip: shown_group.clip,
            within: (input_hist.lo, input_hist.hi),
            bins: input_hist.counts.len(),
        },
        |i, r| {
            let noise = if rounding == Rounding::Stochastic {
                stochastic_noise(config.seed, i as u64)
            } else {
                0.0
            };
            shown.real_from_code(shown.code_from_real(r, inv, rounding, noise).0)
        },
    );
    let floored_groups = owned
        .clone()
        .filter(|&g| below_scale_floor(groups.get(g).clip, qmin, qmax))
        .count();
    let owned_groups = if options.all_groups {
        owned.map(|g| groups.get(g)).collect()
    } else {
        Vec::new()
    };
    PartialAnalysis {
        share,
        config: config.clone(),
        n_groups: layout.n_groups,
        display_group,
        display: shown_group,
        levels: shown.levels(),
        thresholds: shown.thresholds(config.rounding),
        owned_groups,
        input_hist,
        output_hist,
        acc,
        code_counts,
        bits_per_value: bits,
        summary,
        notes: calibration_notes(config, &summary, layout.n_groups, shown_group.clip),
        floored_groups,
        levels_available: (qmax - qmin + 1) as usize,
        twin_codes: Vec::new(),
        vector: None,
        display_block: None,
        ggml_block: None,
        group_hist,
    }
}

/// What the integer calibration did that the settings alone do not show: a manual range that
/// excludes 0 is widened to include it (so real 0 has an exact code), and a calibrator whose clip
/// reaches the data's own range is min–max in effect (per tensor, where the data's range is known
/// from the summary; `clip` is the tensor's range after including 0).
fn calibration_notes(
    config: &QuantizerConfig,
    summary: &crate::dataset::Summary,
    n_groups: usize,
    clip: (f32, f32),
) -> Vec<String> {
    use crate::config::Calibration;
    let mut notes = Vec::new();
    let name = match config.calibration {
        Calibration::Manual { lo, hi } => {
            if lo > 0.0 || hi < 0.0 {
                let (side, value) = if lo > 0.0 { ("α", lo) } else { ("β", hi) };
                notes.push(format!(
                    "The range always includes 0, so that real 0 has an exact code: manual {side} = \
                     {value} is used as {side} = 0"
                ));
            }
            return notes;
        }
        c if !c.searches() => return notes,
        c => Calibration::method_short_label(c.key()),
    };
    if n_groups != 1 || summary.finite == 0 {
        return notes;
    }
    let (lo, hi) = (summary.min.min(0.0), summary.max.max(0.0));
    let full = match config.scheme {
        Scheme::Symmetric => {
            let a = lo.abs().max(hi);
            (-a, a)
        }
        Scheme::Asymmetric => (lo, hi),
    };
    if clip == full {
        notes.push(format!(
            "The {name} clip reaches the data's own range at {} bits, so it equals min–max here \
             (nothing is clipped)",
            config.bits
        ));
    }
    notes
}

/// Whether a clipping range is too narrow for the smallest scale PyTorch allows
/// ([`MIN_SCALE`](crate::affine::MIN_SCALE), 2^−23): its ideal step is below that floor.
fn below_scale_floor(clip: (f32, f32), qmin: i32, qmax: i32) -> bool {
    let width = f64::from(clip.1) - f64::from(clip.0);
    let span = f64::from(qmax - qmin);
    width > 0.0 && width / span < f64::from(crate::affine::MIN_SCALE)
}

/// [`crate::run::for_each_reconstructed`] for the integer format: the groups meeting `span`
/// calibrated as [`quantize_int_whole`] calibrates them, and its r̂ of each finite value.
pub(crate) fn reconstruct_int_span(
    dataset: &Dataset,
    config: &QuantizerConfig,
    span: std::ops::Range<usize>,
    mut visit: impl FnMut(usize, f32, f32),
) -> Result<Option<(f32, f32)>, AnalyzeError> {
    let layout = GroupLayout::new(config.granularity, dataset.shape())?;
    let groups = calibrate_int(
        dataset,
        &layout,
        config,
        layout.groups_meeting(span.clone()),
    );
    for_each_quantized(
        dataset.values(),
        &layout,
        span,
        &groups,
        config,
        |i, _, r, _, r_hat, _| visit(i, r, r_hat),
    );
    Ok(groups.params.first().map(|g| g.clip))
}

/// [`crate::quantize`] for the integer format.
pub(crate) fn quantize_int_whole(
    dataset: &Dataset,
    config: &QuantizerConfig,
) -> Result<Quantized, AnalyzeError> {
    let layout = GroupLayout::new(config.granularity, dataset.shape())?;
    let groups = calibrate_int(dataset, &layout, config, 0..layout.n_groups);
    Ok(quantize_int(dataset, config, &layout, groups))
}

/// [`crate::analyze_and_quantize`] for the integer format: one calibration for both.
pub(crate) fn analyze_and_quantize_int(
    dataset: &Dataset,
    config: &QuantizerConfig,
    options: &AnalysisOptions,
) -> Result<(Analysis, Quantized), AnalyzeError> {
    let layout = GroupLayout::new(config.granularity, dataset.shape())?;
    let groups = calibrate_int(dataset, &layout, config, 0..layout.n_groups);
    let part = analyze_int_part(dataset, config, options, Share::WHOLE, &layout, &groups);
    Ok((
        merge_one(part),
        quantize_int(dataset, config, &layout, groups),
    ))
}

/// [`crate::quantize`] for the integer format with every group calibrated.
fn quantize_int(
    dataset: &Dataset,
    config: &QuantizerConfig,
    layout: &GroupLayout,
    groups: GroupTable,
) -> Quantized {
    let values = dataset.values();
    let mut dequantized = values.to_vec();
    let mut codes = vec![0i32; values.len()];
    for (g, range) in layout.chunks() {
        codes[range].fill(groups.get(g).params.zero_point);
    }
    for_each_quantized(
        values,
        layout,
        0..values.len(),
        &groups,
        config,
        |i, _, _, q, r_hat, _| {
            codes[i] = q;
            dequantized[i] = r_hat;
        },
    );
    Quantized {
        codes,
        dequantized,
        groups: groups.params,
        code_values: Vec::new(),
        code_width: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;
    use crate::config::{Calibration, Granularity, Signedness};
    use crate::granularity::LayoutError;
    use crate::run::{analyze, analyze_and_quantize, quantize};

    fn dataset(shape: Vec<usize>, values: Vec<f32>) -> Dataset {
        match Dataset::new("t", shape, values) {
            Ok(d) => d,
            Err(e) => panic!("test dataset: {e}"),
        }
    }

    /// The WebAssembly per-tensor pass (`fused::int_chunk`, SIMD128) gives the portable
    /// `fused_chunk`'s sums and code counts bit for bit: roundings, schemes, bit widths, clipping,
    /// NaN/±Inf, ±0 and lengths that leave a partial last block.
    #[cfg(target_arch = "wasm32")]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn simd_per_tensor_pass_equals_the_portable_one() {
        use crate::config::Scheme;
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        };
        for (case, len) in [1usize, 7, 8, 9, 63, 64, 513, 10_001]
            .into_iter()
            .enumerate()
        {
            let mut values: Vec<f32> = (0..len).map(|_| next() * 3.0).collect();
            values[0] = -0.0;
            if len > 8 {
                values[3] = 40.0;
                values[5] = 0.5;
            }
            let special = case % 2 == 1 && len > 9;
            if special {
                values[1] = f32::NAN;
                values[4] = f32::INFINITY;
                values[len - 1] = f32::NEG_INFINITY;
            }
            for (bits, signedness, scheme, rounding) in [
                (
                    8,
                    Signedness::Signed,
                    Scheme::Asymmetric,
                    Rounding::NearestEven,
                ),
                (
                    4,
                    Signedness::Signed,
                    Scheme::Symmetric,
                    Rounding::NearestAway,
                ),
                (3, Signedness::Unsigned, Scheme::Asymmetric, Rounding::Floor),
                (
                    2,
                    Signedness::Signed,
                    Scheme::Asymmetric,
                    Rounding::NearestAway,
                ),
                (
                    12,
                    Signedness::Unsigned,
                    Scheme::Asymmetric,
                    Rounding::NearestEven,
                ),
            ] {
                let config = QuantizerConfig {
                    bits,
                    signedness,
                    scheme,
                    rounding,
                    ..QuantizerConfig::default()
                };
                // A range narrower than the data, so values are clipped on both sides.
                let p = AffineParams::from_range(-1.7, 2.3, &config);
                let n_levels = p.n_levels();
                let (mut want_acc, mut got_acc) =
                    (ErrorAccumulator::default(), ErrorAccumulator::default());
                let (mut want, mut got) =
                    (vec![0u32; 2 * n_levels + 1], vec![0u32; 2 * n_levels + 1]);
                let round = match rounding {
                    Rounding::NearestAway => crate::affine::round_half_away,
                    Rounding::Floor => crate::affine::floor,
                    _ => crate::affine::round_half_even,
                };
                // The portable pass with the finite mask on every block is the reference for
                // both of the SIMD pass's forms (with and without the mask).
                fused_chunk::<true>(&values, p, round, &mut want_acc, &mut want);
                let coder = p.coder(p.inv_scale());
                crate::fused::int_chunk(
                    &values,
                    coder,
                    p.qmin,
                    rounding,
                    !special,
                    &mut got_acc,
                    &mut got,
                );
                let what = format!("{len} values, {bits} bits {rounding:?} {scheme:?}");
                assert_eq!(format!("{got_acc:?}"), format!("{want_acc:?}"), "{what}");
                assert_eq!(got, want, "{what}");
                assert!(
                    want_acc.finish().clipped_fraction > 0.0 || len < 9,
                    "{what}: nothing was clipped"
                );
            }
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn per_tensor_int8_by_hand() {
        // [-1, 0, 0.5, 3]: S = 4/255, Z = -64.
        let d = dataset(vec![4], vec![-1.0, 0.0, 0.5, 3.0]);
        let a = analyze(&d, &QuantizerConfig::default(), &AnalysisOptions::default());
        let a = a.unwrap_or_else(|e| panic!("{e}"));
        let s = 4.0f32 / 255.0;
        assert_eq!(a.groups[0].params.scale, s);
        assert_eq!(a.groups[0].params.zero_point, -64);
        // 0.5 · (1/S) = 31.875 → 32 → r̂ = 32 S
        let q = quantize(&d, &QuantizerConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.codes, vec![-128, -64, -32, 127]);
        let err = f64::from(0.5f32 - 32.0 * s);
        // -1 → -64·S = -1.0039..., 3 → 191 S = 2.99607...
        let e0 = f64::from(-1.0f32 - (-64.0 * s));
        let e3 = f64::from(3.0f32 - 191.0 * s);
        let mse = (e0 * e0 + err * err + e3 * e3) / 4.0;
        assert!(
            (a.metrics.mse - mse).abs() < 1e-12,
            "{} vs {mse}",
            a.metrics.mse
        );
        assert_eq!(a.metrics.levels_used, 4);
        assert_eq!(a.metrics.code_entropy_bits, 2.0);
        assert_eq!(a.levels.len(), 256);
        assert_eq!(a.input_hist.total(), 4);
        assert_eq!(a.output_hist.total(), 4);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn non_finite_values_are_skipped_everywhere() {
        let d = dataset(vec![5], vec![1.0, f32::NAN, -1.0, f32::INFINITY, 0.5]);
        let a = analyze(&d, &QuantizerConfig::default(), &AnalysisOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.metrics.n, 3);
        assert_eq!((a.summary.nan_count, a.summary.inf_count), (1, 1));
        assert_eq!(a.groups[0].clip, (-1.0, 1.0));
        assert!(a.metrics.mse.is_finite());
        let q = quantize(&d, &QuantizerConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(q.dequantized[1].is_nan());
        assert_eq!(q.dequantized[3], f32::INFINITY);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn constant_tensor_is_exact() {
        let d = dataset(vec![3], vec![2.5; 3]);
        for scheme in [Scheme::Symmetric, Scheme::Asymmetric] {
            let c = QuantizerConfig {
                scheme,
                ..Default::default()
            };
            let a = analyze(&d, &c, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                a.metrics.max_abs_error < 0.01,
                "{scheme:?}: {}",
                a.metrics.max_abs_error
            );
            assert_eq!(a.metrics.levels_used, 1);
        }
        let zeros = dataset(vec![3], vec![0.0; 3]);
        let a = analyze(
            &zeros,
            &QuantizerConfig::default(),
            &AnalysisOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.metrics.mse, 0.0);
        assert_eq!(a.metrics.sqnr_db, f64::INFINITY);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn a_range_below_the_scale_floor_says_so() {
        // 1e-10-sized values: S = 2^-23 ≫ the range, so every value rounds to the zero-point.
        let d = dataset(vec![4], vec![1e-10, -2e-10, 3e-10, 0.0]);
        let a = analyze(&d, &QuantizerConfig::default(), &AnalysisOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.groups[0].params.scale, crate::affine::MIN_SCALE);
        assert_eq!(a.metrics.levels_used, 1);
        assert_eq!(a.metrics.sqnr_db, 0.0);
        assert!(
            a.notes.iter().any(
                |n| n.contains("below the smallest scale") && n.contains("reconstruction is 0")
            ),
            "{:?}",
            a.notes
        );
        // An ordinary range has no such note; fp8 keeps the small values.
        let ok = dataset(vec![3], vec![1.0, -2.0, 3.0]);
        let a = analyze(
            &ok,
            &QuantizerConfig::default(),
            &AnalysisOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(a.notes.is_empty());
        let fp8 = QuantizerConfig {
            format: crate::format::Format::Fp8E4m3,
            ..Default::default()
        };
        let a = analyze(&d, &fp8, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(a.metrics.sqnr_db > 20.0, "{}", a.metrics.sqnr_db);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn calibration_that_the_settings_do_not_show_is_said() {
        use crate::calib::aciq::AciqFit;
        use crate::config::Calibration;
        let values: Vec<f32> = (0..4000)
            .map(|i| ((i * 37 % 1000) as f32 - 500.0) / 100.0)
            .collect();
        let d = dataset(vec![4000], values);
        let run = |calibration, bits| {
            let c = QuantizerConfig {
                calibration,
                bits,
                ..Default::default()
            };
            analyze(&d, &c, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"))
        };
        // A manual range above 0 is widened to 0: said, and the clip shows it.
        let a = run(Calibration::Manual { lo: 2.0, hi: 4.0 }, 8);
        assert_eq!(a.display.clip, (0.0, 4.0));
        assert!(
            a.notes
                .iter()
                .any(|n| n.contains("manual α = 2 is used as α = 0")),
            "{:?}",
            a.notes
        );
        let a = run(Calibration::Manual { lo: -1.0, hi: 4.0 }, 8);
        assert!(a.notes.is_empty(), "{:?}", a.notes);
        // ACIQ's Gaussian clip at 8 bits (≈ 3.9 σ) is beyond uniform data's range: min–max in
        // effect. At 2 bits (≈ 1.7 σ) it clips.
        let aciq = Calibration::Aciq {
            fit: AciqFit::Gauss,
        };
        let wide = run(aciq, 8);
        assert_eq!(wide.display.clip, run(Calibration::MinMax, 8).display.clip);
        assert!(
            wide.notes
                .iter()
                .any(|n| n.contains("ACIQ clip reaches the data's own range at 8 bits")),
            "{:?}",
            wide.notes
        );
        let narrow = run(aciq, 2);
        assert!(narrow.metrics.clipped_fraction > 0.0);
        assert!(narrow.notes.is_empty(), "{:?}", narrow.notes);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn ranges_near_the_f32_limits_stay_finite() {
        // Symmetric int8 of ±f32::MAX: PyTorch's S = MAX/127.5 would put level −128 at
        // −1.004·MAX (−Inf); the scale is lowered to MAX/128 so every level is a number.
        let d = dataset(vec![4], vec![f32::MAX, -f32::MAX, 1.0, 0.0]);
        let c = QuantizerConfig {
            scheme: Scheme::Symmetric,
            ..Default::default()
        };
        let a = analyze(&d, &c, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.groups[0].params.scale, f32::MAX / 128.0);
        assert!(a.levels.iter().all(|l| l.is_finite()));
        assert!(a.metrics.mse.is_finite() && a.metrics.sqnr_db.is_finite());
        assert_eq!(a.metrics.overflowed, 0);
        // Asymmetric: β − α overflows f32, the scale is computed in f64.
        let a = analyze(&d, &QuantizerConfig::default(), &AnalysisOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(a.groups[0].params.scale.is_finite());
        assert!(a.metrics.cosine_similarity > 0.99);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn per_channel_gets_one_range_per_row() {
        let d = dataset(vec![2, 3], vec![1.0, -2.0, 3.0, 10.0, 20.0, -30.0]);
        let c = QuantizerConfig {
            granularity: Granularity::Channel { axis: 0 },
            ..Default::default()
        };
        let a = analyze(&d, &c, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.groups.len(), 2);
        assert_eq!(a.groups[0].clip, (-2.0, 3.0));
        assert_eq!(a.groups[1].clip, (-30.0, 20.0));
        let c = QuantizerConfig {
            granularity: Granularity::Channel { axis: 1 },
            calibration: Calibration::Percentile { p: 100.0 },
            ..Default::default()
        };
        let a = analyze(&d, &c, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.groups.len(), 3);
        assert_eq!(a.groups[2].clip, (-30.0, 3.0));
        assert_eq!(a.metrics.bits_per_value, 8.0 + 3.0 * 40.0 / 6.0);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn per_group_calibration_uses_each_groups_own_values() {
        let d = dataset(
            vec![2, 4],
            vec![1.0, -2.0, 3.0, 4.0, -10.0, 20.0, 0.5, 0.25],
        );
        for calibration in [Calibration::MinMax, Calibration::Percentile { p: 100.0 }] {
            let c = QuantizerConfig {
                granularity: Granularity::Group { size: 2 },
                calibration,
                ..Default::default()
            };
            let a = analyze(&d, &c, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"));
            let clips: Vec<(f32, f32)> = a.groups.iter().map(|g| g.clip).collect();
            assert_eq!(
                clips,
                vec![(-2.0, 1.0), (0.0, 4.0), (-10.0, 20.0), (0.0, 0.5)],
                "{calibration:?}"
            );
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn bad_configurations_are_errors_not_panics() {
        let d = dataset(vec![2, 3], vec![0.0; 6]);
        let c = QuantizerConfig {
            granularity: Granularity::Group { size: 4 },
            ..Default::default()
        };
        assert!(matches!(
            analyze(&d, &c, &AnalysisOptions::default()),
            Err(AnalyzeError::Layout(LayoutError::GroupSize { .. }))
        ));
        let c = QuantizerConfig {
            bits: 0,
            ..Default::default()
        };
        assert!(matches!(
            analyze(&d, &c, &AnalysisOptions::default()),
            Err(AnalyzeError::Config(ConfigError::Bits(0)))
        ));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn one_calibration_for_metrics_and_codes_equals_two() {
        let mut v: Vec<f32> = crate::synth::generate(crate::synth::Distribution::Laplace, 4096, 3)
            .unwrap_or_default();
        v[5] = f32::NAN;
        let d = dataset(vec![32, 128], v);
        let mut configs: Vec<QuantizerConfig> = [
            "int8", "int4-g32", "mxfp4", "nvfp4", "nf4", "q4_0", "kmeans16",
        ]
        .iter()
        .map(|name| crate::presets::preset(name).unwrap_or_else(|| panic!("{name}")))
        .collect();
        configs.push(QuantizerConfig {
            format: crate::format::Format::Kmeans,
            vector_dim: 2,
            calibration: Calibration::MinMax,
            ..Default::default()
        });
        configs.push(QuantizerConfig {
            calibration: Calibration::Mse,
            granularity: Granularity::Channel { axis: 0 },
            ..Default::default()
        });
        let options = AnalysisOptions::default();
        for c in configs {
            let (a, q) = analyze_and_quantize(&d, &c, &options).unwrap_or_else(|e| panic!("{e}"));
            let a2 = analyze(&d, &c, &options).unwrap_or_else(|e| panic!("{e}"));
            let q2 = quantize(&d, &c).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(a, a2, "{:?}", c.format);
            assert_eq!(q.codes, q2.codes, "{:?}", c.format);
            assert_eq!(
                q.dequantized
                    .iter()
                    .map(|x| x.to_bits())
                    .collect::<Vec<_>>(),
                q2.dequantized
                    .iter()
                    .map(|x| x.to_bits())
                    .collect::<Vec<_>>(),
                "{:?}",
                c.format
            );
            assert_eq!(q.groups, q2.groups);
        }
    }

    /// The small-group pass against the per-value reference for every rounding mode, on data
    /// with NaN and ±Inf; on wasm32 the pass is the SIMD128 form.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn small_group_pass_equals_the_reference() {
        let mut v = crate::synth::generate(crate::synth::Distribution::Laplace, 32 * 40, 2)
            .unwrap_or_default();
        v[7] = f32::NAN;
        v[300] = f32::INFINITY;
        let d = dataset(vec![40, 32], v);
        for rounding in [
            Rounding::NearestEven,
            Rounding::NearestAway,
            Rounding::Floor,
        ] {
            for (bits, scheme) in [
                (4, Scheme::Symmetric),
                (3, Scheme::Asymmetric),
                (8, Scheme::Asymmetric),
            ] {
                let c = QuantizerConfig {
                    bits,
                    scheme,
                    rounding,
                    granularity: Granularity::Group { size: 8 },
                    ..Default::default()
                };
                let layout =
                    GroupLayout::new(c.granularity, d.shape()).unwrap_or_else(|e| panic!("{e}"));
                let groups = calibrate_int(&d, &layout, &c, 0..layout.n_groups);
                let (hist, binner) = Histogram::empty(-3.0, 3.0, 29);
                let (qmin, qmax) = c.code_range();
                let mut acc = ErrorAccumulator::default();
                let mut counts = vec![0u64; (qmax - qmin + 1) as usize];
                let mut bins = hist.counts.clone();
                for_each_quantized(
                    d.values(),
                    &layout,
                    0..d.len(),
                    &groups,
                    &c,
                    |_, _, r, q, r_hat, clipped| {
                        acc.add(r, r_hat, clipped);
                        counts[(q - qmin) as usize] += 1;
                        bins[binner.bin(r_hat)] += 1;
                    },
                );
                let (got, got_counts, got_bins) =
                    int_tally(d.values(), &layout, 0..d.len(), &groups, &c, &binner, false);
                assert_eq!(got_counts, counts, "{rounding:?} {bits}");
                assert_eq!(got_bins, bins, "{rounding:?} {bits}");
                let (a, b) = (got.finish(), acc.finish());
                assert_eq!(
                    (a.n, a.clipped_fraction, a.max_abs_error),
                    (b.n, b.clipped_fraction, b.max_abs_error)
                );
                assert!((a.mse - b.mse).abs() <= 1e-12 * a.mse.max(b.mse));
            }
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn unsigned_one_bit_and_sixteen_bit_work() {
        let v: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin()).collect();
        let d = dataset(vec![1000], v);
        for bits in [1, 2, 16] {
            for signedness in [Signedness::Signed, Signedness::Unsigned] {
                let c = QuantizerConfig {
                    bits,
                    signedness,
                    ..Default::default()
                };
                let a =
                    analyze(&d, &c, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"));
                assert!(a.metrics.levels_used <= 1 << bits);
                assert_eq!(a.levels.len(), 1 << bits);
            }
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use super::*;
    use crate::config::{Calibration, Granularity};
    use crate::run::{analyze, quantize};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// A two-level bound from only the groups that could hold it (largest |x| first) is
        /// the bound of calibrating every group, bit for bit, over any range of groups; and
        /// every calibrator said to stay within the data does, group by group.
        #[test]
        fn a_bound_from_the_groups_that_could_hold_it_is_every_groups_bound(
            dist in 0usize..3,
            n_groups in 1usize..40,
            group in proptest::sample::select(vec![8usize, 16, 32]),
            seed in any::<u64>(),
            method in 0usize..5,
            p in 90.0f64..100.0,
            nvfp4 in any::<bool>(),
            specials in proptest::collection::vec((0usize..1280, 0u8..4), 0..10),
            constant_group in any::<bool>(),
            cut in (0usize..40, 0usize..40),
        ) {
            let n = n_groups * group;
            let d = [
                crate::synth::Distribution::Normal,
                crate::synth::Distribution::Laplace,
                crate::synth::Distribution::StudentT { nu: 2.0 },
            ][dist];
            let mut v = crate::synth::generate(d, n, seed).unwrap_or_default();
            for (i, kind) in specials {
                v[i % n] = [f32::NAN, f32::INFINITY, 0.0, -0.0][usize::from(kind)];
            }
            if constant_group {
                v[..group].fill(1.25);
            }
            let calibration = [
                Calibration::MinMax,
                Calibration::Percentile { p },
                Calibration::Mse,
                Calibration::Sqnr { gamma: 3.0 },
                Calibration::Kl,
            ][method];
            prop_assert!(calibration.within_data());
            let base = if nvfp4 {
                crate::presets::preset("nvfp4").unwrap_or_default()
            } else {
                QuantizerConfig {
                    bits: 4,
                    scheme: crate::config::Scheme::Symmetric,
                    scale_format: ScaleFormat::E4m3,
                    ..Default::default()
                }
            };
            let config = bound_key(&QuantizerConfig {
                calibration,
                granularity: Granularity::Group { size: group },
                ..base
            });
            let layout = crate::plan::layout_for(&config, &[n_groups, group])
                .unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(layout.n_groups, n_groups);
            let (a, b) = (cut.0 % (n_groups + 1), cut.1 % (n_groups + 1));
            for groups in [0..n_groups, a.min(b)..a.max(b)] {
                let ranges = calibrate_ranges(&v, &layout, &config, Known::NOTHING, groups.clone());
                let every = largest_bound(&ranges);
                let pruned = groups_amax(&v, &layout, &config, Known::NOTHING, groups.clone());
                prop_assert_eq!(pruned.to_bits(), every.to_bits(), "{:?} {:?}", calibration, groups);
                for (g, range) in groups.zip(&ranges) {
                    let reach = crate::calib::finite_abs_max(&v[layout.chunk_of(g)]);
                    if let Some((lo, hi)) = range {
                        prop_assert!(lo.abs().max(hi.abs()) <= reach, "{:?}: {:?} beyond {}", calibration, range, reach);
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn per_channel_steps_and_errors_are_never_larger_than_per_tensor(
            rows in 1usize..6,
            cols in 1usize..12,
            seed in any::<u64>(),
            bits in 2u8..9,
            symmetric in any::<bool>(),
        ) {
            let values = crate::synth::generate(crate::synth::Distribution::StudentT { nu: 3.0 }, rows * cols, seed)
                .unwrap_or_default();
            let d = Dataset::new("t", vec![rows, cols], values).unwrap_or_else(|e| panic!("{e}"));
            let base = QuantizerConfig {
                bits,
                scheme: if symmetric { Scheme::Symmetric } else { Scheme::Asymmetric },
                ..Default::default()
            };
            let per_tensor = analyze(&d, &base, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"));
            let per_channel = analyze(
                &d,
                &QuantizerConfig { granularity: Granularity::Channel { axis: 0 }, ..base.clone() },
                &AnalysisOptions::default(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            // Each row's own range lies inside the tensor's, so its step is never larger, and the
            // per-channel error stays within half the per-tensor step — plus f32 noise: r̂ = q·S
            // is rounded to f32, an error of up to half an ulp of the largest |x| (Student-t
            // tails reach ~70, where an ulp is 7.6e-6; a fixed 1e-6 failed on one such seed).
            let s_tensor = per_tensor.groups[0].params.scale;
            prop_assert!(per_channel.groups.iter().all(|g| g.params.scale <= s_tensor));
            let amax = f64::from(d.summary().min.abs().max(d.summary().max.abs()));
            let bound = f64::from(s_tensor) / 2.0 * (1.0 + 1e-5) + 1e-6 + amax * f64::from(f32::EPSILON);
            prop_assert!(per_channel.metrics.max_abs_error <= bound, "{} > {}", per_channel.metrics.max_abs_error, bound);
            prop_assert!(per_tensor.metrics.max_abs_error <= bound);
        }

        /// Symmetric min–max groups are calibrated from the largest finite |x| alone: the same
        /// bound, the same parameters and clipping range as from the ordered (min, max), and
        /// `None` exactly where a group has no finite value — with NaN, ±Inf, ±0 and groups of
        /// zeros or of NaN only.
        #[test]
        fn symmetric_groups_from_their_largest_magnitude_equal_the_min_max_ones(
            n_groups in 1usize..24,
            group in proptest::sample::select(vec![1usize, 7, 16, 32, 128]),
            seed in any::<u64>(),
            bits in 2u8..9,
            scale_format in proptest::sample::select(vec![ScaleFormat::F32, ScaleFormat::F16, ScaleFormat::Bf16]),
            specials in proptest::collection::vec((0usize..4096, 0u8..5), 0..24),
            filled in proptest::collection::vec((0usize..24, 0u8..3), 0..4),
        ) {
            let n = n_groups * group;
            let mut v = crate::synth::generate(crate::synth::Distribution::Laplace, n, seed)
                .unwrap_or_default();
            for (i, kind) in specials {
                v[i % n] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0][usize::from(kind)];
            }
            for (g, kind) in filled {
                let g = g % n_groups;
                v[g * group..(g + 1) * group].fill([0.0, -0.0, f32::NAN][usize::from(kind)]);
            }
            let config = QuantizerConfig {
                bits,
                scheme: Scheme::Symmetric,
                granularity: Granularity::Group { size: group },
                scale_format,
                ..Default::default()
            };
            let layout = crate::plan::layout_for(&config, &[n]).unwrap_or_else(|e| panic!("{e}"));
            let ranges = calibrate_ranges(&v, &layout, &config, Known::NOTHING, 0..n_groups);
            let params = calibrate_groups(&v, &layout, &config, Known::NOTHING, 0..n_groups);
            for g in 0..n_groups {
                let chunk = &v[layout.chunk_of(g)];
                let ordered = clip_range(chunk, &config);
                prop_assert_eq!(ranges[g].is_none(), ordered.is_none(), "group {}", g);
                let (lo, hi) = ordered.unwrap_or((0.0, 0.0));
                let (a, b) = ranges[g].unwrap_or((0.0, 0.0));
                prop_assert_eq!(lo.abs().max(hi.abs()).to_bits(), a.abs().max(b.abs()).to_bits());
                // What calibrate_groups made of the ordered range.
                let p = AffineParams::from_range(lo, hi, &config);
                let stored = match scale_format {
                    ScaleFormat::F32 => p.scale,
                    _ => stored_scale(p.scale, ElementRange::of(1.0), scale_format, config.scale_rounding, 1.0),
                };
                let p = p.with_scale(stored, false);
                let m = max_nan_last(min_nan_last(lo, 0.0).abs(), max_nan_last(hi, 0.0));
                let got = params[g];
                prop_assert_eq!(got.params.scale.to_bits(), p.scale.to_bits(), "group {}", g);
                prop_assert_eq!(got.params.zero_point, p.zero_point);
                prop_assert_eq!((got.clip.0.to_bits(), got.clip.1.to_bits()), ((-m).to_bits(), m.to_bits()));
            }
        }

        /// The batched symmetric min–max calibration gives what the group-by-group path gives,
        /// bit for bit (scale, zero-point, code range, clipping range): signed and unsigned,
        /// narrow ranges, 16-bit and f32 scales, groups of zeros (either sign) or non-finite
        /// values only, magnitudes near f32::MAX (the scale capped) and subnormal ones (the
        /// scale floor).
        #[test]
        fn batched_symmetric_groups_equal_the_general_path(
            n_groups in 2usize..24,
            group in proptest::sample::select(vec![7usize, 16, 32, 33, 64, 128]),
            seed in any::<u64>(),
            bits in 2u8..17,
            unsigned in any::<bool>(),
            narrow_range in any::<bool>(),
            scale_format in proptest::sample::select(vec![ScaleFormat::F32, ScaleFormat::F16, ScaleFormat::Bf16]),
            magnitude in proptest::sample::select(vec![1f32, 1e-40, 1e-30, 3e38, 1e30]),
            specials in proptest::collection::vec((0usize..700, 0u8..6), 0..24),
            filled in proptest::collection::vec((0usize..24, 0u8..4), 0..4),
        ) {
            let n = n_groups * group;
            let mut v: Vec<f32> = crate::synth::generate(crate::synth::Distribution::Laplace, n, seed)
                .unwrap_or_default()
                .into_iter()
                .map(|x| (x / 8.0 * magnitude).clamp(-f32::MAX, f32::MAX))
                .collect();
            for (i, kind) in specials {
                v[i % n] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, f32::MAX][usize::from(kind)];
            }
            for (g, kind) in filled {
                let g = g % n_groups;
                v[g * group..(g + 1) * group].fill([0.0, -0.0, f32::NAN, f32::INFINITY][usize::from(kind)]);
            }
            let config = QuantizerConfig {
                bits,
                scheme: Scheme::Symmetric,
                signedness: if unsigned { crate::config::Signedness::Unsigned } else { crate::config::Signedness::Signed },
                narrow_range,
                granularity: Granularity::Group { size: group },
                scale_format,
                ..Default::default()
            };
            let layout = crate::plan::layout_for(&config, &[n]).unwrap_or_else(|e| panic!("{e}"));
            let batched = symmetric_min_max_groups(&v, &layout, &config, 0..layout.n_groups);
            prop_assert!(batched.is_some(), "the batched path takes this configuration");
            let each = calibrate_each_group(&v, &layout, &config, Known::NOTHING, 0..layout.n_groups);
            let bits_of = |g: &GroupParams| (
                g.clip.0.to_bits(), g.clip.1.to_bits(), g.params.scale.to_bits(),
                g.params.zero_point, g.params.qmin, g.params.qmax, g.offset.to_bits(),
            );
            let batched: Vec<_> = batched.unwrap_or_default().iter().map(bits_of).collect();
            let each: Vec<_> = each.iter().map(bits_of).collect();
            prop_assert_eq!(batched, each);
        }

        /// The fused block kernel (with and without its finite-value mask, whole and partial
        /// blocks) gives the metrics of the plain per-value path over `quantize`'s output.
        #[test]
        fn fused_pass_equals_the_per_value_path(
            rows in 1usize..5,
            cols in 1usize..40,
            seed in any::<u64>(),
            bits in 1u8..=9,
            specials in proptest::collection::vec((0usize..200, 0u8..3), 0..4),
            rounding in prop_oneof![Just(Rounding::NearestEven), Just(Rounding::NearestAway), Just(Rounding::Floor)],
            per_row in any::<bool>(),
        ) {
            let mut values = crate::synth::generate(crate::synth::Distribution::StudentT { nu: 3.0 }, rows * cols, seed)
                .unwrap_or_default();
            for (i, kind) in specials {
                let n = values.len();
                values[i % n] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][usize::from(kind)];
            }
            // A tensor with no finite value is refused when loaded.
            prop_assume!(values.iter().any(|v| v.is_finite()));
            let d = Dataset::new("t", vec![rows, cols], values.clone()).unwrap_or_else(|e| panic!("{e}"));
            let granularity = if per_row { Granularity::Channel { axis: 0 } } else { Granularity::Tensor };
            let c = QuantizerConfig { bits, rounding, granularity, ..Default::default() };
            let a = analyze(&d, &c, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"));
            let q = quantize(&d, &c).unwrap_or_else(|e| panic!("{e}"));
            let (qmin, qmax) = c.code_range();
            let mut acc = ErrorAccumulator::default();
            let mut counts = vec![0u64; (qmax - qmin + 1) as usize];
            for (i, &r) in values.iter().enumerate().filter(|(_, r)| r.is_finite()) {
                let p = q.groups[if per_row { i / cols } else { 0 }].params;
                let (code, clipped) = p.code_from_real(r, p.inv_scale(), rounding, 0.0);
                prop_assert_eq!(code, q.codes[i]);
                acc.add(r, q.dequantized[i], clipped);
                counts[(code - qmin) as usize] += 1;
            }
            let want = crate::metrics::Metrics::from_parts(&acc, &counts, a.metrics.bits_per_value);
            prop_assert_eq!(a.metrics.n, want.n);
            prop_assert_eq!(a.metrics.clipped_fraction, want.clipped_fraction);
            prop_assert_eq!(a.metrics.levels_used, want.levels_used);
            prop_assert_eq!(a.metrics.code_entropy_bits, want.code_entropy_bits);
            prop_assert_eq!(a.metrics.max_abs_error, want.max_abs_error);
            // The sums are the same numbers added in another order.
            for (got, want) in [(a.metrics.mse, want.mse), (a.metrics.mean_abs_error, want.mean_abs_error),
                                (a.metrics.cosine_similarity, want.cosine_similarity)] {
                prop_assert!((got - want).abs() <= 1e-12 * want.abs().max(1e-30), "{} vs {}", got, want);
            }
            // The per-tensor pass splits off the clipped values' error (the small-groups pass of
            // short rows does not).
            prop_assert!(per_row || a.metrics.clipping_mse.is_some());
            if let (Some(got), Some(want)) = (a.metrics.clipping_mse, want.clipping_mse) {
                prop_assert!((got - want).abs() <= 1e-12 * want.abs().max(1e-30), "{} vs {}", got, want);
            }
        }

        /// The small-groups pass (one code table, reconstructions binned one by one) gives the
        /// numbers of coding each value by the reference path, for every rounding mode but
        /// stochastic, NaN/±Inf included.
        #[test]
        fn small_group_pass_equals_the_per_value_path(
            rows in 1usize..5,
            cols in proptest::sample::select(vec![8usize, 24, 64]),
            group in proptest::sample::select(vec![1usize, 4, 8]),
            seed in any::<u64>(),
            bits in 1u8..=10,
            symmetric in any::<bool>(),
            scale_format in proptest::sample::select(vec![ScaleFormat::F32, ScaleFormat::F16, ScaleFormat::Bf16]),
            rounding in prop_oneof![Just(Rounding::NearestEven), Just(Rounding::NearestAway), Just(Rounding::Floor)],
            specials in proptest::collection::vec((0usize..400, 0u8..3), 0..5),
        ) {
            let n = rows * cols;
            let mut v = crate::synth::generate(crate::synth::Distribution::StudentT { nu: 3.0 }, n, seed).unwrap_or_default();
            for (i, kind) in specials {
                v[i % n] = [f32::NAN, f32::INFINITY, 0.0][usize::from(kind)];
            }
            prop_assume!(v.iter().any(|x| x.is_finite()));
            let d = Dataset::new("t", vec![rows, cols], v).unwrap_or_else(|e| panic!("{e}"));
            let c = QuantizerConfig {
                bits,
                rounding,
                scale_format,
                scheme: if symmetric { Scheme::Symmetric } else { Scheme::Asymmetric },
                granularity: Granularity::Group { size: group },
                ..Default::default()
            };
            let layout = GroupLayout::new(c.granularity, d.shape()).unwrap_or_else(|e| panic!("{e}"));
            let groups = calibrate_int(&d, &layout, &c, 0..layout.n_groups);
            let (hist, binner) = Histogram::empty(d.summary().min, d.summary().max, 23);
            let (qmin, qmax) = c.code_range();
            let mut acc = ErrorAccumulator::default();
            let mut counts = vec![0u64; (qmax - qmin + 1) as usize];
            let mut bins = hist.counts.clone();
            for_each_quantized(d.values(), &layout, 0..n, &groups, &c, |_, _, r, q, r_hat, clipped| {
                acc.add(r, r_hat, clipped);
                counts[(q - qmin) as usize] += 1;
                bins[binner.bin(r_hat)] += 1;
            });
            let (got, got_counts, got_bins) = int_tally(d.values(), &layout, 0..n, &groups, &c, &binner, false);
            prop_assert_eq!(got_counts, counts);
            prop_assert_eq!(got_bins, bins);
            let (a, b) = (got.finish(), acc.finish());
            prop_assert_eq!((a.n, a.clipped_fraction, a.max_abs_error), (b.n, b.clipped_fraction, b.max_abs_error));
            prop_assert!((a.mse - b.mse).abs() <= 1e-12 * a.mse.abs().max(b.mse.abs()));
        }

        #[test]
        fn histograms_count_every_finite_value(values in proptest::collection::vec(-1e3f32..1e3, 1..300), bits in 1u8..=16) {
            let d = Dataset::from_vec("t", values.clone()).unwrap_or_else(|e| panic!("{e}"));
            let a = analyze(&d, &QuantizerConfig { bits, ..Default::default() }, &AnalysisOptions::default())
                .unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(a.input_hist.total(), values.len() as u64);
            prop_assert_eq!(a.output_hist.total(), values.len() as u64);
            prop_assert!(a.metrics.levels_used <= 1 << bits);
            prop_assert!(a.metrics.code_entropy_bits <= f64::from(bits) + 1e-9);
        }
    }
}
