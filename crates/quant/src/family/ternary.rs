//! BitNet b1.58's ternary weights (Ma et al., "The Era of 1-bit LLMs", 2024, eq. 1–3, and its
//! reference `weight_quant` in "Training Tips, Code and FAQ"):
//!
//! ```text
//! γ = mean |w|                  over the tensor (or each channel or group here), finite w only,
//!                               summed in f64 and rounded once to f32
//! s = 1 / max(γ, ε),  ε = 1e-5  (f32)
//! q = clamp(round(w · s), −1, 1)   round half to even (torch.round), so |w · s| = ½ gives 0
//! ŵ = q / s                     = ±fl(1/s) or 0: stored here as the scale d = fl(1/s)
//! ```
//! Codes are q in two bits of two's complement (−1 is 0b11). Three levels hold log2 3 ≈ 1.585
//! bits of information, hence "1.58 bits"; packings store 2 bits (2 per nibble) or 1.6 (5 trits
//! per byte), plus the f32 scale per tensor (or group) counted in the bits per value here.

use super::{CodeLayout, FamilyOps};
use crate::analysis::{Analysis, AnalyzeError, Block};
use crate::codebook::{LevelTable, Tie};
use crate::config::QuantizerConfig;
use crate::dataset::Dataset;
use crate::format::Element;
use crate::formula::Formulas;
use crate::inspect::BitRole;
use crate::plan::{group_values, layout_for, Plan};
use crate::text::number;

pub(super) struct Ternary;

/// The ε below which the mean magnitude is clamped (BitNet's `clamp_(min=1e-5)`).
pub const EPS: f32 = 1e-5;

/// −1, 0, +1 with their two's-complement codes 0b11, 0b00, 0b01; a tie (|x| = ½) goes to the
/// even code, 0b00 — the level 0, as round half to even gives.
fn levels() -> LevelTable {
    LevelTable::new(
        vec![-1.0, 0.0, 1.0],
        vec![0b11, 0b00, 0b01],
        Tie::EvenCode,
        None,
    )
}

/// γ = mean |w| over the finite values, summed in f64, rounded once to f32 (0 when none).
pub fn absmean(values: &[f32]) -> f32 {
    let (sum, count) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((0f64, 0usize), |(s, c), v| (s + f64::from(v.abs()), c + 1));
    if count == 0 {
        0.0
    } else {
        (sum / count as f64) as f32
    }
}

impl FamilyOps for Ternary {
    fn signed_code_bits(&self, _config: &QuantizerConfig) -> Option<u32> {
        Some(2)
    }

    fn plan(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
        _interactive: bool,
        groups: Option<std::ops::Range<usize>>,
    ) -> Result<Plan, AnalyzeError> {
        let values = dataset.values();
        let layout = layout_for(config, dataset.shape())?;
        let groups = groups.unwrap_or(0..layout.n_groups);
        let first = groups.start;
        let blocks = group_values(values, &layout, groups)
            .iter()
            .map(|group| {
                let gamma = absmean(group).max(EPS);
                let s = 1.0 / gamma;
                // d = fl(1/s) is ±ŵ; it overflows for γ near f32's largest value, as the
                // reference's q / s does (the values then count as overflowed). The clip is γ.
                let d = 1.0 / s;
                Block {
                    enc_scale: s,
                    multiply: true,
                    enc_offset: 0.0,
                    dec_scale: d,
                    dec_offset: 0.0,
                    element: 0,
                    clip: (-gamma, gamma),
                }
            })
            .collect();
        let n = values.len().max(1) as f64;
        Ok(Plan {
            bits_per_value: 3f64.log2() + layout.n_groups as f64 * 32.0 / n,
            layout,
            elements: vec![Element::Table(levels())],
            first,
            blocks,
            notes: Vec::new(),
            coded: None,
        })
    }

    fn formulas(&self, a: &Analysis) -> Formulas {
        let d = f64::from(a.display.params.scale);
        Formulas::plain(vec![
            format!(
                "s = 1 / max(γ, 10⁻⁵), γ = mean |w| of this {}: 1/s = {}",
                if a.n_groups == 1 {
                    "tensor"
                } else {
                    a.config.group_noun()
                },
                number(d, 6)
            ),
            "q = clamp(round(w · s), −1, 1)  (round half to even: |w · s| = ½ gives 0)".into(),
            format!(
                "ŵ = q / s ∈ {{−{0}, 0, {0}}}: log2 3 ≈ 1.585 bits a value plus the f32 scale",
                number(d, 6)
            ),
        ])
    }

    fn code_layout(&self, _a: &Analysis) -> Option<CodeLayout> {
        Some(CodeLayout {
            element: Element::Table(levels()),
            label: "ternary q ∈ {−1, 0, +1} (2-bit two's complement)".into(),
            fields: vec![(BitRole::Integer, 2)],
        })
    }
}
