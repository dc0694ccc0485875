//! One door per format family (issue 13): each family is a module behind [`FamilyOps`] — its
//! rules on a configuration, how it prepares (calibrates, builds block scales, trains a codebook),
//! its pass, the bit layout the inspector shows, its formula lines and its number line.
//! [`Family::ops`] is the one map from a family to its module; [`crate::run`] and the page go
//! through it, so no other module matches on formats to choose behaviour.
//!
//! ```text
//! Format ──family()──▶ Family ──ops()──▶ &dyn FamilyOps
//!   format.rs: names, knobs, what overflows      family/<name>.rs: everything it does
//! ```
//!
//! A new family is its variant in [`Family`] (with its knobs, in `format.rs`), its module here
//! and its arm in [`Family::ops`]; the compiler names each of those matches. A new format in an
//! existing family is its variant in [`Format`] and, where the family needs them, its element
//! (a minifloat's widths, a table's levels) beside it.
//!
//! The families sit above the shared machinery they use ([`crate::plan`]'s block pass,
//! [`crate::analyze`]'s integer pass, the types of [`crate::formula`], [`crate::inspect`] and
//! [`crate::numberline`]) and below [`crate::run`]; nothing they use imports this module.

mod cast;
mod fixed;
mod ggml;
mod integer;
mod learned;
mod log;
mod minifloat;
mod table;
mod ternary;

use crate::analysis::{Analysis, AnalysisOptions, AnalyzeError};
use crate::analysis::{PartialAnalysis, Quantized, Share};
use crate::config::{ConfigError, Granularity, QuantizerConfig, Signedness, MAX_BITS};
use crate::dataset::Dataset;
use crate::format::{Element, Family, Format};
use crate::formula::Formulas;
use crate::inspect::{BitRole, Inspection};
use crate::numberline::{NumberLine, NumberLineError};
use crate::plan::{Plan, Prepared};

/// The bits the inspector shows for one family: the element coder of the shown block, its
/// label and its fields (most significant first).
pub struct CodeLayout {
    pub element: Element,
    pub label: String,
    pub fields: Vec<(BitRole, u32)>,
}

/// What a format family does. Every method but [`FamilyOps::plan`], [`FamilyOps::formulas`] and
/// [`FamilyOps::code_layout`] has the behaviour most families share as its default.
pub trait FamilyOps: Sync {
    /// The family's own rules on a configuration, after the rules every configuration keeps
    /// ([`QuantizerConfig::validate`]).
    fn check(&self, _config: &QuantizerConfig) -> Result<(), ConfigError> {
        Ok(())
    }

    /// The width of a two's-complement code (sign-extended when read), or `None` when the
    /// codes are unsigned integers, bit patterns or indices.
    fn signed_code_bits(&self, _config: &QuantizerConfig) -> Option<u32> {
        None
    }

    /// Whether an analysis is best run whole rather than in shares for reasons of the family's
    /// own (see [`crate::run::runs_whole`] for the shared ones).
    fn runs_whole(&self, _config: &QuantizerConfig) -> bool {
        false
    }

    /// About how many times a plain pass the family's own work costs per value (see
    /// [`crate::run::slice_cost`]).
    fn cost_per_value(&self, _config: &QuantizerConfig) -> usize {
        1
    }

    /// The block plan of the groups `groups` of the format's layout (see [`crate::plan`]).
    fn plan(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
        interactive: bool,
        groups: Option<std::ops::Range<usize>>,
    ) -> Result<Plan, AnalyzeError>;

    /// Calibrates, builds block scales or trains a codebook once, for both the analysis and
    /// the codes.
    fn prepare(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
        interactive: bool,
    ) -> Result<Prepared, AnalyzeError> {
        planned_prepare(self, dataset, config, interactive)
    }

