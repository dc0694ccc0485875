//! llama.cpp's tensor types (GGML): their names, block sizes and byte layouts, and exact
//! quantizers and dequantizers for the ones Quantscope reads and writes.
//!
//! ```text
//! a row of n values = n / B blocks of B values, each stored in S bytes (bits per value = 8·S/B)
//!   legacy  Q4_0 Q4_1 Q5_0 Q5_1 Q8_0   B = 32: an f16 scale d (and an f16 min m) + the codes
//!   K       Q2_K … Q6_K                B = 256 (a super-block): f16 d (and dmin), 16 or 8
//!                                      sub-block scales quantized to 4, 6 or 8 bits, the codes
//!   IQ4     IQ4_NL (B = 32), IQ4_XS (B = 256 with 6-bit sub-block scales): 4-bit indices into a
//!           non-uniform table of 16 levels
//!   MXFP4   B = 32: an E8M0 exponent + 4-bit E2M1 codes (read only)
//! ```
//!
//! Every quantizer is a port of llama.cpp's importance-free reference, `quantize_row_*_ref` in
//! `ggml/src/ggml-quants.c` (ggml-org/llama.cpp at commit 01243c5), written by hand because no
//! crate implements them outside candle's bindings to the whole runtime, and the product is to
//! show exactly these numbers. The arithmetic is f32 in the C source's order, without fused
//! multiply-adds; f16 conversions round to nearest even, as `GGML_FP32_TO_FP16` does. Byte
//! layouts follow `ggml-common.h`. `scripts/golden/make_ggml.py` checks them against llama.cpp's
//! own Python package (`gguf.quants`: byte-equal quantization of the legacy types, dequantization
//! of every type) and a separate numpy port of the K and IQ4 references.

mod iq4;
mod kquants;
mod legacy;
mod search;
mod ternary;

use serde::{Deserialize, Serialize};

/// A GGML tensor type, as numbered in llama.cpp's `enum ggml_type` (and in GGUF files).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
    Q8K,
    Iq2Xxs,
    Iq2Xs,
    Iq3Xxs,
    Iq1S,
    Iq4Nl,
    Iq3S,
    Iq2S,
    Iq4Xs,
    I8,
    I16,
    I32,
    I64,
    F64,
    Iq1M,
    Bf16,
    Tq1_0,
    Tq2_0,
    Mxfp4,
    Nvfp4,
    Q1_0,
}

impl GgmlType {
    /// Every type, in id order.
    pub const ALL: [Self; 34] = [
        Self::F32,
        Self::F16,
        Self::Q4_0,
        Self::Q4_1,
        Self::Q5_0,
        Self::Q5_1,
        Self::Q8_0,
        Self::Q8_1,
        Self::Q2K,
        Self::Q3K,
        Self::Q4K,
        Self::Q5K,
        Self::Q6K,
        Self::Q8K,
        Self::Iq2Xxs,
        Self::Iq2Xs,
        Self::Iq3Xxs,
        Self::Iq1S,
        Self::Iq4Nl,
        Self::Iq3S,
        Self::Iq2S,
        Self::Iq4Xs,
        Self::I8,
        Self::I16,
        Self::I32,
        Self::I64,
        Self::F64,
        Self::Iq1M,
        Self::Bf16,
        Self::Tq1_0,
        Self::Tq2_0,
        Self::Mxfp4,
        Self::Nvfp4,
        Self::Q1_0,
    ];

