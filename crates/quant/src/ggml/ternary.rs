//! llama.cpp's ternary types (`quantize_row_tq{1,2}_0_ref` and `dequantize_row_tq{1,2}_0` in
//! ggml-quants.c, layouts in ggml-common.h): super-blocks of 256 values, each −1, 0 or +1 times
//! the block's largest magnitude d (stored as f16):
//!
//! ```text
//! d = max |x|,  q = lroundf(x · (1/d)) ∈ {−1, 0, 1}  (1/d taken as 0 when d = 0),  x̂ = d · q
//! TQ2_0 {u8 qs[64]; f16 d}:            q + 1 in 2 bits, byte j + m holds values
//!                                      (j/32)·128 + 32n + m at bits 2n (n = 0..3)
//! TQ1_0 {u8 qs[48]; u8 qh[4]; f16 d}:  five trits per byte (four in qh), base 3 with the first
//!                                      value most significant, stored as ⌈t · 256 / 243⌉ so that
//!                                      trit n is read back as ((u8)(byte · 3ⁿ) · 3) >> 8
//! ```
//! (BitNet b1.58's own rule scales by the mean magnitude instead: `Format::Ternary`.)

use super::{f16_at, f16_bits, BlockCodec, GgmlType, SubBlock};

/// `lroundf(x) + 1`: the trit 0, 1 or 2 of −1, 0, +1 (|x| ≤ 1 here, up to rounding).
fn trit(x: f32) -> u8 {
    (crate::affine::round_half_away(x) as i32 + 1).clamp(0, 2) as u8
}

/// d = max |x| and its reciprocal as ggml takes it (`d ? 1.0f/d : 0.0f`).
fn scale(x: &[f32]) -> (f32, f32) {
    let d = x.iter().fold(0f32, |a, v| a.max(v.abs()));
    (d, if d != 0.0 { 1.0 / d } else { 0.0 })
}

const LEVELS: [f32; 3] = [-1.0, 0.0, 1.0];

fn sub_block(d: f32) -> Vec<SubBlock> {
    vec![SubBlock {
        start: 0,
        len: 256,
        scale: d,
        offset: 0.0,
        quantized_scale: None,
        quantized_min: None,
        levels: std::borrow::Cow::Borrowed(&LEVELS),
    }]
}

pub(super) struct Tq2_0;

/// The trit of value `v` of a TQ2_0 block.
fn tq2_trit(qs: &[u8], v: usize) -> u8 {
    let (j, n, m) = (v / 128 * 32, v % 128 / 32, v % 32);
    (qs[j + m] >> (2 * n)) & 3
}

impl BlockCodec for Tq2_0 {
    fn ty(&self) -> GgmlType {
        GgmlType::Tq2_0
    }

    fn quantize_block(&self, x: &[f32], out: &mut [u8]) {
        let (d, id) = scale(&x[..256]);
        for j in (0..64).step_by(32) {
            let base = j / 32 * 128;
            for (m, byte) in out[j..j + 32].iter_mut().enumerate() {
                *byte = (0..4).fold(0u8, |q, n| {
                    q | (trit(x[base + m + 32 * n] * id) & 3) << (2 * n)
                });
            }
        }
        out[64..66].copy_from_slice(&f16_bits(d));
    }

    fn dequantize_block(&self, bytes: &[u8], out: &mut [f32]) {
        let d = f16_at(bytes, 64);
        for (v, o) in out.iter_mut().enumerate().take(256) {
            *o = (f32::from(tq2_trit(bytes, v)) - 1.0) * d;
        }
    }

    fn codes_block(&self, bytes: &[u8], out: &mut [u32]) {
        for (v, o) in out.iter_mut().enumerate().take(256) {
            *o = u32::from(tq2_trit(bytes, v));
        }
    }

    fn sub_blocks(&self, bytes: &[u8]) -> Vec<SubBlock> {
        sub_block(f16_at(bytes, 64))
    }
}

pub(super) struct Tq1_0;

/// Five trits (most significant first) packed as ⌈t · 256 / 243⌉.
fn pack5(trits: impl Iterator<Item = u8>) -> u8 {
    let t = trits.fold(0u16, |q, t| q * 3 + u16::from(t));
    (t * 256).div_ceil(243) as u8
}

/// Trit `n` (0 = most significant) of a packed byte.
fn unpack(byte: u8, n: usize) -> u8 {
    const POW3: [u8; 5] = [1, 3, 9, 27, 81];
    let q = byte.wrapping_mul(POW3[n]);
    ((u16::from(q) * 3) >> 8) as u8
}

/// Where value `v` of a TQ1_0 block is stored: (byte, trit).
fn tq1_place(v: usize) -> (usize, usize) {
    match v {
        // qs[0..32]: values m + 32n.
        0..160 => (v % 32, v / 32),
        // qs[32..48]: values 160 + m + 16n.
        160..240 => (32 + (v - 160) % 16, (v - 160) / 16),
        // qh[0..4] at 48: values 240 + j + 4n, four trits shifted up by one.
        _ => (48 + (v - 240) % 4, (v - 240) / 4),
    }
}

impl BlockCodec for Tq1_0 {
    fn ty(&self) -> GgmlType {
        GgmlType::Tq1_0
    }

    fn quantize_block(&self, x: &[f32], out: &mut [u8]) {
        let (d, id) = scale(&x[..256]);
        let t = |v: usize| trit(x[v] * id);
        for (m, byte) in out[..32].iter_mut().enumerate() {
            *byte = pack5((0..5).map(|n| t(m + 32 * n)));
        }
        for (m, byte) in out[32..48].iter_mut().enumerate() {
            *byte = pack5((0..5).map(|n| t(160 + m + 16 * n)));
        }
        for (j, byte) in out[48..52].iter_mut().enumerate() {
            // The fifth trit is 0: the four values take the most significant places.
            *byte = pack5((0..4).map(|n| t(240 + j + 4 * n)).chain([0]));
        }
        out[52..54].copy_from_slice(&f16_bits(d));
    }

    fn dequantize_block(&self, bytes: &[u8], out: &mut [f32]) {
        let d = f16_at(bytes, 52);
        for (v, o) in out.iter_mut().enumerate().take(256) {
            let (byte, n) = tq1_place(v);
            *o = (f32::from(unpack(bytes[byte], n)) - 1.0) * d;
        }
    }

    fn codes_block(&self, bytes: &[u8], out: &mut [u32]) {
        for (v, o) in out.iter_mut().enumerate().take(256) {
            let (byte, n) = tq1_place(v);
            *o = u32::from(unpack(bytes[byte], n));
        }
    }

    fn sub_blocks(&self, bytes: &[u8]) -> Vec<SubBlock> {
        sub_block(f16_at(bytes, 52))
    }
}
