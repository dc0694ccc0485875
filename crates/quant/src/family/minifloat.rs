//! A small float (FP8 E4M3/E5M2, FP6, FP4) times a scale per tensor, channel or block — the
//! OCP MX formats and NVFP4 are this family with E8M0 or E4M3 block scales.

use super::{absmax_formulas, CodeLayout, FamilyOps};
use crate::analysis::{Analysis, AnalyzeError};
use crate::block::ElementRange;
use crate::codebook::LevelTable;
use crate::config::QuantizerConfig;
use crate::dataset::Dataset;
use crate::format::{Element, Format};
use crate::formula::Formulas;
use crate::inspect::BitRole;
use crate::numberline::{NumberLine, NumberLineError};
use crate::plan::{absmax_plan, AbsmaxElement, Plan};

pub(super) struct ScaledMinifloat;

impl FamilyOps for ScaledMinifloat {
    fn plan(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
        _interactive: bool,
        groups: Option<std::ops::Range<usize>>,
    ) -> Result<Plan, AnalyzeError> {
        // A format of this family without its minifloat has no plan, never another's coder.
        let mf = config
            .format
            .minifloat()
            .ok_or(AnalyzeError::NoPlan(config.format))?;
        let element = AbsmaxElement {
            element: Element::MiniFloat(mf),
            range: ElementRange::of(mf.max_value()),
            multiply: false,
            scale_format: config.scale_format,
            rounding: config.scale_rounding,
            bits: f64::from(mf.bits()),
        };
        absmax_plan(dataset, config, groups, element, Vec::new())
    }

    fn formulas(&self, a: &Analysis) -> Formulas {
        absmax_formulas(a)
    }

    fn code_layout(&self, a: &Analysis) -> Option<CodeLayout> {
        let f = a.config.format;
        let mf = f.minifloat()?;
        Some(CodeLayout {
            element: Element::MiniFloat(mf),
            label: format!("{} (1 · {} · {})", f.name(), mf.exp_bits, mf.man_bits),
            fields: vec![
                (BitRole::Sign, 1),
                (BitRole::Exponent, mf.exp_bits),
                (BitRole::Mantissa, mf.man_bits),
            ],
        })
    }

    fn number_line(
        &self,
        format: Format,
        _int_bits: u8,
        _frac_bits: u8,
    ) -> Result<NumberLine, NumberLineError> {
        let f = format
            .minifloat()
            .ok_or(NumberLineError::NoFixedGrid(format.label()))?;
        Ok(NumberLine::new(
            format.label().to_string(),
            1 + f.exp_bits + f.man_bits,
            LevelTable::minifloat(f).levels,
            None,
            Element::MiniFloat(f),
        ))
    }
}
