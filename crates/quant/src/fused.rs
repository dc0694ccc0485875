//! The fused pass for many small groups and for the block formats: quantize, measure and bin
//! every value of a span, LANES values at a time, with one set of counters for all the groups.
//!
//! ```text
//! for each chunk (group g, values range):          kernel = the group's coder (its scale, offset)
//!   for each block of LANES values r:              (branch-free, so the compiler vectorises it)
//!     (code, r̂, clipped) = kernel(r)               finite r only; NaN/±Inf lanes are masked
//!     ok = r̂ finite                                 else the value counts as overflowed
//!     error sums += (r, r̂) where ok                 lane counters: n, clipped, overflowed
//!     code table[code] += 1, bins[bin(r̂)] += 1      two interleaved copies + a spare slot
//! ```
//! The per-tensor integer pass (`analyze::fused_chunk`) bins the reconstructions from per-group
//! code tables instead; that is cheaper for a few large groups and impossible for 500,000 small
//! ones, which is where this pass takes over. The element coders here are branch-free forms of
//! the formats' reference arithmetic — [`MiniFloatCoder`] of [`MiniFloat::encode`], the GGML
//! coders of [`Element::encode`] — tested equal to them bit for bit.

use crate::affine::{int_of, AffineParams, Coder};
use crate::analysis::Block;
use crate::format::Element;
use crate::histogram::Binner;
use crate::metrics::{ErrorAccumulator, LANES};
use crate::minifloat::MiniFloat;

#[cfg(target_arch = "wasm32")]
mod simd;
#[cfg(target_arch = "wasm32")]
pub(crate) use simd::int_chunk;

/// A kernel the fast path takes: in WebAssembly one with a SIMD128 form, natively any (the
/// portable form, which the compiler vectorises there).
#[cfg(target_arch = "wasm32")]
pub(crate) trait FastKernel: simd::SimdKernel {}
#[cfg(target_arch = "wasm32")]
impl<K: simd::SimdKernel> FastKernel for K {}
#[cfg(not(target_arch = "wasm32"))]
pub(crate) trait FastKernel: Kernel {}
#[cfg(not(target_arch = "wasm32"))]
impl<K: Kernel> FastKernel for K {}

/// LANES values side by side: the pass is written as short loops over these, one operation
/// each, which the compiler turns into vector instructions (one long loop body per lane it left
/// as a scalar loop — measured: 16 ns a value for MXFP4, natively, before this form).
pub(crate) type Lanes<T> = [T; LANES];

/// What the pass needs of a group: its values → (code index, r̂, clipped), branch-free.
pub(crate) trait Kernel: Copy {
    fn code(&self, r: &Lanes<f32>) -> (Lanes<u32>, Lanes<f32>, Lanes<bool>);

    /// What decides the group's decoding, code → r̂: groups with the same key reconstruct every
    /// code alike, so their values can be counted by code and binned once per code (see
    /// [`Tally`]). `None` where the kernel cannot decode a code by itself.
    fn key(&self) -> Option<[u32; 3]> {
        None
    }

    /// The r̂ of code index `code`, bit for bit what [`code`](Self::code) returns with it (only
    /// asked of kernels with a [`key`](Self::key)).
    fn recon(&self, code: u32) -> f32 {
        let _ = code;
        f32::NAN
    }
}

/// The integer quantizer of one group (see [`crate::affine`]), with its rounding.
#[derive(Clone, Copy)]
pub(crate) struct IntKernel<R> {
    pub coder: Coder,
    pub params: AffineParams,
    pub round: R,
    /// The mode `round` implements (the SIMD form switches on it).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub rounding: crate::config::Rounding,
}

#[cfg(target_arch = "wasm32")]
impl<R: Fn(f32) -> f32 + Copy> simd::SimdKernel for IntKernel<R> {
    #[inline(always)]
    fn code_v(&self, r: simd::V) -> (simd::V, simd::V, simd::V) {
        simd::IntV {
            coder: self.coder,
            qmin: self.params.qmin,
            rounding: self.rounding,
        }
        .code_v(r)
    }
}

impl<R: Fn(f32) -> f32 + Copy> Kernel for IntKernel<R> {
    #[inline(always)]
    fn code(&self, r: &Lanes<f32>) -> (Lanes<u32>, Lanes<f32>, Lanes<bool>) {
        let (q, r_hat, clipped) = self.coder.code_lanes(r, self.round);
        let mut code = [0u32; LANES];
        for k in 0..LANES {
            code[k] = q[k].wrapping_sub(self.params.qmin) as u32;
        }
        (code, r_hat, clipped)
    }

    fn key(&self) -> Option<[u32; 3]> {
        let c = &self.coder;
        Some([
            self.params.qmin as u32,
            c.scale.to_bits(),
            c.zero_point.to_bits(),
        ])
    }

    /// `Coder::code_lanes`'s r̂ = (q − Z) · S of q = code + qmin (an integer below 2^17: exact).
    fn recon(&self, code: u32) -> f32 {
        let q = (code as i32).wrapping_add(self.params.qmin) as f32;
        (q - self.coder.zero_point) * self.coder.scale
    }
}

/// An element coder in the element domain: scaled value → (code, level, clipped).
pub(crate) trait ElementCoder: Copy {
    fn encode(&self, x: f32) -> (u32, f32, bool);

    /// The level of `code`, as [`encode`](Self::encode) returns it with that code (±0 aside:
    /// both reconstruct and bin alike); `None` for coders without a decoding.
    fn level(&self, code: u32) -> Option<f32> {
        let _ = code;
        None
    }

    /// [`encode`](Self::encode) of LANES values (coders with a vector form override it).
    #[inline(always)]
    fn encode_lanes(&self, x: &Lanes<f32>) -> (Lanes<u32>, Lanes<f32>, Lanes<bool>) {
        let (mut code, mut level, mut clipped) = ([0u32; LANES], [0f32; LANES], [false; LANES]);
        for k in 0..LANES {
            (code[k], level[k], clipped[k]) = self.encode(x[k]);
        }
        (code, level, clipped)
    }
}

/// An element coder by reference: the gathered runs of the fused pass copy each chunk's kernel,
/// and a minifloat coder's constants are the same for every chunk (natively NVFP4, a chunk per
/// 16 values, 2.14 → 2.03 ms at 1M by reference).
impl<E: ElementCoder> ElementCoder for &E {
    #[inline(always)]
    fn encode(&self, x: f32) -> (u32, f32, bool) {
        (**self).encode(x)
    }

    #[inline(always)]
    fn level(&self, code: u32) -> Option<f32> {
        (**self).level(code)
    }

    #[inline(always)]
    fn encode_lanes(&self, x: &Lanes<f32>) -> (Lanes<u32>, Lanes<f32>, Lanes<bool>) {
        (**self).encode_lanes(x)
    }
}

/// A block of a scalar format: scale (dividing, or multiplying when `MUL`), element, rescale —
/// the arithmetic of [`Block::scaled`] and [`Block::real_from_level`]. The block by reference:
/// gathered into runs, a copy of its scaling (20 bytes, built field by field on the stack) was
/// read back with loads that missed store forwarding — a third of Q4_1's gathering, natively.
#[derive(Clone, Copy)]
pub(crate) struct BlockKernel<'b, E, const MUL: bool> {
    pub element: E,
    pub block: &'b Block,
}

impl<E: ElementCoder, const MUL: bool> Kernel for BlockKernel<'_, E, MUL> {
    #[inline(always)]
    fn code(&self, r: &Lanes<f32>) -> (Lanes<u32>, Lanes<f32>, Lanes<bool>) {
        let b = &self.block;
        let mut x = [0f32; LANES];
        for k in 0..LANES {
            x[k] = if MUL {
                (r[k] - b.enc_offset) * b.enc_scale
            } else {
                (r[k] - b.enc_offset) / b.enc_scale
            };
        }
        let (code, mut level, clipped) = self.element.encode_lanes(&x);
        for v in &mut level {
            *v = *v * b.dec_scale + b.dec_offset;
        }
        (code, level, clipped)
    }

    fn key(&self) -> Option<[u32; 3]> {
        self.element.level(0).map(|_| block_key(self.block))
    }

    fn recon(&self, code: u32) -> f32 {
        let b = &self.block;
        self.element
            .level(code)
            .map_or(f32::NAN, |l| l * b.dec_scale + b.dec_offset)
    }
}

/// What makes blocks of one element coder decode alike: the coder's index, the scale and the
/// offset ([`Kernel::key`] of a [`BlockKernel`]).
pub(crate) fn block_key(b: &Block) -> [u32; 3] {
    [
        b.element as u32,
        b.dec_scale.to_bits(),
        b.dec_offset.to_bits(),
    ]
}

/// [`MiniFloat::encode`] with its constants computed once and both of its branches computed and
/// selected, so a block of them vectorises. Same results bit for bit (tested).
#[derive(Clone, Copy, Debug)]
pub(crate) struct MiniFloatCoder {
    max: f32,
    min_normal: f32,
    step: f32,
    inv_step: f32,
    drop: u32,
    bias: i32,
    man: u32,
    man_mask: u32,
    sign: u32,
    /// (1 << (drop − 1)) − 1 and !((1 << drop) − 1), the rounding's constants, and bias − 127:
    /// stored rather than made from `drop` and `bias` in each block (natively the blocks of
    /// MXFP8 computed them anew each time from the coder, which they read by reference).
    round_half: u32,
    keep: u32,
    rebias: i32,
}

pub(crate) use crate::affine::{max_nan_last, min_nan_last};

/// 2^23 (bit pattern 0x4B00_0000): adding and removing it rounds a value in [0, 2^22] to an
/// integer, half to even, as `MiniFloat::encode` does.
pub(crate) const TWO_23: f32 = 8_388_608.0;

impl MiniFloatCoder {
    pub fn new(f: MiniFloat) -> Self {
        let bias = f.bias();
        let man = f.man_bits;
        let pow2 = |e: i32| f32::from_bits(((e + 127) as u32) << 23);
        let step = pow2(1 - bias - man as i32);
        Self {
            max: f.max_value(),
            min_normal: pow2(1 - bias),
            step,
            inv_step: 1.0 / step,
            drop: 23 - man,
            bias,
            man,
            man_mask: (1 << man) - 1,
            sign: f.sign_bit(),
            round_half: (1 << (22 - man)) - 1,
            keep: !((1u32 << (23 - man)) - 1),
            rebias: bias - 127,
        }
    }
}

