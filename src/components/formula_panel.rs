//! The formulas with the current numbers, a worked example, and what each knob means.

use leptos::prelude::*;
use quantscope_core::{Analysis, Format, Rounding, ScaleFormat, Scheme, Signedness};

use super::bit_inspector::BitInspector;
use super::fields::{parse, Edit, NumberField};
use crate::format;
use crate::state::use_app_state;

fn n(v: f64) -> String {
    format::number(v, 6)
}

/// The formulas of a format other than `int`, with the display block's numbers.
fn format_formulas(a: &Analysis) -> impl IntoView {
    let cfg = &a.config;
    let f = cfg.format;
    let g = a.display;
    let s = f64::from(g.params.scale);
    let storage = match cfg.scale_format {
        ScaleFormat::F32 => "f32",
        ScaleFormat::F16 => "f16 (rounded to nearest)",
        ScaleFormat::Bf16 => "bf16 (rounded to nearest)",
        ScaleFormat::E8m0 => "E8M0: a power of two, 2^X",
        ScaleFormat::E4m3 => "E4M3 times one f32 tensor scale",
    };
    let lines: Vec<String> = match f {
        Format::Fp16 | Format::Bf16 => vec![
            format!("r̂ = {}(r): round to nearest, ties to even; no scale, no calibration", f.name()),
            "Values beyond the format's largest number become ±Inf.".into(),
        ],
        Format::Fixed => vec![
            format!(
                "Q{}.{}: step 2^−{} = {}, range [−2^{}, 2^{} − 2^−{}]",
                cfg.int_bits, cfg.frac_bits, cfg.frac_bits,
                n(2f64.powi(-i32::from(cfg.frac_bits))), cfg.int_bits, cfg.int_bits, cfg.frac_bits
            ),
            "r̂ = clamp(round(r · 2^n), …) / 2^n — no scale: the binary point is fixed in hardware.".into(),
        ],
        Format::Kmeans if cfg.vector_dim > 1 => {
            let (k, d) = (cfg.levels, cfg.vector_dim);
            vec![
                format!("K = {k} centroids in D = {d} dimensions, learned from the data's sub-vectors of {d} consecutive values (k-means: k-means++ seeding, then Lloyd rounds)"),
                "v̂ = the centroid nearest to the sub-vector v (squared distance); one code stands for all D values.".into(),
                format!("bits per value = log2 K / D = {} plus the codebook: K · D f32 numbers spread over all values", n(f64::from(k).log2() / d as f64)),
            ]
        }
        Format::Kmeans => vec![
            format!("K = {} levels learned from the data (1-D k-means: the partition of the sorted values with the least squared error)", cfg.levels),
            "r̂ = the nearest learned level; the codebook itself is stored next to the codes.".into(),
        ],
        Format::Q8_0
        | Format::Q4_0
        | Format::Q4_1
        | Format::Q5_0
        | Format::Q5_1
        | Format::Q2K
        | Format::Q3K
        | Format::Q4K
        | Format::Q5K
        | Format::Q6K
        | Format::Iq4Nl
        | Format::Iq4Xs => {
            let mut lines: Vec<String> = f
                .ggml_type()
                .map(|t| t.formula_lines())
                .unwrap_or_default()
                .into_iter()
                .map(str::to_string)
                .collect();
            let offset = a.display_block.map_or(0.0, |b| f64::from(b.dec_offset));
            lines.push(if offset != 0.0 {
                format!("this block: d = {}, offset = {}", n(s), n(offset))
            } else {
                format!("this block: d = {}", n(s))
            });
            lines
        }
        Format::Int
        | Format::Fp8E4m3
        | Format::Fp8E5m2
        | Format::Fp6E3m2
        | Format::Fp6E2m3
        | Format::Fp4E2m1
        | Format::Nf4
        | Format::Log2 => {
            let (alpha, beta) = g.clip;
            vec![
                format!("amax = max(|α|, |β|) = {}   (α = {}, β = {})", n(f64::from(beta.max(-alpha))), n(f64::from(alpha)), n(f64::from(beta))),
                format!("S = amax / (largest {} value), stored as {storage}: S = {}", f.name(), n(s)),
                format!("r̂ = S · e, e = the {} value nearest to r / S (saturating at the largest)", f.name()),
            ]
        }
    };
    view! {
        <p class="help" data-testid="formula-format">{f.describe()}</p>
        <ol class="formulas" data-testid="formulas">
            {lines.into_iter().map(|l| view! { <li><code>{l}</code></li> }).collect_view()}
        </ol>
    }
}

