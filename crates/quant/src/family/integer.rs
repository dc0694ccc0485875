//! Uniform integer codes with a scale and zero-point per tensor, channel or group (PyTorch's
//! observer convention): the fast fused pass of [`crate::analyze`], no block plan.

use super::{CodeLayout, FamilyOps};
use crate::analysis::{Analysis, AnalysisOptions, AnalyzeError, PartialAnalysis, Quantized, Share};
use crate::block::ScaleFormat;
use crate::config::{ConfigError, QuantizerConfig, Rounding, Scheme, Signedness};
use crate::dataset::Dataset;
use crate::formula::{Formulas, Line};
use crate::inspect::{f32_fields, fields, BitRole, Inspection};
use crate::plan::Plan;
use crate::text::number;

fn n(v: f64) -> String {
    number(v, 6)
}

pub(super) struct Integer;

impl FamilyOps for Integer {
    fn check(&self, c: &QuantizerConfig) -> Result<(), ConfigError> {
        // E8M0 and E4M3 scales hold no zero-point.
        if matches!(c.scale_format, ScaleFormat::E8m0 | ScaleFormat::E4m3)
            && (c.scheme == Scheme::Asymmetric || c.signedness == Signedness::Unsigned)
        {
            return Err(ConfigError::ScaleNeedsSymmetric(c.scale_format.name()));
        }
        Ok(())
    }

    fn signed_code_bits(&self, c: &QuantizerConfig) -> Option<u32> {
        (c.signedness == Signedness::Signed).then_some(u32::from(c.bits))
    }

    fn plan(
        &self,
        _dataset: &Dataset,
        config: &QuantizerConfig,
        _interactive: bool,
        _groups: Option<std::ops::Range<usize>>,
    ) -> Result<Plan, AnalyzeError> {
        Err(AnalyzeError::NoPlan(config.format))
    }

    fn analyze_share(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
        options: &AnalysisOptions,
        share: Share,
    ) -> Result<PartialAnalysis, AnalyzeError> {
        crate::analyze::analyze_int_share(dataset, config, options, share)
    }

    fn analyze_and_quantize(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
        options: &AnalysisOptions,
    ) -> Result<(Analysis, Quantized), AnalyzeError> {
        crate::analyze::analyze_and_quantize_int(dataset, config, options)
    }

    fn quantize(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
    ) -> Result<Quantized, AnalyzeError> {
        crate::analyze::quantize_int_whole(dataset, config)
    }

    fn formulas(&self, a: &Analysis) -> Formulas {
        let g = a.display;
        let p = g.params;
        let cfg = &a.config;
        let (alpha, beta) = g.clip;
        let span = p.qmax - p.qmin;
        let scale_line = match cfg.scheme {
            Scheme::Asymmetric => format!(
                "S = (β − α) / (qmax − qmin) = ({} − ({})) / {} = {}",
                n(f64::from(beta)),
                n(f64::from(alpha)),
                span,
                n(f64::from(p.scale))
            ),
            Scheme::Symmetric => format!(
                "S = max(|α|, |β|) / ((qmax − qmin) / 2) = {} / {} = {}",
                n(f64::from(beta)),
                n(f64::from(span) / 2.0),
                n(f64::from(p.scale))
            ),
        };
        let zero_line = match (cfg.scheme, cfg.signedness) {
            (Scheme::Asymmetric, _) => format!(
                "Z = clamp(qmin − round(α / S), qmin, qmax) = clamp({} − round({}), …) = {}",
                p.qmin,
                n(f64::from(alpha / p.scale)),
                p.zero_point
            ),
            (Scheme::Symmetric, Signedness::Signed) => "Z = 0 (symmetric, signed)".to_string(),
            (Scheme::Symmetric, Signedness::Unsigned) => {
                format!("Z = (qmin + qmax + 1) / 2 = {}", p.zero_point)
            }
        };
        Formulas {
            preface: Some(
                "PyTorch observer convention (torch.ao.quantization), computed in float32.",
            ),
            lines: vec![
                Line::plain(format!(
                    "α = {}, β = {}  (the range always includes 0)",
                    n(f64::from(alpha)),
                    n(f64::from(beta))
                )),
                Line::plain(format!("qmin = {}, qmax = {}", p.qmin, p.qmax)),
                Line {
                    text: scale_line,
                    id: Some("formula-scale"),
                    remark: cfg
                        .power_of_two_scale
                        .then_some(" (then rounded up to a power of two)"),
                },
                Line {
                    text: zero_line,
                    id: Some("formula-zero-point"),
                    remark: None,
                },
                Line::plain("q = clamp(round(r / S) + Z, qmin, qmax)"),
                Line::plain("r̂ = S · (q − Z)"),
            ],
        }
    }

    /// Stochastic rounding is shown with its expected draw, u = ½.
    fn worked_example(&self, a: &Analysis, r: f32) -> Option<String> {
        let p = a.display.params;
        let rounding = a.config.rounding;
        let noise = 0.5;
        let (q, clipped) = p.code_from_real(r, p.inv_scale(), rounding, noise);
        let r_hat = p.real_from_code(q);
        // round(r / S) before the zero-point is added and the result clamped.
        let x = r * p.inv_scale();
        let rounded = number(f64::from(crate::affine::round_with(rounding, x, noise)), 8);
        let rounding_name = match rounding {
            Rounding::NearestEven => "round half to even",
            Rounding::NearestAway => "round half away from zero",
            Rounding::Floor => "floor",
            Rounding::Stochastic => "stochastic rounding (shown with u = ½)",
        };
        Some(format!(
            "r = {} → r / S = {} → {}: {} → + Z ({}) → q = {}{} → r̂ = S · ({} − {}) = {} (error {}).",
            n(f64::from(r)),
            n(f64::from(x)),
            rounding_name,
            rounded,
            p.zero_point,
            q,
            if clipped {
                " (clamped to the code range: r lies outside it)"
            } else {
                ""
            },
            q,
            if p.zero_point < 0 {
                format!("({})", p.zero_point)
            } else {
                p.zero_point.to_string()
            },
            n(f64::from(r_hat)),
            n(f64::from(r - r_hat)),
        ))
    }

    /// Integer codes have no element coder: [`Integer::inspect`] follows the affine map itself.
    fn code_layout(&self, _analysis: &Analysis) -> Option<CodeLayout> {
        None
    }

    fn inspect(&self, value: f32, analysis: &Analysis) -> Option<Inspection> {
        let config = &analysis.config;
        let p = analysis.display.params;
        // Stochastic rounding is shown for its expected case, u = ½.
        let (q, clipped) = p.code_from_real(value, p.inv_scale(), config.rounding, 0.5);
        let b = u32::from(config.bits);
        let label = match config.signedness {
            Signedness::Signed => format!("int{b} (two's complement)"),
            Signedness::Unsigned => format!("uint{b}"),
        };
        Some(Inspection {
            value,
            source: f32_fields(value),
            target_label: label,
            target: fields(q as u64 & ((1u64 << b) - 1), &[(BitRole::Integer, b)]),
            code: i64::from(q),
            scaled: value * p.inv_scale(),
            scale: p.scale,
            offset: 0.0,
            stored: Vec::new(),
            r_hat: p.real_from_code(q),
            clipped,
        })
    }
}
