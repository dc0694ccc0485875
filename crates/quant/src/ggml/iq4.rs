//! IQ4_NL and IQ4_XS: 4-bit indices into a fixed non-uniform table of 16 levels.
//!
//! ```text
//! levels (kvalues_iq4nl): −127 −104 −83 −65 −49 −35 −22 −10 1 13 25 38 53 69 89 113
//! IQ4_NL  blocks of 32, one f16 scale d:                  x̂ = d · level[q]
//! IQ4_XS  super-blocks of 256, f16 d and eight 6-bit sub-block scales l_j − 32:
//!                                                         x̂ = d · (l_j − 32) · level[q]
//! q = the nearest level to x / scale (a value halfway between two goes up: `best_index_int8`
//!     compares 2x with the sum of the neighbours)
//! ```
//! Both references come from `quantize_row_iq4_nl_impl` with no importance weights (w = x²).
//! IQ4_NL's (`ntry` −1) codes each value with 1/d₀, d₀ = v*/−127 (v*: the value of largest
//! magnitude), and stores the least-squares d = Σ w·q·x / Σ w·q² of those codes. IQ4_XS's (`ntry`
//! 7) searches 15 candidate scales per sub-block, quantizes the sub-block scales against
//! d = −(largest)/32, and codes every value again with d·(l_j − 32) before it was rounded to f16.

use super::{f16_at, f16_bits, nearest_int, search, BlockCodec, GgmlType, SubBlock};

