//! ACIQ: analytical clipping for a Laplace or Gaussian fit (Banner, Nahshan, Soudry, "Post training
//! 4-bit quantization of convolutional networks for rapid-deployment", NeurIPS 2019, §3).
//!
//! The expected MSE of clipping to [μ − α, μ + α] and quantizing uniformly with M bits is
//!
//! ```text
//! Laplace(μ, b):  E ≈ 2b² e^(−α/b) + α² / (3 · 4^M)
//! Gauss(μ, σ):    E ≈ (σ² + α²) erfc(α / (σ√2)) − √(2/π) α σ e^(−α²/(2σ²)) + α² / (3 · 4^M)
//! ```
//! and α* minimises it. For Laplace the minimum solves (α/b) e^(α/b) = 3 · 4^M, i.e.
//! α*/b = W(3 · 4^M) (Lambert W): 2.83, 3.89, 5.03, … 9.89 for M = 2, 3, 4, … 8, the paper's values.
//! For Gauss α*/σ is found numerically: 1.71, 2.15, 2.56, … 3.92 for M = 2 … 8.
//! b is fitted as mean |x − μ|, σ as the standard deviation, μ as the mean. The clip is
//! [μ − α*, μ + α*] intersected with [min, max] (symmetric schemes: ±(|μ| + α*)).

use serde::{Deserialize, Serialize};

use crate::affine::Scheme;
use crate::metrics::LANES;

/// The distribution ACIQ fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AciqFit {
    #[default]
    Laplace,
    Gauss,
}

impl AciqFit {
    pub const ALL: [Self; 2] = [Self::Laplace, Self::Gauss];

    /// The name the CLI (`--aciq-fit`) and JSON use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Laplace => "laplace",
            Self::Gauss => "gauss",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == s)
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Laplace => "Laplace fit",
            Self::Gauss => "Gaussian fit",
        }
    }
}

/// α*/b for a Laplace distribution and `bits` bits: W(3 · 4^M) by Newton's method.
pub fn laplace_alpha(bits: u8) -> f64 {
    let target = 3.0 * 4f64.powi(i32::from(bits));
    // Solve w e^w = target, i.e. w + ln w = ln target (monotone, Newton from ln target).
    let lt = target.ln();
    let mut w = lt.max(1.0);
    for _ in 0..50 {
        let f = w + w.ln() - lt;
        w -= f / (1.0 + 1.0 / w);
    }
    w
}

/// erfc(x) for x ≥ 0 with relative error below 1.2e-7 (Numerical Recipes' Chebyshev fit `erfcc`;
/// std has no erfc and the value only steers a one-dimensional search).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// α*/σ for a Gaussian and `bits` bits (ternary search of the expected MSE with σ = 1).
pub fn gauss_alpha(bits: u8) -> f64 {
    let q = 3.0 * 4f64.powi(i32::from(bits));
    let e = |a: f64| {
        (1.0 + a * a) * erfc(a / std::f64::consts::SQRT_2)
            - (2.0 / std::f64::consts::PI).sqrt() * a * (-a * a / 2.0).exp()
            + a * a / q
    };
    let (mut lo, mut hi) = (0.01, 20.0);
    for _ in 0..200 {
        let (m1, m2) = (lo + (hi - lo) / 3.0, hi - (hi - lo) / 3.0);
        if e(m1) < e(m2) {
            hi = m2;
        } else {
            lo = m1;
        }
    }
    (lo + hi) / 2.0
}

/// Σ f(v) over the finite values of `values` and their count, in LANES independent partial sums
/// (one serial chain of f64 additions is latency-bound; lanes let the compiler vectorise, and
/// non-finite values are masked without a branch).
fn finite_sum(values: &[f32], f: impl Fn(f64) -> f64) -> (f64, usize) {
    let mut sums = [0f64; LANES];
    let mut counts = [0usize; LANES];
    let mut add = |k: usize, v: f32| {
        let finite = v.is_finite();
        sums[k] += if finite { f(f64::from(v)) } else { 0.0 };
        counts[k] += usize::from(finite);
    };
    let mut blocks = values.chunks_exact(LANES);
    for block in &mut blocks {
        for (k, &v) in block.iter().enumerate() {
            add(k, v);
        }
    }
    for (k, &v) in blocks.remainder().iter().enumerate() {
        add(k, v);
    }
    (sums.iter().sum(), counts.iter().sum())
}

