//! Uniform (affine) integer quantization with PyTorch observer semantics.
//!
//! ```text
//! Given a clipping range [α, β] and the code range [qmin, qmax]:
//!   α' = min(α, 0),  β' = max(β, 0)                      (the range always contains 0)
//!   asymmetric:  S = (β' − α') / (qmax − qmin)
//!                Z = clamp(qmin − round(α' / S), qmin, qmax)
//!   symmetric:   S = max(−α', β') / ((qmax − qmin) / 2)
//!                Z = 0 (signed) or (qmin + qmax + 1) / 2 (unsigned)
//!   S = max(S, ε_f32)          (ε = 2^−23, `torch.finfo(torch.float32).eps`)
//!   quantize:    q = clamp(round(r · (1/S)) + Z, qmin, qmax)
//!   dequantize:  r̂ = S · (q − Z)
//! ```
//! S is the step between reconstruction levels, Z the integer code of the real value 0, and
//! `round` the configured rounding (half-to-even by default). Everything is computed in f32, in the
//! order of `torch.ao.quantization.observer._calculate_qparams` and of PyTorch's
//! `fake_quantize_per_tensor_affine` kernel, which multiplies by the reciprocal 1/S rather than
//! dividing by S — the two differ at exact ties, and we follow PyTorch.
//!
//! For a range [α, β] that contains 0 this is the textbook S = (β − α)/(2^b − 1).
//!
//! One deliberate difference: PyTorch's symmetric *unsigned* zero-point with a customised range is
//! ⌊(qmin + qmax)/2⌋; we use (qmin + qmax + 1)/2 for every width, which equals PyTorch's 128 for the
//! default `quint8` range.

use serde::{Deserialize, Serialize};

/// Whether integer codes are signed (two's complement range) or unsigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Signedness {
    #[default]
    Signed,
    Unsigned,
}

/// Symmetric (zero-point fixed) or asymmetric/affine (zero-point fitted) mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    Symmetric,
    #[default]
    Asymmetric,
}

/// Rounding of r/S to an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Rounding {
    /// Round half to even (IEEE default, `torch.round`, `np.round`, `nearbyint`).
    #[default]
    NearestEven,
    /// Round half away from zero (`f32::round`).
    NearestAway,
    /// Toward −∞.
    Floor,
    /// floor(x + u) with u uniform in [0, 1), reproducible from the seed.
    Stochastic,
}

impl Signedness {
    pub const ALL: [Self; 2] = [Self::Signed, Self::Unsigned];

    /// The name the CLI, the page and JSON use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Signed => "signed",
            Self::Unsigned => "unsigned",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == s)
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Signed => "signed",
            Self::Unsigned => "unsigned",
        }
    }
}

impl Scheme {
    pub const ALL: [Self; 2] = [Self::Asymmetric, Self::Symmetric];

    /// The name the CLI, the page and JSON use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Symmetric => "symmetric",
            Self::Asymmetric => "asymmetric",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == s)
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        self.name()
    }
}

impl Rounding {
    pub const ALL: [Self; 4] = [
        Self::NearestEven,
        Self::NearestAway,
        Self::Floor,
        Self::Stochastic,
    ];

    /// The name the CLI, the page and JSON use.
    pub fn name(self) -> &'static str {
        match self {
            Self::NearestEven => "nearest-even",
            Self::NearestAway => "nearest-away",
            Self::Floor => "floor",
            Self::Stochastic => "stochastic",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == s)
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::NearestEven => "nearest, ties to even",
            Self::NearestAway => "nearest, ties away from 0",
            Self::Floor => "floor (truncate toward −∞)",
            Self::Stochastic => "stochastic (seeded)",
        }
    }
}

/// The integer grid a clipping range is mapped onto: what the scale and zero-point formulas need
/// of a quantizer's settings (a [`QuantizerConfig`](crate::config::QuantizerConfig) gives it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntGrid {
    pub qmin: i32,
    pub qmax: i32,
    pub scheme: Scheme,
    pub signedness: Signedness,
    pub power_of_two_scale: bool,
}

