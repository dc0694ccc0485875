//! Integer-only inference of a linear layer, bit for bit as TensorFlow Lite's reference kernels
//! compute it (`tensorflow/lite/kernels/internal/common.h`, `quantization_util.cc`, and gemmlowp's
//! `fixedpoint.h`).
//!
//! ```text
//! x_q = Q(X)    int8, per tensor, asymmetric (S_x, Z_x)        the observer convention
//! w_q = Q(W)    int8, per output row j, symmetric narrow range [−127, 127] (S_w[j], Z = 0)
//! acc[i][j] = Σ_k (x_q[i][k] − Z_x) · w_q[j][k]                int32
//! M_j = (S_x · S_w[j]) / S_y = M0_j · 2^(shift_j − 31)          M0_j a 31-bit integer (QuantizeMultiplier)
//! y_q[i][j] = clamp(MultiplyByQuantizedMultiplier(acc, M0_j, shift_j) + Z_y, −128, 127)
//! ```
//! S_y and Z_y come from the float result Y = X·Wᵀ (per tensor, asymmetric, its min–max range), as
//! a calibrated model's output scale would. Only integer arithmetic runs between x_q, w_q and y_q:
//! the multiplier is a fixed-point number, the rescaling a rounding high multiply and a rounding
//! shift.

use serde::{Deserialize, Serialize};

use crate::affine::AffineParams;
use crate::config::{Granularity, QuantizerConfig, Scheme, Signedness};

/// TFLite's `QuantizeMultiplier`: M = M0 · 2^(shift − 31) with M0 in [2^30, 2^31) (or 0), from
/// `frexp` and a round half away from zero of the mantissa · 2^31; a mantissa that rounds up to
/// 2^31 is halved and the shift raised; a shift below −31 (every bit shifted out) gives 0.
pub fn quantize_multiplier(m: f64) -> (i32, i32) {
    if m == 0.0 || !m.is_finite() {
        return (0, 0);
    }
    let (q, mut shift) = frexp(m);
    let mut q_fixed = (q * (1i64 << 31) as f64).round() as i64; // f64::round: half away from 0
    if q_fixed == 1i64 << 31 {
        q_fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        return (0, 0);
    }
    (q_fixed as i32, shift)
}

