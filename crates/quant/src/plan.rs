//! Every format other than `int`: the per-block plan (scales and element coders) and the pass that
//! quantizes, measures and bins with it.
//!
//! ```text
//! For a value r in block g:   x = (r − o_g) / S_g      (or (r − o_g) · (1/S_g) where the
//!                                                        reference implementation multiplies)
//!                             e = element(x)            (nearest level, or the format's cast)
//!                             r̂ = S'_g · e + o'_g
//! S' and o' are what is stored (GGML stores d and m as f16 after coding with the f32 values).
//! ```
//! Vector codebooks (`kmeans` with sub-vector length D > 1) code D values at a time instead.

use crate::affine::AffineParams;
use crate::analysis::{merge_one, Analysis, AnalysisOptions, AnalyzeError, Block};
use crate::analysis::{GroupParams, PartialAnalysis, Quantized, Share};
use crate::analyze::{calibrate_ranges, histogram_range, tensor_amax, Known};
use crate::block::{stored_scale, tensor_scale, ElementRange, ScaleFormat, ScaleRounding};
use crate::config::{Calibration, Granularity, QuantizerConfig, Scheme};
use crate::dataset::Dataset;
use crate::format::Element;
use crate::granularity::{GroupLayout, LayoutError};
use crate::histogram::Histogram;
use crate::metrics::ErrorAccumulator;
use crate::metrics::LANES;
use crate::minifloat::FP8_E4M3;
use crate::pq::VectorCodebook;

/// The blocks and element coders of a scalar format, for the consecutive groups
/// `first..first + blocks.len()` of its layout (all of them unless built for one share).
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub layout: GroupLayout,
    pub elements: Vec<Element>,
    pub first: usize,
    pub blocks: Vec<Block>,
    pub bits_per_value: f64,
    pub notes: Vec<String>,
    /// For the GGML types coded through llama.cpp's byte layout: the blocks' bytes, which give
    /// every value's code and r̂ exactly (`blocks` then describes each sub-block for the views).
    pub coded: Option<crate::ggml::Coded>,
}

impl Plan {
    /// The block of group `g` (which the plan holds).
    #[inline]
    pub fn block(&self, g: usize) -> &Block {
        &self.blocks[g - self.first]
    }

    /// The groups the plan holds.
    pub fn groups(&self) -> std::ops::Range<usize> {
        self.first..self.first + self.blocks.len()
    }
}

/// The layout a format uses: its own fixed blocks (the GGML types), the tensor (formats that
/// take no granularity: casts, fixed point), or the configured granularity.
pub fn layout_for(config: &QuantizerConfig, shape: &[usize]) -> Result<GroupLayout, LayoutError> {
    let granularity = match config.format.ggml_type() {
        Some(ty) => {
            // Whole (super-)blocks along the rows; the groups are their sub-blocks.
            let block = ty.block_layout().0;
            let last = shape.last().copied().unwrap_or(0);
            if last % block != 0 {
                return Err(LayoutError::Blocks {
                    ty: ty.name(),
                    block,
                    last,
                });
            }
            Granularity::Group {
                size: ty.sub_block_len(),
            }
        }
        None if config.format.knobs().granularity => config.granularity,
        None => Granularity::Tensor,
    };
    GroupLayout::new(granularity, shape)
}

/// Checks that `config`'s blocks (or sub-vectors) fit a tensor of `shape`.
pub fn check_layout(config: &QuantizerConfig, shape: &[usize]) -> Result<(), LayoutError> {
    layout_for(config, shape)?;
    if config.knobs().codebook && config.vector_dim > 1 {
        let last = shape.last().copied().unwrap_or(0);
        if last % config.vector_dim != 0 {
            return Err(LayoutError::VectorDim {
                dim: config.vector_dim,
                last,
            });
        }
    }
    Ok(())
}

/// How an absmax-scaled format (minifloats, NF4, log2) codes one element: its coder, the
/// range it spans, whether its reference multiplies by 1/S, how its scales are stored and the
/// bits of one code.
pub(crate) struct AbsmaxElement {
    pub element: Element,
    pub range: ElementRange,
    pub multiply: bool,
    pub scale_format: ScaleFormat,
    pub rounding: ScaleRounding,
    pub bits: f64,
}

/// The plan of an absmax-scaled format for the groups `groups` of its layout (`None`: every
/// group): each block's S = amax / (the element's largest value), stored as the scale format
/// says (two-level for E4M3: a tensor scale over the block scales).
pub(crate) fn absmax_plan(
    dataset: &Dataset,
    config: &QuantizerConfig,
    groups: Option<std::ops::Range<usize>>,
    e: AbsmaxElement,
    notes: Vec<String>,
) -> Result<Plan, AnalyzeError> {
    let (values, summary) = (dataset.values(), dataset.summary());
    let layout = layout_for(config, dataset.shape())?;
    let groups = groups.unwrap_or(0..layout.n_groups);
    let first = groups.start;
    let n = values.len().max(1) as f64;
    let n_groups = layout.n_groups as f64;
    let symmetric = QuantizerConfig {
        scheme: Scheme::Symmetric,
        ..config.clone()
    };
    let known = Known::of(dataset);
    let all = groups == (0..layout.n_groups);
    let (amaxes, amax) = if config.calibration == Calibration::MinMax
        && layout.is_contiguous()
        && layout.n_groups > 1
    {
        // The blocks of MX, NVFP4 and their kin: each block's bound straight from its
        // chunk (the same figure as the bound of its min-max range, tested).
        let amaxes = crate::analyze::group_abs_maxes(values, &layout, groups.clone());
        let amax = if all {
            amaxes.iter().fold(0f32, |a, &b| a.max(b))
        } else {
            summary.min.abs().max(summary.max.abs())
        };
        (amaxes, amax)
    } else {
        let ranges = calibrate_ranges(values, &layout, &symmetric, known, groups.clone());
        let amaxes = ranges
            .iter()
            .map(|r| r.map_or(0.0, |(lo, hi)| lo.abs().max(hi.abs())))
            .collect();
        let amax = if e.scale_format == ScaleFormat::E4m3 {
            tensor_amax(values, &layout, &symmetric, known, &ranges, groups)
        } else {
            0.0
        };
        (amaxes, amax)
    };
    let t = tensor_scale(e.scale_format, amax, e.range);
    let scales = stored_scales(&amaxes, e.range, e.scale_format, e.rounding, t);
    let blocks = amaxes
        .iter()
        .zip(scales)
        .map(|(&amax, s)| {
            // A subnormal scale has no finite reciprocal: divide instead.
            let multiply = (e.multiply || exact_reciprocal(s)) && finite_bits(1.0 / s);
            Block {
                enc_scale: if multiply { 1.0 / s } else { s },
                multiply,
                enc_offset: 0.0,
                dec_scale: s,
                dec_offset: 0.0,
                element: 0,
                clip: (-amax, amax),
            }
        })
        .collect();
    Ok(Plan {
        layout,
        elements: vec![e.element],
        first,
        blocks,
        bits_per_value: e.bits
            + (n_groups * f64::from(e.scale_format.bits())
                + f64::from(e.scale_format.tensor_bits()))
                / n,
        notes,
        coded: None,
    })
}

/// Whether `s` is a normal power of two, 2^k (every E8M0 scale but 2^−127): its reciprocal
/// 2^−k is exact, so x / s and x · (1/s) are the same real number, rounded alike — the same
/// f32 for every x — and a format whose reference divides may multiply instead (natively the
/// division was the longest step of MX's element coding: MXFP4 1.29 → 1.21 ms at 1M).
///
/// On the bits — a zero mantissa under an exponent field of 1 to 254 — rather than
/// `s.is_normal()`: LLVM makes that a class test that x86 lowers lane by lane in integer
/// registers, and an NVFP4 plan asks it of 65,536 scales at 1M values.
#[inline(always)]
pub(crate) fn exact_reciprocal(s: f32) -> bool {
    let magnitude = s.to_bits() & 0x7FFF_FFFF;
    magnitude & 0x007F_FFFF == 0 && magnitude.wrapping_sub(0x0080_0000) < 0x7F00_0000
}

/// `x.is_finite()` on the bits, for the reason [`exact_reciprocal`] gives.
#[inline(always)]
fn finite_bits(x: f32) -> bool {
    x.to_bits() & 0x7FFF_FFFF < 0x7F80_0000
}

