//! The quantizer's settings as one serde value.
//!
//! [`QuantizerConfig`] is what the UI edits, what the URL will carry and what the CLI builds from its
//! flags. It is plain data; [`QuantizerConfig::validate`] (with each family's own rules, in
//! [`crate::family`]) says what is wrong with it before any work.

use serde::{Deserialize, Serialize};

pub use crate::affine::{Rounding, Scheme, Signedness};
pub use crate::calib::{calibrators, Calibration, CalibrationError, CalibrationParams};

/// Largest supported integer bit width.
pub const MAX_BITS: u8 = 16;

/// How many sets of (scale, zero-point) the tensor gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Granularity {
    /// One set for the whole tensor.
    #[default]
    Tensor,
    /// One set per index along `axis` (C order; negative axes are not used here).
    Channel { axis: usize },
    /// One set per `size` consecutive values along the last axis.
    Group { size: usize },
}

impl From<&QuantizerConfig> for crate::affine::IntGrid {
    fn from(c: &QuantizerConfig) -> Self {
        let (qmin, qmax) = c.code_range();
        Self {
            qmin,
            qmax,
            scheme: c.scheme,
            signedness: c.signedness,
            power_of_two_scale: c.power_of_two_scale,
        }
    }
}

impl From<&QuantizerConfig> for crate::calib::Target {
    fn from(c: &QuantizerConfig) -> Self {
        Self {
            calibration: c.calibration,
            bits: c.bits,
            grid: c.into(),
        }
    }
}

impl Granularity {
    /// The kinds, by the name the CLI (`--granularity`) and the page use.
    pub const KINDS: [&'static str; 3] = ["tensor", "channel", "group"];

    /// This granularity's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Tensor => "tensor",
            Self::Channel { .. } => "channel",
            Self::Group { .. } => "group",
        }
    }

    /// A label for people of the kind called `kind`.
    pub fn kind_label(kind: &str) -> &'static str {
        match kind {
            "tensor" => "per tensor",
            "channel" => "per channel",
            "group" => "per group",
            _ => "?",
        }
    }

    /// The granularity of kind `kind` with its parameter (the axis or the group size).
    pub fn from_kind(kind: &str, axis: usize, size: usize) -> Option<Self> {
        Some(match kind {
            "tensor" => Self::Tensor,
            "channel" => Self::Channel { axis },
            "group" => Self::Group { size },
            _ => return None,
        })
    }
}

/// Everything that defines one quantizer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuantizerConfig {
    /// Bit width b, 1–16.
    pub bits: u8,
    pub signedness: Signedness,
    pub scheme: Scheme,
    /// Signed only: use [−(2^(b−1)−1), 2^(b−1)−1] instead of [−2^(b−1), 2^(b−1)−1].
    pub narrow_range: bool,
    pub granularity: Granularity,
    pub calibration: Calibration,
    pub rounding: Rounding,
    /// Round S up to the next power of two, as fixed-point hardware requires.
    pub power_of_two_scale: bool,
    /// Seed of stochastic rounding and of codebook training.
    pub seed: u64,
    /// The element format (`int` is the uniform quantizer above).
    pub format: crate::format::Format,
    /// How each group's scale is stored.
    pub scale_format: crate::block::ScaleFormat,
    /// How an E8M0 (power-of-two) scale is rounded.
    pub scale_rounding: crate::block::ScaleRounding,
    /// Codebook size K of the `kmeans` format.
    pub levels: u32,
    /// Sub-vector length D of the `kmeans` format (1: scalar codebook).
    pub vector_dim: usize,
    /// Integer bits M of the `fixed` format (Qm.n, sign bit not counted).
    pub int_bits: u8,
    /// Fraction bits N of the `fixed` format.
    pub frac_bits: u8,
}

impl Default for QuantizerConfig {
    fn default() -> Self {
        Self {
            bits: 8,
            signedness: Signedness::Signed,
            scheme: Scheme::Asymmetric,
            narrow_range: false,
            granularity: Granularity::Tensor,
            calibration: Calibration::MinMax,
            rounding: Rounding::NearestEven,
            power_of_two_scale: false,
            seed: 0,
            format: crate::format::Format::Int,
            scale_format: crate::block::ScaleFormat::F32,
            scale_rounding: crate::block::ScaleRounding::Floor,
            levels: 16,
            vector_dim: 1,
            int_bits: 3,
            frac_bits: 4,
        }
    }
}

