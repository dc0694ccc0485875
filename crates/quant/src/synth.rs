//! Seeded synthetic distributions, so that a view (and a CLI run) is reproducible.
//!
//! Every distribution is scaled to unit-ish spread so bit widths compare across them:
//!
//! ```text
//! normal       N(0, 1)
//! laplace      Laplace(0, b = 1/√2)                  (variance 1)
//! uniform      U(−√3, √3)                            (variance 1)
//! student-t    t_ν                                   (heavy tails for small ν)
//! log-normal   exp(N(0, σ²))                         (positive, skewed)
//! bimodal      ½ N(−d/2, 0.5²) + ½ N(d/2, 0.5²)
//! half-normal  |N(0, 1)|                             (post-ReLU activations)
//! outliers     N(0, 1) with `count` values replaced by ±magnitude
//! ```
//! Values come from ChaCha8 seeded with `seed` (stable across platforms and releases of `rand_chacha`).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution as _, LogNormal, Normal, StandardNormal, StudentT};
use serde::{Deserialize, Serialize};

/// Largest synthetic size: 2^24 values (64 MiB of f32).
pub const MAX_SYNTH_N: usize = 1 << 24;

/// The shapes of data the explorer can generate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Distribution {
    Normal,
    Laplace,
    Uniform,
    StudentT { nu: f64 },
    LogNormal { sigma: f64 },
    Bimodal { separation: f64 },
    HalfNormal,
    Outliers { count: usize, magnitude: f64 },
}

impl Distribution {
    /// Stable identifiers used by the UI and the CLI.
    pub const NAMES: [&'static str; 8] = [
        "normal",
        "laplace",
        "uniform",
        "student-t",
        "log-normal",
        "bimodal",
        "half-normal",
        "outliers",
    ];

    /// The identifier of this distribution.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Laplace => "laplace",
            Self::Uniform => "uniform",
            Self::StudentT { .. } => "student-t",
            Self::LogNormal { .. } => "log-normal",
            Self::Bimodal { .. } => "bimodal",
            Self::HalfNormal => "half-normal",
            Self::Outliers { .. } => "outliers",
        }
    }

    /// A label for people of the distribution called `name`.
    pub fn label(name: &str) -> &'static str {
        match name {
            "normal" => "Normal (Gaussian)",
            "laplace" => "Laplace (peaked, like weights)",
            "uniform" => "Uniform",
            "student-t" => "Student-t (heavy tails)",
            "log-normal" => "Log-normal (skewed, positive)",
            "bimodal" => "Bimodal mixture",
            "half-normal" => "Half-normal (post-ReLU activations)",
            "outliers" => "Normal + injected outliers",
            _ => "?",
        }
    }

    /// The distribution called `name`, with default parameters.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "normal" => Self::Normal,
            "laplace" => Self::Laplace,
            "uniform" => Self::Uniform,
            "student-t" => Self::StudentT { nu: 3.0 },
            "log-normal" => Self::LogNormal { sigma: 0.75 },
            "bimodal" => Self::Bimodal { separation: 3.0 },
            "half-normal" => Self::HalfNormal,
            "outliers" => Self::Outliers {
                count: 8,
                magnitude: 20.0,
            },
            _ => return None,
        })
    }
}

/// Why a synthetic dataset cannot be generated.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SynthError {
    #[error("N must be between 1 and {MAX_SYNTH_N}, got {0}")]
    Size(usize),
    #[error("{name} must be {expected}, got {value}")]
    Parameter {
        name: &'static str,
        expected: &'static str,
        value: f64,
    },
}

fn check(
    name: &'static str,
    value: f64,
    ok: bool,
    expected: &'static str,
) -> Result<(), SynthError> {
    if ok && value.is_finite() {
        Ok(())
    } else {
        Err(SynthError::Parameter {
            name,
            expected,
            value,
        })
    }
}

/// Checks `n` and the parameters of `dist` without generating anything.
pub fn validate(dist: Distribution, n: usize) -> Result<(), SynthError> {
    if n == 0 || n > MAX_SYNTH_N {
        return Err(SynthError::Size(n));
    }
    match dist {
        Distribution::StudentT { nu } => check("ν", nu, nu > 0.0 && nu <= 1e6, "in (0, 10^6]"),
        Distribution::LogNormal { sigma } => {
            check("σ", sigma, sigma > 0.0 && sigma <= 4.0, "in (0, 4]")
        }
        Distribution::Bimodal { separation } => check(
            "separation",
            separation,
            (0.0..=100.0).contains(&separation),
            "in [0, 100]",
        ),
        Distribution::Outliers { count, magnitude } => {
            check(
                "outlier magnitude",
                magnitude,
                magnitude > 0.0 && magnitude <= 1e6,
                "in (0, 10^6]",
            )?;
            check("outlier count", count as f64, count <= n, "at most N")
        }
        Distribution::Normal
        | Distribution::Laplace
        | Distribution::Uniform
        | Distribution::HalfNormal => Ok(()),
    }
}

