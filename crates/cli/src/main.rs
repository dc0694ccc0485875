//! `quantscope`: the command-line face of quantscope-core.
//!
//! Reads files (the core only sees bytes), prints tables or JSON, writes `.npy` outputs. Errors are
//! printed once, as one line on stderr, with a non-zero exit.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand};
use quantscope_core::calib::aciq::AciqFit;
use quantscope_core::io::{gguf, npy};
use quantscope_core::{
    analyze, analyze_and_quantize, config::CalibrationParams, presets, AnalysisOptions,
    Calibration, Dataset, Format, Granularity, QuantizerConfig, Rounding, ScaleFormat,
    ScaleRounding, Scheme, Signedness,
};
use serde_json::json;

/// `println!` that ends the program quietly when stdout is closed (`quantscope info … | head`)
/// instead of panicking, and with one line on stderr for any other write error.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("quantscope: cannot write the output: {e}");
            std::process::exit(1);
        }
    }};
}

mod allocate;
mod intmatmul;
mod layer;
mod report;
mod source;

#[derive(Parser)]
#[command(
    name = "quantscope",
    version,
    about = "Explore and measure quantization of tensors"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Quantize one tensor and report the error.
    Quantize(QuantizeArgs),
    /// Write one of the app's synthetic distributions as an f32 .npy (same seed, same values).
    Synth(SynthArgs),
    /// List the tensors of files with their statistics.
    Info(InfoArgs),
    /// Quantize every float tensor of a checkpoint and report each one's error and the total.
    Report(ReportArgs),
    /// Write one tensor as float32 .npy (dequantizing a GGML type), or quantized in a GGML type
    /// as a .gguf file.
    Export(ExportArgs),
    /// Pair the tensors of an original and a quantized checkpoint (safetensors or GGUF) and
    /// report what the quantization did to each.
    Diff(DiffArgs),
    /// A linear layer's output error with real activations: round to nearest, GPTQ or AWQ, with
    /// optional Hadamard rotation, SmoothQuant and activation quantization.
    Layer(layer::LayerArgs),
    /// Choose one candidate configuration per tensor of a checkpoint: the least total error within
    /// a budget in bits per value (multiple-choice knapsack).
    Allocate(allocate::AllocateArgs),
    /// A linear layer in integers only (int8 operands, int32 accumulators, TFLite's fixed-point
    /// requantization), against the float result.
    IntMatmul(intmatmul::IntMatmulArgs),
}