/// What is wrong with a configuration, independent of the data.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("bit width must be between 1 and {MAX_BITS}, got {0}")]
    Bits(u8),
    #[error(transparent)]
    Calibration(#[from] CalibrationError),
    #[error("group size must be at least 1")]
    GroupSize,
    #[error("narrow range applies to signed codes with at least 2 bits")]
    NarrowRange,
    #[error("a k-means codebook needs 2 to 65536 levels, got {0}")]
    Levels(u32),
    #[error("the sub-vector length must be between 1 and 64, got {0}")]
    VectorDim(usize),
    #[error("vector codebooks (sub-vector length > 1) are learned per tensor; choose per-tensor granularity")]
    VectorGranularity,
    #[error("fixed point Q{m}.{n} needs 1 + m + n between 2 and 16 bits")]
    FixedBits { m: u8, n: u8 },
    #[error("{0} scales hold no zero-point: use the symmetric scheme")]
    ScaleNeedsSymmetric(&'static str),
}

impl QuantizerConfig {
    /// The settings that apply to this configuration: its format's knobs, without the
    /// granularity while sub-vectors are on (vector codebooks are learned per tensor).
    pub fn knobs(&self) -> crate::format::Knobs {
        let mut k = self.format.knobs();
        if k.codebook && self.vector_dim > 1 {
            k.granularity = false;
        }
        k
    }

    /// Sets the format, keeping the rules that tie settings together: integer codes under E8M0
    /// or E4M3 scales are symmetric and signed (those scales hold no zero-point), and
    /// sub-vectors belong to k-means codebooks alone.
    pub fn set_format(&mut self, format: crate::format::Format) {
        self.format = format;
        self.keep_scale_rule();
        if !format.knobs().codebook {
            self.vector_dim = 1;
        }
    }

    /// Sets how scales are stored, under the same rule as [`set_format`](Self::set_format).
    pub fn set_scale_format(&mut self, scale_format: crate::block::ScaleFormat) {
        self.scale_format = scale_format;
        self.keep_scale_rule();
    }

    /// Sets the sub-vector length; above 1 the codebook is learned per tensor.
    pub fn set_vector_dim(&mut self, dim: usize) {
        self.vector_dim = dim;
        if dim > 1 {
            self.granularity = Granularity::Tensor;
        }
    }

    fn keep_scale_rule(&mut self) {
        use crate::block::ScaleFormat;
        // Formats with an integer grid (scheme, signedness) are the ones a zero-point applies to.
        if self.format.knobs().integer_grid
            && matches!(self.scale_format, ScaleFormat::E8m0 | ScaleFormat::E4m3)
        {
            self.scheme = Scheme::Symmetric;
            self.signedness = Signedness::Signed;
        }
    }

    /// What one of the groups sharing parameters is called for people: a GGML type's block (or
    /// the sub-block of a super-block), a channel, or a group.
    pub fn group_noun(&self) -> &'static str {
        match self.format.ggml_type() {
            Some(t) if t.sub_block_len() < t.block_layout().0 => "sub-block",
            Some(_) => "block",
            None => match self.granularity {
                Granularity::Channel { .. } => "channel",
                Granularity::Tensor | Granularity::Group { .. } => "group",
            },
        }
    }

    /// The integer code range [qmin, qmax].
    ///
    /// ```text
    /// signed:          [−2^(b−1), 2^(b−1) − 1]
    /// signed, narrow:  [−(2^(b−1) − 1), 2^(b−1) − 1]
    /// unsigned:        [0, 2^b − 1]
    /// ```
    pub fn code_range(&self) -> (i32, i32) {
        let b = u32::from(self.bits.clamp(1, MAX_BITS));
        match self.signedness {
            Signedness::Signed => {
                let half = 1i32 << (b - 1);
                let qmin = if self.narrow_range {
                    -(half - 1)
                } else {
                    -half
                };
                (qmin, half - 1)
            }
            Signedness::Unsigned => (0, (1i32 << b) - 1),
        }
    }
}