    /// The number llama.cpp and GGUF files use.
    pub fn id(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q5_0 => 6,
            Self::Q5_1 => 7,
            Self::Q8_0 => 8,
            Self::Q8_1 => 9,
            Self::Q2K => 10,
            Self::Q3K => 11,
            Self::Q4K => 12,
            Self::Q5K => 13,
            Self::Q6K => 14,
            Self::Q8K => 15,
            Self::Iq2Xxs => 16,
            Self::Iq2Xs => 17,
            Self::Iq3Xxs => 18,
            Self::Iq1S => 19,
            Self::Iq4Nl => 20,
            Self::Iq3S => 21,
            Self::Iq2S => 22,
            Self::Iq4Xs => 23,
            Self::I8 => 24,
            Self::I16 => 25,
            Self::I32 => 26,
            Self::I64 => 27,
            Self::F64 => 28,
            Self::Iq1M => 29,
            Self::Bf16 => 30,
            Self::Tq1_0 => 34,
            Self::Tq2_0 => 35,
            Self::Mxfp4 => 39,
            Self::Nvfp4 => 40,
            Self::Q1_0 => 41,
        }
    }

    /// The type numbered `id`, if llama.cpp has one.
    pub fn from_id(id: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.id() == id)
    }

    /// llama.cpp's name (`ggml_type_name`): `F32`, `Q4_K`, `IQ4_XS`, …
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "F32",
            Self::F16 => "F16",
            Self::Q4_0 => "Q4_0",
            Self::Q4_1 => "Q4_1",
            Self::Q5_0 => "Q5_0",
            Self::Q5_1 => "Q5_1",
            Self::Q8_0 => "Q8_0",
            Self::Q8_1 => "Q8_1",
            Self::Q2K => "Q2_K",
            Self::Q3K => "Q3_K",
            Self::Q4K => "Q4_K",
            Self::Q5K => "Q5_K",
            Self::Q6K => "Q6_K",
            Self::Q8K => "Q8_K",
            Self::Iq2Xxs => "IQ2_XXS",
            Self::Iq2Xs => "IQ2_XS",
            Self::Iq3Xxs => "IQ3_XXS",
            Self::Iq1S => "IQ1_S",
            Self::Iq4Nl => "IQ4_NL",
            Self::Iq3S => "IQ3_S",
            Self::Iq2S => "IQ2_S",
            Self::Iq4Xs => "IQ4_XS",
            Self::I8 => "I8",
            Self::I16 => "I16",
            Self::I32 => "I32",
            Self::I64 => "I64",
            Self::F64 => "F64",
            Self::Iq1M => "IQ1_M",
            Self::Bf16 => "BF16",
            Self::Tq1_0 => "TQ1_0",
            Self::Tq2_0 => "TQ2_0",
            Self::Mxfp4 => "MXFP4",
            Self::Nvfp4 => "NVFP4",
            Self::Q1_0 => "Q1_0",
        }
    }

    /// The type named `name` (llama.cpp's spelling, any case).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// (values per block, bytes per block), as `ggml_blck_size` and `ggml_type_size` give them.
    pub fn block_layout(self) -> (usize, usize) {
        const QK_K: usize = 256;
        match self {
            Self::F32 | Self::I32 => (1, 4),
            Self::F16 | Self::Bf16 | Self::I16 => (1, 2),
            Self::I8 => (1, 1),
            Self::I64 | Self::F64 => (1, 8),
            Self::Q4_0 => (32, 18),
            Self::Q4_1 => (32, 20),
            Self::Q5_0 => (32, 22),
            Self::Q5_1 => (32, 24),
            Self::Q8_0 => (32, 34),
            Self::Q8_1 => (32, 40),
            Self::Q2K => (QK_K, 2 + 2 + QK_K / 16 + QK_K / 4),
            Self::Q3K => (QK_K, 2 + QK_K / 4 + QK_K / 8 + 12),
            Self::Q4K => (QK_K, 2 + 2 + QK_K / 2 + 12),
            Self::Q5K => (QK_K, 2 + 2 + QK_K / 2 + QK_K / 8 + 12),
            Self::Q6K => (QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16),
            Self::Q8K => (QK_K, 4 + QK_K + QK_K / 8),
            Self::Iq2Xxs => (QK_K, 2 + QK_K / 4),
            Self::Iq2Xs => (QK_K, 2 + QK_K / 4 + QK_K / 32),
            Self::Iq3Xxs => (QK_K, 2 + QK_K / 4 + QK_K / 8),
            Self::Iq1S => (QK_K, 2 + QK_K / 8 + QK_K / 16),
            Self::Iq4Nl => (32, 18),
            Self::Iq3S => (QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4),
            Self::Iq2S => (QK_K, 2 + QK_K / 4 + QK_K / 16),
            Self::Iq4Xs => (QK_K, 2 + 2 + QK_K / 2 + QK_K / 64),
            Self::Iq1M => (QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32),
            Self::Tq1_0 => (QK_K, 2 + 4 * 13),
            Self::Tq2_0 => (QK_K, 2 + 64),
            Self::Mxfp4 => (32, 17),
            Self::Nvfp4 => (64, 36),
            Self::Q1_0 => (128, 18),
        }
    }

    /// Values per sub-block: the values that share one decoded scale (the block itself for the
    /// 32-value types).
    pub fn sub_block_len(self) -> usize {
        match self {
            Self::Q2K | Self::Q3K | Self::Q6K => 16,
            Self::Q4K | Self::Q5K | Self::Iq4Xs => 32,
            other => other.block_layout().0,
        }
    }

    /// Bits per value, the block's scales included.
    pub fn bits_per_value(self) -> f64 {
        let (values, bytes) = self.block_layout();
        8.0 * bytes as f64 / values as f64
    }

    /// The level of each code, in code order, and the code's width in bits (the types Quantscope
    /// quantizes to; empty for the others).
    pub fn code_levels(self) -> (Vec<f32>, u32) {
        let ints = |lo: i32, hi: i32| (lo..=hi).map(|q| q as f32).collect();
        match self {
            Self::Q8_0 => ((0..=255u8).map(|c| f32::from(c as i8)).collect(), 8),
            Self::Q4_0 => (ints(-8, 7), 4),
            Self::Q4_1 => (ints(0, 15), 4),
            Self::Q5_0 => (ints(-16, 15), 5),
            Self::Q5_1 => (ints(0, 31), 5),
            Self::Q2K => (ints(0, 3), 2),
            Self::Q3K => (ints(-4, 3), 3),
            Self::Q4K => (ints(0, 15), 4),
            Self::Q5K => (ints(0, 31), 5),
            Self::Q6K => (ints(-32, 31), 6),
            Self::Iq4Nl | Self::Iq4Xs => (iq4::KVALUES.iter().map(|&k| f32::from(k)).collect(), 4),
            // The trit q + 1 (two bits in TQ2_0; five to a byte in TQ1_0).
            Self::Tq1_0 | Self::Tq2_0 => (ints(-1, 1), 2),
            Self::F32
            | Self::F16
            | Self::Bf16
            | Self::F64
            | Self::Mxfp4
            | Self::Q8_1
            | Self::Q8K
            | Self::Iq2Xxs
            | Self::Iq2Xs
            | Self::Iq3Xxs
            | Self::Iq1S
            | Self::Iq3S
            | Self::Iq2S
            | Self::I8
            | Self::I16
            | Self::I32
            | Self::I64
            | Self::Iq1M
            | Self::Nvfp4
            | Self::Q1_0 => (Vec::new(), 0),
        }
    }

    /// How the type codes a block, in formulas (the formula panel shows these with the shown
    /// block's numbers); empty for the types Quantscope does not quantize to.
    pub fn formula_lines(self) -> Vec<&'static str> {
        match self {
            Self::Q8_0 => vec!["blocks of 32: d = amax / 127 (f16), q = round(r / d), r̂ = d · q"],
            Self::Q4_0 => vec![
                "blocks of 32: d = (value of largest |r|) / −8 (f16)",
                "q = min(15, ⌊r / d + 8.5⌋), r̂ = d · (q − 8)",
            ],
            Self::Q4_1 => vec![
                "blocks of 32: d = (max − min) / 15 and m = min (f16)",
                "q = min(15, ⌊(r − min) / d + 0.5⌋), r̂ = d · q + m",
            ],
            Self::Q5_0 => vec![
                "blocks of 32: d = (value of largest |r|) / −16 (f16)",
                "q = min(31, ⌊r / d + 16.5⌋), r̂ = d · (q − 16)",
            ],
            Self::Q5_1 => vec![
                "blocks of 32: d = (max − min) / 31 and m = min (f16)",
                "q = ⌊(r − min) / d + 0.5⌋, r̂ = d · q + m",
            ],
            Self::Q2K => vec![
                "super-blocks of 256 = 16 sub-blocks of 16; each sub-block's scale s_j and min m_j fitted by weighted least squares (weights |r|) over 16 candidate scales",
                "quantized to 4 bits against the largest: sc_j = round(15 · s_j / max s), mn_j = round(15 · m_j / max m); d = max s / 15, dmin = max m / 15 (f16)",
                "q = clamp(round((r + dmin · mn_j) / (d · sc_j)), 0, 3), r̂ = d · sc_j · q − dmin · mn_j",
            ],
            Self::Q3K => vec![
                "super-blocks of 256 = 16 sub-blocks of 16; each sub-block's signed scale s_j fitted by re-rounding one value at a time while the weighted fit improves (weights r²)",
                "quantized to 6 bits against the largest |s|: sc_j = clamp(round(−32 · s_j / s_max), −32, 31); d = −s_max / 32 (f16)",
                "q = clamp(round(r / (d · sc_j)), −4, 3), r̂ = d · sc_j · q",
            ],
            Self::Q4K | Self::Q5K => vec![
                "super-blocks of 256 = 8 sub-blocks of 32; each sub-block's scale s_j and min m_j fitted by weighted least squares (weights √mean(r²) + |r|) over a grid of candidate scales",
                "quantized to 6 bits against the largest: sc_j = round(63 · s_j / max s), mn_j = round(63 · m_j / max m); d = max s / 63, dmin = max m / 63 (f16)",
                if self == Self::Q4K {
                    "q = clamp(round((r + dmin · mn_j) / (d · sc_j)), 0, 15), r̂ = d · sc_j · q − dmin · mn_j"
                } else {
                    "q = clamp(round((r + dmin · mn_j) / (d · sc_j)), 0, 31), r̂ = d · sc_j · q − dmin · mn_j"
                },
            ],
            Self::Q6K => vec![
                "super-blocks of 256 = 16 sub-blocks of 16; each sub-block's signed scale s_j the best of 19 candidates (weights r²)",
                "quantized to 8 bits against the largest |s|: sc_j = min(127, round(−128 · s_j / s_max)); d = −s_max / 128 (f16)",
                "q = clamp(round(r / (d · sc_j)), −32, 31), r̂ = d · sc_j · q",
            ],
            Self::Iq4Nl => vec![
                "blocks of 32; levels L = −127, −104, −83, −65, −49, −35, −22, −10, 1, 13, 25, 38, 53, 69, 89, 113",
                "q = the level nearest to r / d₀, d₀ = (value of largest |r|) / −127; then d = Σ r²·L_q·r / Σ r²·L_q² (least squares, f16)",
                "r̂ = d · L_q",
            ],
            Self::Tq1_0 | Self::Tq2_0 => vec![
                "super-blocks of 256: d = max |r| (f16), q = round(r / d) ∈ {−1, 0, 1} (half away from zero), r̂ = d · q",
                if self == Self::Tq2_0 {
                    "each q + 1 stored in 2 bits (2.0625 bits a value with d)"
                } else {
                    "five trits q + 1 to a byte, base 3 (1.6875 bits a value with d)"
                },
            ],
            Self::Iq4Xs => vec![
                "super-blocks of 256 = 8 sub-blocks of 32 with IQ4_NL's 16 levels L; each sub-block's scale s_j the best of 15 candidates (weights r²)",
                "d = −(largest s) / 32 (f16), l_j = clamp(round(s_j / d), −32, 31) (6 bits)",
                "q = the level nearest to r / (d · l_j), r̂ = d · l_j · L_q",
            ],
            Self::F32
            | Self::F16
            | Self::Bf16
            | Self::F64
            | Self::Mxfp4
            | Self::Q8_1
            | Self::Q8K
            | Self::Iq2Xxs
            | Self::Iq2Xs
            | Self::Iq3Xxs
            | Self::Iq1S
            | Self::Iq3S
            | Self::Iq2S
            | Self::I8
            | Self::I16
            | Self::I32
            | Self::I64
            | Self::Iq1M
            | Self::Nvfp4
            | Self::Q1_0 => Vec::new(),
        }
    }

    /// Whether Quantscope turns this type back into values (and so opens such a tensor).
    pub fn can_dequantize(self) -> bool {
        match self {
            Self::F32
            | Self::F16
            | Self::Bf16
            | Self::F64
            | Self::Q4_0
            | Self::Q4_1
            | Self::Q5_0
            | Self::Q5_1
            | Self::Q8_0
            | Self::Q2K
            | Self::Q3K
            | Self::Q4K
            | Self::Q5K
            | Self::Q6K
            | Self::Iq4Nl
            | Self::Iq4Xs
            | Self::Tq1_0
            | Self::Tq2_0
            | Self::Mxfp4 => true,
            Self::Q8_1
            | Self::Q8K
            | Self::Iq2Xxs
            | Self::Iq2Xs
            | Self::Iq3Xxs
            | Self::Iq1S
            | Self::Iq3S
            | Self::Iq2S
            | Self::I8
            | Self::I16
            | Self::I32
            | Self::I64
            | Self::Iq1M
            | Self::Nvfp4
            | Self::Q1_0 => false,
        }
    }

    /// The block codec of a type Quantscope quantizes to (llama.cpp's reference quantizer).
    pub fn codec(self) -> Option<&'static dyn BlockCodec> {
        match self {
            Self::Q4_0 => Some(&legacy::Q4_0),
            Self::Q4_1 => Some(&legacy::Q4_1),
            Self::Q5_0 => Some(&legacy::Q5_0),
            Self::Q5_1 => Some(&legacy::Q5_1),
            Self::Q8_0 => Some(&legacy::Q8_0),
            Self::Q2K => Some(&kquants::Q2K),
            Self::Q3K => Some(&kquants::Q3K),
            Self::Q4K => Some(&kquants::Q4K),
            Self::Q5K => Some(&kquants::Q5K),
            Self::Q6K => Some(&kquants::Q6K),
            Self::Iq4Nl => Some(&iq4::Iq4Nl),
            Self::Iq4Xs => Some(&iq4::Iq4Xs),
            Self::Tq1_0 => Some(&ternary::Tq1_0),
            Self::Tq2_0 => Some(&ternary::Tq2_0),
            Self::F32
            | Self::F16
            | Self::Bf16
            | Self::F64
            | Self::Mxfp4
            | Self::Q8_1
            | Self::Q8K
            | Self::Iq2Xxs
            | Self::Iq2Xs
            | Self::Iq3Xxs
            | Self::Iq1S
            | Self::Iq3S
            | Self::Iq2S
            | Self::I8
            | Self::I16
            | Self::I32
            | Self::I64
            | Self::Iq1M
            | Self::Nvfp4
            | Self::Q1_0 => None,
        }
    }
}

