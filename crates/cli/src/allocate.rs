//! `quantscope allocate`: one candidate per tensor of a checkpoint, the least total error within a
//! budget in bits per value (`quantscope_core::allocate`).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use quantscope_core::allocate::{self, Point, TensorPoints, DEFAULT_CANDIDATES};
use quantscope_core::{analyze, AnalysisOptions, QuantizerConfig};
use rayon::prelude::*;
use serde_json::json;

use crate::num;
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
    let candidates: Vec<(String, QuantizerConfig)> = names
        .iter()
        .map(|n| {
            allocate::candidate(n)
                .map(|c| (n.clone(), c))
                .with_context(|| {
                    format!("unknown candidate {n} (int2-channel … int8-channel or a preset)")
                })
        })
        .collect::<Result<_>>()?;
    if !(args.budget.is_finite() && args.budget > 0.0) {
        bail!(
            "--budget must be a positive number of bits per value, got {}",
            args.budget
        );
    }
    let tensors = source::tensors_of(&args.files)?;
    let options = AnalysisOptions {
        all_groups: false,
        ..AnalysisOptions::default()
    };
    // Each tensor's points (or why it is kept at its own precision), in file order.
    let measured: Vec<Result<TensorPoints, (String, String)>> = tensors
        .par_iter()
        .map(|t| {
            let name = t.info.name.clone();
            if !t.info.is_float && !t.is_gguf() {
                return Err((name, format!("dtype {} is not a float", t.info.dtype)));
            }
            if t.info.shape.len() != 2 {
                return Err((name, format!("shape {:?} is not 2-D", t.info.shape)));
            }
            let d = source::load(t).map_err(|e| (name.clone(), format!("{e:#}")))?;
            let s = d.summary();
            let sum_sq = s.finite as f64 * (s.std * s.std + s.mean * s.mean);
            let points: Vec<Point> = candidates
                .iter()
                .enumerate()
                .filter_map(|(k, (_, c))| {
                    let a = analyze(&d, c, &options).ok()?;
                    (a.metrics.mse.is_finite() && a.metrics.bits_per_value.is_finite()).then_some(
                        Point {
                            candidate: k,
                            bits_per_value: a.metrics.bits_per_value,
                            mse: a.metrics.mse,
                        },
                    )
                })
                .collect();
            if points.is_empty() {
                return Err((name, "no candidate fits its layout".to_string()));
            }
            Ok(TensorPoints {
                name,
                n: d.len(),
                sum_sq,
                points,
            })
        })
        .collect();
    let (mut model, mut kept) = (Vec::new(), Vec::new());
    for m in measured {
        match m {
            Ok(t) => model.push(t),
            Err(k) => kept.push(k),
        }
    }
    let a = allocate::allocate(&model, args.budget)?;
    let assignment: Vec<serde_json::Value> = model
        .iter()
        .zip(&a.choice)
        .map(|(t, &k)| {
            let p = t.points[k];
            json!({"name": t.name, "candidate": names[p.candidate], "n": t.n,
                   "bits_per_value": p.bits_per_value, "mse": p.mse})
        })
        .collect();
    let uniform: Vec<serde_json::Value> = (0..candidates.len())
        .filter_map(|k| {
            let (b, e) = allocate::uniform(&model, k)?;
            Some(json!({"candidate": names[k], "bits_per_value": b, "weighted_mse": e}))
        })
        .collect();
    let pareto: Vec<serde_json::Value> = allocate::pareto(&model, 16)
        .into_iter()
        .map(|(budget, b, e)| json!({"budget": budget, "bits_per_value": b, "weighted_mse": e}))
        .collect();
    let tensor_types: Vec<String> = model
        .iter()
        .zip(&a.choice)
        .filter_map(|(t, &k)| {
            let ty = candidates[t.points[k].candidate].1.format.ggml_type()?;
            Some(format!(
                "--tensor-type {}={}",
                t.name,
                ty.name().to_lowercase()
            ))
        })
        .collect();
    if args.json {
        out!(
            "{}",
            json!({
                "budget": args.budget,
                "candidates": names,
                "assignment": assignment,
                "total": {"bits_per_value": a.bits_per_value, "weighted_mse": a.weighted_mse,
                          "sqnr_db": num(a.sqnr_db)},
                "slack_bits_per_value": a.slack_bits_per_value,
                "kept": kept.iter().map(|(n, why)| json!({"name": n, "reason": why})).collect::<Vec<_>>(),
                "uniform": uniform,
                "pareto": pareto,
                "tensor_types": tensor_types,
            })
        );
        return Ok(());
    }
    out!(
        "{:<48} {:<14} {:>10} {:>12}",
        "tensor",
        "candidate",
        "bits/val",
        "mse"
    );
    for (t, &k) in model.iter().zip(&a.choice) {
        let p = t.points[k];
        out!(
            "{:<48} {:<14} {:>10.4} {:>12.4e}",
            t.name,
            names[p.candidate],
            p.bits_per_value,
            p.mse
        );
    }
    out!(
        "total: {} tensors, {:.4} bits per value (budget {}, rounding slack ≤ {:.1e}), weighted MSE {:.4e}, SQNR {:.2} dB",
        model.len(),
        a.bits_per_value,
        args.budget,
        a.slack_bits_per_value,
        a.weighted_mse,
        a.sqnr_db
    );
    for (n, why) in &kept {
        out!("kept at its own precision: {n} ({why})");
    }
    if args.tensor_types {
        for line in &tensor_types {
            out!("{line}");
        }
    }
    Ok(())
}