    /// Share `share` of the analysis (see [`crate::analysis`]).
    fn analyze_share(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
        options: &AnalysisOptions,
        share: Share,
    ) -> Result<PartialAnalysis, AnalyzeError> {
        planned_share(self, dataset, config, options, share)
    }

    /// The analysis and the codes from one preparation.
    fn analyze_and_quantize(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
        options: &AnalysisOptions,
    ) -> Result<(Analysis, Quantized), AnalyzeError> {
        planned_both(self, dataset, config, options)
    }

    /// Every value's code and reconstruction.
    fn quantize(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
    ) -> Result<Quantized, AnalyzeError> {
        planned_codes(self, dataset, config)
    }

    /// The formula panel's lines with the shown group's numbers.
    fn formulas(&self, analysis: &Analysis) -> Formulas;

    /// A value followed through the quantizer step by step, where the family writes one out
    /// (the bit inspector shows the others' coding).
    fn worked_example(&self, _analysis: &Analysis, _r: f32) -> Option<String> {
        None
    }

    /// The bits of the shown block's codes, or `None` when a code does not stand for one value
    /// (vector codebooks).
    fn code_layout(&self, analysis: &Analysis) -> Option<CodeLayout>;

    /// `value` followed through the quantizer of `analysis` (its shown block).
    fn inspect(&self, value: f32, analysis: &Analysis) -> Option<Inspection> {
        let layout = self.code_layout(analysis)?;
        crate::inspect::through_block(
            value,
            analysis,
            layout.element,
            layout.label,
            &layout.fields,
            self.signed_code_bits(&analysis.config).is_some(),
        )
    }

    /// Every value the format can hold, when that is fixed (not set by a scale or the data);
    /// `int_bits`/`frac_bits` are fixed point's m and n.
    fn number_line(
        &self,
        format: Format,
        _int_bits: u8,
        _frac_bits: u8,
    ) -> Result<NumberLine, NumberLineError> {
        Err(NumberLineError::NoFixedGrid(format.label()))
    }
}

/// [`FamilyOps::prepare`] through the family's block plan of every group.
fn planned_prepare<F: FamilyOps + ?Sized>(
    family: &F,
    dataset: &Dataset,
    config: &QuantizerConfig,
    interactive: bool,
) -> Result<Prepared, AnalyzeError> {
    Ok(Prepared::Blocks(family.plan(
        dataset,
        config,
        interactive,
        None,
    )?))
}

/// [`FamilyOps::analyze_share`] through the family's block plan: the groups the share meets.
fn planned_share<F: FamilyOps + ?Sized>(
    family: &F,
    dataset: &Dataset,
    config: &QuantizerConfig,
    options: &AnalysisOptions,
    share: Share,
) -> Result<PartialAnalysis, AnalyzeError> {
    crate::plan::analyze_plan_share(dataset, config, options, share, &|groups| {
        family.plan(dataset, config, options.interactive, Some(groups))
    })
}

/// [`FamilyOps::analyze_and_quantize`] through the family's block plan, built once.
fn planned_both<F: FamilyOps + ?Sized>(
    family: &F,
    dataset: &Dataset,
    config: &QuantizerConfig,
    options: &AnalysisOptions,
) -> Result<(Analysis, Quantized), AnalyzeError> {
    let plan = family.plan(dataset, config, options.interactive, None)?;
    Ok((
        crate::plan::analyze_planned(dataset, config, options, &plan),
        crate::plan::quantize_planned(dataset, &plan, family.signed_code_bits(config)),
    ))
}

/// [`FamilyOps::quantize`] through the family's block plan.
fn planned_codes<F: FamilyOps + ?Sized>(
    family: &F,
    dataset: &Dataset,
    config: &QuantizerConfig,
) -> Result<Quantized, AnalyzeError> {
    let plan = family.plan(dataset, config, false, None)?;
    Ok(crate::plan::quantize_planned(
        dataset,
        &plan,
        family.signed_code_bits(config),
    ))
}