impl Block {
    /// A block that codes values as they are (scale 1, no offset) with element coder `element`.
    pub(crate) fn unscaled(clip: (f32, f32), element: usize) -> Self {
        Self {
            enc_scale: 1.0,
            multiply: false,
            enc_offset: 0.0,
            dec_scale: 1.0,
            dec_offset: 0.0,
            element,
            clip,
        }
    }
}

/// The values of each group of `groups`, borrowed when a group is one contiguous chunk.
pub(crate) fn group_values<'a>(
    values: &'a [f32],
    layout: &GroupLayout,
    groups: std::ops::Range<usize>,
) -> Vec<std::borrow::Cow<'a, [f32]>> {
    if layout.is_contiguous() {
        groups
            .map(|g| std::borrow::Cow::Borrowed(&values[layout.chunk_of(g)]))
            .collect()
    } else {
        let mut all = layout.gather_all(values);
        all.drain(groups).map(std::borrow::Cow::Owned).collect()
    }
}

/// (code, r̂, clipped) of every value of block `b` of `coded`, as its bytes decode: clipped when
/// the value lies beyond its sub-block's outermost level by more than half the gap next to it.
fn decode_coded(coded: &crate::ggml::Coded, b: usize, buf: &mut Decoded) {
    let Some(codec) = coded.codec() else {
        return;
    };
    let n = codec.block_values();
    let bytes = coded.block(b);
    buf.codes.resize(n, 0);
    buf.values.resize(n, 0.0);
    codec.codes_block(bytes, &mut buf.codes);
    let subs = codec.sub_blocks(bytes);
    // Sub-blocks of one length, a power of two, one after another (every type's): one edge per
    // sub-block, found by a shift.
    let len = subs.first().map_or(n, |s| s.len).max(1);
    let even = len.is_power_of_two()
        && subs.len() * len == n
        && subs
            .iter()
            .enumerate()
            .all(|(j, s)| s.start == j * len && s.len == len);
    buf.sub_shift = if even { len.trailing_zeros() } else { 0 };
    if !(even && decode_by_levels(codec.adds_offset(), &subs, &buf.codes, &mut buf.values)) {
        codec.dequantize_block(bytes, &mut buf.values);
    }
    // Per sub-block: its lowest and highest reconstruction and the half gaps beside them.
    buf.edges.clear();
    for sub in subs {
        let order = buf.order.of(&sub.levels);
        let [lo, next_lo, next_hi, hi] = sub_block_ends(&sub.levels, sub.scale, sub.offset, order);
        let half = |a: f32, b: f32| (b - a).abs() / 2.0;
        let (gap_lo, gap_hi) = if sub.levels.len() > 1 {
            (half(lo, next_lo), half(next_hi, hi))
        } else {
            (0.0, 0.0)
        };
        let edge = (lo - gap_lo, hi + gap_hi, sub.scale);
        if even {
            buf.edges.push(edge);
        } else {
            buf.edges.extend(std::iter::repeat_n(edge, sub.len));
        }
    }
}

/// Each value's r̂ from its code as its sub-block decodes it, `level · d (+ m)` — the
/// dequantizer's own arithmetic for every GGML type (a test holds the two bit for bit), with
/// the codes already at hand instead of unpacking every value's bits a second time (natively
/// ~7 % of a Q6_K analysis). False, with `values` unfinished, if a code has no level.
fn decode_by_levels(
    adds_offset: bool,
    subs: &[crate::ggml::SubBlock],
    codes: &[u32],
    values: &mut [f32],
) -> bool {
    for sub in subs {
        let range = sub.start..sub.start + sub.len;
        let (Some(codes), Some(values)) = (codes.get(range.clone()), values.get_mut(range)) else {
            return false;
        };
        let levels = &sub.levels[..];
        if codes.iter().any(|&c| c as usize >= levels.len()) {
            return false;
        }
        let (d, m) = (sub.scale, sub.offset);
        for (v, &c) in values.iter_mut().zip(codes) {
            let level = levels[c as usize];
            *v = if adds_offset {
                level * d + m
            } else {
                level * d
            };
        }
    }
    true
}

/// One block decoded by [`decode_coded`]: each value's code and r̂, and each sub-block's
/// (lowest and highest edge, scale); the buffers kept from block to block.
#[derive(Default)]
struct Decoded {
    codes: Vec<u32>,
    values: Vec<f32>,
    edges: Vec<(f32, f32, f32)>,
    /// log2 of the values per entry of `edges` (a sub-block's length, or 1).
    sub_shift: u32,
    order: LevelOrders,
}

/// The first two and the last two of the reconstructions `level · scale + offset` of `levels`
/// sorted by `f32::total_cmp` (one level: it four times). `order` holds the indices of the
/// least, the second least, the second greatest and the greatest level ([`level_order`]).
///
/// With a finite non-zero scale and a finite offset, the map is monotone (rounding is), rising
/// or falling with the scale's sign, and its zeros keep that order too (−0 before +0), so these
/// are the images of those four levels, in that order or reversed — four products instead of
/// sorting each sub-block's 16 to 64 reconstructions (the sort was ~9 % of Q6_K's analysis
/// natively). Anything else, or an image that is not finite, is sorted.
pub(crate) fn sub_block_ends(
    levels: &[f32],
    scale: f32,
    offset: f32,
    order: [usize; 4],
) -> [f32; 4] {
    let map = |l: f32| l * scale + offset;
    if scale.is_finite() && scale != 0.0 && offset.is_finite() {
        let [a, b, y, z] = order.map(|i| map(levels[i]));
        let ends = if scale > 0.0 {
            [a, b, y, z]
        } else {
            [z, y, b, a]
        };
        if ends.iter().all(|v| v.is_finite()) {
            return ends;
        }
    }
    let mut r: Vec<f32> = levels.iter().map(|&l| map(l)).collect();
    r.sort_by(f32::total_cmp);
    match r.len() {
        0 => [0.0; 4],
        n => [r[0], r[1.min(n - 1)], r[n.saturating_sub(2)], r[n - 1]],
    }
}

/// The [`level_order`] of the last static level table seen: every sub-block of a GGML type
/// borrows the same one, so it is found once a pass. Levels a sub-block owns are ordered
/// each time (an address alone could be a freed table's).
#[derive(Default)]
pub(crate) struct LevelOrders(Option<(*const f32, usize, [usize; 4])>);

impl LevelOrders {
    #[allow(clippy::ptr_arg)] // the variant says whether the table is static
    pub(crate) fn of(&mut self, levels: &std::borrow::Cow<'static, [f32]>) -> [usize; 4] {
        let key = (levels.as_ptr(), levels.len());
        let table = matches!(levels, std::borrow::Cow::Borrowed(_));
        match self.0 {
            Some((p, n, order)) if table && (p, n) == key => order,
            _ => {
                let order = level_order(levels);
                if table {
                    self.0 = Some((key.0, key.1, order));
                }
                order
            }
        }
    }
}

/// The indices of the least, the second least, the second greatest and the greatest of
/// `levels` by `f32::total_cmp` (for [`sub_block_ends`]).
fn level_order(levels: &[f32]) -> [usize; 4] {
    let mut idx: Vec<usize> = (0..levels.len()).collect();
    idx.sort_by(|&i, &j| levels[i].total_cmp(&levels[j]));
    match idx.len() {
        0 => [0; 4],
        n => [
            idx[0],
            idx[1.min(n - 1)],
            idx[n.saturating_sub(2)],
            idx[n - 1],
        ],
    }
}