/// The value followed when the user has not picked one: the shown group's upper clip bound
/// (its largest value for min–max), or the data's maximum.
fn default_probe(state: crate::state::AppState) -> Option<f32> {
    state
        .analysis
        .get()
        .map(|a| a.display.clip.1)
        .filter(|b| *b > 0.0)
        .or_else(|| state.data.get().map(|d| d.summary.max))
}

/// Formula panel with a value to follow through the quantizer.
#[component]
pub fn FormulaPanel() -> impl IntoView {
    let state = use_app_state();
    // The value followed through the formulas; `None` means [`default_probe`]. Clicking the
    // histogram sets it too.
    let probe = state.probe;
    let probe_value = Signal::derive(move || {
        probe
            .get()
            .or_else(|| default_probe(state))
            .map(|v| format::number(f64::from(v), 6))
            .unwrap_or_default()
    });
    let on_probe = Callback::new(
        move |(text, edit): (String, Edit)| match parse::<f32>(&text) {
            Some(v) if v.is_finite() => probe.set(Some(v)),
            _ if edit == Edit::Commit => state.report(format!(
                "the example value must be a finite number, got \"{text}\""
            )),
            _ => {}
        },
    );

    let formulas = move || {
        let a = state.analysis.get()?;
        if a.config.format != Format::Int {
            return Some(format_formulas(&a).into_any());
        }
        let g = a.display;
        let p = g.params;
        let cfg = &a.config;
        let (alpha, beta) = g.clip;
        let span = p.qmax - p.qmin;
        let scale_line = match cfg.scheme {
            Scheme::Asymmetric => format!(
                "S = (β − α) / (qmax − qmin) = ({} − ({})) / {} = {}",
                n(f64::from(beta)),
                n(f64::from(alpha)),
                span,
                n(f64::from(p.scale))
            ),
            Scheme::Symmetric => format!(
                "S = max(|α|, |β|) / ((qmax − qmin) / 2) = {} / {} = {}",
                n(f64::from(beta)),
                n(f64::from(span) / 2.0),
                n(f64::from(p.scale))
            ),
        };
        let zero_line = match (cfg.scheme, cfg.signedness) {
            (Scheme::Asymmetric, _) => format!(
                "Z = clamp(qmin − round(α / S), qmin, qmax) = clamp({} − round({}), …) = {}",
                p.qmin,
                n(f64::from(alpha / p.scale)),
                p.zero_point
            ),
            (Scheme::Symmetric, Signedness::Signed) => "Z = 0 (symmetric, signed)".to_string(),
            (Scheme::Symmetric, Signedness::Unsigned) => {
                format!("Z = (qmin + qmax + 1) / 2 = {}", p.zero_point)
            }
        };
        let pow2 = cfg
            .power_of_two_scale
            .then_some(" (then rounded up to a power of two)");
        let r = probe.get().or_else(|| default_probe(state)).unwrap_or(0.0);
        let noise = 0.5; // the worked example shows the expected case for stochastic rounding
        let (q, clipped) = p.code_from_real(r, p.inv_scale(), cfg.rounding, noise);
        let r_hat = p.real_from_code(q);
        // round(r / S) before the zero-point is added and the result clamped (display only).
        let x = r * p.inv_scale();
        let rounded = match cfg.rounding {
            Rounding::NearestEven => x.round_ties_even(),
            Rounding::NearestAway => x.round(),
            Rounding::Floor => x.floor(),
            Rounding::Stochastic => (x + noise).floor(),
        };
        let rounded = format::number(f64::from(rounded), 8);
        let rounding_name = match cfg.rounding {
            Rounding::NearestEven => "round half to even",
            Rounding::NearestAway => "round half away from zero",
            Rounding::Floor => "floor",
            Rounding::Stochastic => "stochastic rounding (shown with u = ½)",
        };
        Some(view! {
            <p class="help">"PyTorch observer convention (torch.ao.quantization), computed in float32."</p>
            <ol class="formulas">
                <li><code>{format!("α = {}, β = {}  (the range always includes 0)", n(f64::from(alpha)), n(f64::from(beta)))}</code></li>
                <li><code>{format!("qmin = {}, qmax = {}", p.qmin, p.qmax)}</code></li>
                <li><code data-testid="formula-scale">{scale_line}</code>{pow2}</li>
                <li><code data-testid="formula-zero-point">{zero_line}</code></li>
                <li><code>"q = clamp(round(r / S) + Z, qmin, qmax)"</code></li>
                <li><code>"r̂ = S · (q − Z)"</code></li>
            </ol>
            <p class="worked" data-testid="worked-example">
                {format!(
                    "r = {} → r / S = {} → {}: {} → + Z ({}) → q = {}{} → r̂ = S · ({} − {}) = {} (error {}).",
                    n(f64::from(r)),
                    n(f64::from(r * p.inv_scale())),
                    rounding_name,
                    rounded,
                    p.zero_point,
                    q,
                    if clipped { " (clamped to the code range: r lies outside it)" } else { "" },
                    q,
                    p.zero_point,
                    n(f64::from(r_hat)),
                    n(f64::from(r - r_hat)),
                )}
            </p>
        }.into_any())
    };
    let probe_or_max = Signal::derive(move || probe.get().or_else(|| default_probe(state)));

    view! {
        <section class="panel order-formula" aria-labelledby="formula-title">
            <h2 id="formula-title">"The formulas, with today's numbers"</h2>
            {formulas}
            <NumberField label="Follow a value through the quantizer" testid="probe" value=probe_value on_edit=on_probe />
            <h3>"Bit inspector"</h3>
            <BitInspector value=probe_or_max />
            <details class="explain" data-testid="explain">
                <summary>"What do the knobs mean?"</summary>
                <dl>
                    <dt>"Bit width b"</dt>
                    <dd>"A b-bit code can take 2^b values, so the data is squeezed onto 2^b levels. Each extra bit halves the step and buys about 6 dB of SQNR."</dd>
                    <dt>"Signed / unsigned"</dt>
                    <dd>"Only where the codes sit: signed codes run from −2^(b−1) to 2^(b−1)−1, unsigned from 0 to 2^b−1. With an asymmetric scheme both give the same levels; the zero-point absorbs the shift."</dd>
                    <dt>"Symmetric / asymmetric"</dt>
                    <dd>"Symmetric fixes the real 0 at a code in the middle (Z = 0 for signed), which keeps integer arithmetic simple but wastes half the codes on one-sided data such as ReLU outputs. Asymmetric (affine) fits the range exactly and stores a zero-point Z."</dd>
                    <dt>"Clipping range [α, β] and calibration"</dt>
                    <dd>"Values outside [α, β] are clamped to the end levels. A narrower range gives finer steps for the bulk of the data at the cost of large errors on the few clipped values. Calibration is how the range is chosen: min–max keeps every value, a percentile ignores the rarest extremes, manual is yours. Choosing it ahead of time from sample data is static quantization; measuring it on every input while the model runs is dynamic quantization."</dd>
                    <dt>"Granularity"</dt>
                    <dd>"One scale for the whole tensor is cheapest, but one outlier then stretches the steps for everyone. Per-channel gives each row (output channel) its own range, per-group each block of G values; each costs a stored scale (and zero-point) per group, counted in bits per value."</dd>
                    <dt>"Rounding"</dt>
                    <dd>"Nearest rounding gives the smallest error; floor is cheaper in hardware but biased; stochastic rounding is right on average, which matters when many small updates are summed (as in training)."</dd>
                    <dt>"Dequantization"</dt>
                    <dd>"r̂ = S(q − Z) maps a code back to a real number. It never recovers what rounding threw away — that difference is the error measured here."</dd>
                    <dt>"Narrow signed range"</dt>
                    <dd>"Drops the most negative code: −(2^(b−1) − 1) … 2^(b−1) − 1, so the codes are symmetric around 0 and −q never overflows (many int8 kernels assume it). One level fewer."</dd>
                    <dt>"Power-of-two scale"</dt>
                    <dd>"S is rounded up to 2^k, so multiplying by S is a bit shift in fixed-point hardware. Rounding up never clips more, but the step can grow by up to 2× (about 6 dB lost at worst)."</dd>
                </dl>
                <h4>"Calibrators: how [α, β] is chosen"</h4>
                <dl>
                    <dt>"Min–max"</dt>
                    <dd>"α = min r, β = max r. Nothing is clipped, so one outlier sets the step for everyone."</dd>
                    <dt>"Percentile p"</dt>
                    <dd>"β = the p-th percentile (α the (100 − p)-th, or −β when symmetric): the rarest 100 − p % are clipped on purpose, in exchange for finer steps."</dd>
                    <dt>"MSE"</dt>
                    <dd>"Tries clipping ranges and keeps the one with the least mean squared error E[(r − r̂)²]: the balance between rounding noise inside (≈ S²/12 per value) and the clipping error outside."</dd>
                    <dt>"SQNR (γ)"</dt>
                    <dd>"Like MSE, but the error of clipped values counts γ times (γ ≥ 1): a clip that saturates large values is penalised more, as AIMET does. γ = 1 is MSE."</dd>
                    <dt>"KL (entropy)"</dt>
                    <dd>"TensorRT's method: bins |r| into 2048 bins and keeps the threshold whose quantized distribution Q is closest to the original P, by KL(P‖Q) = Σ p log(p / q). Made for activations."</dd>
                    <dt>"ACIQ"</dt>
                    <dd>"Analytical: fits a Laplace (or Gaussian) to the data and takes the clip α* that minimises the expected error for that fit at b bits (α* ≈ 2.83 b, 3.89 b, 5.03 b … for Laplace scale b at 2, 3, 4 bits). When α* lies beyond the data, it equals min–max, and a note says so."</dd>
                </dl>
                <h4>"Number formats"</h4>
                <dl>
                    <dt>"FP8 / FP6 / FP4 (E·M·)"</dt>
                    <dd>"A tiny float: sign, e exponent bits, m mantissa bits. Levels are dense near 0 and sparse far out — relative precision instead of a fixed step. E4M3 (max 448) suits weights and activations, E5M2 (max 57344) gradients; FP4 E2M1 has only the 15 values ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}."</dd>
                    <dt>"Block scales: MX and E8M0"</dt>
                    <dd>"OCP Microscaling: every block of 32 values shares one 8-bit scale E8M0 = 2^k (an exponent only). S = 2^(⌊log2 amax⌋ − emax of the element); the elements are FP8, FP6, FP4 or INT8. Cost: 8 / 32 = 0.25 bits per value."</dd>
                    <dt>"NVFP4"</dt>
                    <dd>"FP4 elements in blocks of 16, each block scale stored as FP8 E4M3 (finer than a power of two), times one f32 scale for the tensor: 4.5 bits per value."</dd>
                    <dt>"NF4 (QLoRA)"</dt>
                    <dd>"16 levels at the quantiles of a normal distribution, scaled by each block's absmax: for normally distributed weights every level is used about equally often."</dd>
                    <dt>"GGML blocks (llama.cpp)"</dt>
                    <dd>"Blocks of 32 with an f16 scale d: Q8_0 q = round(r / d), d = amax / 127; Q4_0 4-bit codes around −8 with d from the largest-magnitude value; Q4_1 adds an f16 minimum m, r̂ = d · q + m."</dd>
                    <dt>"k-means codebook"</dt>
                    <dd>"K levels learned from the data (non-uniform): 1-D k-means puts levels where values are dense, exactly optimal for squared error. The codebook (K numbers) is stored beside the log2 K-bit codes."</dd>
                    <dt>"Vector codebooks (D > 1)"</dt>
                    <dd>"Consecutive values are cut into sub-vectors of D and each is replaced by the nearest of K learned centroids: log2 K / D bits per value. Correlated values share one code, which scalar levels cannot exploit; product quantization uses one codebook per slice of the vector."</dd>
                </dl>
            </details>
        </section>
    }
}