/// f32 machine epsilon, 2^−23 (bit pattern 0x3400_0000): the smallest scale PyTorch allows.
pub const MIN_SCALE: f32 = f32::EPSILON;

/// Scale and zero-point of one tensor, channel or group, with its code range.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AffineParams {
    pub scale: f32,
    pub zero_point: i32,
    pub qmin: i32,
    pub qmax: i32,
}

impl AffineParams {
    /// Scale and zero-point for the clipping range [lo, hi] (see the module docs).
    ///
    /// `lo`/`hi` must be finite; `lo > hi` is treated as an empty range around 0.
    pub fn from_range(lo: f32, hi: f32, grid: impl Into<IntGrid>) -> Self {
        let config: IntGrid = grid.into();
        let (qmin, qmax) = (config.qmin, config.qmax);
        // Compares, not f32::min/max (calls to fminf/fmaxf in WebAssembly, once per group: a
        // few per cent of a per-group analysis there); the same numbers, NaN giving way as there.
        let min_neg = min_nan_last(lo, 0.0);
        let max_pos = max_nan_last(hi, 0.0);
        let span = (qmax - qmin) as f32;
        let mut scale = match config.scheme {
            Scheme::Symmetric => max_nan_last(min_neg.abs(), max_pos) / (span / 2.0),
            Scheme::Asymmetric => (max_pos - min_neg) / span,
        };
        if !scale.is_finite() {
            // β − α overflows f32 (a range near ±f32::MAX): the same formula in f64.
            scale = ((f64::from(max_pos) - f64::from(min_neg)) / f64::from(span))
                .min(f64::from(f32::MAX)) as f32;
        }
        scale = max_nan_last(scale, MIN_SCALE);
        if config.power_of_two_scale {
            scale = pow2_ceil(scale);
        }
        let zero_point = match (config.scheme, config.signedness) {
            (Scheme::Symmetric, Signedness::Signed) => 0,
            (Scheme::Symmetric, Signedness::Unsigned) => (qmin + qmax + 1) / 2,
            (Scheme::Asymmetric, _) => {
                let z = qmin as f32 - (min_neg / scale).round_ties_even();
                z.clamp(qmin as f32, qmax as f32) as i32
            }
        };
        Self {
            scale: cap_scale(
                scale,
                (zero_point - qmin).max(qmax - zero_point),
                config.power_of_two_scale,
            ),
            zero_point,
            qmin,
            qmax,
        }
    }

    /// These parameters with the scale `scale` (a stored, rounded scale), lowered where a level
    /// would overflow f32 as in [`from_range`](Self::from_range).
    pub fn with_scale(self, scale: f32, power_of_two: bool) -> Self {
        // A stored scale can underflow below every normal f32 (an E4M3 block scale times a tiny
        // tensor scale): 1/S would then be +∞ and the codes garbage. The smallest normal, 2^−126,
        // is a power of two with a finite reciprocal; scales below it carry no information anyway.
        let scale = max_nan_last(scale, f32::MIN_POSITIVE);
        let reach = (self.zero_point - self.qmin).max(self.qmax - self.zero_point);
        Self {
            scale: cap_scale(scale, reach, power_of_two),
            ..self
        }
    }

    /// 1/S, the factor PyTorch's kernels multiply by.
    #[inline]
    pub fn inv_scale(&self) -> f32 {
        1.0 / self.scale
    }

    /// Quantizes one finite value. `noise` is the uniform [0, 1) draw used by stochastic rounding
    /// (ignored otherwise). Returns the code and whether clamping changed it (the value was clipped).
    #[inline]
    pub fn code_from_real(
        &self,
        r: f32,
        inv_scale: f32,
        rounding: Rounding,
        noise: f32,
    ) -> (i32, bool) {
        let coder = self.coder(inv_scale);
        match rounding {
            Rounding::NearestEven => coder.code(r, round_half_even),
            Rounding::NearestAway => coder.code(r, round_half_away),
            Rounding::Floor => coder.code(r, floor),
            // r/S is limited to one step past the code range first, so r/S + u < 2^22: exact.
            Rounding::Stochastic => coder.code(r, |x| floor(x + noise)),
        }
    }

