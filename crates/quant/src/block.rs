//! Block scaling: how each block's (group's) scale is derived and stored.
//!
//! ```text
//! An absmax-scaled format stores x̂ = S · e, where e is an element of the format and
//!   ideal scale          S* = amax / e_max            (amax: the block's calibrated |x| bound)
//! and S is S* stored in the scale format:
//!   f32                  S = S*
//!   f16, bf16            S = S* rounded to nearest even (kept within the format's finite range)
//!   e8m0 (OCP MX v1.0)   S = 2^X, X = ⌊log2 amax⌋ − emax_elem     (floor, §6.3 of the spec)
//!                                  ⌈log2 S*⌉                       (ceil: never saturates)
//!                                  round-half-even(log2 S*)        (nearest)
//!                        X clamped to [−127, 127]; amax = 0 gives X = −127
//!   e4m3 (NVFP4)         two levels: a per-tensor f32 scale t = amax_tensor / (e_max · 448) and
//!                        per block S = t · e4m3(S* / t), RNE and saturating; a block whose e4m3
//!                        scale rounds to 0 uses 1 (NVIDIA TensorRT Model Optimizer's recipe)
//! ```
//! emax_elem = ⌊log2 e_max⌋: E2M1 2, E2M3 2, E3M2 4, E4M3 8, E5M2 15, and INT-b 0 for MXINT8's
//! implicit 2^−(b−2) element scale (for integer codes this is ⌊log2 qmax⌋ = b − 2).

use serde::{Deserialize, Serialize};

use crate::minifloat::FP8_E4M3;

/// Storage format of a block's scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleFormat {
    #[default]
    F32,
    F16,
    Bf16,
    /// A bare 8-bit exponent (OCP MX): the scale is a power of two.
    E8m0,
    /// FP8 E4M3 block scales under one f32 tensor scale (NVFP4).
    E4m3,
}

impl ScaleFormat {
    pub const ALL: [Self; 5] = [Self::F32, Self::F16, Self::Bf16, Self::E8m0, Self::E4m3];

    /// Bits one stored scale takes.
    pub fn bits(self) -> u32 {
        match self {
            Self::F32 => 32,
            Self::F16 | Self::Bf16 => 16,
            Self::E8m0 | Self::E4m3 => 8,
        }
    }

    /// Bits stored once per tensor (the f32 tensor scale of two-level scaling).
    pub fn tensor_bits(self) -> u32 {
        if self == Self::E4m3 {
            32
        } else {
            0
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::Bf16 => "bf16",
            Self::E8m0 => "e8m0",
            Self::E4m3 => "e4m3",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }

    /// A label for people (the page's select).
    pub fn label(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::Bf16 => "bf16",
            Self::E8m0 => "E8M0, 2^k (MX)",
            Self::E4m3 => "E4M3 × f32 (NVFP4)",
        }
    }

    /// How a scale is stored, in the formula panel's words.
    pub fn describe(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F16 => "f16 (rounded to nearest)",
            Self::Bf16 => "bf16 (rounded to nearest)",
            Self::E8m0 => "E8M0: a power of two, 2^X",
            Self::E4m3 => "E4M3 times one f32 tensor scale",
        }
    }
}

/// Rounding of an E8M0 scale's exponent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleRounding {
    /// The MX spec: X = ⌊log2 amax⌋ − emax_elem (the block maximum may saturate).
    #[default]
    Floor,
    /// X = ⌈log2(amax / e_max)⌉: the block maximum always fits.
    Ceil,
    /// X = log2(amax / e_max) rounded to nearest, ties to even.
    Nearest,
}

impl ScaleRounding {
    pub const ALL: [Self; 3] = [Self::Floor, Self::Ceil, Self::Nearest];

    pub fn name(self) -> &'static str {
        match self {
            Self::Floor => "floor",
            Self::Ceil => "ceil",
            Self::Nearest => "nearest",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }

    /// A label for people (the page's select).
    pub fn label(self) -> &'static str {
        match self {
            Self::Floor => "floor (MX spec)",
            Self::Ceil => "ceil (never saturates)",
            Self::Nearest => "nearest",
        }
    }
}

/// The element format's largest magnitude and its ⌊log2⌋.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ElementRange {
    pub max: f32,
    pub emax: i32,
}

impl ElementRange {
    pub fn of(max: f32) -> Self {
        Self {
            max,
            emax: max.log2().floor() as i32,
        }
    }
}

/// The per-tensor scale t of two-level (e4m3) scaling; 1 for other scale formats.
pub fn tensor_scale(format: ScaleFormat, tensor_amax: f32, elem: ElementRange) -> f32 {
    if format != ScaleFormat::E4m3 {
        return 1.0;
    }
    let t = tensor_amax / (elem.max * FP8_E4M3.max_value());
    if t.is_finite() && t > 0.0 {
        t
    } else {
        1.0
    }
}

