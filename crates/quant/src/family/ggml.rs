//! llama.cpp's block types, quantized as its reference `quantize_row_*_ref` does: the three
//! legacy types (Q8_0, Q4_0, Q4_1) with their own vectorised element coders, the others (Q5_0,
//! Q5_1, the K-quants, IQ4_NL, IQ4_XS) coded through their bytes ([`crate::ggml`]). Their blocks
//! and scale rules are their own: granularity and calibration do not apply.

use super::{CodeLayout, FamilyOps};
use crate::analysis::{Analysis, AnalyzeError};
use crate::codebook::{LevelTable, Tie};
use crate::config::QuantizerConfig;
use crate::dataset::Dataset;
use crate::format::Element;
use crate::formula::Formulas;
use crate::ggml::GgmlType;
use crate::inspect::BitRole;
use crate::plan::{coded_plan, ggml_plan, layout_for, Legacy, Plan};
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
    fn runs_whole(&self, c: &QuantizerConfig) -> bool {
        c.format.ggml_bytes().is_some()
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
        Some(CodeLayout {
            element: Element::Table(LevelTable::indexed(levels, Tie::EvenCode)),
            label: format!(
                "{} {width}-bit code of its sub-block (coded here with the stored scales)",
                ty.name()
            ),
            fields: vec![(BitRole::Index, width)],
        })
    }
}