    /// The constants of the quantizer's arithmetic, computed once for a loop.
    #[inline(always)]
    pub fn coder(&self, inv_scale: f32) -> Coder {
        Coder {
            inv_scale,
            lo: (self.qmin - self.zero_point) as f32 - 1.0,
            hi: (self.qmax - self.zero_point) as f32 + 1.0,
            zero_point: self.zero_point as f32,
            qmin: self.qmin as f32,
            qmax: self.qmax as f32,
            scale: self.scale,
        }
    }

    /// Dequantizes a code: r̂ = S · (q − Z).
    #[inline]
    pub fn real_from_code(&self, q: i32) -> f32 {
        (q - self.zero_point) as f32 * self.scale
    }

    /// Number of codes, qmax − qmin + 1.
    pub fn n_levels(&self) -> usize {
        (self.qmax - self.qmin + 1) as usize
    }

    /// All reconstruction levels, from qmin to qmax.
    pub fn levels(&self) -> Vec<f32> {
        (self.qmin..=self.qmax)
            .map(|q| self.real_from_code(q))
            .collect()
    }

    /// The decision thresholds between consecutive codes (n_levels − 1 of them).
    ///
    /// Nearest rounding: halfway between levels, S·(q − Z + ½). Floor: at the upper level, S·(q + 1 − Z).
    /// Stochastic rounding has no fixed threshold; the halfway points are returned as the places where
    /// either neighbour is equally likely.
    pub fn thresholds(&self, rounding: Rounding) -> Vec<f32> {
        let offset = match rounding {
            Rounding::Floor => 1.0,
            _ => 0.5,
        };
        (self.qmin..self.qmax)
            .map(|q| ((q - self.zero_point) as f32 + offset) * self.scale)
            .collect()
    }

    /// The range the codes can represent, [S·(qmin − Z), S·(qmax − Z)].
    pub fn representable_range(&self) -> (f32, f32) {
        (
            self.real_from_code(self.qmin),
            self.real_from_code(self.qmax),
        )
    }
}

/// The quantizer's arithmetic with its constants hoisted: the one place it is written, used by
/// [`AffineParams::code_from_real`] and inlined into the vectorised fused pass.
#[derive(Clone, Copy, Debug)]
pub struct Coder {
    pub(crate) inv_scale: f32,
    pub(crate) lo: f32,
    pub(crate) hi: f32,
    pub(crate) zero_point: f32,
    pub(crate) qmin: f32,
    pub(crate) qmax: f32,
    pub(crate) scale: f32,
}

impl Coder {
    /// q = clamp(round(r · (1/S)) + Z, qmin, qmax) and whether the clamp changed it.
    #[inline(always)]
    pub fn code(&self, r: f32, round: impl Fn(f32) -> f32) -> (i32, bool) {
        let (q, clamped) = self.rounded(r, round);
        // `clamped` is an integer in [qmin, qmax] ⊂ [−2^15, 2^16).
        (int_of(clamped), clamped != q)
    }

    /// round(r · (1/S)) + Z as an f32 integer, before and after clamping to [qmin, qmax].
    #[inline(always)]
    fn rounded(&self, r: f32, round: impl Fn(f32) -> f32) -> (f32, f32) {
        // Limit r/S to one step beyond the code range first: this keeps the rounding helpers in
        // their exact range (|x| < 2^22) and does not change which values are clipped.
        let q = round((r * self.inv_scale).clamp(self.lo, self.hi)) + self.zero_point;
        (q, q.clamp(self.qmin, self.qmax))
    }

