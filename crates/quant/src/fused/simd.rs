//! The fused pass's hot block in WebAssembly SIMD128, written with `core::arch::wasm32`: the
//! auto-vectoriser left most lanes of the portable form scalar in wasm (`i32x4.extract_lane`
//! throughout; MXFP4 ran at 14 ns a value against 5.5 natively). Every step is the portable
//! form's IEEE arithmetic, lane for lane (adds, multiplies, divisions, compares, selects, the
//! same magic-number roundings), and the error sums keep the same lane order, so the results are
//! the same bits; the tests of `fused` and `plan` run on wasm32 too and check it.

use core::arch::wasm32::*;

use super::{
    Kernel, Lanes, MiniFloatCoder, Q4Coder, Q8_0Coder, Sums, Tables, BY_KEY, BY_PAIR, BY_VALUE,
    TWO_23,
};
use crate::affine::Coder;
use crate::config::Rounding;
use crate::histogram::Binner;
use crate::metrics::LANES;

/// LANES values as two vectors.
#[derive(Clone, Copy)]
pub(crate) struct V(pub [v128; 2]);

/// 1.5 · 2^23, the round-to-integer constant of `affine::round_half_even`.
const MAGIC: f32 = 12_582_912.0;

#[inline(always)]
fn load(a: &Lanes<f32>) -> V {
    // SAFETY: `a` holds 8 f32 (32 bytes): both 16-byte loads are inside it; v128.load has no
    // alignment requirement.
    unsafe {
        V([
            v128_load(a.as_ptr().cast::<v128>()),
            v128_load(a.as_ptr().add(4).cast::<v128>()),
        ])
    }
}

#[inline(always)]
fn store_u32(v: V) -> Lanes<u32> {
    let mut out = [0u32; LANES];
    // SAFETY: as in `load`, two 16-byte stores inside an 8-lane array.
    unsafe {
        v128_store(out.as_mut_ptr().cast::<v128>(), v.0[0]);
        v128_store(out.as_mut_ptr().add(4).cast::<v128>(), v.0[1]);
    }
    out
}

#[inline(always)]
fn map(v: V, f: impl Fn(v128) -> v128) -> V {
    V([f(v.0[0]), f(v.0[1])])
}

#[inline(always)]
fn map2(a: V, b: V, f: impl Fn(v128, v128) -> v128) -> V {
    V([f(a.0[0], b.0[0]), f(a.0[1], b.0[1])])
}

/// `if m { a } else { b }` per lane (m all ones or all zeros).
#[inline(always)]
fn select(m: v128, a: v128, b: v128) -> v128 {
    v128_bitselect(a, b, m)
}

/// `affine::round_half_even`.
#[inline(always)]
fn round_even(x: v128) -> v128 {
    let m = f32x4_splat(MAGIC);
    f32x4_sub(f32x4_add(x, m), m)
}

/// `affine::floor`.
#[inline(always)]
fn floor(x: v128) -> v128 {
    let r = round_even(x);
    select(f32x4_gt(r, x), f32x4_sub(r, f32x4_splat(1.0)), r)
}

/// `affine::round_half_away` (without `signum`'s ±0 case, which its condition excludes).
#[inline(always)]
fn round_away(x: v128) -> v128 {
    let r = round_even(x);
    let tie = f32x4_eq(f32x4_abs(f32x4_sub(x, r)), f32x4_splat(0.5));
    let away = v128_and(tie, f32x4_lt(f32x4_abs(r), f32x4_abs(x)));
    let one = v128_or(f32x4_splat(1.0), v128_and(x, u32x4_splat(0x8000_0000)));
    select(away, f32x4_add(r, one), r)
}

/// `affine::int_of`: the i32 of an integer-valued f32 below 2^22 in magnitude.
#[inline(always)]
fn int_of(x: v128) -> v128 {
    let m = f32x4_splat(MAGIC);
    i32x4_sub(f32x4_add(x, m), m)
}

