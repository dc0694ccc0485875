//! Quantizing to an arbitrary sorted set of levels: the machinery behind every non-uniform format.
//!
//! ```text
//! levels     ℓ_0 < ℓ_1 < … < ℓ_{K−1}            (in the element domain, before scaling)
//! thresholds t_i = (ℓ_i + ℓ_{i+1}) / 2           (computed in f32; the decision boundaries)
//! code(x)    = the i with t_{i−1} < x < t_i;     x = t_i is a tie, settled by the table's rule
//!              x below t_0 gives ℓ_0, above t_{K−2} gives ℓ_{K−1} (saturation)
//! ```
//! Nearest-level rounding is the optimal decoder-side choice for any fixed set of levels (it is the
//! "nearest neighbour condition" of Lloyd–Max quantization). A table can hold magnitudes only; then
//! the sign is coded separately (sign–magnitude formats such as the minifloats and log2).

use serde::{Deserialize, Serialize};

use crate::minifloat::MiniFloat;

/// How a value exactly halfway between two levels is rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tie {
    /// To the level whose code is even (IEEE round-half-to-even).
    EvenCode,
    /// To the lower level.
    Lower,
}

/// A sorted table of levels with their codes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelTable {
    /// Ascending levels (magnitudes when `sign_bit` is set).
    pub levels: Vec<f32>,
    /// Midpoints between consecutive levels.
    pub thresholds: Vec<f32>,
    /// The code (bit pattern) of each level.
    pub codes: Vec<u32>,
    pub tie: Tie,
    /// Sign–magnitude: the sign bit ORed into the code of negative values.
    pub sign_bit: Option<u32>,
}

impl LevelTable {
    /// A table of ascending, distinct, finite `levels` with `codes`.
    pub fn new(levels: Vec<f32>, codes: Vec<u32>, tie: Tie, sign_bit: Option<u32>) -> Self {
        let thresholds = levels.windows(2).map(|w| midpoint(w[0], w[1])).collect();
        Self {
            levels,
            thresholds,
            codes,
            tie,
            sign_bit,
        }
    }

    /// Codes 0, 1, … in level order.
    pub fn indexed(levels: Vec<f32>, tie: Tie) -> Self {
        let codes = (0..levels.len() as u32).collect();
        Self::new(levels, codes, tie, None)
    }

    /// The non-negative values of a minifloat, sign–magnitude, ties to even.
    pub fn minifloat(format: MiniFloat) -> Self {
        let codes = (0..=format.max_code()).collect();
        Self::new(
            format.magnitudes(),
            codes,
            Tie::EvenCode,
            Some(format.sign_bit()),
        )
    }

    /// Index of the nearest level to `x` (finite; magnitudes for sign–magnitude tables).
    #[inline]
    pub fn index_of(&self, x: f32) -> usize {
        let i = count_less(&self.thresholds, x);
        if i < self.thresholds.len() && self.thresholds[i] == x {
            match self.tie {
                Tie::Lower => i,
                Tie::EvenCode => {
                    if self.codes[i] % 2 == 0 {
                        i
                    } else {
                        i + 1
                    }
                }
            }
        } else {
            i
        }
    }

    /// Quantizes a finite `x`: (code, level, clipped), where clipped means `x` lies beyond the
    /// outermost level.
    #[inline]
    pub fn encode(&self, x: f32) -> (u32, f32, bool) {
        let last = self.levels.len() - 1;
        match self.sign_bit {
            Some(sign) => {
                let a = x.abs();
                let i = self.index_of(a);
                let level = self.levels[i];
                if x.is_sign_negative() {
                    (self.codes[i] | sign, -level, a > self.levels[last])
                } else {
                    (self.codes[i], level, a > self.levels[last])
                }
            }
            None => {
                let i = self.index_of(x);
                let clipped = x < self.levels[0] || x > self.levels[last];
                (self.codes[i], self.levels[i], clipped)
            }
        }
    }

    /// Every level, negative ones included, ascending.
    pub fn signed_levels(&self) -> Vec<f32> {
        mirror(&self.levels, self.sign_bit.is_some())
    }

