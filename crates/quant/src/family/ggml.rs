//! llama.cpp's block types, quantized as its reference `quantize_row_*_ref` does: the three
//! legacy types (Q8_0, Q4_0, Q4_1) with their own vectorised element coders, the others (Q5_0,
//! Q5_1, the K-quants, IQ4_NL, IQ4_XS) coded through their bytes ([`crate::ggml`]). Their blocks
//! and scale rules are their own: granularity and calibration do not apply.

use super::{CodeLayout, FamilyOps};
use crate::analysis::{Analysis, AnalyzeError, Block};
use crate::codebook::{LevelTable, Tie};
use crate::config::QuantizerConfig;
use crate::dataset::Dataset;
use crate::format::Element;
use crate::format::Format;
use crate::formula::Formulas;
use crate::ggml::GgmlType;
use crate::granularity::GroupLayout;
use crate::inspect::BitRole;
use crate::plan::{layout_for, Plan};
use crate::text::number;

pub(super) struct Ggml;

/// A legacy type's plan kind, element coder, inspector label and code width (`None` for the
/// types coded through their bytes).
fn legacy(ty: GgmlType) -> Option<(Legacy, Element, &'static str, u32)> {
    match ty {
        GgmlType::Q8_0 => Some((Legacy::Q8_0, Element::Q8_0, "Q8_0 int8 code", 8)),
        GgmlType::Q4_0 => Some((
            Legacy::Q4_0,
            Element::Q4_0,
            "Q4_0 4-bit code (level q − 8)",
            4,
        )),
        GgmlType::Q4_1 => Some((Legacy::Q4_1, Element::Q4_1, "Q4_1 4-bit code", 4)),
        // Coded through llama.cpp's byte layout.
        _ => None,
    }
}

impl FamilyOps for Ggml {
    /// Q8_0's codes are int8; the others' are unsigned.
    fn signed_code_bits(&self, c: &QuantizerConfig) -> Option<u32> {
        (c.format.ggml_type() == Some(GgmlType::Q8_0)).then_some(8)
    }

    /// llama.cpp's reference quantizers of the byte-coded types cost 44–230 ms per million
    /// values natively (`--example time_ggml`): no slice of them is short.
    /// llama.cpp's reference quantizers of the types coded through their bytes search each
    /// (sub-)block's scale and minimum: natively 44–228 ms per million values (IQ4_XS the most,
    /// `--example time_ggml`) against ~5 ms for Q4_0's plain pass.
    fn cost_per_value(&self, c: &QuantizerConfig) -> usize {
        if c.format.ggml_bytes().is_some() {
            50
        } else {
            1
        }
    }

    fn plan(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
        _interactive: bool,
        groups: Option<std::ops::Range<usize>>,
    ) -> Result<Plan, AnalyzeError> {
        let ty = config
            .format
            .ggml_type()
            .ok_or(AnalyzeError::NoPlan(config.format))?;
        let layout = layout_for(config, dataset.shape())?;
        let groups = groups.unwrap_or(0..layout.n_groups);
        Ok(match legacy(ty) {
            Some((kind, ..)) => ggml_plan(dataset.values(), layout, kind, groups),
            None => coded_plan(dataset.values(), layout, config.format, groups),
        })
    }

    fn formulas(&self, a: &Analysis) -> Formulas {
        let mut lines: Vec<String> = a
            .config
            .format
            .ggml_type()
            .map(|t| t.formula_lines())
            .unwrap_or_default()
            .into_iter()
            .map(str::to_string)
            .collect();
        let n = |v: f64| number(v, 6);
        let s = f64::from(a.display.params.scale);
        let offset = a.display_block.map_or(0.0, |b| f64::from(b.dec_offset));
        lines.push(if offset != 0.0 {
            format!("this block: d = {}, offset = {}", n(s), n(offset))
        } else {
            format!("this block: d = {}", n(s))
        });
        Formulas::plain(lines)
    }