/// Calls `visit(index, block, r, code, r̂, clipped)` for every finite value of `span`.
#[inline]
fn for_each_coded(
    values: &[f32],
    plan: &Plan,
    span: std::ops::Range<usize>,
    mut visit: impl FnMut(usize, usize, f32, u32, f32, bool),
) {
    if let Some(coded) = &plan.coded {
        let b_len = coded.ty.block_layout().0;
        let sub = plan.layout.chunk_len.max(1);
        let mut d = Decoded::default();
        let first = span.start / b_len;
        let last = span.end.div_ceil(b_len);
        for b in first..last {
            decode_coded(coded, b, &mut d);
            let start = b * b_len;
            let from = span.start.max(start);
            for (i, &r) in (from..).zip(&values[from..span.end.min(start + b_len)]) {
                if !r.is_finite() {
                    continue;
                }
                let (code, r_hat) = (d.codes[i - start], d.values[i - start]);
                let (lo, hi, scale) = d.edges[(i - start) >> d.sub_shift];
                let clipped = scale != 0.0 && (r < lo || r > hi);
                visit(i, i / sub, r, code, r_hat, clipped);
            }
        }
        return;
    }
    for (g, range) in plan.layout.chunks_in(span) {
        let block = *plan.block(g);
        let element = &plan.elements[block.element];
        let start = range.start;
        for (offset, &r) in values[range].iter().enumerate() {
            if !r.is_finite() {
                continue;
            }
            let (code, level, clipped) = element.encode(block.scaled(r));
            visit(
                start + offset,
                g,
                r,
                code,
                block.real_from_level(level),
                clipped,
            );
        }
    }
}

/// Copies of the code counts and bins that neighbouring values add to (see [`fused_coded`]).
const COPIES: usize = 4;

/// The fused pass of a GGML type coded through its bytes: llama.cpp's bytes give each value's
/// code and r̂ (block by block, [`decode_coded`]), and the error sums take them LANES at a time
/// by position, as the other block passes do.
///
/// One value after another through a visitor and [`ErrorAccumulator::add`] (its lane chosen at
/// run time, so scalar) was the larger part of the measuring pass in V8 (Q2_K: ~35 % of the
/// analysis, the visitor a call per value). The counts and bins are kept in [`COPIES`] copies,
/// value i adding to copy i mod COPIES, so that neighbouring values, which often share a code,
/// do not each wait for the other's store. The same counts, bins, clipping split and maximum
/// as [`for_each_coded`] (tests); the sums in other lanes, equal within rounding.
fn fused_coded(
    values: &[f32],
    coded: &crate::ggml::Coded,
    span: std::ops::Range<usize>,
    binner: &crate::histogram::Binner,
    n_codes: usize,
) -> (ErrorAccumulator, Vec<u64>, Vec<u64>) {
    let mut acc = ErrorAccumulator::default();
    // One slot more per copy for a code beyond the table (never reported).
    let (codes_w, bins_w) = (n_codes + 1, binner.bins());
    let mut counts = vec![0u64; COPIES * codes_w];
    let mut bins = vec![0u64; COPIES * bins_w];
    let (mut n, mut clipped_n, mut overflowed) = (0usize, 0usize, 0usize);
    let b_len = coded.ty.block_layout().0;
    let mut d = Decoded::default();
    for b in span.start / b_len..span.end.div_ceil(b_len) {
        decode_coded(coded, b, &mut d);
        let start = b * b_len;
        let (from, to) = (span.start.max(start), span.end.min(start + b_len));
        if d.values.len() < to - start || d.codes.len() < to - start {
            continue; // no codec (never: every coded plan has one)
        }
        let mut i = from;
        while i < to {
            let m = LANES.min(to - i);
            let (mut r, mut r_hat) = ([0f32; LANES], [0f32; LANES]);
            r[..m].copy_from_slice(&values[i..i + m]);
            r_hat[..m].copy_from_slice(&d.values[i - start..i - start + m]);
            let (mut counted, mut finite, mut clipped) =
                ([false; LANES], [false; LANES], [false; LANES]);
            for k in 0..m {
                let (lo, hi, scale) = d.edges[(i + k - start) >> d.sub_shift];
                counted[k] = r[k].is_finite();
                finite[k] = counted[k] && r_hat[k].is_finite();
                clipped[k] = scale != 0.0 && (r[k] < lo || r[k] > hi);
            }
            let bin: [u32; LANES] = std::array::from_fn(|k| binner.bin_u32(r_hat[k]));
            for k in 0..m {
                let copy = k % COPIES;
                let c = (d.codes[i + k - start] as usize).min(n_codes);
                counts[copy * codes_w + c] += u64::from(counted[k]);
                bins[copy * bins_w + bin[k] as usize] += u64::from(finite[k]);
                n += usize::from(finite[k]);
                clipped_n += usize::from(finite[k] & clipped[k]);
                overflowed += usize::from(counted[k] & !finite[k]);
            }
            acc.add_block_sums::<true>(&r, &r_hat, &finite, &clipped);
            i += m;
        }
    }
    acc.add_counts(n, clipped_n);
    acc.add_overflowed(overflowed);
    let fold = |all: &[u64], w: usize, len: usize| -> Vec<u64> {
        (0..len)
            .map(|j| (0..COPIES).map(|c| all[c * w + j]).sum())
            .collect()
    };
    (
        acc,
        fold(&counts, codes_w, n_codes),
        fold(&bins, bins_w, bins_w),
    )
}

/// The fused pass over the blocks of `plan` that meet `span` (see [`crate::fused`]): the error
/// sums, `n_codes` code counts and the reconstructions binned by `binner`. The same numbers as
/// coding each value with [`for_each_coded`] (a property test checks it).
fn fused_blocks(
    values: &[f32],
    plan: &Plan,
    span: std::ops::Range<usize>,
    binner: &crate::histogram::Binner,
    n_codes: usize,
    all_finite: bool,
) -> (ErrorAccumulator, Vec<u64>, Vec<u64>) {
    use crate::fused::{MiniFloatCoder, Q4Coder, Tally};
    if let Some(coded) = &plan.coded {
        return fused_coded(values, coded, span, binner, n_codes);
    }
    let lanes: Vec<Lanes> = plan
        .elements
        .iter()
        .map(|e| match e {
            Element::MiniFloat(f) => Lanes::Mini(MiniFloatCoder::new(*f)),
            Element::Q8_0 => Lanes::Q8,
            Element::Q4_0 => Lanes::Q4(Q4Coder {
                bias: 8.5,
                level_offset: 8.0,
            }),
            Element::Q4_1 => Lanes::Q4(Q4Coder {
                bias: 0.5,
                level_offset: 0.0,
            }),
            Element::Table(_) | Element::F16 | Element::Bf16 => Lanes::Any,
        })
        .collect();
    let mut tally = Tally::new(n_codes, binner.bins());
    // Natively only: in V8 NVFP4 by value measured slower (4.9 → 5.8–6.0 ms at 1M values).
    if !cfg!(target_arch = "wasm32") && counts_by_value(plan, crate::fused::churn_line()) {
        tally = tally.without_keys();
    }
    // A contiguous layout cut at whole groups: chunk k of the span is its k-th `chunk_len`
    // values and the plan's block k from its first group — zipped rather than found through
    // `chunks_in` (a group's range computed and its block indexed per chunk).
    let cl = plan.layout.chunk_len.max(1);
    let end = span.end.min(values.len());
    let sliced = (plan.layout.is_contiguous() && span.start % cl == 0 && span.start <= end)
        .then(|| {
            let groups = (span.start / cl).checked_sub(plan.first)?..end.div_ceil(cl) - plan.first;
            Some((&values[span.start..end], plan.blocks.get(groups)?))
        })
        .flatten();
    match sliced {
        Some((vals, blocks)) => block_runs(
            &mut tally,
            vals.chunks(cl).zip(blocks),
            &lanes,
            plan,
            binner,
            all_finite,
        ),
        None => block_runs(
            &mut tally,
            plan.layout
                .chunks_in(span)
                .map(|(g, range)| (&values[range], plan.block(g))),
            &lanes,
            plan,
            binner,
            all_finite,
        ),
    }
    tally.finish()
}

/// Whether `plan`'s blocks change scale more often than once in `line` values, as NVFP4's do,
/// so that its pass counts by value from the start (see [`crate::fused::churn_line`]): judged
/// on its first 4,096 blocks.
#[inline(never)]
fn counts_by_value(plan: &Plan, line: usize) -> bool {
    let keys = plan.blocks.iter().take(4096).map(crate::fused::block_key);
    plan.layout.is_contiguous() && crate::fused::churns(plan.layout.chunk_len, keys, line)
}

/// Each element's coder in the fused pass, built once (not per block).
#[derive(Clone, Copy)]
enum Lanes {
    Mini(crate::fused::MiniFloatCoder),
    Q8,
    Q4(crate::fused::Q4Coder),
    Any,
}

