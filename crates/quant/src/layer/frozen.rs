//! A quantizer whose parameters are fixed on one tensor and then applied to other values, one at a
//! time: what GPTQ needs (the scales come from the weights before any column is changed; each
//! column is quantized after the earlier columns' error has been spread onto it).

use crate::analysis::{AnalyzeError, GroupParams};
use crate::config::{QuantizerConfig, Rounding};
use crate::dataset::Dataset;
use crate::format::Format;
use crate::granularity::GroupLayout;
use crate::plan::{Plan, Prepared};

/// The fixed parameters of every group of one tensor.
pub struct Frozen {
    layout: GroupLayout,
    kind: Kind,
    rounding: Rounding,
    seed: u64,
}

enum Kind {
    Int(Vec<GroupParams>),
    Blocks(Plan),
}

/// Why a quantizer cannot be frozen per value.
#[derive(Debug, thiserror::Error)]
pub enum FreezeError {
    #[error(transparent)]
    Analyze(#[from] AnalyzeError),
    /// Byte-coded GGML types (K-quants, IQ4) choose their scales jointly with the codes of a
    /// whole super-block; vector codebooks code several values at once.
    #[error("{0} codes several values jointly, so it cannot quantize one weight at a time as GPTQ does; use rtn or awq, or a per-value format")]
    Joint(String),
}

impl Frozen {
    /// Calibrates `config` on `dataset` (exactly as [`crate::quantize`] does) and keeps the
    /// parameters.
    pub fn new(dataset: &Dataset, config: &QuantizerConfig) -> Result<Self, FreezeError> {
        config.validate().map_err(AnalyzeError::from)?;
        let (layout, kind) = if config.format == Format::Int {
            let layout = GroupLayout::new(config.granularity, dataset.shape())
                .map_err(AnalyzeError::from)?;
            (
                layout,
                Kind::Int(crate::run::quantize(dataset, config)?.groups),
            )
        } else {
            match crate::family::prepare(dataset, config, false)? {
                Prepared::Blocks(plan) if plan.coded.is_none() => (plan.layout, Kind::Blocks(plan)),
                _ => return Err(FreezeError::Joint(config.format.label().to_string())),
            }
        };
        Ok(Self {
            layout,
            kind,
            rounding: config.rounding,
            seed: config.seed,
        })
    }

    /// The group layout the parameters were fixed for.
    pub fn layout(&self) -> GroupLayout {
        self.layout
    }

    /// r̂ of value `r` placed at flat index `index` of the calibrated tensor's layout: the same
    /// arithmetic as [`crate::quantize`] (so freezing a tensor and requantizing its own values
    /// gives its reconstruction bit for bit). Non-finite values are returned unchanged.
    pub fn reconstruct(&self, index: usize, r: f32) -> f32 {
        if !r.is_finite() {
            return r;
        }
        let g = (index / self.layout.chunk_len.max(1)) % self.layout.n_groups.max(1);
        match &self.kind {
            Kind::Int(groups) => {
                let p = groups[g].params;
                let noise = if self.rounding == Rounding::Stochastic {
                    crate::affine::stochastic_noise(self.seed, index as u64)
                } else {
                    0.0
                };
                let (q, _) = p.code_from_real(r, p.inv_scale(), self.rounding, noise);
                p.real_from_code(q)
            }
            Kind::Blocks(plan) => {
                let block = plan.block(g);
                let (_, level, _) = plan.elements[block.element].encode(block.scaled(r));
                block.real_from_level(level)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Granularity;

    fn weights() -> Dataset {
        let v: Vec<f32> = (0..8 * 64)
            .map(|i| ((i * 7919 % 1013) as f32 / 500.0 - 1.0) * if i % 97 == 0 { 6.0 } else { 1.0 })
            .collect();
        Dataset::new("w", vec![8, 64], v).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn requantizing_its_own_tensor_gives_quantize_bit_for_bit() {
        let w = weights();
        let presets = [
            "int8-channel",
            "int4-g32",
            "nf4",
            "mxfp4",
            "nvfp4",
            "q4_0",
            "q8_0",
            "fp8-e4m3",
        ];
        for name in presets {
            let mut config = crate::presets::preset(name).unwrap_or_else(|| panic!("{name}"));
            if name == "int8-channel" {
                config.bits = 4;
                config.rounding = crate::config::Rounding::Stochastic;
                config.granularity = Granularity::Channel { axis: 1 };
            }
            let frozen = Frozen::new(&w, &config).unwrap_or_else(|e| panic!("{name}: {e}"));
            let want = crate::run::quantize(&w, &config)
                .unwrap_or_else(|e| panic!("{e}"))
                .dequantized;
            for (i, (&r, &d)) in w.values().iter().zip(&want).enumerate() {
                assert_eq!(
                    frozen.reconstruct(i, r).to_bits(),
                    d.to_bits(),
                    "{name} at {i}"
                );
            }
        }
    }

    #[test]
    fn joint_codes_are_refused_by_name() {
        let config = crate::presets::preset("q4_k").unwrap_or_else(|| panic!("q4_k"));
        let w = Dataset::new("w", vec![2, 256], vec![0.5; 512]).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            Frozen::new(&w, &config),
            Err(FreezeError::Joint(_))
        ));
    }
}