/// How the values of one sub-block are coded and decoded: `code = clamp(round((x − o)/s))` or
/// the nearest entry of a table, and `x̂ = level(code) · d + m`. The views draw these levels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubBlock {
    /// First value of the sub-block within its block.
    pub start: usize,
    pub len: usize,
    /// The multiplier `d` of the levels (decode).
    pub scale: f32,
    /// What is added after scaling (`−dmin · m` for the K types with a minimum; `m` for Q4_1/Q5_1).
    pub offset: f32,
    /// The stored sub-block scale and min as integers, when the type has them (K and IQ4_XS).
    pub quantized_scale: Option<i32>,
    pub quantized_min: Option<i32>,
    /// The level of each code (borrowed from a static table where it can be: a block's
    /// sub-blocks are described as the block is measured, and a list made for each one was a
    /// large part of a K type's analysis).
    pub levels: std::borrow::Cow<'static, [f32]>,
}

/// The integers −128 … 127 as f32: every integer code range of the GGML types is a slice of it.
static INTEGERS: [f32; 256] = {
    let mut t = [0f32; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i as f32 - 128.0;
        i += 1;
    }
    t
};

/// The levels lo, lo + 1, …, hi (within −128 … 127).
pub(crate) fn int_levels(lo: i32, hi: i32) -> std::borrow::Cow<'static, [f32]> {
    let at = |v: i32| (v + 128).clamp(0, 255) as usize;
    std::borrow::Cow::Borrowed(&INTEGERS[at(lo)..=at(hi)])
}

