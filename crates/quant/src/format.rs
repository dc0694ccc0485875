//! The element formats a tensor can be quantized to, chosen at run time.
//!
//! | format      | element                               | scale per block                       |
//! |-------------|---------------------------------------|---------------------------------------|
//! | `int`       | b-bit integer (see [`crate::affine`])  | S, Z from the calibrated range        |
//! | `fp8-e4m3` … `fp4-e2m1` | minifloat, RNE, saturating | S = amax / max (stored per `scale_format`) |
//! | `fp16`, `bf16` | IEEE half / bfloat16 cast (RNE, overflow to ±Inf) | none          |
//! | `nf4`       | the 16 NormalFloat levels              | absmax (bitsandbytes: r · (1/absmax)) |
//! | `fixed`     | Qm.n: step 2^−n in [−2^m, 2^m − 2^−n]   | none                                  |
//! | `log2`      | sign + powers of two 2^−j and 0        | 2^round(log2 amax)                    |
//! | `kmeans`    | learned levels (exact 1-D optimum) or D-dim centroids | none            |
//! | `ternary`   | BitNet b1.58's −1, 0, +1                | mean \|w\| (absmean), f32            |
//! | `q8_0`, `q4_0`, `q4_1` | llama.cpp/GGML blocks of 32 | f16 d (and f16 m for Q4_1)           |
//! | `q5_0` … `iq4_xs` | llama.cpp's other blocks, coded by its reference quantizers (see [`crate::ggml`]) | per type |

use serde::{Deserialize, Serialize};

use crate::codebook::LevelTable;
use crate::minifloat::{MiniFloat, FP4_E2M1, FP6_E2M3, FP6_E3M2, FP8_E4M3, FP8_E5M2};

/// The element format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Format {
    #[default]
    #[serde(rename = "int")]
    Int,
    #[serde(rename = "fp8-e4m3")]
    Fp8E4m3,
    #[serde(rename = "fp8-e5m2")]
    Fp8E5m2,
    #[serde(rename = "fp6-e3m2")]
    Fp6E3m2,
    #[serde(rename = "fp6-e2m3")]
    Fp6E2m3,
    #[serde(rename = "fp4-e2m1")]
    Fp4E2m1,
    #[serde(rename = "fp16")]
    Fp16,
    #[serde(rename = "bf16")]
    Bf16,
    #[serde(rename = "nf4")]
    Nf4,
    #[serde(rename = "fixed")]
    Fixed,
    #[serde(rename = "log2")]
    Log2,
    #[serde(rename = "kmeans")]
    Kmeans,
    #[serde(rename = "ternary")]
    Ternary,
    #[serde(rename = "q8_0")]
    Q8_0,
    #[serde(rename = "q4_0")]
    Q4_0,
    #[serde(rename = "q4_1")]
    Q4_1,
    #[serde(rename = "q5_0")]
    Q5_0,
    #[serde(rename = "q5_1")]
    Q5_1,
    #[serde(rename = "q2_k")]
    Q2K,
    #[serde(rename = "q3_k")]
    Q3K,
    #[serde(rename = "q4_k")]
    Q4K,
    #[serde(rename = "q5_k")]
    Q5K,
    #[serde(rename = "q6_k")]
    Q6K,
    #[serde(rename = "iq4_nl")]
    Iq4Nl,
    #[serde(rename = "iq4_xs")]
    Iq4Xs,
    #[serde(rename = "tq1_0")]
    Tq1_0,
    #[serde(rename = "tq2_0")]
    Tq2_0,
}

impl Format {
    pub const ALL: [Self; 27] = [
        Self::Int,
        Self::Fp8E4m3,
        Self::Fp8E5m2,
        Self::Fp6E3m2,
        Self::Fp6E2m3,
        Self::Fp4E2m1,
        Self::Fp16,
        Self::Bf16,
        Self::Nf4,
        Self::Fixed,
        Self::Log2,
        Self::Kmeans,
        Self::Ternary,
        Self::Q8_0,
        Self::Q4_0,
        Self::Q4_1,
        Self::Q5_0,
        Self::Q5_1,
        Self::Q2K,
        Self::Q3K,
        Self::Q4K,
        Self::Q5K,
        Self::Q6K,
        Self::Iq4Nl,
        Self::Iq4Xs,
        Self::Tq1_0,
        Self::Tq2_0,
    ];