    /// Every threshold, negative ones included, ascending.
    pub fn signed_thresholds(&self) -> Vec<f32> {
        mirror(&self.thresholds, self.sign_bit.is_some())
    }

    /// Number of distinct code values (both signs for sign–magnitude tables).
    pub fn n_codes(&self) -> usize {
        match self.sign_bit {
            Some(sign) => 2 * sign as usize,
            None => self.codes.iter().max().map_or(1, |&c| c as usize + 1),
        }
    }
}

/// How many of the ascending `t` are < x: a binary search whose steps are conditional moves, not
/// branches (a data-dependent branch mispredicts about half the time here).
#[inline]
fn count_less(t: &[f32], x: f32) -> usize {
    if t.is_empty() {
        return 0;
    }
    let (mut base, mut n) = (0usize, t.len());
    while n > 1 {
        let half = n / 2;
        base = if t[base + half - 1] < x {
            base + half
        } else {
            base
        };
        n -= half;
    }
    base + usize::from(t[base] < x)
}

/// (a + b)/2 without overflow, in f32: a + (b − a)/2, or a/2 + b/2 where b − a itself overflows
/// (levels of opposite sign near ±f32::MAX).
fn midpoint(a: f32, b: f32) -> f32 {
    let d = b - a;
    if d.is_finite() {
        a + d / 2.0
    } else {
        a / 2.0 + b / 2.0
    }
}

fn mirror(v: &[f32], signed: bool) -> Vec<f32> {
    if !signed {
        return v.to_vec();
    }
    let mut out: Vec<f32> = v.iter().rev().filter(|&&x| x > 0.0).map(|&x| -x).collect();
    out.extend_from_slice(v);
    out
}

/// The 16 NormalFloat-4 levels of QLoRA (Dettmers et al. 2023, Appendix E), as bitsandbytes stores
/// them (`NF4_QUANT_TABLE`), codes 0–15 in this order.
pub const NF4_LEVELS: [f32; 16] = [
    -1.0,
    -0.696_192_8,
    -0.525_073_05,
    -0.394_917_5,
    -0.284_441_38,
    -0.184_773_43,
    -0.091_050_036,
    0.0,
    0.079_580_3,
    0.160_930_2,
    0.246_112_3,
    0.337_915_24,
    0.440_709_83,
    0.562_617,
    0.722_956_84,
    1.0,
];

/// NF4: values are divided by their block's absmax, then the nearest level is taken (bitsandbytes
/// compares with `>` against the midpoints, so a tie goes to the lower level).
pub fn nf4() -> LevelTable {
    LevelTable::indexed(NF4_LEVELS.to_vec(), Tie::Lower)
}

/// Signed fixed point Qm.n: levels k · 2^−n for k in [−2^(m+n), 2^(m+n) − 1], codes are k in
/// two's complement over 1 + m + n bits; round half to even (k even).
pub fn fixed_point(int_bits: u32, frac_bits: u32) -> LevelTable {
    let total = 1 + int_bits + frac_bits;
    let half = 1i64 << (int_bits + frac_bits);
    let step = (-(frac_bits as f32)).exp2();
    let mask = (1u64 << total) - 1;
    let (levels, codes) = (-half..half)
        .map(|k| (k as f32 * step, (k as u64 & mask) as u32))
        .unzip();
    LevelTable::new(levels, codes, Tie::EvenCode, None)
}

