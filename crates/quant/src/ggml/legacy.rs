//! The legacy 32-value blocks: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (and MXFP4, read only).
//!
//! ```text
//! Q4_0  d = v*/−8  (v*: the value of largest |x|)   q = min(15, trunc(x/d + 8.5))    x̂ = (q − 8)·d
//! Q5_0  d = v*/−16                                  q = min(31, trunc(x/d + 16.5))   x̂ = (q − 16)·d
//! Q4_1  d = (max − min)/15                          q = min(15, trunc((x − min)/d + 0.5))  x̂ = q·d + m
//! Q5_1  d = (max − min)/31                          q = trunc((x − min)/d + 0.5)     x̂ = q·d + m
//! Q8_0  d = max|x|/127                              q = roundf(x/d)                  x̂ = q·d
//! ```
//! x/d is x·(1/d), with 1/d taken as 0 when d = 0; d and m are stored as f16 and decoded from
//! there. Layouts (`ggml-common.h`): `{f16 d; u8 qs[16]}`, `{f16 d, m; u8 qs[16]}`,
//! `{f16 d; u8 qh[4]; u8 qs[16]}`, `{f16 d, m; u8 qh[4]; u8 qs[16]}`, `{f16 d; i8 qs[32]}`; four-bit
//! codes pack value j in the low nibble of byte j and value j + 16 in its high nibble, and the
//! fifth bits of Q5 go to bit j of the little-endian u32 `qh`.

use super::{f16_at, f16_bits, signed_amax, BlockCodec, GgmlType, SubBlock};

const QK: usize = 32;

fn inv(d: f32) -> f32 {
    if d != 0.0 {
        1.0 / d
    } else {
        0.0
    }
}

/// `(int8_t)(v)` of a value the reference keeps within the int8 range, then widened.
fn trunc_i8(v: f32) -> i32 {
    i32::from(v as i8)
}