/// The fused pass over `parts` (each chunk's values and block) in runs of blocks with one element
/// coder and scaling direction (for MX and NVFP4 the whole span), each one monomorphised loop.
fn block_runs<'v>(
    tally: &mut crate::fused::Tally,
    parts: impl Iterator<Item = (&'v [f32], &'v Block)>,
    lanes: &[Lanes],
    plan: &Plan,
    binner: &crate::histogram::Binner,
    all_finite: bool,
) {
    use crate::fused::{AnyCoder, BlockKernel, Q8_0Coder};
    let mut parts = parts.peekable();
    while let Some(&(_, &b0)) = parts.peek() {
        let run = std::iter::from_fn(|| {
            parts.next_if(|&(_, b)| b.element == b0.element && b.multiply == b0.multiply)
        });
        macro_rules! pass {
            ($fast:ident, $element:expr, $mul:literal) => {
                tally.$fast(
                    run.map(|(v, b)| {
                        let kernel = BlockKernel::<_, $mul> {
                            element: $element,
                            block: b,
                        };
                        (v, kernel)
                    }),
                    binner,
                    all_finite,
                )
            };
        }
        match (lanes[b0.element], b0.multiply) {
            (Lanes::Mini(e), true) => pass!(chunks_fast, &e, true),
            (Lanes::Mini(e), false) => pass!(chunks_fast, &e, false),
            (Lanes::Q8, true) => pass!(chunks_fast, Q8_0Coder, true),
            (Lanes::Q8, false) => pass!(chunks_fast, Q8_0Coder, false),
            (Lanes::Q4(e), true) => pass!(chunks_fast, e, true),
            (Lanes::Q4(e), false) => pass!(chunks_fast, e, false),
            (Lanes::Any, true) => pass!(chunks, AnyCoder(&plan.elements[b0.element]), true),
            (Lanes::Any, false) => pass!(chunks, AnyCoder(&plan.elements[b0.element]), false),
        }
    }
}

/// [`stored_scale`] of each bound in `amaxes`, equal bit for bit. E4M3 scales go eight at a
/// time through [`e4m3_magnitudes`] (one at a time, through the general encoder, they were a
/// sixth of an NVFP4 analysis natively). F16 and
/// BF16 scales 64 at a time through [`crate::block::stored_16bit_scales`]; the others one by
/// one.
fn stored_scales(
    amaxes: &[f32],
    elem: ElementRange,
    format: ScaleFormat,
    rounding: ScaleRounding,
    tensor_scale: f32,
) -> Vec<f32> {
    use crate::metrics::LANES;
    let one = |amax| stored_scale(amax, elem, format, rounding, tensor_scale);
    if format == ScaleFormat::E8m0 && rounding == ScaleRounding::Floor {
        return amaxes
            .iter()
            .map(|&a| crate::block::e8m0_floor(a, elem.emax))
            .collect();
    }
    if matches!(format, ScaleFormat::F16 | ScaleFormat::Bf16) {
        // `stored_scale` of amax / (the element's largest value), 64 at a time.
        let mut out = Vec::with_capacity(amaxes.len());
        for batch in amaxes.chunks(64) {
            let mut scales = [0f32; 64];
            for (s, &a) in scales.iter_mut().zip(batch) {
                *s = a / elem.max;
            }
            crate::block::stored_16bit_scales(&mut scales, format);
            out.extend_from_slice(&scales[..batch.len()]);
        }
        return out;
    }
    if format != ScaleFormat::E4m3 {
        return amaxes.iter().map(|&a| one(a)).collect();
    }
    let e4m3_max = FP8_E4M3.max_value();
    let mut out = Vec::with_capacity(amaxes.len());
    let mut blocks = amaxes.chunks_exact(LANES);
    for block in &mut blocks {
        let mut x = [0f32; LANES];
        for k in 0..LANES {
            x[k] = block[k] / elem.max / tensor_scale;
        }
        // The rounding below is for finite values; anything else the reference way. The check
        // and the scales are lane-wise selects, not branches or an early exit, so the batch
        // vectorises.
        if !x
            .iter()
            .fold(true, |all, v| all & (v.abs() < f32::INFINITY))
        {
            out.extend(block.iter().map(|&a| one(a)));
            continue;
        }
        let level = e4m3_magnitudes(&x, e4m3_max);
        let mut scales = [0f32; LANES];
        for k in 0..LANES {
            let s = if level[k] > 0.0 {
                level[k] * tensor_scale
            } else {
                tensor_scale
            };
            // `s.is_finite() && s > 0.0` on the bits, 0 < bits < +∞'s (NaN's are above, and
            // negative numbers' wrap above): LLVM turns the float test into a class test
            // (`llvm.is.fpclass`), which x86 lowers lane by lane in integer registers.
            let positive_finite = s.to_bits().wrapping_sub(1) < f32::INFINITY.to_bits() - 1;
            scales[k] = if positive_finite { s } else { 1.0 };
        }
        out.extend_from_slice(&scales);
    }
    out.extend(blocks.remainder().iter().map(|&a| one(a)));
    out
}

/// The E4M3 level nearest each of `x` (finite and ≥ 0, as block bounds over positive scales
/// are), ties to even, saturating at `max` (448, E4M3's largest value): what
/// [`MiniFloat::encode`] gives them (tested on every level, midpoint and their neighbours).
///
/// Written for the scales alone, not through the fused pass's general minifloat coder: a
/// non-negative value's grid step is a power of two read off its exponent, 2^(e − 3), never
/// below the subnormals' 2^−9, so x / step, rounded and scaled back, is exact arithmetic that
/// vectorises whole. Through the general coder, with the lane-by-lane class tests that
/// [`exact_reciprocal`] describes, NVFP4's scales took ~210 µs at 1M values (65,536 blocks,
/// natively on the Intel core, min of 200); this way, with those tests on the bits, ~68 µs.
///
/// [`MiniFloat::encode`]: crate::minifloat::MiniFloat::encode
#[inline(always)]
fn e4m3_magnitudes(x: &[f32; LANES], max: f32) -> [f32; LANES] {
    const MANTISSA: i32 = FP8_E4M3.man_bits as i32;
    // The subnormals' step as a biased f32 exponent: 2^(1 − bias − mantissa bits) = 2^−9.
    const LEAST_STEP: i32 = 127 + 1 - FP8_E4M3.bias() - MANTISSA;
    let mut level = [0f32; LANES];
    for k in 0..LANES {
        let a = x[k].min(max);
        let exponent = (a.to_bits() >> 23) as i32;
        let step = (exponent - MANTISSA).max(LEAST_STEP);
        // 2^k and 2^−k as f32 bit patterns (biased exponents): −9 ≤ k ≤ 5 here.
        let step_up = f32::from_bits((step as u32) << 23);
        let step_down = f32::from_bits(((254 - step) as u32) << 23);
        level[k] = (a * step_down).round_ties_even() * step_up;
    }
    level
}

/// Reconstruction levels and thresholds of one block in real units, ascending.
fn block_levels(plan: &Plan, g: usize, range: (f32, f32)) -> (Vec<f32>, Vec<f32>) {
    let block = *plan.block(g);
    let element = &plan.elements[block.element];
    let (mut levels, mut thresholds): (Vec<f32>, Vec<f32>) = match element {
        // 65,536 codes: keep those inside the drawn range.
        Element::F16 | Element::Bf16 => {
            let mut v: Vec<f32> = (0..=u16::MAX)
                .map(|b| {
                    if *element == Element::F16 {
                        half::f16::from_bits(b).to_f32()
                    } else {
                        half::bf16::from_bits(b).to_f32()
                    }
                })
                .filter(|x| x.is_finite() && *x >= range.0 && *x <= range.1)
                .map(|x| x + 0.0)
                .collect();
            v.sort_by(f32::total_cmp);
            v.dedup();
            let t = v.windows(2).map(|w| w[0] + (w[1] - w[0]) / 2.0).collect();
            (v, t)
        }
        _ => (
            element
                .levels()
                .iter()
                .map(|&l| block.real_from_level(l))
                .collect(),
            element
                .thresholds()
                .iter()
                .map(|&t| block.real_from_scaled(t))
                .collect(),
        ),
    };
    // A stored scale that overflowed (GGML's f16 d) makes levels that are not numbers: they
    // cannot be drawn, and the metrics count the values they take as overflowed.
    levels.retain(|l| l.is_finite());
    thresholds.retain(|t| t.is_finite());
    // A negative scale (Q4_0 with a positive extreme) reverses the order.
    levels.sort_by(f32::total_cmp);
    thresholds.sort_by(f32::total_cmp);
    (levels, thresholds)
}

