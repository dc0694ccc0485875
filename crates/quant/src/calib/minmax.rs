//! Min-max calibration: the range of the finite values.

/// (min, max) of the finite values, or `None` if there are none.
///
/// Eight independent lanes of compare-and-select (a masked non-finite value never wins; value i
/// goes to lane i mod 8, the rest to lane 0; then the first lane of the least value, and of the
/// greatest), which the compiler turns into SIMD natively; a fold over `f32::min` is one serial
/// chain. In WebAssembly the lanes are written in SIMD128 (the auto-vectoriser left them scalar
/// there) — the same compares, so the same bits (tested). It runs once per group or block of
/// 16–256 values (16 % of an int4-g32 analysis in V8, profiled), so the lanes' ends count.
pub fn finite_min_max(values: &[f32]) -> Option<(f32, f32)> {
    let mut blocks = values.chunks_exact(L);
    let tail = blocks.remainder();
    let (lo, hi) = lanes_min_max(&mut blocks, tail);
    (lo <= hi).then_some((lo, hi))
}

/// Lanes of [`finite_min_max`] and [`finite_abs_max`].
const L: usize = 8;

/// The least of eight lanes, the first in lane order among equals (±0): what the ordered fold
/// `if b < a { b } else { a }` from +∞ gives, as a tree of pairs (0, 1), (2, 3), … then pairs of
/// those (a tie keeps the left, lower lanes, so the first lane of the least value wins either
/// way). No lane holds NaN.
#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
fn first_least(l: [f32; L]) -> f32 {
    let p = |a: f32, b: f32| if b < a { b } else { a };
    p(
        p(p(l[0], l[1]), p(l[2], l[3])),
        p(p(l[4], l[5]), p(l[6], l[7])),
    )
}

/// The greatest of eight lanes likewise (`if b > a { b } else { a }`).
#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
fn first_greatest(l: [f32; L]) -> f32 {
    let p = |a: f32, b: f32| if b > a { b } else { a };
    p(
        p(p(l[0], l[1]), p(l[2], l[3])),
        p(p(l[4], l[5]), p(l[6], l[7])),
    )
}

/// The minimum and maximum of the finite values of the whole blocks of `blocks` and of `tail`
/// (see [`finite_min_max`]): lane k of the blocks' values at k mod 8, the tail's in lane 0.
#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
fn lanes_min_max(blocks: &mut std::slice::ChunksExact<'_, f32>, tail: &[f32]) -> (f32, f32) {
    let mut lo = [f32::INFINITY; L];
    let mut hi = [f32::NEG_INFINITY; L];
    for block in blocks.by_ref() {
        // A value that is not finite is taken as +∞ for the least and −∞ for the greatest,
        // which never replace it: the same lanes as with the finite test in each compare, which
        // the compiler turned into more lane shuffles (natively, 32,768 blocks of 32: 0.61 →
        // 0.40 ms).
        let mut low = [0f32; L];
        let mut high = [0f32; L];
        for k in 0..L {
            let v = block[k];
            let ok = v.is_finite();
            low[k] = if ok { v } else { f32::INFINITY };
            high[k] = if ok { v } else { f32::NEG_INFINITY };
        }
        for k in 0..L {
            lo[k] = if low[k] < lo[k] { low[k] } else { lo[k] };
            hi[k] = if high[k] > hi[k] { high[k] } else { hi[k] };
        }
    }
    for &v in tail {
        if v.is_finite() {
            lo[0] = if v < lo[0] { v } else { lo[0] };
            hi[0] = if v > hi[0] { v } else { hi[0] };
        }
    }
    (first_least(lo), first_greatest(hi))
}

