//! The sub-block searches of the K and IQ4 types, eight sub-blocks at a time.
//!
//! llama.cpp's reference quantizers fit each sub-block's scale (and min) by trying a grid of
//! candidate scales — every value coded again and summed per candidate — which was 83–88 % of a
//! K or IQ4_XS analysis (natively, 1M values: Q4_K 58 ms, Q2_K 74, IQ4_XS 196). The sums run in
//! the C source's order, so summing a sub-block's values in vector lanes would round differently
//! and, now and then, pick another scale. Here lane k is sub-block k instead: every lane does
//! exactly the reference's arithmetic on its own sub-block, value after value, and its
//! branches become selections — the same f32 results, eight sub-blocks per instruction.
//! The one-at-a-time ports stay beside them (`kquants.rs`, `iq4.rs`) and the tests hold the two
//! equal on random, flat, zero, tiny and one-signed sub-blocks.

use super::nearest_int;

/// Sub-blocks searched together (one per lane).
pub(super) const W: usize = 8;

type Lanes<T> = [T; W];

/// The `W` sub-blocks of `n` values each that follow each other in `x`, transposed: row i holds
/// value i of every sub-block.
#[inline(always)]
fn transpose<const N: usize>(x: &[f32]) -> [Lanes<f32>; N] {
    let mut t = [[0f32; W]; N];
    for (k, sub) in x.chunks_exact(N).take(W).enumerate() {
        for (i, &v) in sub.iter().enumerate() {
            t[i][k] = v;
        }
    }
    t
}

/// Rows of codes (as f32) written back as `W` consecutive sub-blocks of `n` bytes, each code
/// plus `add`.
#[inline(always)]
fn untranspose(rows: &[Lanes<f32>], n: usize, add: i32, out: &mut [u8]) {
    for (k, sub) in out.chunks_exact_mut(n).take(W).enumerate() {
        for (i, o) in sub.iter_mut().enumerate() {
            *o = (rows[i][k] as i32 + add) as u8;
        }
    }
}

/// Each row of `to` takes `from`'s lanes where `take` is set — with bit masks: selected with
/// `if`, the copy of a better candidate's codes was 12 % of Q4_K's analysis natively (and the
/// callers skip it when no lane took one: Q4_K 25.8 → 23.9 ms at 1M).
#[inline(always)]
fn select(take: &Lanes<bool>, from: &[Lanes<f32>], to: &mut [Lanes<f32>]) {
    let mask: Lanes<u32> = std::array::from_fn(|k| u32::from(take[k]).wrapping_neg());
    for (f, t) in from.iter().zip(to.iter_mut()) {
        for k in 0..W {
            t[k] = f32::from_bits((f[k].to_bits() & mask[k]) | (t[k].to_bits() & !mask[k]));
        }
    }
}

/// Lane `k` as the reference leaves a sub-block it returns from early (flat or all zero):
/// scale 0 and every code `code`.
fn empty_lane(k: usize, scale: &mut Lanes<f32>, rows: &mut [Lanes<f32>], code: f32) {
    scale[k] = 0.0;
    for row in rows {
        row[k] = code;
    }
}

/// `nearest_int(v).clamp(lo, hi)` as f32 (exact: |code| ≤ 2²⁴).
#[inline(always)]
fn code(v: f32, lo: i32, hi: i32) -> f32 {
    nearest_int(v).clamp(lo, hi) as f32
}

