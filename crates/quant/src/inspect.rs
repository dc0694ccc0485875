//! The bit inspector: one value's bits in its source format and in the chosen format, with the
//! code, the scaled value and the reconstruction (in the spirit of float.exposed).

use serde::{Deserialize, Serialize};

use crate::analysis::Analysis;
use crate::format::Element;

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
pub(crate) fn fields(code: u64, parts: &[(BitRole, u32)]) -> Vec<BitField> {
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

/// `value` (finite) followed through the shown block of `analysis` with the family's element
/// coder, label and bit fields (see [`crate::family::inspect`]); `signed` sign-extends the code.
pub(crate) fn through_block(
    value: f32,
    analysis: &Analysis,
    element: Element,
    label: String,
    layout: &[(BitRole, u32)],
    signed: bool,
) -> Option<Inspection> {
    let block = analysis.display_block?;
    let scaled = block.scaled(value);
    let (code, level, clipped) = element.encode(scaled);
    let width: u32 = layout.iter().map(|p| p.1).sum();
    let signed_code = if signed {
        i64::from(((code << (32 - width)) as i32) >> (32 - width))
    } else {
        i64::from(code)
    };
    Some(Inspection {
        value,
        source: f32_fields(value),
        target_label: label,
        target: fields(u64::from(code), layout),
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
    use crate::family::inspect;
    use crate::format::Format;
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