    /// [`code`](Self::code) and [`real`](Self::real) of LANES values at once, step by step (see
    /// `crate::fused::Lanes`): the codes, the reconstructions and whether each was clipped.
    #[inline(always)]
    pub(crate) fn code_lanes(
        &self,
        r: &[f32; crate::metrics::LANES],
        round: impl Fn(f32) -> f32,
    ) -> (
        [i32; crate::metrics::LANES],
        [f32; crate::metrics::LANES],
        [bool; crate::metrics::LANES],
    ) {
        const L: usize = crate::metrics::LANES;
        let mut q = [0f32; L];
        for k in 0..L {
            q[k] = round((r[k] * self.inv_scale).clamp(self.lo, self.hi)) + self.zero_point;
        }
        let (mut code, mut r_hat, mut clipped) = ([0i32; L], [0f32; L], [false; L]);
        for k in 0..L {
            let c = q[k].clamp(self.qmin, self.qmax);
            clipped[k] = c != q[k];
            code[k] = int_of(c);
            r_hat[k] = (c - self.zero_point) * self.scale;
        }
        (code, r_hat, clipped)
    }

    /// The reconstruction r̂ = S · (q − Z) of [`code`](Self::code)'s q, and whether r was
    /// clipped, without the integer: q − Z is an integer below 2^17 in magnitude, exact in f32,
    /// so this equals [`AffineParams::real_from_code`] bit for bit.
    #[inline(always)]
    pub fn real(&self, r: f32, round: impl Fn(f32) -> f32) -> (f32, bool) {
        let (q, clamped) = self.rounded(r, round);
        ((clamped - self.zero_point) * self.scale, clamped != q)
    }
}

/// The i32 value of an integer-valued f32 with |x| < 2^22, read from the bits of x + 1.5·2^23
/// (exact: the sum's low mantissa bits are the integer in two's complement) rather than with
/// `as i32`, whose saturating checks (NaN, range) keep a conversion scalar; this one vectorises and
/// gives the same number. Outside that domain (NaN included) the result is meaningless but defined.
#[inline(always)]
pub(crate) fn int_of(x: f32) -> i32 {
    (x + ROUND_MAGIC)
        .to_bits()
        .wrapping_sub(ROUND_MAGIC.to_bits()) as i32
}

