//! A cast to a wider float (FP16, BF16): round to nearest even, no scale, no calibration;
//! values beyond the largest number become ±Inf.

use super::{CodeLayout, FamilyOps};
use crate::analysis::{Analysis, AnalyzeError, Block};
use crate::config::QuantizerConfig;
use crate::dataset::Dataset;
use crate::format::{Element, Format};
use crate::formula::Formulas;
use crate::inspect::BitRole;
use crate::numberline::{NumberLine, NumberLineError};
use crate::plan::{layout_for, Plan};

pub(super) struct Cast;

/// What each cast format is: its element, its layout's label and its exponent and mantissa
/// widths, and its finite non-negative bit patterns (`0..end`).
struct Cast16 {
    element: Element,
    label: &'static str,
    line_label: &'static str,
    exp_bits: u32,
    man_bits: u32,
    to_f32: fn(u16) -> f32,
    end: u16,
}

fn of(format: Format) -> Option<Cast16> {
    match format {
        Format::Fp16 => Some(Cast16 {
            element: Element::F16,
            label: "IEEE half (1 · 5 · 10)",
            line_label: "FP16 (IEEE half)",
            exp_bits: 5,
            man_bits: 10,
            to_f32: |b| half::f16::from_bits(b).to_f32(),
            end: 0x7C00,
        }),
        Format::Bf16 => Some(Cast16 {
            element: Element::Bf16,
            label: "bfloat16 (1 · 8 · 7)",
            line_label: "BF16 (bfloat16)",
            exp_bits: 8,
            man_bits: 7,
            to_f32: |b| half::bf16::from_bits(b).to_f32(),
            end: 0x7F80,
        }),
        // Not a cast: no element of this family.
        _ => None,
    }
}

impl FamilyOps for Cast {
    fn plan(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
        _interactive: bool,
        _groups: Option<std::ops::Range<usize>>,
    ) -> Result<Plan, AnalyzeError> {
        let cast = of(config.format).ok_or(AnalyzeError::NoPlan(config.format))?;
        let summary = dataset.summary();
        Ok(Plan {
            layout: layout_for(config, dataset.shape())?,
            elements: vec![cast.element],
            first: 0,
            blocks: vec![Block::unscaled((summary.min, summary.max), 0)],
            bits_per_value: 16.0,
            notes: Vec::new(),
            coded: None,
        })
    }

    fn formulas(&self, a: &Analysis) -> Formulas {
        Formulas::plain(vec![
            format!(
                "r̂ = {}(r): round to nearest, ties to even; no scale, no calibration",
                a.config.format.name()
            ),
            "Values beyond the format's largest number become ±Inf.".into(),
        ])
    }

    fn code_layout(&self, a: &Analysis) -> Option<CodeLayout> {
        let cast = of(a.config.format)?;
        Some(CodeLayout {
            element: cast.element,
            label: cast.label.into(),
            fields: vec![
                (BitRole::Sign, 1),
                (BitRole::Exponent, cast.exp_bits),
                (BitRole::Mantissa, cast.man_bits),
            ],
        })
    }

    fn number_line(
        &self,
        format: Format,
        _int_bits: u8,
        _frac_bits: u8,
    ) -> Result<NumberLine, NumberLineError> {
        let cast = of(format).ok_or(NumberLineError::NoFixedGrid(format.label()))?;
        Ok(NumberLine::new(
            cast.line_label.to_string(),
            16,
            (0..cast.end).map(cast.to_f32).collect(),
            None,
            cast.element,
        ))
    }
}