    /// The name used by the CLI (`--format`), the app and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Int => "int",
            Self::Fp8E4m3 => "fp8-e4m3",
            Self::Fp8E5m2 => "fp8-e5m2",
            Self::Fp6E3m2 => "fp6-e3m2",
            Self::Fp6E2m3 => "fp6-e2m3",
            Self::Fp4E2m1 => "fp4-e2m1",
            Self::Fp16 => "fp16",
            Self::Bf16 => "bf16",
            Self::Nf4 => "nf4",
            Self::Fixed => "fixed",
            Self::Log2 => "log2",
            Self::Kmeans => "kmeans",
            Self::Ternary => "ternary",
            Self::Q8_0 => "q8_0",
            Self::Q4_0 => "q4_0",
            Self::Q4_1 => "q4_1",
            Self::Q5_0 => "q5_0",
            Self::Q5_1 => "q5_1",
            Self::Q2K => "q2_k",
            Self::Q3K => "q3_k",
            Self::Q4K => "q4_k",
            Self::Q5K => "q5_k",
            Self::Q6K => "q6_k",
            Self::Iq4Nl => "iq4_nl",
            Self::Iq4Xs => "iq4_xs",
            Self::Tq1_0 => "tq1_0",
            Self::Tq2_0 => "tq2_0",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }

    /// A short label for people (selects, legends).
    pub fn label(self) -> &'static str {
        match self {
            Self::Int => "integer (uniform)",
            Self::Fp8E4m3 => "FP8 E4M3",
            Self::Fp8E5m2 => "FP8 E5M2",
            Self::Fp6E3m2 => "FP6 E3M2",
            Self::Fp6E2m3 => "FP6 E2M3",
            Self::Fp4E2m1 => "FP4 E2M1",
            Self::Fp16 => "FP16 cast",
            Self::Bf16 => "BF16 cast",
            Self::Nf4 => "NF4 (QLoRA)",
            Self::Fixed => "fixed point Qm.n",
            Self::Log2 => "log2 (powers of two)",
            Self::Kmeans => "k-means codebook",
            Self::Ternary => "ternary (BitNet b1.58)",
            Self::Q8_0 => "GGML Q8_0",
            Self::Q4_0 => "GGML Q4_0",
            Self::Q4_1 => "GGML Q4_1",
            Self::Q5_0 => "GGML Q5_0",
            Self::Q5_1 => "GGML Q5_1",
            Self::Q2K => "GGML Q2_K",
            Self::Q3K => "GGML Q3_K",
            Self::Q4K => "GGML Q4_K",
            Self::Q5K => "GGML Q5_K",
            Self::Q6K => "GGML Q6_K",
            Self::Iq4Nl => "GGML IQ4_NL",
            Self::Iq4Xs => "GGML IQ4_XS",
            Self::Tq1_0 => "GGML TQ1_0",
            Self::Tq2_0 => "GGML TQ2_0",
        }
    }

    /// A one-line description for people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Int => "evenly spaced integer levels with a scale and zero-point",
            Self::Fp8E4m3 => "8-bit float, 4 exponent + 3 mantissa bits, max 448 (OCP E4M3FN)",
            Self::Fp8E5m2 => "8-bit float, 5 exponent + 2 mantissa bits, max 57344",
            Self::Fp6E3m2 => "6-bit float, 3 exponent + 2 mantissa bits, max 28 (OCP MX)",
            Self::Fp6E2m3 => "6-bit float, 2 exponent + 3 mantissa bits, max 7.5 (OCP MX)",
            Self::Fp4E2m1 => "4-bit float: 0, 0.5, 1, 1.5, 2, 3, 4, 6 and negatives (OCP MX)",
            Self::Fp16 => "IEEE half precision, an unscaled cast",
            Self::Bf16 => "bfloat16 (f32's exponent, 7 mantissa bits), an unscaled cast",
            Self::Nf4 => "16 NormalFloat levels of QLoRA, scaled by each block's absmax",
            Self::Fixed => "fixed point Qm.n: a fixed step 2^-n, no scale",
            Self::Log2 => "signed powers of two and zero: logarithmic spacing",
            Self::Kmeans => {
                "levels learned from the data (optimal 1-D k-means, or vector centroids)"
            }
            Self::Ternary => {
                "BitNet b1.58: −1, 0 or +1 times the mean |w| of the tensor (or group), 1.58 bits"
            }
            Self::Q8_0 => "llama.cpp Q8_0: blocks of 32, int8 codes, f16 scale (8.5 bits)",
            Self::Q4_0 => "llama.cpp Q4_0: blocks of 32, 4-bit codes, f16 scale (4.5 bits)",
            Self::Q4_1 => "llama.cpp Q4_1: blocks of 32, 4-bit codes, f16 scale and min (5 bits)",
            Self::Q5_0 => "llama.cpp Q5_0: blocks of 32, 5-bit codes, f16 scale (5.5 bits)",
            Self::Q5_1 => "llama.cpp Q5_1: blocks of 32, 5-bit codes, f16 scale and min (6 bits)",
            Self::Q2K => {
                "llama.cpp Q2_K: super-blocks of 256, 2-bit codes, 4-bit scales and mins of 16 (2.625 bits)"
            }
            Self::Q3K => {
                "llama.cpp Q3_K: super-blocks of 256, 3-bit codes, 6-bit scales of 16 (3.4375 bits)"
            }
            Self::Q4K => {
                "llama.cpp Q4_K: super-blocks of 256, 4-bit codes, 6-bit scales and mins of 32 (4.5 bits)"
            }
            Self::Q5K => {
                "llama.cpp Q5_K: super-blocks of 256, 5-bit codes, 6-bit scales and mins of 32 (5.5 bits)"
            }
            Self::Q6K => {
                "llama.cpp Q6_K: super-blocks of 256, 6-bit codes, 8-bit scales of 16 (6.5625 bits)"
            }
            Self::Iq4Nl => {
                "llama.cpp IQ4_NL: blocks of 32, 4-bit indices into 16 non-uniform levels, f16 scale (4.5 bits)"
            }
            Self::Iq4Xs => {
                "llama.cpp IQ4_XS: super-blocks of 256, IQ4_NL's levels, 6-bit scales of 32 (4.25 bits)"
            }
            Self::Tq1_0 => {
                "llama.cpp TQ1_0: ternary −1, 0, +1 times each 256's max |x|, five trits a byte (1.6875 bits)"
            }
            Self::Tq2_0 => {
                "llama.cpp TQ2_0: ternary −1, 0, +1 times each 256's max |x|, 2 bits a value (2.0625 bits)"
            }
        }
    }

    /// The family this format belongs to: the one place a format is mapped to what it can do.
    pub fn family(self) -> Family {
        match self {
            Self::Int => Family::Integer,
            Self::Fp8E4m3 | Self::Fp8E5m2 | Self::Fp6E3m2 | Self::Fp6E2m3 | Self::Fp4E2m1 => {
                Family::ScaledMinifloat
            }
            Self::Fp16 | Self::Bf16 => Family::Cast,
            Self::Fixed => Family::FixedPoint,
            Self::Nf4 => Family::LevelTable,
            Self::Log2 => Family::Logarithmic,
            Self::Kmeans => Family::Learned,
            Self::Ternary => Family::Ternary,
            Self::Q8_0
            | Self::Q4_0
            | Self::Q4_1
            | Self::Q5_0
            | Self::Q5_1
            | Self::Q2K
            | Self::Q3K
            | Self::Q4K
            | Self::Q5K
            | Self::Q6K
            | Self::Iq4Nl
            | Self::Iq4Xs
            | Self::Tq1_0
            | Self::Tq2_0 => Family::Ggml,
        }
    }

    /// The settings that apply to this format (the page shows these knobs, and only these).
    pub fn knobs(self) -> Knobs {
        self.family().knobs()
    }

    /// Why values can have no finite reconstruction in this format (the overflow note's reason).
    pub fn overflow_reason(self) -> String {
        match self.family() {
            Family::Cast if self == Self::Fp16 => {
                "they lie beyond fp16's largest value, ±65504, and the cast gives ±Inf".into()
            }
            Family::Ggml => format!(
                "their block's scale (or minimum) exceeds f16's largest value, 65504, so {} \
                 stores it as Inf, as llama.cpp does",
                self.name()
            ),
            Family::Integer
            | Family::ScaledMinifloat
            | Family::Cast
            | Family::FixedPoint
            | Family::LevelTable
            | Family::Logarithmic
            | Family::Learned
            | Family::Ternary => format!("{} cannot represent them", self.name()),
        }
    }

    /// Where a format's element coder comes from when the format fixes it.
    fn fixed_element(self) -> FixedElement {
        match (self, self.family()) {
            (Self::Fp8E4m3, _) => FixedElement::MiniFloat(FP8_E4M3),
            (Self::Fp8E5m2, _) => FixedElement::MiniFloat(FP8_E5M2),
            (Self::Fp6E3m2, _) => FixedElement::MiniFloat(FP6_E3M2),
            (Self::Fp6E2m3, _) => FixedElement::MiniFloat(FP6_E2M3),
            (Self::Fp4E2m1, _) => FixedElement::MiniFloat(FP4_E2M1),
            (Self::Nf4, _) => FixedElement::Table(crate::codebook::nf4),
            // A scaled-minifloat or level-table format without its element above has none: its
            // plan is refused (`AnalyzeError::NoPlan`), never another format's coder.
            (
                _,
                Family::Integer
                | Family::ScaledMinifloat
                | Family::Cast
                | Family::FixedPoint
                | Family::LevelTable
                | Family::Logarithmic
                | Family::Learned
                | Family::Ggml
                | Family::Ternary,
            ) => FixedElement::FromSettings,
        }
    }

    /// The minifloat behind a scaled float format.
    pub fn minifloat(self) -> Option<MiniFloat> {
        match self.fixed_element() {
            FixedElement::MiniFloat(m) => Some(m),
            FixedElement::Table(_) | FixedElement::FromSettings => None,
        }
    }

    /// The fixed table of levels of a level-table format (before its scale).
    pub fn level_table(self) -> Option<LevelTable> {
        match self.fixed_element() {
            FixedElement::Table(table) => Some(table()),
            FixedElement::MiniFloat(_) | FixedElement::FromSettings => None,
        }
    }

    /// The llama.cpp type of a GGML format.
    pub fn ggml_type(self) -> Option<crate::ggml::GgmlType> {
        use crate::ggml::GgmlType;
        match self {
            Self::Q8_0 => Some(GgmlType::Q8_0),
            Self::Q4_0 => Some(GgmlType::Q4_0),
            Self::Q4_1 => Some(GgmlType::Q4_1),
            Self::Q5_0 => Some(GgmlType::Q5_0),
            Self::Q5_1 => Some(GgmlType::Q5_1),
            Self::Q2K => Some(GgmlType::Q2K),
            Self::Q3K => Some(GgmlType::Q3K),
            Self::Q4K => Some(GgmlType::Q4K),
            Self::Q5K => Some(GgmlType::Q5K),
            Self::Q6K => Some(GgmlType::Q6K),
            Self::Iq4Nl => Some(GgmlType::Iq4Nl),
            Self::Iq4Xs => Some(GgmlType::Iq4Xs),
            Self::Tq1_0 => Some(GgmlType::Tq1_0),
            Self::Tq2_0 => Some(GgmlType::Tq2_0),
            Self::Int
            | Self::Fp8E4m3
            | Self::Fp8E5m2
            | Self::Fp6E3m2
            | Self::Fp6E2m3
            | Self::Fp4E2m1
            | Self::Fp16
            | Self::Bf16
            | Self::Nf4
            | Self::Fixed
            | Self::Log2
            | Self::Kmeans
            | Self::Ternary => None,
        }
    }

    /// The fixed block length of the GGML formats (a super-block for the K and IQ4_XS types).
    pub fn ggml_block(self) -> Option<usize> {
        self.ggml_type().map(|t| t.block_layout().0)
    }

    /// The GGML formats coded through llama.cpp's byte layout (all but the three legacy ones with
    /// their own element coders).
    pub fn ggml_bytes(self) -> Option<crate::ggml::GgmlType> {
        match self {
            Self::Q8_0 | Self::Q4_0 | Self::Q4_1 => None,
            other => other.ggml_type(),
        }
    }

    /// Whether the config's granularity and calibration decide this format's scales.
    pub fn uses_scales(self) -> bool {
        self.knobs().calibration
    }
}