/// `n` values of `dist` from seed `seed`.
pub fn generate(dist: Distribution, n: usize, seed: u64) -> Result<Vec<f32>, SynthError> {
    validate(dist, n)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = |rng: &mut ChaCha8Rng| -> f32 { StandardNormal.sample(rng) };
    let out: Vec<f32> = match dist {
        Distribution::Normal => (0..n).map(|_| normal(&mut rng)).collect(),
        Distribution::Laplace => {
            // Inverse CDF: x = −b · sgn(u) · ln(1 − 2|u|), u ~ U(−½, ½).
            let b = std::f64::consts::FRAC_1_SQRT_2;
            (0..n)
                .map(|_| {
                    let u: f64 = rng.random::<f64>() - 0.5;
                    (-b * u.signum() * (1.0 - 2.0 * u.abs()).ln()) as f32
                })
                .collect()
        }
        Distribution::Uniform => {
            let a = 3f32.sqrt();
            (0..n).map(|_| rng.random_range(-a..a)).collect()
        }
        Distribution::StudentT { nu } => {
            let t = StudentT::new(nu).map_err(|_| SynthError::Parameter {
                name: "ν",
                expected: "positive",
                value: nu,
            })?;
            (0..n).map(|_| t.sample(&mut rng) as f32).collect()
        }
        Distribution::LogNormal { sigma } => {
            let d = LogNormal::new(0.0, sigma).map_err(|_| SynthError::Parameter {
                name: "σ",
                expected: "positive",
                value: sigma,
            })?;
            (0..n).map(|_| d.sample(&mut rng) as f32).collect()
        }
        Distribution::Bimodal { separation } => {
            check(
                "separation",
                separation,
                (0.0..=100.0).contains(&separation),
                "in [0, 100]",
            )?;
            let half = (separation / 2.0) as f32;
            let spread = Normal::new(0.0f32, 0.5).map_err(|_| SynthError::Parameter {
                name: "spread",
                expected: "positive",
                value: 0.5,
            })?;
            (0..n)
                .map(|_| {
                    let centre = if rng.random::<bool>() { half } else { -half };
                    centre + spread.sample(&mut rng)
                })
                .collect()
        }
        Distribution::HalfNormal => (0..n).map(|_| normal(&mut rng).abs()).collect(),
        Distribution::Outliers { count, magnitude } => {
            let mut v: Vec<f32> = (0..n).map(|_| normal(&mut rng)).collect();
            for k in 0..count {
                let i = rng.random_range(0..n);
                let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
                v[i] = sign * magnitude as f32;
            }
            v
        }
    };
    Ok(out)
}

/// Largest per-row scale spread σ of [`scale_rows`].
pub const MAX_ROW_SPREAD: f64 = 4.0;

/// Checks a matrix layout of `n` values: `cols` columns (dividing `n`) and a row scale spread
/// σ in [0, [`MAX_ROW_SPREAD`]].
pub fn validate_matrix(n: usize, cols: usize, row_spread: f64) -> Result<(), SynthError> {
    check(
        "columns",
        cols as f64,
        cols >= 1 && n % cols.max(1) == 0,
        "a divisor of N",
    )?;
    check(
        "row scale spread σ",
        row_spread,
        (0.0..=MAX_ROW_SPREAD).contains(&row_spread),
        "in [0, 4]",
    )
}