impl Family {
    /// The module that does what this family does.
    pub fn ops(self) -> &'static dyn FamilyOps {
        match self {
            Self::Integer => &integer::Integer,
            Self::ScaledMinifloat => &minifloat::ScaledMinifloat,
            Self::Cast => &cast::Cast,
            Self::FixedPoint => &fixed::FixedPoint,
            Self::LevelTable => &table::LevelTable,
            Self::Logarithmic => &log::Logarithmic,
            Self::Learned => &learned::Learned,
            Self::Ggml => &ggml::Ggml,
            Self::Ternary => &ternary::Ternary,
        }
    }
}

fn ops_of(config: &QuantizerConfig) -> &'static dyn FamilyOps {
    config.format.family().ops()
}

// The rules of a configuration live here because each family adds its own; `config.rs` holds
// the data and the rules about settings that do not depend on the format.
impl QuantizerConfig {
    /// Checks the parts of the configuration that do not depend on the data: the rules every
    /// configuration keeps, then its family's.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.bits == 0 || self.bits > MAX_BITS {
            return Err(ConfigError::Bits(self.bits));
        }
        self.calibration.validate()?;
        if let Granularity::Group { size: 0 } = self.granularity {
            return Err(ConfigError::GroupSize);
        }
        if self.narrow_range && (self.signedness == Signedness::Unsigned || self.bits < 2) {
            return Err(ConfigError::NarrowRange);
        }
        ops_of(self).check(self)
    }

    /// Whether the format's codes are two's-complement integers (sign-extended when read):
    /// signed `int`, fixed point and Q8_0. The others are unsigned integers, bit patterns or
    /// indices.
    pub fn signed_codes(&self) -> bool {
        ops_of(self).signed_code_bits(self).is_some()
    }
}

/// The block plan of `config`'s format for the groups `groups` of its layout (`None`: every
/// group); the integer format and vector codebooks have none (`AnalyzeError::NoPlan`).
pub fn plan(
    dataset: &Dataset,
    config: &QuantizerConfig,
    interactive: bool,
    groups: Option<std::ops::Range<usize>>,
) -> Result<Plan, AnalyzeError> {
    ops_of(config).plan(dataset, config, interactive, groups)
}

/// What `config`'s format fixes for `dataset` before any value is coded (every format but
/// `int`); `interactive` as in [`AnalysisOptions`].
pub fn prepare(
    dataset: &Dataset,
    config: &QuantizerConfig,
    interactive: bool,
) -> Result<Prepared, AnalyzeError> {
    ops_of(config).prepare(dataset, config, interactive)
}

/// The formula panel's lines of `analysis`'s format family with the shown group's numbers.
pub fn formulas(analysis: &Analysis) -> Formulas {
    ops_of(&analysis.config).formulas(analysis)
}

/// The value `r` followed through the quantizer of `analysis`'s shown group, step by step
/// (`None` for the families whose coding the bit inspector shows instead).
pub fn worked_example(analysis: &Analysis, r: f32) -> Option<String> {
    ops_of(&analysis.config).worked_example(analysis, r)
}

/// Follows `value` through the quantizer of `analysis` (its display group). `None` for
/// non-finite values and for vector codebooks, whose codes stand for several values at once.
pub fn inspect(value: f32, analysis: &Analysis) -> Option<Inspection> {
    if !value.is_finite() {
        return None;
    }
    ops_of(&analysis.config).inspect(value, analysis)
}

// Defined here for the same reason as `validate`: the line is each family's.
impl NumberLine {
    /// The line of `format`; `int_bits`/`frac_bits` are m and n of the fixed-point format
    /// (ignored by the others). Formats whose levels come from a scale or the data (int,
    /// NF4, the block formats, k-means) have none.
    pub fn of(format: Format, int_bits: u8, frac_bits: u8) -> Result<Self, NumberLineError> {
        format
            .family()
            .ops()
            .number_line(format, int_bits, frac_bits)
    }
}

