//! The K-quants: super-blocks of 256 values with quantized sub-block scales.
//!
//! ```text
//! type  sub-blocks  code bits  sub-block scale (and min)         x̂ of code q in sub-block j
//! Q2_K  16 × 16     2          4-bit sc_j, 4-bit m_j              d·sc_j·q − dmin·m_j
//! Q3_K  16 × 16     3          6-bit signed sc_j                  d·sc_j·(q − 4)
//! Q4_K   8 × 32     4          6-bit sc_j, 6-bit m_j              d·sc_j·q − dmin·m_j
//! Q5_K   8 × 32     5          6-bit sc_j, 6-bit m_j              d·sc_j·q − dmin·m_j
//! Q6_K  16 × 16     6          8-bit signed sc_j                  d·sc_j·(q − 32)
//! ```
//! d and dmin are f16. The reference quantizers (`quantize_row_q{2..6}_K_ref`) fit each
//! sub-block's scale (and min) by a small search — `make_qkx2_quants` (weighted least squares
//! over a grid of candidate scales, with a min), `make_q3_quants` (iterated re-rounding),
//! `make_qx_quants` (signed, a grid of 19 scales) — quantize those scales against the largest,
//! then code every value again with the stored scales: q = clamp(nearest_int((x + dmin·m_j) /
//! (d·sc_j))). A sub-block whose stored scale is 0 keeps the codes of its search (they all decode
//! to −dmin·m_j).

use super::{f16_at, f16_bits, int_levels, nearest_int, search, BlockCodec, GgmlType, SubBlock};

const QK_K: usize = 256;
/// `GROUP_MAX_EPS`: below this largest |x| a group is all zero.
pub(super) const GROUP_MAX_EPS: f32 = 1e-15;