/// Points of the clip sweep ("error against the clipping range"): the fraction f of the data's
/// range kept, geometric from 1/64 to 1 in quarter octaves (25 points, f = 1 last), and each
/// point's manual range. Symmetric schemes clip to ±f·max|x|; asymmetric ones scale the min–max
/// range about its centre. None for data without a range (constant or empty).
pub fn clip_sweep(min: f32, max: f32, symmetric: bool) -> Vec<(f64, (f32, f32))> {
    const OCTAVES: i32 = 6;
    const PER_OCTAVE: i32 = 4;
    let (centre, half) = if symmetric {
        (0.0, f64::from(min.abs().max(max.abs())))
    } else {
        (
            (f64::from(min) + f64::from(max)) / 2.0,
            (f64::from(max) - f64::from(min)) / 2.0,
        )
    };
    if !(half > 0.0 && half.is_finite()) {
        return Vec::new();
    }
    (-OCTAVES * PER_OCTAVE..=0)
        .map(|i| {
            let f = (f64::from(i) / f64::from(PER_OCTAVE)).exp2();
            let (lo, hi) = if i == 0 {
                // The whole range exactly: the min–max point.
                if symmetric {
                    (-half as f32, half as f32)
                } else {
                    (min, max)
                }
            } else {
                ((centre - f * half) as f32, (centre + f * half) as f32)
            };
            (f, (lo, hi))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_clip_sweep_ends_at_the_min_max_range_and_halves_every_four_points() {
        let pts = super::clip_sweep(-3.0, 1.0, true);
        assert_eq!(pts.len(), 25);
        assert_eq!(pts[24], (1.0, (-3.0, 3.0)));
        assert_eq!(pts[20].1, (-1.5, 1.5));
        assert_eq!(pts[0].0, 1.0 / 64.0);
        let asym = super::clip_sweep(-3.0, 1.0, false);
        assert_eq!(asym[24].1, (-3.0, 1.0));
        // About the centre −1: half of the half-width 2.
        assert_eq!(asym[20].1, (-2.0, 0.0));
        assert!(super::clip_sweep(2.0, 2.0, false).is_empty());
        assert!(super::clip_sweep(0.0, 0.0, true).is_empty());
        assert!(pts
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 .1 < w[1].1 .1));
    }

    #[test]
    fn every_calibrator_once_with_the_current_parameters() {
        use super::{calibrators, Calibration};
        let keys: Vec<&str> = calibrators(Calibration::MinMax, (-1.0, 2.0))
            .iter()
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(
            keys,
            [
                "minmax",
                "percentile",
                "mse",
                "sqnr",
                "kl",
                "aciq",
                "manual"
            ]
        );
        let set = calibrators(Calibration::Percentile { p: 99.0 }, (-1.0, 2.0));
        assert_eq!(set[1].1, Calibration::Percentile { p: 99.0 });
        assert_eq!(set[6].1, Calibration::Manual { lo: -1.0, hi: 2.0 });
        let set = calibrators(Calibration::Manual { lo: -3.0, hi: 0.5 }, (-1.0, 2.0));
        assert_eq!(set[6].1, Calibration::Manual { lo: -3.0, hi: 0.5 });
        assert_eq!(set[3].1, Calibration::Sqnr { gamma: 3.0 });
    }

    use super::*;

    /// The codes said to be signed are the two's-complement integers the reconstruction
    /// multiplies (fixed point: r̂ = q · 2^−n; Q8_0 and ternary: r̂ = d · q, d the scale), so a
    /// wrong sign extension shows in r̂; the others are bit patterns or indices, never negative.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn signed_codes_are_the_integers_the_reconstruction_multiplies() {
        use crate::format::Format;
        let values: Vec<f32> = (0..512)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 13.0)
            .collect();
        let d = crate::dataset::Dataset::new("d", vec![2, 256], values)
            .unwrap_or_else(|e| panic!("{e}"));
        for format in Format::ALL {
            let mut c = QuantizerConfig {
                int_bits: 3,
                frac_bits: 4,
                ..QuantizerConfig::default()
            };
            c.set_format(format);
            let q = crate::run::quantize(&d, &c).unwrap_or_else(|e| panic!("{e}"));
            let scale_of = |i: usize| match format {
                Format::Fixed => Some(1.0 / 16.0),
                Format::Q8_0 => Some(q.groups[i / 32].params.scale),
                Format::Ternary => Some(q.groups[0].params.scale),
                _ => None,
            };
            for (i, (&code, &r_hat)) in q.codes.iter().zip(&q.dequantized).enumerate() {
                match scale_of(i) {
                    Some(s) => assert_eq!(r_hat, s * code as f32, "{} value {i}", format.name()),
                    None if format != Format::Int => {
                        assert!(code >= 0, "{}: code {code}", format.name())
                    }
                    None => {}
                }
            }
            let negative = q.codes.iter().any(|&code| code < 0);
            assert_eq!(c.signed_codes(), negative, "{}", format.name());
        }
    }

    /// The setters keep the rules the validation enforces: what they produce validates.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn setters_keep_the_configuration_valid() {
        use crate::block::ScaleFormat;
        use crate::format::Format;
        let mut c = QuantizerConfig {
            scheme: Scheme::Asymmetric,
            signedness: Signedness::Unsigned,
            format: Format::Fp4E2m1,
            scale_format: ScaleFormat::E8m0,
            ..QuantizerConfig::default()
        };
        assert_eq!(c.validate(), Ok(()));
        // Integer codes under an E8M0 scale: symmetric and signed.
        c.set_format(Format::Int);
        assert_eq!(
            (c.scheme, c.signedness),
            (Scheme::Symmetric, Signedness::Signed)
        );
        assert_eq!(c.validate(), Ok(()));
        c.scheme = Scheme::Asymmetric;
        c.scale_format = ScaleFormat::F32;
        c.set_scale_format(ScaleFormat::E4m3);
        assert_eq!(c.scheme, Scheme::Symmetric);
        assert_eq!(c.validate(), Ok(()));
        // Sub-vectors: per tensor while on, and gone with another format.
        c.set_format(Format::Kmeans);
        c.granularity = Granularity::Channel { axis: 0 };
        assert!(c.knobs().granularity);
        c.set_vector_dim(2);
        assert_eq!(c.granularity, Granularity::Tensor);
        assert!(!c.knobs().granularity);
        assert_eq!(c.validate(), Ok(()));
        c.set_format(Format::Nf4);
        assert_eq!(c.vector_dim, 1);
        assert!(c.knobs().granularity && !c.knobs().bits);
    }

    /// Each enum's names are its serde names, parse back, and are unique; every calibration
    /// method's key round-trips with its parameters and is a row of the calibrator table.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn names_live_once_and_match_serde() {
        fn serde_name<T: serde::Serialize>(v: T) -> String {
            serde_json::to_string(&v)
                .unwrap_or_default()
                .trim_matches('"')
                .to_string()
        }
        for v in Signedness::ALL {
            assert_eq!(
                (serde_name(v), Signedness::from_name(v.name())),
                (v.name().into(), Some(v))
            );
        }
        for v in Scheme::ALL {
            assert_eq!(
                (serde_name(v), Scheme::from_name(v.name())),
                (v.name().into(), Some(v))
            );
        }
        for v in Rounding::ALL {
            assert_eq!(
                (serde_name(v), Rounding::from_name(v.name())),
                (v.name().into(), Some(v))
            );
        }
        for v in crate::calib::aciq::AciqFit::ALL {
            assert_eq!(crate::calib::aciq::AciqFit::from_name(v.name()), Some(v));
        }
        for kind in Granularity::KINDS {
            let g = Granularity::from_kind(kind, 1, 32).unwrap_or_default();
            assert_eq!(g.kind(), kind);
            assert!(serde_json::to_string(&g).unwrap_or_default().contains(kind));
            assert_ne!(Granularity::kind_label(kind), "?");
        }
        let params = CalibrationParams {
            p: 99.0,
            gamma: 2.0,
            fit: crate::calib::aciq::AciqFit::Gauss,
            range: (-1.0, 2.0),
        };
        let table: Vec<&str> = calibrators(Calibration::MinMax, (-1.0, 1.0))
            .iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(table, Calibration::METHODS);
        for key in Calibration::METHODS {
            let c = Calibration::from_key(key, &params).unwrap_or_default();
            assert_eq!(c.key(), key);
            assert_ne!(Calibration::method_label(key), "?");
        }
        assert_eq!(
            Calibration::from_key("sqnr", &params),
            Some(Calibration::Sqnr { gamma: 2.0 })
        );
        assert_eq!(Calibration::from_key("nope", &params), None);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn code_ranges_match_the_integer_types() {
        let mut c = QuantizerConfig::default();
        assert_eq!(c.code_range(), (-128, 127));
        c.narrow_range = true;
        assert_eq!(c.code_range(), (-127, 127));
        c.narrow_range = false;
        c.signedness = Signedness::Unsigned;
        assert_eq!(c.code_range(), (0, 255));
        c.bits = 16;
        assert_eq!(c.code_range(), (0, 65535));
        c.bits = 1;
        c.signedness = Signedness::Signed;
        assert_eq!(c.code_range(), (-1, 0));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn validation_names_the_problem() {
        let c = QuantizerConfig {
            bits: 17,
            ..Default::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::Bits(17)));
        let c = QuantizerConfig {
            calibration: Calibration::Percentile { p: 0.0 },
            ..Default::default()
        };
        assert_eq!(
            c.validate(),
            Err(ConfigError::Calibration(CalibrationError::Percentile(0.0)))
        );
        let c = QuantizerConfig {
            calibration: Calibration::Manual { lo: 1.0, hi: 1.0 },
            ..Default::default()
        };
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Calibration(
                CalibrationError::ManualRange { .. }
            ))
        ));
        let c = QuantizerConfig {
            calibration: Calibration::Manual {
                lo: f32::NAN,
                hi: 1.0,
            },
            ..Default::default()
        };
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Calibration(
                CalibrationError::ManualRange { .. }
            ))
        ));
        let c = QuantizerConfig {
            narrow_range: true,
            signedness: Signedness::Unsigned,
            ..Default::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::NarrowRange));
        assert_eq!(QuantizerConfig::default().validate(), Ok(()));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn config_round_trips_through_json() {
        let c = QuantizerConfig {
            bits: 4,
            granularity: Granularity::Group { size: 32 },
            calibration: Calibration::Percentile { p: 99.9 },
            ..Default::default()
        };
        let s = serde_json::to_string(&c).unwrap_or_default();
        let back: QuantizerConfig = serde_json::from_str(&s).unwrap_or_default();
        assert_eq!(back, c);
    }
}