/// What each code of `plan` stands for before the scale (see [`Quantized::code_values`]): the
/// element's table once when every group shares it, else a row per group padded with NaN.
fn code_values(plan: &Plan) -> (Vec<f32>, usize) {
    if plan.coded.is_some() {
        // The byte-coded GGML types' codes are indices of the ascending levels of the plan's
        // one element, which every sub-block shares.
        let levels = plan
            .elements
            .first()
            .map(Element::levels)
            .unwrap_or_default();
        let width = levels.len();
        return (levels, width);
    }
    let tables: Vec<Option<Vec<f32>>> = plan.elements.iter().map(Element::code_values).collect();
    let width = tables.iter().flatten().map(Vec::len).max().unwrap_or(0);
    if width == 0 || tables.iter().any(Option::is_none) {
        return (Vec::new(), 0);
    }
    let row = |e: usize| {
        let mut r = tables[e].clone().unwrap_or_default();
        r.resize(width, f32::NAN);
        r
    };
    if plan.elements.len() == 1 {
        return (row(0), width);
    }
    let values = plan
        .groups()
        .flat_map(|g| row(plan.block(g).element))
        .collect();
    (values, width)
}

/// The parameters of group `g` as the views show them: the clip, the stored scale, the codes.
fn group_params(plan: &Plan, g: usize) -> GroupParams {
    let b = plan.block(g);
    let n_codes = plan.elements[b.element].n_codes() as i32;
    GroupParams {
        clip: b.clip,
        params: AffineParams {
            scale: b.dec_scale,
            zero_point: 0,
            qmin: 0,
            qmax: n_codes - 1,
        },
        offset: b.dec_offset,
    }
}

/// What a format fixes for a dataset before any value is coded: the blocks' scales and element
/// coders, or a trained vector codebook ([`crate::family::prepare`]). Built once, it can serve
/// both the analysis and the codes.
pub enum Prepared {
    Blocks(Plan),
    Vectors {
        book: VectorCodebook,
        dim: usize,
        notes: Vec<String>,
    },
}

/// Share `share` of [`crate::analyze`] of a scalar format: `build` makes the plan of a range of
/// groups (the family's [`crate::family::FamilyOps::plan`]), here of the groups the share's
/// values meet.
pub(crate) fn analyze_plan_share(
    dataset: &Dataset,
    config: &QuantizerConfig,
    options: &AnalysisOptions,
    share: Share,
    build: &dyn Fn(std::ops::Range<usize>) -> Result<Plan, AnalyzeError>,
) -> Result<PartialAnalysis, AnalyzeError> {
    let layout = layout_for(config, dataset.shape())?;
    let span = share.span(&layout, 1);
    let plan = build(layout.groups_meeting(span))?;
    // The display group's block, from the plan or built alone (the same numbers either way).
    let display_group = options.display_group.min(layout.n_groups.max(1) - 1);
    let single = if plan.groups().contains(&display_group) {
        None
    } else {
        Some(build(display_group..display_group + 1)?)
    };
    Ok(analyze_blocks(
        dataset,
        config,
        options,
        share,
        &plan,
        single.as_ref().unwrap_or(&plan),
    ))
}

/// [`crate::analyze`] of a scalar format with its whole plan built.
pub fn analyze_planned(
    dataset: &Dataset,
    config: &QuantizerConfig,
    options: &AnalysisOptions,
    plan: &Plan,
) -> Analysis {
    merge_one(analyze_blocks(
        dataset,
        config,
        options,
        Share::WHOLE,
        plan,
        plan,
    ))
}

/// One share of a scalar format's analysis with `plan`, which holds every group the share's
/// values meet; `shown` holds the display group (`plan` itself, or a plan of that group alone).
fn analyze_blocks(
    dataset: &Dataset,
    config: &QuantizerConfig,
    options: &AnalysisOptions,
    share: Share,
    plan: &Plan,
    shown: &Plan,
) -> PartialAnalysis {
    let values = dataset.values();
    let summary = *dataset.summary();
    let layout = plan.layout;
    let span = share.span(&layout, 1);
    let display_group = options.display_group.min(layout.n_groups.max(1) - 1);
    let (levels_all, _) = block_levels(shown, display_group, (summary.min, summary.max));
    let rep = match (levels_all.first(), levels_all.last()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => (summary.min, summary.max),
    };
    let (lo, hi) = histogram_range(&summary, shown.block(display_group).clip, rep);
    let (levels, thresholds) = block_levels(shown, display_group, (lo, hi));
    let input_hist = dataset.histogram_of(span.clone(), lo, hi, options.bins);
    let (mut output_hist, binner) = Histogram::empty(lo, hi, options.bins);
    // The code space is the same in every share: a per-group codebook may have fewer levels in
    // one group than in another.
    // A learned codebook's code space is its K levels.
    let n_codes = if config.knobs().codebook {
        config.levels as usize
    } else {
        plan.elements
            .iter()
            .map(Element::n_codes)
            .max()
            .unwrap_or(1)
    }
    .max(1);
    let all_finite = summary.finite == summary.n;
    let (acc, counts, bins) =
        fused_blocks(values, plan, span.clone(), &binner, n_codes, all_finite);
    output_hist.counts = bins;
    let owned = layout.groups_starting_in(span.clone());
    let shown_block = *shown.block(display_group);
    let shown_element = &shown.elements[shown_block.element];
    let group_hist = crate::group_view::group_histograms(
        values,
        &layout,
        display_group,
        span,
        crate::group_view::Bins {
            clip: shown_block.clip,
            within: (lo, hi),
            bins: options.bins,
        },
        |i, r| match &shown.coded {
            Some(coded) => {
                let b_len = coded.ty.block_layout().0;
                let b = i / b_len;
                let mut out = (0.0, false);
                if coded.blocks().contains(&b) {
                    for_each_coded(values, shown, i..i + 1, |_, _, _, _, r_hat, _| {
                        out = (r_hat, true);
                    });
                }
                out.0
            }
            None => shown_block.real_from_level(shown_element.encode(shown_block.scaled(r)).1),
        },
    );
    PartialAnalysis {
        share,
        config: config.clone(),
        n_groups: layout.n_groups,
        display_group,
        display: group_params(shown, display_group),
        levels,
        thresholds,
        owned_groups: if options.all_groups {
            owned.map(|g| group_params(plan, g)).collect()
        } else {
            Vec::new()
        },
        input_hist,
        output_hist,
        acc,
        code_counts: counts,
        bits_per_value: plan.bits_per_value,
        summary,
        notes: plan.notes.clone(),
        floored_groups: 0,
        levels_available: if config.knobs().codebook {
            config.levels as usize
        } else {
            plan.elements
                .iter()
                .map(Element::distinct_values)
                .max()
                .unwrap_or(1)
        },
        twin_codes: plan
            .elements
            .first()
            .map(Element::twin_codes)
            .unwrap_or_default(),
        vector: None,
        // The index of the block's coder means something only inside its plan.
        display_block: Some(Block {
            element: 0,
            ..shown_block
        }),
        ggml_block: shown.coded.as_ref().and_then(|c| {
            let per = (c.ty.block_layout().0 / c.ty.sub_block_len()).max(1);
            let b = display_group / per;
            c.blocks().contains(&b).then(|| crate::ggml::ShownBlock {
                ty: c.ty,
                bytes: c.block(b).to_vec(),
                sub: display_group % per,
            })
        }),
        group_hist,
    }
}

/// [`crate::run::for_each_reconstructed`] under `plan` (made for the groups meeting `span`, as
/// [`quantize_planned`]'s plan makes them): each finite value's r̂; returns the clipping range of
/// the plan's first group.
pub(crate) fn reconstruct_planned(
    values: &[f32],
    plan: &Plan,
    span: std::ops::Range<usize>,
    mut visit: impl FnMut(usize, f32, f32),
) -> Option<(f32, f32)> {
    for_each_coded(values, plan, span, |i, _, r, _, r_hat, _| {
        visit(i, r, r_hat)
    });
    plan.groups().next().map(|g| group_params(plan, g).clip)
}