/// [`make_qkx2_quants`](super::kquants) of the `W` sub-blocks of `n` values in `x` (weights
/// `weights`, laid out alike): each sub-block's codes into `l` (n bytes each) and its
/// (scale, −min).
#[allow(clippy::too_many_arguments)]
pub(super) fn make_qkx2_quants<const N: usize, const USE_MAD: bool>(
    nmax: i32,
    x: &[f32],
    weights: &[f32],
    l: &mut [u8],
    rmin: f32,
    rdelta: f32,
    nstep: i32,
) -> (Lanes<f32>, Lanes<f32>) {
    let n = N;
    let (xt, wt) = (transpose::<N>(x), transpose::<N>(weights));
    let err = |diff: f32| if USE_MAD { diff.abs() } else { diff * diff };
    let (mut min, mut max, mut sum_w) = (xt[0], xt[0], wt[0]);
    let mut sum_x = [0f32; W];
    for k in 0..W {
        sum_x[k] = sum_w[k] * xt[0][k];
    }
    for i in 1..n {
        for k in 0..W {
            let v = xt[i][k];
            min[k] = if v < min[k] { v } else { min[k] };
            max[k] = if v > max[k] { v } else { max[k] };
            sum_w[k] += wt[i][k];
            sum_x[k] += wt[i][k] * v;
        }
    }
    let mut flat = [false; W];
    for k in 0..W {
        if min[k] > 0.0 {
            min[k] = 0.0;
        }
        flat[k] = max[k] == min[k];
    }
    let nmaxf = nmax as f32;
    let (mut scale, mut iscale) = ([0f32; W], [0f32; W]);
    for k in 0..W {
        iscale[k] = nmaxf / (max[k] - min[k]);
        scale[k] = 1.0 / iscale[k];
    }
    let mut lt = [[0f32; W]; N];
    let mut best_error = [0f32; W];
    for i in 0..n {
        for k in 0..W {
            let q = code(iscale[k] * (xt[i][k] - min[k]), 0, nmax);
            lt[i][k] = q;
            let diff = scale[k] * q + min[k] - xt[i][k];
            best_error[k] += wt[i][k] * err(diff);
        }
    }
    if nstep >= 1 {
        let mut aux = [[0f32; W]; N];
        for is in 0..=nstep {
            let top = rmin + rdelta * is as f32 + nmaxf;
            let (mut sum_l, mut sum_l2, mut sum_xl) = ([0f32; W], [0f32; W], [0f32; W]);
            for k in 0..W {
                iscale[k] = top / (max[k] - min[k]);
            }
            // The codes, then each sum in a loop of its own: written as one loop, the compiler
            // packed lanes of different sums into 16-wide registers and shuffled them on every
            // value (natively Q4_K 30.2 → 25.8 ms at 1M once split).
            for (xi, ai) in xt.iter().zip(aux.iter_mut()) {
                for k in 0..W {
                    ai[k] = code(iscale[k] * (xi[k] - min[k]), 0, nmax);
                }
            }
            for (wi, q) in wt.iter().zip(&aux) {
                for k in 0..W {
                    sum_l[k] += wi[k] * q[k];
                }
            }
            for (wi, q) in wt.iter().zip(&aux) {
                for k in 0..W {
                    sum_l2[k] += wi[k] * q[k] * q[k];
                }
            }
            for ((xi, wi), q) in xt.iter().zip(&wt).zip(&aux) {
                for k in 0..W {
                    sum_xl[k] += wi[k] * q[k] * xi[k];
                }
            }
            let (mut this_scale, mut this_min, mut fits) = ([0f32; W], [0f32; W], [false; W]);
            for k in 0..W {
                let big_d = sum_w[k] * sum_l2[k] - sum_l[k] * sum_l[k];
                fits[k] = big_d > 0.0;
                this_scale[k] = (sum_w[k] * sum_xl[k] - sum_x[k] * sum_l[k]) / big_d;
                this_min[k] = (sum_l2[k] * sum_x[k] - sum_l[k] * sum_xl[k]) / big_d;
                if this_min[k] > 0.0 {
                    this_min[k] = 0.0;
                    this_scale[k] = sum_xl[k] / sum_l2[k];
                }
            }
            let mut cur_error = [0f32; W];
            for i in 0..n {
                for k in 0..W {
                    let diff = this_scale[k] * aux[i][k] + this_min[k] - xt[i][k];
                    cur_error[k] += wt[i][k] * err(diff);
                }
            }
            let mut better = [false; W];
            for k in 0..W {
                better[k] = fits[k] && !flat[k] && cur_error[k] < best_error[k];
                if better[k] {
                    best_error[k] = cur_error[k];
                    scale[k] = this_scale[k];
                    min[k] = this_min[k];
                }
            }
            if better.contains(&true) {
                select(&better, &aux, &mut lt);
            }
        }
    }
    // A flat sub-block: all codes 0, scale 0 and its min.
    for k in 0..W {
        if flat[k] {
            empty_lane(k, &mut scale, &mut lt, 0.0);
        }
        min[k] = -min[k];
    }
    untranspose(&lt, n, 0, l);
    (scale, min)
}