    fn code_layout(&self, a: &Analysis) -> Option<CodeLayout> {
        let ty = a.config.format.ggml_type()?;
        if let Some((_, element, label, width)) = legacy(ty) {
            return Some(CodeLayout {
                element,
                label: label.into(),
                fields: vec![(BitRole::Integer, width)],
            });
        }
        let (mut levels, width) = ty.code_levels();
        levels.sort_by(f32::total_cmp);
        // Codes are the indices of the ascending levels for every one of these types.
        let label = match ty {
            // Its trits are not bit fields: five share a byte, in base 3.
            GgmlType::Tq1_0 => {
                "TQ1_0 trit q + 1, shown in 2 bits (stored five to a byte, base 3)".to_string()
            }
            _ => format!(
                "{} {width}-bit code of its sub-block (coded here with the stored scales)",
                ty.name()
            ),
        };
        Some(CodeLayout {
            element: Element::Table(LevelTable::indexed(levels, Tie::EvenCode)),
            label,
            fields: vec![(BitRole::Index, width)],
        })
    }
}

/// The three legacy GGML types with their own vectorised element coders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Legacy {
    Q8_0,
    Q4_0,
    Q4_1,
}

/// llama.cpp's reference quantizers (`quantize_row_q8_0_ref`, `_q4_0_ref`, `_q4_1_ref` in
/// ggml-quants.c), block by block, non-finite values left out of the block statistics:
/// ```text
/// Q8_0: d = amax / 127,                   q = roundf(x · (1/d)),               x̂ = f16(d) · q
/// Q4_0: d = m / −8 (m: the value of largest |x|), q = min(15, trunc(x/d + 8.5)), x̂ = f16(d)(q − 8)
/// Q4_1: d = (max − min) / 15,             q = min(15, trunc((x − min)/d + 0.5)), x̂ = f16(d) q + f16(min)
/// ```
/// (1/d is taken as 0 when d = 0, as ggml does.)
fn ggml_plan(
    values: &[f32],
    layout: GroupLayout,
    format: Legacy,
    groups: std::ops::Range<usize>,
) -> Plan {
    let first = groups.start;
    let mut blocks = Vec::with_capacity(groups.len());
    // Each block's statistics first (Q8_0: its amax; Q4_0: its amax and the value m of largest
    // magnitude; Q4_1: its min and max), then d, 1/d and the f16 values stored for a batch of
    // blocks at once, in loops over arrays the compiler vectorises: block by block, the two
    // divisions and the f16 roundings were most of the plan (natively, a sixth of Q4_1's
    // analysis). On the stack: arrays of every block's would be fresh pages each analysis.
    const BATCH: usize = 64;
    // The batch's block statistics, by the vectorised scans of `calib` (every block's in one
    // call) rather than filtered folds: the same figures (a zero bound may be −0 where the fold
    // gave +0; it decodes alike).
    let (mut bounds, mut ranges) = (Vec::with_capacity(BATCH), Vec::with_capacity(BATCH));
    for start in groups.clone().step_by(BATCH) {
        let batch = start..(start + BATCH).min(groups.end);
        let (mut a, mut b) = ([0f32; BATCH], [0f32; BATCH]);
        let span = &values[layout.span_of(batch.clone())];
        bounds.clear();
        ranges.clear();
        match format {
            Legacy::Q8_0 => crate::calib::finite_abs_maxes(span, layout.chunk_len, &mut bounds),
            // ggml keeps the first value of the largest magnitude, with its sign.
            Legacy::Q4_0 => crate::calib::first_largests(span, layout.chunk_len, &mut bounds),
            Legacy::Q4_1 => crate::calib::finite_min_maxes(span, layout.chunk_len, &mut ranges),
        }
        for k in 0..batch.len() {
            // (Blocks past the last value, if any, have no statistics: 0.)
            let range = ranges.get(k).copied().flatten().unwrap_or((0.0, 0.0));
            (a[k], b[k]) = match format {
                Legacy::Q8_0 => (bounds.get(k).copied().unwrap_or(0.0), 0.0),
                Legacy::Q4_0 => {
                    let max = bounds.get(k).copied().unwrap_or(0.0);
                    (max.abs(), max)
                }
                Legacy::Q4_1 => range,
            };
        }
        let d: [f32; BATCH] = std::array::from_fn(|k| match format {
            Legacy::Q8_0 => a[k] / 127.0,
            Legacy::Q4_0 => b[k] / -8.0,
            Legacy::Q4_1 => (b[k] - a[k]) / 15.0,
        });
        // ggml's `d ? 1.0f/d : 0.0f`. A subnormal d has no finite reciprocal; llama.cpp then
        // codes x · Inf (NaN for 0) into an undefined integer, but stores f16(d) = 0, so every
        // value reconstructs to 0 whatever its code: taking 1/d as 0 gives that reconstruction
        // with code 0. (1/±0 is ±Inf: a zero d needs no test of its own.)
        let inv: [f32; BATCH] = std::array::from_fn(|k| {
            let id = 1.0 / d[k];
            if id.is_finite() {
                id
            } else {
                0.0
            }
        });
        let stored = f16_rounded(&d);
        // Q4_1 stores its minimum too.
        let stored_min = match format {
            Legacy::Q4_1 => f16_rounded(&a),
            Legacy::Q8_0 | Legacy::Q4_0 => [0.0; BATCH],
        };
        blocks.extend((0..batch.len()).map(|k| match format {
            // Q8_0 and Q4_0: code with x · (1/d), store d as f16, no offset.
            Legacy::Q8_0 | Legacy::Q4_0 => Block {
                enc_scale: inv[k],
                multiply: true,
                enc_offset: 0.0,
                dec_scale: stored[k],
                dec_offset: 0.0,
                element: 0,
                clip: (-a[k], a[k]),
            },
            Legacy::Q4_1 => Block {
                enc_scale: inv[k],
                multiply: true,
                enc_offset: a[k],
                dec_scale: stored[k],
                dec_offset: stored_min[k],
                element: 0,
                clip: (a[k], b[k]),
            },
        }));
    }
    // Element coder, bits of a code, and bits of the stored d (and m) per block.
    let (element, elem_bits, overhead, name) = match format {
        Legacy::Q8_0 => (Element::Q8_0, 8.0, 16.0, "q8_0"),
        Legacy::Q4_0 => (Element::Q4_0, 4.0, 16.0, "q4_0"),
        Legacy::Q4_1 => (Element::Q4_1, 4.0, 32.0, "q4_1"),
    };
    let n = layout.n.max(1) as f64;
    Plan {
        bits_per_value: elem_bits + layout.n_groups as f64 * overhead / n,
        layout,
        elements: vec![element],
        first,
        blocks,
        notes: vec![format!(
            "{name} always uses blocks of 32 along the last axis with its own scale rule; the \
             granularity and calibration settings do not apply"
        )],
        coded: None,
    }
}