/// One GGML block type that Quantscope quantizes: llama.cpp's reference quantizer and
/// dequantizer for one block, in the spirit of candle's `GgmlType` (the caller owns the memory).
pub trait BlockCodec: Sync {
    /// The type.
    fn ty(&self) -> GgmlType;
    /// Values per block.
    fn block_values(&self) -> usize {
        self.ty().block_layout().0
    }
    /// Bytes per block.
    fn block_bytes(&self) -> usize {
        self.ty().block_layout().1
    }
    /// Quantizes `x` (one block of finite values) into `out` (one block of bytes), exactly as
    /// llama.cpp's `quantize_row_*_ref`.
    fn quantize_block(&self, x: &[f32], out: &mut [u8]);
    /// Decodes one block, exactly as llama.cpp's `dequantize_row_*`.
    fn dequantize_block(&self, bytes: &[u8], out: &mut [f32]);
    /// Whether its decoding adds the sub-block's offset, `level · d + m`; otherwise it is
    /// `level · d` (adding an offset of +0 would turn a −0 into +0).
    fn adds_offset(&self) -> bool {
        false
    }
    /// Each value's code (its index into its sub-block's levels).
    fn codes_block(&self, bytes: &[u8], out: &mut [u32]);
    /// The block's sub-blocks: how their values decode.
    fn sub_blocks(&self, bytes: &[u8]) -> Vec<SubBlock>;
}