/// Gives each row of `cols` values its own scale, as the rows (output channels) of a trained
/// weight matrix have: row r is multiplied by exp(σ · z_r), z_r ~ N(0, 1) drawn from its own
/// stream (seeded from `seed`, independent of the values'), so σ = 0 leaves the values as they
/// are and the same seed gives the same scales.
pub fn scale_rows(
    values: &mut [f32],
    cols: usize,
    row_spread: f64,
    seed: u64,
) -> Result<(), SynthError> {
    validate_matrix(values.len(), cols, row_spread)?;
    if row_spread == 0.0 {
        return Ok(());
    }
    // A stream of its own: the values' stream is seeded with `seed` itself.
    const ROW_STREAM: u64 = 0x726f_7773_6361_6c65; // "rowscale"
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ROW_STREAM);
    for row in values.chunks_mut(cols) {
        let z: f64 = StandardNormal.sample(&mut rng);
        let k = (row_spread * z).exp() as f32;
        for v in row {
            *v *= k;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Summary;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn rows_get_their_own_scales() {
        let base = generate(Distribution::Normal, 64 * 256, 3).unwrap_or_default();
        let mut same = base.clone();
        assert_eq!(scale_rows(&mut same, 256, 0.0, 3), Ok(()));
        assert_eq!(same, base);
        let mut spread = base.clone();
        assert_eq!(scale_rows(&mut spread, 256, 1.0, 3), Ok(()));
        // Each row is the base row times one positive factor; the factors differ (log-normal, σ = 1).
        let factors: Vec<f64> = spread
            .chunks(256)
            .zip(base.chunks(256))
            .map(|(s, b)| {
                let k = f64::from(s[0]) / f64::from(b[0]);
                assert!(s
                    .iter()
                    .zip(b)
                    .all(|(x, y)| (f64::from(*x) - k * f64::from(*y)).abs()
                        <= 1e-5 * k.max(1.0) * f64::from(y.abs()).max(1.0)));
                k.ln()
            })
            .collect();
        let mean = factors.iter().sum::<f64>() / 64.0;
        let sd = (factors.iter().map(|f| (f - mean).powi(2)).sum::<f64>() / 64.0).sqrt();
        assert!((0.7..1.3).contains(&sd), "log-scale spread {sd}");
        // Columns must divide N; σ must be in range.
        assert!(scale_rows(&mut spread.clone(), 300, 1.0, 3).is_err());
        assert!(scale_rows(&mut spread, 256, 5.0, 3).is_err());
    }

    fn gen(d: Distribution) -> Vec<f32> {
        generate(d, 200_000, 1).unwrap_or_default()
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn distributions_have_their_moments() {
        for name in ["normal", "laplace", "uniform"] {
            let d = Distribution::from_name(name).unwrap_or(Distribution::Normal);
            let s = Summary::of(&gen(d));
            assert!(s.mean.abs() < 0.02, "{name} mean {}", s.mean);
            assert!((s.std - 1.0).abs() < 0.02, "{name} std {}", s.std);
        }
        let u = Summary::of(&gen(Distribution::Uniform));
        assert!(u.min >= -(3f32.sqrt()) && u.max < 3f32.sqrt());
        let h = Summary::of(&gen(Distribution::HalfNormal));
        assert!(h.min >= 0.0);
        // E|N(0,1)| = √(2/π)
        assert!((h.mean - (2.0 / std::f64::consts::PI).sqrt()).abs() < 0.01);
        let l = Summary::of(&gen(Distribution::LogNormal { sigma: 0.5 }));
        assert!(l.min > 0.0);
        // E[exp(N(0, σ²))] = exp(σ²/2)
        assert!((l.mean - (0.125f64).exp()).abs() < 0.01);
        let b = gen(Distribution::Bimodal { separation: 4.0 });
        let near_zero = b.iter().filter(|v| v.abs() < 0.25).count();
        assert!(
            near_zero < b.len() / 100,
            "bimodal has a gap at 0: {near_zero}"
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn heavy_tails_and_outliers() {
        let t = Summary::of(&gen(Distribution::StudentT { nu: 2.5 }));
        let n = Summary::of(&gen(Distribution::Normal));
        assert!(t.max.max(-t.min) > 2.0 * n.max.max(-n.min));
        let o = gen(Distribution::Outliers {
            count: 4,
            magnitude: 50.0,
        });
        assert_eq!(o.iter().filter(|v| v.abs() == 50.0).count(), 4);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn seeded_and_validated() {
        assert_eq!(
            generate(Distribution::Normal, 10, 3),
            generate(Distribution::Normal, 10, 3)
        );
        assert_ne!(
            generate(Distribution::Normal, 10, 3),
            generate(Distribution::Normal, 10, 4)
        );
        assert_eq!(
            generate(Distribution::Normal, 0, 3),
            Err(SynthError::Size(0))
        );
        assert_eq!(
            generate(Distribution::Normal, MAX_SYNTH_N + 1, 3),
            Err(SynthError::Size(MAX_SYNTH_N + 1))
        );
        assert!(generate(Distribution::StudentT { nu: f64::NAN }, 10, 0).is_err());
        assert!(generate(Distribution::StudentT { nu: -1.0 }, 10, 0).is_err());
        assert!(generate(
            Distribution::Outliers {
                count: 11,
                magnitude: 5.0
            },
            10,
            0
        )
        .is_err());
        for name in Distribution::NAMES {
            let d = Distribution::from_name(name);
            assert_eq!(d.map(|d| d.name()), Some(name));
        }
    }
}
