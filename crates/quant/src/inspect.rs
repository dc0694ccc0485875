//! The bit inspector: one value's bits in its source format and in the chosen format, with the
//! code, the scaled value and the reconstruction (in the spirit of float.exposed).

use serde::{Deserialize, Serialize};

use crate::analysis::Analysis;
use crate::codebook::{self, LevelTable, Tie};
use crate::config::Signedness;
use crate::format::{Element, Format};

/// What a run of bits means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BitRole {
    Sign,
    Exponent,
    Mantissa,
    /// An integer code (two's complement or unsigned), or the integer part of fixed point.
    Integer,
    /// The fraction part of fixed point.
    Fraction,
    /// An index into a table of levels.
    Index,
}

/// A run of bits with one role, most significant first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BitField {
    pub role: BitRole,
    pub bits: String,
}

/// One value followed through the quantizer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    pub value: f32,
    pub source: Vec<BitField>,
    pub target_label: String,
    pub target: Vec<BitField>,
    /// The stored code (bit pattern, integer or index).
    pub code: i64,
    /// The value in the element domain, r / S (or the code before the zero-point for `int`).
    pub scaled: f32,
    pub scale: f32,
    /// What the decoding adds after scaling (a GGML block's −dmin·m or m; 0 for most formats):
    /// `scaled` is (r − offset) / scale.
    #[serde(default)]
    pub offset: f32,
    /// The block's stored scale fields (GGML types: f16 d, dmin, the sub-block's sc and m).
    #[serde(default)]
    pub stored: Vec<crate::ggml::StoredField>,
    pub r_hat: f32,
    pub clipped: bool,
}

fn bits_of(value: u64, width: u32) -> String {
    (0..width)
        .rev()
        .map(|i| if value >> i & 1 == 1 { '1' } else { '0' })
        .collect()
}

/// Splits `code` (width = Σ widths) into fields.
fn fields(code: u64, parts: &[(BitRole, u32)]) -> Vec<BitField> {
    let total: u32 = parts.iter().map(|p| p.1).sum();
    let mut shift = total;
    parts
        .iter()
        .filter(|p| p.1 > 0)
        .map(|&(role, width)| {
            shift -= width;
            BitField {
                role,
                bits: bits_of(code >> shift, width),
            }
        })
        .collect()
}

/// The f32 layout of `value`.
pub fn f32_fields(value: f32) -> Vec<BitField> {
    fields(
        u64::from(value.to_bits()),
        &[
            (BitRole::Sign, 1),
            (BitRole::Exponent, 8),
            (BitRole::Mantissa, 23),
        ],
    )
}

