//! `quantscope int-matmul`: a linear layer computed in integers only, as TensorFlow Lite's
//! reference kernels do (`quantscope_core::intmatmul`).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use quantscope_core::intmatmul::int_matmul;
use quantscope_core::io::npy;
use serde_json::json;

use crate::{num, read_dataset};

#[derive(Args)]
pub struct IntMatmulArgs {
    /// Activations X [m, k] (.npy, .safetensors with one tensor, …).
    #[arg(required_unless_present = "example")]
    x: Option<PathBuf>,
    /// Weights W [n, k] (PyTorch's Linear convention: y = x·Wᵀ).
    #[arg(required_unless_present = "example")]
    w: Option<PathBuf>,
    /// Instead of files: the page's teaching example (X 4 × 16, W 3 × 16) from this seed.
    #[arg(long, conflicts_with_all = ["x", "w"])]
    example: Option<u64>,
    /// Write the int8 output codes y_q [m, n] as an i32 .npy.
    #[arg(long, value_name = "OUT.npy")]
    codes: Option<PathBuf>,
    /// Write the dequantized output S_y (y_q − Z_y) [m, n] as an f32 .npy.
    #[arg(long, value_name = "OUT.npy")]
    dequantized: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &IntMatmulArgs) -> Result<()> {
    let r = match (&args.x, &args.w, args.example) {
        (_, _, Some(seed)) => {
            let (x, xs, w, ws) = quantscope_core::intmatmul::example(seed);
            int_matmul(&x, &xs, &w, &ws).with_context(|| format!("the example of seed {seed}"))?
        }
        (Some(xp), Some(wp), None) => {
            let x = read_dataset(xp, None)?;
            let w = read_dataset(wp, None)?;
            int_matmul(x.values(), x.shape(), w.values(), w.shape())
                .with_context(|| format!("{} · {}ᵀ", x.name(), w.name()))?
        }
        _ => anyhow::bail!("give X and W, or --example SEED"),
    };
    let shape = [r.m, r.n];
    if let Some(p) = &args.codes {
        let codes: Vec<i32> = r.y_q.iter().map(|&q| i32::from(q)).collect();
        std::fs::write(p, npy::write_i32(&shape, &codes))
            .with_context(|| format!("{}: cannot write", p.display()))?;
    }
    if let Some(p) = &args.dequantized {
        std::fs::write(p, npy::write_f32(&shape, &r.y_hat))
            .with_context(|| format!("{}: cannot write", p.display()))?;
    }
    if args.json {
        out!(
            "{}",
            json!({
                "m": r.m, "k": r.k, "n": r.n,
                "input_scale": r.input_scale,
                "input_zero_point": r.input_zero_point,
                "weight_scale": r.weight_scale,
                "output_scale": r.output_scale,
                "output_zero_point": r.output_zero_point,
                "multiplier": r.multiplier,
                "shift": r.shift,
                "mse": num(r.mse),
                "sqnr_db": num(r.sqnr_db),
                "max_abs_error": num(r.max_abs_error),
            })
        );
        return Ok(());
    }
    out!(
        "layer             X [{}, {}] · W [{}, {}]ᵀ in int8, int32 accumulators",
        r.m,
        r.k,
        r.n,
        r.k
    );
    out!(
        "input             S_x = {}, Z_x = {} (per tensor, asymmetric)",
        r.input_scale,
        r.input_zero_point
    );
    out!(
        "output            S_y = {}, Z_y = {} (from the float result's range)",
        r.output_scale,
        r.output_zero_point
    );
    for j in 0..r.n.min(8) {
        out!(
            "row {j:<13} S_w = {}, M0 = {} (0x{:08x}), shift = {}",
            r.weight_scale[j],
            r.multiplier[j],
            r.multiplier[j],
            r.shift[j]
        );
    }
    if r.n > 8 {
        out!(
            "                  … {} more rows (--json lists all)",
            r.n - 8
        );
    }
    out!(
        "error vs float    mse {:.6e}, sqnr {:.4} dB, max |Δ| {:.6e}",
        r.mse,
        r.sqnr_db,
        r.max_abs_error
    );
    Ok(())
}
