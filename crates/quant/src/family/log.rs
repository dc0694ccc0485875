//! Logarithmic levels: ±2^k times a power-of-two scale per block, and zero; the bit width sets
//! how many exponents (a sign and b − 1 bits of exponent index, index 0 for zero).

use super::{absmax_formulas, CodeLayout, FamilyOps};
use crate::analysis::{Analysis, AnalyzeError};
use crate::block::{ElementRange, ScaleFormat, ScaleRounding};
use crate::codebook;
use crate::config::QuantizerConfig;
use crate::dataset::Dataset;
use crate::format::Element;
use crate::formula::Formulas;
use crate::inspect::BitRole;
use crate::plan::{absmax_plan, AbsmaxElement, Plan};

pub(super) struct Logarithmic;

/// The bit width used: at least a sign and one bit of magnitude.
fn bits(c: &QuantizerConfig) -> u8 {
    c.bits.max(2)
}

impl FamilyOps for Logarithmic {
    fn plan(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
        _interactive: bool,
        groups: Option<std::ops::Range<usize>>,
    ) -> Result<Plan, AnalyzeError> {
        let b = bits(config);
        let mut notes = Vec::new();
        if config.bits < 2 {
            notes.push("log2 needs at least 2 bits (a sign and a magnitude); using 2".into());
        }
        // Its scale is a power of two by construction: stored as E8M0, nearest.
        let element = AbsmaxElement {
            element: Element::Table(codebook::log2(b.into())),
            range: ElementRange::of(1.0),
            multiply: false,
            scale_format: ScaleFormat::E8m0,
            rounding: ScaleRounding::Nearest,
            bits: f64::from(b),
        };
        absmax_plan(dataset, config, groups, element, notes)
    }

    fn formulas(&self, a: &Analysis) -> Formulas {
        absmax_formulas(a)
    }

    fn code_layout(&self, a: &Analysis) -> Option<CodeLayout> {
        let b = u32::from(bits(&a.config));
        Some(CodeLayout {
            element: Element::Table(codebook::log2(b)),
            label: format!("sign + {}-bit exponent index (0 = zero)", b - 1),
            fields: vec![(BitRole::Sign, 1), (BitRole::Index, b - 1)],
        })
    }
}