/// Quantizes `values` (a multiple of the block size; non-finite values are coded as 0) to the
/// bytes of `codec`'s type.
pub fn quantize(codec: &dyn BlockCodec, values: &[f32]) -> Vec<u8> {
    let (b, s) = (codec.block_values(), codec.block_bytes());
    let mut out = vec![0u8; values.len() / b * s];
    let mut block = vec![0f32; b];
    for (x, y) in values.chunks_exact(b).zip(out.chunks_exact_mut(s)) {
        for (dst, &v) in block.iter_mut().zip(x) {
            *dst = if v.is_finite() { v } else { 0.0 };
        }
        codec.quantize_block(&block, y);
    }
    out
}

/// Blocks of one type quantized from consecutive values of a tensor: blocks `first..` of it
/// (block b holds values `b·B..(b + 1)·B`).
#[derive(Clone, Debug, PartialEq)]
pub struct Coded {
    pub ty: GgmlType,
    pub first: usize,
    pub bytes: Vec<u8>,
}

impl Coded {
    /// Quantizes blocks `blocks` of `values` (a whole number of blocks; non-finite values coded as
    /// 0, as [`quantize`] does).
    pub fn new(codec: &dyn BlockCodec, values: &[f32], blocks: std::ops::Range<usize>) -> Self {
        let b = codec.block_values();
        let span = (blocks.start * b).min(values.len())..(blocks.end * b).min(values.len());
        Self {
            ty: codec.ty(),
            first: blocks.start,
            bytes: quantize(codec, &values[span]),
        }
    }