/// `kvalues_iq4nl`.
pub(crate) const KVALUES: [i8; 16] = [
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

pub(super) const GROUP_MAX_EPS: f32 = 1e-15;

/// `best_index_int8` over the 16 sorted levels: a binary search that picks level j once 2x
/// reaches the sum of levels j − 1 and j — as the C source reads (the tests' reference).
#[cfg(test)]
pub(crate) fn best_index_search(x: f32) -> usize {
    let x2 = x + x;
    let mut idx = 0usize;
    let mut step = KVALUES.len() >> 1;
    while step > 0 {
        let j = idx + step;
        if x2 >= f32::from(i16::from(KVALUES[j - 1]) + i16::from(KVALUES[j])) {
            idx = j;
        }
        step >>= 1;
    }
    idx
}

/// Twice the midpoints of consecutive levels, ascending.
const MIDPOINTS: [f32; 15] = {
    let mut t = [0f32; 15];
    let mut j = 0;
    while j < 15 {
        t[j] = (KVALUES[j] as i16 + KVALUES[j + 1] as i16) as f32;
        j += 1;
    }
    t
};

/// `best_index_int8`: the binary search ends at the last level whose midpoint with the level
/// before it 2x reaches, and the midpoints ascend, so that is the number of midpoints 2x
/// reaches (none for NaN) — counted without a branch (tested equal: the search's branches on
/// random data were mispredicted, most of IQ4_NL's quantizer natively).
pub(crate) fn best_index(x: f32) -> usize {
    let x2 = x + x;
    MIDPOINTS.iter().map(|&m| usize::from(x2 >= m)).sum()
}

/// The value of largest magnitude as `if (ax > amax)` finds it (the first).
fn amax_max(x: &[f32]) -> (f32, f32) {
    let (mut amax, mut max) = (0f32, 0f32);
    for &v in x {
        let ax = v.abs();
        if ax > amax {
            amax = ax;
            max = v;
        }
    }
    (amax, max)
}

/// Σ w·q·x and Σ w·q² (w = x²) of coding `x` with `id`, and the codes.
fn fit(x: &[f32], id: f32, l: Option<&mut [u8]>) -> (f32, f32) {
    let (mut sumqx, mut sumq2) = (0f32, 0f32);
    let mut codes = l;
    for (j, &v) in x.iter().enumerate() {
        let k = best_index(id * v);
        if let Some(c) = codes.as_deref_mut() {
            c[j] = k as u8;
        }
        let q = f32::from(KVALUES[k]);
        let w = v * v;
        sumqx += w * q * v;
        sumq2 += w * q * q;
    }
    (sumqx, sumq2)
}

/// One sub-block's scale by `quantize_row_iq4_nl_impl` (`ntry` tries each side; −1: none), and
/// its first codes — as the C source reads; IQ4_XS searches eight sub-blocks at once
/// ([`search::iq4_scales`], tested equal).
pub(super) fn sub_block_scale(x: &[f32], ntry: i32, l: &mut [u8]) -> f32 {
    let (amax, max) = amax_max(x);
    if amax < GROUP_MAX_EPS {
        l.fill(0);
        return 0.0;
    }
    let v0 = f32::from(KVALUES[0]);
    let d = if ntry > 0 { -max / v0 } else { max / v0 };
    let id = 1.0 / d;
    let (sumqx, sumq2) = fit(x, id, Some(l));
    let mut d = if sumq2 > 0.0 { sumqx / sumq2 } else { 0.0 };
    let mut best = d * sumqx;
    for itry in -ntry..=ntry {
        let id = (itry + i32::from(KVALUES[0])) as f32 / max;
        let (sumqx, sumq2) = fit(x, id, None);
        if sumq2 > 0.0 && sumqx * sumqx > best * sumq2 {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    d
}

/// 32 codes packed as both IQ4 types store them: value j low, value j + 16 high.
fn pack(l: &[u8], qs: &mut [u8]) {
    for i in 0..l.len() / 32 {
        for j in 0..16 {
            qs[16 * i + j] = l[32 * i + j] | (l[32 * i + 16 + j] << 4);
        }
    }
}

/// Every code of `qs` as [`pack`] stores them, in the layout's order (a loop the compiler
/// vectorises, where [`code_at`] value by value does not).
fn unpack(qs: &[u8], out: &mut [u32]) {
    for (q, out) in qs.chunks_exact(16).zip(out.chunks_exact_mut(32)) {
        let (low, high) = out.split_at_mut(16);
        for ((l, h), &b) in low.iter_mut().zip(high.iter_mut()).zip(q) {
            *l = u32::from(b & 0xF);
            *h = u32::from(b >> 4);
        }
    }
}

fn code_at(qs: &[u8], v: usize) -> u8 {
    let (group, within) = (v / 32, v % 32);
    let b = qs[16 * group + within % 16];
    if within < 16 {
        b & 0xF
    } else {
        b >> 4
    }
}

/// `KVALUES` as f32.
static LEVELS: [f32; 16] = {
    let mut t = [0f32; 16];
    let mut i = 0;
    while i < 16 {
        t[i] = KVALUES[i] as f32;
        i += 1;
    }
    t
};

fn table_levels() -> std::borrow::Cow<'static, [f32]> {
    std::borrow::Cow::Borrowed(&LEVELS)
}

pub(super) struct Iq4Nl;

impl BlockCodec for Iq4Nl {
    fn ty(&self) -> GgmlType {
        GgmlType::Iq4Nl
    }

    /// Layout `{f16 d; u8 qs[16]}`.
    fn quantize_block(&self, x: &[f32], out: &mut [u8]) {
        let mut l = [0u8; 32];
        let d = sub_block_scale(x, -1, &mut l);
        out[0..2].copy_from_slice(&f16_bits(d));
        pack(&l, &mut out[2..18]);
    }

    fn dequantize_block(&self, bytes: &[u8], out: &mut [f32]) {
        let d = f16_at(bytes, 0);
        for (v, o) in out.iter_mut().enumerate().take(32) {
            *o = d * f32::from(KVALUES[usize::from(code_at(&bytes[2..18], v))]);
        }
    }

    fn codes_block(&self, bytes: &[u8], out: &mut [u32]) {
        unpack(&bytes[2..18], out);
    }

    fn sub_blocks(&self, bytes: &[u8]) -> Vec<SubBlock> {
        vec![SubBlock {
            start: 0,
            len: 32,
            scale: f16_at(bytes, 0),
            offset: 0.0,
            quantized_scale: None,
            quantized_min: None,
            levels: table_levels(),
        }]
    }
}

pub(super) struct Iq4Xs;

/// IQ4_XS's sub-block `ib` scale l − 32 from `scales_h` (u16 at 2) and `scales_l` (4 bytes at 4).
fn xs_scale(bytes: &[u8], ib: usize) -> i32 {
    let scales_h = u16::from_le_bytes([bytes[2], bytes[3]]);
    let low = (bytes[4 + ib / 2] >> (4 * (ib % 2))) & 0xF;
    let high = ((scales_h >> (2 * ib)) & 3) as u8;
    i32::from(low | (high << 4)) - 32
}

impl BlockCodec for Iq4Xs {
    fn ty(&self) -> GgmlType {
        GgmlType::Iq4Xs
    }

    /// Layout `{f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]}`.
    fn quantize_block(&self, x: &[f32], out: &mut [u8]) {
        let mut l = [0u8; 256];
        let scales = search::iq4_scales::<32>(x, 7, &mut l);
        let (mut max_scale, mut amax_scale) = (0f32, 0f32);
        for &d in &scales {
            if d.abs() > amax_scale {
                amax_scale = d.abs();
                max_scale = d;
            }
        }
        let d = -max_scale / 32.0;
        out[0..2].copy_from_slice(&f16_bits(d));
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let (mut scales_h, mut scales_l) = (0u16, [0u8; 4]);
        for ib in 0..8 {
            let q = nearest_int(id * scales[ib]).clamp(-32, 31);
            let dl = d * q as f32;
            let idl = if dl != 0.0 { 1.0 / dl } else { 0.0 };
            for j in 0..32 {
                l[32 * ib + j] = best_index(idl * x[32 * ib + j]) as u8;
            }
            let q = (q + 32) as u8;
            let (low, high) = (q & 0xF, q >> 4);
            if ib % 2 == 0 {
                scales_l[ib / 2] = low;
            } else {
                scales_l[ib / 2] |= low << 4;
            }
            scales_h |= u16::from(high) << (2 * ib);
        }
        out[2..4].copy_from_slice(&scales_h.to_le_bytes());
        out[4..8].copy_from_slice(&scales_l);
        pack(&l, &mut out[8..136]);
    }

    fn dequantize_block(&self, bytes: &[u8], out: &mut [f32]) {
        let d = f16_at(bytes, 0);
        for (v, o) in out.iter_mut().enumerate().take(256) {
            let dl = d * xs_scale(bytes, v / 32) as f32;
            *o = dl * f32::from(KVALUES[usize::from(code_at(&bytes[8..136], v))]);
        }
    }

    fn codes_block(&self, bytes: &[u8], out: &mut [u32]) {
        unpack(&bytes[8..136], out);
    }

    fn sub_blocks(&self, bytes: &[u8]) -> Vec<SubBlock> {
        let d = f16_at(bytes, 0);
        (0..8)
            .map(|ib| {
                let sc = xs_scale(bytes, ib);
                SubBlock {
                    start: 32 * ib,
                    len: 32,
                    scale: d * sc as f32,
                    offset: 0.0,
                    quantized_scale: Some(sc),
                    quantized_min: None,
                    levels: table_levels(),
                }
            })
            .collect()
    }
}
