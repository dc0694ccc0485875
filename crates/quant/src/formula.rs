//! The formula panel's text: each format family's formulas with the shown group's numbers, and
//! a value followed through the integer quantizer. The page renders these lines as they are, so
//! no rounding or scale arithmetic is written twice.

use crate::analysis::Analysis;
use crate::config::{Rounding, Scheme, Signedness};
use crate::format::Family;
use crate::text::number;

fn n(v: f64) -> String {
    number(v, 6)
}

/// One formula, with the name a test or a link may find it by and a remark after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub id: Option<&'static str>,
    pub remark: Option<&'static str>,
}

impl Line {
    fn plain(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            id: None,
            remark: None,
        }
    }
}

/// How the shown group's values are quantized, as formulas with its numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Formulas {
    /// A sentence before the lines (the integer format's convention).
    pub preface: Option<&'static str>,
    pub lines: Vec<Line>,
}

/// The formulas of `a`'s format family with the shown group's numbers.
pub fn formulas(a: &Analysis) -> Formulas {
    let cfg = &a.config;
    let f = cfg.format;
    let g = a.display;
    let s = f64::from(g.params.scale);
    let plain = |lines: Vec<String>| Formulas {
        preface: None,
        lines: lines.into_iter().map(Line::plain).collect(),
    };
    match f.family() {
        Family::Integer => integer(a),
        Family::Cast => plain(vec![
            format!(
                "r̂ = {}(r): round to nearest, ties to even; no scale, no calibration",
                f.name()
            ),
            "Values beyond the format's largest number become ±Inf.".into(),
        ]),
        Family::FixedPoint => plain(vec![
            format!(
                "Q{}.{}: step 2^−{} = {}, range [−2^{}, 2^{} − 2^−{}]",
                cfg.int_bits,
                cfg.frac_bits,
                cfg.frac_bits,
                n(2f64.powi(-i32::from(cfg.frac_bits))),
                cfg.int_bits,
                cfg.int_bits,
                cfg.frac_bits
            ),
            "r̂ = clamp(round(r · 2^n), …) / 2^n — no scale: the binary point is fixed in hardware."
                .into(),
        ]),
        Family::Learned if cfg.vector_dim > 1 => {
            let (k, d) = (cfg.levels, cfg.vector_dim);
            plain(vec![
                format!("K = {k} centroids in D = {d} dimensions, learned from the data's sub-vectors of {d} consecutive values (k-means: k-means++ seeding, then Lloyd rounds)"),
                "v̂ = the centroid nearest to the sub-vector v (squared distance); one code stands for all D values.".into(),
                format!("bits per value = log2 K / D = {} plus the codebook: K · D f32 numbers spread over all values", n(f64::from(k).log2() / d as f64)),
            ])
        }
        Family::Learned => plain(vec![
            format!("K = {} levels learned from the data (1-D k-means: the partition of the sorted values with the least squared error)", cfg.levels),
            "r̂ = the nearest learned level; the codebook itself is stored next to the codes.".into(),
        ]),
        Family::Ggml => {
            let mut lines: Vec<String> = f
                .ggml_type()
                .map(|t| t.formula_lines())
                .unwrap_or_default()
                .into_iter()
                .map(str::to_string)
                .collect();
            let offset = a.display_block.map_or(0.0, |b| f64::from(b.dec_offset));
            lines.push(if offset != 0.0 {
                format!("this block: d = {}, offset = {}", n(s), n(offset))
            } else {
                format!("this block: d = {}", n(s))
            });
            plain(lines)
        }
        Family::ScaledMinifloat | Family::LevelTable | Family::Logarithmic => {
            let storage = cfg.scale_format.describe();
            let (alpha, beta) = g.clip;
            plain(vec![
                format!(
                    "amax = max(|α|, |β|) = {}   (α = {}, β = {})",
                    n(f64::from(beta.max(-alpha))),
                    n(f64::from(alpha)),
                    n(f64::from(beta))
                ),
                format!(
                    "S = amax / (largest {} value), stored as {storage}: S = {}",
                    f.name(),
                    n(s)
                ),
                format!(
                    "r̂ = S · e, e = the {} value nearest to r / S (saturating at the largest)",
                    f.name()
                ),
            ])
        }
    }
}