/// The value of largest magnitude of each lane, as `if (ax > amax)` finds it (the first), and
/// that magnitude.
#[inline(always)]
fn amax_max<const N: usize>(xt: &[Lanes<f32>; N]) -> (Lanes<f32>, Lanes<f32>) {
    let (mut amax, mut max) = ([0f32; W], [0f32; W]);
    for xi in xt {
        for k in 0..W {
            let ax = xi[k].abs();
            if ax > amax[k] {
                amax[k] = ax;
                max[k] = xi[k];
            }
        }
    }
    (amax, max)
}

/// Σ w·x·q and Σ w·q² (w = x²) of the rows `xt` coded with `iscale` into [−nmax, nmax − 1],
/// the codes into `q`: a pass of `make_qx_quants`, lane by lane.
#[inline(always)]
fn qx_fit<const N: usize>(
    xt: &[Lanes<f32>; N],
    iscale: &Lanes<f32>,
    nmax: i32,
    q: &mut [Lanes<f32>; N],
) -> (Lanes<f32>, Lanes<f32>) {
    for (xi, qi) in xt.iter().zip(q.iter_mut()) {
        for k in 0..W {
            qi[k] = code(iscale[k] * xi[k], -nmax, nmax - 1);
        }
    }
    let (mut sumlx, mut suml2) = ([0f32; W], [0f32; W]);
    for (xi, qi) in xt.iter().zip(q.iter()) {
        for k in 0..W {
            let w = xi[k] * xi[k];
            sumlx[k] += w * xi[k] * qi[k];
        }
    }
    for (xi, qi) in xt.iter().zip(q.iter()) {
        for k in 0..W {
            let w = xi[k] * xi[k];
            suml2[k] += w * qi[k] * qi[k];
        }
    }
    (sumlx, suml2)
}

/// [`make_qx_quants`](super::kquants) of the `W` sub-blocks of `N` values in `x`: each one's
/// signed scale, and its codes + nmax into `l` (N bytes each).
pub(super) fn make_qx_quants<const N: usize>(nmax: i32, x: &[f32], l: &mut [u8]) -> Lanes<f32> {
    use super::kquants::GROUP_MAX_EPS;
    let xt = transpose::<N>(x);
    let (amax, max) = amax_max(&xt);
    let mut iscale: Lanes<f32> = std::array::from_fn(|k| -(nmax as f32) / max[k]);
    let (mut lt, mut q) = ([[0f32; W]; N], [[0f32; W]; N]);
    let (sumlx, suml2) = qx_fit(&xt, &iscale, nmax, &mut lt);
    let (mut scale, mut best) = ([0f32; W], [0f32; W]);
    for k in 0..W {
        scale[k] = if suml2[k] != 0.0 {
            sumlx[k] / suml2[k]
        } else {
            0.0
        };
        best[k] = scale[k] * sumlx[k];
    }
    for is in -9i32..=9 {
        if is == 0 {
            continue;
        }
        let top = -(nmax as f32 + 0.1 * is as f32);
        for k in 0..W {
            iscale[k] = top / max[k];
        }
        let (sumlx, suml2) = qx_fit(&xt, &iscale, nmax, &mut q);
        let mut better = [false; W];
        for k in 0..W {
            better[k] = suml2[k] > 0.0 && sumlx[k] * sumlx[k] > best[k] * suml2[k];
            if better[k] {
                scale[k] = sumlx[k] / suml2[k];
                best[k] = scale[k] * sumlx[k];
            }
        }
        if better.contains(&true) {
            select(&better, &q, &mut lt);
        }
    }
    // A sub-block of nothing but (near) zeros: scale 0, codes 0 (stored as code + nmax = 0).
    for (k, &a) in amax.iter().enumerate() {
        if a < GROUP_MAX_EPS {
            empty_lane(k, &mut scale, &mut lt, -(nmax as f32));
        }
    }
    untranspose(&lt, N, nmax, l);
    scale
}