/// Logarithmic quantization with `bits` bits: a sign bit and 2^(b−1) magnitudes
/// {0, 2^−(L−1), …, 2^−1, 1}, L = 2^(b−1) − 1; nearest level in the linear domain.
pub fn log2(bits: u32) -> LevelTable {
    let n_mags = 1u32 << (bits - 1);
    let nonzero = n_mags - 1;
    let mut levels = vec![0.0];
    levels.extend((0..nonzero).map(|j| (-((nonzero - 1 - j) as f32)).exp2()));
    let codes = (0..n_mags).collect();
    LevelTable::new(levels, codes, Tie::Lower, Some(n_mags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn thresholds_between_levels_near_the_f32_limits_are_numbers() {
        let t = LevelTable::indexed(vec![-f32::MAX, f32::MAX], Tie::Lower);
        assert_eq!(t.thresholds, vec![0.0]);
        assert_eq!(t.encode(3e38).1, f32::MAX);
        assert_eq!(midpoint(1.0, 2.0), 1.5);
    }
    use crate::minifloat::{FP4_E2M1, FP6_E2M3, FP6_E3M2, FP8_E4M3, FP8_E5M2};

    /// Every finite code decodes to a value that encodes back to the same code, and the
    /// midpoint between consecutive values rounds to the one with the even code.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn every_minifloat_code_round_trips_and_ties_go_to_even() {
        for f in [FP4_E2M1, FP6_E2M3, FP6_E3M2, FP8_E4M3, FP8_E5M2] {
            let t = LevelTable::minifloat(f);
            for code in 0..(2 * f.sign_bit()) {
                let v = f.real_from_code(code);
                if !v.is_finite() {
                    continue;
                }
                let (back, level, clipped) = t.encode(v);
                assert_eq!(back, code, "{f:?} code {code:#x} value {v}");
                assert_eq!(level, v);
                assert!(!clipped);
            }
            for c in 0..f.max_code() {
                let (a, b) = (f.magnitude_from_code(c), f.magnitude_from_code(c + 1));
                let mid = (a + b) / 2.0;
                let want = if c % 2 == 0 { c } else { c + 1 };
                assert_eq!(t.encode(mid).0, want, "{f:?} tie between {a} and {b}");
                // Just off the tie, the nearer value wins.
                assert_eq!(t.encode(mid.next_down_f32()).0, c);
                assert_eq!(t.encode(mid.next_up_f32()).0, c + 1);
            }
            // Saturation, and the sign of negative zero results.
            let (code, level, clipped) = t.encode(-1e30);
            assert_eq!(
                (code, level, clipped),
                (f.sign_bit() | f.max_code(), -f.max_value(), true)
            );
            assert_eq!(t.encode(-1e-30).0, f.sign_bit());
        }
    }

    trait Adjacent {
        fn next_up_f32(self) -> f32;
        fn next_down_f32(self) -> f32;
    }
    impl Adjacent for f32 {
        fn next_up_f32(self) -> f32 {
            f32::from_bits(self.to_bits() + 1)
        }
        fn next_down_f32(self) -> f32 {
            f32::from_bits(self.to_bits() - 1)
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn nf4_rounds_to_the_nearest_level() {
        let t = nf4();
        assert_eq!(t.encode(0.03).0, 7);
        assert_eq!(t.encode(0.05).0, 8);
        assert_eq!(t.encode(-0.9).0, 0);
        assert_eq!(t.encode(0.95).0, 15);
        assert_eq!(t.encode(1.5), (15, 1.0, true));
        // A tie goes down, as bitsandbytes' `x > threshold` does.
        let mid = t.thresholds[7];
        assert_eq!(t.encode(mid).0, 7);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn fixed_point_q2_2_by_hand() {
        // Q2.2: 5 bits, step 0.25, range [-4, 3.75].
        let t = fixed_point(2, 2);
        assert_eq!(t.levels.len(), 32);
        assert_eq!((t.levels[0], t.levels[31]), (-4.0, 3.75));
        assert_eq!(t.encode(0.3), (1, 0.25, false));
        // 0.375 is halfway between k = 1 and k = 2: even k wins.
        assert_eq!(t.encode(0.375), (2, 0.5, false));
        assert_eq!(t.encode(0.125), (0, 0.0, false));
        // −0.25 is k = −1: code 0b11111.
        assert_eq!(t.encode(-0.25), (31, -0.25, false));
        assert_eq!(t.encode(9.0), (15, 3.75, true));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn log2_levels_are_powers_of_two() {
        let t = log2(4);
        assert_eq!(
            t.levels,
            vec![
                0.0,
                1.0 / 64.0,
                1.0 / 32.0,
                1.0 / 16.0,
                0.125,
                0.25,
                0.5,
                1.0
            ]
        );
        assert_eq!(t.encode(0.3), (5, 0.25, false));
        assert_eq!(t.encode(-0.7), (8 | 6, -0.5, false));
        assert_eq!(t.signed_levels().len(), 15);
    }
}