/// A format's element coder, where the format alone fixes it.
enum FixedElement {
    MiniFloat(MiniFloat),
    Table(fn() -> LevelTable),
    /// Set by the settings (bits, m.n, K) or the data, or coded through bytes.
    FromSettings,
}

/// The families of number formats. Each family codes values its own way and takes its own
/// settings ([`Family::knobs`]); a new format joins a family in [`Format::family`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// Uniform integer codes with a scale and zero-point per tensor, channel or group.
    Integer,
    /// A small float (FP8, FP6, FP4) times a scale per block (MX, NVFP4).
    ScaledMinifloat,
    /// A cast to a wider float (FP16, BF16): no scale at all.
    Cast,
    /// Qm.n fixed point: a fixed power-of-two step.
    FixedPoint,
    /// A fixed table of levels times a scale (NF4).
    LevelTable,
    /// Powers of two times a scale: the bit width sets how many.
    Logarithmic,
    /// Levels (or D-dimensional points) learned from the data by k-means.
    Learned,
    /// llama.cpp's block types: their own blocks, scales and layout.
    Ggml,
    /// Three levels, −1, 0 and +1, times the mean magnitude (BitNet b1.58).
    Ternary,
}

/// Which settings a family takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Knobs {
    /// The bit width b.
    pub bits: bool,
    /// Signed or unsigned codes, symmetric or asymmetric ranges, narrow range, the rounding.
    pub integer_grid: bool,
    /// Granularity (per tensor, channel or group).
    pub granularity: bool,
    /// The calibration method choosing each scale's range.
    pub calibration: bool,
    /// How the scales are stored (f32, f16, bf16, E8M0, E4M3).
    pub scale_storage: bool,
    /// The codebook size K and sub-vector length D.
    pub codebook: bool,
    /// The integer and fraction bits m and n.
    pub fixed_widths: bool,
}