/// [`make_q3_quants`](super::kquants) of the `W` sub-blocks of `N` values in `x`: each one's
/// scale, and its codes + nmax into `l` (N bytes each). Each lane re-rounds its own values in
/// order, keeping its own sums; a round that changes nothing leaves a lane as it was, so lanes
/// that the reference would have stopped go on unchanged until every lane has stopped.
pub(super) fn make_q3_quants<const N: usize>(nmax: i32, x: &[f32], l: &mut [u8]) -> Lanes<f32> {
    use super::kquants::GROUP_MAX_EPS;
    let xt = transpose::<N>(x);
    let (amax, max) = amax_max(&xt);
    let iscale: Lanes<f32> = std::array::from_fn(|k| -(nmax as f32) / max[k]);
    let mut lt = [[0f32; W]; N];
    let (mut sumlx, mut suml2) = ([0f32; W], [0f32; W]);
    for (xi, li) in xt.iter().zip(lt.iter_mut()) {
        for k in 0..W {
            let (v, q) = (xi[k], code(iscale[k] * xi[k], -nmax, nmax - 1));
            li[k] = q;
            let w = v * v;
            sumlx[k] += w * v * q;
            suml2[k] += w * q * q;
        }
    }
    for _ in 0..5 {
        let mut changed = [false; W];
        for (xi, li) in xt.iter().zip(lt.iter_mut()) {
            for k in 0..W {
                let (v, cur) = (xi[k], li[k]);
                let w = v * v;
                let mut slx = sumlx[k] - w * v * cur;
                let mut sl2 = suml2[k] - w * cur * cur;
                let new_l = code(v * sl2 / slx, -nmax, nmax - 1);
                let differs = slx > 0.0 && new_l != cur;
                slx += w * v * new_l;
                sl2 += w * new_l * new_l;
                let take = differs && sl2 > 0.0 && slx * slx * suml2[k] > sumlx[k] * sumlx[k] * sl2;
                if take {
                    li[k] = new_l;
                    sumlx[k] = slx;
                    suml2[k] = sl2;
                }
                changed[k] |= take;
            }
        }
        if !changed.contains(&true) {
            break;
        }
    }
    let mut scale = [0f32; W];
    for k in 0..W {
        scale[k] = if suml2[k] > 0.0 {
            sumlx[k] / suml2[k]
        } else {
            0.0
        };
        // A sub-block of nothing but (near) zeros: scale 0, codes stored as 0.
        if amax[k] < GROUP_MAX_EPS {
            empty_lane(k, &mut scale, &mut lt, -(nmax as f32));
        }
    }
    untranspose(&lt, N, nmax, l);
    scale
}

/// Σ w·q·x and Σ w·q² (w = x²) of the rows `xt` coded with `id` into IQ4 levels `q` (the
/// level's value; its index into `codes` when given): `fit` in `iq4.rs`, lane by lane.
#[inline(always)]
fn iq4_fit<const N: usize>(
    xt: &[Lanes<f32>; N],
    id: &Lanes<f32>,
    codes: Option<&mut [Lanes<f32>; N]>,
) -> (Lanes<f32>, Lanes<f32>) {
    use super::iq4::KVALUES;
    // `best_index`'s binary search finds the last level j whose midpoint with level j − 1
    // 2x reaches; the midpoints ascend, so that is the number of them 2x reaches (NaN: none).
    let mid: [f32; 15] =
        std::array::from_fn(|j| f32::from(i16::from(KVALUES[j]) + i16::from(KVALUES[j + 1])));
    let step: [f32; 15] =
        std::array::from_fn(|j| f32::from(i16::from(KVALUES[j + 1]) - i16::from(KVALUES[j])));
    let mut q = [[0f32; W]; N];
    for (xi, qi) in xt.iter().zip(q.iter_mut()) {
        for k in 0..W {
            let x = id[k] * xi[k];
            let x2 = x + x;
            let mut level = f32::from(KVALUES[0]);
            for j in 0..15 {
                level += if x2 >= mid[j] { step[j] } else { 0.0 };
            }
            qi[k] = level;
        }
    }
    if let Some(codes) = codes {
        for (qi, ci) in q.iter().zip(codes.iter_mut()) {
            for k in 0..W {
                // The level's index: levels are distinct integers, found by counting.
                let mut index = 0f32;
                for &v in &KVALUES[1..] {
                    index += if qi[k] >= f32::from(v) { 1.0 } else { 0.0 };
                }
                ci[k] = index;
            }
        }
    }
    let (mut sumqx, mut sumq2) = ([0f32; W], [0f32; W]);
    for (xi, qi) in xt.iter().zip(&q) {
        for k in 0..W {
            let w = xi[k] * xi[k];
            sumqx[k] += w * qi[k] * xi[k];
        }
    }
    for (xi, qi) in xt.iter().zip(&q) {
        for k in 0..W {
            let w = xi[k] * xi[k];
            sumq2[k] += w * qi[k] * qi[k];
        }
    }
    (sumqx, sumq2)
}