impl ElementCoder for MiniFloatCoder {
    /// The inverse of `encode`'s code: sign | exponent << M | mantissa; exponent 0 is
    /// subnormal (mantissa · step), any other the f32 with that exponent and mantissa.
    fn level(&self, code: u32) -> Option<f32> {
        let magnitude = code & !self.sign;
        let (exp, mantissa) = (magnitude >> self.man, magnitude & self.man_mask);
        let value = if exp == 0 {
            mantissa as f32 * self.step
        } else {
            let e = (exp as i32 - self.bias + 127) as u32;
            f32::from_bits((e << 23) | (mantissa << self.drop))
        };
        Some(if code & self.sign != 0 { -value } else { value })
    }

    #[inline(always)]
    fn encode(&self, x: f32) -> (u32, f32, bool) {
        let clipped = x.abs() > self.max;
        let a = min_nan_last(x.abs(), self.max);
        // Subnormal: a / step (a power of two: the product is the same number) rounded to even.
        let k = (a * self.inv_step + TWO_23) - TWO_23;
        let sub_code = (k + TWO_23).to_bits().wrapping_sub(TWO_23.to_bits());
        let sub_value = k * self.step;
        // Normal: round the f32 mantissa to M bits, ties to even.
        let bits = a.to_bits();
        let lsb = (bits >> self.drop) & 1;
        let rounded = (bits + (1 << (self.drop - 1)) - 1 + lsb) & !((1u32 << self.drop) - 1);
        let exp = ((rounded >> 23) as i32 - 127 + self.bias) as u32;
        let norm_code = (exp << self.man) | ((rounded >> self.drop) & self.man_mask);
        let norm_value = f32::from_bits(rounded);
        let subnormal = a < self.min_normal;
        let code = if subnormal { sub_code } else { norm_code };
        let value = if subnormal { sub_value } else { norm_value };
        let negative = x.to_bits() >> 31 != 0;
        (
            if negative { code | self.sign } else { code },
            if negative { -value } else { value },
            clipped,
        )
    }

    #[inline(always)]
    fn encode_lanes(&self, x: &Lanes<f32>) -> (Lanes<u32>, Lanes<f32>, Lanes<bool>) {
        self.lanes(x)
    }
}

impl MiniFloatCoder {
    /// [`ElementCoder::encode`] of LANES values, step by step.
    #[inline(always)]
    fn lanes(&self, x: &Lanes<f32>) -> (Lanes<u32>, Lanes<f32>, Lanes<bool>) {
        let (mut a, mut clipped) = ([0f32; LANES], [false; LANES]);
        for k in 0..LANES {
            let ax = x[k].abs();
            clipped[k] = ax > self.max;
            a[k] = min_nan_last(ax, self.max);
        }
        let (mut sub_code, mut sub_value) = ([0u32; LANES], [0f32; LANES]);
        for k in 0..LANES {
            let q = (a[k] * self.inv_step + TWO_23) - TWO_23;
            sub_code[k] = (q + TWO_23).to_bits().wrapping_sub(TWO_23.to_bits());
            sub_value[k] = q * self.step;
        }
        let mut rounded = [0u32; LANES];
        for k in 0..LANES {
            let bits = a[k].to_bits();
            let lsb = (bits >> self.drop) & 1;
            rounded[k] = (bits + self.round_half + lsb) & self.keep;
        }
        // Both results are selected with bit masks, not `if`: with `if` the compiler branched on
        // each lane (measured: FP4, half of whose values are subnormal, ran at 11 ns a value).
        let mut code = [0u32; LANES];
        let mut value = [0f32; LANES];
        for k in 0..LANES {
            let exp = ((rounded[k] >> 23) as i32 + self.rebias) as u32;
            let norm_code = (exp << self.man) | ((rounded[k] >> self.drop) & self.man_mask);
            let sub = u32::from(a[k] < self.min_normal).wrapping_neg();
            let negative = ((x[k].to_bits() as i32) >> 31) as u32;
            code[k] = ((sub_code[k] & sub) | (norm_code & !sub)) | (negative & self.sign);
            let magnitude = (sub_value[k].to_bits() & sub) | (rounded[k] & !sub);
            value[k] = f32::from_bits(magnitude | (negative & 0x8000_0000));
        }
        (code, value, clipped)
    }
}

/// GGML Q8_0's element, as [`Element::encode`]: roundf (half away from zero), codes −127…127.
#[derive(Clone, Copy)]
pub(crate) struct Q8_0Coder;

impl ElementCoder for Q8_0Coder {
    /// Codes are the level's two's-complement byte.
    fn level(&self, code: u32) -> Option<f32> {
        Some(f32::from(code as u8 as i8))
    }

    #[inline(always)]
    fn encode(&self, x: f32) -> (u32, f32, bool) {
        // x = v · (1/d) with |v| ≤ the block's amax: |x| ≤ 127, in the helper's exact range.
        // roundf keeps the sign of a zero result (−0.4 → −0.0); the magic-number rounding does not.
        let q = crate::affine::round_half_away(x)
            .copysign(x)
            .clamp(-127.0, 127.0);
        ((int_of(q) as u32) & 0xFF, q, x.abs() > 127.5)
    }

    /// `encode`'s steps in a form the compiler vectorises: roundf as the truncation of x plus
    /// the largest f32 below one half, signed as x (exact for every f32: the sum rounds up to
    /// the next integer exactly when x's fraction is at least one half, ties included, and
    /// truncation keeps the sign of a zero result as roundf does), then the clamp as two
    /// compares; NaN passes through as in `encode`. Natively `trunc` is one instruction (SSE4.1):
    /// four vector instructions in all, where the steps it replaced — a magic-number rounding,
    /// then ±1 where a tie rounds away from the even result and x's sign or-ed in — compiled to
    /// twelve (Q8_0 at 1M values: see docs/performance.md).
    #[inline(always)]
    fn encode_lanes(&self, x: &Lanes<f32>) -> (Lanes<u32>, Lanes<f32>, Lanes<bool>) {
        const SIGN: u32 = 0x8000_0000;
        // 0.5 − 2^−25.
        const BELOW_HALF: f32 = 0.499_999_97;
        let (mut code, mut level, mut clipped) = ([0u32; LANES], [0f32; LANES], [false; LANES]);
        for k in 0..LANES {
            let half = f32::from_bits(BELOW_HALF.to_bits() | (x[k].to_bits() & SIGN));
            let q = (x[k] + half).trunc();
            let q = if q < -127.0 { -127.0 } else { q };
            level[k] = if q > 127.0 { 127.0 } else { q };
        }
        for k in 0..LANES {
            code[k] = (int_of(level[k]) as u32) & 0xFF;
            clipped[k] = x[k].abs() > 127.5;
        }
        (code, level, clipped)
    }
}

/// GGML Q4_0 / Q4_1's element: `min(15, (int8_t)(x + bias))` with bias 8.5 (level q − 8) or 0.5
/// (level q). Truncation then clamping to [0, 15] is flooring the sum clamped at 0: equal for every
/// finite x, and for NaN (0, not clipped) as C's cast gives here.
#[derive(Clone, Copy)]
pub(crate) struct Q4Coder {
    pub bias: f32,
    pub level_offset: f32,
}

// `y >= 16 || y < 0` rather than `!(0.0..16.0).contains(&y)`: NaN must not count as clipped.
#[allow(clippy::manual_range_contains)]
impl ElementCoder for Q4Coder {
    fn level(&self, code: u32) -> Option<f32> {
        Some(code as f32 - self.level_offset)
    }

    #[inline(always)]
    fn encode(&self, x: f32) -> (u32, f32, bool) {
        let y = x + self.bias;
        // |x| ≤ 8 (Q4_0) or ≤ 15 (Q4_1) in a block: y lies in the helper's exact range.
        let q = min_nan_last(crate::affine::floor(max_nan_last(y, 0.0)), 15.0);
        (
            int_of(q) as u32,
            q - self.level_offset,
            y >= 16.0 || y < 0.0,
        )
    }

    #[inline(always)]
    fn encode_lanes(&self, x: &Lanes<f32>) -> (Lanes<u32>, Lanes<f32>, Lanes<bool>) {
        let (mut code, mut level, mut clipped) = ([0u32; LANES], [0f32; LANES], [false; LANES]);
        let mut y = [0f32; LANES];
        for k in 0..LANES {
            let yk = x[k] + self.bias;
            clipped[k] = (yk >= 16.0) | (yk < 0.0);
            // Clamped before the floor rather than after: the same for every y (15 is an
            // integer), and the floor's argument then lies in its domain.
            y[k] = min_nan_last(max_nan_last(yk, 0.0), 15.0);
        }
        let q = crate::affine::floor_lanes(&y);
        for k in 0..LANES {
            code[k] = q[k];
            level[k] = q[k] as i32 as f32 - self.level_offset;
        }
        (code, level, clipped)
    }
}

/// Any other element, coded one value at a time by its reference code (no vector form).
#[derive(Clone, Copy)]
pub(crate) struct AnyCoder<'a>(pub &'a Element);

impl ElementCoder for AnyCoder<'_> {
    #[inline(always)]
    fn encode(&self, x: f32) -> (u32, f32, bool) {
        self.0.encode(x)
    }
}

/// Blocks of indices buffered before counting (natively: the scattered increments stay out of
/// the vector code; in WebAssembly counting at once measured faster, see `analyze::fused_chunk`).
/// Blocks of LANES values whose table indices the buffer holds (natively: counting them in a
/// tight loop apart from the vector code measured faster; in WebAssembly counting at once is).
const BATCH: usize = 64;
const BUFFERED: bool = !cfg!(target_arch = "wasm32");

/// Chunks gathered into one run at most (see [`Tally::gather`]).
const RUN: usize = 64;

/// How a run's blocks are counted (the `BY` parameter of the counting loops): each code in its
/// key's table, or by value — each code and each r̂'s bin in tables apart (two increments a
/// value), or each (code, bin) pair in one table (see [`Tally::pairs`]).
const BY_KEY: u8 = 0;
const BY_VALUE: u8 = 1;
const BY_PAIR: u8 = 2;

/// By-value counting takes the table of (code, bin) pairs when it has at most this many
/// entries a copy (256 KiB): a 256-code format with the page's 160 bins has 41,216.
const MAX_PAIRS: usize = 1 << 16;