/// The stored scale S of a block with bound `amax` (see the module docs). Always finite and > 0.
pub fn stored_scale(
    amax: f32,
    elem: ElementRange,
    format: ScaleFormat,
    rounding: ScaleRounding,
    tensor_scale: f32,
) -> f32 {
    let ideal = amax / elem.max;
    let s = match format {
        ScaleFormat::F32 => ideal,
        ScaleFormat::F16 => {
            let h = half::f16::from_f32(ideal);
            h.to_f32()
                .clamp(half::f16::from_bits(1).to_f32(), half::f16::MAX.to_f32())
        }
        ScaleFormat::Bf16 => half::bf16::from_f32(ideal)
            .to_f32()
            .clamp(half::bf16::from_bits(1).to_f32(), half::bf16::MAX.to_f32()),
        ScaleFormat::E8m0 => {
            let x = if !(amax > 0.0 && amax.is_finite()) {
                -127
            } else {
                match rounding {
                    ScaleRounding::Floor => return e8m0_floor(amax, elem.emax),
                    ScaleRounding::Ceil => ideal.log2().ceil() as i32,
                    ScaleRounding::Nearest => ideal.log2().round_ties_even() as i32,
                }
            };
            pow2(x.clamp(-127, 127))
        }
        ScaleFormat::E4m3 => {
            let (_, block, _) = FP8_E4M3.encode(ideal / tensor_scale);
            if block > 0.0 {
                block * tensor_scale
            } else {
                tensor_scale
            }
        }
    };
    if s.is_finite() && s > 0.0 {
        s
    } else {
        1.0
    }
}

/// `xs` rounded to f16 (or BF16 when `bf16`) and back, in place, through `half`'s slice
/// conversions (eight at a time where the machine converts so): the values of
/// `half::f16::from_f32(x).to_f32()` one by one.
pub(crate) fn round_to_16bit<const N: usize>(xs: &mut [f32; N], bf16: bool) {
    use half::slice::HalfFloatSliceExt;
    if bf16 {
        let mut h = [half::bf16::ZERO; N];
        h.convert_from_f32_slice(xs);
        h.convert_to_f32_slice(xs);
    } else {
        let mut h = [half::f16::ZERO; N];
        h.convert_from_f32_slice(xs);
        h.convert_to_f32_slice(xs);
    }
}

/// [`stored_scale`] of each of `scales` in place for a 16-bit format (F16 or BF16; element
/// range 1, no tensor scale): the same values, rounded by [`round_to_16bit`] in loops the
/// compiler vectorises.
pub(crate) fn stored_16bit_scales<const N: usize>(scales: &mut [f32; N], format: ScaleFormat) {
    let bf16 = format == ScaleFormat::Bf16;
    round_to_16bit(scales, bf16);
    let (lo, hi) = if bf16 {
        (half::bf16::from_bits(1).to_f32(), half::bf16::MAX.to_f32())
    } else {
        (half::f16::from_bits(1).to_f32(), half::f16::MAX.to_f32())
    };
    // Clamped into the format's positive range, only NaN is left to become 1.
    for s in scales.iter_mut() {
        let c = s.clamp(lo, hi);
        *s = if c.is_finite() { c } else { 1.0 };
    }
}

/// [`stored_scale`]'s E8M0 scale rounded down (the OCP MX rule): 2^(⌊log2 amax⌋ − emax) within
/// 2^±127, 2^−127 for a bound that is 0 or not finite. Inlined into a loop over every block's
/// bound, the compiler vectorises it (`plan`'s scales; one `stored_scale` call per 32 values
/// was 8 % of an MXFP4 analysis natively).
#[inline(always)]
pub(crate) fn e8m0_floor(amax: f32, emax: i32) -> f32 {
    let x = if amax > 0.0 && amax.is_finite() {
        floor_log2(amax) - emax
    } else {
        -127
    };
    pow2(x.clamp(-127, 127))
}

/// 2^e for −127 ≤ e ≤ 127, built from its bits (2^−127 is the subnormal 0x0040_0000): the
/// value `exp2` gives, without a libm call once per block (profiled at 4 % of an MXFP4 pass).
#[inline(always)]
fn pow2(e: i32) -> f32 {
    if e >= -126 {
        f32::from_bits(((e + 127) as u32) << 23)
    } else {
        f32::from_bits(1 << (22 - (-127 - e).min(22)))
    }
}