impl Family {
    /// What the family takes (see [`Knobs`]).
    pub fn knobs(self) -> Knobs {
        let none = Knobs {
            bits: false,
            integer_grid: false,
            granularity: false,
            calibration: false,
            scale_storage: false,
            codebook: false,
            fixed_widths: false,
        };
        let scaled = Knobs {
            granularity: true,
            calibration: true,
            scale_storage: true,
            ..none
        };
        match self {
            Self::Integer => Knobs {
                bits: true,
                integer_grid: true,
                ..scaled
            },
            Self::ScaledMinifloat | Self::LevelTable => scaled,
            // Its scale is a power of two by construction: nothing to store differently.
            Self::Logarithmic => Knobs {
                bits: true,
                scale_storage: false,
                ..scaled
            },
            Self::Cast | Self::Ggml => none,
            Self::FixedPoint => Knobs {
                fixed_widths: true,
                ..none
            },
            Self::Learned => Knobs {
                granularity: true,
                codebook: true,
                ..none
            },
            // Its scale is the mean magnitude of each tensor, channel or group, kept in f32.
            Self::Ternary => Knobs {
                granularity: true,
                ..none
            },
        }
    }
}

/// How one element is coded, after scaling.
#[derive(Clone, Debug, PartialEq)]
pub enum Element {
    Table(LevelTable),
    /// A minifloat by bit arithmetic ([`MiniFloat::encode`]).
    MiniFloat(MiniFloat),
    /// `half::f16::from_f32`: RNE, overflow to ±Inf.
    F16,
    /// `half::bf16::from_f32`: RNE, overflow to ±Inf.
    Bf16,
    /// `roundf(x)`, codes −127…127.
    Q8_0,
    /// `min(15, (int8_t)(x + 8.5))`, level q − 8.
    Q4_0,
    /// `min(15, (int8_t)(x + 0.5))`, level q.
    Q4_1,
}