/// Calls a counting loop (`run_blocks`, `run_simd`) with the const parameters a run takes:
/// `CHECK` unless every value is finite, and `BY` from whether the run is keyed and the tally
/// counts by value in pairs — one `match`, so the portable and the SIMD128 dispatch agree.
macro_rules! by_mode {
    ($tally:ident . $run:ident :: <$k:ty>($r:expr, $b:expr), $keyed:expr, $all_finite:expr) => {
        match ($keyed, $tally.pairs, $all_finite) {
            (true, _, true) => $tally.$run::<$k, false, BY_KEY>($r, $b),
            (true, _, false) => $tally.$run::<$k, true, BY_KEY>($r, $b),
            (false, true, true) => $tally.$run::<$k, false, BY_PAIR>($r, $b),
            (false, true, false) => $tally.$run::<$k, true, BY_PAIR>($r, $b),
            (false, false, true) => $tally.$run::<$k, false, BY_VALUE>($r, $b),
            (false, false, false) => $tally.$run::<$k, true, BY_VALUE>($r, $b),
        }
    };
}

/// A gathered chunk: its values, its kernel and the tables it is counted in.
type Gathered<'v, K> = (&'v [f32], K, Tables);

/// What [`Tally::lookup`] found of a chunk's key.
enum Found {
    ByValue,
    Key(u32),
    /// Met first now: the key, its hash and the free slot where it goes.
    New {
        key: [u32; 3],
        hash: u32,
        slot: usize,
    },
}

/// The counters a run of blocks writes to (see [`Tally::counter`]), its buffer position in a
/// local so the compiler keeps it in a register.
struct Counter<'t> {
    codes: &'t mut [u32],
    bins: &'t mut [u32],
    keyed_counts: &'t mut [u32],
    code_buf: &'t mut [u32],
    bin_buf: &'t mut [u32],
    used: usize,
}

impl Counter<'_> {
    /// Counts a block's table indices, at once or through the buffer (see [`BUFFERED`]; the run
    /// was given room for them), as `BY` says: the keyed table's codes, the by-value tables'
    /// codes and bins, or the pair table's pairs (in `codes`).
    #[inline(always)]
    fn push<const BY: u8>(&mut self, codes: &[u32; LANES], bins: &[u32; LANES]) {
        if !BUFFERED {
            for k in 0..LANES {
                match BY {
                    BY_KEY => self.keyed_counts[codes[k] as usize] += 1,
                    BY_VALUE => {
                        self.codes[codes[k] as usize] += 1;
                        self.bins[bins[k] as usize] += 1;
                    }
                    _ => self.codes[codes[k] as usize] += 1,
                }
            }
            return;
        }
        let at = self.used;
        self.code_buf[at..at + LANES].copy_from_slice(codes);
        if BY == BY_VALUE {
            self.bin_buf[at..at + LANES].copy_from_slice(bins);
        }
        self.used += LANES;
    }
}

/// Where one block's lanes are counted: lane k's code at `code_base + (k & 1)·n_codes + code`
/// (two interleaved copies), a masked lane at `code_spare`; and, when the pass bins each value,
/// its bin at `(k & 1)·n_bins + bin` of the reconstruction histogram (spare slot `2·n_bins`).
#[derive(Clone, Copy)]
pub(crate) struct Tables {
    pub code_base: u32,
    pub n_codes: u32,
    pub code_spare: u32,
    pub n_bins: u32,
}

/// Formats of at most this many codes are counted by key in registers (see
/// [`Tally::run_nibbles`]).
const NIBBLES: usize = 16;

