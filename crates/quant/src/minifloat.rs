//! Small floating-point formats (FP8, FP6, FP4): bit layout, decoding, and rounding to them.
//!
//! ```text
//! A code has 1 sign bit, E exponent bits and M mantissa bits; bias = 2^(E−1) − 1.
//!   exponent field e = 0:   value = (−1)^s · m · 2^(1 − bias − M)           (subnormal, and ±0)
//!   exponent field e > 0:   value = (−1)^s · (2^M + m) · 2^(e − bias − M)
//! Special codes depend on the format:
//!   all finite (OCP FP6 E3M2/E2M3, FP4 E2M1)  — every code is a number
//!   NaN only   (FP8 E4M3, "E4M3FN")            — S.1111.111 is NaN, no infinities
//!   IEEE       (FP8 E5M2)                      — e = 2^E − 1 is ±Inf (m = 0) or NaN
//! ```
//! Sources: OCP 8-bit Floating Point Specification (OFP8) rev. 1.0 §5; OCP Microscaling Formats
//! (MX) v1.0 §5.3. `ml_dtypes` implements the same types (`float8_e4m3fn`, `float8_e5m2`,
//! `float6_e3m2fn`, `float6_e2m3fn`, `float4_e2m1fn`).
//!
//! Rounding is to nearest, ties to even (the code with an even mantissa), and values beyond the
//! largest finite number saturate to it — the behaviour of `np.clip(x, -max, max).astype(fmt)`
//! with ml_dtypes, and of the MX spec's conversions. (ml_dtypes without the clip turns overflow
//! into NaN or Inf; quantizers saturate.)
//!
//! Written by hand because no crate offers these formats with saturation: the rounding is done on a
//! sorted table of the format's non-negative values (at most 127 of them), which makes ties and
//! subnormals exact by construction.

use serde::{Deserialize, Serialize};

/// Which codes are not numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Specials {
    /// Every code is finite.
    AllFinite,
    /// Only the all-ones magnitude is NaN (E4M3FN).
    NanOnly,
    /// IEEE 754 style: the top exponent holds Inf and NaN.
    Ieee,
}

/// A small float format, described by its exponent and mantissa widths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MiniFloat {
    pub exp_bits: u32,
    pub man_bits: u32,
    pub specials: Specials,
}

/// FP8 E4M3 (E4M3FN): bias 7, max 448 (0x7E), no infinities.
pub const FP8_E4M3: MiniFloat = MiniFloat {
    exp_bits: 4,
    man_bits: 3,
    specials: Specials::NanOnly,
};
/// FP8 E5M2: bias 15, max 57344 (0x7B), IEEE infinities.
pub const FP8_E5M2: MiniFloat = MiniFloat {
    exp_bits: 5,
    man_bits: 2,
    specials: Specials::Ieee,
};
/// FP6 E3M2: bias 3, max 28 (0x1F).
pub const FP6_E3M2: MiniFloat = MiniFloat {
    exp_bits: 3,
    man_bits: 2,
    specials: Specials::AllFinite,
};
/// FP6 E2M3: bias 1, max 7.5 (0x1F).
pub const FP6_E2M3: MiniFloat = MiniFloat {
    exp_bits: 2,
    man_bits: 3,
    specials: Specials::AllFinite,
};
/// FP4 E2M1: bias 1, values 0, 0.5, 1, 1.5, 2, 3, 4, 6.
pub const FP4_E2M1: MiniFloat = MiniFloat {
    exp_bits: 2,
    man_bits: 1,
    specials: Specials::AllFinite,
};

impl MiniFloat {
    /// Total width in bits, sign included.
    pub const fn bits(&self) -> u32 {
        1 + self.exp_bits + self.man_bits
    }

    pub const fn bias(&self) -> i32 {
        (1 << (self.exp_bits - 1)) - 1
    }

    /// The sign bit's mask.
    pub const fn sign_bit(&self) -> u32 {
        1 << (self.exp_bits + self.man_bits)
    }

    /// The largest magnitude code that is a finite number.
    pub const fn max_code(&self) -> u32 {
        let all = self.sign_bit() - 1;
        match self.specials {
            Specials::AllFinite => all,
            Specials::NanOnly => all - 1,
            Specials::Ieee => all - (1 << self.man_bits),
        }
    }

    /// The largest finite value.
    pub fn max_value(&self) -> f32 {
        self.magnitude_from_code(self.max_code())
    }

    /// The value of a magnitude code (sign bit clear), exact in f32; NaN/Inf codes give NaN/Inf.
    pub fn magnitude_from_code(&self, code: u32) -> f32 {
        let m_mask = (1 << self.man_bits) - 1;
        let e = (code >> self.man_bits) as i32;
        let m = (code & m_mask) as f32;
        if code > self.max_code() {
            return if self.specials == Specials::Ieee && code & m_mask == 0 {
                f32::INFINITY
            } else {
                f32::NAN
            };
        }
        let man = self.man_bits as i32;
        if e == 0 {
            m * pow2(1 - self.bias() - man)
        } else {
            (m + (1 << self.man_bits) as f32) * pow2(e - self.bias() - man)
        }
    }

    /// The value of a full code (sign included).
    pub fn real_from_code(&self, code: u32) -> f32 {
        let v = self.magnitude_from_code(code & (self.sign_bit() - 1));
        if code & self.sign_bit() != 0 {
            -v
        } else {
            v
        }
    }

