//! A fixed table of levels in [−1, 1] times each block's absmax (NF4 of QLoRA), coded as
//! bitsandbytes does: r · (1/S), then the nearest level.

use super::{absmax_formulas, CodeLayout, FamilyOps};
use crate::analysis::{Analysis, AnalyzeError};
use crate::block::ElementRange;
use crate::config::QuantizerConfig;
use crate::dataset::Dataset;
use crate::format::Element;
use crate::formula::Formulas;
use crate::inspect::BitRole;
use crate::plan::{absmax_plan, AbsmaxElement, Plan};

pub(super) struct LevelTable;

/// The bits of an index into `len` levels.
fn index_bits(len: usize) -> u32 {
    (len as f64).log2().ceil() as u32
}

impl FamilyOps for LevelTable {
    fn plan(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
        _interactive: bool,
        groups: Option<std::ops::Range<usize>>,
    ) -> Result<Plan, AnalyzeError> {
        // A format of this family without its table has no plan, never another's levels.
        let table = config
            .format
            .level_table()
            .ok_or(AnalyzeError::NoPlan(config.format))?;
        let bits = f64::from(index_bits(table.levels.len()));
        let element = AbsmaxElement {
            element: Element::Table(table),
            range: ElementRange::of(1.0),
            multiply: true,
            scale_format: config.scale_format,
            rounding: config.scale_rounding,
            bits,
        };
        absmax_plan(dataset, config, groups, element, Vec::new())
    }

    fn formulas(&self, a: &Analysis) -> Formulas {
        absmax_formulas(a)
    }

    fn code_layout(&self, a: &Analysis) -> Option<CodeLayout> {
        let f = a.config.format;
        let table = f.level_table()?;
        let len = table.levels.len();
        Some(CodeLayout {
            label: format!("{} index into {len} levels", f.name().to_uppercase()),
            fields: vec![(BitRole::Index, index_bits(len))],
            element: Element::Table(table),
        })
    }
}