/// `xs` rounded to f16 and back (see [`crate::block::round_to_16bit`]).
fn f16_rounded<const N: usize>(xs: &[f32; N]) -> [f32; N] {
    let mut out = *xs;
    crate::block::round_to_16bit(&mut out, false);
    out
}

/// The least and the greatest finite value of `values` (`None`: none is finite). A plain loop:
/// folded through an `Option` per value it was a third of Q6_K's analysis natively (64 levels
/// for each sub-block of 16 values).
fn finite_range(values: impl Iterator<Item = f32>) -> Option<(f32, f32)> {
    let (mut lo, mut hi, mut any) = (f32::INFINITY, f32::NEG_INFINITY, false);
    for v in values {
        if v.is_finite() {
            (lo, hi, any) = (lo.min(v), hi.max(v), true);
        }
    }
    any.then_some((lo, hi))
}

/// The range of the finite reconstructions `level · scale + offset` of `levels`: the outer two
/// of [`sub_block_ends`](crate::plan::sub_block_ends) when they are finite (two products for a
/// finite non-zero scale and finite offset, where scanning every level was a fifth of Q6_K's
/// analysis natively — 64 levels for 16 values), else a scan of the finite ones.
#[allow(clippy::ptr_arg)] // the Cow's variant says whether the table is static (`LevelOrders`)
fn level_range(
    levels: &std::borrow::Cow<'static, [f32]>,
    scale: f32,
    offset: f32,
    orders: &mut crate::plan::LevelOrders,
) -> Option<(f32, f32)> {
    if !levels.is_empty() {
        let [lo, _, _, hi] = crate::plan::sub_block_ends(levels, scale, offset, orders.of(levels));
        if lo.is_finite() && hi.is_finite() {
            return Some((lo, hi));
        }
    }
    finite_range(levels.iter().map(|&l| l * scale + offset))
}