/// [`lanes_min_max`] in SIMD128: lanes 0–3 and 4–7 in two vectors, the same compares, and the
/// same tree of pairs (`f32x4.pmin` is `b < a ? b : a`, `pmax` is `a < b ? b : a`).
#[cfg(target_arch = "wasm32")]
#[inline(always)]
fn lanes_min_max(blocks: &mut std::slice::ChunksExact<'_, f32>, tail: &[f32]) -> (f32, f32) {
    use core::arch::wasm32::*;
    let inf = f32x4_splat(f32::INFINITY);
    let mut lo = [inf; 2];
    let mut hi = [f32x4_splat(f32::NEG_INFINITY); 2];
    for block in blocks.by_ref() {
        for h in 0..2 {
            // SAFETY: a block holds L = 8 f32: the 16 bytes at 4h are inside it (v128.load has
            // no alignment requirement).
            let v = unsafe { v128_load(block.as_ptr().add(4 * h).cast::<v128>()) };
            let ok = f32x4_lt(f32x4_abs(v), inf);
            lo[h] = v128_bitselect(v, lo[h], v128_and(ok, f32x4_lt(v, lo[h])));
            hi[h] = v128_bitselect(v, hi[h], v128_and(ok, f32x4_gt(v, hi[h])));
        }
    }
    if !tail.is_empty() {
        let (mut l0, mut h0) = (
            f32x4_extract_lane::<0>(lo[0]),
            f32x4_extract_lane::<0>(hi[0]),
        );
        for &v in tail {
            if v.is_finite() {
                l0 = if v < l0 { v } else { l0 };
                h0 = if v > h0 { v } else { h0 };
            }
        }
        lo[0] = f32x4_replace_lane::<0>(lo[0], l0);
        hi[0] = f32x4_replace_lane::<0>(hi[0], h0);
    }
    let tree = |v: [v128; 2], pick: &dyn Fn(v128, v128) -> v128| {
        // [01, 23, 45, 67], then [0123, 4567]: each pair's left is the lower lanes.
        let m = pick(
            i32x4_shuffle::<0, 2, 4, 6>(v[0], v[1]),
            i32x4_shuffle::<1, 3, 5, 7>(v[0], v[1]),
        );
        let m = pick(
            i32x4_shuffle::<0, 2, 0, 2>(m, m),
            i32x4_shuffle::<1, 3, 1, 3>(m, m),
        );
        pick(m, i32x4_shuffle::<1, 1, 1, 1>(m, m))
    };
    (
        f32x4_extract_lane::<0>(tree(lo, &|a, b| f32x4_pmin(a, b))),
        f32x4_extract_lane::<0>(tree(hi, &|a, b| f32x4_pmax(a, b))),
    )
}

/// max |v| of the finite values of `values`, 0 if there are none: the bound of a symmetric
/// min-max block, which is `max(|min|, |max|)` of [`finite_min_max`] for every input.
///
/// Read from the bits: |v| of a non-negative f32 orders as its bit pattern, and a pattern below
/// 0x7F80_0000 is finite, so this is an integer max over eight lanes, about a third of the time
/// of the float min and max together (profiled: that pair was 11 % of an MXFP4 pass); in
/// SIMD128 in WebAssembly, as [`finite_min_max`].
pub fn finite_abs_max(values: &[f32]) -> f32 {
    let mut blocks = values.chunks_exact(L);
    let acc = lanes_abs_max(&mut blocks);
    let mut m = blocks
        .remainder()
        .iter()
        .fold(0, |a, &v| a.max(magnitude(v)));
    for a in acc {
        m = m.max(a);
    }
    f32::from_bits(m)
}

/// [`finite_abs_max`] of each consecutive `len`-value chunk of `values` (the last may be
/// shorter), appended to `out`: the same numbers. Natively with AVX2, chunks of a multiple of
/// eight values — the blocks and groups of MX, NVFP4 and per-group int — are read eight lanes at
/// a time and reduced in registers without a call per chunk (the call, its scalar reduction and
/// its tail were 12 % of an int4-g32 analysis). Written with intrinsics because the
/// auto-vectoriser turned the same loop, unrolled, into gathers across chunks (slower than the
/// calls).
pub fn finite_abs_maxes(values: &[f32], len: usize, out: &mut Vec<f32>) {
    each_chunk(values, len, out, whole_abs_max, finite_abs_max);
}