/// `f32::clamp(x, lo, hi)` for finite bounds: the portable form's compares, NaN kept.
#[inline(always)]
fn clamp(x: v128, lo: v128, hi: v128) -> v128 {
    let x = select(f32x4_lt(x, lo), lo, x);
    select(f32x4_gt(x, hi), hi, x)
}

/// A kernel with a SIMD128 form: codes, r̂ and clipped masks (all ones) of LANES values.
pub(crate) trait SimdKernel: Kernel {
    fn code_v(&self, r: V) -> (V, V, V);
}

/// An element coder with a SIMD128 form.
pub(crate) trait SimdElement: Copy {
    fn encode_v(&self, x: V) -> (V, V, V);
}

impl<E: SimdElement> SimdElement for &E {
    #[inline(always)]
    fn encode_v(&self, x: V) -> (V, V, V) {
        (**self).encode_v(x)
    }
}

impl<E: SimdElement + super::ElementCoder, const MUL: bool> SimdKernel
    for super::BlockKernel<'_, E, MUL>
{
    #[inline(always)]
    fn code_v(&self, r: V) -> (V, V, V) {
        let b = self.block;
        let (off, scale) = (f32x4_splat(b.enc_offset), f32x4_splat(b.enc_scale));
        let x = map(r, |r| {
            let d = f32x4_sub(r, off);
            if MUL {
                f32x4_mul(d, scale)
            } else {
                f32x4_div(d, scale)
            }
        });
        let (code, level, clipped) = self.element.encode_v(x);
        let (dec, doff) = (f32x4_splat(b.dec_scale), f32x4_splat(b.dec_offset));
        (
            code,
            map(level, |l| f32x4_add(f32x4_mul(l, dec), doff)),
            clipped,
        )
    }
}

impl SimdElement for MiniFloatCoder {
    #[inline(always)]
    fn encode_v(&self, x: V) -> (V, V, V) {
        let c = *self;
        let max = f32x4_splat(c.max);
        let two23 = f32x4_splat(TWO_23);
        let mut code = [u32x4_splat(0); 2];
        let mut value = [u32x4_splat(0); 2];
        let mut clipped = [u32x4_splat(0); 2];
        for h in 0..2 {
            let xv = x.0[h];
            let ax = f32x4_abs(xv);
            clipped[h] = f32x4_gt(ax, max);
            let a = select(f32x4_lt(ax, max), ax, max);
            let q = f32x4_sub(
                f32x4_add(f32x4_mul(a, f32x4_splat(c.inv_step)), two23),
                two23,
            );
            let sub_code = i32x4_sub(f32x4_add(q, two23), two23);
            let sub_value = f32x4_mul(q, f32x4_splat(c.step));
            let lsb = v128_and(u32x4_shr(a, c.drop), u32x4_splat(1));
            let rounded = v128_and(
                i32x4_add(i32x4_add(a, u32x4_splat(c.round_half)), lsb),
                u32x4_splat(c.keep),
            );
            let exp = i32x4_add(u32x4_shr(rounded, 23), i32x4_splat(c.rebias));
            let norm_code = v128_or(
                i32x4_shl(exp, c.man),
                v128_and(u32x4_shr(rounded, c.drop), u32x4_splat(c.man_mask)),
            );
            let sub = f32x4_lt(a, f32x4_splat(c.min_normal));
            let negative = i32x4_shr(xv, 31);
            code[h] = v128_or(
                select(sub, sub_code, norm_code),
                v128_and(negative, u32x4_splat(c.sign)),
            );
            value[h] = v128_or(
                select(sub, sub_value, rounded),
                v128_and(negative, u32x4_splat(0x8000_0000)),
            );
        }
        (V(code), V(value), V(clipped))
    }
}