/// Whether keyed runs of at most [`NIBBLES`] codes are counted in registers
/// ([`Tally::run_nibbles`]) on this core: the same counts either way (tested), but which is
/// faster differs between the two cores this was measured on, at 1M values natively. On an AMD
/// EPYC core (AVX-512) the 4-bit counters took the buffer's scattered increments off the
/// critical path: MXFP4 1.60 → 1.37 ms, int4-g32 1.77 → 1.53, Q4_0 2.02 → 1.83, int4-g128 1.23 →
/// 1.03. On an Intel Xeon core (AVX-512) the buffer was the faster, its increments cheap and
/// the counters' additions to each key's table not: MXFP4 2.52 → 2.31 ms, int4-g32 2.68 →
/// 2.38, Q4_0 2.79 → 2.52, int4-g128 2.10 → 1.94 (min of 60, three runs alternating; 32-bit
/// counters, to keep the lanes out of 512-bit registers, were slower still). So the vendor
/// decides on x86-64; elsewhere (not measured) the buffer. WebAssembly uses neither: it counts
/// by key at once.
fn counts_in_registers() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static AMD_OR_OTHER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *AMD_OR_OTHER.get_or_init(|| {
            let id = std::arch::x86_64::__cpuid(0);
            let intel =
                [id.ebx, id.edx, id.ecx] == [*b"Genu", *b"ineI", *b"ntel"].map(u32::from_le_bytes);
            !intel
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Adds the code counts of `nibbles` (lane k's count of code c in bits 4c..4c + 4) to `table`
/// (a key's codes, at most [`NIBBLES`]):
/// the even codes' and the odd codes' counters spread to bytes first, so the eight lanes sum
/// without carrying into each other (8 · 15 < 256).
#[inline(always)]
fn add_nibbles(nibbles: &[u64; LANES], table: &mut [u32]) {
    const LOW: u64 = 0x0F0F_0F0F_0F0F_0F0F;
    let (mut even, mut odd) = (0u64, 0u64);
    for &n in nibbles {
        even += n & LOW;
        odd += (n >> 4) & LOW;
    }
    for (c, t) in table.iter_mut().enumerate() {
        let bytes = if c % 2 == 0 { even } else { odd };
        *t += ((bytes >> (8 * (c / 2))) & 0xFF) as u32;
    }
}

/// A slot's bin for a code whose r̂ is not finite (counted as a code, not binned).
const NO_BIN: u32 = u32::MAX;

/// The counters of one pass.
///
/// Two ways to count, with the same totals (so chunks may use either):
/// - *by key*: groups whose kernels share a [`Kernel::key`] reconstruct each code alike, so the
///   pass counts (key, code) pairs only — one increment a value — and each key's codes are
///   decoded and binned once, when the key first comes, and folded at the end. MX blocks share a
///   handful of power-of-two scales, NVFP4 at most 256, a per-tensor group one, and 16-bit
///   scales (f16, bf16: Q4_0, int4 in groups) a few thousand over millions of values: binning
///   each value was a third of their pass (profiled natively: the binning and the second
///   increment).
/// - *by value*: each r̂ binned as it is made, for kernels without a decoding and wherever keys
///   keep coming about as often as values arrive (f32-scaled groups of 32, a 256-code format on
///   16-bit scales), when decoding every key would cost more than it saves.
pub(crate) struct Tally {
    lanes: Sums,
    blocks: u64,
    n_codes: usize,
    n_bins: usize,
    /// By value: two interleaved copies of the code table and a spare slot for masked lanes —
    /// or, with `pairs`, of the pair table.
    codes: Vec<u32>,
    /// The same for the reconstruction histogram (unused with `pairs`).
    bins: Vec<u32>,
    /// By value, each value's code and bin are counted as one pair: `n_codes` rows of
    /// `n_bins + 1` counters (the last for a code whose r̂ is not finite), folded into both
    /// tables at the end. One increment a value instead of two (natively, 1M values: Q4_1 1.77 →
    /// 1.64 ms, Q8_0 1.65 → 1.59; min of 5 × 150, alternating) — for formats with few enough
    /// codes (see [`MAX_PAIRS`]).
    pairs: bool,
    /// By key: the spare slot, then two copies of the code table per key (empty when off).
    keyed_counts: Vec<u32>,
    keyed: Option<Keyed>,
    /// Codes and bins folded from the keys' tables.
    code_total: Vec<u64>,
    bin_total: Vec<u64>,
    /// Table indices waiting to be counted (natively), how many, and whose they are.
    code_buf: Vec<u32>,
    bin_buf: Vec<u32>,
    used: usize,
    buf_keyed: bool,
    copies: Copies,
    /// Keyed runs of at most [`NIBBLES`] codes counted in 4-bit counters in registers
    /// ([`Tally::run_nibbles`]) rather than through the buffer (see [`counts_in_registers`]).
    registers: bool,
}

/// Each lane's offset to its copy of the code and bin tables: (k & 1) · n_codes and
/// (k & 1) · n_bins. Read from here rather than written as `(k & 1) * n` in the block, where
/// the compiler sees that even lanes add nothing and splits the block into even and odd halves
/// of four lanes, with the codes of a 256-code format made one lane at a time (natively, Q8_0:
/// a third of its pass).
#[derive(Clone, Copy)]
struct Copies {
    codes: [u32; LANES],
    bins: [u32; LANES],
    pairs: [u32; LANES],
}

impl Copies {
    fn new(n_codes: usize, n_bins: usize) -> Self {
        let of = |n: usize| std::array::from_fn(|k| (k & 1) as u32 * n as u32);
        Self {
            codes: of(n_codes),
            bins: of(n_bins),
            pairs: of(n_codes * (n_bins + 1)),
        }
    }
}

/// The sums and lane counters, copied into locals for each chunk so the compiler keeps them in
/// registers.
#[derive(Clone, Copy, Default)]
struct Sums {
    acc: ErrorAccumulator,
    n: [u32; LANES],
    clipped: [u32; LANES],
    overflowed: [u32; LANES],
}

/// The keys of counting by key (see [`Tally`]): every key met, numbered in order of arrival.
struct Keyed {
    /// Open addressing: slot → 1 + the number of the key there (0: free); a power of two, at
    /// least twice `max_keys`.
    slots: Vec<u32>,
    keys: Vec<[u32; 3]>,
    /// The bin of each key's codes' r̂ (keys × n_codes), [`NO_BIN`] where it is not finite.
    bin_of: Vec<u32>,
    /// A direct-mapped cache in front of `slots`: 8,192 entries of key and number ([`FREE`]
    /// where empty, 128 KiB), checked first. A lookup comes with every block scale — every 16
    /// values for NVFP4 — and one compare there is cheaper than the probe through `slots` to
    /// `keys`. 16-bit scales of 32-value groups bring ~1,700 keys a million values, which 256
    /// entries mostly missed (natively, int4-g32 at 1M values: 4.28 → 3.71 ms, min of 7), and
    /// 2,048 often enough that the dependent loads of the probe were a tenth of the pass
    /// (8,192: int4-g32 1.55 → 1.48 ms, Q4_0 1.78 → 1.64; 4,096 and 16,384 gained less).
    front: Vec<([u32; 3], u32)>,
    /// Keys given up beyond this many (their tables within [`KEYED_COUNTERS`]).
    max_keys: usize,
    /// Values counted so far.
    values: u64,
    /// Where the current window of [`KEYED_TRIAL`] values began: values counted and keys met.
    window: (u64, usize),
}

/// Blocks whose key changes from one chunk to the next more often than once in this many
/// values are counted by value from the start (see [`churns`]): each change costs a lookup and
/// the adding of the lanes' 4-bit counters to the key's table, which by value cost a binning and
/// a second increment per value instead. NVFP4 — 16-value blocks whose E4M3 scales change from
/// nearly every block to the next — took 1.771 ms at 1M values by key and 1.691 by value
/// (natively, on the AMD core of [`counts_in_registers`], min of 5 × 150, alternating), while
/// MXFP4, whose E8M0 scales come in runs, took 1.187 by key and 1.408 by value; Q4_0's f16
/// scales change about once a block (32 values) and stay keyed. Natively only: in V8 (no
/// buffer, no 4-bit counters) NVFP4 by value measured slower, 4.94 → 5.82–5.97 ms.
pub(crate) const CHURN: usize = 24;

/// [`CHURN`] where keyed runs are counted through the buffer (see [`counts_in_registers`]):
/// there a key change costs only its lookup, but by value is cheaper too, and the line lies
/// higher. On the Intel core, min of 60 at 1M values, three runs alternating: Q4_0 — f16 scales
/// changing about once a 32-value block — 2.51–2.54 ms by key against 2.02–2.30 by value,
/// Q4_1 2.35–2.40 against 2.26–2.27, Q8_0 2.32–2.34 against 2.24–2.27; MXFP4, whose scales
/// change once in ~90 values, 2.31 against 2.33–2.42 and MXFP6/8 2.30–2.35 against 2.39–2.43
/// (keyed is better); NVFP4 the same either way. A line of 48 values puts the 32-value blocks
/// whose scales change with two blocks in three on the by-value side.
pub(crate) const CHURN_BUFFERED: usize = 48;

/// The churn line of this core's keyed counting: [`CHURN`] or [`CHURN_BUFFERED`].
pub(crate) fn churn_line() -> usize {
    if counts_in_registers() {
        CHURN
    } else {
        CHURN_BUFFERED
    }
}

/// Whether chunks of `chunk_len` values whose keys are `keys` (a sample of consecutive
/// chunks, each key as [`block_key`] gives it) change key more often than once in `line`
/// values ([`churn_line`]). Judged on the plan before the pass, so the pass itself pays nothing
/// for it (counted chunk by chunk in the gathering, the bookkeeping cost the keyed formats
/// 1–3 %).
pub(crate) fn churns(chunk_len: usize, keys: impl Iterator<Item = [u32; 3]>, line: usize) -> bool {
    let (mut chunks, mut changes, mut last) = (0usize, 0usize, None);
    for key in keys {
        chunks += 1;
        changes += usize::from(last.is_some_and(|l| l != key));
        last = Some(key);
    }
    chunks > 1 && line * changes > chunk_len * chunks
}

/// Counters all keys' tables may take: 2^18 (1 MiB), within a core's L2 — each chunk touches only
/// its key's table, so their number matters less than that they stay cached.
const KEYED_COUNTERS: usize = 1 << 18;

/// Keys are judged in windows of this many values: given up when a window brought a key for
/// fewer than every `3 · n_codes` values (decoding a key costs about `2 · n_codes` steps against
/// one binning and one more increment per value, and every key's table takes room). Each window
/// is judged alone because keys that repeat still arrive fast at first: 16-bit scales of
/// 32-value groups of normal data gave 221 keys in the first 256 groups, 903 in 2,048, 1,676 in
/// 32,768 — against one per group for f32 scales. Measured natively: a key per 32-value group with 16 codes was slower by key than by
/// value (4.6 against 4.3 ms at 1M values), a key per 128 faster (2.8 against 3.5); Q4_0, whose
/// signed scales bring ~1,100 keys in the first window and few after, took 4.1–4.5 ms at 1M
/// values when the first window gave keys up (then judged at one key per `4 · n_codes` values
/// over all values so far) and 2.5–2.8 ms by key (min of 15, alternating). Q4_1, whose f16 scale
/// and minimum bring a key with nearly every 32-value block, stayed keyed at one key per
/// `2 · n_codes` values until 8,192 keys' tables had been made and then gave up: 4.33 ms at 1M
/// values against 3.46 judged at `3 · n_codes` (min of 5, alternating; the other presets equal).
/// Keys more than a whole window could hold are given up at once rather than at its end: Q8_0
/// (256 codes, a key with most 32-value blocks) made and folded its whole budget of 512 keys'
/// tables first — 2.93 against 2.74 ms at 1M values.
const KEYED_TRIAL: u64 = 1 << 16;

impl Tally {
    pub fn new(n_codes: usize, n_bins: usize) -> Self {
        let (n_codes, n_bins) = (n_codes.max(1), n_bins.max(1));
        let max_keys = if n_codes <= 256 {
            KEYED_COUNTERS / (2 * n_codes)
        } else {
            0
        };
        let keyed = (max_keys > 0).then(|| Keyed {
            slots: vec![0; (2 * max_keys).next_power_of_two()],
            keys: Vec::new(),
            bin_of: Vec::new(),
            front: vec![([0; 3], FREE); 1 << FRONT_BITS],
            max_keys,
            values: 0,
            window: (0, 0),
        });
        let pairs = n_codes * (n_bins + 1) <= MAX_PAIRS;
        Self {
            lanes: Sums::default(),
            blocks: 0,
            n_codes,
            n_bins,
            // Made when a chunk is first counted by value (see `by_value_tables`).
            codes: Vec::new(),
            bins: vec![0; 2 * n_bins + 1],
            pairs,
            // The spare slot for masked lanes.
            keyed_counts: if keyed.is_some() {
                vec![0; 1]
            } else {
                Vec::new()
            },
            keyed,
            code_total: vec![0; n_codes],
            bin_total: vec![0; n_bins],
            code_buf: vec![0; BATCH * LANES],
            bin_buf: vec![0; BATCH * LANES],
            used: 0,
            buf_keyed: false,
            copies: Copies::new(n_codes, n_bins),
            registers: counts_in_registers(),
        }
    }

    /// A tally that always counts by value, in pairs or in tables apart (to test counting by
    /// key and the two by-value forms against each other).
    #[cfg(test)]
    fn by_value(n_codes: usize, n_bins: usize, pairs: bool) -> Self {
        let mut t = Self::new(n_codes, n_bins).without_keys();
        t.pairs &= pairs;
        t
    }

    /// This tally counting 16-code keyed runs in registers or through the buffer as asked,
    /// whatever this core would choose (to test both forms on any core).
    #[cfg(test)]
    fn with_registers(mut self, registers: bool) -> Self {
        self.registers = registers;
        self
    }

    /// This tally counting by value from the start (see [`CHURN`]).
    pub fn without_keys(mut self) -> Self {
        self.keyed = None;
        self.keyed_counts = Vec::new();
        self
    }

    /// Makes the by-value code (or pair) table when a chunk is first counted by value: a
    /// tally that stays keyed never needs it, and with 256 codes its pairs take 330 KB to
    /// allocate and zero.
    fn by_value_tables(&mut self) {
        if self.codes.is_empty() {
            let per_copy = if self.pairs {
                self.n_codes * (self.n_bins + 1)
            } else {
                self.n_codes
            };
            self.codes = vec![0; 2 * per_copy + 1];
        }
    }

    /// Finds the key of a chunk of `len` values of `kernel` (remembering it in the front cache):
    /// its number, by value when the tally or the kernel has no keys, or a key met first now.
    /// Inlined into the gathering (out of line it was ~10 % of NVFP4's pass, natively).
    #[inline(always)]
    fn lookup<K: Kernel>(&mut self, kernel: &K, len: usize) -> Found {
        let (Some(keyed), Some(key)) = (self.keyed.as_mut(), kernel.key()) else {
            return Found::ByValue;
        };
        keyed.values += len as u64;
        let hash = (key[0] ^ key[1].wrapping_mul(0x9E37_79B1) ^ key[2].wrapping_mul(0x85EB_CA77))
            .wrapping_mul(0x27D4_EB2F);
        let front = (hash >> (32 - FRONT_BITS)) as usize;
        match keyed.front[front] {
            (k, number) if number != FREE && k == key => Found::Key(number),
            _ => match keyed.find(key, hash) {
                Ok(number) => {
                    keyed.front[front] = (key, number);
                    Found::Key(number)
                }
                Err(slot) => Found::New { key, hash, slot },
            },
        }
    }

    /// Whether a key [`lookup`](Self::lookup) met first may be added, or keys are given up
    /// (counted by value from here on: [`give_up_keys`](Self::give_up_keys)) because they come
    /// as fast as values. Counts the key in the judging window (and starts a new window when
    /// this one is full): ask once per new key.
    fn keeps_keys(&mut self) -> bool {
        let n = self.n_codes;
        let Some(keyed) = self.keyed.as_mut() else {
            return false;
        };
        let fresh = keyed.keys.len();
        // Each window of KEYED_TRIAL values is judged by the keys it brought.
        let (window_values, window_keys) = (
            keyed.values - keyed.window.0,
            (fresh + 1 - keyed.window.1) as u64,
        );
        // Judged at the window's end, or as soon as its keys are more than a whole window
        // could hold (a 256-code format turns over within its first hundred keys).
        let turning_over = 3 * window_keys * n as u64 > window_values.max(KEYED_TRIAL);
        if window_values >= KEYED_TRIAL {
            keyed.window = (keyed.values, fresh + 1);
        }
        fresh < keyed.max_keys && !turning_over
    }

    /// Numbers a key [`lookup`](Self::lookup) met first, decoding and binning its codes (after
    /// [`keeps_keys`](Self::keeps_keys) said yes). Chunks gathered before need not be counted
    /// first: they name their tables by number, and the new key's table comes after theirs.
    fn add_key<K: Kernel>(
        &mut self,
        kernel: &K,
        binner: &Binner,
        (key, hash, slot): ([u32; 3], u32, usize),
    ) -> Option<u32> {
        let n = self.n_codes;
        let keyed = self.keyed.as_mut()?;
        let fresh = keyed.keys.len();
        keyed.slots[slot] = fresh as u32 + 1;
        keyed.keys.push(key);
        keyed.bin_of.extend((0..n as u32).map(|c| {
            let r = kernel.recon(c);
            if r.is_finite() {
                binner.bin_u32(r)
            } else {
                NO_BIN
            }
        }));
        keyed.front[(hash >> (32 - FRONT_BITS)) as usize] = (key, fresh as u32);
        self.keyed_counts.resize(1 + (fresh + 1) * 2 * n, 0);
        Some(fresh as u32)
    }

    /// The tables of key `number`, or the by-value tables.
    fn tables(&self, number: Option<u32>) -> Tables {
        let n = self.n_codes as u32;
        match number {
            Some(number) => Tables {
                code_base: 1 + number * 2 * n,
                n_codes: n,
                code_spare: 0,
                n_bins: self.n_bins as u32,
            },
            None => Tables {
                code_base: 0,
                n_codes: n,
                code_spare: 2 * n,
                n_bins: self.n_bins as u32,
            },
        }
    }

    /// Drains the buffer when its indices are of the other kind of table.
    fn switch_buffer(&mut self, keyed: bool) {
        if self.buf_keyed != keyed {
            self.drain();
            self.buf_keyed = keyed;
        }
    }

    /// Folds every key's counts into the totals and zeroes them (the keys stay).
    fn fold_keys(&mut self) {
        let Some(keyed) = self.keyed.as_ref() else {
            return;
        };
        let n = self.n_codes;
        for (k, bins) in keyed.bin_of.chunks_exact(n).enumerate() {
            let counts = &mut self.keyed_counts[1 + k * 2 * n..1 + (k + 1) * 2 * n];
            for c in 0..n {
                let m = u64::from(counts[c]) + u64::from(counts[n + c]);
                if m > 0 {
                    self.code_total[c] += m;
                    if let Some(t) = self.bin_total.get_mut(bins[c] as usize) {
                        *t += m;
                    }
                    counts[c] = 0;
                    counts[n + c] = 0;
                }
            }
        }
    }

    /// Stops counting by key: what was counted so is folded, and the rest is counted by value.
    fn give_up_keys(&mut self) {
        self.drain();
        self.fold_keys();
        self.keyed = None;
        self.keyed_counts = Vec::new();
    }

    /// The pass over one chunk with `kernel`; `all_finite` skips the NaN test on whole blocks.
    #[cfg(test)]
    pub fn chunk<K: Kernel>(
        &mut self,
        values: &[f32],
        kernel: K,
        binner: &Binner,
        all_finite: bool,
    ) {
        self.chunks(std::iter::once((values, kernel)), binner, all_finite);
    }

    /// The pass over a run of chunks, each with its kernel (portable form).
    #[inline(always)]
    pub fn chunks<'v, K: Kernel>(
        &mut self,
        chunks: impl Iterator<Item = (&'v [f32], K)>,
        binner: &Binner,
        all_finite: bool,
    ) {
        let rest = self.gather(chunks, binner, |tally, run, keyed| {
            match (keyed, all_finite) {
                (true, true) if tally.registers && tally.n_codes <= NIBBLES => {
                    tally.run_nibbles::<K, false>(run, binner)
                }
                (true, false) if tally.registers && tally.n_codes <= NIBBLES => {
                    tally.run_nibbles::<K, true>(run, binner)
                }
                _ => by_mode!(tally.run_blocks::<K>(run, binner), keyed, all_finite),
            }
        });
        if let Some(rest) = rest {
            by_mode!(self.stream::<K>(rest, binner), false, all_finite);
        }
    }

    /// [`chunks`](Self::chunks) through the fastest form the kernels have (SIMD128 in
    /// WebAssembly).
    #[inline(always)]
    pub fn chunks_fast<'v, K: FastKernel>(
        &mut self,
        chunks: impl Iterator<Item = (&'v [f32], K)>,
        binner: &Binner,
        all_finite: bool,
    ) {
        #[cfg(not(target_arch = "wasm32"))]
        self.chunks(chunks, binner, all_finite);
        #[cfg(target_arch = "wasm32")]
        {
            let rest = self.gather(chunks, binner, |tally, run, keyed| {
                by_mode!(tally.run_simd::<K>(run, binner), keyed, all_finite)
            });
            if let Some(rest) = rest {
                by_mode!(self.stream_simd::<K>(rest, binner), false, all_finite);
            }
        }
    }

    /// Gathers chunks — their keys looked up, up to [`RUN`] of them or as many values as the
    /// buffer holds (a longer chunk in pieces) — and hands each run to `count`, with whether it
    /// is counted by key. Counting a run is then one loop with no call in it, so the compiler
    /// keeps the sums and the kernel's constants in registers: with the lookup between chunks
    /// it kept them on the stack, loaded and stored for every block of LANES values (perf
    /// annotate of int4-g32, natively), while a 32-value group is only four blocks.
    ///
    /// Stops when the tally has no keys (never had, or gave them up) and returns the chunks
    /// left: by value there is nothing to look up, and they are counted as they come
    /// ([`stream`](Self::stream)).
    #[inline(always)]
    fn gather<'v, K: Kernel, I: Iterator<Item = (&'v [f32], K)>>(
        &mut self,
        mut chunks: I,
        binner: &Binner,
        mut count: impl FnMut(&mut Self, &[Gathered<'v, K>], bool),
    ) -> Option<I> {
        let capacity = if BUFFERED {
            self.code_buf.len()
        } else {
            usize::MAX
        };
        let mut run: Vec<Gathered<'v, K>> = Vec::with_capacity(RUN);
        let (mut keyed, mut held, mut blocks) = (false, 0, 0);
        while self.keyed.is_some() {
            let Some((values, kernel)) = chunks.next() else {
                break;
            };
            blocks += values.len().div_ceil(LANES);
            let number = match self.lookup(&kernel, values.len()) {
                Found::ByValue => None,
                Found::Key(number) => Some(number),
                Found::New { key, hash, slot } if self.keeps_keys() => {
                    self.add_key(&kernel, binner, (key, hash, slot))
                }
                Found::New { .. } => {
                    // Giving up folds the keys' tables: what was gathered is counted first.
                    self.count_run(&mut run, keyed, &mut count);
                    held = 0;
                    self.give_up_keys();
                    None
                }
            };
            if number.is_none() {
                self.by_value_tables();
            }
            let tables = self.tables(number);
            // The chunk in pieces the buffer holds (nearly always one: written without
            // `chunks`, whose iterator cost a few instructions per chunk of 16 or 32 values).
            let mut rest = values;
            while !rest.is_empty() {
                let (piece, tail) = rest.split_at(rest.len().min(capacity));
                rest = tail;
                let padded = piece.len().div_ceil(LANES) * LANES;
                if run.len() == RUN || number.is_some() != keyed || held + padded > capacity {
                    self.count_run(&mut run, keyed, &mut count);
                    held = 0;
                }
                keyed = number.is_some();
                run.push((piece, kernel, tables));
                held += padded;
            }
        }
        self.count_run(&mut run, keyed, &mut count);
        self.count_blocks(blocks);
        self.keyed.is_none().then_some(chunks)
    }

    /// Counts a gathered run (see [`gather`](Self::gather)) and empties it; the buffer is made
    /// ready for it first: its kind switched, and drained unless the run fits. Out of line: with
    /// the counting loop inlined into the gathering, the gathering's state lived on the stack
    /// (natively, MX and NVFP4 2–4 % slower).
    #[inline(never)]
    fn count_run<'v, K: Kernel>(
        &mut self,
        run: &mut Vec<Gathered<'v, K>>,
        keyed: bool,
        count: &mut impl FnMut(&mut Self, &[Gathered<'v, K>], bool),
    ) {
        if run.is_empty() {
            return;
        }
        self.switch_buffer(keyed);
        if BUFFERED {
            let need: usize = run.iter().map(|g| g.0.len().div_ceil(LANES) * LANES).sum();
            if self.used + need > self.code_buf.len() {
                self.drain();
            }
        }
        count(self, run, keyed);
        run.clear();
    }

    /// The blocks of a gathered run in the portable form; with `CHECK` each lane is tested for
    /// NaN/±Inf (a chunk's padded last block always is), counted as `BY` says (by value each r̂
    /// is binned). The buffer has room for every block (see [`count_run`](Self::count_run)).
    #[inline(always)]
    fn run_blocks<K: Kernel, const CHECK: bool, const BY: u8>(
        &mut self,
        run: &[Gathered<'_, K>],
        binner: &Binner,
    ) {
        let (mut lanes, copies) = (self.lanes, self.copies);
        let mut counter = self.counter();
        for &(values, kernel, tables) in run {
            lanes.chunk::<K, CHECK, BY>(&mut counter, values, kernel, binner, tables, &copies);
        }
        self.used = counter.used;
        self.lanes = lanes;
    }

    /// By value with no keys to look up (see [`gather`](Self::gather)): the chunks counted as
    /// they come, the buffer drained between batches of them — without gathering them first
    /// (natively the gathering was ~8 % of Q4_1's pass, which gives its keys up early). Out of
    /// line: inlined into [`chunks`](Self::chunks) it slowed the gathering there (NVFP4 and
    /// Q4_0, which stay keyed, by 3–5 % natively).
    #[inline(never)]
    fn stream<'v, K: Kernel, const CHECK: bool, const BY: u8>(
        &mut self,
        mut chunks: impl Iterator<Item = (&'v [f32], K)>,
        binner: &Binner,
    ) {
        self.switch_buffer(false);
        self.by_value_tables();
        let tables = self.tables(None);
        let capacity = if BUFFERED {
            self.code_buf.len()
        } else {
            usize::MAX
        };
        let (mut pending, mut blocks) = (None, 0);
        loop {
            let (mut lanes, copies) = (self.lanes, self.copies);
            let mut counter = self.counter();
            while let Some((values, kernel)) = pending.take().or_else(|| chunks.next()) {
                // What the buffer has room for now: the chunk, or (into an empty buffer) its
                // first `capacity` values; the rest waits for the next batch.
                let room = capacity - counter.used;
                let piece = if values.len().div_ceil(LANES) * LANES <= room {
                    values
                } else if counter.used == 0 {
                    &values[..capacity]
                } else {
                    &[]
                };
                blocks += piece.len().div_ceil(LANES);
                lanes.chunk::<K, CHECK, BY>(&mut counter, piece, kernel, binner, tables, &copies);
                if piece.len() < values.len() {
                    pending = Some((&values[piece.len()..], kernel));
                    break;
                }
            }
            self.used = counter.used;
            self.lanes = lanes;
            if pending.is_none() {
                break;
            }
            self.drain();
        }
        self.count_blocks(blocks);
    }

    /// [`run_blocks`](Self::run_blocks) by key for formats of at most [`NIBBLES`] codes, counted
    /// in registers: each lane adds 1 << 4·code to a u64 (a 4-bit counter per code), and when
    /// the key changes or 15 blocks are held, the lanes' counters are summed and added to the
    /// key's table — 16 additions to adjacent counters instead of an increment per value
    /// through the buffer (natively, the buffer's increments were a sixth of MXFP4's pass, bound
    /// by the stores). Chunks of one key in a row share the additions (MX blocks often do).
    #[inline(always)]
    fn run_nibbles<K: Kernel, const CHECK: bool>(
        &mut self,
        run: &[Gathered<'_, K>],
        binner: &Binner,
    ) {
        let (mut lanes, copies, n) = (self.lanes, self.copies, self.n_codes);
        let counts = &mut self.keyed_counts;
        let mut nibbles = [0u64; LANES];
        // Blocks counted in `nibbles` since they were added, and the table they go to.
        let (mut held, mut base) = (0, usize::MAX);
        for &(values, kernel, tables) in run {
            let new_base = tables.code_base as usize;
            // 15 blocks at most: a lane's 4-bit counters then hold every value it was given.
            for part in values.chunks(15 * LANES) {
                let blocks_in = part.len().div_ceil(LANES);
                if held > 0 && (new_base != base || held + blocks_in > 15) {
                    add_nibbles(&nibbles, &mut counts[base..][..n]);
                    (nibbles, held) = ([0; LANES], 0);
                }
                base = new_base;
                held += blocks_in;
                let mut blocks = part.chunks_exact(LANES);
                for block in &mut blocks {
                    let block = block.try_into().unwrap_or(&[f32::NAN; LANES]);
                    let (c, f) = lanes
                        .block::<K, CHECK, BY_KEY, true>(block, kernel, binner, tables, &copies);
                    for k in 0..LANES {
                        nibbles[k] += u64::from(f[k]) << (4 * c[k]);
                    }
                }
                let tail = blocks.remainder();
                if !tail.is_empty() {
                    let mut block = [f32::NAN; LANES];
                    block[..tail.len()].copy_from_slice(tail);
                    let (c, f) = lanes
                        .block::<K, true, BY_KEY, true>(&block, kernel, binner, tables, &copies);
                    for k in 0..LANES {
                        nibbles[k] += u64::from(f[k]) << (4 * c[k]);
                    }
                }
            }
        }
        if held > 0 {
            add_nibbles(&nibbles, &mut counts[base..][..n]);
        }
        self.lanes = lanes;
    }

    /// [`run_blocks`](Self::run_blocks) in SIMD128.
    #[cfg(target_arch = "wasm32")]
    #[inline(always)]
    fn run_simd<K: FastKernel, const CHECK: bool, const BY: u8>(
        &mut self,
        run: &[Gathered<'_, K>],
        binner: &Binner,
    ) {
        let mut state = simd::State::load(&self.lanes);
        let mut counter = self.counter();
        for &(values, kernel, tables) in run {
            simd_chunk::<K, CHECK, BY>(&mut state, &mut counter, values, kernel, binner, tables);
        }
        self.used = counter.used;
        state.store(&mut self.lanes);
    }

    /// [`stream`](Self::stream) in SIMD128 (in WebAssembly nothing is buffered: each chunk is
    /// counted as it comes).
    #[cfg(target_arch = "wasm32")]
    #[inline(never)]
    fn stream_simd<'v, K: FastKernel, const CHECK: bool, const BY: u8>(
        &mut self,
        chunks: impl Iterator<Item = (&'v [f32], K)>,
        binner: &Binner,
    ) {
        const { assert!(!BUFFERED) };
        self.by_value_tables();
        let tables = self.tables(None);
        let mut blocks = 0;
        let mut state = simd::State::load(&self.lanes);
        let mut counter = self.counter();
        for (values, kernel) in chunks {
            blocks += values.len().div_ceil(LANES);
            simd_chunk::<K, CHECK, BY>(&mut state, &mut counter, values, kernel, binner, tables);
        }
        self.used = counter.used;
        state.store(&mut self.lanes);
        self.count_blocks(blocks);
    }

    /// Where a run's blocks are counted: the tables and the buffer, borrowed apart from the rest.
    #[inline(always)]
    fn counter(&mut self) -> Counter<'_> {
        Counter {
            codes: &mut self.codes,
            bins: &mut self.bins,
            keyed_counts: &mut self.keyed_counts,
            code_buf: &mut self.code_buf,
            bin_buf: &mut self.bin_buf,
            used: self.used,
        }
    }

    /// Lane counters hold at most 2^32 − 1 each: flush long before. `blocks` blocks of LANES
    /// were counted since the last call (a run is at most one share: far below 2^32).
    fn count_blocks(&mut self, blocks: usize) {
        self.blocks += blocks as u64;
        if self.blocks >= 1 << 28 {
            self.flush();
        }
    }

    fn drain(&mut self) {
        let buffered = &self.code_buf[..self.used];
        // Four streams, from four quarters of the buffer, in turn: natively MXFP6/8's
        // increments in buffer order were ~18 % of their pass, and four streams take ~5 %
        // off it (two: no change; eight: slower; why was not measured — perhaps fewer loads
        // held back behind stores to the same counters). The same for the pair table: Q8_0
        // 1.601 → 1.558 ms, Q4_1 1.550 → 1.486 at 1M values (min of 5 × 150, alternating).
        let streams = |counts: &mut [u32]| {
            const STREAMS: usize = 4;
            let q = buffered.len() / STREAMS;
            for i in 0..q {
                for k in 0..STREAMS {
                    counts[buffered[k * q + i] as usize] += 1;
                }
            }
            for &c in &buffered[STREAMS * q..] {
                counts[c as usize] += 1;
            }
        };
        if self.buf_keyed {
            streams(&mut self.keyed_counts);
        } else if self.pairs {
            streams(&mut self.codes);
        } else {
            for (&c, &b) in buffered.iter().zip(&self.bin_buf[..self.used]) {
                self.codes[c as usize] += 1;
                self.bins[b as usize] += 1;
            }
        }
        self.used = 0;
    }

    fn flush(&mut self) {
        let total = |lanes: &mut [u32; LANES]| {
            let t = lanes.iter().map(|&c| c as usize).sum();
            *lanes = [0; LANES];
            t
        };
        let l = &mut self.lanes;
        let (n, clipped, over) = (
            total(&mut l.n),
            total(&mut l.clipped),
            total(&mut l.overflowed),
        );
        l.acc.add_counts(n, clipped);
        l.acc.add_overflowed(over);
        self.blocks = 0;
        // The keyed counters are u32 too.
        self.drain();
        self.fold_keys();
    }

    /// The error sums, the code counts and the reconstruction histogram's counts.
    pub fn finish(mut self) -> (ErrorAccumulator, Vec<u64>, Vec<u64>) {
        self.drain();
        self.flush();
        // Neither form sums the clipped values' error apart (see `add_block_sums`).
        self.lanes.acc.mark_unsplit();
        let fold = |total: &mut [u64], table: &[u32]| {
            let n = total.len();
            for (i, t) in total.iter_mut().enumerate() {
                *t += u64::from(table[i]) + u64::from(table[n + i]);
            }
        };
        if self.codes.is_empty() {
            // Nothing was counted by value.
        } else if self.pairs {
            // Rows of n_bins + 1: each code's bins, then its count with r̂ not finite.
            let row = self.n_bins + 1;
            let copies = self.codes[..2 * self.n_codes * row].chunks_exact(row);
            for (i, counts) in copies.enumerate() {
                let (bins, _) = counts.split_at(self.n_bins);
                self.code_total[i % self.n_codes] +=
                    counts.iter().map(|&m| u64::from(m)).sum::<u64>();
                for (t, &m) in self.bin_total.iter_mut().zip(bins) {
                    *t += u64::from(m);
                }
            }
        } else {
            fold(&mut self.code_total, &self.codes);
            fold(&mut self.bin_total, &self.bins);
        }
        (self.lanes.acc, self.code_total, self.bin_total)
    }
}

/// The blocks of one chunk in SIMD128 (see [`Tally::run_simd`]), counted by `counter`.
#[cfg(target_arch = "wasm32")]
#[inline(always)]
fn simd_chunk<K: FastKernel, const CHECK: bool, const BY: u8>(
    state: &mut simd::State,
    counter: &mut Counter<'_>,
    values: &[f32],
    kernel: K,
    binner: &Binner,
    tables: Tables,
) {
    let code = |r| simd::SimdKernel::code_v(&kernel, r);
    let mut blocks = values.chunks_exact(LANES);
    for block in &mut blocks {
        let block = block.try_into().unwrap_or(&[f32::NAN; LANES]);
        let (c, b) = simd::block::<CHECK, BY>(state, block, code, binner, tables);
        counter.push::<BY>(&c, &b);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut block = [f32::NAN; LANES];
        block[..tail.len()].copy_from_slice(tail);
        let (c, b) = simd::block::<true, BY>(state, &block, code, binner, tables);
        counter.push::<BY>(&c, &b);
    }
}

impl Keyed {
    /// The number of `key`, or the free slot where it goes.
    fn find(&self, key: [u32; 3], hash: u32) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let mut slot = (hash >> 8) as usize & mask;
        loop {
            match self.slots[slot] {
                0 => return Err(slot),
                k if self.keys[k as usize - 1] == key => return Ok(k - 1),
                _ => slot = (slot + 1) & mask,
            }
        }
    }
}

/// [`Keyed::front`] has 2^FRONT_BITS entries, indexed by the hash's top bits.
const FRONT_BITS: u32 = 13;

/// An empty entry of [`Keyed::front`].
const FREE: u32 = u32::MAX;

impl Sums {
    /// The blocks of one chunk in the portable form (see [`Tally::run_blocks`]), counted by
    /// `counter`, which has room for them.
    #[inline(always)]
    fn chunk<K: Kernel, const CHECK: bool, const BY: u8>(
        &mut self,
        counter: &mut Counter<'_>,
        values: &[f32],
        kernel: K,
        binner: &Binner,
        tables: Tables,
        copies: &Copies,
    ) {
        let mut blocks = values.chunks_exact(LANES);
        for block in &mut blocks {
            // chunks_exact: always LANES long (the fallback, all masked, is never taken).
            let block = block.try_into().unwrap_or(&[f32::NAN; LANES]);
            let (c, b) = self.block::<K, CHECK, BY, false>(block, kernel, binner, tables, copies);
            counter.push::<BY>(&c, &b);
        }
        let tail = blocks.remainder();
        if !tail.is_empty() {
            let mut block = [f32::NAN; LANES];
            block[..tail.len()].copy_from_slice(tail);
            let (c, b) = self.block::<K, true, BY, false>(&block, kernel, binner, tables, copies);
            counter.push::<BY>(&c, &b);
        }
    }

    /// One block of LANES values; with `CHECK` each lane is tested for NaN/±Inf (the padded tail
    /// always is), by value each r̂ is binned. Returns the table indices of each lane as `BY`
    /// counts them (see [`Tables`]): the code's and the bin's (zeros but by value), or the
    /// pair's and zeros; or with `NIB` each lane's code and 1 where it is counted (see
    /// [`Tally::run_nibbles`]).
    #[inline(always)]
    fn block<K: Kernel, const CHECK: bool, const BY: u8, const NIB: bool>(
        &mut self,
        r: &[f32; LANES],
        kernel: K,
        binner: &Binner,
        t: Tables,
        copies: &Copies,
    ) -> ([u32; LANES], [u32; LANES]) {
        let mut rr = [0f32; LANES];
        let mut finite = [true; LANES];
        for k in 0..LANES {
            finite[k] = !CHECK || r[k].is_finite();
            rr[k] = if finite[k] { r[k] } else { 0.0 };
        }
        let (code, v, c) = kernel.code(&rr);
        let mut r_hat = [0f32; LANES];
        let mut ok = [true; LANES];
        for k in 0..LANES {
            let fits = v[k].is_finite();
            r_hat[k] = if fits { v[k] } else { 0.0 };
            ok[k] = finite[k] & fits;
            self.n[k] += u32::from(ok[k]);
            self.clipped[k] += u32::from(ok[k] & c[k]);
            self.overflowed[k] += u32::from(finite[k] & !fits);
        }
        let bin = if BY != BY_KEY {
            binner.bin_lanes(&r_hat)
        } else {
            [0; LANES]
        };
        let mut codes = [0u32; LANES];
        let mut bins = [0u32; LANES];
        if NIB {
            // Each lane's code, and 1 where it is counted (a finite value).
            for k in 0..LANES {
                codes[k] = code[k].min(t.n_codes - 1);
                bins[k] = u32::from(finite[k]);
            }
            self.acc.add_block_sums::<false>(&rr, &r_hat, &ok, &c);
            return (codes, bins);
        }
        if BY == BY_PAIR {
            // Row `code` of the lane's copy, column bin or n_bins where r̂ is not finite; the
            // spare slot after both copies for a masked lane. Selected with bit masks: with `if`
            // the compiler made the bins one lane at a time (natively, Q4_1 1.77 → 2.47 ms).
            let row = t.n_bins + 1;
            let spare = 2 * t.n_codes * row;
            for k in 0..LANES {
                let ok = u32::from(ok[k]).wrapping_neg();
                let finite = u32::from(finite[k]).wrapping_neg();
                let column = (bin[k] & ok) | (t.n_bins & !ok);
                let pair = copies.pairs[k] + code[k].min(t.n_codes - 1) * row + column;
                codes[k] = (pair & finite) | (spare & !finite);
            }
            self.acc.add_block_sums::<false>(&rr, &r_hat, &ok, &c);
            return (codes, bins);
        }
        for k in 0..LANES {
            // (By value the base is 0 and the spare follows the two copies: written so, the
            // compiler keeps the by-value pass as fast as it was before counting by key.)
            let (base, spare) = if BY == BY_VALUE {
                (0, 2 * t.n_codes)
            } else {
                (t.code_base, t.code_spare)
            };
            codes[k] = if finite[k] {
                base + copies.codes[k] + code[k].min(t.n_codes - 1)
            } else {
                spare
            };
            if BY == BY_VALUE {
                bins[k] = if ok[k] {
                    copies.bins[k] + bin[k]
                } else {
                    2 * t.n_bins
                };
            }
        }
        // Lanes not `ok` add nothing (the mask zeroes both values).
        self.acc.add_block_sums::<false>(&rr, &r_hat, &ok, &c);
        (codes, bins)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minifloat::{FP4_E2M1, FP6_E2M3, FP6_E3M2, FP8_E4M3, FP8_E5M2};

    /// Every f32 a test meets: each format's levels and midpoints ± one ulp, and a stream of
    /// random bit patterns of every exponent (NaN and ±Inf included).
    fn probes(f: MiniFloat) -> Vec<f32> {
        let t = crate::codebook::LevelTable::minifloat(f);
        let mut v: Vec<f32> = t.levels.iter().chain(&t.thresholds).copied().collect();
        let around: Vec<f32> = v
            .iter()
            .flat_map(|&x| {
                [
                    f32::from_bits(x.to_bits().wrapping_sub(1)),
                    f32::from_bits(x.to_bits() + 1),
                ]
            })
            .collect();
        v.extend(around);
        v.extend(random_bits(300_000, 0x2545_F491_4F6C_DD1D));
        v.extend([
            0.0,
            -0.0,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NAN,
            f32::from_bits(1),
        ]);
        v
    }

    /// `n` random f32 bit patterns of every exponent (NaN included), xorshift64 from `seed`.
    pub(super) fn random_bits(n: usize, seed: u64) -> impl Iterator<Item = f32> {
        let mut s = seed;
        (0..n).map(move |_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            f32::from_bits(s as u32)
        })
    }

    /// What a rounding to integers meets: each half-integer tie to ±150 and its two
    /// neighbours, both sides of 2^22 and 2^23, ±0, ±Inf, ±MAX and `n` random bit patterns —
    /// NaN left out.
    pub(super) fn rounding_probes(n: usize) -> Vec<f32> {
        let mut xs: Vec<f32> = (-300..=300)
            .map(|i| i as f32 / 2.0)
            .chain([4_194_304.5, 8_388_607.5, 8_388_609.0])
            .flat_map(|t| [t, t.next_up(), t.next_down()])
            .flat_map(|t| [t, -t])
            .chain(random_bits(n, 0x9E37_79B9_7F4A_7C15))
            .collect();
        xs.extend([
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
        ]);
        xs.retain(|x| !x.is_nan());
        xs
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn branch_free_minifloat_equals_the_reference_bit_for_bit() {
        for f in [FP4_E2M1, FP6_E2M3, FP6_E3M2, FP8_E4M3, FP8_E5M2] {
            let coder = MiniFloatCoder::new(f);
            let xs: Vec<f32> = probes(f).into_iter().flat_map(|p| [p, -p]).collect();
            for x in &xs {
                let (c1, v1, k1) = f.encode(*x);
                let (c2, v2, k2) = coder.encode(*x);
                assert_eq!(
                    (c1, v1.to_bits(), k1),
                    (c2, v2.to_bits(), k2),
                    "{f:?} at {x:e}"
                );
                // Counting by key decodes the code: the same level (the bits, sign of 0 too).
                if x.is_finite() {
                    assert_eq!(
                        coder.level(c2).map(f32::to_bits),
                        Some(v2.to_bits()),
                        "{f:?} decodes code {c2:#x} of {x:e}"
                    );
                }
            }
            // The vector form, LANES at a time.
            for block in xs.chunks_exact(LANES) {
                let block: &Lanes<f32> = block.try_into().unwrap_or(&[0.0; LANES]);
                let (codes, values, clipped) = coder.encode_lanes(block);
                for k in 0..LANES {
                    let (c, v, cl) = f.encode(block[k]);
                    assert_eq!(
                        (codes[k], values[k].to_bits(), clipped[k]),
                        (c, v.to_bits(), cl),
                        "{f:?} lanes at {:e}",
                        block[k]
                    );
                }
            }
        }
    }

    /// Counting by key gives the by-value counts, whether keys repeat (slots reused, and evicted
    /// where two keys share one) or turn over with every group (then it gives keys up midway),
    /// through the fast form and the portable one, with NaN/±Inf lanes.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn counting_by_key_equals_counting_by_value() {
        use crate::config::{QuantizerConfig, Rounding, Scheme};
        let mut values =
            crate::synth::generate(crate::synth::Distribution::Laplace, (1 << 17) + 37, 9)
                .unwrap_or_default();
        for (i, x) in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY]
            .into_iter()
            .enumerate()
        {
            values[i * 40_001 + 5] = x;
        }
        let (binner, _, _) = Binner::new(-6.0, 6.0, 97);
        // 100 keys in 256 slots, groups of 32; a new key every 8 values, more than a 16-code
        // decoding is worth, and every 32 (as Q4_1's blocks bring them), which one key per
        // 2 · n_codes values kept; a new key every 48 values in the first window of 65,536 values
        // and a third as many in the next (as Q4_0's 16-bit scales bring them), which counting
        // over all values so far at one key per 64 gave up. 4-bit counters in registers: chunks
        // of 123 values in two parts (15 blocks, then 3 values in a padded block), with 16 codes
        // and with 4, and chunks of one key in a row sharing them (added every 15 blocks); 64
        // and 256 codes through the buffer.
        for (bits, keys, group, stays_keyed) in [
            (4, 100, 32, true),
            (4, usize::MAX, 8, false),
            (4, usize::MAX, 32, false),
            (4, 2000, 48, true),
            (4, 100, 123, true),
            (2, 100, 123, true),
            (2, 100, 32, true),
            (4, 1, 32, true),
            (4, 1, 24, true),
            // Beyond 16 codes: through the buffer, drained in four streams.
            (6, 5, 32, true),
            (8, 3, 27, true),
        ] {
            let config = QuantizerConfig {
                bits,
                scheme: Scheme::Asymmetric,
                ..Default::default()
            };
            let kernel = |g: usize| {
                let k = (g % keys) as f32;
                let params = AffineParams::from_range(-1.0 - k * 0.013, 2.0 + k * 0.007, &config);
                IntKernel {
                    coder: params.coder(params.inv_scale()),
                    params,
                    round: crate::affine::round_half_even,
                    rounding: Rounding::NearestEven,
                }
            };
            // Every chunk in one call (gathered into runs, keys met and given up amid them)
            // against one chunk at a time.
            let mut by_value = Tally::by_value(1 << bits, 97, true);
            let mut apart = Tally::by_value(1 << bits, 97, false);
            let mut buffered = Tally::new(1 << bits, 97).with_registers(false);
            let mut keyed = Tally::new(1 << bits, 97).with_registers(true);
            for tally in [&mut keyed, &mut buffered, &mut apart] {
                tally.chunks_fast(
                    values
                        .chunks(group)
                        .enumerate()
                        .map(|(g, c)| (c, kernel(g))),
                    &binner,
                    false,
                );
            }
            for (g, chunk) in values.chunks(group).enumerate() {
                by_value.chunk(chunk, kernel(g), &binner, false);
            }
            assert_eq!(keyed.keyed.is_some(), stays_keyed, "{keys} keys");
            assert_eq!(buffered.keyed.is_some(), stays_keyed, "{keys} keys");
            let (a, codes_a, bins_a) = keyed.finish();
            assert_eq!(codes_a.iter().sum::<u64>(), values.len() as u64 - 3);
            for other in [by_value, apart, buffered] {
                let (b, codes_b, bins_b) = other.finish();
                assert_eq!(codes_a, codes_b, "{keys} keys");
                assert_eq!(bins_a, bins_b, "{keys} keys");
                let (a, b) = (a.finish(), b.finish());
                assert_eq!((a.n, a.overflowed), (b.n, b.overflowed));
                assert_eq!(a.mse.to_bits(), b.mse.to_bits());
            }
        }
    }

    /// Keys that come faster than a whole window could hold are given up at once, not at the
    /// window's end: a 256-code format with a new key every 32 values counts by value after
    /// 3,200 values.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn keys_that_come_too_fast_are_given_up_within_a_window() {
        use crate::config::{QuantizerConfig, Rounding};
        let values =
            crate::synth::generate(crate::synth::Distribution::Normal, 3200, 5).unwrap_or_default();
        let (binner, _, _) = Binner::new(-4.0, 4.0, 31);
        let mut tally = Tally::new(256, 31);
        tally.chunks(
            values.chunks(32).enumerate().map(|(g, c)| {
                let params = AffineParams::from_range(
                    -3.0 - g as f32 * 0.01,
                    3.0,
                    &QuantizerConfig::default(),
                );
                let kernel = IntKernel {
                    coder: params.coder(params.inv_scale()),
                    params,
                    round: crate::affine::round_half_even,
                    rounding: Rounding::NearestEven,
                };
                (c, kernel)
            }),
            &binner,
            true,
        );
        assert!(tally.keyed.is_none(), "still counting by key");
        let (acc, codes, _) = tally.finish();
        assert_eq!(codes.iter().sum::<u64>(), 3200);
        assert_eq!(acc.finish().n, 3200);
    }

    /// Chunks of every length — shorter than a block, across the count buffer's end, far longer
    /// than the buffer — count each value once, by value and by key, as coding it alone does.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn chunks_of_any_length_count_every_value_once() {
        use crate::config::{QuantizerConfig, Rounding};
        let values = crate::synth::generate(crate::synth::Distribution::Normal, 20_000, 3)
            .unwrap_or_default();
        let (binner, _, _) = Binner::new(-4.0, 4.0, 31);
        let params = AffineParams::from_range(-3.0, 3.0, &QuantizerConfig::default());
        let kernel = IntKernel {
            coder: params.coder(params.inv_scale()),
            params,
            round: crate::affine::round_half_even,
            rounding: Rounding::NearestEven,
        };
        let (mut codes, mut bins) = (vec![0u64; 256], vec![0u64; 31]);
        for &v in &values {
            let (c, r_hat, _) = kernel.code(&[v; LANES]);
            codes[c[0] as usize] += 1;
            bins[binner.bin(r_hat[0])] += 1;
        }
        let lengths = [1, 7, 8, 9, 500, 511, 512, 513, 1000, 4099, 3, 8, 2048, 5];
        let mut chunks = Vec::new();
        let mut rest = &values[..];
        for len in lengths.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, later) = rest.split_at((*len).min(rest.len()));
            chunks.push(chunk);
            rest = later;
        }
        // One chunk a call, and all in one call (gathered into runs, long ones in pieces); by
        // key, by value in pairs and in tables apart.
        for (keyed, pairs, gathered) in [false, true]
            .into_iter()
            .flat_map(|g| [(true, true, g), (false, true, g), (false, false, g)])
        {
            let mut tally = if keyed {
                Tally::new(256, 31)
            } else {
                Tally::by_value(256, 31, pairs)
            };
            if gathered {
                tally.chunks(chunks.iter().map(|&c| (c, kernel)), &binner, true);
            } else {
                for &chunk in &chunks {
                    tally.chunk(chunk, kernel, &binner, true);
                }
            }
            let (acc, got_codes, got_bins) = tally.finish();
            let how = format!("keyed {keyed}, pairs {pairs}, gathered {gathered}");
            assert_eq!(got_codes, codes, "codes, {how}");
            assert_eq!(got_bins, bins, "bins, {how}");
            assert_eq!(acc.finish().n, values.len());
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn branch_free_ggml_elements_equal_the_reference() {
        // Every value a block can hand them (|x| ≤ 8, 15 or 127), on a fine grid with the ties,
        // and NaN.
        let mut xs: Vec<f32> = (-130_000..=130_000).map(|i| i as f32 / 1024.0).collect();
        xs.extend((-40..=40).map(|i| i as f32 / 2.0 + 0.5));
        xs.extend([0.5 - 2f32.powi(-25), -0.0, f32::NAN]);
        for x in xs {
            let same = |a: (u32, f32, bool), b: (u32, f32, bool)| {
                a.0 == b.0 && a.1.to_bits() == b.1.to_bits() && a.2 == b.2
            };
            if x.abs() <= 127.0 || x.is_nan() {
                assert!(
                    same(Q8_0Coder.encode(x), Element::Q8_0.encode(x)) || x.is_nan(),
                    "q8_0 {x}"
                );
            }
            // Counting by key decodes each code to its level (−0 and +0 alike: they
            // reconstruct and bin the same).
            let decodes = |coder: &dyn Fn(f32) -> (u32, f32, bool), level: &dyn Fn(u32) -> f32| {
                let (c, v, _) = coder(x);
                x.is_nan() || level(c) == v
            };
            let q4_0 = Q4Coder {
                bias: 8.5,
                level_offset: 8.0,
            };
            let q4_1 = Q4Coder {
                bias: 0.5,
                level_offset: 0.0,
            };
            let none = f32::NAN;
            assert!(
                decodes(&|x| Q8_0Coder.encode(x), &|c| Q8_0Coder
                    .level(c)
                    .unwrap_or(none)),
                "q8_0 decodes {x}"
            );
            assert!(
                decodes(&|x| q4_0.encode(x), &|c| q4_0.level(c).unwrap_or(none)),
                "q4_0 decodes {x}"
            );
            assert!(
                decodes(&|x| q4_1.encode(x), &|c| q4_1.level(c).unwrap_or(none)),
                "q4_1 decodes {x}"
            );
            if x.abs() <= 8.0 || x.is_nan() {
                let q4_0 = Q4Coder {
                    bias: 8.5,
                    level_offset: 8.0,
                };
                assert!(same(q4_0.encode(x), Element::Q4_0.encode(x)), "q4_0 {x}");
            }
            if (-1.0..=16.0).contains(&x) || x.is_nan() {
                let q4_1 = Q4Coder {
                    bias: 0.5,
                    level_offset: 0.0,
                };
                assert!(same(q4_1.encode(x), Element::Q4_1.encode(x)), "q4_1 {x}");
            }
        }
        // The vector forms agree with the scalar ones: every tie and level to beyond Q8_0's
        // clamp, −0, and values far outside.
        let mut grid: Vec<f32> = (-130 * 64..130 * 64).map(|i| i as f32 / 64.0).collect();
        grid.extend([
            -0.0, 127.5, -127.5, 127.49999, -128.0, 1e6, -1e6, 0.49999997,
        ]);
        for block in grid.chunks_exact(LANES) {
            let block: &Lanes<f32> = block.try_into().unwrap_or(&[0.0; LANES]);
            type Coded = (Lanes<u32>, Lanes<f32>, Lanes<bool>);
            type LaneFn<'a> = &'a dyn Fn(&Lanes<f32>) -> Coded;
            let coders: [LaneFn; 3] = [
                &|b| Q8_0Coder.encode_lanes(b),
                &|b| {
                    Q4Coder {
                        bias: 8.5,
                        level_offset: 8.0,
                    }
                    .encode_lanes(b)
                },
                &|b| {
                    Q4Coder {
                        bias: 0.5,
                        level_offset: 0.0,
                    }
                    .encode_lanes(b)
                },
            ];
            let scalar: [&dyn Fn(f32) -> (u32, f32, bool); 3] = [
                &|x| Q8_0Coder.encode(x),
                &|x| {
                    Q4Coder {
                        bias: 8.5,
                        level_offset: 8.0,
                    }
                    .encode(x)
                },
                &|x| {
                    Q4Coder {
                        bias: 0.5,
                        level_offset: 0.0,
                    }
                    .encode(x)
                },
            ];
            for (lanes, one) in coders.iter().zip(scalar) {
                let (c, v, cl) = lanes(block);
                for k in 0..LANES {
                    let (c1, v1, cl1) = one(block[k]);
                    assert_eq!(
                        (c[k], v[k].to_bits(), cl[k]),
                        (c1, v1.to_bits(), cl1),
                        "lanes at {}",
                        block[k]
                    );
                }
            }
        }
        // Q8_0's rounding in lanes is roundf for every f32: each tie and its two neighbours to
        // beyond the clamp, both sides of 2^22 and 2^23, ±0, ±Inf, and random bit patterns of
        // every exponent — against the scalar form, and the reference where it does not clamp.
        let xs = rounding_probes(400_000);
        for block in xs.chunks_exact(LANES) {
            let block: &Lanes<f32> = block.try_into().unwrap_or(&[0.0; LANES]);
            let (c, v, cl) = Q8_0Coder.encode_lanes(block);
            for k in 0..LANES {
                let x = block[k];
                let (c1, v1, cl1) = Q8_0Coder.encode(x);
                let got = (c[k], v[k].to_bits(), cl[k]);
                assert_eq!(got, (c1, v1.to_bits(), cl1), "q8_0 lanes at {x:e}");
                if x.abs() <= 127.0 {
                    let (c2, v2, cl2) = Element::Q8_0.encode(x);
                    assert_eq!(got, (c2, v2.to_bits(), cl2), "q8_0 reference at {x:e}");
                }
            }
        }
    }
}