    /// The blocks held.
    pub fn blocks(&self) -> std::ops::Range<usize> {
        let (_, s) = self.ty.block_layout();
        self.first..self.first + self.bytes.len() / s.max(1)
    }

    /// The bytes of block `b` (which must be held).
    pub fn block(&self, b: usize) -> &[u8] {
        let (_, s) = self.ty.block_layout();
        let at = (b - self.first) * s;
        &self.bytes[at..at + s]
    }

    /// The codec of the type (every `Coded` is made by one).
    pub fn codec(&self) -> Option<&'static dyn BlockCodec> {
        self.ty.codec()
    }
}

/// The (super-)block a view shows, as stored: its type, bytes and which of its sub-blocks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShownBlock {
    pub ty: GgmlType,
    pub bytes: Vec<u8>,
    pub sub: usize,
}

/// One stored scale field of a block: its name, its bits (most significant first) and value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredField {
    pub name: String,
    pub bits: String,
    pub value: f64,
}

impl ShownBlock {
    /// The stored scale fields of the block and of the shown sub-block: the f16 super-block
    /// scale(s), then the sub-block's quantized scale (and min).
    pub fn stored_fields(&self) -> Vec<StoredField> {
        let bits = |v: u64, width: u32| -> String {
            (0..width)
                .rev()
                .map(|i| if v >> i & 1 == 1 { '1' } else { '0' })
                .collect()
        };
        let f16_field = |name: &str, at: usize| {
            let raw = u16::from_le_bytes([self.bytes[at], self.bytes[at + 1]]);
            StoredField {
                name: format!("{name} (f16)"),
                bits: bits(u64::from(raw), 16),
                value: f64::from(half::f16::from_bits(raw).to_f32()),
            }
        };
        let mut out = Vec::new();
        let (d, min): (Option<usize>, Option<(usize, &str)>) = match self.ty {
            GgmlType::Q4_0
            | GgmlType::Q5_0
            | GgmlType::Q8_0
            | GgmlType::Iq4Nl
            | GgmlType::Iq4Xs => (Some(0), None),
            GgmlType::Q4_1 | GgmlType::Q5_1 => (Some(0), Some((2, "m"))),
            GgmlType::Q4K | GgmlType::Q5K => (Some(0), Some((2, "dmin"))),
            GgmlType::Q2K => (Some(80), Some((82, "dmin"))),
            GgmlType::Q3K => (Some(108), None),
            GgmlType::Q6K => (Some(208), None),
            _ => (None, None),
        };
        let enough = self.bytes.len() >= self.ty.block_layout().1;
        if !enough {
            return out;
        }
        if let Some(at) = d {
            out.push(f16_field("d", at));
        }
        if let Some((at, name)) = min {
            out.push(f16_field(name, at));
        }
        // The sub-block's own quantized scale and min, with their widths.
        let widths = match self.ty {
            GgmlType::Q2K => Some((4, 4)),
            GgmlType::Q3K => Some((6, 0)),
            GgmlType::Q4K | GgmlType::Q5K => Some((6, 6)),
            GgmlType::Q6K => Some((8, 0)),
            GgmlType::Iq4Xs => Some((6, 0)),
            _ => None,
        };
        let sub = self
            .ty
            .codec()
            .and_then(|c| c.sub_blocks(&self.bytes).into_iter().nth(self.sub));
        if let (Some((ws, wm)), Some(sub)) = (widths, sub) {
            // Signed scales are stored with a bias (Q3_K, IQ4_XS: +32) or as int8 (Q6_K).
            let (stored, shown) = match (self.ty, sub.quantized_scale) {
                (GgmlType::Q3K | GgmlType::Iq4Xs, Some(s)) => {
                    ((s + 32) as u64, format!("sc_{} + 32", self.sub))
                }
                (GgmlType::Q6K, Some(s)) => {
                    (u64::from(s as i8 as u8), format!("sc_{} (int8)", self.sub))
                }
                (_, Some(s)) => (s as u64, format!("sc_{}", self.sub)),
                (_, None) => (0, String::new()),
            };
            out.push(StoredField {
                name: shown,
                bits: bits(stored, ws),
                value: f64::from(sub.quantized_scale.unwrap_or(0)),
            });
            if let (Some(m), true) = (sub.quantized_min, wm > 0) {
                out.push(StoredField {
                    name: format!("m_{}", self.sub),
                    bits: bits(m as u64, wm),
                    value: f64::from(m),
                });
            }
        }
        out
    }
}