#[derive(Args)]
struct ExportArgs {
    /// A .npy, .safetensors, .gguf, .csv or .txt file.
    input: PathBuf,
    /// The tensor to read (required when the file holds several).
    #[arg(long)]
    tensor: Option<String>,
    /// For a .gguf output: the GGML type to quantize to (llama.cpp's reference quantizer).
    #[arg(long, value_parser = PossibleValuesParser::new(Format::ALL.into_iter().filter(|f| f.ggml_type().is_some()).map(Format::name)))]
    format: Option<String>,
    /// OUT.npy (float32 values) or OUT.gguf (the tensor in --format's type).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct DiffArgs {
    /// The original checkpoint (.safetensors or .gguf, or a sharded index).
    original: PathBuf,
    /// The quantized checkpoint (.gguf or .safetensors).
    quantized: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ReportArgs {
    /// .safetensors files, a sharded checkpoint's .safetensors.index.json, .npy or .csv files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    quantizer: QuantizerFlags,
    /// Print one JSON object {"tensors": [...], "total": {...}}.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV: one row per tensor, then the total.
    #[arg(long)]
    csv: bool,
}

#[derive(Args)]
struct InfoArgs {
    /// .npy, .safetensors (or a sharded checkpoint's .safetensors.index.json), .csv or .txt files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct SynthArgs {
    /// normal, laplace, uniform, student-t, log-normal, bimodal, half-normal or outliers.
    dist: String,
    /// Number of values.
    #[arg(long, default_value_t = 100_000)]
    n: usize,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Distribution parameters as NAME=VALUE: nu (student-t), sigma (log-normal), separation
    /// (bimodal), count and magnitude (outliers).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Write an N / COLS × COLS matrix (the page's synthetic data is 1024 columns by default);
    /// 1 writes a vector of N.
    #[arg(long, default_value_t = 1)]
    cols: usize,
    /// Scale each row by exp(σ z), z ~ N(0, 1), like the rows of a trained weight matrix.
    #[arg(long, default_value_t = 0.0)]
    row_spread: f64,
    /// Output .npy file.
    #[arg(long)]
    out: PathBuf,
}

/// Quantizer flags (shared by the commands that quantize).
#[derive(Args, Clone)]
struct QuantizerFlags {
    /// Number format of the codes (see `quantscope formats`).
    #[arg(long, default_value = "int", value_parser = PossibleValuesParser::new(Format::ALL.map(Format::name)))]
    format: String,
    /// A named configuration (MX, NVFP4, GGML, NF4, …); sets the format, blocks and scale format.
    #[arg(long, value_parser = PossibleValuesParser::new(presets::PRESETS),
          conflicts_with_all = ["format", "granularity", "group_size", "scale_format", "bits", "symmetric", "asymmetric", "unsigned", "narrow_range"])]
    preset: Option<String>,
    /// Storage of each block's scale: f32, f16, bf16, e8m0 (MX), e4m3 (NVFP4, two-level).
    #[arg(long, default_value = "f32", value_parser = PossibleValuesParser::new(ScaleFormat::ALL.map(ScaleFormat::name)))]
    scale_format: String,
    /// Rounding of E8M0 scales: floor (the MX spec), ceil or nearest.
    #[arg(long, default_value = "floor", value_parser = PossibleValuesParser::new(ScaleRounding::ALL.map(ScaleRounding::name)))]
    scale_rounding: String,
    /// Codebook size K of --format kmeans (2–65536).
    #[arg(long, default_value_t = 16)]
    levels: u32,
    /// Sub-vector length D of --format kmeans (1: scalar; > 1: vector quantization).
    #[arg(long, default_value_t = 1)]
    vector_dim: usize,
    /// Integer bits M of --format fixed (Qm.n).
    #[arg(long, default_value_t = 3)]
    int_bits: u8,
    /// Fraction bits N of --format fixed (Qm.n).
    #[arg(long, default_value_t = 4)]
    frac_bits: u8,
    /// Bit width, 1–16.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..=16))]
    bits: u8,
    /// Signed codes (default).
    #[arg(long, conflicts_with = "unsigned")]
    signed: bool,
    /// Unsigned codes.
    #[arg(long)]
    unsigned: bool,
    /// Symmetric scheme (zero-point fixed).
    #[arg(long, conflicts_with = "asymmetric")]
    symmetric: bool,
    /// Asymmetric (affine) scheme (default).
    #[arg(long)]
    asymmetric: bool,
    /// Narrow signed range [−(2^(b−1)−1), 2^(b−1)−1].
    #[arg(long)]
    narrow_range: bool,
    #[arg(long, default_value = "tensor", value_parser = PossibleValuesParser::new(Granularity::KINDS))]
    granularity: String,
    /// Channel axis for --granularity channel.
    #[arg(long, default_value_t = 0)]
    axis: usize,
    /// Group size for --granularity group (must divide the last axis).
    #[arg(long)]
    group_size: Option<usize>,
    #[arg(long, default_value = "minmax", value_parser = PossibleValuesParser::new(Calibration::METHODS))]
    calibration: String,
    /// Weight γ of the clipped values' noise for --calibration sqnr (AIMET's default 3).
    #[arg(long, default_value_t = 3.0)]
    gamma: f64,
    /// Distribution fitted by --calibration aciq.
    #[arg(long, default_value = "laplace", value_parser = PossibleValuesParser::new(AciqFit::ALL.map(AciqFit::name)))]
    aciq_fit: String,
    /// Percentile for --calibration percentile, in (0, 100].
    #[arg(long, default_value_t = 99.9)]
    percentile: f64,
    /// Clipping range LO,HI for --calibration manual.
    #[arg(long, value_parser = parse_clip, allow_hyphen_values = true)]
    clip: Option<(f32, f32)>,
    #[arg(long, default_value = "nearest-even", value_parser = PossibleValuesParser::new(Rounding::ALL.map(Rounding::name)))]
    rounding: String,
    /// Seed of stochastic rounding.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Round scales up to powers of two.
    #[arg(long)]
    power_of_two_scale: bool,
}