impl SimdElement for Q8_0Coder {
    #[inline(always)]
    fn encode_v(&self, x: V) -> (V, V, V) {
        let level = map(x, |x| {
            // The portable form's roundf: x plus the largest f32 below one half, signed as x,
            // truncated (which keeps the sign of a zero result).
            let half = v128_or(
                f32x4_splat(0.499_999_97),
                v128_and(x, u32x4_splat(0x8000_0000)),
            );
            let r = f32x4_trunc(f32x4_add(x, half));
            clamp(r, f32x4_splat(-127.0), f32x4_splat(127.0))
        });
        let code = map(level, |l| v128_and(int_of(l), u32x4_splat(0xFF)));
        let clipped = map(x, |x| f32x4_gt(f32x4_abs(x), f32x4_splat(127.5)));
        (code, level, clipped)
    }
}

impl SimdElement for Q4Coder {
    #[inline(always)]
    fn encode_v(&self, x: V) -> (V, V, V) {
        let (bias, offset) = (f32x4_splat(self.bias), f32x4_splat(self.level_offset));
        let zero = f32x4_splat(0.0);
        let fifteen = f32x4_splat(15.0);
        let y = map(x, |x| f32x4_add(x, bias));
        let clipped = map(y, |y| {
            v128_or(f32x4_ge(y, f32x4_splat(16.0)), f32x4_lt(y, zero))
        });
        let q = map(y, |y| {
            let q = floor(select(f32x4_gt(y, zero), y, zero));
            select(f32x4_lt(q, fifteen), q, fifteen)
        });
        (map(q, int_of), map(q, |q| f32x4_sub(q, offset)), clipped)
    }
}

/// The integer quantizer of one group with its rounding mode (see `affine::Coder::code`).
#[derive(Clone, Copy)]
pub(crate) struct IntV {
    pub coder: Coder,
    pub qmin: i32,
    pub rounding: Rounding,
}

impl IntV {
    #[inline(always)]
    pub fn code_v(&self, r: V) -> (V, V, V) {
        let c = &self.coder;
        let (lo, hi) = (f32x4_splat(c.lo), f32x4_splat(c.hi));
        let (qmin, qmax) = (f32x4_splat(c.qmin), f32x4_splat(c.qmax));
        let (zp, scale) = (f32x4_splat(c.zero_point), f32x4_splat(c.scale));
        let inv = f32x4_splat(c.inv_scale);
        let mut code = [u32x4_splat(0); 2];
        let mut r_hat = [u32x4_splat(0); 2];
        let mut clipped = [u32x4_splat(0); 2];
        for h in 0..2 {
            let t = clamp(f32x4_mul(r.0[h], inv), lo, hi);
            let rounded = match self.rounding {
                Rounding::NearestAway => round_away(t),
                Rounding::Floor => floor(t),
                Rounding::NearestEven | Rounding::Stochastic => round_even(t),
            };
            let q = f32x4_add(rounded, zp);
            let cq = clamp(q, qmin, qmax);
            clipped[h] = f32x4_ne(cq, q);
            code[h] = i32x4_sub(int_of(cq), i32x4_splat(self.qmin));
            r_hat[h] = f32x4_mul(f32x4_sub(cq, zp), scale);
        }
        (V(code), V(r_hat), V(clipped))
    }
}

/// The sums and lane counters of a chunk held in vectors (loaded once per chunk, so they stay in
/// registers): f64 lane pairs 2i, 2i + 1 of each error sum, and two u32x4 of each counter.
pub(crate) struct State {
    sq: [v128; 4],
    abs: [v128; 4],
    max: [v128; 4],
    sq_ref: [v128; 4],
    dot: [v128; 4],
    n: [v128; 2],
    clipped: [v128; 2],
    overflowed: [v128; 2],
}