/// Every value's code and r̂ under `plan` (the whole tensor's); `signed_bits` is the width of
/// two's-complement codes, which are sign-extended (fixed point's 1 + m + n bits, Q8_0's byte).
pub fn quantize_planned(dataset: &Dataset, plan: &Plan, signed_bits: Option<u32>) -> Quantized {
    let values = dataset.values();
    let mut codes = vec![0i32; values.len()];
    let mut dequantized = values.to_vec();
    for_each_coded(values, plan, 0..values.len(), |i, _, _, code, r_hat, _| {
        codes[i] = match signed_bits {
            // Sign-extend the two's complement code.
            Some(bits) => ((code << (32 - bits)) as i32) >> (32 - bits),
            None => code as i32,
        };
        dequantized[i] = r_hat;
    });
    let (code_values, code_width) = match signed_bits {
        Some(_) => (Vec::new(), 0),
        None => code_values(plan),
    };
    Quantized {
        codes,
        dequantized,
        groups: plan.groups().map(|g| group_params(plan, g)).collect(),
        code_values,
        code_width,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::stored_scale;

    /// Decoding a block through its codes and its sub-blocks' levels gives, bit for bit, what
    /// the type's dequantizer gives, for every GGML type: on blocks its quantizer wrote from
    /// random, one-signed, tiny and zero data, and on random bytes (scales that are negative,
    /// subnormal, ±Inf or NaN; where a code has no level the dequantizer is kept).
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn decoding_by_levels_is_the_dequantizer() {
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for ty in crate::ggml::GgmlType::ALL {
            let Some(codec) = ty.codec() else {
                continue;
            };
            let (n, size) = (codec.block_values(), codec.block_bytes());
            for case in 0..300 {
                let mut bytes = vec![0u8; size];
                let from_data = case % 2 == 0;
                if from_data {
                    let x: Vec<f32> = (0..n)
                        .map(|i| {
                            let u = (next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                            match case % 8 {
                                0 => u * 3.0,
                                2 => u.abs() * 1e-30,
                                4 => -u.abs() - 1.0,
                                _ if i % 7 == 0 => 0.0,
                                _ => u * 1e4,
                            }
                        })
                        .collect();
                    codec.quantize_block(&x, &mut bytes);
                } else {
                    bytes.iter_mut().for_each(|b| *b = next() as u8);
                }
                let mut codes = vec![0u32; n];
                codec.codes_block(&bytes, &mut codes);
                let subs = codec.sub_blocks(&bytes);
                let (mut want, mut got) = (vec![0f32; n], vec![0f32; n]);
                codec.dequantize_block(&bytes, &mut want);
                let decoded = decode_by_levels(codec.adds_offset(), &subs, &codes, &mut got);
                assert!(decoded || !from_data, "{ty:?}: a code without a level");
                if decoded {
                    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                        assert!(
                            a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan(),
                            "{ty:?} case {case} value {i}: {a:e} vs {b:e}"
                        );
                    }
                }
            }
        }
    }

    /// Multiplying by the reciprocal of every normal power of two is dividing by it, bit for
    /// bit, for values of every kind (results that are subnormal, overflow or underflow to 0
    /// included); other scales are not taken for exact.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn the_ends_of_a_sub_blocks_levels_are_those_of_them_sorted() {
        let tables: Vec<Vec<f32>> = vec![
            crate::ggml::int_levels(-32, 31).into_owned(),
            crate::ggml::int_levels(0, 3).into_owned(),
            crate::ggml::int_levels(-4, 3).into_owned(),
            crate::ggml::int_levels(5, 5).into_owned(),
            [
                -127i8, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
            ]
            .map(f32::from)
            .to_vec(),
            (0..=255u8).map(|c| f32::from(c as i8)).collect(),
        ];
        let specials = [
            0.0,
            -0.0,
            1e-45,
            -1e-45,
            1e-40,
            3e38,
            -3e38,
            f32::INFINITY,
            f32::NAN,
        ];
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for _ in 0..50_000 {
            let mut pick = |n: u64| {
                let r = next();
                match r % n {
                    0 => specials[(r >> 8) as usize % specials.len()],
                    1 => -specials[(r >> 8) as usize % specials.len()],
                    _ => f32::from_bits((r >> 16) as u32),
                }
            };
            let (scale, offset, table) = (pick(4), pick(4), pick(2).to_bits());
            let offset = if table % 3 == 0 { offset } else { 0.0 };
            let levels = &tables[table as usize % tables.len()];
            let mut r: Vec<f32> = levels.iter().map(|&l| l * scale + offset).collect();
            r.sort_by(f32::total_cmp);
            let n = r.len();
            let want = [r[0], r[1.min(n - 1)], r[n.saturating_sub(2)], r[n - 1]];
            let got = sub_block_ends(levels, scale, offset, level_order(levels));
            let what = format!("scale {scale:e} offset {offset:e} levels {levels:?}");
            assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits), "{what}");
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn multiplying_by_an_exact_reciprocal_is_dividing() {
        let mut xs = vec![
            0.0,
            -0.0,
            f32::MIN_POSITIVE,
            f32::from_bits(1),
            -f32::from_bits(0x007F_FFFF),
            f32::MAX,
            -f32::MAX,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1.0,
            -3.0,
            6.0,
        ];
        let mut bits = 0x9E37_79B9u32;
        for _ in 0..2000 {
            bits = bits.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            xs.push(f32::from_bits(bits));
        }
        for &x in &xs {
            let class = x.is_normal() && x.to_bits() & 0x007F_FFFF == 0;
            assert_eq!(exact_reciprocal(x), class, "{x:e}");
            assert_eq!(finite_bits(x), x.is_finite(), "{x:e}");
        }
        let mut exact = 0;
        for k in -127i32..=127 {
            let s = 2f32.powi(k);
            assert_eq!(exact_reciprocal(s), k > -127, "2^{k}");
            if !exact_reciprocal(s) {
                continue;
            }
            exact += 1;
            let inv = 1.0 / s;
            for &x in &xs {
                let (m, d) = (x * inv, x / s);
                assert!(
                    m.to_bits() == d.to_bits() || (m.is_nan() && d.is_nan()),
                    "{x:e} / 2^{k}: {m:e} vs {d:e}"
                );
            }
        }
        assert_eq!(exact, 254);
        for s in [
            3.0,
            0.75,
            1.5 * f32::MIN_POSITIVE,
            f32::from_bits(0x0040_0000),
            0.0,
            f32::INFINITY,
        ] {
            assert!(!exact_reciprocal(s), "{s:e}");
        }
    }

    /// Scales stored together (E4M3 eight at a time on their grid step) are the scales
    /// stored one by one, in every format and two element ranges: bounds of every magnitude (zero,
    /// subnormal, the neighbours of E4M3's levels and midpoints, f32::MAX), NaN and ∞, under
    /// tensor scales small and large.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn scales_stored_together_equal_scales_stored_one_by_one() {
        let mut amaxes = vec![
            0.0,
            f32::from_bits(1),
            1e-30,
            f32::MAX,
            f32::NAN,
            f32::INFINITY,
        ];
        // Every E4M3 level and midpoint times 6, and their neighbouring f32s.
        for code in 0..=0x7Eu32 {
            let (lo, hi) = (
                FP8_E4M3.magnitude_from_code(code),
                FP8_E4M3.magnitude_from_code(code + 1),
            );
            for v in [lo, (lo + hi) / 2.0] {
                let v = v * 6.0;
                amaxes.extend([
                    v,
                    f32::from_bits(v.to_bits() + 1),
                    f32::from_bits(v.to_bits().saturating_sub(1)),
                ]);
            }
        }
        let mut x = 0x1234_5678u32;
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            amaxes.push(f32::from_bits(x & 0x7FFF_FFFF));
        }
        // FP4's range, and one so small that a subnormal bound's E8M0 scale is above 2^−127.
        for elem in [ElementRange::of(6.0), ElementRange::of(2f32.powi(-30))] {
            for format in [
                ScaleFormat::E4m3,
                ScaleFormat::E8m0,
                ScaleFormat::F16,
                ScaleFormat::Bf16,
                ScaleFormat::F32,
            ] {
                for t in [1.0, 2f32.powi(-20), 3.7, 1e30] {
                    let together = stored_scales(&amaxes, elem, format, ScaleRounding::Floor, t);
                    assert_eq!(together.len(), amaxes.len());
                    for (a, s) in amaxes.iter().zip(&together) {
                        let one = stored_scale(*a, elem, format, ScaleRounding::Floor, t);
                        assert_eq!(s.to_bits(), one.to_bits(), "{format:?} t {t}: amax {a:e}");
                    }
                }
            }
        }
    }

    use crate::config::Calibration;
    use crate::format::Format;

    fn dataset(shape: Vec<usize>, values: Vec<f32>) -> Dataset {
        Dataset::new("t", shape, values).unwrap_or_else(|e| panic!("{e}"))
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn only_scales_that_change_with_nearly_every_block_count_by_value() {
        // Normal weights: NVFP4's E4M3 scales of 16-value blocks change from nearly every block
        // to the next; MX's power-of-two scales come in runs; Q4_0's, Q4_1's and Q8_0's f16
        // scales change about once a 32-value block, under the line of counting in registers
        // and over that of counting through the buffer.
        use crate::fused::{CHURN, CHURN_BUFFERED};
        let values = crate::synth::generate(crate::synth::Distribution::Normal, 1 << 16, 5)
            .unwrap_or_default();
        let d = dataset(vec![64, 1024], values);
        for (name, line, by_value) in [
            ("nvfp4", CHURN, true),
            ("mxfp4", CHURN, false),
            ("mxfp8-e4m3", CHURN, false),
            ("q4_0", CHURN, false),
            ("nvfp4", CHURN_BUFFERED, true),
            ("mxfp4", CHURN_BUFFERED, false),
            ("mxfp6-e2m3", CHURN_BUFFERED, false),
            ("mxfp8-e4m3", CHURN_BUFFERED, false),
            ("q4_0", CHURN_BUFFERED, true),
            ("q4_1", CHURN_BUFFERED, true),
            ("q8_0", CHURN_BUFFERED, true),
        ] {
            let config = crate::presets::preset(name).unwrap_or_default();
            let plan =
                crate::family::plan(&d, &config, false, None).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(counts_by_value(&plan, line), by_value, "{name} at {line}");
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn every_fixed_point_code_round_trips() {
        // Q7.8 is a full 16-bit format: all 65,536 codes.
        let t = crate::codebook::fixed_point(7, 8);
        assert_eq!(t.levels.len(), 1 << 16);
        for (i, &level) in t.levels.iter().enumerate() {
            assert_eq!(t.encode(level), (t.codes[i], level, false));
        }
    }

    /// Q4_0's d is the value of largest magnitude over −8, sign kept; on a tie in magnitude
    /// ggml keeps the first (`amax < |x|` is strict), whether it is the min or the max.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn q4_0_keeps_the_first_value_of_largest_magnitude() {
        let config = QuantizerConfig {
            format: Format::Q4_0,
            ..Default::default()
        };
        for (lead, want) in [
            ([-3.0, 3.0], -3.0),
            ([3.0, -3.0], 3.0),
            ([1.0, -3.0], -3.0),
            ([f32::NAN, -0.5], -0.5),
            ([0.5, -0.5], 0.5),
        ] {
            let mut v = vec![0.5f32; 32];
            v[..2].copy_from_slice(&lead);
            v[20] = -0.25;
            let d = dataset(vec![32], v);
            let plan =
                crate::family::plan(&d, &config, false, None).unwrap_or_else(|e| panic!("{e}"));
            let f16 = |x: f32| half::f16::from_f32(x).to_f32();
            assert_eq!(plan.block(0).dec_scale, f16(want / -8.0), "{lead:?}");
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn per_tensor_fp8_scale_is_amax_over_448() {
        let d = dataset(vec![4], vec![-3.5, 0.01, 1.0, 2.0]);
        let c = QuantizerConfig {
            format: Format::Fp8E4m3,
            ..Default::default()
        };
        let a = analyze(&d, &c).unwrap_or_else(|e| panic!("{e}"));
        let s = 3.5f32 / 448.0;
        assert_eq!(a.groups[0].params.scale, s);
        // 3.5 → 448 exactly; 1/S = 128 → 1.0 is 128 → exact; 0.01/S = 1.28 → 1.25 (E4M3 step 0.125 at 1)
        let q = crate::run::quantize(&d, &c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.dequantized, vec![-3.5, 1.25 * s, 1.0, 2.0]);
        assert_eq!(a.metrics.bits_per_value, 8.0 + 32.0 / 4.0);
        // Levels drawn are S times the 253 finite E4M3 values.
        assert_eq!(a.levels.len(), 253);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn percentile_calibration_sets_the_minifloat_amax() {
        let mut v: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) / 500.0).collect();
        v[0] = -100.0;
        let d = dataset(vec![1000], v);
        let c = QuantizerConfig {
            format: Format::Fp4E2m1,
            calibration: Calibration::Percentile { p: 99.0 },
            ..Default::default()
        };
        let a = analyze(&d, &c).unwrap_or_else(|e| panic!("{e}"));
        // The 99th percentile of |x| is about 0.99, far below the outlier.
        assert!(a.groups[0].clip.1 < 1.0, "{:?}", a.groups[0].clip);
        assert!(a.metrics.clipped_fraction > 0.0);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn constant_and_non_finite_data_in_every_format() {
        let d = dataset(vec![2, 256], {
            // 0.5 is a level of every format once scaled, so each one is exact up to the f16
            // rounding of GGML's stored scale.
            let mut v = vec![0.5f32; 512];
            v[3] = f32::NAN;
            v[300] = f32::INFINITY;
            v
        });
        for format in Format::ALL {
            let c = QuantizerConfig {
                format,
                ..Default::default()
            };
            let a = analyze(&d, &c).unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert_eq!(a.metrics.n, 510, "{format:?}");
            // (Q2_K's 4-bit sub-block scales and mins leave ~1e-4 of f16 rounding.)
            assert!(a.metrics.mse < 1e-7, "{format:?}: {}", a.metrics.mse);
            let q = quantize(&d, &c).unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert!(q.dequantized[3].is_nan(), "{format:?}");
        }
    }

    /// The fused block pass against coding each value by the reference path, for every preset
    /// and scalar format on data with NaN, ±Inf, zeros, huge values and an all-zero block. Runs on
    /// wasm32 too, where the pass is the SIMD128 form.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn fused_blocks_equal_the_reference_in_every_format() {
        let n = 256 * 48;
        let mut v = crate::synth::generate(crate::synth::Distribution::StudentT { nu: 3.0 }, n, 5)
            .unwrap_or_default();
        // The specials near the start, and again near the end, where formats whose keys come
        // with every block (Q8_0, Q4_1) count by value.
        for (i, x) in [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.0,
            -0.0,
            3e38,
            1e-41,
        ]
        .into_iter()
        .enumerate()
        {
            v[i * 97 + 3] = x;
            v[n - 1 - i * 97] = x;
        }
        v[64..96].fill(0.0);
        let d = dataset(vec![48, 256], v);
        let mut configs: Vec<QuantizerConfig> = crate::presets::PRESETS
            .iter()
            .filter_map(|p| crate::presets::preset(p))
            .filter(|c| c.format != Format::Int)
            .collect();
        for format in Format::ALL.into_iter().filter(|&f| f != Format::Int) {
            configs.push(QuantizerConfig {
                format,
                granularity: Granularity::Group { size: 16 },
                levels: 7,
                ..Default::default()
            });
        }
        for c in configs {
            let plan = crate::family::plan(&d, &c, false, None).unwrap_or_else(|e| panic!("{e}"));
            let (hist, binner) = Histogram::empty(-4.0, 5.0, 41);
            let n_codes = if c.format == Format::Kmeans {
                c.levels as usize
            } else {
                plan.elements
                    .iter()
                    .map(Element::n_codes)
                    .max()
                    .unwrap_or(1)
            };
            // The whole tensor, and spans that start and end inside blocks and sub-blocks.
            let spans = [0..n, 5..n - 3, 300..301, 256 * 3 + 7..256 * 9 + 1];
            let spans = if plan.coded.is_some() {
                &spans[..]
            } else {
                &spans[..1]
            };
            for span in spans {
                let mut acc = ErrorAccumulator::default();
                let mut counts = vec![0u64; n_codes];
                let mut bins = hist.counts.clone();
                for_each_coded(
                    d.values(),
                    &plan,
                    span.clone(),
                    |_, _, r, code, r_hat, clipped| {
                        acc.add(r, r_hat, clipped);
                        counts[(code as usize).min(n_codes - 1)] += 1;
                        if r_hat.is_finite() {
                            bins[binner.bin(r_hat)] += 1;
                        }
                    },
                );
                let (got, got_counts, got_bins) =
                    fused_blocks(d.values(), &plan, span.clone(), &binner, n_codes, false);
                assert_eq!(got_counts, counts, "{:?} {span:?}", c.format);
                assert_eq!(got_bins, bins, "{:?} {span:?}", c.format);
                let (a, b) = (got.finish(), acc.finish());
                assert_eq!(
                    (a.n, a.overflowed, a.clipped_fraction),
                    (b.n, b.overflowed, b.clipped_fraction)
                );
                assert_eq!(a.max_abs_error, b.max_abs_error, "{:?} {span:?}", c.format);
                // (+∞ for both where a block's scale overflows.)
                assert!(
                    a.mse == b.mse || (a.mse - b.mse).abs() <= 1e-12 * a.mse.max(b.mse),
                    "{:?}",
                    c.format
                );
                // The block pass does not split the error but for the GGML types coded through
                // their bytes (by position, so in other lanes than one value after another).
                match (a.clipping_mse, b.clipping_mse) {
                    (Some(x), Some(y)) if plan.coded.is_some() => assert!(
                        x == y || (x - y).abs() <= 1e-12 * x.max(y),
                        "{:?} {span:?}: {x} vs {y}",
                        c.format
                    ),
                    (got, _) => assert!(
                        got.is_none() && plan.coded.is_none(),
                        "{:?} {span:?}",
                        c.format
                    ),
                }
                assert!(b
                    .clipping_mse
                    .is_some_and(|x| x <= b.mse || b.mse.is_infinite()));
            }
        }
    }

    fn analyze(d: &Dataset, c: &QuantizerConfig) -> Result<Analysis, AnalyzeError> {
        crate::run::analyze(d, c, &AnalysisOptions::default())
    }

    fn quantize(d: &Dataset, c: &QuantizerConfig) -> Result<Quantized, AnalyzeError> {
        crate::run::quantize(d, c)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use super::*;
    use crate::config::Granularity;
    use crate::format::Format;
    use proptest::prelude::*;

    /// The formats with a plan (`int` has its own path).
    fn formats() -> impl Strategy<Value = Format> {
        proptest::sample::select(Format::ALL[1..].to_vec())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Every reconstruction is one of its block's levels.
        #[test]
        fn reconstructions_are_levels(
            format in formats(),
            values in proptest::collection::vec(-50f32..50.0, 64..=64),
            group in proptest::sample::select(vec![8usize, 16, 32]),
        ) {
            // (Blocks of 32 values at most: the K and IQ4_XS super-blocks do not fit these rows.)
            prop_assume!(format.ggml_block().is_none_or(|b| b <= 32));
            let d = Dataset::new("t", vec![2, 32], values).unwrap_or_else(|e| panic!("{e}"));
            let c = QuantizerConfig {
                format,
                granularity: Granularity::Group { size: group },
                levels: 6,
                ..Default::default()
            };
            let plan = crate::family::plan(&d, &c, false, None)
                .unwrap_or_else(|e| panic!("{e}"));
            let q = crate::run::quantize(&d, &c).unwrap_or_else(|e| panic!("{e}"));
            for (g, range) in plan.layout.chunks() {
                let (levels, _) = block_levels(&plan, g, (f32::MIN, f32::MAX));
                for i in range {
                    let r = q.dequantized[i];
                    prop_assert!(
                        levels.contains(&r),
                        "{format:?}: {r} (from {}) is not a level of block {g}",
                        d.values()[i]
                    );
                }
            }
        }

        /// The fused block pass gives the numbers of coding each value by the reference path:
        /// every scalar format, block sizes, scale storage, NaN/±Inf, all-zero and huge blocks.
        #[test]
        fn fused_blocks_equal_the_per_value_path(
            format in formats(),
            rows in 1usize..4,
            cols in proptest::sample::select(vec![16usize, 32, 64, 96]),
            group in proptest::sample::select(vec![1usize, 8, 16, 32]),
            scale_format in proptest::sample::select(crate::block::ScaleFormat::ALL.to_vec()),
            seed in any::<u64>(),
            specials in proptest::collection::vec((0usize..400, 0u8..5), 0..8),
            zero_block in any::<bool>(),
            channels in any::<bool>(),
            cut in 0usize..40,
        ) {
            let n = rows * cols;
            let mut v = crate::synth::generate(crate::synth::Distribution::Laplace, n, seed).unwrap_or_default();
            for (i, kind) in specials {
                v[i % n] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, 3e38][usize::from(kind)];
            }
            if zero_block {
                v[..16].fill(0.0);
            }
            prop_assume!(v.iter().any(|x| x.is_finite()));
            let d = Dataset::new("t", vec![rows, cols], v).unwrap_or_else(|e| panic!("{e}"));
            // Channels of the last axis cycle through the groups (not contiguous: chunks found
            // through `chunks_in`); a span cut inside a group is not sliced either.
            let granularity = if channels {
                Granularity::Channel { axis: 1 }
            } else {
                Granularity::Group { size: group }
            };
            let c = QuantizerConfig {
                format,
                granularity,
                scheme: crate::config::Scheme::Symmetric,
                scale_format,
                levels: 5,
                ..Default::default()
            };
            let Ok(plan) = crate::family::plan(&d, &c, false, None) else {
                return Ok(());
            };
            let span = cut.min(n)..n;
            let (hist, binner) = Histogram::empty(d.summary().min, d.summary().max, 37);
            let n_codes = if format == Format::Kmeans {
                5
            } else {
                plan.elements.iter().map(Element::n_codes).max().unwrap_or(1)
            };
            // The reference: one value at a time.
            let mut acc = ErrorAccumulator::default();
            let mut counts = vec![0u64; n_codes];
            let mut bins = hist.counts.clone();
            for_each_coded(d.values(), &plan, span.clone(), |_, _, r, code, r_hat, clipped| {
                acc.add(r, r_hat, clipped);
                counts[(code as usize).min(n_codes - 1)] += 1;
                if r_hat.is_finite() {
                    bins[binner.bin(r_hat)] += 1;
                }
            });
            for all_finite in [false, d.summary().finite == n] {
                let (got, got_counts, got_bins) = fused_blocks(d.values(), &plan, span.clone(), &binner, n_codes, all_finite);
                prop_assert_eq!(&got_counts, &counts);
                prop_assert_eq!(&got_bins, &bins);
                let (a, b) = (got.finish(), acc.finish());
                prop_assert_eq!((a.n, a.overflowed, a.clipped_fraction), (b.n, b.overflowed, b.clipped_fraction));
                prop_assert_eq!(a.max_abs_error, b.max_abs_error);
                for (x, y) in [(a.mse, b.mse), (a.mean_abs_error, b.mean_abs_error), (a.cosine_similarity, b.cosine_similarity)] {
                    prop_assert!(x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs()), "{} vs {}", x, y);
                }
            }
        }

        /// The optimal codebook of K levels is never worse than uniform quantization with K levels.
        #[test]
        fn kmeans_is_never_worse_than_uniform(
            values in proptest::collection::vec(-10f32..10.0, 8..300),
            bits in 1u8..=4,
        ) {
            let d = Dataset::from_vec("t", values).unwrap_or_else(|e| panic!("{e}"));
            let uniform = QuantizerConfig { bits, ..Default::default() };
            let km = QuantizerConfig { format: Format::Kmeans, levels: 1 << bits, ..Default::default() };
            let opts = AnalysisOptions::default();
            let u = crate::run::analyze(&d, &uniform, &opts).unwrap_or_else(|e| panic!("{e}"));
            let k = crate::run::analyze(&d, &km, &opts).unwrap_or_else(|e| panic!("{e}"));
            prop_assert!(k.metrics.mse <= u.metrics.mse * (1.0 + 1e-6) + 1e-12, "{} > {}", k.metrics.mse, u.metrics.mse);
        }
    }
}