impl Element {
    /// (code, level, clipped) of a finite scaled value `x`, exactly as the format's reference
    /// implementation computes it.
    #[inline]
    pub fn encode(&self, x: f32) -> (u32, f32, bool) {
        match self {
            Self::Table(t) => t.encode(x),
            Self::MiniFloat(f) => f.encode(x),
            Self::F16 => {
                let h = half::f16::from_f32(x);
                (u32::from(h.to_bits()), h.to_f32(), h.is_infinite())
            }
            Self::Bf16 => {
                let h = half::bf16::from_f32(x);
                (u32::from(h.to_bits()), h.to_f32(), h.is_infinite())
            }
            Self::Q8_0 => {
                // ggml's quantize_row_q8_0_ref: roundf (half away from zero).
                let q = x.round().clamp(-127.0, 127.0);
                (u32::from((q as i8) as u8), q, x.abs() > 127.5)
            }
            Self::Q4_0 => {
                // `(int8_t)(x0 + 8.5f)` truncates toward zero; then MIN(15, ·).
                let t = (x + 8.5) as i32;
                let q = t.clamp(0, 15);
                (q as u32, (q - 8) as f32, t > 15 || x + 8.5 < 0.0)
            }
            Self::Q4_1 => {
                let t = (x + 0.5) as i32;
                let q = t.clamp(0, 15);
                (q as u32, q as f32, t > 15 || x + 0.5 < 0.0)
            }
        }
    }