/// `any` of each consecutive `len`-value chunk of `values`, appended to `out`; `whole` (the same
/// numbers, for a multiple of eight values) of the whole chunks when `len` is such a multiple.
#[inline(always)]
fn each_chunk<T>(
    values: &[f32],
    len: usize,
    out: &mut Vec<T>,
    whole: impl Fn(&[f32]) -> T,
    any: impl Fn(&[f32]) -> T,
) {
    if len % L == 0 && len > 0 {
        let mut chunks = values.chunks_exact(len);
        out.extend(chunks.by_ref().map(whole));
        if !chunks.remainder().is_empty() {
            out.push(any(chunks.remainder()));
        }
    } else {
        out.extend(values.chunks(len.max(1)).map(any));
    }
}

/// [`finite_abs_max`] of a chunk of a multiple of eight values: in AVX2 lanes where the build
/// has them.
#[inline(always)]
fn whole_abs_max(chunk: &[f32]) -> f32 {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    let bound = f32::from_bits(avx2_abs_max(chunk));
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
    let bound = finite_abs_max(chunk);
    bound
}

/// The largest finite |v| of `chunk` (a multiple of eight values) as bits: [`magnitude`] in
/// eight lanes, the same integer max.
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
#[inline(always)]
fn avx2_abs_max(chunk: &[f32]) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: AVX2 is enabled for the whole build (the cfg above), and each load reads eight
    // f32 of `block` (unaligned loads).
    unsafe {
        let (mag, inf) = (_mm256_set1_epi32(MAG as i32), _mm256_set1_epi32(INF as i32));
        let mut acc = _mm256_setzero_si256();
        for block in chunk.chunks_exact(L) {
            let v = _mm256_loadu_si256(block.as_ptr().cast::<__m256i>());
            let m = _mm256_and_si256(v, mag);
            // Below 0x7F80_0000 (both below 2^31, so the signed compare is the unsigned one).
            let finite = _mm256_cmpgt_epi32(inf, m);
            acc = _mm256_max_epu32(acc, _mm256_and_si256(m, finite));
        }
        let h = _mm_max_epu32(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256::<1>(acc),
        );
        let h = _mm_max_epu32(h, _mm_shuffle_epi32::<0b01_00_11_10>(h));
        let h = _mm_max_epu32(h, _mm_shuffle_epi32::<0b10_11_00_01>(h));
        _mm_cvtsi128_si32(h) as u32
    }
}

/// The first finite value of the largest magnitude in `chunk` (0 when it has none): GGML
/// Q4_0's block statistic — llama.cpp keeps the first value whose |v| beats every one before.
/// Here from [`finite_min_max`] (its lanes vectorise; a loop keeping the best value so far
/// branches on each value): the value of the largest magnitude is the least or the greatest,
/// and only a tie of −a and a needs the chunk read in order.
pub fn first_largest(chunk: &[f32]) -> f32 {
    let Some((lo, hi)) = finite_min_max(chunk) else {
        return 0.0;
    };
    let amax = (-lo).max(hi);
    // Which end wins is as likely one way as the other: a select, not a branch (mispredicted
    // half the time, natively).
    let end = if -lo > hi { lo } else { hi };
    if amax == 0.0 {
        0.0
    } else if -lo == hi {
        first_of_largest(chunk)
    } else {
        end
    }
}

/// [`first_largest`] value by value, in the chunk's order.
fn first_of_largest(chunk: &[f32]) -> f32 {
    let (mut best, mut m) = (0u32, 0f32);
    for &v in chunk {
        if magnitude(v) > best {
            (best, m) = (magnitude(v), v);
        }
    }
    m
}

/// [`first_largest`] of each consecutive `len`-value chunk of `values` (the last may be
/// shorter), appended to `out`: the same numbers. Natively with AVX2 a chunk of a multiple of
/// eight values keeps in each of eight lanes its first value of the largest magnitude, one
/// compare and two selects per vector, instead of the least and greatest values and a tie
/// scan (Q4_0's statistics from [`finite_min_maxes`] were a tenth of its analysis).
pub fn first_largests(values: &[f32], len: usize, out: &mut Vec<f32>) {
    each_chunk(values, len, out, whole_first_largest, first_largest);
}

/// [`first_largest`] of a chunk of a multiple of eight values: in AVX2 lanes where the build
/// has them.
#[inline(always)]
fn whole_first_largest(chunk: &[f32]) -> f32 {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    let m = avx2_first_largest(chunk);
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
    let m = first_largest(chunk);
    m
}