/// The ACIQ clipping range of `values`, or `None` without finite values. `known` is the finite
/// (min, max) when the caller has it (it saves a pass).
pub fn aciq_range(
    values: &[f32],
    bits: u8,
    fit: AciqFit,
    scheme: Scheme,
    known: Option<(f32, f32)>,
) -> Option<(f32, f32)> {
    let (min, max) = known.or_else(|| super::finite_min_max(values))?;
    let (sum, n) = finite_sum(values, |v| v);
    if n == 0 {
        return None;
    }
    let mu = sum / n as f64;
    let spread = match fit {
        AciqFit::Laplace => {
            let b = finite_sum(values, |v| (v - mu).abs()).0 / n as f64;
            b * laplace_alpha(bits)
        }
        AciqFit::Gauss => {
            let var = finite_sum(values, |v| (v - mu) * (v - mu)).0 / n as f64;
            var.sqrt() * gauss_alpha(bits)
        }
    };
    let (lo, hi) = match scheme {
        Scheme::Symmetric => (-(mu.abs() + spread), mu.abs() + spread),
        Scheme::Asymmetric => (mu - spread, mu + spread),
    };
    Some(((lo as f32).max(min), (hi as f32).min(max)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{generate, Distribution};

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn constants_match_the_paper() {
        // Banner et al.'s published α*/b (Laplace) and α*/σ (Gauss) for 2–8 bits.
        let laplace = [
            (2, 2.83),
            (3, 3.89),
            (4, 5.03),
            (5, 6.2),
            (6, 7.41),
            (7, 8.64),
            (8, 9.89),
        ];
        for (bits, a) in laplace {
            assert!(
                (laplace_alpha(bits) - a).abs() < 0.01,
                "{bits}: {}",
                laplace_alpha(bits)
            );
        }
        let gauss = [
            (2, 1.710635),
            (3, 2.151593),
            (4, 2.559136),
            (5, 2.936201),
            (6, 3.286914),
            (7, 3.615114),
            (8, 3.924035),
        ];
        for (bits, a) in gauss {
            assert!(
                (gauss_alpha(bits) - a).abs() < 1e-4,
                "{bits}: {}",
                gauss_alpha(bits)
            );
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn fit_statistics_skip_non_finite_values_and_match_a_serial_sum() {
        // Laplace, by hand: [1, 2, 3, 6] and NaN/Inf → μ = 3, b = (2 + 1 + 0 + 3)/4 = 1.5.
        let v = [1.0, f32::NAN, 2.0, 3.0, f32::INFINITY, 6.0];
        let b = 1.5 * laplace_alpha(2);
        let want = ((3.0 - b) as f32, (3.0 + b) as f32);
        let got = aciq_range(
            &v,
            2,
            AciqFit::Laplace,
            Scheme::Asymmetric,
            Some((-10.0, 10.0)),
        );
        assert_eq!(got, Some(want));
        // The lane sums against one serial sum over 10,007 values (a partial last block).
        let mut v = generate(Distribution::Normal, 10_007, 5).unwrap_or_default();
        v[17] = f32::NAN;
        v[4000] = f32::NEG_INFINITY;
        let finite: Vec<f64> = v
            .iter()
            .filter(|x| x.is_finite())
            .map(|&x| f64::from(x))
            .collect();
        let mu = finite.iter().sum::<f64>() / finite.len() as f64;
        let var = finite.iter().map(|x| (x - mu) * (x - mu)).sum::<f64>() / finite.len() as f64;
        let want = (mu + var.sqrt() * gauss_alpha(3)) as f32;
        let (_, hi) =
            aciq_range(&v, 3, AciqFit::Gauss, Scheme::Asymmetric, None).unwrap_or_default();
        assert!(
            (hi - want).abs() <= 2.0 * f32::EPSILON * want.abs(),
            "{hi} vs {want}"
        );
        assert_eq!(
            aciq_range(&[f32::NAN], 4, AciqFit::Gauss, Scheme::Symmetric, None),
            None
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn fitted_clip_on_laplace_data() {
        // Unit-variance Laplace has b = 1/√2; 4 bits → α ≈ 5.03 / √2 ≈ 3.56.
        let v = generate(Distribution::Laplace, 200_000, 2).unwrap_or_default();
        let (lo, hi) =
            aciq_range(&v, 4, AciqFit::Laplace, Scheme::Symmetric, None).unwrap_or((0.0, 0.0));
        assert!((hi - 3.56).abs() < 0.05 && lo == -hi, "{lo}, {hi}");
        // Gauss fit on normal data, 8 bits: 3.92 σ.
        let n = generate(Distribution::Normal, 200_000, 2).unwrap_or_default();
        let (_, hi) =
            aciq_range(&n, 8, AciqFit::Gauss, Scheme::Asymmetric, None).unwrap_or((0.0, 0.0));
        assert!((hi - 3.92).abs() < 0.05, "{hi}");
        assert!(erfc(0.0) - 1.0 < 1e-7 && (erfc(1.0) - 0.157_299_207).abs() < 1e-7);
    }
}