    /// Every level in the element domain, ascending (for 16-bit casts: none, too many to draw).
    pub fn levels(&self) -> Vec<f32> {
        match self {
            Self::Table(t) => t.signed_levels(),
            Self::MiniFloat(f) => LevelTable::minifloat(*f).signed_levels(),
            Self::F16 | Self::Bf16 => Vec::new(),
            Self::Q8_0 => (-127..=127).map(|q| q as f32).collect(),
            Self::Q4_0 => (-8..=7).map(|q| q as f32).collect(),
            Self::Q4_1 => (0..=15).map(|q| q as f32).collect(),
        }
    }

    /// Every decision threshold in the element domain, ascending.
    pub fn thresholds(&self) -> Vec<f32> {
        match self {
            Self::Table(t) => t.signed_thresholds(),
            Self::MiniFloat(f) => LevelTable::minifloat(*f).signed_thresholds(),
            Self::F16 | Self::Bf16 => Vec::new(),
            Self::Q8_0 => (-127..127).map(|q| q as f32 + 0.5).collect(),
            Self::Q4_0 => (-8..7).map(|q| q as f32 + 0.5).collect(),
            Self::Q4_1 => (0..15).map(|q| q as f32 + 0.5).collect(),
        }
    }

    /// How many distinct finite values the element can take (±0 once): the "levels available".
    pub fn distinct_values(&self) -> usize {
        match self {
            Self::Table(t) => t.signed_levels().len(),
            // Every magnitude code up to the largest finite one, both signs, zero once.
            Self::MiniFloat(f) => 2 * f.max_code() as usize + 1,
            // Finite f16: exponent fields 0–30 (31 × 1024 magnitudes), both signs, zero once.
            Self::F16 => 2 * 31 * 1024 - 1,
            // Finite bf16: exponent fields 0–254 (255 × 128 magnitudes), likewise.
            Self::Bf16 => 2 * 255 * 128 - 1,
            Self::Q8_0 => 255,
            Self::Q4_0 | Self::Q4_1 => 16,
        }
    }

    /// Pairs of codes that stand for the same value — (+0, −0) of sign–magnitude codes — so that
    /// "levels used" counts values, not codes.
    pub fn twin_codes(&self) -> Vec<(usize, usize)> {
        match self {
            Self::Table(t) => match t.sign_bit {
                Some(sign) if t.levels.first() == Some(&0.0) => {
                    let zero = t.codes.first().copied().unwrap_or(0) as usize;
                    vec![(zero, zero | sign as usize)]
                }
                _ => Vec::new(),
            },
            Self::MiniFloat(f) => vec![(0, f.sign_bit() as usize)],
            Self::F16 | Self::Bf16 => vec![(0, 0x8000)],
            Self::Q8_0 | Self::Q4_0 | Self::Q4_1 => Vec::new(),
        }
    }