#[derive(Args)]
struct QuantizeArgs {
    /// A .npy, .safetensors, .csv or .txt file.
    input: PathBuf,
    /// The tensor to read from a .safetensors file (required when it holds several).
    #[arg(long)]
    tensor: Option<String>,
    #[command(flatten)]
    quantizer: QuantizerFlags,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Write the dequantized values as an f32 .npy with the input's shape.
    #[arg(long, value_name = "OUT.npy")]
    dequantized: Option<PathBuf>,
    /// Write the integer codes as an i32 .npy with the input's shape.
    #[arg(long, value_name = "OUT.npy")]
    codes: Option<PathBuf>,
    /// Write the codes with their scales and zero-points (and the settings, as metadata) as one
    /// .safetensors file — the page's "Codes + scales" export.
    #[arg(long, value_name = "OUT.safetensors")]
    safetensors: Option<PathBuf>,
}

fn parse_clip(s: &str) -> Result<(f32, f32), String> {
    let (lo, hi) = s.split_once(',').ok_or("expected LO,HI")?;
    let lo: f32 = lo
        .trim()
        .parse()
        .map_err(|_| format!("'{lo}' is not a number"))?;
    let hi: f32 = hi
        .trim()
        .parse()
        .map_err(|_| format!("'{hi}' is not a number"))?;
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(format!("need finite LO < HI, got {lo},{hi}"));
    }
    Ok((lo, hi))
}

impl QuantizerFlags {
    fn config(&self) -> Result<QuantizerConfig> {
        // The parsers above let only the core's names through; the core turns them into values.
        if self.granularity == "group" && self.group_size.is_none() {
            bail!("--granularity group needs --group-size G");
        }
        let granularity =
            Granularity::from_kind(&self.granularity, self.axis, self.group_size.unwrap_or(1))
                .with_context(|| format!("unknown granularity {}", self.granularity))?;
        if self.calibration == "manual" && self.clip.is_none() {
            bail!("--calibration manual needs --clip LO,HI");
        }
        if self.clip.is_some() && self.calibration != "manual" {
            bail!("--clip is only used with --calibration manual");
        }
        let params = CalibrationParams {
            p: self.percentile,
            gamma: self.gamma,
            fit: AciqFit::from_name(&self.aciq_fit).unwrap_or_default(),
            range: self.clip.unwrap_or((0.0, 0.0)),
        };
        let calibration = Calibration::from_key(&self.calibration, &params)
            .with_context(|| format!("unknown calibration {}", self.calibration))?;
        let config = QuantizerConfig {
            bits: self.bits,
            signedness: if self.unsigned {
                Signedness::Unsigned
            } else {
                Signedness::Signed
            },
            scheme: if self.symmetric {
                Scheme::Symmetric
            } else {
                Scheme::Asymmetric
            },
            narrow_range: self.narrow_range,
            granularity,
            calibration,
            rounding: Rounding::from_name(&self.rounding).unwrap_or_default(),
            power_of_two_scale: self.power_of_two_scale,
            seed: self.seed,
            // The parsers above only let known names through.
            format: Format::from_name(&self.format).unwrap_or_default(),
            scale_format: ScaleFormat::from_name(&self.scale_format).unwrap_or_default(),
            scale_rounding: ScaleRounding::from_name(&self.scale_rounding).unwrap_or_default(),
            levels: self.levels,
            vector_dim: self.vector_dim,
            int_bits: self.int_bits,
            frac_bits: self.frac_bits,
        };
        // A preset replaces the format's layout; calibration, rounding and seed still apply.
        let config = match &self.preset {
            Some(name) => {
                presets::apply(name, &config).with_context(|| format!("unknown preset {name}"))?
            }
            None => config,
        };
        config.validate()?;
        Ok(config)
    }
}