    /// The non-negative finite values in code order (which is ascending order).
    pub fn magnitudes(&self) -> Vec<f32> {
        (0..=self.max_code())
            .map(|c| self.magnitude_from_code(c))
            .collect()
    }

    /// Rounds a finite `x` to this format: (code, value, clipped), with round-half-to-even and
    /// saturation; `clipped` means |x| exceeded the largest finite value.
    ///
    /// Bit arithmetic on the f32 (the table search of [`crate::codebook::LevelTable::minifloat`]
    /// gives the same results — a test checks it — but this is several times faster):
    /// ```text
    /// a = min(|x|, max)
    /// a < 2^(1−bias):  k = rne(a / 2^(1−bias−M)), value = k · 2^(1−bias−M), code = k
    /// otherwise:       round the f32 mantissa to M bits (add 2^(22−M) − 1 + lsb, clear the rest);
    ///                  code = (e_f32 − 127 + bias) << M | top M mantissa bits
    /// ```
    #[inline]
    pub fn encode(&self, x: f32) -> (u32, f32, bool) {
        let max = self.max_value();
        let clipped = x.abs() > max;
        let a = x.abs().min(max);
        let man = self.man_bits;
        let min_normal = pow2(1 - self.bias());
        let (code, value) = if a < min_normal {
            let step = pow2(1 - self.bias() - man as i32);
            // a / step < 2^M ≤ 2^22: adding and removing 2^23 rounds half to even.
            let k = (a / step + 8_388_608.0) - 8_388_608.0;
            (k as u32, k * step)
        } else {
            let drop = 23 - man;
            let bits = a.to_bits();
            let lsb = (bits >> drop) & 1;
            let rounded = (bits + (1 << (drop - 1)) - 1 + lsb) & !((1 << drop) - 1);
            let exp = (rounded >> 23) as i32 - 127 + self.bias();
            let code = ((exp as u32) << man) | ((rounded >> drop) & ((1 << man) - 1));
            (code, f32::from_bits(rounded))
        };
        if x.is_sign_negative() {
            (code | self.sign_bit(), -value, clipped)
        } else {
            (code, value, clipped)
        }
    }

    /// `floor(log2(max finite value))`, the "emax" of the MX spec's Table 1.
    pub fn emax(&self) -> i32 {
        self.max_value().log2().floor() as i32
    }
}

/// 2^e for the small exponents of these formats (|e| < 127: exact).
fn pow2(e: i32) -> f32 {
    f32::from_bits(((e + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bit arithmetic agrees with the table search on every midpoint, every value and a
    /// million random f32s of all magnitudes.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn bit_arithmetic_matches_the_table() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for f in [FP4_E2M1, FP6_E2M3, FP6_E3M2, FP8_E4M3, FP8_E5M2] {
            let table = crate::codebook::LevelTable::minifloat(f);
            let mut probes: Vec<f32> = table.levels.clone();
            probes.extend(&table.thresholds);
            for _ in 0..200_000 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Random bit patterns cover every exponent; keep the finite ones.
                let x = f32::from_bits(state as u32);
                if x.is_finite() {
                    probes.push(x);
                }
            }
            for &p in &probes {
                for x in [p, -p] {
                    let (c1, v1, k1) = f.encode(x);
                    let (c2, v2, k2) = table.encode(x);
                    assert_eq!(
                        (c1, v1.to_bits(), k1),
                        (c2, v2.to_bits(), k2),
                        "{f:?} at {x:e}"
                    );
                }
            }
        }
    }

    fn assert_values(f: MiniFloat, expect: &[f32]) {
        assert_eq!(f.magnitudes(), expect);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn fp4_values_are_the_spec_table() {
        assert_values(FP4_E2M1, &[0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]);
        assert_eq!(FP4_E2M1.real_from_code(0b1111), -6.0);
        assert_eq!(FP4_E2M1.emax(), 2);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn maxima_and_emax_match_the_specs() {
        // OFP8 §5 Table 1 and MX v1.0 Table 1/2.
        assert_eq!(FP8_E4M3.max_value(), 448.0);
        assert_eq!(FP8_E4M3.max_code(), 0x7E);
        assert!(FP8_E4M3.magnitude_from_code(0x7F).is_nan());
        assert_eq!(FP8_E5M2.max_value(), 57344.0);
        assert_eq!(FP8_E5M2.magnitude_from_code(0x7C), f32::INFINITY);
        assert!(FP8_E5M2.magnitude_from_code(0x7D).is_nan());
        assert_eq!(FP6_E3M2.max_value(), 28.0);
        assert_eq!(FP6_E2M3.max_value(), 7.5);
        let emax: Vec<i32> = [FP4_E2M1, FP6_E2M3, FP6_E3M2, FP8_E4M3, FP8_E5M2]
            .iter()
            .map(MiniFloat::emax)
            .collect();
        assert_eq!(emax, vec![2, 2, 4, 8, 15]);
        // Smallest subnormals: E4M3 2^-9, E5M2 2^-16, E3M2 2^-4, E2M3 2^-3.
        assert_eq!(FP8_E4M3.magnitude_from_code(1), 2f32.powi(-9));
        assert_eq!(FP8_E5M2.magnitude_from_code(1), 2f32.powi(-16));
        assert_eq!(FP6_E3M2.magnitude_from_code(1), 0.0625);
        assert_eq!(FP6_E2M3.magnitude_from_code(1), 0.125);
    }
}