impl State {
    #[inline(always)]
    pub fn load(s: &Sums) -> Self {
        let f = |a: &[f64; LANES]| [0, 1, 2, 3].map(|i| f64x2(a[2 * i], a[2 * i + 1]));
        let u = |a: &[u32; LANES]| [u32x4(a[0], a[1], a[2], a[3]), u32x4(a[4], a[5], a[6], a[7])];
        let acc = &s.acc;
        Self {
            sq: f(&acc.sum_sq_err),
            abs: f(&acc.sum_abs_err),
            max: f(&acc.max_abs_err),
            sq_ref: f(&acc.sum_sq_ref),
            dot: f(&acc.dot),
            n: u(&s.n),
            clipped: u(&s.clipped),
            overflowed: u(&s.overflowed),
        }
    }

    #[inline(always)]
    pub fn store(&self, s: &mut Sums) {
        let f = |a: &mut [f64; LANES], v: &[v128; 4]| {
            for i in 0..4 {
                a[2 * i] = f64x2_extract_lane::<0>(v[i]);
                a[2 * i + 1] = f64x2_extract_lane::<1>(v[i]);
            }
        };
        let u = |a: &mut [u32; LANES], v: &[v128; 2]| {
            *a = store_u32(V(*v));
        };
        f(&mut s.acc.sum_sq_err, &self.sq);
        f(&mut s.acc.sum_abs_err, &self.abs);
        f(&mut s.acc.max_abs_err, &self.max);
        f(&mut s.acc.sum_sq_ref, &self.sq_ref);
        f(&mut s.acc.dot, &self.dot);
        u(&mut s.n, &self.n);
        u(&mut s.clipped, &self.clipped);
        u(&mut s.overflowed, &self.overflowed);
    }
}