/// Reads one tensor of a file (safetensors header first: only the chosen tensor's bytes).
fn read_dataset(path: &Path, tensor: Option<&str>) -> Result<Dataset> {
    let name = path.display().to_string();
    let tensors = source::tensors_of(&[path.to_path_buf()])?;
    let chosen = match tensor {
        Some(t) => tensors
            .iter()
            .find(|r| r.info.name == t)
            .with_context(|| format!("{name}: no tensor named \"{t}\" in the file"))?,
        None => match tensors.as_slice() {
            [one] => one,
            [] => bail!("{name}: the file holds no tensors"),
            many => bail!(
                "{name}: the file holds {} tensors; pick one with --tensor",
                many.len()
            ),
        },
    };
    if !chosen.info.is_float && !chosen.is_gguf() {
        bail!(
            "{name} (tensor \"{}\"): dtype {} cannot be quantized (float tensors only)",
            chosen.info.name,
            chosen.info.dtype
        );
    }
    source::load(chosen)
}

/// A JSON number, or null for ±∞/NaN (JSON has no infinities); SQNR of an exact reconstruction is null.
fn num(v: f64) -> serde_json::Value {
    if v.is_finite() {
        json!(v)
    } else {
        serde_json::Value::Null
    }
}

/// An f32 for people: as written (shortest round trip) in a readable range, else in exponent
/// form (3.4e38, not 39 digits; 1e-41, not 40 zeros).
fn real(x: f32) -> String {
    if x == 0.0 || (1e-4..1e7).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

fn run_quantize(args: &QuantizeArgs) -> Result<()> {
    let config = args.quantizer.config()?;
    let dataset = read_dataset(&args.input, args.tensor.as_deref())?;
    let options = AnalysisOptions::default();
    // Codes wanted too: both from one calibration (block scales, trained codebook).
    let (a, quantized) =
        if args.dequantized.is_some() || args.codes.is_some() || args.safetensors.is_some() {
            let (a, q) = analyze_and_quantize(&dataset, &config, &options)?;
            (a, Some(q))
        } else {
            (analyze(&dataset, &config, &options)?, None)
        };
    let m = &a.metrics;
    let s = &a.summary;
    let per_tensor = a.groups.len() == 1;
    let clip = if per_tensor {
        json!([a.groups[0].clip.0, a.groups[0].clip.1])
    } else {
        json!(a
            .groups
            .iter()
            .map(|g| [g.clip.0, g.clip.1])
            .collect::<Vec<_>>())
    };
    let scale = if per_tensor {
        json!(a.groups[0].params.scale)
    } else {
        json!(a.groups.iter().map(|g| g.params.scale).collect::<Vec<_>>())
    };
    // What decoding adds after the scale (a GGML block's minimum; 0 for most formats).
    let offset = if per_tensor {
        json!(a.groups[0].offset)
    } else {
        json!(a.groups.iter().map(|g| g.offset).collect::<Vec<_>>())
    };
    let zero_point = if per_tensor {
        json!(a.groups[0].params.zero_point)
    } else {
        json!(a
            .groups
            .iter()
            .map(|g| g.params.zero_point)
            .collect::<Vec<_>>())
    };

    if let Some(q) = quantized {
        if let Some(path) = &args.dequantized {
            std::fs::write(path, npy::write_f32(dataset.shape(), &q.dequantized))
                .with_context(|| format!("{}: cannot write", path.display()))?;
        }
        if let Some(path) = &args.codes {
            std::fs::write(path, npy::write_i32(dataset.shape(), &q.codes))
                .with_context(|| format!("{}: cannot write", path.display()))?;
        }
        if let Some(path) = &args.safetensors {
            let bytes = quantscope_core::io::export::quantized_safetensors(
                dataset.name(),
                dataset.shape(),
                &config,
                &q,
            )
            .map_err(anyhow::Error::msg)?;
            std::fs::write(path, bytes)
                .with_context(|| format!("{}: cannot write", path.display()))?;
        }
    }

    if args.json {
        let out = json!({
            "tensor": dataset.name(),
            "shape": dataset.shape(),
            "n": m.n,
            "overflowed": m.overflowed,
            "mse": num(m.mse),
            "rmse": num(m.rmse),
            "sqnr_db": num(m.sqnr_db),
            "max_abs_error": num(m.max_abs_error),
            "mean_abs_error": num(m.mean_abs_error),
            "cosine_similarity": num(m.cosine_similarity),
            "clipped_fraction": num(m.clipped_fraction),
            "clipping_mse": m.clipping_mse.map(num),
            "levels_used": m.levels_used,
            "levels_available": m.levels_available,
            "code_entropy_bits": num(m.code_entropy_bits),
            "bits_per_value": num(m.bits_per_value),
            "clip": clip,
            "scale": scale,
            "zero_point": zero_point,
            "offset": offset,
            "qmin": a.groups[0].params.qmin,
            "qmax": a.groups[0].params.qmax,
            "nan_count": s.nan_count,
            "inf_count": s.inf_count,
            "format": config.format.name(),
            "notes": a.notes,
            "config": a.config,
        });
        out!("{out}");
    } else {
        let (qmin, qmax) = config.code_range();
        out!("tensor            {} {:?}", dataset.name(), dataset.shape());
        out!(
            "values            {} finite, {} NaN, {} Inf",
            s.finite,
            s.nan_count,
            s.inf_count
        );
        if config.format == Format::Int {
            out!(
                "codes             [{qmin}, {qmax}], {} groups",
                a.groups.len()
            );
        } else {
            out!(
                "format            {}: {}, {} blocks",
                config.format.name(),
                config.format.describe(),
                a.groups.len()
            );
        }
        if per_tensor {
            let g = a.groups[0];
            out!("clip              [{}, {}]", real(g.clip.0), real(g.clip.1));
            out!(
                "scale, zero-point {}, {}",
                real(g.params.scale),
                g.params.zero_point
            );
        }
        if m.overflowed > 0 {
            out!(
                "overflowed        {} (reconstructed as ±Inf or NaN)",
                m.overflowed
            );
        }
        out!("mse               {:.6e}", m.mse);
        out!("rmse              {:.6e}", m.rmse);
        out!("sqnr_db           {:.4}", m.sqnr_db);
        out!("max_abs_error     {:.6e}", m.max_abs_error);
        out!("mean_abs_error    {:.6e}", m.mean_abs_error);
        out!("cosine_similarity {:.8}", m.cosine_similarity);
        out!("clipped_fraction  {:.6}", m.clipped_fraction);
        if let Some(c) = m.clipping_mse {
            out!("clipping_mse      {c:.6e}");
        }
        out!(
            "levels_used       {} of {}",
            m.levels_used,
            m.levels_available
        );
        out!("code_entropy_bits {:.4}", m.code_entropy_bits);
        out!("bits_per_value    {:.4}", m.bits_per_value);
        for note in &a.notes {
            out!("note              {note}");
        }
    }
    Ok(())
}

fn run_synth(args: &SynthArgs) -> Result<()> {
    use quantscope_core::synth::{generate, Distribution};
    let mut dist = Distribution::from_name(&args.dist).with_context(|| {
        format!(
            "unknown distribution '{}' (one of: {})",
            args.dist,
            Distribution::NAMES.join(", ")
        )
    })?;
    for p in &args.params {
        let (name, value) = p
            .split_once('=')
            .with_context(|| format!("--param {p}: expected NAME=VALUE"))?;
        let v: f64 = value
            .trim()
            .parse()
            .with_context(|| format!("--param {p}: '{value}' is not a number"))?;
        dist = match (dist, name.trim()) {
            (Distribution::StudentT { .. }, "nu") => Distribution::StudentT { nu: v },
            (Distribution::LogNormal { .. }, "sigma") => Distribution::LogNormal { sigma: v },
            (Distribution::Bimodal { .. }, "separation") => Distribution::Bimodal { separation: v },
            (Distribution::Outliers { magnitude, .. }, "count") if v >= 0.0 && v.fract() == 0.0 => {
                Distribution::Outliers {
                    count: v as usize,
                    magnitude,
                }
            }
            (Distribution::Outliers { count, .. }, "magnitude") => Distribution::Outliers {
                count,
                magnitude: v,
            },
            (d, other) => bail!("--param {other} does not apply to {}", d.name()),
        };
    }
    let mut values = generate(dist, args.n, args.seed)?;
    quantscope_core::synth::scale_rows(&mut values, args.cols, args.row_spread, args.seed)?;
    let shape = if args.cols > 1 {
        vec![args.n / args.cols, args.cols]
    } else {
        vec![args.n]
    };
    std::fs::write(&args.out, npy::write_f32(&shape, &values))
        .with_context(|| format!("{}: cannot write", args.out.display()))?;
    Ok(())
}

/// One tensor's row of `quantscope info`.
fn info_row(t: &source::TensorRef) -> Result<serde_json::Value> {
    let n = t.n_elements();
    let file = t.file_name();
    let mut row = json!({"file": file, "name": t.info.name, "dtype": t.info.dtype, "shape": t.info.shape, "n": n});
    if t.info.is_float {
        let values = match source::load(t) {
            Ok(d) => d.values().to_vec(),
            Err(e) => {
                // A tensor with no finite value is still described.
                if e.chain()
                    .any(|c| c.downcast_ref::<quantscope_core::DatasetError>().is_some())
                {
                    Vec::new()
                } else {
                    return Err(e);
                }
            }
        };
        let s = quantscope_core::Summary::of(&values);
        let finite = s.finite > 0;
        let abs_max = f64::from(s.min.abs().max(s.max.abs()));
        row["min"] = if finite {
            json!(s.min)
        } else {
            serde_json::Value::Null
        };
        row["max"] = if finite {
            json!(s.max)
        } else {
            serde_json::Value::Null
        };
        row["mean"] = num(s.mean);
        row["std"] = num(s.std);
        row["nan_count"] = json!(s.nan_count);
        row["inf_count"] = json!(s.inf_count);
        row["outlier_ratio"] = if s.std > 0.0 {
            num(abs_max / s.std)
        } else {
            serde_json::Value::Null
        };
    }
    Ok(row)
}

/// Safetensors files up to this size are also read whole by the `safetensors` crate, as a second
/// opinion on the header-first reader (any file the page exports is far smaller).
const CRATE_CHECK_MAX_BYTES: u64 = 1 << 30;

/// The `.safetensors` files of `files` that the `safetensors` crate was given and accepted.
fn check_with_the_crate(files: &[PathBuf]) -> Result<Vec<String>> {
    let mut checked = Vec::new();
    for f in files {
        let is_st = f
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"));
        let small = std::fs::metadata(f).is_ok_and(|m| m.len() <= CRATE_CHECK_MAX_BYTES);
        if !(is_st && small) {
            continue;
        }
        let bytes = std::fs::read(f).with_context(|| format!("{}: cannot read", f.display()))?;
        safetensors::SafeTensors::deserialize(&bytes).map_err(|e| {
            anyhow::anyhow!("{}: the safetensors crate refuses it: {e}", f.display())
        })?;
        checked.push(f.display().to_string());
    }
    Ok(checked)
}

fn run_info(args: &InfoArgs) -> Result<()> {
    // One tensor in memory at a time.
    let mut rows = Vec::new();
    for t in &source::tensors_of(&args.files)? {
        rows.push(info_row(t)?);
    }
    let checked = check_with_the_crate(&args.files)?;
    // A GGUF file's metadata: architecture, llama.cpp's file type, quantization version.
    let mut gguf_files = Vec::new();
    for path in &args.files {
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
        {
            let h = source::read_gguf_header(path)?;
            gguf_files.push(json!({
                "file": path.display().to_string(),
                "version": h.version,
                "architecture": h.architecture(),
                "file_type": h.file_type(),
                "quantization_version": h.quantization_version(),
                "metadata_entries": h.metadata.len(),
            }));
        }
    }
    if args.json {
        out!(
            "{}",
            json!({ "tensors": rows, "checked_by_safetensors_crate": checked, "gguf": gguf_files })
        );
        return Ok(());
    }
    for g in &gguf_files {
        out!(
            "{}: GGUF v{}, architecture {}, file type {}, quantization version {}",
            g["file"].as_str().unwrap_or(""),
            g["version"],
            g["architecture"].as_str().unwrap_or("-"),
            g["file_type"].as_str().unwrap_or("-"),
            g["quantization_version"]
        );
    }
    out!(
        "{:<48} {:<7} {:<16} {:>10} {:>11} {:>11} {:>11} {:>11} {:>8} {:>9}",
        "name",
        "dtype",
        "shape",
        "n",
        "min",
        "max",
        "mean",
        "std",
        "nan/inf",
        "max/std"
    );
    let cell = |v: &serde_json::Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.4e}"));
    for r in &rows {
        let shape = r["shape"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("x")
            })
            .unwrap_or_default();
        out!(
            "{:<48} {:<7} {:<16} {:>10} {:>11} {:>11} {:>11} {:>11} {:>8} {:>9}",
            r["name"].as_str().unwrap_or(""),
            r["dtype"].as_str().unwrap_or(""),
            shape,
            r["n"],
            cell(&r["min"]),
            cell(&r["max"]),
            cell(&r["mean"]),
            cell(&r["std"]),
            format!(
                "{}/{}",
                r["nan_count"].as_u64().unwrap_or(0),
                r["inf_count"].as_u64().unwrap_or(0)
            ),
            r["outlier_ratio"]
                .as_f64()
                .map_or("-".to_string(), |x| format!("{x:.1}")),
        );
    }
    Ok(())
}