/// [`sub_block_scale`](super::iq4) of the `W` sub-blocks of `N` values in `x` (`ntry` tries each
/// side; −1: none): each one's scale, and its first codes into `l` (N bytes each).
pub(super) fn iq4_scales<const N: usize>(x: &[f32], ntry: i32, l: &mut [u8]) -> Lanes<f32> {
    use super::iq4::{GROUP_MAX_EPS, KVALUES};
    let xt = transpose::<N>(x);
    let (amax, max) = amax_max(&xt);
    let v0 = f32::from(KVALUES[0]);
    let id: Lanes<f32> = std::array::from_fn(|k| {
        let d = if ntry > 0 { -max[k] / v0 } else { max[k] / v0 };
        1.0 / d
    });
    let mut codes = [[0f32; W]; N];
    let (sumqx, sumq2) = iq4_fit(&xt, &id, Some(&mut codes));
    let (mut d, mut best) = ([0f32; W], [0f32; W]);
    for k in 0..W {
        d[k] = if sumq2[k] > 0.0 {
            sumqx[k] / sumq2[k]
        } else {
            0.0
        };
        best[k] = d[k] * sumqx[k];
    }
    for itry in -ntry..=ntry {
        let top = (itry + i32::from(KVALUES[0])) as f32;
        let id: Lanes<f32> = std::array::from_fn(|k| top / max[k]);
        let (sumqx, sumq2) = iq4_fit(&xt, &id, None);
        for k in 0..W {
            if sumq2[k] > 0.0 && sumqx[k] * sumqx[k] > best[k] * sumq2[k] {
                d[k] = sumqx[k] / sumq2[k];
                best[k] = d[k] * sumqx[k];
            }
        }
    }
    // A sub-block of nothing but (near) zeros: scale 0, codes 0.
    for (k, &a) in amax.iter().enumerate() {
        if a < GROUP_MAX_EPS {
            empty_lane(k, &mut d, &mut codes, 0.0);
        }
    }
    untranspose(&codes, N, 0, l);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: a reproducible stream of u64.
    fn stream(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed.max(1);
        move || {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            s.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
    }

    /// `W` sub-blocks of `n` values, each of a kind the searches treat apart: spread values of
    /// random magnitude (1e-30 … 1e30), all zero, constant (positive or negative), one-signed,
    /// subnormal, one spike among small values, values on a coarse grid (ties in the rounding),
    /// and now and then a NaN or ±Inf.
    pub(in crate::ggml) fn sub_blocks(n: usize, case: u64) -> Vec<f32> {
        let mut next = stream(case.wrapping_mul(0x9E37_79B9_7F4A_7C15) + 1);
        let mut x = Vec::with_capacity(W * n);
        for _ in 0..W {
            let kind = next() % 10;
            let magnitude = 10f32.powi((next() % 61) as i32 - 30);
            let c = (next() % 1000) as f32 / 100.0 - 5.0;
            for i in 0..n {
                let u = (next() >> 40) as f32 / (1u64 << 24) as f32; // [0, 1)
                let v = match kind {
                    0 => 0.0,
                    1 => c,
                    2 => magnitude * u,
                    3 => -magnitude * u,
                    4 => (u - 0.5) * 1e-40,
                    5 if i == n / 3 => -magnitude * 100.0,
                    5 => magnitude * (u - 0.5) * 1e-2,
                    6 => ((u * 16.0).floor() - 8.0) * 0.25,
                    7 if next() % 24 == 0 => [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][i % 3],
                    _ => magnitude * (u - 0.5),
                };
                x.push(v);
            }
        }
        x
    }

    /// Equal as bits, NaN included.
    fn same(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    fn qkx2_equals_the_reference<const N: usize, const MAD: bool>(
        nmax: i32,
        rmin: f32,
        nstep: i32,
    ) {
        use crate::ggml::kquants::make_qkx2_quants as reference;
        for case in 0..400 {
            let x = sub_blocks(N, case);
            let w: Vec<f32> = if MAD {
                x.iter().map(|v| v.abs()).collect()
            } else {
                x.iter().map(|v| 0.5 + v.abs()).collect()
            };
            let mut l = vec![0u8; W * N];
            let (scales, mins) = make_qkx2_quants::<N, MAD>(nmax, &x, &w, &mut l, rmin, 0.1, nstep);
            for k in 0..W {
                let at = k * N..k * N + N;
                let (mut want, mut aux) = ([0u8; N], [0u8; N]);
                let (s, m) = reference(
                    nmax,
                    &x[at.clone()],
                    &w[at.clone()],
                    &mut want,
                    &mut aux,
                    rmin,
                    0.1,
                    nstep,
                    MAD,
                );
                let what = format!("case {case} lane {k}: {:?}", &x[at.clone()]);
                assert!(same(scales[k], s) && same(mins[k], m), "{what}");
                assert_eq!(&l[at], &want[..], "{what}");
            }
        }
    }

    /// A signed search of eight 16-value sub-blocks (`lanes`) against eight calls of its
    /// one-at-a-time port (`one`), both with `nmax`.
    fn signed_equals_the_reference(
        nmax: i32,
        lanes: fn(i32, &[f32], &mut [u8]) -> Lanes<f32>,
        one: fn(i32, &[f32], &mut [i8]) -> f32,
    ) {
        for case in 0..400 {
            let x = sub_blocks(16, case);
            let mut l = [0u8; W * 16];
            let scales = lanes(nmax, &x, &mut l);
            for (k, &scale) in scales.iter().enumerate() {
                let at = 16 * k..16 * k + 16;
                let mut want = [0i8; 16];
                let s = one(nmax, &x[at.clone()], &mut want);
                let what = format!("case {case} lane {k}: {:?}", &x[at.clone()]);
                assert!(same(scale, s), "{what}: {scale} against {s}");
                let want: Vec<u8> = want.iter().map(|&c| c as u8).collect();
                assert_eq!(&l[at], &want[..], "{what}");
            }
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn eight_qx_searches_at_once_equal_eight_one_at_a_time() {
        signed_equals_the_reference(
            32,
            make_qx_quants::<16>,
            crate::ggml::kquants::make_qx_quants,
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn eight_q3_searches_at_once_equal_eight_one_at_a_time() {
        signed_equals_the_reference(
            4,
            make_q3_quants::<16>,
            crate::ggml::kquants::make_q3_quants,
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn eight_iq4_searches_at_once_equal_eight_one_at_a_time() {
        for ntry in [7, -1] {
            for case in 0..400 {
                let x = sub_blocks(32, case);
                let mut l = [0u8; W * 32];
                let d = iq4_scales::<32>(&x, ntry, &mut l);
                for (k, &dk) in d.iter().enumerate() {
                    let at = 32 * k..32 * k + 32;
                    let mut want = [0u8; 32];
                    let s = crate::ggml::iq4::sub_block_scale(&x[at.clone()], ntry, &mut want);
                    let what = format!("ntry {ntry} case {case} lane {k}: {:?}", &x[at.clone()]);
                    assert!(same(dk, s), "{what}: {dk} against {s}");
                    assert_eq!(&l[at], &want[..], "{what}");
                }
            }
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn eight_qkx2_searches_at_once_equal_eight_one_at_a_time() {
        qkx2_equals_the_reference::<32, false>(15, -1.0, 20); // Q4_K
        qkx2_equals_the_reference::<32, false>(31, -0.5, 15); // Q5_K
        qkx2_equals_the_reference::<16, true>(3, -0.5, 15); // Q2_K
        qkx2_equals_the_reference::<16, true>(3, -0.5, 0); // no search
    }
}