/// [`first_largest`] of `chunk` (a multiple of eight values) in AVX2: lane k keeps the first of
/// its values (k, k + 8, …) of the largest magnitude. When the lanes holding the largest
/// magnitude all hold the same value it is the chunk's first of it; when they disagree (a tie
/// of −a and a across lanes, rare) the chunk is read again in order.
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
#[inline(always)]
fn avx2_first_largest(chunk: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    // SAFETY: AVX2 is enabled for the whole build (the cfg above), and each load reads eight
    // f32 of `chunk` (unaligned loads).
    let (top, held, negative) = unsafe {
        let (mag, inf) = (_mm256_set1_epi32(MAG as i32), _mm256_set1_epi32(INF as i32));
        let (mut best, mut val) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        for block in chunk.chunks_exact(L) {
            let v = _mm256_loadu_si256(block.as_ptr().cast::<__m256i>());
            let m = _mm256_and_si256(v, mag);
            // [`magnitude`]: |v|'s bits where v is finite, else 0 (all below 2^31: the signed
            // compares are the unsigned ones).
            let m = _mm256_and_si256(m, _mm256_cmpgt_epi32(inf, m));
            let beats = _mm256_cmpgt_epi32(m, best);
            best = _mm256_blendv_epi8(best, m, beats);
            val = _mm256_blendv_epi8(val, v, beats);
        }
        // The largest magnitude in every lane, then which lanes hold it and their signs (in
        // registers: stored and read back lane by lane, the lanes waited on the stores).
        let h = _mm256_max_epu32(best, _mm256_permute2x128_si256::<1>(best, best));
        let h = _mm256_max_epu32(h, _mm256_shuffle_epi32::<0b01_00_11_10>(h));
        let top = _mm256_max_epu32(h, _mm256_shuffle_epi32::<0b10_11_00_01>(h));
        let held = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(best, top)));
        let negative = _mm256_movemask_ps(_mm256_castsi256_ps(val));
        (_mm256_cvtsi256_si32(top) as u32, held, negative)
    };
    if top == 0 {
        return 0.0;
    }
    // The lanes holding the largest magnitude hold ±top: one sign is the chunk's first value
    // of it; both signs are a tie across lanes, whose first only the chunk's order tells.
    let (minus, plus) = ((held & negative) as u32, (held & !negative) as u32);
    // Both signs held (lane masks below 2^8: the product is 0 unless both are not). Written
    // so the test is one rarely taken branch and the sign a select: either sign is as likely,
    // and a branch on it was mispredicted half the time (natively, Q4_0's plan took twice as
    // long).
    if minus * plus != 0 {
        return first_of_largest(chunk);
    }
    f32::from_bits(top | (u32::from(minus != 0) << 31))
}

/// [`finite_min_max`] of each consecutive `len`-value chunk of `values` (the last may be
/// shorter), appended to `out`: the same numbers, bit for bit (±0 included). Natively with AVX2
/// a chunk of a multiple of eight values runs the same eight lanes as [`lanes_min_max`] in one
/// register each — `minps(x, y)` is `x < y ? x : y`, the lanes' compare-and-select — and the
/// same tree of pairs, without a call per chunk (per block, the calls were a sixth of a Q4_0
/// analysis natively).
pub fn finite_min_maxes(values: &[f32], len: usize, out: &mut Vec<Option<(f32, f32)>>) {
    each_chunk(values, len, out, whole_min_max, finite_min_max);
}

/// [`finite_min_max`] of a chunk of a multiple of eight values: in AVX2 lanes where the build
/// has them.
#[inline(always)]
fn whole_min_max(chunk: &[f32]) -> Option<(f32, f32)> {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    let range = {
        let (lo, hi) = avx2_min_max(chunk);
        (lo <= hi).then_some((lo, hi))
    };
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
    let range = finite_min_max(chunk);
    range
}