fn run_export(args: &ExportArgs) -> Result<()> {
    let dataset = read_dataset(&args.input, args.tensor.as_deref())?;
    let out = args.out.display().to_string();
    let bytes = if out.ends_with(".npy") {
        if args.format.is_some() {
            bail!("{out}: a .npy export holds float32 values; --format is for a .gguf output");
        }
        npy::write_f32(dataset.shape(), dataset.values())
    } else if out.ends_with(".gguf") {
        let name = args
            .format
            .as_deref()
            .context("a .gguf export needs --format (q4_0, q8_0, q4_k, iq4_xs, …)")?;
        let ty = Format::from_name(name)
            .and_then(Format::ggml_type)
            .with_context(|| format!("{name} is not a GGML type"))?;
        let codec = ty
            .codec()
            .with_context(|| format!("{} cannot be written", ty.name()))?;
        let last = dataset.shape().last().copied().unwrap_or(dataset.len());
        let block = codec.block_values();
        if last % block != 0 {
            bail!(
                "{}: rows of {last} values are not whole blocks of {block} ({})",
                dataset.name(),
                ty.name()
            );
        }
        if dataset.summary().finite != dataset.len() {
            eprintln!(
                "quantscope: {} NaN/Inf values are written as 0 (llama.cpp's quantizers expect finite values)",
                dataset.len() - dataset.summary().finite
            );
        }
        let q = quantscope_core::ggml::quantize(codec, dataset.values());
        let source = args.input.display().to_string();
        quantscope_core::io::gguf::write(
            &[
                ("general.name", gguf::Meta::Str(dataset.name())),
                ("quantscope.source", gguf::Meta::Str(&source)),
            ],
            &[gguf::TensorOut {
                name: dataset.name(),
                shape: dataset.shape(),
                ty,
                bytes: &q,
            }],
        )
    } else {
        bail!("{out}: write .npy (float32) or .gguf (with --format)");
    };
    std::fs::write(&args.out, bytes).with_context(|| format!("{out}: cannot write"))?;
    Ok(())
}