/// Share `share` of the analysis of `config` (rules checked by the caller).
pub(crate) fn analyze_share(
    dataset: &Dataset,
    config: &QuantizerConfig,
    options: &AnalysisOptions,
    share: Share,
) -> Result<PartialAnalysis, AnalyzeError> {
    ops_of(config).analyze_share(dataset, config, options, share)
}

/// The analysis and the codes of `config` from one preparation (rules checked by the caller).
pub(crate) fn analyze_and_quantize(
    dataset: &Dataset,
    config: &QuantizerConfig,
    options: &AnalysisOptions,
) -> Result<(Analysis, Quantized), AnalyzeError> {
    ops_of(config).analyze_and_quantize(dataset, config, options)
}

/// Every value's code and reconstruction under `config` (rules checked by the caller).
pub(crate) fn quantize(
    dataset: &Dataset,
    config: &QuantizerConfig,
) -> Result<Quantized, AnalyzeError> {
    ops_of(config).quantize(dataset, config)
}

/// [`crate::run::for_each_reconstructed`] (rules checked by the caller; `whole`: the
/// configuration runs whole, see [`crate::run::runs_whole`]).
pub(crate) fn for_each_reconstructed(
    dataset: &Dataset,
    config: &QuantizerConfig,
    span: std::ops::Range<usize>,
    whole: bool,
    mut visit: impl FnMut(usize, f32, f32),
) -> Result<Option<(f32, f32)>, AnalyzeError> {
    if config.format.family() == Family::Integer {
        return crate::analyze::reconstruct_int_span(dataset, config, span, visit);
    }
    if !whole {
        let layout = crate::plan::layout_for(config, dataset.shape())?;
        let groups = layout.groups_meeting(span.clone());
        match ops_of(config).plan(dataset, config, false, Some(groups)) {
            Ok(plan) => {
                let values = dataset.values();
                return Ok(crate::plan::reconstruct_planned(values, &plan, span, visit));
            }
            // Vector codebooks: coded whole, below.
            Err(AnalyzeError::NoPlan(_)) => {}
            Err(e) => return Err(e),
        }
    }
    // Codebooks trained on every value (and formats without a plan): the whole tensor.
    let q = quantize(dataset, config)?;
    let values = &dataset.values()[span.clone()];
    let out = &q.dequantized[span.clone()];
    for (i, (&r, &r_hat)) in span.zip(values.iter().zip(out)) {
        if r.is_finite() {
            visit(i, r, r_hat);
        }
    }
    Ok(q.groups.first().map(|g| g.clip))
}

/// Whether the family itself asks for the analysis to run whole.
pub(crate) fn runs_whole(config: &QuantizerConfig) -> bool {
    ops_of(config).runs_whole(config)
}

/// The family's own work per value, in plain passes.
pub(crate) fn cost_per_value(config: &QuantizerConfig) -> usize {
    ops_of(config).cost_per_value(config)
}

/// The formulas of the absmax-scaled families (minifloats, level tables, log2): S from the
/// block's largest magnitude, stored as the scale format says, and the nearest element.
fn absmax_formulas(a: &Analysis) -> Formulas {
    let n = |v: f64| crate::text::number(v, 6);
    let (f, g) = (a.config.format, a.display);
    let storage = a.config.scale_format.describe();
    let (alpha, beta) = g.clip;
    Formulas::plain(vec![
        format!(
            "amax = max(|α|, |β|) = {}   (α = {}, β = {})",
            n(f64::from(beta.max(-alpha))),
            n(f64::from(alpha)),
            n(f64::from(beta))
        ),
        format!(
            "S = amax / (largest {} value), stored as {storage}: S = {}",
            f.name(),
            n(f64::from(g.params.scale))
        ),
        format!(
            "r̂ = S · e, e = the {} value nearest to r / S (saturating at the largest)",
            f.name()
        ),
    ])
}