/// One block through a SIMD kernel: the counters of `state` and the table indices, as
/// `Sums::block` computes them for `BY` (see [`Tables`]).
#[inline(always)]
pub(crate) fn block<const CHECK: bool, const BY: u8>(
    state: &mut State,
    r: &Lanes<f32>,
    code_v: impl Fn(V) -> (V, V, V),
    binner: &Binner,
    t: Tables,
) -> (Lanes<u32>, Lanes<u32>) {
    let inf = f32x4_splat(f32::INFINITY);
    let ones = u32x4_splat(u32::MAX);
    let r = load(r);
    let finite = if CHECK {
        map(r, |r| f32x4_lt(f32x4_abs(r), inf))
    } else {
        V([ones, ones])
    };
    let rr = map2(r, finite, |a, b| v128_and(a, b));
    let (code, v, c) = code_v(rr);
    let fits = map(v, |v| f32x4_lt(f32x4_abs(v), inf));
    let r_hat = map2(v, fits, |a, b| v128_and(a, b));
    let ok = map2(finite, fits, |a, b| v128_and(a, b));
    // Counters: a mask of all ones is −1, so subtracting it counts one.
    for h in 0..2 {
        state.n[h] = i32x4_sub(state.n[h], ok.0[h]);
        state.clipped[h] = i32x4_sub(state.clipped[h], v128_and(ok.0[h], c.0[h]));
        state.overflowed[h] = i32x4_sub(state.overflowed[h], v128_andnot(finite.0[h], fits.0[h]));
    }
    // Table indices: copy k & 1, the spare slot for masked lanes.
    let copy = u32x4(0, 1, 0, 1);
    let code = map(code, |code| u32x4_min(code, u32x4_splat(t.n_codes - 1)));
    let bin = if BY != BY_KEY {
        let (pre, lo, inv) = binner.affine();
        let (zero, last) = (f32x4_splat(0.0), f32x4_splat(binner.last_f()));
        map(r_hat, |rh| {
            let x = f32x4_mul(
                f32x4_sub(f32x4_mul(rh, f32x4_splat(pre)), f32x4_splat(lo)),
                f32x4_splat(inv),
            );
            u32x4_min(
                int_of(floor(clamp(x, zero, last))),
                u32x4_splat(binner.bins() as u32 - 1),
            )
        })
    } else {
        V([u32x4_splat(0); 2])
    };
    let (codes, bins) = if BY == BY_PAIR {
        // Row `code` of the lane's copy, column bin or n_bins where r̂ is not finite.
        let row = u32x4_splat(t.n_bins + 1);
        let copy_base = i32x4_mul(copy, u32x4_splat(t.n_codes * (t.n_bins + 1)));
        let spare = u32x4_splat(2 * t.n_codes * (t.n_bins + 1));
        let column = map2(bin, ok, |b, m| select(m, b, u32x4_splat(t.n_bins)));
        let pair = map2(code, column, |c, b| {
            i32x4_add(copy_base, i32x4_add(i32x4_mul(c, row), b))
        });
        (
            map2(pair, finite, |p, f| select(f, p, spare)),
            V([u32x4_splat(0); 2]),
        )
    } else {
        // By value the base is 0 and the spare follows the two copies (constants, as in
        // `Sums::block`).
        let (code_base, code_spare) = if BY == BY_VALUE {
            (0, 2 * t.n_codes)
        } else {
            (t.code_base, t.code_spare)
        };
        let spare_code = u32x4_splat(code_spare);
        let base = i32x4_add(
            i32x4_mul(copy, u32x4_splat(t.n_codes)),
            u32x4_splat(code_base),
        );
        let codes = map2(code, finite, |c, f| {
            select(f, i32x4_add(base, c), spare_code)
        });
        let bins = if BY == BY_VALUE {
            map2(bin, ok, |b, m| {
                select(
                    m,
                    i32x4_add(i32x4_mul(copy, u32x4_splat(t.n_bins)), b),
                    u32x4_splat(2 * t.n_bins),
                )
            })
        } else {
            V([u32x4_splat(0); 2])
        };
        (codes, bins)
    };
    // The error sums, f64 lane k in accumulator lane k as in `ErrorAccumulator::add_block_sums`.
    let rm = map2(rr, ok, |a, b| v128_and(a, b));
    let qm = map2(r_hat, ok, |a, b| v128_and(a, b));
    for half in 0..2 {
        let (rv4, qv4) = (rm.0[half], qm.0[half]);
        let pairs = [
            (f64x2_promote_low_f32x4(rv4), f64x2_promote_low_f32x4(qv4)),
            (
                f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 2, 3>(rv4, rv4)),
                f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 2, 3>(qv4, qv4)),
            ),
        ];
        for (j, (rv, qv)) in pairs.into_iter().enumerate() {
            let i = 2 * half + j;
            let d = f64x2_sub(rv, qv);
            let ad = f64x2_abs(d);
            state.sq[i] = f64x2_add(state.sq[i], f64x2_mul(d, d));
            state.abs[i] = f64x2_add(state.abs[i], ad);
            state.max[i] = select(f64x2_gt(ad, state.max[i]), ad, state.max[i]);
            state.sq_ref[i] = f64x2_add(state.sq_ref[i], f64x2_mul(rv, rv));
            state.dot[i] = f64x2_add(state.dot[i], f64x2_mul(rv, qv));
        }
    }
    (store_u32(codes), store_u32(bins))
}

/// The per-tensor (few large groups) integer pass over one chunk, `analyze::fused_chunk`'s
/// blocks in SIMD128: the auto-vectorised portable form ran at ~8 ns a value in V8 (6.6× the AVX2
/// build, and slower than the explicit per-group pass), and every sweep row is this pass. Lane for
/// lane the portable form's arithmetic — `Coder::code`, `AffineParams::real_from_code`,
/// `ErrorAccumulator::add_block_sums::<true>` (clipping error split included) — with `counts`
/// holding two interleaved copies of the code table and a spare slot at the end, as there.
/// `all_finite` skips the finite mask on whole blocks (the last partial block is always masked).
pub(crate) fn int_chunk(
    values: &[f32],
    coder: Coder,
    qmin: i32,
    rounding: Rounding,
    all_finite: bool,
    acc: &mut crate::metrics::ErrorAccumulator,
    counts: &mut [u32],
) {
    // One monomorphised loop per rounding and finite check, so neither is decided per block.
    macro_rules! run {
        ($round:expr) => {
            if all_finite {
                int_run::<false>(values, coder, qmin, $round, acc, counts)
            } else {
                int_run::<true>(values, coder, qmin, $round, acc, counts)
            }
        };
    }
    match rounding {
        Rounding::NearestAway => run!(round_away),
        Rounding::Floor => run!(floor),
        Rounding::NearestEven | Rounding::Stochastic => run!(round_even),
    }
}