    /// The value of each stored code 0, 1, … (NaN for a code with no value), where codes are
    /// unsigned indices or bit patterns of a table; `None` where the code is the number itself
    /// (Q8_0's signed byte) or an IEEE bit pattern (F16, BF16).
    pub fn code_values(&self) -> Option<Vec<f32>> {
        let table = |t: &LevelTable| {
            let mut out = vec![f32::NAN; t.n_codes()];
            for (&level, &code) in t.levels.iter().zip(&t.codes) {
                if let Some(v) = out.get_mut(code as usize) {
                    *v = level;
                }
                if let Some(sign) = t.sign_bit {
                    if let Some(v) = out.get_mut((code | sign) as usize) {
                        *v = -level;
                    }
                }
            }
            out
        };
        match self {
            Self::Table(t) => Some(table(t)),
            Self::MiniFloat(f) => Some(table(&LevelTable::minifloat(*f))),
            Self::Q4_0 => Some((-8..=7).map(|q| q as f32).collect()),
            Self::Q4_1 => Some((0..=15).map(|q| q as f32).collect()),
            Self::Q8_0 | Self::F16 | Self::Bf16 => None,
        }
    }

    /// Size of the code space (for counting codes).
    pub fn n_codes(&self) -> usize {
        match self {
            Self::Table(t) => t.n_codes(),
            Self::MiniFloat(f) => 2 * f.sign_bit() as usize,
            Self::F16 | Self::Bf16 => 1 << 16,
            Self::Q8_0 => 256,
            Self::Q4_0 | Self::Q4_1 => 16,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The knobs tell the truth: for every format, a setting its family does not take leaves
    /// the analysis exactly as it was, and one it takes changes it (on data where it can:
    /// skewed, rows of different spreads, outliers).
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn each_family_takes_the_knobs_it_says_and_no_other() {
        use crate::block::ScaleFormat;
        use crate::config::{Calibration, Granularity, QuantizerConfig, Scheme};
        use crate::dataset::Dataset;
        use crate::run::analyze;
        let (rows, cols) = (16usize, 256usize);
        let mut state = 7u64;
        let values: Vec<f32> = (0..rows * cols)
            .map(|i| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let u = (state >> 40) as f32 / (1u64 << 24) as f32;
                let spread = 0.05 * (1 + i / cols) as f32;
                let outlier = if i % 509 == 0 { 9.0 } else { 1.0 };
                (u * u * 1.5 - 0.4) * spread * outlier
            })
            .collect();
        let d = Dataset::new("knobs", vec![rows, cols], values).unwrap_or_else(|e| panic!("{e}"));
        let options = crate::analysis::AnalysisOptions::default();
        let figures = |c: &QuantizerConfig| {
            let a = analyze(&d, c, &options).unwrap_or_else(|e| panic!("{}: {e}", c.format.name()));
            (a.metrics.mse, a.metrics.levels_used, a.levels)
        };
        type Flip = fn(&mut QuantizerConfig);
        type Takes = fn(&Knobs) -> bool;
        let flips: [(&str, Takes, Flip); 7] = [
            ("bits", |k| k.bits, |c| c.bits = 3),
            (
                "integer grid",
                |k| k.integer_grid,
                |c| c.scheme = Scheme::Symmetric,
            ),
            (
                "granularity",
                |k| k.granularity,
                |c| c.granularity = Granularity::Channel { axis: 0 },
            ),
            (
                "calibration",
                |k| k.calibration,
                |c| c.calibration = Calibration::Percentile { p: 99.0 },
            ),
            (
                "scale storage",
                |k| k.scale_storage,
                |c| c.scale_format = ScaleFormat::Bf16,
            ),
            ("codebook", |k| k.codebook, |c| c.levels = 5),
            (
                "fixed widths",
                |k| k.fixed_widths,
                |c| {
                    c.int_bits = 1;
                    c.frac_bits = 2;
                },
            ),
        ];
        for f in Format::ALL {
            let mut base = QuantizerConfig {
                bits: 5,
                int_bits: 2,
                frac_bits: 6,
                ..QuantizerConfig::default()
            };
            base.set_format(f);
            let before = figures(&base);
            for (what, takes, flip) in &flips {
                let mut c = base.clone();
                flip(&mut c);
                let after = figures(&c);
                if takes(&f.knobs()) {
                    assert_ne!(
                        after.0,
                        before.0,
                        "{}: {what} is a knob but changes nothing",
                        f.name()
                    );
                } else {
                    assert_eq!(
                        after,
                        before,
                        "{}: {what} is not a knob but changes the figures",
                        f.name()
                    );
                }
            }
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn names_round_trip_and_match_serde() {
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(f));
            let json = serde_json::to_string(&f).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", f.name()));
        }
        assert_eq!(Format::from_name("fp8"), None);
    }

    /// Every f16 and bf16 bit pattern that is a number decodes and re-encodes to itself.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn every_16_bit_float_code_round_trips() {
        for bits in 0..=u16::MAX {
            let h = half::f16::from_bits(bits);
            if h.is_finite() {
                assert_eq!(Element::F16.encode(h.to_f32()).0, u32::from(bits));
            }
            let b = half::bf16::from_bits(bits);
            if b.is_finite() {
                assert_eq!(Element::Bf16.encode(b.to_f32()).0, u32::from(bits));
            }
        }
        // Ties to even: 1 + 2^-11 lies halfway between f16 1.0 (0x3C00) and 1.0009765625 (0x3C01).
        assert_eq!(Element::F16.encode(1.0 + 2f32.powi(-11)).0, 0x3C00);
        assert_eq!(Element::F16.encode(1.0 + 3.0 * 2f32.powi(-11)).0, 0x3C02);
    }