/// ⌊log2 x⌋ of a positive finite f32, exact (read from the exponent bits; subnormals included).
#[inline(always)]
pub fn floor_log2(x: f32) -> i32 {
    let bits = x.to_bits() & 0x7FFF_FFFF;
    let exp = (bits >> 23) as i32;
    if exp == 0 {
        // Subnormal: 2^−149 · mantissa.
        -149 + (31 - bits.leading_zeros() as i32)
    } else {
        exp - 127
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 16-bit scales stored a batch at a time are `stored_scale`'s one by one, bit for bit: zero,
    /// subnormals, values beyond either format's range, ∞ and NaN, the neighbours of f16's and
    /// bf16's rounding midpoints, and a spread of ordinary scales.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn sixteen_bit_scales_stored_together_equal_one_by_one() {
        let mut xs = vec![
            0.0,
            -0.0,
            f32::from_bits(1),
            f32::MIN_POSITIVE,
            5.9e-8,
            3.0e-8,
            6.1e-5,
            65504.0,
            65519.0,
            65520.0,
            1e6,
            3.4e38,
            f32::MAX,
            f32::INFINITY,
            f32::NAN,
            -1.0,
        ];
        for base in [1.0f32, 0.1, 3.3e-3, 700.0] {
            // Midpoints of f16 (10 bits) and bf16 (7 bits) and their neighbours.
            for bits in [13u32, 16] {
                let mid = f32::from_bits(base.to_bits() | (1 << (bits - 1)));
                xs.extend([
                    mid,
                    f32::from_bits(mid.to_bits() - 1),
                    f32::from_bits(mid.to_bits() + 1),
                ]);
            }
        }
        let mut seed = 7u32;
        for _ in 0..500 {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            xs.push(f32::from_bits(seed >> 2));
        }
        for format in [ScaleFormat::F16, ScaleFormat::Bf16] {
            for chunk in xs.chunks(8) {
                let mut batch = [0.5f32; 8];
                batch[..chunk.len()].copy_from_slice(chunk);
                let want = batch.map(|x| {
                    stored_scale(
                        x,
                        ElementRange::of(1.0),
                        format,
                        ScaleRounding::Nearest,
                        1.0,
                    )
                });
                stored_16bit_scales(&mut batch, format);
                for (k, (g, w)) in batch.iter().zip(&want).enumerate() {
                    assert_eq!(
                        g.to_bits(),
                        w.to_bits(),
                        "{format:?} {:e}",
                        chunk.get(k).copied().unwrap_or(0.5)
                    );
                }
            }
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn powers_of_two_from_bits_equal_exp2() {
        for e in -127..=127 {
            assert_eq!(pow2(e).to_bits(), (e as f32).exp2().to_bits(), "2^{e}");
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn mx_shared_exponent_follows_the_spec() {
        // MXFP4: amax 5.0 → ⌊log2 5⌋ = 2, emax 2 → X = 0, S = 1; 5 / 1 rounds to 4 or 6 in E2M1.
        let fp4 = ElementRange::of(6.0);
        assert_eq!(fp4.emax, 2);
        assert_eq!(
            stored_scale(5.0, fp4, ScaleFormat::E8m0, ScaleRounding::Floor, 1.0),
            1.0
        );
        // amax 7.9 → X = 0 still: 7.9 saturates to 6 (floor's known clipping).
        assert_eq!(
            stored_scale(7.9, fp4, ScaleFormat::E8m0, ScaleRounding::Floor, 1.0),
            1.0
        );
        // ceil: ⌈log2(7.9/6)⌉ = 1 → S = 2, nothing saturates.
        assert_eq!(
            stored_scale(7.9, fp4, ScaleFormat::E8m0, ScaleRounding::Ceil, 1.0),
            2.0
        );
        // MXFP8 E4M3 with amax 1000: ⌊log2 1000⌋ = 9, emax 8 → S = 2.
        let e4m3 = ElementRange::of(448.0);
        assert_eq!(
            stored_scale(1000.0, e4m3, ScaleFormat::E8m0, ScaleRounding::Floor, 1.0),
            2.0
        );
        // A zero block gets the smallest scale, 2^−127.
        assert_eq!(
            stored_scale(0.0, e4m3, ScaleFormat::E8m0, ScaleRounding::Floor, 1.0),
            2f32.powi(-127)
        );
        assert_eq!(floor_log2(1.0), 0);
        assert_eq!(floor_log2(0.75), -1);
        assert_eq!(floor_log2(f32::from_bits(1)), -149);
        assert_eq!(floor_log2(f32::MAX), 127);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn nvfp4_two_level_scale_by_hand() {
        let fp4 = ElementRange::of(6.0);
        // Tensor amax 2688 → t = 2688 / (6 · 448) = 1. A block with amax 3 wants S* = 0.5,
        // representable in E4M3, so S = 0.5.
        let t = tensor_scale(ScaleFormat::E4m3, 2688.0, fp4);
        assert_eq!(t, 1.0);
        assert_eq!(
            stored_scale(3.0, fp4, ScaleFormat::E4m3, ScaleRounding::Floor, t),
            0.5
        );
        // S* = 0.55 / 6 = 0.091666…: E4M3 neighbours 0.0859375 and 0.09375; nearer is 0.09375.
        assert_eq!(
            stored_scale(0.55, fp4, ScaleFormat::E4m3, ScaleRounding::Floor, t),
            0.09375
        );
        // bf16 and f16 scales round to nearest.
        assert_eq!(
            stored_scale(
                1.0,
                ElementRange::of(3.0),
                ScaleFormat::Bf16,
                ScaleRounding::Floor,
                1.0
            ),
            half::bf16::from_f32(1.0 / 3.0).to_f32()
        );
    }
}