/// Why bytes cannot be read as a tensor of a GGML type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DequantizeError {
    #[error("tensors of type {0} cannot be read by Quantscope")]
    Unsupported(&'static str),
    #[error("{ty}: {values} values are not a whole number of blocks of {block}")]
    PartialBlock {
        ty: &'static str,
        values: usize,
        block: usize,
    },
    #[error("{ty}: {values} values need {needed} bytes, {actual} were given")]
    Length {
        ty: &'static str,
        values: usize,
        needed: usize,
        actual: usize,
    },
}

/// The bytes `n` values of type `ty` take, if `n` is a whole number of blocks.
pub fn byte_len(ty: GgmlType, n: usize) -> Option<usize> {
    let (b, s) = ty.block_layout();
    (n % b == 0)
        .then(|| n / b)
        .and_then(|blocks| blocks.checked_mul(s))
}

/// Decodes `n` values of type `ty` from `bytes` (exactly `byte_len(ty, n)` of them), as
/// llama.cpp's `dequantize_row_*` (F16, BF16 and F64 as numpy converts them to f32).
pub fn dequantize(ty: GgmlType, bytes: &[u8], n: usize) -> Result<Vec<f32>, DequantizeError> {
    if !ty.can_dequantize() {
        return Err(DequantizeError::Unsupported(ty.name()));
    }
    let (b, s) = ty.block_layout();
    let needed = byte_len(ty, n).ok_or(DequantizeError::PartialBlock {
        ty: ty.name(),
        values: n,
        block: b,
    })?;
    if bytes.len() != needed {
        return Err(DequantizeError::Length {
            ty: ty.name(),
            values: n,
            needed,
            actual: bytes.len(),
        });
    }
    let mut out = vec![0f32; n];
    match ty {
        GgmlType::F32 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        GgmlType::F16 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = half::f16::from_le_bytes([c[0], c[1]]).to_f32();
            }
        }
        GgmlType::Bf16 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = half::bf16::from_le_bytes([c[0], c[1]]).to_f32();
            }
        }
        GgmlType::F64 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(8)) {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                *o = f64::from_le_bytes(a) as f32;
            }
        }
        GgmlType::Mxfp4 => {
            for (o, c) in out.chunks_exact_mut(b).zip(bytes.chunks_exact(s)) {
                legacy::dequantize_mxfp4(c, o);
            }
        }
        other => {
            let Some(codec) = other.codec() else {
                return Err(DequantizeError::Unsupported(other.name()));
            };
            for (o, c) in out.chunks_exact_mut(b).zip(bytes.chunks_exact(s)) {
                codec.dequantize_block(c, o);
            }
        }
    }
    Ok(out)
}

