//! `quantscope layer`: a linear layer's output error under a weight quantizer and a method.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::builder::PossibleValuesParser;
use clap::Args;
use quantscope_core::io::npy;
use quantscope_core::layer::{self, GptqOptions, Layer, LayerOptions, Method};
use serde_json::json;

use crate::{num, read_dataset, QuantizerFlags};

#[derive(Args)]
pub struct LayerArgs {
    /// The weights W [out, in] (PyTorch's Linear convention, y = x·Wᵀ): .npy, .safetensors, .gguf.
    weights: PathBuf,
    /// The weight tensor to read (required when the file holds several).
    #[arg(long)]
    tensor: Option<String>,
    /// The layer's input activations X [tokens, in].
    #[arg(long)]
    activations: PathBuf,
    /// The activation tensor to read (required when the file holds several).
    #[arg(long)]
    activations_tensor: Option<String>,
    #[command(flatten)]
    quantizer: QuantizerFlags,
    /// rtn: round to nearest; gptq: IST-DASLab/gptq's fasterquant; awq: llm-awq's α search.
    #[arg(long, default_value = "rtn", value_parser = PossibleValuesParser::new(Method::ALL.map(Method::name)))]
    method: String,
    /// Rotate W and X by a block-diagonal Hadamard matrix before quantizing.
    #[arg(long, default_value = "none", value_parser = PossibleValuesParser::new(["none", "hadamard"]))]
    rotate: String,
    /// Hadamard block size: a power of two dividing `in` (default: the largest such).
    #[arg(long)]
    rotate_block: Option<usize>,
    /// Random ±1 signs before the rotation, from this seed.
    #[arg(long)]
    rotate_seed: Option<u64>,
    /// SmoothQuant: move activation outliers into the weights with strength α in [0, 1].
    #[arg(long)]
    smooth_alpha: Option<f32>,
    /// Quantize the activations too (per tensor, signed symmetric min–max): W8A8 is
    /// `--bits 8 --act-bits 8`.
    #[arg(long)]
    act_bits: Option<u8>,
    /// GPTQ: columns updated together (the reference's 128).
    #[arg(long, default_value_t = 128)]
    gptq_block: usize,
    /// GPTQ: dampening λ as a fraction of mean diag H (the reference's 0.01).
    #[arg(long, default_value_t = 0.01)]
    gptq_damp: f64,
    /// GPTQ: visit columns by decreasing H_jj (the reference's --act-order).
    #[arg(long)]
    act_order: bool,
    /// Calibrate on all tokens but the last N, and measure every error on those N alone.
    #[arg(long, value_name = "N")]
    holdout: Option<usize>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Write the effective quantized weights (in W's space) as an f32 .npy [out, in].
    #[arg(long, value_name = "OUT.npy")]
    dequantized: Option<PathBuf>,
}

pub fn run(args: &LayerArgs) -> Result<()> {
    let config = args.quantizer.config()?;
    let w = read_dataset(&args.weights, args.tensor.as_deref())?;
    let x = read_dataset(&args.activations, args.activations_tensor.as_deref())?;
    let l = Layer::new(w.values(), w.shape(), x.values(), x.shape())
        .with_context(|| format!("{} with {}", w.name(), x.name()))?;
    let rotate_block = match args.rotate.as_str() {
        "hadamard" => Some(
            args.rotate_block
                .unwrap_or(1 << l.inputs().trailing_zeros()),
        ),
        _ => {
            if args.rotate_block.is_some() || args.rotate_seed.is_some() {
                anyhow::bail!("--rotate-block and --rotate-seed need --rotate hadamard");
            }
            None
        }
    };
    let options = LayerOptions {
        // The parser only lets known names through.
        method: Method::from_name(&args.method).unwrap_or(Method::Rtn),
        rotate_block,
        rotate_seed: args.rotate_seed,
        smooth_alpha: args.smooth_alpha,
        act_bits: args.act_bits,
        gptq: GptqOptions {
            block_size: args.gptq_block,
            damp: args.gptq_damp,
            act_order: args.act_order,
        },
        holdout: args.holdout,
    };
    let start = Instant::now();
    let (r, w_hat) = layer::run_with_weights(&l, &config, &options, &mut |_| {})?;
    let seconds = start.elapsed().as_secs_f64();
    if let Some(path) = &args.dequantized {
        let v: Vec<f32> = w_hat.iter().map(|&v| v as f32).collect();
        std::fs::write(path, npy::write_f32(w.shape(), &v))
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    if args.json {
        let mut out = json!({
            "weights": w.name(),
            "activations": x.name(),
            "out": l.out(),
            "in": l.inputs(),
            "tokens": l.tokens(),
            "method": r.method.name(),
            "output_mse": num(r.output_mse),
            "output_sqnr_db": num(r.output_sqnr_db),
            "weight_mse": num(r.weight_mse),
            "weight_sqnr_db": num(r.weight_sqnr_db),
            "per_output_mse": r.per_output_mse.iter().map(|&v| num(v)).collect::<Vec<_>>(),
            "weight_kurtosis": num(r.weight_before.kurtosis),
            "weight_max_over_std": num(r.weight_before.max_over_std),
            "quantized_kurtosis": num(r.weight_quantized.kurtosis),
            "quantized_max_over_std": num(r.weight_quantized.max_over_std),
            "rotate_block": options.rotate_block,
            "rotate_seed": options.rotate_seed,
            "smooth_alpha": options.smooth_alpha,
            "act_bits": options.act_bits,
            "holdout": options.holdout,
            "format": config.format.name(),
            "notes": r.notes,
            "config": config,
        });
        if let Some(a) = r.awq_alpha {
            out["awq_alpha"] = json!(a);
            out["awq_curve"] = json!(r
                .awq_curve
                .iter()
                .map(|(a, m)| json!({"alpha": a, "output_mse": num(*m)}))
                .collect::<Vec<_>>());
        }
        if let (Some(damp), Some(loss)) = (r.gptq_damp, r.gptq_loss) {
            out["gptq"] = json!({"damp": damp, "loss": loss, "block_size": options.gptq.block_size,
                                 "act_order": options.gptq.act_order});
        }
        out!("{out}");
    } else {
        out!(
            "layer             {} [{}, {}] with {} [{}, {}]",
            w.name(),
            l.out(),
            l.inputs(),
            x.name(),
            l.tokens(),
            l.inputs()
        );
        out!("method            {}", r.method.label());
        if let Some(b) = options.rotate_block {
            out!(
                "rotation          Hadamard, blocks of {b}{}",
                options
                    .rotate_seed
                    .map_or(String::new(), |s| format!(", random signs (seed {s})"))
            );
        }
        if let Some(a) = options.smooth_alpha {
            out!("smoothquant       α = {a}");
        }
        if let Some(b) = options.act_bits {
            out!("activations       int{b} per tensor, symmetric min–max");
        }
        out!("output_mse        {:.6e}", r.output_mse);
        out!("output_sqnr_db    {:.4}", r.output_sqnr_db);
        out!("weight_mse        {:.6e}", r.weight_mse);
        out!("weight_sqnr_db    {:.4}", r.weight_sqnr_db);
        out!(
            "weights           kurtosis {:.2}, max/std {:.1}{}",
            r.weight_before.kurtosis,
            r.weight_before.max_over_std,
            if r.weight_before == r.weight_quantized {
                String::new()
            } else {
                format!(
                    "; as quantized: kurtosis {:.2}, max/std {:.1}",
                    r.weight_quantized.kurtosis, r.weight_quantized.max_over_std
                )
            }
        );
        if let Some(a) = r.awq_alpha {
            out!("awq_alpha         {a}");
        }
        if let Some(d) = r.gptq_damp {
            out!("gptq_damp         {d:.6e}");
        }
        let worst = r
            .per_output_mse
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1));
        if let Some((o, m)) = worst {
            out!("worst output      #{o}: mse {m:.6e}");
        }
        for note in &r.notes {
            out!("note              {note}");
        }
        eprintln!("quantscope: {seconds:.3} s");
    }
    Ok(())
}
