//! Qm.n fixed point: a two's-complement integer of 1 + m + n bits read with the binary point
//! before the last n, so one fixed step 2^−n from −2^m to 2^m − 2^−n. No scale, no calibration.

use super::{CodeLayout, FamilyOps};
use crate::analysis::{Analysis, AnalyzeError, Block};
use crate::codebook::fixed_point;
use crate::config::{ConfigError, QuantizerConfig};
use crate::dataset::Dataset;
use crate::format::{Element, Format};
use crate::formula::Formulas;
use crate::inspect::BitRole;
use crate::numberline::{NumberLine, NumberLineError};
use crate::plan::{layout_for, Plan};
use crate::text::number;

pub(super) struct FixedPoint;

/// 1 + m + n.
fn width(c: &QuantizerConfig) -> u32 {
    1 + u32::from(c.int_bits) + u32::from(c.frac_bits)
}

impl FamilyOps for FixedPoint {
    fn check(&self, c: &QuantizerConfig) -> Result<(), ConfigError> {
        if !(2..=16).contains(&width(c)) {
            return Err(ConfigError::FixedBits {
                m: c.int_bits,
                n: c.frac_bits,
            });
        }
        Ok(())
    }

    fn signed_code_bits(&self, c: &QuantizerConfig) -> Option<u32> {
        Some(width(c))
    }

    fn plan(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
        _interactive: bool,
        _groups: Option<std::ops::Range<usize>>,
    ) -> Result<Plan, AnalyzeError> {
        let table = fixed_point(config.int_bits.into(), config.frac_bits.into());
        let clip = (table.levels[0], table.levels[table.levels.len() - 1]);
        Ok(Plan {
            layout: layout_for(config, dataset.shape())?,
            elements: vec![Element::Table(table)],
            first: 0,
            blocks: vec![Block::unscaled(clip, 0)],
            bits_per_value: f64::from(width(config)),
            notes: Vec::new(),
            coded: None,
        })
    }

    fn formulas(&self, a: &Analysis) -> Formulas {
        let (m, n) = (a.config.int_bits, a.config.frac_bits);
        Formulas::plain(vec![
            format!(
                "Q{m}.{n}: step 2^−{n} = {}, range [−2^{m}, 2^{m} − 2^−{n}]",
                number(2f64.powi(-i32::from(n)), 6),
            ),
            "r̂ = clamp(round(r · 2^n), …) / 2^n — no scale: the binary point is fixed in hardware."
                .into(),
        ])
    }

    fn code_layout(&self, a: &Analysis) -> Option<CodeLayout> {
        let (m, n) = (u32::from(a.config.int_bits), u32::from(a.config.frac_bits));
        Some(CodeLayout {
            element: Element::Table(fixed_point(m, n)),
            label: format!("Q{m}.{n} (two's complement, binary point before the last {n} bits)"),
            fields: vec![(BitRole::Integer, 1 + m), (BitRole::Fraction, n)],
        })
    }

    fn number_line(
        &self,
        _format: Format,
        int_bits: u8,
        frac_bits: u8,
    ) -> Result<NumberLine, NumberLineError> {
        let total = 1 + u32::from(int_bits) + u32::from(frac_bits);
        if total > 16 {
            return Err(NumberLineError::FixedTooWide(int_bits, frac_bits));
        }
        let table = fixed_point(u32::from(int_bits), u32::from(frac_bits));
        let extra_negative = table.levels.first().copied();
        let magnitudes = table.levels.iter().copied().filter(|&v| v >= 0.0).collect();
        Ok(NumberLine::new(
            format!("Q{int_bits}.{frac_bits} fixed point"),
            total,
            magnitudes,
            extra_negative,
            Element::Table(table),
        ))
    }
}
