//! Where an allocation's error lives, layer by layer: the assignment grouped by the block number
//! in each tensor's name, for the model view's bar chart and `quantscope allocate --json`.
//!
//! ```text
//! layer(name)  = the first dot-separated part that is a whole number
//!                (encoder.layer.3.attention.self.query.weight → 3, blk.12.ffn_down.weight → 12,
//!                 model.layers.0.mlp.up_proj.weight → 0); none for embeddings, heads, …
//! per layer L:   n_L = Σ n_t,  bits_per_value = Σ n_t·bpv_t / n_L,
//!                weighted_mse = Σ n_t·mse_t / n_L,  share = Σ n_t·mse_t / Σ_all n_t·mse_t
//! ```

use serde::{Deserialize, Serialize};

use super::Assigned;

/// One layer's part of an allocation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerError {
    /// The block number, or `None` for the tensors outside the numbered blocks.
    pub layer: Option<usize>,
    /// How many tensors, and values, the layer holds.
    pub tensors: usize,
    pub n: usize,
    pub bits_per_value: f64,
    pub weighted_mse: f64,
    /// The layer's part of the model's total squared error Σ n·mse (0…1; 0 when there is none).
    pub share: f64,
}

/// The block number in a tensor's name (see the module's docs).
pub fn layer_of(name: &str) -> Option<usize> {
    name.split('.')
        .find(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|p| p.parse().ok())
}

/// The assignment grouped by layer: numbered layers in order, then the rest (if any).
pub fn per_layer(assignment: &[Assigned]) -> Vec<LayerError> {
    let total: f64 = assignment.iter().map(|a| a.n as f64 * a.mse).sum();
    let mut keys: Vec<Option<usize>> = assignment.iter().map(|a| layer_of(&a.name)).collect();
    // `None` sorts first; the rest go last.
    keys.sort_by_key(|k| (k.is_none(), *k));
    keys.dedup();
    keys.into_iter()
        .map(|key| {
            let members = assignment.iter().filter(|a| layer_of(&a.name) == key);
            let (mut tensors, mut n, mut bits, mut err) = (0, 0usize, 0.0, 0.0);
            for a in members {
                tensors += 1;
                n += a.n;
                bits += a.n as f64 * a.bits_per_value;
                err += a.n as f64 * a.mse;
            }
            let per = |x: f64| if n > 0 { x / n as f64 } else { 0.0 };
            LayerError {
                layer: key,
                tensors,
                n,
                bits_per_value: per(bits),
                weighted_mse: per(err),
                share: if total > 0.0 { err / total } else { 0.0 },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assigned(name: &str, n: usize, bits: f64, mse: f64) -> Assigned {
        Assigned {
            name: name.into(),
            candidate: "int4-channel".into(),
            n,
            bits_per_value: bits,
            mse,
        }
    }

    #[test]
    fn block_numbers_of_the_usual_namings() {
        assert_eq!(
            layer_of("encoder.layer.3.attention.self.query.weight"),
            Some(3)
        );
        assert_eq!(layer_of("blk.12.ffn_down.weight"), Some(12));
        assert_eq!(layer_of("model.layers.0.mlp.up_proj.weight"), Some(0));
        assert_eq!(layer_of("embeddings.word_embeddings.weight"), None);
        assert_eq!(layer_of("lm_head.weight"), None);
        assert_eq!(layer_of("h.1e3.weight"), None);
        assert_eq!(layer_of(""), None);
    }

    #[test]
    fn layers_sum_their_tensors_by_hand() {
        let a = [
            assigned("blk.1.q.weight", 100, 4.0, 0.5),
            assigned("embed.weight", 300, 8.0, 0.1),
            assigned("blk.0.q.weight", 200, 2.0, 1.0),
            assigned("blk.1.k.weight", 300, 8.0, 0.1),
        ];
        let l = per_layer(&a);
        // Σ n·mse = 50 + 30 + 200 + 30 = 310.
        assert_eq!(l.len(), 3);
        assert_eq!((l[0].layer, l[0].tensors, l[0].n), (Some(0), 1, 200));
        assert_eq!((l[0].bits_per_value, l[0].weighted_mse), (2.0, 1.0));
        assert!((l[0].share - 200.0 / 310.0).abs() < 1e-15);
        assert_eq!((l[1].layer, l[1].tensors, l[1].n), (Some(1), 2, 400));
        // (100·4 + 300·8) / 400 = 7; (50 + 30) / 400 = 0.2.
        assert_eq!((l[1].bits_per_value, l[1].weighted_mse), (7.0, 0.2));
        assert_eq!((l[2].layer, l[2].n), (None, 300));
        assert!((l.iter().map(|x| x.share).sum::<f64>() - 1.0).abs() < 1e-12);
        // No error at all: every share is 0, not NaN.
        let exact = [assigned("a.0.w", 10, 16.0, 0.0)];
        assert_eq!(per_layer(&exact)[0].share, 0.0);
        assert!(per_layer(&[]).is_empty());
    }
}
