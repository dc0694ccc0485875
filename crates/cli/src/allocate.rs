//! `quantscope allocate`: one candidate per tensor of a checkpoint, the least total error within a
//! budget in bits per value (`quantscope_core::allocate`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use quantscope_core::allocate::{self, Kept, TensorPoints, DEFAULT_CANDIDATES};
use rayon::prelude::*;

use crate::source;

#[derive(Args)]
pub struct AllocateArgs {
    /// Checkpoints: .safetensors (or a shard index), .gguf, .npy.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Average bits per parameter over the allocated tensors, their scales included.
    #[arg(long)]
    budget: f64,
    /// Comma list of candidates: int2-channel … int8-channel (signed symmetric per output row)
    /// and any preset (int4-g128, nf4, mxfp4, q4_k, …).
    #[arg(long, value_delimiter = ',')]
    candidates: Option<Vec<String>>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Also print llama.cpp `--tensor-type NAME=TYPE` lines for the tensors given a GGML type.
    #[arg(long)]
    tensor_types: bool,
}

pub fn run(args: &AllocateArgs) -> Result<()> {
    let names: Vec<String> = args
        .candidates
        .clone()
        .unwrap_or_else(|| DEFAULT_CANDIDATES.iter().map(|s| s.to_string()).collect());
    let configs = allocate::candidates(&names).map_err(anyhow::Error::msg)?;
    allocate::check_budget(args.budget)?;
    let tensors = source::tensors_of(&args.files)?;
    // Each tensor's points (or why it is kept at its own precision), in file order.
    let measured: Vec<Result<TensorPoints, Kept>> = tensors
        .par_iter()
        .map(|t| {
            let kept = |reason: String| Kept {
                name: t.info.name.clone(),
                reason,
            };
            if !t.info.is_float && !t.is_gguf() {
                return Err(kept(format!("dtype {} is not a float", t.info.dtype)));
            }
            if t.info.shape.len() != 2 {
                return Err(kept(format!("shape {:?} is not 2-D", t.info.shape)));
            }
            let d = source::load(t).map_err(|e| kept(format!("{e:#}")))?;
            allocate::measure(&d, &configs)
        })
        .collect();
    let (mut model, mut kept) = (Vec::new(), Vec::new());
    for m in measured {
        match m {
            Ok(t) => model.push(t),
            Err(k) => kept.push(k),
        }
    }
    let r = allocate::report(&model, kept, &names, &configs, args.budget)?;
    if args.json {
        out!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    out!(
        "{:<48} {:<14} {:>10} {:>12}",
        "tensor",
        "candidate",
        "bits/val",
        "mse"
    );
    for a in &r.assignment {
        out!(
            "{:<48} {:<14} {:>10.4} {:>12.4e}",
            a.name,
            a.candidate,
            a.bits_per_value,
            a.mse
        );
    }
    out!(
        "total: {} tensors, {:.4} bits per value (budget {}, slack ≤ {:.1e}), weighted MSE {:.4e}, SQNR {:.2} dB",
        r.assignment.len(),
        r.total.bits_per_value,
        r.budget,
        r.slack_bits_per_value,
        r.total.weighted_mse,
        r.total.sqnr_db
    );
    if r.layers.iter().any(|l| l.layer.is_some()) {
        out!(
            "{:<8} {:>8} {:>12} {:>10} {:>12} {:>8}",
            "layer",
            "tensors",
            "values",
            "bits/val",
            "mse",
            "share"
        );
        for l in &r.layers {
            let name = l
                .layer
                .map_or_else(|| "other".to_string(), |k| k.to_string());
            out!(
                "{:<8} {:>8} {:>12} {:>10.4} {:>12.4e} {:>7.2}%",
                name,
                l.tensors,
                l.n,
                l.bits_per_value,
                l.weighted_mse,
                100.0 * l.share
            );
        }
    }
    for k in &r.kept {
        out!("kept at its own precision: {} ({})", k.name, k.reason);
    }
    if args.tensor_types {
        for line in &r.tensor_types {
            out!("{line}");
        }
    }
    Ok(())
}