/// [`lanes_min_max`] of `chunk` (a multiple of eight values, no tail) in AVX2.
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
#[inline(always)]
fn avx2_min_max(chunk: &[f32]) -> (f32, f32) {
    use std::arch::x86_64::*;
    // SAFETY: AVX2 is enabled for the whole build (the cfg above); each load reads eight f32 of
    // `block` (unaligned).
    unsafe {
        let inf = _mm256_set1_ps(f32::INFINITY);
        let neg_inf = _mm256_set1_ps(f32::NEG_INFINITY);
        let mag = _mm256_castsi256_ps(_mm256_set1_epi32(MAG as i32));
        let (mut l, mut h) = (inf, neg_inf);
        for block in chunk.chunks_exact(L) {
            let v = _mm256_loadu_ps(block.as_ptr());
            // Finite: |v| < ∞ (false for NaN); the others +∞ for the least, −∞ for the greatest.
            let ok = _mm256_cmp_ps::<_CMP_LT_OQ>(_mm256_and_ps(v, mag), inf);
            let low = _mm256_blendv_ps(inf, v, ok);
            let high = _mm256_blendv_ps(neg_inf, v, ok);
            // `if low < lo { low } else { lo }` and `if high > hi { high } else { hi }`.
            l = _mm256_min_ps(low, l);
            h = _mm256_max_ps(high, h);
        }
        // `first_least` and `first_greatest`'s tree of pairs in the registers (stored and
        // reduced one lane at a time, Q4_1's plan took 0.194 ms at 1M values, now 0.167; best
        // of 500, three alternating runs alike): at each level lane a takes its partner b as
        // `if b < a { b } else { a }`, which is `min_ps(b, a)` — pairs (0, 1) …, then (0, 2)
        // and (4, 6), then (0, 4); lane 0 holds the result.
        let tree = |x: __m256, pick: fn(__m256, __m256) -> __m256| {
            let x = pick(_mm256_permute_ps::<0b10_11_00_01>(x), x);
            let x = pick(_mm256_permute_ps::<0b01_00_11_10>(x), x);
            _mm256_cvtss_f32(pick(_mm256_permute2f128_ps::<1>(x, x), x))
        };
        (
            tree(l, |a, b| _mm256_min_ps(a, b)),
            tree(h, |a, b| _mm256_max_ps(a, b)),
        )
    }
}

/// The bits of |v| where v is finite, else 0.
#[inline(always)]
fn magnitude(v: f32) -> u32 {
    let m = v.to_bits() & MAG;
    if m < INF {
        m
    } else {
        0
    }
}

const MAG: u32 = 0x7FFF_FFFF;
const INF: u32 = 0x7F80_0000;

#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
fn lanes_abs_max(blocks: &mut std::slice::ChunksExact<'_, f32>) -> [u32; L] {
    let mut acc = [0u32; L];
    for block in blocks.by_ref() {
        for k in 0..L {
            acc[k] = acc[k].max(magnitude(block[k]));
        }
    }
    acc
}