/// ⌊x⌋ of LANES values in [0, 2^22] (NaN: meaningless but defined). On x86-64 the truncating
/// conversion, which for x ≥ 0 is the floor: one instruction where `int_of(floor(x))` takes five
/// in a chain (the block pass bins every value by value, and Q4_0/Q4_1 floor every element);
/// `as i32`'s saturating checks, or the scalar intrinsic, kept it one lane at a time (natively,
/// Q4_1: 1.67 → 2.5 ms). Measured natively, 1M values (min of 5 × 150, alternating): the bins
/// alone took Q4_1 1.685 → 1.616 ms and Q8_0 1.597 → 1.557; with Q4_0/Q4_1's elements too, Q4_0
/// 1.290 → 1.133 and Q4_1 1.673 → 1.521. Elsewhere (WebAssembly, whose SIMD form has its own)
/// the portable steps.
#[inline(always)]
pub(crate) fn floor_lanes(x: &[f32; crate::metrics::LANES]) -> [u32; crate::metrics::LANES] {
    let mut out = [0u32; crate::metrics::LANES];
    // Whole groups of four lanes (no tail left unconverted).
    #[cfg(target_arch = "x86_64")]
    const _: () = assert!(crate::metrics::LANES % 4 == 0);
    #[cfg(target_arch = "x86_64")]
    for (o, x) in out.chunks_exact_mut(4).zip(x.chunks_exact(4)) {
        use std::arch::x86_64::{__m128i, _mm_cvttps_epi32, _mm_loadu_ps, _mm_storeu_si128};
        // SAFETY: SSE2 is part of x86-64; four f32 read from and four u32 written to slices of
        // four (unaligned loads and stores).
        unsafe {
            let v = _mm_cvttps_epi32(_mm_loadu_ps(x.as_ptr()));
            _mm_storeu_si128(o.as_mut_ptr().cast::<__m128i>(), v);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    for (o, &x) in out.iter_mut().zip(x) {
        *o = int_of(floor(x)) as u32;
    }
    out
}

/// 1.5 · 2^23 (bit pattern 0x4B40_0000): adding and subtracting it rounds an f32 of magnitude below
/// 2^22 to an integer, half to even, in the default rounding mode.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// `x` rounded to an integer as `rounding` does in the quantizer (`noise`: stochastic rounding's
/// uniform draw in [0, 1)). [`AffineParams::code_from_real`] keeps its own match so that each
/// mode's loop is compiled alone: through this function, `quantize` of 16M values per group of
/// 128 took 0.80 s instead of 0.61 s (stochastic rounding, release, measured at 7af2a88).
#[inline]
pub fn round_with(rounding: Rounding, x: f32, noise: f32) -> f32 {
    match rounding {
        Rounding::NearestEven => round_half_even(x),
        Rounding::NearestAway => round_half_away(x),
        Rounding::Floor => floor(x),
        Rounding::Stochastic => floor(x + noise),
    }
}

/// Round half to even for |x| < 2^22. Written out because `f32::round_ties_even` (and `floor`,
/// `round`) are library calls on x86-64 without SSE4.1 — many times slower in the hot loop — while
/// the two additions compile to plain instructions everywhere, wasm32 included, with identical
/// results.
#[inline]
pub fn round_half_even(x: f32) -> f32 {
    (x + ROUND_MAGIC) - ROUND_MAGIC
}

/// floor(x) for |x| < 2^22.
#[inline]
pub fn floor(x: f32) -> f32 {
    let r = round_half_even(x);
    if r > x {
        r - 1.0
    } else {
        r
    }
}

/// Round half away from zero for |x| < 2^22.
#[inline]
pub fn round_half_away(x: f32) -> f32 {
    let r = round_half_even(x);
    if (x - r).abs() == 0.5 && r.abs() < x.abs() {
        r + x.signum()
    } else {
        r
    }
}

/// `a.min(b)` for a finite `b`: `b` when `a` is NaN, as `f32::min` gives. Written as a compare
/// and select because `f32::min` is a call to `fminf` in WebAssembly (wasm's own `f32.min`
/// propagates NaN), which profiling found at 7 % of an MXFP4 pass and which cannot vectorise.
#[inline(always)]
pub(crate) fn min_nan_last(a: f32, b: f32) -> f32 {
    if a < b {
        a
    } else {
        b
    }
}

/// `a.max(b)` for a finite `b`, likewise (see [`min_nan_last`]).
#[inline(always)]
pub(crate) fn max_nan_last(a: f32, b: f32) -> f32 {
    if a > b {
        a
    } else {
        b
    }
}

/// `scale`, lowered where needed so that every level S·(q − Z), |q − Z| ≤ `reach`, is a finite
/// f32 (a power of two again with power-of-two scales). This changes nothing unless the range
/// reaches within a step of ±f32::MAX (e.g. symmetric int8 of [−f32::MAX, f32::MAX], whose level
/// −128·S would be −1.004·f32::MAX: PyTorch gives −Inf there; the capped scale clips instead).
pub(crate) fn cap_scale(scale: f32, reach: i32, power_of_two: bool) -> f32 {
    let reach = reach.max(1) as f32;
    if (scale * reach).is_finite() {
        return scale;
    }
    let mut s = if power_of_two {
        2f32.powi(crate::block::floor_log2(f32::MAX / reach))
    } else {
        f32::MAX / reach
    };
    // Division rounds to nearest and may round up: step down until the product fits.
    while !(s * reach).is_finite() {
        s = f32::from_bits(s.to_bits() - 1);
    }
    s
}

/// The smallest power of two ≥ `s` (for positive, finite `s`), at most 2^127.
fn pow2_ceil(s: f32) -> f32 {
    if s > 2f32.powi(126) {
        return 2f32.powi(127);
    }
    let p = s.log2().ceil();
    let v = 2f32.powi(p as i32);
    // log2 can be off by one ulp near exact powers; correct in both directions.
    if v < s {
        v * 2.0
    } else if v / 2.0 >= s {
        v / 2.0
    } else {
        v
    }
}

/// The reproducible uniform draw in [0, 1) for stochastic rounding of element `index`.
///
/// A counter-based generator (SplitMix64 of seed ⊕ index) rather than a stateful RNG, so that any
/// element can be rounded independently — in any order, in chunks, or in parallel — and still get the
/// same result for the same seed. Written here because it is four lines and must never change.
#[inline]
pub fn stochastic_noise(seed: u64, index: u64) -> f32 {
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // Top 24 bits → exactly representable f32 in [0, 1).
    (z >> 40) as f32 * (1.0 / 16_777_216.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::QuantizerConfig;

    fn cfg(bits: u8, signedness: Signedness, scheme: Scheme) -> QuantizerConfig {
        QuantizerConfig {
            bits,
            signedness,
            scheme,
            ..Default::default()
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn affine_int8_matches_pytorch_minmax_observer() {
        // torch.ao.quantization.MinMaxObserver(dtype=torch.qint8) on [-1.0, 3.0]:
        // scale = 4/255 = 0.015686275, zero_point = -128 - round(-1/scale) = -128 + 64 = -64
        let p =
            AffineParams::from_range(-1.0, 3.0, &cfg(8, Signedness::Signed, Scheme::Asymmetric));
        assert_eq!(p.scale, 4.0f32 / 255.0);
        assert_eq!(p.zero_point, -64);
        assert_eq!((p.qmin, p.qmax), (-128, 127));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn range_is_extended_to_contain_zero() {
        // [2, 4] becomes [0, 4]: Z = qmin for unsigned.
        let p =
            AffineParams::from_range(2.0, 4.0, &cfg(8, Signedness::Unsigned, Scheme::Asymmetric));
        assert_eq!(p.scale, 4.0f32 / 255.0);
        assert_eq!(p.zero_point, 0);
        let (lo, hi) = p.representable_range();
        assert_eq!(lo, 0.0);
        assert!((hi - 4.0).abs() < 1e-6);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn symmetric_zero_points() {
        let s = AffineParams::from_range(-2.0, 1.0, &cfg(8, Signedness::Signed, Scheme::Symmetric));
        assert_eq!(s.zero_point, 0);
        assert_eq!(s.scale, 2.0f32 / 127.5);
        let u =
            AffineParams::from_range(-2.0, 1.0, &cfg(8, Signedness::Unsigned, Scheme::Symmetric));
        assert_eq!(u.zero_point, 128);
        let u4 =
            AffineParams::from_range(-2.0, 1.0, &cfg(4, Signedness::Unsigned, Scheme::Symmetric));
        assert_eq!(u4.zero_point, 8);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn constant_zero_tensor_gets_epsilon_scale() {
        let p = AffineParams::from_range(0.0, 0.0, &cfg(8, Signedness::Signed, Scheme::Asymmetric));
        assert_eq!(p.scale, f32::EPSILON);
        assert_eq!(p.zero_point, -128);
        let (q, clipped) = p.code_from_real(0.0, p.inv_scale(), Rounding::NearestEven, 0.0);
        assert_eq!((q, clipped), (-128, false));
        assert_eq!(p.real_from_code(q), 0.0);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn rounding_modes_at_ties() {
        let p = AffineParams {
            scale: 1.0,
            zero_point: 0,
            qmin: -8,
            qmax: 7,
        };
        let code = |r, mode| p.code_from_real(r, 1.0, mode, 0.0).0;
        assert_eq!(code(2.5, Rounding::NearestEven), 2);
        assert_eq!(code(3.5, Rounding::NearestEven), 4);
        assert_eq!(code(-2.5, Rounding::NearestEven), -2);
        assert_eq!(code(2.5, Rounding::NearestAway), 3);
        assert_eq!(code(-2.5, Rounding::NearestAway), -3);
        assert_eq!(code(-2.1, Rounding::Floor), -3);
        assert_eq!(p.code_from_real(2.25, 1.0, Rounding::Stochastic, 0.74).0, 2);
        assert_eq!(p.code_from_real(2.25, 1.0, Rounding::Stochastic, 0.75).0, 3);
        assert_eq!(
            p.code_from_real(100.0, 1.0, Rounding::NearestEven, 0.0),
            (7, true)
        );
        assert_eq!(
            p.code_from_real(-100.0, 1.0, Rounding::NearestEven, 0.0),
            (-8, true)
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn fast_rounding_equals_the_standard_library() {
        // Every multiple of 1/8 in [-300, 300] (all the ties), plus values near the ends of the
        // supported range and just off the ties.
        let mut xs: Vec<f32> = (-2400..=2400).map(|i| i as f32 / 8.0).collect();
        xs.extend([
            4_194_303.5,
            -4_194_303.5,
            4_194_302.5,
            0.49999997,
            -0.49999997,
            1.5000001,
            -2.4999998,
        ]);
        for &x in &xs {
            assert_eq!(round_half_even(x), x.round_ties_even(), "even {x}");
            assert_eq!(round_half_away(x), x.round(), "away {x}");
            assert_eq!(floor(x), x.floor(), "floor {x}");
        }
        // floor_lanes, on its domain [0, 2^22]: eight at a time, each lane different.
        let mut ys: Vec<f32> = xs.into_iter().filter(|&x| x >= 0.0).collect();
        ys.extend([4_194_304.0, 4_194_303.5, 1e-45, 0.99999994]);
        for block in ys.chunks(crate::metrics::LANES) {
            let mut x = [0f32; crate::metrics::LANES];
            x[..block.len()].copy_from_slice(block);
            let got = floor_lanes(&x);
            for k in 0..x.len() {
                assert_eq!(got[k], x[k].floor() as u32, "floor_lanes {}", x[k]);
            }
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn levels_and_thresholds_interleave() {
        let p =
            AffineParams::from_range(-1.0, 1.0, &cfg(3, Signedness::Signed, Scheme::Asymmetric));
        let levels = p.levels();
        let th = p.thresholds(Rounding::NearestEven);
        assert_eq!(levels.len(), 8);
        assert_eq!(th.len(), 7);
        for (i, t) in th.iter().enumerate() {
            assert!(levels[i] < *t && *t < levels[i + 1]);
        }
        let floor_th = p.thresholds(Rounding::Floor);
        assert_eq!(&floor_th[..], &levels[1..]);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn power_of_two_scale_rounds_up() {
        assert_eq!(pow2_ceil(0.3), 0.5);
        assert_eq!(pow2_ceil(0.5), 0.5);
        assert_eq!(pow2_ceil(3.0), 4.0);
        let c = QuantizerConfig {
            power_of_two_scale: true,
            ..cfg(8, Signedness::Signed, Scheme::Symmetric)
        };
        let p = AffineParams::from_range(-1.0, 1.0, &c);
        assert_eq!(p.scale, 1.0 / 64.0); // 1/127.5 = 0.00784 → 2^-7 = 0.0078125 < 0.00784 → 2^-6
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn stochastic_noise_is_uniform_and_reproducible() {
        let draws: Vec<f32> = (0..10_000).map(|i| stochastic_noise(7, i)).collect();
        assert!(draws.iter().all(|&u| (0.0..1.0).contains(&u)));
        let mean = draws.iter().map(|&u| f64::from(u)).sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
        assert_eq!(stochastic_noise(7, 42), draws[42]);
        assert_ne!(stochastic_noise(8, 42), draws[42]);
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use super::*;
    use crate::config::QuantizerConfig;
    use proptest::prelude::*;

    fn any_config() -> impl Strategy<Value = QuantizerConfig> {
        (
            1u8..=16,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |(bits, unsigned, symmetric, narrow, pow2)| QuantizerConfig {
                    bits,
                    signedness: if unsigned {
                        Signedness::Unsigned
                    } else {
                        Signedness::Signed
                    },
                    scheme: if symmetric {
                        Scheme::Symmetric
                    } else {
                        Scheme::Asymmetric
                    },
                    narrow_range: narrow && !unsigned && bits >= 2,
                    power_of_two_scale: pow2,
                    ..Default::default()
                },
            )
    }

    fn range() -> impl Strategy<Value = (f32, f32)> {
        (-1e4f32..1e4, 0f32..1e4).prop_map(|(lo, width)| (lo, lo + width))
    }

    proptest! {
        /// The integer-free reconstruction used by the MSE search is the dequantized code, to
        /// the bit, and agrees on clipping.
        #[test]
        fn coder_real_is_the_dequantized_code(cfg in any_config(), (lo, hi) in range(), r in -1e6f32..1e6) {
            let p = AffineParams::from_range(lo, hi, &cfg);
            let coder = p.coder(p.inv_scale());
            let (q, clipped) = coder.code(r, round_half_even);
            let (r_hat, clipped_too) = coder.real(r, round_half_even);
            prop_assert_eq!(r_hat.to_bits(), p.real_from_code(q).to_bits());
            prop_assert_eq!(clipped, clipped_too);
        }

        #[test]
        fn codes_stay_in_range(cfg in any_config(), (lo, hi) in range(), r in -1e6f32..1e6) {
            let p = AffineParams::from_range(lo, hi, &cfg);
            let (q, _) = p.code_from_real(r, p.inv_scale(), Rounding::NearestEven, 0.0);
            prop_assert!(q >= p.qmin && q <= p.qmax);
        }

        #[test]
        fn error_is_at_most_half_a_step_inside_the_range(cfg in any_config(), (lo, hi) in range(), t in 0f32..=1.0) {
            let p = AffineParams::from_range(lo, hi, &cfg);
            let (a, b) = p.representable_range();
            let r = a + t * (b - a);
            let (q, clipped) = p.code_from_real(r, p.inv_scale(), Rounding::NearestEven, 0.0);
            let err = (r - p.real_from_code(q)).abs();
            // half a step, plus the f32 rounding of r·(1/S) and of S·(q − Z)
            let slack = p.scale * 1e-3 + b.abs().max(a.abs()) * 4.0 * f32::EPSILON;
            prop_assert!(err <= p.scale / 2.0 + slack, "err {} step {} clipped {}", err, p.scale, clipped);
        }

        #[test]
        fn quantize_dequantize_quantize_is_quantize(cfg in any_config(), (lo, hi) in range(), r in -2e4f32..2e4) {
            let p = AffineParams::from_range(lo, hi, &cfg);
            let inv = p.inv_scale();
            let (q, _) = p.code_from_real(r, inv, Rounding::NearestEven, 0.0);
            let (q2, _) = p.code_from_real(p.real_from_code(q), inv, Rounding::NearestEven, 0.0);
            prop_assert_eq!(q, q2);
        }

        #[test]
        fn transfer_is_monotone(cfg in any_config(), (lo, hi) in range(), r in -2e4f32..2e4, d in 0f32..100.0) {
            let p = AffineParams::from_range(lo, hi, &cfg);
            let inv = p.inv_scale();
            for rounding in [Rounding::NearestEven, Rounding::NearestAway, Rounding::Floor] {
                let (q1, _) = p.code_from_real(r, inv, rounding, 0.0);
                let (q2, _) = p.code_from_real(r + d, inv, rounding, 0.0);
                prop_assert!(q1 <= q2);
                prop_assert!(p.real_from_code(q1) <= p.real_from_code(q2));
            }
        }
    }
}