/// C's `frexp`: m = q · 2^e with |q| in [0.5, 1).
fn frexp(m: f64) -> (f64, i32) {
    if m == 0.0 || !m.is_finite() {
        return (m, 0);
    }
    let bits = m.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        // Subnormal: scale up first.
        let (q, e) = frexp(m * 2f64.powi(64));
        return (q, e - 64);
    }
    let e = exp - 1022;
    let q = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (q, e)
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul`: the high 32 bits of 2·a·b, rounded to nearest
/// (ties away from zero), with the single overflow (INT32_MIN · INT32_MIN) saturated.
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == b && a == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // C++ integer division truncates toward zero, as Rust's does.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp's `RoundingDivideByPOT`: x / 2^exponent rounded to nearest, ties away from zero.
pub fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    let mask: i32 = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// TFLite's reference `MultiplyByQuantizedMultiplier`: x · M0 · 2^(shift − 31), a left shift
/// before the high multiply and a rounding right shift after it.
pub fn multiply_by_quantized_multiplier(x: i32, m0: i32, shift: i32) -> i32 {
    let left = shift.max(0) as u32;
    let right = (-shift).max(0) as u32;
    // The left shift wraps as the C++ int multiplication does on the machines TFLite runs on.
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(x.wrapping_mul(1i32.wrapping_shl(left)), m0),
        right.min(31),
    )
}

/// What the integer layer computed, with the float result beside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntMatmul {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub input_scale: f32,
    pub input_zero_point: i32,
    /// Per output row.
    pub weight_scale: Vec<f32>,
    pub output_scale: f32,
    pub output_zero_point: i32,
    /// M0_j and shift_j per output row.
    pub multiplier: Vec<i32>,
    pub shift: Vec<i32>,
    /// x_q [m, k], w_q [n, k], the int32 accumulators and y_q [m, n], row-major.
    pub x_q: Vec<i8>,
    pub w_q: Vec<i8>,
    pub acc: Vec<i32>,
    pub y_q: Vec<i8>,
    /// Y = X·Wᵀ in float (f64 sums of the f32 inputs) and the integer result dequantized.
    pub y: Vec<f32>,
    pub y_hat: Vec<f32>,
    pub mse: f64,
    pub sqnr_db: f64,
    pub max_abs_error: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum IntMatmulError {
    #[error("X must be [m, k] and W [n, k] with the same k; got X {x:?} and W {w:?}")]
    Shapes { x: Vec<usize>, w: Vec<usize> },
    #[error("the {0} hold NaN or ±Inf; integer inference needs finite numbers")]
    NonFinite(&'static str),
    #[error("k = {0} inputs could overflow the int32 accumulator (at most 65,536 here)")]
    TooWide(usize),
}

fn params(lo: f32, hi: f32, scheme: Scheme, narrow: bool) -> AffineParams {
    let config = QuantizerConfig {
        bits: 8,
        signedness: Signedness::Signed,
        scheme,
        narrow_range: narrow,
        granularity: Granularity::Tensor,
        ..QuantizerConfig::default()
    };
    AffineParams::from_range(lo, hi, &config)
}

fn quantize_one(p: &AffineParams, r: f32) -> i8 {
    let (q, _) = p.code_from_real(r, p.inv_scale(), crate::config::Rounding::NearestEven, 0.0);
    q as i8
}

/// The integer layer for X [m, k] and W [n, k] (see the module docs).
pub fn int_matmul(
    x: &[f32],
    x_shape: &[usize],
    w: &[f32],
    w_shape: &[usize],
) -> Result<IntMatmul, IntMatmulError> {
    let (&[m, k], &[n, kw]) = (x_shape, w_shape) else {
        return Err(IntMatmulError::Shapes {
            x: x_shape.to_vec(),
            w: w_shape.to_vec(),
        });
    };
    if k != kw || m * k != x.len() || n * k != w.len() || m == 0 || n == 0 || k == 0 {
        return Err(IntMatmulError::Shapes {
            x: x_shape.to_vec(),
            w: w_shape.to_vec(),
        });
    }
    // |acc| ≤ k · 255 · 127 < 2^31 for k ≤ 65,536.
    if k > 65_536 {
        return Err(IntMatmulError::TooWide(k));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(IntMatmulError::NonFinite("activations"));
    }
    if w.iter().any(|v| !v.is_finite()) {
        return Err(IntMatmulError::NonFinite("weights"));
    }
    let min_max = |v: &[f32]| {
        v.iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            })
    };
    let (xlo, xhi) = min_max(x);
    let px = params(xlo, xhi, Scheme::Asymmetric, false);
    let x_q: Vec<i8> = x.iter().map(|&r| quantize_one(&px, r)).collect();
    let pw: Vec<AffineParams> = w
        .chunks_exact(k)
        .map(|row| {
            let (lo, hi) = min_max(row);
            params(lo, hi, Scheme::Symmetric, true)
        })
        .collect();
    let w_q: Vec<i8> = w
        .chunks_exact(k)
        .zip(&pw)
        .flat_map(|(row, p)| row.iter().map(|&r| quantize_one(p, r)).collect::<Vec<_>>())
        .collect();
    // The float result and its range (the output's calibration).
    let mut y = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let s: f64 = (0..k)
                .map(|t| f64::from(x[i * k + t]) * f64::from(w[j * k + t]))
                .sum();
            y[i * n + j] = s as f32;
        }
    }
    let (ylo, yhi) = min_max(&y);
    let py = params(ylo, yhi, Scheme::Asymmetric, false);
    // TFLite: the scale product in float, then the division in double.
    let (multiplier, shift): (Vec<i32>, Vec<i32>) = pw
        .iter()
        .map(|p| quantize_multiplier(f64::from(px.scale * p.scale) / f64::from(py.scale)))
        .unzip();
    let zx = px.zero_point;
    let mut acc = vec![0i32; m * n];
    let mut y_q = vec![0i8; m * n];
    for i in 0..m {
        for j in 0..n {
            let a: i32 = (0..k)
                .map(|t| (i32::from(x_q[i * k + t]) - zx) * i32::from(w_q[j * k + t]))
                .sum();
            acc[i * n + j] = a;
            let scaled = multiply_by_quantized_multiplier(a, multiplier[j], shift[j]);
            y_q[i * n + j] = scaled.saturating_add(py.zero_point).clamp(-128, 127) as i8;
        }
    }
    let y_hat: Vec<f32> = y_q
        .iter()
        .map(|&q| py.real_from_code(i32::from(q)))
        .collect();
    let (mut sig, mut err, mut max) = (0.0f64, 0.0f64, 0.0f64);
    for (&a, &b) in y.iter().zip(&y_hat) {
        let d = f64::from(a) - f64::from(b);
        sig += f64::from(a) * f64::from(a);
        err += d * d;
        max = max.max(d.abs());
    }
    Ok(IntMatmul {
        m,
        k,
        n,
        input_scale: px.scale,
        input_zero_point: zx,
        weight_scale: pw.iter().map(|p| p.scale).collect(),
        output_scale: py.scale,
        output_zero_point: py.zero_point,
        multiplier,
        shift,
        x_q,
        w_q,
        acc,
        y_q,
        y,
        y_hat,
        mse: err / (m * n) as f64,
        sqnr_db: if err > 0.0 {
            10.0 * (sig / err).log10()
        } else {
            f64::INFINITY
        },
        max_abs_error: max,
    })
}

/// One output element followed through the integer layer, every intermediate value kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Walk {
    pub i: usize,
    pub j: usize,
    /// Per k: x (float), x_q, x_q − Z_x, w (float), w_q, and the product (x_q − Z_x)·w_q.
    pub terms: Vec<(f32, i8, i32, f32, i8, i32)>,
    pub acc: i32,
    /// M = S_x·S_w[j]/S_y as a real number, and M0 · 2^(shift − 31) as the integers represent it.
    pub m_real: f64,
    pub m_fixed: f64,
    pub m0: i32,
    pub shift: i32,
    /// acc · 2^max(shift, 0) (wrapping, as the kernel's int32 multiply).
    pub shifted: i32,
    /// SaturatingRoundingDoublingHighMul(shifted, M0).
    pub high: i32,
    /// The rounding right shift by max(−shift, 0).
    pub right: u32,
    pub scaled: i32,
    /// scaled + Z_y before and after the clamp to [−128, 127].
    pub with_zero: i32,
    pub y_q: i8,
    /// S_y (y_q − Z_y), and the float result X·Wᵀ.
    pub y_hat: f32,
    pub y: f32,
}

/// Output (i, j) of `r` step by step; `None` outside the output. `x` and `w` are the float inputs
/// `r` was computed from.
pub fn walk(r: &IntMatmul, x: &[f32], w: &[f32], i: usize, j: usize) -> Option<Walk> {
    if i >= r.m || j >= r.n || x.len() != r.m * r.k || w.len() != r.n * r.k {
        return None;
    }
    let k = r.k;
    let terms = (0..k)
        .map(|t| {
            let xq = r.x_q[i * k + t];
            let wq = r.w_q[j * k + t];
            let xz = i32::from(xq) - r.input_zero_point;
            (x[i * k + t], xq, xz, w[j * k + t], wq, xz * i32::from(wq))
        })
        .collect();
    let (m0, shift) = (r.multiplier[j], r.shift[j]);
    let acc = r.acc[i * r.n + j];
    let shifted = acc.wrapping_mul(1i32.wrapping_shl(shift.max(0) as u32));
    let high = saturating_rounding_doubling_high_mul(shifted, m0);
    let right = (-shift).max(0) as u32;
    let scaled = rounding_divide_by_pot(high, right.min(31));
    let with_zero = scaled.saturating_add(r.output_zero_point);
    Some(Walk {
        i,
        j,
        terms,
        acc,
        m_real: f64::from(r.input_scale * r.weight_scale[j]) / f64::from(r.output_scale),
        m_fixed: f64::from(m0) * 2f64.powi(shift - 31),
        m0,
        shift,
        shifted,
        high,
        right,
        scaled,
        with_zero,
        y_q: r.y_q[i * r.n + j],
        y_hat: r.y_hat[i * r.n + j],
        y: r.y[i * r.n + j],
    })
}

/// A small teaching example: X [4, 16] (normal, with one large activation) and W [3, 16] (normal,
/// one row with an outlier weight), from `seed`.
pub fn example(seed: u64) -> (Vec<f32>, Vec<usize>, Vec<f32>, Vec<usize>) {
    use crate::synth::{generate, Distribution};
    let mut x = generate(Distribution::Normal, 4 * 16, seed).unwrap_or_else(|_| vec![0.5; 64]);
    let mut w = generate(Distribution::Normal, 3 * 16, seed.wrapping_add(1))
        .unwrap_or_else(|_| vec![0.25; 48]);
    w.iter_mut().for_each(|v| *v *= 0.1);
    x[5] = 6.0;
    w[16 + 3] = -0.9;
    (x, vec![4, 16], w, vec![3, 16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walk_ends_where_the_layer_does() {
        let (x, xs, w, ws) = example(3);
        let r = int_matmul(&x, &xs, &w, &ws).unwrap_or_else(|e| panic!("{e}"));
        for i in 0..4 {
            for j in 0..3 {
                let s = walk(&r, &x, &w, i, j).unwrap_or_else(|| panic!("({i}, {j})"));
                assert_eq!(s.terms.iter().map(|t| t.5).sum::<i32>(), s.acc);
                assert_eq!(
                    s.scaled,
                    multiply_by_quantized_multiplier(s.acc, s.m0, s.shift)
                );
                assert_eq!(i32::from(s.y_q), s.with_zero.clamp(-128, 127));
                assert!(
                    (s.m_real - s.m_fixed).abs() <= s.m_real * 1e-9,
                    "{} vs {}",
                    s.m_real,
                    s.m_fixed
                );
            }
        }
        assert!(walk(&r, &x, &w, 4, 0).is_none());
    }

    #[test]
    fn frexp_matches_c() {
        assert_eq!(frexp(1.0), (0.5, 1));
        assert_eq!(frexp(0.75), (0.75, 0));
        assert_eq!(frexp(3.0), (0.75, 2));
        assert_eq!(frexp(f64::MIN_POSITIVE / 4.0), (0.5, -1023));
    }

    #[test]
    fn the_integer_layer_tracks_the_float_one() {
        let (m, k, n) = (4, 32, 3);
        let x: Vec<f32> = (0..m * k)
            .map(|i| ((i * 37 % 29) as f32 - 9.0) / 7.0)
            .collect();
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 53 % 31) as f32 - 15.0) / 40.0)
            .collect();
        let r = int_matmul(&x, &[m, k], &w, &[n, k]).unwrap_or_else(|e| panic!("{e}"));
        // Every accumulator is the integer sum, every output the rescaled accumulator.
        for i in 0..m {
            for j in 0..n {
                let a: i32 = (0..k)
                    .map(|t| {
                        (i32::from(r.x_q[i * k + t]) - r.input_zero_point)
                            * i32::from(r.w_q[j * k + t])
                    })
                    .sum();
                assert_eq!(r.acc[i * n + j], a);
            }
        }
        assert!(r.w_q.iter().all(|&q| q >= -127), "narrow range");
        assert!(r.sqnr_db > 30.0, "{}", r.sqnr_db);
        // The output range covers the float result: the error is the integer path's alone.
        assert!(
            r.max_abs_error <= 4.0 * f64::from(r.output_scale),
            "{} vs {}",
            r.max_abs_error,
            r.output_scale
        );
        assert!(matches!(
            int_matmul(&x, &[m, k], &w, &[n, k + 1]),
            Err(IntMatmulError::Shapes { .. })
        ));
        let mut bad = x.clone();
        bad[3] = f32::NAN;
        assert_eq!(
            int_matmul(&bad, &[m, k], &w, &[n, k]),
            Err(IntMatmulError::NonFinite("activations"))
        );
    }
}