#[cfg(target_arch = "wasm32")]
#[inline(always)]
fn lanes_abs_max(blocks: &mut std::slice::ChunksExact<'_, f32>) -> [u32; L] {
    use core::arch::wasm32::*;
    let (mag, inf) = (u32x4_splat(MAG), u32x4_splat(INF));
    let mut acc = [u32x4_splat(0); 2];
    for block in blocks.by_ref() {
        for (h, a) in acc.iter_mut().enumerate() {
            // SAFETY: as in `lanes_min_max`.
            let v = unsafe { v128_load(block.as_ptr().add(4 * h).cast::<v128>()) };
            let m = v128_and(v, mag);
            *a = u32x4_max(*a, v128_and(m, u32x4_lt(m, inf)));
        }
    }
    let mut a = [0u32; L];
    // SAFETY: two 16-byte stores inside an 8-lane array.
    unsafe {
        v128_store(a.as_mut_ptr().cast::<v128>(), acc[0]);
        v128_store(a.as_mut_ptr().add(4).cast::<v128>(), acc[1]);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn skips_non_finite() {
        assert_eq!(
            finite_min_max(&[f32::NAN, 2.0, -1.0, f32::INFINITY]),
            Some((-1.0, 2.0))
        );
        assert_eq!(finite_min_max(&[f32::NAN]), None);
        assert_eq!(finite_min_max(&[]), None);
        assert_eq!(finite_min_max(&[3.0]), Some((3.0, 3.0)));
        let mut long: Vec<f32> = (0..100).map(|i| i as f32 - 50.0).collect();
        long[3] = f32::NEG_INFINITY;
        long[17] = f32::NAN;
        long[98] = f32::INFINITY;
        assert_eq!(finite_min_max(&long), Some((-50.0, 49.0)));
    }

    /// `len` values drawn from the awkward ones (NaN of both signs, ±Inf, ±0, subnormals, ±MAX,
    /// ties) by a xorshift on `state`.
    fn odd_values(len: usize, state: &mut u32) -> Vec<f32> {
        const ODD: [f32; 15] = [
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -0.0,
            0.0,
            f32::MIN_POSITIVE,
            -1e-45,
            1e-45,
            f32::MAX,
            -f32::MAX,
            -3.5,
            2.25,
            7.0,
            -7.0,
        ];
        (0..len)
            .map(|_| {
                *state ^= *state << 13;
                *state ^= *state >> 17;
                *state ^= *state << 5;
                ODD[*state as usize % ODD.len()]
            })
            .collect()
    }

    /// Both scans give what a plain fold of the same compares gives, bit for bit (±0: the first
    /// of equal values in its lane; lanes in order) — natively and in wasm32's SIMD128 form.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn scans_equal_a_plain_fold_bit_for_bit() {
        let mut state = 0x2545_F491u32;
        for len in 0..70 {
            for _ in 0..20 {
                let v = odd_values(len, &mut state);
                // Lane by lane, then the lanes in order.
                let mut lo = [f32::INFINITY; L];
                let mut hi = [f32::NEG_INFINITY; L];
                let whole = len / L * L;
                for (i, &x) in v.iter().enumerate() {
                    let k = if i < whole { i % L } else { 0 };
                    if x.is_finite() && x < lo[k] {
                        lo[k] = x;
                    }
                    if x.is_finite() && x > hi[k] {
                        hi[k] = x;
                    }
                }
                let lo = lo
                    .into_iter()
                    .fold(f32::INFINITY, |a, b| if b < a { b } else { a });
                let hi = hi
                    .into_iter()
                    .fold(f32::NEG_INFINITY, |a, b| if b > a { b } else { a });
                let want = (lo <= hi).then_some((lo.to_bits(), hi.to_bits()));
                let got = finite_min_max(&v).map(|(a, b)| (a.to_bits(), b.to_bits()));
                assert_eq!(got, want, "{v:?}");
                let abs = v
                    .iter()
                    .filter(|x| x.is_finite())
                    .map(|x| x.to_bits() & MAG)
                    .max()
                    .unwrap_or(0);
                assert_eq!(finite_abs_max(&v).to_bits(), abs, "{v:?}");
            }
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn abs_max_is_the_bound_of_the_min_max_range() {
        let mut state = 0x9E37_79B9u32;
        for len in 0..40 {
            let v = odd_values(len, &mut state);
            let want = finite_min_max(&v).map_or(0.0, |(lo, hi)| lo.abs().max(hi.abs()));
            assert_eq!(finite_abs_max(&v).to_bits(), want.to_bits(), "{v:?}");
        }
    }

    /// The per-chunk bounds (AVX2 lanes natively where the build has them) equal a plain fold
    /// over each chunk, bit for bit: chunk lengths that are and are not multiples of eight, a
    /// short last chunk, special values mixed with arbitrary bit patterns.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn chunk_bounds_equal_a_plain_fold_per_chunk() {
        let mut state = 0x1234_5679u32;
        for len in [1, 7, 8, 16, 24, 32, 33, 64, 128] {
            for total in [0, len, 5 * len, 5 * len + 3, 40 * len + len / 2] {
                let mut v = odd_values(total, &mut state);
                for x in v.iter_mut() {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    // Three in four values: any bit pattern (every sign and exponent).
                    if state % 4 != 0 {
                        *x = f32::from_bits(state.rotate_left(7));
                    }
                }
                let mut got = Vec::new();
                finite_abs_maxes(&v, len, &mut got);
                let want: Vec<u32> = v
                    .chunks(len)
                    .map(|c| {
                        c.iter()
                            .filter(|x| x.is_finite())
                            .map(|x| x.to_bits() & MAG)
                            .max()
                            .unwrap_or(0)
                    })
                    .collect();
                let got: Vec<u32> = got.iter().map(|x| x.to_bits()).collect();
                assert_eq!(got, want, "chunks of {len}, {total} values");
            }
        }
    }

    /// Runs `check(values, len, label)` over chunks of 1 to 64 values, 0 to 60 chunks (a short
    /// last one among them), and three kinds of values: half arbitrary bit patterns among the
    /// odd ones, then the values of `palettes[0]`, then those of `palettes[1]`.
    fn chunked_cases(
        mut state: u32,
        palettes: [&[f32]; 2],
        mut check: impl FnMut(&[f32], usize, &str),
    ) {
        for len in [1, 7, 8, 16, 24, 32, 33, 64] {
            for total in [0, len, 5 * len + 3, 60 * len] {
                for mode in 0..3 {
                    let mut v = odd_values(total, &mut state);
                    for x in v.iter_mut() {
                        state ^= state << 13;
                        state ^= state >> 17;
                        state ^= state << 5;
                        match mode {
                            0 if state % 2 != 0 => *x = f32::from_bits(state.rotate_left(11)),
                            1 | 2 => {
                                let p = palettes[mode - 1];
                                *x = p[state as usize % p.len()];
                            }
                            _ => {}
                        }
                    }
                    check(
                        &v,
                        len,
                        &format!("chunks of {len}, {total} values, mode {mode}"),
                    );
                }
            }
        }
    }

    /// The per-chunk ranges (AVX2 lanes natively where the build has them) equal
    /// `finite_min_max` of each chunk, bit for bit (which zero wins a tie included).
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn chunk_ranges_equal_the_range_of_each_chunk() {
        // Zeros of both signs as the least (then the greatest) value, so which of them wins
        // decides the bits.
        let palettes: [&[f32]; 2] = [
            &[0.0, -0.0, 2.5, f32::NAN],
            &[0.0, -0.0, -2.5, f32::INFINITY],
        ];
        chunked_cases(0x0BAD_5EED, palettes, |v, len, label| {
            let mut got = Vec::new();
            finite_min_maxes(v, len, &mut got);
            let bits = |r: Option<(f32, f32)>| r.map(|(a, b)| (a.to_bits(), b.to_bits()));
            let got: Vec<_> = got.into_iter().map(bits).collect();
            let want: Vec<_> = v.chunks(len).map(|c| bits(finite_min_max(c))).collect();
            assert_eq!(got, want, "{label}");
        });
    }

    /// The first value of the largest magnitude of each chunk (AVX2 lanes natively where the
    /// build has them) is llama.cpp's, bit for bit: its loop `if (amax < fabsf(v)) { amax =
    /// fabsf(v); max = v; }` over the finite values, written plainly here. Ties of −a and a
    /// in one lane and across lanes, in either order, and every other special value.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn first_largests_keep_llama_cpps_first_value_of_the_largest_magnitude() {
        let llama = |c: &[f32]| {
            let (mut amax, mut max) = (0f32, 0f32);
            for &v in c.iter().filter(|v| v.is_finite()) {
                if amax < v.abs() {
                    (amax, max) = (v.abs(), v);
                }
            }
            max
        };
        // ±a ties, of which only the order in the chunk tells the first.
        let palettes: [&[f32]; 2] = [
            &[3.0, -3.0, 1.0, -0.0, f32::NAN],
            &[-5.0, 5.0, f32::INFINITY, 0.0],
        ];
        chunked_cases(0x5EED_F00D, palettes, |v, len, label| {
            let mut got = Vec::new();
            first_largests(v, len, &mut got);
            let got: Vec<u32> = got.iter().map(|x| x.to_bits()).collect();
            let want: Vec<u32> = v.chunks(len).map(|c| llama(c).to_bits()).collect();
            assert_eq!(got, want, "{label}");
        });
    }
}