#[inline(always)]
fn int_run<const CHECK: bool>(
    values: &[f32],
    c: Coder,
    qmin: i32,
    round: impl Fn(v128) -> v128 + Copy,
    acc: &mut crate::metrics::ErrorAccumulator,
    counts: &mut [u32],
) {
    if counts.is_empty() {
        return;
    }
    let n_levels = ((counts.len() - 1) / 2) as u32;
    let spare = u32x4_splat(2 * n_levels);
    let top = u32x4_splat(n_levels.saturating_sub(1));
    let base = i32x4_mul(u32x4(0, 1, 0, 1), u32x4_splat(n_levels));
    let (lo, hi) = (f32x4_splat(c.lo), f32x4_splat(c.hi));
    let (qlo, qhi) = (f32x4_splat(c.qmin), f32x4_splat(c.qmax));
    let (zp, scale, inv) = (
        f32x4_splat(c.zero_point),
        f32x4_splat(c.scale),
        f32x4_splat(c.inv_scale),
    );
    let (inf, ones, zero) = (
        f32x4_splat(f32::INFINITY),
        u32x4_splat(u32::MAX),
        f64x2_splat(0.0),
    );
    let mut local = crate::metrics::ErrorAccumulator::default();
    // The sums run over the whole chunk in one order, as the portable form's do.
    let (mut sq, mut abs, mut max) = ([zero; 4], [zero; 4], [zero; 4]);
    let (mut sq_ref, mut dot, mut clip_sq) = ([zero; 4], [zero; 4], [zero; 4]);
    // Lane counters stay far below 2^32: at most 2^24 values between flushes.
    for part in values.chunks(1 << 24) {
        let (mut n, mut clipped) = ([u32x4_splat(0); 2], [u32x4_splat(0); 2]);
        let mut one = |r: V, check: bool| {
            let finite = if check {
                map(r, |r| f32x4_lt(f32x4_abs(r), inf))
            } else {
                V([ones, ones])
            };
            let mut rr = [zero; 2];
            let mut qm = [zero; 2];
            let mut cm = [zero; 2];
            let mut idx = [zero; 2];
            for h in 0..2 {
                let f = finite.0[h];
                let r = v128_and(r.0[h], f);
                let t = clamp(f32x4_mul(r, inv), lo, hi);
                let q = f32x4_add(round(t), zp);
                let cq = clamp(q, qlo, qhi);
                let cl = v128_and(f32x4_ne(cq, q), f);
                let code = u32x4_min(i32x4_sub(int_of(cq), i32x4_splat(qmin)), top);
                n[h] = i32x4_sub(n[h], f);
                clipped[h] = i32x4_sub(clipped[h], cl);
                idx[h] = select(f, i32x4_add(base, code), spare);
                rr[h] = r;
                qm[h] = v128_and(f32x4_mul(f32x4_sub(cq, zp), scale), f);
                cm[h] = cl;
            }
            for half in 0..2 {
                let (rv4, qv4, cm4) = (rr[half], qm[half], cm[half]);
                let pairs = [
                    (
                        f64x2_promote_low_f32x4(rv4),
                        f64x2_promote_low_f32x4(qv4),
                        i64x2_extend_low_i32x4(cm4),
                    ),
                    (
                        f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 2, 3>(rv4, rv4)),
                        f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 2, 3>(qv4, qv4)),
                        i64x2_extend_high_i32x4(cm4),
                    ),
                ];
                for (j, (rv, qv, cmask)) in pairs.into_iter().enumerate() {
                    let i = 2 * half + j;
                    let d = f64x2_sub(rv, qv);
                    let ad = f64x2_abs(d);
                    let d2 = f64x2_mul(d, d);
                    sq[i] = f64x2_add(sq[i], d2);
                    abs[i] = f64x2_add(abs[i], ad);
                    max[i] = select(f64x2_gt(ad, max[i]), ad, max[i]);
                    sq_ref[i] = f64x2_add(sq_ref[i], f64x2_mul(rv, rv));
                    dot[i] = f64x2_add(dot[i], f64x2_mul(rv, qv));
                    clip_sq[i] = f64x2_add(clip_sq[i], v128_and(d2, cmask));
                }
            }
            for i in store_u32(V(idx)) {
                // SAFETY: each index is below counts.len() = 2 · n_levels + 1: a code is limited
                // to n_levels − 1 above, base is 0 or n_levels, spare is 2 · n_levels. Unchecked
                // because the bounds check of 8 scattered increments a block measured 25–30 % of
                // this pass in V8 (4.0 → 2.9–3.6 ms at 1M values).
                unsafe { *counts.get_unchecked_mut(i as usize) += 1 };
            }
        };
        let mut blocks = part.chunks_exact(LANES);
        for block in &mut blocks {
            let block: &Lanes<f32> = block.try_into().unwrap_or(&[f32::NAN; LANES]);
            one(load(block), CHECK);
        }
        let tail = blocks.remainder();
        if !tail.is_empty() {
            let mut block = [f32::NAN; LANES];
            block[..tail.len()].copy_from_slice(tail);
            one(load(&block), true);
        }
        let total = |v: [v128; 2]| store_u32(V(v)).iter().map(|&c| c as usize).sum();
        local.add_counts(total(n), total(clipped));
    }
    let f = |a: &mut [f64; LANES], v: &[v128; 4]| {
        for i in 0..4 {
            a[2 * i] = f64x2_extract_lane::<0>(v[i]);
            a[2 * i + 1] = f64x2_extract_lane::<1>(v[i]);
        }
    };
    f(&mut local.sum_sq_err, &sq);
    f(&mut local.sum_abs_err, &abs);
    f(&mut local.max_abs_err, &max);
    f(&mut local.sum_sq_ref, &sq_ref);
    f(&mut local.dot, &dot);
    f(&mut local.sum_sq_clip, &clip_sq);
    acc.merge(&local);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fused::ElementCoder;

    /// The SIMD128 forms of the GGML elements give the portable forms' bits: every tie and its
    /// neighbours to beyond Q8_0's clamp, ±0, ±Inf and random bit patterns of every exponent.
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn simd_ggml_elements_equal_the_portable_ones() {
        let xs = super::super::tests::rounding_probes(100_000);
        let q4 = |bias, level_offset| Q4Coder { bias, level_offset };
        for block in xs.chunks_exact(LANES) {
            let block: &Lanes<f32> = block.try_into().unwrap_or(&[0.0; LANES]);
            let bits = |(c, v, m): (V, V, V)| (store_u32(c), store_u32(v), store_u32(m));
            let portable = |(c, v, m): (Lanes<u32>, Lanes<f32>, Lanes<bool>)| {
                (
                    c,
                    v.map(f32::to_bits),
                    m.map(|m| if m { u32::MAX } else { 0 }),
                )
            };
            assert_eq!(
                bits(Q8_0Coder.encode_v(load(block))),
                portable(Q8_0Coder.encode_lanes(block)),
                "q8_0 at {block:?}"
            );
            // Q4_0 and Q4_1 where a block hands them values (|x| ≤ 8, x + 0.5 within [0, 16]).
            if block.iter().all(|x| x.abs() <= 8.0) {
                for e in [q4(8.5, 8.0), q4(0.5, 0.0)] {
                    assert_eq!(
                        bits(e.encode_v(load(block))),
                        portable(e.encode_lanes(block)),
                        "q4 at {block:?}"
                    );
                }
            }
        }
    }
}