/// `make_qx_quants` with `rmse_type` 1 and no importance weights (w = x²): a signed scale for
/// codes in [−nmax, nmax − 1]; `l` receives code + nmax — one sub-block, as the C source reads;
/// Q6_K searches eight at once ([`search::make_qx_quants`], tested equal).
#[cfg(test)]
pub(super) fn make_qx_quants(nmax: i32, x: &[f32], l: &mut [i8]) -> f32 {
    let (mut max, mut amax) = (0f32, 0f32);
    for &v in x {
        let ax = v.abs();
        if ax > amax {
            amax = ax;
            max = v;
        }
    }
    if amax < GROUP_MAX_EPS {
        l.fill(0);
        return 0.0;
    }
    let clamp = |q: i32| q.clamp(-nmax, nmax - 1);
    let mut iscale = -(nmax as f32) / max;
    let (mut sumlx, mut suml2) = (0f32, 0f32);
    for (li, &v) in l.iter_mut().zip(x) {
        let q = clamp(nearest_int(iscale * v));
        *li = (q + nmax) as i8;
        let w = v * v;
        sumlx += w * v * q as f32;
        suml2 += w * q as f32 * q as f32;
    }
    let mut scale = if suml2 != 0.0 { sumlx / suml2 } else { 0.0 };
    let mut best = scale * sumlx;
    for is in -9i32..=9 {
        if is == 0 {
            continue;
        }
        iscale = -(nmax as f32 + 0.1 * is as f32) / max;
        sumlx = 0.0;
        suml2 = 0.0;
        for &v in x {
            let q = clamp(nearest_int(iscale * v)) as f32;
            let w = v * v;
            sumlx += w * v * q;
            suml2 += w * q * q;
        }
        if suml2 > 0.0 && sumlx * sumlx > best * suml2 {
            for (li, &v) in l.iter_mut().zip(x) {
                *li = (nmax + clamp(nearest_int(iscale * v))) as i8;
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    scale
}

/// `make_q3_quants` with `do_rmse`: codes in [−nmax, nmax − 1] re-rounded one at a time while
/// the weighted fit improves; `l` receives code + nmax — one sub-block, as the C source reads;
/// Q3_K searches eight at once ([`search::make_q3_quants`], tested equal).
#[cfg(test)]
pub(super) fn make_q3_quants(nmax: i32, x: &[f32], l: &mut [i8]) -> f32 {
    let (mut max, mut amax) = (0f32, 0f32);
    for &v in x {
        let ax = v.abs();
        if ax > amax {
            amax = ax;
            max = v;
        }
    }
    if amax < GROUP_MAX_EPS {
        l.fill(0);
        return 0.0;
    }
    let clamp = |q: i32| q.clamp(-nmax, nmax - 1);
    let iscale = -(nmax as f32) / max;
    let (mut sumlx, mut suml2) = (0f32, 0f32);
    for (li, &v) in l.iter_mut().zip(x) {
        let q = clamp(nearest_int(iscale * v));
        *li = q as i8;
        let w = v * v;
        sumlx += w * v * q as f32;
        suml2 += w * q as f32 * q as f32;
    }
    for _ in 0..5 {
        let mut changed = 0;
        for (li, &v) in l.iter_mut().zip(x) {
            let w = v * v;
            let cur = f32::from(*li);
            let mut slx = sumlx - w * v * cur;
            if slx > 0.0 {
                let mut sl2 = suml2 - w * cur * cur;
                let new_l = clamp(nearest_int(v * sl2 / slx));
                if new_l != i32::from(*li) {
                    slx += w * v * new_l as f32;
                    sl2 += w * new_l as f32 * new_l as f32;
                    if sl2 > 0.0 && slx * slx * suml2 > sumlx * sumlx * sl2 {
                        *li = new_l as i8;
                        sumlx = slx;
                        suml2 = sl2;
                        changed += 1;
                    }
                }
            }
        }
        if changed == 0 {
            break;
        }
    }
    for li in l.iter_mut() {
        *li += nmax as i8;
    }
    if suml2 > 0.0 {
        sumlx / suml2
    } else {
        0.0
    }
}

/// `make_qkx2_quants`: codes in [0, nmax], a scale and a min (returned as (scale, −min ≥ 0))
/// fitted by weighted least squares over `nstep + 1` candidate scales — one sub-block, as the C
/// source reads; the quantizers search eight at once ([`search::make_qkx2_quants`], tested
/// equal).
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
pub(super) fn make_qkx2_quants(
    nmax: i32,
    x: &[f32],
    weights: &[f32],
    l: &mut [u8],
    aux: &mut [u8],
    rmin: f32,
    rdelta: f32,
    nstep: i32,
    use_mad: bool,
) -> (f32, f32) {
    let n = x.len();
    let mut min = x[0];
    let mut max = x[0];
    let mut sum_w = weights[0];
    let mut sum_x = sum_w * x[0];
    for i in 1..n {
        if x[i] < min {
            min = x[i];
        }
        if x[i] > max {
            max = x[i];
        }
        let w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if min > 0.0 {
        min = 0.0;
    }
    if max == min {
        l.fill(0);
        return (0.0, -min);
    }
    let err = |diff: f32| if use_mad { diff.abs() } else { diff * diff };
    let nmaxf = nmax as f32;
    let mut iscale = nmaxf / (max - min);
    let mut scale = 1.0 / iscale;
    let mut best_error = 0f32;
    for i in 0..n {
        let q = nearest_int(iscale * (x[i] - min)).clamp(0, nmax);
        l[i] = q as u8;
        let diff = scale * f32::from(l[i]) + min - x[i];
        best_error += weights[i] * err(diff);
    }
    if nstep < 1 {
        return (scale, -min);
    }
    for is in 0..=nstep {
        iscale = (rmin + rdelta * is as f32 + nmaxf) / (max - min);
        let (mut sum_l, mut sum_l2, mut sum_xl) = (0f32, 0f32, 0f32);
        for i in 0..n {
            let q = nearest_int(iscale * (x[i] - min)).clamp(0, nmax);
            aux[i] = q as u8;
            let (w, q) = (weights[i], q as f32);
            sum_l += w * q;
            sum_l2 += w * q * q;
            sum_xl += w * q * x[i];
        }
        let big_d = sum_w * sum_l2 - sum_l * sum_l;
        if big_d > 0.0 {
            let mut this_scale = (sum_w * sum_xl - sum_x * sum_l) / big_d;
            let mut this_min = (sum_l2 * sum_x - sum_l * sum_xl) / big_d;
            if this_min > 0.0 {
                this_min = 0.0;
                this_scale = sum_xl / sum_l2;
            }
            let mut cur_error = 0f32;
            for i in 0..n {
                let diff = this_scale * f32::from(aux[i]) + this_min - x[i];
                cur_error += weights[i] * err(diff);
            }
            if cur_error < best_error {
                l[..n].copy_from_slice(&aux[..n]);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    (scale, -min)
}

/// `get_scale_min_k4`: sub-block `j`'s 6-bit scale and min from the 12 packed bytes.
fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// Packs eight 6-bit scales and mins as Q4_K and Q5_K store them.
fn pack_scale_min_k4(ls: &[u8; 8], lm: &[u8; 8], q: &mut [u8]) {
    for j in 0..8 {
        if j < 4 {
            q[j] = ls[j];
            q[j + 4] = lm[j];
        } else {
            q[j + 4] = (ls[j] & 0xF) | ((lm[j] & 0xF) << 4);
            q[j - 4] |= (ls[j] >> 4) << 6;
            q[j] |= (lm[j] >> 4) << 6;
        }
    }
}

/// Q3_K's signed 6-bit scale of sub-block `j` from its 12 packed bytes.
fn q3_scale(j: usize, s: &[u8]) -> i32 {
    let low = if j < 8 { s[j] & 0xF } else { s[j - 8] >> 4 };
    let high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    i32::from(low | (high << 4)) - 32
}

/// Packs 256 two-bit codes as Q2_K and Q3_K store them (four 32-value groups per 128 values).
fn pack_2bit(l: &[u8], qs: &mut [u8]) {
    for j in (0..QK_K).step_by(128) {
        for k in 0..32 {
            qs[j / 4 + k] =
                l[j + k] | (l[j + k + 32] << 2) | (l[j + k + 64] << 4) | (l[j + k + 96] << 6);
        }
    }
}

/// Value `v`'s two-bit field of a Q2_K/Q3_K `qs`.
fn two_bits(qs: &[u8], v: usize) -> u8 {
    let (chunk, within) = (v / 128, v % 128);
    (qs[32 * chunk + within % 32] >> (2 * (within / 32))) & 3
}

/// Q4_K's and Q5_K's four low bits of value `v`.
fn low_nibble(qs: &[u8], v: usize) -> u8 {
    let (chunk, within) = (v / 64, v % 64);
    let b = qs[32 * chunk + within % 32];
    if within < 32 {
        b & 0xF
    } else {
        b >> 4
    }
}

/// Every value's two-bit field of a Q2_K/Q3_K `qs` (64 bytes), in the layout's order: byte m of
/// chunk c holds values 128c + 32n + m in bits 2n (a loop the compiler vectorises, where
/// [`two_bits`] value by value does not).
fn all_two_bits(qs: &[u8], out: &mut [u32]) {
    for (chunk, out) in out.chunks_exact_mut(128).take(2).enumerate() {
        let q = &qs[32 * chunk..32 * chunk + 32];
        for (n, out) in out.chunks_exact_mut(32).enumerate() {
            for (o, &b) in out.iter_mut().zip(q) {
                *o = u32::from(b >> (2 * n) & 3);
            }
        }
    }
}

/// Every value's low four bits of a Q4_K/Q5_K `qs` (128 bytes), in the layout's order: byte l
/// of chunk c holds value 64c + l low and 64c + 32 + l high.
fn all_low_nibbles(qs: &[u8], out: &mut [u32]) {
    for (chunk, out) in out.chunks_exact_mut(64).take(4).enumerate() {
        let q = &qs[32 * chunk..32 * chunk + 32];
        let (low, high) = out.split_at_mut(32);
        for ((l, h), &b) in low.iter_mut().zip(high.iter_mut()).zip(q) {
            *l = u32::from(b & 0xF);
            *h = u32::from(b >> 4);
        }
    }
}

/// The weights `make_qkx2_quants` gets in Q4_K and Q5_K: √(mean x²) + |x|.
fn kx_weights(x: &[f32], w: &mut [f32]) {
    let sum_x2: f32 = x.iter().fold(0.0, |s, &v| s + v * v);
    let av_x = (sum_x2 / x.len() as f32).sqrt();
    for (wi, &v) in w.iter_mut().zip(x) {
        *wi = av_x + v.abs();
    }
}

/// Q4_K and Q5_K (`nmax` 15 or 31): scales, mins and requantized codes of one super-block.
fn quantize_kx(x: &[f32], nmax: i32, rmin: f32, nstep: i32) -> ([u8; 12], [u8; 4], [u8; QK_K]) {
    let mut l = [0u8; QK_K];
    let mut weights = [0f32; QK_K];
    for (xs, w) in x.chunks_exact(32).zip(weights.chunks_exact_mut(32)) {
        kx_weights(xs, w);
    }
    let (scales, mins) =
        search::make_qkx2_quants::<32, false>(nmax, x, &weights, &mut l, rmin, 0.1, nstep);
    let (mut max_scale, mut max_min) = (0f32, 0f32);
    for j in 0..8 {
        let (s, m) = (scales[j], mins[j]);
        if s > max_scale {
            max_scale = s;
        }
        if m > max_min {
            max_min = m;
        }
    }
    let inv_scale = if max_scale > 0.0 {
        63.0 / max_scale
    } else {
        0.0
    };
    let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
    let (mut ls, mut lm) = ([0u8; 8], [0u8; 8]);
    for j in 0..8 {
        // `uint8_t ls = nearest_int(…)`: the int's low byte, then MIN(63, ·).
        ls[j] = (nearest_int(inv_scale * scales[j]) as u8).min(63);
        lm[j] = (nearest_int(inv_min * mins[j]) as u8).min(63);
    }
    let mut packed = [0u8; 12];
    pack_scale_min_k4(&ls, &lm, &mut packed);
    let mut dd = [0u8; 4];
    dd[0..2].copy_from_slice(&f16_bits(max_scale / 63.0));
    dd[2..4].copy_from_slice(&f16_bits(max_min / 63.0));
    let (d_all, dmin_all) = (f16_at(&dd, 0), f16_at(&dd, 2));
    for j in 0..8 {
        let (sc, m) = scale_min_k4(j, &packed);
        let d = d_all * f32::from(sc);
        if d == 0.0 {
            continue;
        }
        let dm = dmin_all * f32::from(m);
        for ii in 0..32 {
            let q = nearest_int((x[32 * j + ii] + dm) / d).clamp(0, nmax);
            l[32 * j + ii] = q as u8;
        }
    }
    (packed, dd, l)
}

/// Sub-blocks of Q4_K and Q5_K (`nmax` 15 or 31).
fn kx_sub_blocks(bytes: &[u8], nmax: i32) -> Vec<SubBlock> {
    let (d, dmin) = (f16_at(bytes, 0), f16_at(bytes, 2));
    (0..8)
        .map(|j| {
            let (sc, m) = scale_min_k4(j, &bytes[4..16]);
            SubBlock {
                start: 32 * j,
                len: 32,
                scale: d * f32::from(sc),
                offset: -(dmin * f32::from(m)),
                quantized_scale: Some(i32::from(sc)),
                quantized_min: Some(i32::from(m)),
                levels: int_levels(0, nmax),
            }
        })
        .collect()
}

/// Q4_K's and Q5_K's `d1·q − m1`, value by value in the C order.
fn dequantize_kx(bytes: &[u8], out: &mut [f32], code: impl Fn(usize) -> u8) {
    let (d, dmin) = (f16_at(bytes, 0), f16_at(bytes, 2));
    for j in 0..8 {
        let (sc, m) = scale_min_k4(j, &bytes[4..16]);
        let (d1, m1) = (d * f32::from(sc), dmin * f32::from(m));
        for i in 0..32 {
            out[32 * j + i] = d1 * f32::from(code(32 * j + i)) - m1;
        }
    }
}

pub(super) struct Q2K;

impl BlockCodec for Q2K {
    fn ty(&self) -> GgmlType {
        GgmlType::Q2K
    }

    fn adds_offset(&self) -> bool {
        true
    }

    /// Layout `{u8 scales[16]; u8 qs[64]; f16 d; f16 dmin}`.
    fn quantize_block(&self, x: &[f32], out: &mut [u8]) {
        let mut l = [0u8; QK_K];
        let weights: [f32; QK_K] = std::array::from_fn(|i| x[i].abs());
        let (mut scales, mut mins) = ([0f32; 16], [0f32; 16]);
        for half in 0..2 {
            let at = 128 * half..128 * half + 128;
            let (s, m) = search::make_qkx2_quants::<16, true>(
                3,
                &x[at.clone()],
                &weights[at.clone()],
                &mut l[at],
                -0.5,
                0.1,
                15,
            );
            scales[8 * half..8 * half + 8].copy_from_slice(&s);
            mins[8 * half..8 * half + 8].copy_from_slice(&m);
        }
        let (mut max_scale, mut max_min) = (0f32, 0f32);
        for j in 0..16 {
            let (s, m) = (scales[j], mins[j]);
            if s > max_scale {
                max_scale = s;
            }
            if m > max_min {
                max_min = m;
            }
        }
        let q4scale = 15f32;
        let mut sc = [0u8; 16];
        if max_scale > 0.0 {
            let iscale = q4scale / max_scale;
            for j in 0..16 {
                sc[j] = nearest_int(iscale * scales[j]) as u8;
            }
            out[80..82].copy_from_slice(&f16_bits(max_scale / q4scale));
        } else {
            out[80..82].copy_from_slice(&f16_bits(0.0));
        }
        if max_min > 0.0 {
            let iscale = q4scale / max_min;
            for j in 0..16 {
                sc[j] |= (nearest_int(iscale * mins[j]) as u8) << 4;
            }
            out[82..84].copy_from_slice(&f16_bits(max_min / q4scale));
        } else {
            out[82..84].copy_from_slice(&f16_bits(0.0));
        }
        let (d_all, dmin_all) = (f16_at(out, 80), f16_at(out, 82));
        for j in 0..16 {
            let d = d_all * f32::from(sc[j] & 0xF);
            if d == 0.0 {
                continue;
            }
            let dm = dmin_all * f32::from(sc[j] >> 4);
            for ii in 0..16 {
                l[16 * j + ii] = nearest_int((x[16 * j + ii] + dm) / d).clamp(0, 3) as u8;
            }
        }
        out[0..16].copy_from_slice(&sc);
        pack_2bit(&l, &mut out[16..80]);
    }

    fn dequantize_block(&self, bytes: &[u8], out: &mut [f32]) {
        let (d, min) = (f16_at(bytes, 80), f16_at(bytes, 82));
        for (v, o) in out.iter_mut().enumerate().take(QK_K) {
            let sc = bytes[v / 16];
            let (dl, ml) = (d * f32::from(sc & 0xF), min * f32::from(sc >> 4));
            *o = dl * f32::from(two_bits(&bytes[16..80], v)) - ml;
        }
    }

    fn codes_block(&self, bytes: &[u8], out: &mut [u32]) {
        all_two_bits(&bytes[16..80], out);
    }

    fn sub_blocks(&self, bytes: &[u8]) -> Vec<SubBlock> {
        let (d, dmin) = (f16_at(bytes, 80), f16_at(bytes, 82));
        (0..16)
            .map(|j| {
                let sc = bytes[j];
                SubBlock {
                    start: 16 * j,
                    len: 16,
                    scale: d * f32::from(sc & 0xF),
                    offset: -(dmin * f32::from(sc >> 4)),
                    quantized_scale: Some(i32::from(sc & 0xF)),
                    quantized_min: Some(i32::from(sc >> 4)),
                    levels: int_levels(0, 3),
                }
            })
            .collect()
    }
}

pub(super) struct Q3K;

impl BlockCodec for Q3K {
    fn ty(&self) -> GgmlType {
        GgmlType::Q3K
    }

    /// Layout `{u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}`.
    fn quantize_block(&self, x: &[f32], out: &mut [u8]) {
        let mut codes = [0u8; QK_K];
        let mut scales = [0f32; 16];
        for half in 0..2 {
            let at = 128 * half..128 * half + 128;
            let s = search::make_q3_quants::<16>(4, &x[at.clone()], &mut codes[at]);
            scales[8 * half..8 * half + 8].copy_from_slice(&s);
        }
        let mut l = codes.map(|c| c as i8);
        let (mut max_scale, mut amax) = (0f32, 0f32);
        for &s in &scales {
            if s.abs() > amax {
                amax = s.abs();
                max_scale = s;
            }
        }
        let mut s = [0u8; 12];
        if max_scale != 0.0 {
            let iscale = -32.0 / max_scale;
            for j in 0..16 {
                // `int8_t l = nearest_int(…)`, then MAX(−32, MIN(31, l)) + 32.
                let q = i32::from(nearest_int(iscale * scales[j]) as i8).clamp(-32, 31) + 32;
                let q = q as u8;
                if j < 8 {
                    s[j] = q & 0xF;
                } else {
                    s[j - 8] |= (q & 0xF) << 4;
                }
                s[j % 4 + 8] |= (q >> 4) << (2 * (j / 4));
            }
            out[108..110].copy_from_slice(&f16_bits(1.0 / iscale));
        } else {
            out[108..110].copy_from_slice(&f16_bits(0.0));
        }
        let d_all = f16_at(out, 108);
        for j in 0..16 {
            let d = d_all * q3_scale(j, &s) as f32;
            if d == 0.0 {
                continue;
            }
            for ii in 0..16 {
                l[16 * j + ii] = (nearest_int(x[16 * j + ii] / d).clamp(-4, 3) + 4) as i8;
            }
        }
        let mut hmask = [0u8; 32];
        let mut codes = [0u8; QK_K];
        // Without a branch: the high bit of random codes was mispredicted half the time
        // (natively ~8 % of Q3_K's analysis).
        for (j, (&lj, c)) in l.iter().zip(codes.iter_mut()).enumerate() {
            let v = lj as u8;
            let high = u8::from(v > 3);
            hmask[j % 32] |= high << (j / 32);
            *c = v - 4 * high;
        }
        out[0..32].copy_from_slice(&hmask);
        pack_2bit(&codes, &mut out[32..96]);
        out[96..108].copy_from_slice(&s);
    }

    fn dequantize_block(&self, bytes: &[u8], out: &mut [f32]) {
        let d_all = f16_at(bytes, 108);
        for (v, o) in out.iter_mut().enumerate().take(QK_K) {
            let dl = d_all * q3_scale(v / 16, &bytes[96..108]) as f32;
            let low = i32::from(two_bits(&bytes[32..96], v));
            let high_set = bytes[v % 32] & (1 << (v / 32)) != 0;
            *o = dl * (low - if high_set { 0 } else { 4 }) as f32;
        }
    }

    fn codes_block(&self, bytes: &[u8], out: &mut [u32]) {
        all_two_bits(&bytes[32..96], out);
        // The high bits (`hmask`): byte l holds value 32i + l's in bit i.
        for (i, out) in out.chunks_exact_mut(32).take(8).enumerate() {
            for (o, &h) in out.iter_mut().zip(&bytes[..32]) {
                *o |= u32::from(h >> i & 1) << 2;
            }
        }
    }

    fn sub_blocks(&self, bytes: &[u8]) -> Vec<SubBlock> {
        let d = f16_at(bytes, 108);
        (0..16)
            .map(|j| {
                let sc = q3_scale(j, &bytes[96..108]);
                SubBlock {
                    start: 16 * j,
                    len: 16,
                    scale: d * sc as f32,
                    offset: 0.0,
                    quantized_scale: Some(sc),
                    quantized_min: None,
                    levels: int_levels(-4, 3),
                }
            })
            .collect()
    }
}

pub(super) struct Q4K;

impl BlockCodec for Q4K {
    fn ty(&self) -> GgmlType {
        GgmlType::Q4K
    }

    fn adds_offset(&self) -> bool {
        true
    }

    /// Layout `{f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}`.
    fn quantize_block(&self, x: &[f32], out: &mut [u8]) {
        let (scales, dd, l) = quantize_kx(x, 15, -1.0, 20);
        out[0..4].copy_from_slice(&dd);
        out[4..16].copy_from_slice(&scales);
        for j in (0..QK_K).step_by(64) {
            for k in 0..32 {
                out[16 + j / 2 + k] = l[j + k] | (l[j + k + 32] << 4);
            }
        }
    }

    fn dequantize_block(&self, bytes: &[u8], out: &mut [f32]) {
        dequantize_kx(bytes, out, |v| low_nibble(&bytes[16..144], v));
    }

    fn codes_block(&self, bytes: &[u8], out: &mut [u32]) {
        all_low_nibbles(&bytes[16..144], out);
    }

    fn sub_blocks(&self, bytes: &[u8]) -> Vec<SubBlock> {
        kx_sub_blocks(bytes, 15)
    }
}

pub(super) struct Q5K;

/// Q5_K's code of value `v`: four low bits from `qs`, the fifth from `qh`.
fn q5k_code(bytes: &[u8], v: usize) -> u8 {
    let (chunk, within) = (v / 64, v % 64);
    let bit = 2 * chunk + usize::from(within >= 32);
    let high = (bytes[16 + within % 32] >> bit) & 1;
    low_nibble(&bytes[48..176], v) | (high << 4)
}

impl BlockCodec for Q5K {
    fn ty(&self) -> GgmlType {
        GgmlType::Q5K
    }

    fn adds_offset(&self) -> bool {
        true
    }

    /// Layout `{f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}`.
    fn quantize_block(&self, x: &[f32], out: &mut [u8]) {
        let (scales, dd, l) = quantize_kx(x, 31, -0.5, 15);
        out[0..4].copy_from_slice(&dd);
        out[4..16].copy_from_slice(&scales);
        let mut qh = [0u8; 32];
        let (mut m1, mut m2) = (1u8, 2u8);
        for n in (0..QK_K).step_by(64) {
            for j in 0..32 {
                // The fifth bits without a branch (see Q3_K's high bits).
                let (l1, l2) = (l[n + j], l[n + j + 32]);
                let (h1, h2) = (u8::from(l1 > 15), u8::from(l2 > 15));
                qh[j] |= (m1 & h1.wrapping_neg()) | (m2 & h2.wrapping_neg());
                out[48 + n / 2 + j] = (l1 - 16 * h1) | ((l2 - 16 * h2) << 4);
            }
            m1 <<= 2;
            m2 <<= 2;
        }
        out[16..48].copy_from_slice(&qh);
    }

    fn dequantize_block(&self, bytes: &[u8], out: &mut [f32]) {
        dequantize_kx(bytes, out, |v| q5k_code(bytes, v));
    }

    fn codes_block(&self, bytes: &[u8], out: &mut [u32]) {
        all_low_nibbles(&bytes[48..176], out);
        // The fifth bits: byte l of `qh` holds value 32i + l's in bit i.
        for (i, out) in out.chunks_exact_mut(32).take(8).enumerate() {
            for (o, &h) in out.iter_mut().zip(&bytes[16..48]) {
                *o |= u32::from(h >> i & 1) << 4;
            }
        }
    }

    fn sub_blocks(&self, bytes: &[u8]) -> Vec<SubBlock> {
        kx_sub_blocks(bytes, 31)
    }
}

pub(super) struct Q6K;

/// Q6_K's code (0..63) of value `v`.
fn q6k_code(bytes: &[u8], v: usize) -> u8 {
    let (chunk, within) = (v / 128, v % 128);
    let (group, l) = (within / 32, within % 32);
    let ql = &bytes[64 * chunk..64 * chunk + 64];
    let qh = bytes[128 + 32 * chunk + l];
    let low = match group {
        0 => ql[l] & 0xF,
        1 => ql[l + 32] & 0xF,
        2 => ql[l] >> 4,
        _ => ql[l + 32] >> 4,
    };
    low | (((qh >> (2 * group)) & 3) << 4)
}

impl BlockCodec for Q6K {
    fn ty(&self) -> GgmlType {
        GgmlType::Q6K
    }

    /// Layout `{u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}`.
    fn quantize_block(&self, x: &[f32], out: &mut [u8]) {
        let mut codes = [0u8; QK_K];
        let mut scales = [0f32; 16];
        for half in 0..2 {
            let at = 128 * half..128 * half + 128;
            let s = search::make_qx_quants::<16>(32, &x[at.clone()], &mut codes[at]);
            scales[8 * half..8 * half + 8].copy_from_slice(&s);
        }
        let mut l = codes.map(|c| c as i8);
        let (mut max_scale, mut max_abs_scale) = (0f32, 0f32);
        for &scale in &scales {
            if scale.abs() > max_abs_scale {
                max_abs_scale = scale.abs();
                max_scale = scale;
            }
        }
        if max_abs_scale < GROUP_MAX_EPS {
            out[..210].fill(0);
            out[208..210].copy_from_slice(&f16_bits(0.0));
            return;
        }
        let iscale = -128.0 / max_scale;
        out[208..210].copy_from_slice(&f16_bits(1.0 / iscale));
        let mut sc = [0i8; 16];
        for ib in 0..16 {
            // MIN(127, nearest_int(…)) stored as int8_t.
            sc[ib] = nearest_int(iscale * scales[ib]).min(127) as i8;
        }
        let d_all = f16_at(out, 208);
        for j in 0..16 {
            let d = d_all * f32::from(sc[j]);
            if d == 0.0 {
                continue;
            }
            for ii in 0..16 {
                l[16 * j + ii] = (nearest_int(x[16 * j + ii] / d).clamp(-32, 31) + 32) as i8;
            }
        }
        let lu = |i: usize| l[i] as u8;
        for j in (0..QK_K).step_by(128) {
            let (ql, qh) = (64 * (j / 128), 128 + 32 * (j / 128));
            for k in 0..32 {
                let (q1, q2, q3, q4) = (
                    lu(j + k) & 0xF,
                    lu(j + k + 32) & 0xF,
                    lu(j + k + 64) & 0xF,
                    lu(j + k + 96) & 0xF,
                );
                out[ql + k] = q1 | (q3 << 4);
                out[ql + k + 32] = q2 | (q4 << 4);
                out[qh + k] = (lu(j + k) >> 4)
                    | ((lu(j + k + 32) >> 4) << 2)
                    | ((lu(j + k + 64) >> 4) << 4)
                    | ((lu(j + k + 96) >> 4) << 6);
            }
        }
        for (o, &s) in out[192..208].iter_mut().zip(&sc) {
            *o = s as u8;
        }
    }

    fn dequantize_block(&self, bytes: &[u8], out: &mut [f32]) {
        let d = f16_at(bytes, 208);
        for (v, o) in out.iter_mut().enumerate().take(QK_K) {
            let sc = f32::from(bytes[192 + v / 16] as i8);
            let q = (i32::from(q6k_code(bytes, v)) - 32) as f32;
            *o = d * sc * q;
        }
    }

    /// In the layout's order (as `dequantize_row_q6_K` reads it): four values per byte of
    /// `qh`, a loop the compiler vectorises (value by value through `q6k_code` it was 6 % of a
    /// Q6_K analysis in V8).
    fn codes_block(&self, bytes: &[u8], out: &mut [u32]) {
        for (chunk, out) in out.chunks_exact_mut(128).take(2).enumerate() {
            let ql = &bytes[64 * chunk..64 * chunk + 64];
            let qh = &bytes[128 + 32 * chunk..128 + 32 * chunk + 32];
            let (lo, hi) = ql.split_at(32);
            let (o01, o23) = out.split_at_mut(64);
            let (o0, o1) = o01.split_at_mut(32);
            let (o2, o3) = o23.split_at_mut(32);
            for l in 0..32 {
                let h = qh[l];
                o0[l] = u32::from(lo[l] & 0xF | (h & 3) << 4);
                o1[l] = u32::from(hi[l] & 0xF | (h >> 2 & 3) << 4);
                o2[l] = u32::from(lo[l] >> 4 | (h >> 4 & 3) << 4);
                o3[l] = u32::from(hi[l] >> 4 | (h >> 6 & 3) << 4);
            }
        }
    }

    fn sub_blocks(&self, bytes: &[u8]) -> Vec<SubBlock> {
        let d = f16_at(bytes, 208);
        (0..16)
            .map(|j| {
                let sc = bytes[192 + j] as i8;
                SubBlock {
                    start: 16 * j,
                    len: 16,
                    scale: d * f32::from(sc),
                    offset: 0.0,
                    quantized_scale: Some(i32::from(sc)),
                    quantized_min: None,
                    levels: int_levels(-32, 31),
                }
            })
            .collect()
    }
}
