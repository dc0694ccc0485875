//! The formula panel's text: lines of formulas with the shown group's numbers. Each format
//! family writes its own ([`crate::family::formulas`], and a value followed through the integer
//! quantizer, [`crate::family::worked_example`]); the page renders them as they are, so no
//! rounding or scale arithmetic is written twice.

/// One formula, with the name a test or a link may find it by and a remark after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub id: Option<&'static str>,
    pub remark: Option<&'static str>,
}

impl Line {
    /// A line with no name and no remark.
    pub fn plain(text: impl Into<String>) -> Self {
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

impl Formulas {
    /// Plain lines without a preface.
    pub fn plain(lines: Vec<String>) -> Self {
        Self {
            preface: None,
            lines: lines.into_iter().map(Line::plain).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::Analysis;
    use crate::config::{QuantizerConfig, Rounding};
    use crate::dataset::Dataset;
    use crate::family::{formulas, worked_example};
    use crate::format::Family;
    use crate::format::Format;
    use crate::run::analyze;
    use crate::text::number;

    fn n(v: f64) -> String {
        number(v, 6)
    }

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
                Family::Ternary => {
                    let d = n(f64::from(a.display.params.scale));
                    assert!(f.lines[0].text.ends_with(&format!("1/s = {d}")));
                }
                Family::Integer | Family::Cast | Family::FixedPoint | Family::Learned => {}
            }
        }
    }
}