/// min and max as the C loops find them (starting from ±FLT_MAX).
fn min_max(x: &[f32]) -> (f32, f32) {
    let (mut min, mut max) = (f32::MAX, -f32::MAX);
    for &v in x {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    (min, max)
}

/// Packs 32 four-bit codes as the legacy types store them.
fn pack_nibbles(low: &[u8; QK], qs: &mut [u8]) {
    for j in 0..QK / 2 {
        qs[j] = (low[j] & 0x0F) | ((low[j + QK / 2] & 0x0F) << 4);
    }
}

/// The fifth bits of 32 codes as Q5's little-endian `qh`.
fn pack_high(codes: &[u8; QK]) -> [u8; 4] {
    let mut qh = 0u32;
    for (j, &c) in codes.iter().enumerate() {
        qh |= u32::from((c & 0x10) >> 4) << j;
    }
    qh.to_le_bytes()
}

/// Value j's code from nibbles (and Q5's fifth bits).
fn code_at(qs: &[u8], qh: Option<&[u8]>, j: usize) -> u32 {
    let nibble = if j < QK / 2 {
        qs[j] & 0x0F
    } else {
        qs[j - QK / 2] >> 4
    };
    let high = qh.map_or(0, |h| {
        let qh = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        ((qh >> j) & 1) << 4
    });
    u32::from(nibble) | high
}

/// Q4_0 and Q5_0: a signed scale from the value of largest magnitude.
fn quantize_symmetric(x: &[f32], out: &mut [u8], bits: u32) {
    let half = (1i32 << (bits - 1)) as f32;
    let top = (1i32 << bits) - 1;
    let (_, max) = signed_amax(x);
    let d = max / -half;
    let id = inv(d);
    out[0..2].copy_from_slice(&f16_bits(d));
    let mut codes = [0u8; QK];
    for (c, &v) in codes.iter_mut().zip(x) {
        *c = top.min(trunc_i8(v * id + (half + 0.5))) as u8;
    }
    if bits == 4 {
        pack_nibbles(&codes, &mut out[2..18]);
    } else {
        out[2..6].copy_from_slice(&pack_high(&codes));
        pack_nibbles(&codes, &mut out[6..22]);
    }
}

/// Q4_1 and Q5_1: a scale and a minimum.
fn quantize_with_min(x: &[f32], out: &mut [u8], bits: u32) {
    let top = (1i32 << bits) - 1;
    let (min, max) = min_max(x);
    let d = (max - min) / top as f32;
    let id = inv(d);
    out[0..2].copy_from_slice(&f16_bits(d));
    out[2..4].copy_from_slice(&f16_bits(min));
    let mut codes = [0u8; QK];
    for (c, &v) in codes.iter_mut().zip(x) {
        let t = (v - min) * id + 0.5;
        *c = if bits == 4 {
            top.min(trunc_i8(t)) as u8
        } else {
            // `(uint8_t)(x0 + 0.5f)`: no MIN; the value lies in [0.5, 31.5].
            (t as u8).min(top as u8)
        };
    }
    if bits == 4 {
        pack_nibbles(&codes, &mut out[4..20]);
    } else {
        out[4..8].copy_from_slice(&pack_high(&codes));
        pack_nibbles(&codes, &mut out[8..24]);
    }
}

/// Where a four- or five-bit block keeps its fields: the f16 d at 0, an f16 min at 2 (Q4_1,
/// Q5_1), Q5's fifth bits `qh`, and the nibbles `qs`.
struct Layout {
    has_min: bool,
    qh: Option<usize>,
    qs: usize,
    bits: u32,
}

const Q4_0_LAYOUT: Layout = Layout {
    has_min: false,
    qh: None,
    qs: 2,
    bits: 4,
};
const Q4_1_LAYOUT: Layout = Layout {
    has_min: true,
    qh: None,
    qs: 4,
    bits: 4,
};
const Q5_0_LAYOUT: Layout = Layout {
    has_min: false,
    qh: Some(2),
    qs: 6,
    bits: 5,
};
const Q5_1_LAYOUT: Layout = Layout {
    has_min: true,
    qh: Some(4),
    qs: 8,
    bits: 5,
};

fn codes_nibbles(l: &Layout, bytes: &[u8], out: &mut [u32]) {
    let qh = l.qh.map(|at| &bytes[at..at + 4]);
    for (j, o) in out.iter_mut().enumerate().take(QK) {
        *o = code_at(&bytes[l.qs..], qh, j);
    }
}

fn dequantize_nibbles(l: &Layout, bytes: &[u8], out: &mut [f32]) {
    let d = f16_at(bytes, 0);
    let m = if l.has_min { f16_at(bytes, 2) } else { 0.0 };
    let bias = if l.has_min { 0 } else { 1i32 << (l.bits - 1) };
    let qh = l.qh.map(|at| &bytes[at..at + 4]);
    for (j, o) in out.iter_mut().enumerate().take(QK) {
        let q = code_at(&bytes[l.qs..], qh, j) as i32;
        // `x0*d + m` (with a min) or `x0*d`, in f32 as the C code.
        *o = if l.has_min {
            q as f32 * d + m
        } else {
            (q - bias) as f32 * d
        };
    }
}

fn sub_block_nibbles(l: &Layout, bytes: &[u8]) -> Vec<SubBlock> {
    let top = (1i32 << l.bits) - 1;
    let bias = if l.has_min { 0 } else { 1i32 << (l.bits - 1) };
    vec![SubBlock {
        start: 0,
        len: QK,
        scale: f16_at(bytes, 0),
        offset: if l.has_min { f16_at(bytes, 2) } else { 0.0 },
        quantized_scale: None,
        quantized_min: None,
        levels: super::int_levels(-bias, top - bias),
    }]
}

macro_rules! nibble_codec {
    ($name:ident, $ty:expr, $layout:expr, $quantize:expr) => {
        pub(super) struct $name;
        impl BlockCodec for $name {
            fn ty(&self) -> GgmlType {
                $ty
            }
            fn quantize_block(&self, x: &[f32], out: &mut [u8]) {
                $quantize(x, out)
            }
            fn dequantize_block(&self, bytes: &[u8], out: &mut [f32]) {
                dequantize_nibbles(&$layout, bytes, out)
            }
            fn adds_offset(&self) -> bool {
                $layout.has_min
            }
            fn codes_block(&self, bytes: &[u8], out: &mut [u32]) {
                codes_nibbles(&$layout, bytes, out)
            }
            fn sub_blocks(&self, bytes: &[u8]) -> Vec<SubBlock> {
                sub_block_nibbles(&$layout, bytes)
            }
        }
    };
}

nibble_codec!(Q4_0, GgmlType::Q4_0, Q4_0_LAYOUT, |x, out| {
    quantize_symmetric(x, out, 4)
});
nibble_codec!(Q5_0, GgmlType::Q5_0, Q5_0_LAYOUT, |x, out| {
    quantize_symmetric(x, out, 5)
});
nibble_codec!(Q4_1, GgmlType::Q4_1, Q4_1_LAYOUT, |x, out| {
    quantize_with_min(x, out, 4)
});
nibble_codec!(Q5_1, GgmlType::Q5_1, Q5_1_LAYOUT, |x, out| {
    quantize_with_min(x, out, 5)
});

pub(super) struct Q8_0;

impl BlockCodec for Q8_0 {
    fn ty(&self) -> GgmlType {
        GgmlType::Q8_0
    }

    fn quantize_block(&self, x: &[f32], out: &mut [u8]) {
        let amax = x.iter().fold(0f32, |a, v| a.max(v.abs()));
        let d = amax / 127.0;
        let id = inv(d);
        out[0..2].copy_from_slice(&f16_bits(d));
        for (o, &v) in out[2..34].iter_mut().zip(x) {
            // roundf: half away from zero, as f32::round.
            *o = ((v * id).round() as i8) as u8;
        }
    }

    fn dequantize_block(&self, bytes: &[u8], out: &mut [f32]) {
        let d = f16_at(bytes, 0);
        for (o, &q) in out.iter_mut().zip(&bytes[2..34]) {
            *o = f32::from(q as i8) * d;
        }
    }

    fn codes_block(&self, bytes: &[u8], out: &mut [u32]) {
        // Codes are the two's-complement bytes (as `Element::Q8_0` numbers them).
        for (o, &q) in out.iter_mut().zip(&bytes[2..34]) {
            *o = u32::from(q);
        }
    }

    fn sub_blocks(&self, bytes: &[u8]) -> Vec<SubBlock> {
        // Level of code c is the byte read as i8: codes 0..=127 then −128..=−1.
        let levels = (0..=255u8).map(|c| f32::from(c as i8)).collect();
        vec![SubBlock {
            start: 0,
            len: QK,
            scale: f16_at(bytes, 0),
            offset: 0.0,
            quantized_scale: None,
            quantized_min: None,
            levels,
        }]
    }
}

/// `kvalues_mxfp4`: twice the E2M1 values, indexed by the 4-bit code.
const KVALUES_MXFP4: [i8; 16] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

/// `GGML_E8M0_TO_FP32_HALF`: 2^(e − 128), from bits (e < 2 are subnormals).
fn e8m0_half(e: u8) -> f32 {
    let bits = if e < 2 {
        0x0020_0000u32 << e
    } else {
        u32::from(e - 1) << 23
    };
    f32::from_bits(bits)
}

/// `dequantize_row_mxfp4` of one block `{u8 e; u8 qs[16]}`.
pub(super) fn dequantize_mxfp4(bytes: &[u8], out: &mut [f32]) {
    let d = e8m0_half(bytes[0]);
    for j in 0..QK / 2 {
        let b = bytes[1 + j];
        out[j] = f32::from(KVALUES_MXFP4[usize::from(b & 0x0F)]) * d;
        out[j + QK / 2] = f32::from(KVALUES_MXFP4[usize::from(b >> 4)]) * d;
    }
}