/// The integer format's formulas (PyTorch's observer convention) with the shown group's S and Z.
fn integer(a: &Analysis) -> Formulas {
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
        preface: Some("PyTorch observer convention (torch.ao.quantization), computed in float32."),
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

/// The value `r` followed through the integer quantizer of `a`'s shown group, step by step
/// (`None` for the other formats, whose bit inspector shows their coding). Stochastic rounding
/// is shown with its expected draw, u = ½.
pub fn worked_example(a: &Analysis, r: f32) -> Option<String> {
    if a.config.format.family() != Family::Integer {
        return None;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::QuantizerConfig;
    use crate::dataset::Dataset;
    use crate::format::Format;
    use crate::run::analyze;

    fn data() -> Dataset {
        let v: Vec<f32> = (0..512)
            .map(|i| ((i * 37 % 101) as f32 - 30.0) / 17.0)
            .collect();
        Dataset::new("d", vec![2, 256], v).unwrap_or_else(|e| panic!("{e}"))
    }

    fn analysis(c: &QuantizerConfig) -> Analysis {
        analyze(&data(), c, &crate::analysis::AnalysisOptions::default())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The integer lines carry the shown group's S and Z, and the worked example's code and
    /// reconstruction are the quantizer's own, for every rounding.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn integer_formulas_and_the_worked_example_are_the_quantizers_numbers() {
        for rounding in Rounding::ALL {
            let c = QuantizerConfig {
                bits: 4,
                rounding,
                ..QuantizerConfig::default()
            };
            let a = analysis(&c);
            let p = a.display.params;
            let f = formulas(&a);
            let line = |id| {
                f.lines
                    .iter()
                    .find(|l| l.id == Some(id))
                    .map(|l| l.text.clone())
                    .unwrap_or_default()
            };
            assert!(line("formula-scale").ends_with(&format!("= {}", n(f64::from(p.scale)))));
            assert!(line("formula-zero-point").ends_with(&format!("= {}", p.zero_point)));
            for r in [-1.7f32, 0.3, 2.9, 40.0] {
                let (q, clipped) = p.code_from_real(r, p.inv_scale(), rounding, 0.5);
                let text = worked_example(&a, r).unwrap_or_default();
                let want = format!("→ q = {q}{}", if clipped { " (clamped" } else { " →" });
                assert!(text.contains(&want), "{text} lacks {want}");
                assert!(text.contains(&format!("= {} (error", n(f64::from(p.real_from_code(q))))));
                let x = r * p.inv_scale();
                let shown = match rounding {
                    Rounding::NearestEven => x.round_ties_even(),
                    Rounding::NearestAway => x.round(),
                    Rounding::Floor => x.floor(),
                    Rounding::Stochastic => (x + 0.5).floor(),
                };
                assert!(
                    text.contains(&format!(": {} →", number(f64::from(shown), 8))),
                    "{text}"
                );
            }
        }
    }

    /// Every format has formulas; only the integer format follows a value through (the others
    /// show their coding in the bit inspector); the block formats name their scale.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn every_format_has_its_familys_formulas() {
        for format in Format::ALL {
            let mut c = QuantizerConfig {
                int_bits: 3,
                frac_bits: 4,
                ..QuantizerConfig::default()
            };
            c.set_format(format);
            let a = analysis(&c);
            let f = formulas(&a);
            assert!(!f.lines.is_empty(), "{}", format.name());
            assert_eq!(worked_example(&a, 0.5).is_some(), format == Format::Int);
            match format.family() {
                Family::ScaledMinifloat | Family::LevelTable | Family::Logarithmic => {
                    let s = n(f64::from(a.display.params.scale));
                    assert!(
                        f.lines[1].text.ends_with(&format!("S = {s}")),
                        "{:?}",
                        f.lines
                    );
                }
                Family::Ggml => assert!(f
                    .lines
                    .last()
                    .is_some_and(|l| l.text.starts_with("this block: d = "))),
                Family::Integer | Family::Cast | Family::FixedPoint | Family::Learned => {}
            }
        }
    }
}