/// Follows `value` through the quantizer of `analysis` (its display group). `None` for vector
/// codebooks, whose codes stand for several values at once.
pub fn inspect(value: f32, analysis: &Analysis) -> Option<Inspection> {
    if !value.is_finite() {
        return None;
    }
    let config = &analysis.config;
    let source = f32_fields(value);
    if config.format == Format::Int {
        let p = analysis.display.params;
        // Stochastic rounding is shown for its expected case, u = ½.
        let (q, clipped) = p.code_from_real(value, p.inv_scale(), config.rounding, 0.5);
        let b = u32::from(config.bits);
        let label = match config.signedness {
            Signedness::Signed => format!("int{b} (two's complement)"),
            Signedness::Unsigned => format!("uint{b}"),
        };
        return Some(Inspection {
            value,
            source,
            target_label: label,
            target: fields(q as u64 & ((1u64 << b) - 1), &[(BitRole::Integer, b)]),
            code: i64::from(q),
            scaled: value * p.inv_scale(),
            scale: p.scale,
            offset: 0.0,
            stored: Vec::new(),
            r_hat: p.real_from_code(q),
            clipped,
        });
    }
    let block = analysis.display_block?;
    let (element, label, layout): (Element, String, Vec<(BitRole, u32)>) = match config.format {
        Format::Fp16 => (
            Element::F16,
            "IEEE half (1 · 5 · 10)".into(),
            vec![
                (BitRole::Sign, 1),
                (BitRole::Exponent, 5),
                (BitRole::Mantissa, 10),
            ],
        ),
        Format::Bf16 => (
            Element::Bf16,
            "bfloat16 (1 · 8 · 7)".into(),
            vec![
                (BitRole::Sign, 1),
                (BitRole::Exponent, 8),
                (BitRole::Mantissa, 7),
            ],
        ),
        Format::Nf4 => (
            Element::Table(codebook::nf4()),
            "NF4 index into 16 levels".into(),
            vec![(BitRole::Index, 4)],
        ),
        Format::Fixed => {
            let (m, n) = (u32::from(config.int_bits), u32::from(config.frac_bits));
            (
                Element::Table(codebook::fixed_point(m, n)),
                format!("Q{m}.{n} (two's complement, binary point before the last {n} bits)"),
                vec![(BitRole::Integer, 1 + m), (BitRole::Fraction, n)],
            )
        }
        Format::Log2 => {
            let b = u32::from(config.bits.max(2));
            (
                Element::Table(codebook::log2(b)),
                format!("sign + {}-bit exponent index (0 = zero)", b - 1),
                vec![(BitRole::Sign, 1), (BitRole::Index, b - 1)],
            )
        }
        Format::Kmeans => {
            let width = (config.levels as f64).log2().ceil() as u32;
            (
                Element::Table(LevelTable::indexed(analysis.levels.clone(), Tie::Lower)),
                format!("index into {} learned levels", analysis.levels.len()),
                vec![(BitRole::Index, width.max(1))],
            )
        }
        Format::Q8_0 => (
            Element::Q8_0,
            "Q8_0 int8 code".into(),
            vec![(BitRole::Integer, 8)],
        ),
        Format::Q4_0 => (
            Element::Q4_0,
            "Q4_0 4-bit code (level q − 8)".into(),
            vec![(BitRole::Integer, 4)],
        ),
        Format::Q4_1 => (
            Element::Q4_1,
            "Q4_1 4-bit code".into(),
            vec![(BitRole::Integer, 4)],
        ),
        Format::Q5_0
        | Format::Q5_1
        | Format::Q2K
        | Format::Q3K
        | Format::Q4K
        | Format::Q5K
        | Format::Q6K
        | Format::Iq4Nl
        | Format::Iq4Xs => {
            let ty = config.format.ggml_type()?;
            let (levels, width) = ty.code_levels();
            let mut sorted = levels.clone();
            sorted.sort_by(f32::total_cmp);
            // Codes are the indices of the ascending levels for every one of these types.
            (
                Element::Table(LevelTable::indexed(sorted, Tie::EvenCode)),
                format!(
                    "{} {width}-bit code of its sub-block (coded here with the stored scales)",
                    ty.name()
                ),
                vec![(BitRole::Index, width)],
            )
        }
        f @ (Format::Int
        | Format::Fp8E4m3
        | Format::Fp8E5m2
        | Format::Fp6E3m2
        | Format::Fp6E2m3
        | Format::Fp4E2m1) => {
            let mf = f.minifloat()?;
            (
                Element::MiniFloat(mf),
                format!("{} (1 · {} · {})", f.name(), mf.exp_bits, mf.man_bits),
                vec![
                    (BitRole::Sign, 1),
                    (BitRole::Exponent, mf.exp_bits),
                    (BitRole::Mantissa, mf.man_bits),
                ],
            )
        }
    };
    let scaled = block.scaled(value);
    let (code, level, clipped) = element.encode(scaled);
    let width: u32 = layout.iter().map(|p| p.1).sum();
    let signed_code = if config.signed_codes() {
        i64::from(((code << (32 - width)) as i32) >> (32 - width))
    } else {
        i64::from(code)
    };
    Some(Inspection {
        value,
        source,
        target_label: label,
        target: fields(u64::from(code), &layout),
        code: signed_code,
        scaled,
        scale: block.dec_scale,
        offset: block.dec_offset,
        stored: analysis
            .ggml_block
            .as_ref()
            .map(crate::ggml::ShownBlock::stored_fields)
            .unwrap_or_default(),
        r_hat: block.real_from_level(level),
        clipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{analyze, AnalysisOptions, Dataset, QuantizerConfig};

    fn analysis(config: QuantizerConfig, values: Vec<f32>) -> Analysis {
        let d = Dataset::from_vec("t", values).unwrap_or_else(|e| panic!("{e}"));
        analyze(&d, &config, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn joined(f: &[BitField]) -> String {
        f.iter()
            .map(|b| b.bits.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn fp8_bits_by_hand() {
        // amax 448 → S = 1; 1.0 is E4M3 0 0111 000, −3 is 1 1000 100.
        let a = analysis(
            QuantizerConfig {
                format: Format::Fp8E4m3,
                ..Default::default()
            },
            vec![448.0, -3.0, 1.0],
        );
        let i = inspect(1.0, &a).unwrap_or_else(|| panic!("inspection"));
        assert_eq!(joined(&i.target), "0 0111 000");
        assert_eq!(joined(&i.source), "0 01111111 00000000000000000000000");
        let i = inspect(-3.0, &a).unwrap_or_else(|| panic!("inspection"));
        assert_eq!(
            (joined(&i.target), i.code, i.r_hat),
            ("1 1000 100".into(), 0xC4, -3.0)
        );
        // 500 saturates to 448.
        let i = inspect(500.0, &a).unwrap_or_else(|| panic!("inspection"));
        assert!(i.clipped && i.r_hat == 448.0);
    }

    /// A Q4_K block: the inspector shows the super-block's f16 d and dmin and the sub-block's
    /// 6-bit scale and min as stored, and follows a value as (r + dmin·m) / (d·sc).
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn k_quant_scales_as_stored() {
        let values: Vec<f32> = (0..512)
            .map(|i| (i as f32 * 0.7).sin() * 0.1 + 0.02)
            .collect();
        let a = analysis(
            QuantizerConfig {
                format: Format::Q4K,
                ..Default::default()
            },
            values.clone(),
        );
        let i = inspect(values[3], &a).unwrap_or_else(|| panic!("inspection"));
        let names: Vec<&str> = i.stored.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["d (f16)", "dmin (f16)", "sc_0", "m_0"]);
        assert_eq!(i.stored[0].bits.len(), 16);
        assert_eq!(i.stored[2].bits.len(), 6);
        // The sub-block's decode: d · sc and −dmin · m, as the block decodes.
        let (d, dmin, sc, m) = (
            i.stored[0].value as f32,
            i.stored[1].value as f32,
            i.stored[2].value as f32,
            i.stored[3].value as f32,
        );
        assert_eq!(i.scale, d * sc);
        assert_eq!(i.offset, -(dmin * m));
        assert_eq!(i.scaled, (values[3] - i.offset) / i.scale);
        assert_eq!(i.r_hat, i.code as f32 * i.scale + i.offset);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn int_and_fixed_codes_by_hand() {
        // int8 symmetric over [-1, 1]... S = 1/127.5; 0.5 → 63.75 → 64 → 0b01000000.
        let a = analysis(
            QuantizerConfig {
                scheme: crate::Scheme::Symmetric,
                ..Default::default()
            },
            vec![-1.0, 1.0],
        );
        let i = inspect(0.5, &a).unwrap_or_else(|| panic!("inspection"));
        assert_eq!((joined(&i.target), i.code), ("01000000".into(), 64));
        let i = inspect(-1.0, &a).unwrap_or_else(|| panic!("inspection"));
        // S = f32(1/127.5) rounds up, so 1/S is just below 127.5: −1 → −127 → 0b10000001.
        assert_eq!((joined(&i.target), i.code), ("10000001".into(), -127));
        // Q3.4: −0.25 is k = −4 → 11111100 split as 1111 1100.
        let a = analysis(
            QuantizerConfig {
                format: Format::Fixed,
                ..Default::default()
            },
            vec![-1.0, 1.0],
        );
        let i = inspect(-0.25, &a).unwrap_or_else(|| panic!("inspection"));
        assert_eq!(
            (joined(&i.target), i.code, i.r_hat),
            ("1111 1100".into(), -4, -0.25)
        );
    }
}