    /// "Levels available" counts distinct values: every finite code's value, ±0 once, by brute
    /// force over the code space of each element.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn distinct_values_are_counted_by_value() {
        use crate::minifloat::{FP4_E2M1, FP6_E2M3, FP6_E3M2, FP8_E4M3, FP8_E5M2};
        let distinct = |values: Vec<f32>| {
            let mut v: Vec<u32> = values
                .into_iter()
                .filter(|x| x.is_finite())
                .map(|x| (x + 0.0).to_bits())
                .collect();
            v.sort_unstable();
            v.dedup();
            v.len()
        };
        for f in [FP4_E2M1, FP6_E2M3, FP6_E3M2, FP8_E4M3, FP8_E5M2] {
            let all = (0..2 * f.sign_bit()).map(|c| f.real_from_code(c)).collect();
            assert_eq!(
                Element::MiniFloat(f).distinct_values(),
                distinct(all),
                "{f:?}"
            );
        }
        assert_eq!(FP4_E2M1.max_code(), 7);
        assert_eq!(Element::MiniFloat(FP4_E2M1).distinct_values(), 15);
        let f16 = (0..=u16::MAX)
            .map(|b| half::f16::from_bits(b).to_f32())
            .collect();
        assert_eq!(Element::F16.distinct_values(), distinct(f16));
        let bf16 = (0..=u16::MAX)
            .map(|b| half::bf16::from_bits(b).to_f32())
            .collect();
        assert_eq!(Element::Bf16.distinct_values(), distinct(bf16));
        for e in [
            Element::Q8_0,
            Element::Q4_0,
            Element::Q4_1,
            Element::Table(crate::codebook::nf4()),
            Element::Table(crate::codebook::log2(4)),
        ] {
            assert_eq!(e.distinct_values(), distinct(e.levels()), "{e:?}");
        }
        // log2's ±0 codes are twins; NF4's indices are not.
        assert_eq!(
            Element::Table(crate::codebook::log2(4)).twin_codes(),
            vec![(0, 8)]
        );
        assert!(Element::Table(crate::codebook::nf4())
            .twin_codes()
            .is_empty());
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn ggml_element_arithmetic() {
        // Q8_0 rounds half away from zero.
        assert_eq!(Element::Q8_0.encode(2.5).1, 3.0);
        assert_eq!(Element::Q8_0.encode(-2.5), (253, -3.0, false));
        // Q4_0: x0 = −8 → q 0; x0 = 8 → 16.5 → min(15) → level 7, clipped.
        assert_eq!(Element::Q4_0.encode(-8.0), (0, -8.0, false));
        assert_eq!(Element::Q4_0.encode(8.0), (15, 7.0, true));
        // x0 + 8.5 = 9.0 exactly at x0 = 0.5: truncation gives 9 → level 1 (ties go up).
        assert_eq!(Element::Q4_0.encode(0.5).1, 1.0);
        // Just under 0.5, the sum still rounds to 9.0 in f32, as in C.
        assert_eq!(Element::Q4_0.encode(0.5 - 2f32.powi(-25)).1, 1.0);
        assert_eq!(Element::Q4_1.encode(14.49), (14, 14.0, false));
        assert_eq!(Element::Q4_1.encode(15.0), (15, 15.0, false));
    }
}