/// llama.cpp's `nearest_int`: round to nearest, ties to even, by adding 1.5·2²³ (exact for
/// |x| ≤ 2²² − 1; beyond that, the same bits as the C code, which asserts in debug builds).
#[inline]
pub(crate) fn nearest_int(x: f32) -> i32 {
    let v = x + 12_582_912.0;
    (v.to_bits() as i32 & 0x007f_ffff) - 0x0040_0000
}

/// `GGML_FP32_TO_FP16`: round to nearest even.
#[inline]
pub(crate) fn f16_bits(x: f32) -> [u8; 2] {
    half::f16::from_f32(x).to_le_bytes()
}

/// `GGML_FP16_TO_FP32` of two stored bytes.
#[inline]
pub(crate) fn f16_at(bytes: &[u8], at: usize) -> f32 {
    half::f16::from_le_bytes([bytes[at], bytes[at + 1]]).to_f32()
}

/// The value of largest magnitude (the first of them) and that magnitude, as the C loops
/// `if (amax < fabsf(v)) { amax = fabsf(v); max = v; }` find them.
#[inline]
pub(crate) fn signed_amax(x: &[f32]) -> (f32, f32) {
    let (mut amax, mut max) = (0f32, 0f32);
    for &v in x {
        if amax < v.abs() {
            amax = v.abs();
            max = v;
        }
    }
    (amax, max)
}

#[cfg(test)]
mod tests;