fn run_diff(args: &DiffArgs) -> Result<()> {
    use quantscope_core::diff;
    let original = source::tensors_of(std::slice::from_ref(&args.original))?;
    let quantized = source::tensors_of(std::slice::from_ref(&args.quantized))?;
    let infos = |ts: &[source::TensorRef]| ts.iter().map(|t| t.info.clone()).collect::<Vec<_>>();
    // llama.cpp's converter reorders q/k rows of llama models: the heads from the GGUF side.
    let heads = source::gguf_heads(&args.quantized).or_else(|| source::gguf_heads(&args.original));
    let loader = |ts: &[source::TensorRef]| {
        let ts = ts.to_vec();
        move |name: &str| -> std::result::Result<Vec<f32>, String> {
            let t = ts
                .iter()
                .find(|t| t.info.name == name)
                .ok_or_else(|| format!("no tensor {name}"))?;
            source::load(t)
                .map(|d| d.values().to_vec())
                .map_err(|e| format!("{e:#}"))
        }
    };
    let table = diff::diff_files(
        &infos(&original),
        &infos(&quantized),
        heads,
        &mut loader(&original),
        &mut loader(&quantized),
        &mut |_| {},
    );
    if args.json {
        let rows: Vec<serde_json::Value> = table
            .rows
            .iter()
            .map(|r| {
                let mut v = json!({
                    "original": r.original,
                    "quantized": r.quantized,
                    "paired_by": r.paired_by,
                    "original_dtype": r.original_dtype,
                    "dtype": r.dtype,
                    "shape": r.shape,
                    "bits_per_value": r.bits_per_value.map_or(serde_json::Value::Null, num),
                });
                match &r.skipped {
                    Some(why) => v["skipped"] = json!(why),
                    None => {
                        v["n"] = json!(r.n);
                        v["mse"] = num(r.mse);
                        v["sqnr_db"] = num(r.sqnr_db);
                    }
                }
                if r.permuted {
                    v["permuted"] = json!(true);
                }
                v
            })
            .collect();
        out!(
            "{}",
            json!({
                "tensors": rows,
                "unmatched_original": table.unmatched_original,
                "unmatched_quantized": table.unmatched_quantized,
            })
        );
        return Ok(());
    }
    out!(
        "{:<44} {:<28} {:<8} {:>9} {:>12} {:>9}",
        "original",
        "quantized",
        "type",
        "bits/val",
        "mse",
        "sqnr_db"
    );
    for r in &table.rows {
        let (mse, sqnr) = if r.skipped.is_some() {
            ("-".to_string(), "-".to_string())
        } else {
            (format!("{:.4e}", r.mse), format!("{:.2}", r.sqnr_db))
        };
        out!(
            "{:<44} {:<28} {:<8} {:>9} {:>12} {:>9}{}",
            r.original,
            r.quantized,
            r.dtype,
            r.bits_per_value
                .map_or("-".to_string(), |b| format!("{b:.4}")),
            mse,
            sqnr,
            r.skipped
                .as_ref()
                .map_or(String::new(), |s| format!("  (skipped: {s})"))
        );
    }
    if !table.unmatched_original.is_empty() {
        out!(
            "unmatched in {}: {}",
            args.original.display(),
            table.unmatched_original.join(", ")
        );
    }
    if !table.unmatched_quantized.is_empty() {
        out!(
            "unmatched in {}: {}",
            args.quantized.display(),
            table.unmatched_quantized.join(", ")
        );
    }
    Ok(())
}

fn run_report(args: &ReportArgs) -> Result<()> {
    let config = args.quantizer.config()?;
    let tensors = source::tensors_of(&args.files)?;
    let (rows, total) = report::report(&tensors, &config);
    if args.json {
        out!(
            "{}",
            json!({ "tensors": rows, "total": total, "config": config })
        );
    } else if args.csv {
        report::print_csv(&rows, &total)?;
    } else {
        report::print_table(&rows, &total);
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Quantize(args) => run_quantize(args),
        Command::Synth(args) => run_synth(args),
        Command::Info(args) => run_info(args),
        Command::Report(args) => run_report(args),
        Command::Export(args) => run_export(args),
        Command::Diff(args) => run_diff(args),
        Command::Layer(args) => layer::run(args),
        Command::Allocate(args) => allocate::run(args),
        Command::IntMatmul(args) => intmatmul::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quantscope: {e:#}");
            ExitCode::FAILURE
        }
    }
}
