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
    #[arg(long, required_unless_present = "size", conflicts_with = "size")]
    budget: Option<f64>,
    /// Or a target size of the tensor data (e.g. 12MB, 1.5GiB): the budget that fills it, with
    /// the tensors kept at their own precision counted at their stored size.
    #[arg(long)]
    size: Option<String>,
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
    /// Per-input importance (e.g. mean x² of the activations, as llama.cpp's imatrix): a
    /// .safetensors of 1-D tensors named as the weights, or one .npy for every tensor with that
    /// many inputs. Each column's squared error is weighted by it (mean 1).
    #[arg(long)]
    importance: Option<PathBuf>,
}

/// The importance vectors of `path` (see [`AllocateArgs::importance`]).
fn read_importance(path: &std::path::Path) -> Result<allocate::Importance> {
    let tensors = source::tensors_of(std::slice::from_ref(&path.to_path_buf()))?
        .iter()
        .map(|t| {
            Ok((
                t.info.name.clone(),
                t.info.shape.clone(),
                source::load(t)?.values().to_vec(),
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let npy = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    allocate::Importance::from_tensors(&path.display().to_string(), tensors, npy)
        .map_err(anyhow::Error::msg)
}

pub fn run(args: &AllocateArgs) -> Result<()> {
    let names: Vec<String> = args
        .candidates
        .clone()
        .unwrap_or_else(|| DEFAULT_CANDIDATES.iter().map(|s| s.to_string()).collect());
    let configs = allocate::candidates(&names).map_err(anyhow::Error::msg)?;
    let target = args
        .size
        .as_deref()
        .map(allocate::parse_size)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    if let Some(b) = args.budget {
        allocate::check_budget(b)?;
    }
    let importance = args
        .importance
        .as_deref()
        .map(read_importance)
        .transpose()?;
    let (tensors, unusable) = source::tensors_of_tolerant(&args.files)?;
    // A shard that cannot be used is said and its tensors kept out; the rest is allocated.
    for u in &unusable {
        eprintln!(
            "quantscope: warning: shard {} set aside ({} tensors): {}",
            u.file,
            u.tensors.len(),
            u.reason
        );
    }
    // Each 2-D tensor's column weights when an importance vector names it (checked before
    // anything is measured: a bad vector is an error, not a silently unweighted tensor).
    let weights: Vec<Option<Vec<f64>>> = tensors
        .iter()
        .map(|t| match &importance {
            Some(i) => i.weights_for(&t.info.name, &t.info.shape),
            None => Ok(None),
        })
        .collect::<Result<_, _>>()?;
    // Each tensor's points and whether they are weighted (or why it is kept at its own
    // precision), in file order.
    let measured: Vec<Result<(TensorPoints, bool), Kept>> = tensors
        .par_iter()
        .zip(&weights)
        .map(|(t, w)| {
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
            Ok((
                allocate::measure_with(&d, &configs, w.as_deref())?,
                w.is_some(),
            ))
        })
        .collect();
    let (mut model, mut kept, mut weighted) = (Vec::new(), Vec::new(), Vec::new());
    for m in measured {
        match m {
            Ok((t, w)) => {
                weighted.push(w);
                model.push(t);
            }
            Err(k) => kept.push(k),
        }
    }
    kept.extend(Kept::of_shards(&unusable));
    let budget = match (target, args.budget) {
        (Some(bytes), _) => allocate::Budget::Bytes(bytes),
        (None, Some(b)) => allocate::Budget::BitsPerValue(b),
        (None, None) => anyhow::bail!("give --budget or --size"),
    };
    let sizes = allocate::stored_sizes(tensors.iter().map(|t| &t.info));
    let mut r = allocate::report_at(&model, kept, &names, &configs, budget, &sizes)?;
    if importance.is_some() {
        let names = model.iter().map(|t| t.name.as_str());
        r.importance = Some(allocate::ImportanceUse::of(names.zip(weighted)));
    }
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
    if let Some(z) = &r.size {
        out!(
            "target size {:.0} bytes: budget {:.4} bits per value; tensor data {:.0} bytes ({:.0} of them kept at their own precision; the file's header not counted)",
            z.target_bytes,
            r.budget,
            z.estimated_bytes,
            z.kept_bytes
        );
    }
    if let Some(u) = &r.importance {
        out!(
            "importance-weighted errors: {} of {} tensors{}",
            u.weighted.len(),
            u.weighted.len() + u.unweighted.len(),
            if u.unweighted.is_empty() {
                String::new()
            } else {
                format!(" (no vector for {})", u.unweighted.join(", "))
            }
        );
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