/// The plan of a GGML type coded through its bytes (see [`crate::ggml`]): the (super-)blocks
/// covering `groups` quantized by llama.cpp's reference, and one [`Block`] per sub-block
/// describing how its codes decode (for the views: levels, scale, the bit inspector).
fn coded_plan(
    values: &[f32],
    layout: GroupLayout,
    format: Format,
    groups: std::ops::Range<usize>,
) -> Plan {
    let Some(codec) = format.ggml_bytes().and_then(crate::ggml::GgmlType::codec) else {
        // Every format routed here has a codec (ggml_bytes is a subset of the codec types).
        return Plan {
            layout,
            elements: Vec::new(),
            first: groups.start,
            blocks: Vec::new(),
            bits_per_value: f64::NAN,
            notes: Vec::new(),
            coded: None,
        };
    };
    let ty = codec.ty();
    let per = (codec.block_values() / ty.sub_block_len()).max(1);
    let blocks_range = groups.start / per..groups.end.div_ceil(per);
    let coded = crate::ggml::Coded::new(codec, values, blocks_range.clone());
    let mut blocks = Vec::with_capacity(groups.len());
    let mut levels: Option<Vec<f32>> = None;
    let mut orders = crate::plan::LevelOrders::default();
    for b in blocks_range {
        for (j, sub) in codec.sub_blocks(coded.block(b)).into_iter().enumerate() {
            let g = b * per + j;
            if !groups.contains(&g) {
                continue;
            }
            // The range of its finite levels; where the stored scale overflowed (then its values
            // overflow, as in llama.cpp), the range of its finite values.
            let start = g * layout.chunk_len;
            let data =
                &values[start.min(values.len())..(start + layout.chunk_len).min(values.len())];
            let (lo, hi) = level_range(&sub.levels, sub.scale, sub.offset, &mut orders)
                .or_else(|| finite_range(data.iter().copied()))
                .unwrap_or((0.0, 0.0));
            // Decoding is `level · scale + offset`; the views' thresholds sit halfway between
            // levels (the bytes hold the actual codes).
            blocks.push(Block {
                enc_scale: if sub.scale != 0.0 { sub.scale } else { 1.0 },
                multiply: false,
                enc_offset: sub.offset,
                dec_scale: sub.scale,
                dec_offset: sub.offset,
                element: 0,
                clip: (lo, hi),
            });
            levels.get_or_insert_with(|| sub.levels.into_owned());
        }
    }
    let mut levels = levels.unwrap_or_default();
    levels.sort_by(f32::total_cmp);
    Plan {
        layout,
        elements: vec![Element::Table(LevelTable::indexed(levels, Tie::EvenCode))],
        first: groups.start,
        blocks,
        bits_per_value: ty.bits_per_value(),
        notes: vec![format!(
            "{} is llama.cpp's own rule: rows in blocks of {} with scales coded as its              reference quantizer codes them (quantize_row_*_ref); the granularity and              calibration settings do not apply",
            ty.name(),
            codec.block_values()
        )],
        coded: Some(coded),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    /// The two-product range of a sub-block's levels equals the scan of every level for any
    /// scale and offset (±0, subnormal, ±3e38 that overflow, ±Inf, NaN, random bit patterns),
    /// with static tables taken in turn through one cache and with levels of their own.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn the_range_of_a_sub_blocks_levels_is_that_of_every_level() {
        let owned: Vec<f32> = [-127i8, -104, -83, -65, -49, 1, 13, 113, -10]
            .map(f32::from)
            .to_vec();
        let tables: Vec<Cow<'static, [f32]>> = vec![
            crate::ggml::int_levels(-32, 31),
            crate::ggml::int_levels(0, 3),
            crate::ggml::int_levels(0, 15),
            crate::ggml::int_levels(-4, 3),
            crate::ggml::int_levels(5, 5),
            Cow::Owned(owned.clone()),
            Cow::Owned(owned.iter().map(|v| -v).collect()),
        ];
        let specials = [
            0.0,
            -0.0,
            1e-45,
            1e-40,
            3e38,
            f32::INFINITY,
            f32::NAN,
            1.0,
            0.25,
        ];
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut orders = crate::plan::LevelOrders::default();
        for _ in 0..60_000 {
            let mut pick = || {
                let r = next();
                match r % 4 {
                    0 => specials[(r >> 8) as usize % specials.len()],
                    1 => -specials[(r >> 8) as usize % specials.len()],
                    _ => f32::from_bits((r >> 16) as u32),
                }
            };
            let (scale, offset) = (pick(), pick());
            let levels = &tables[next() as usize % tables.len()];
            let want = finite_range(levels.iter().map(|&l| l * scale + offset));
            let got = level_range(levels, scale, offset, &mut orders);
            assert_eq!(
                got, want,
                "levels {levels:?}, scale {scale:e}, offset {offset:e}"
            );
        }
    }
}
