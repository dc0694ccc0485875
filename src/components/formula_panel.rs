//! The formulas with the current numbers, a worked example, and what each knob means.

use leptos::prelude::*;
use quantscope_core::Analysis;

use super::bit_inspector::BitInspector;
use super::fields::{parse, Edit, NumberField};
use crate::format;
use crate::state::use_app_state;

/// The core's formulas for the shown group, as they are.
fn formula_view(a: &Analysis) -> impl IntoView {
    let f = quantscope_core::family::formulas(a);
    let own_format = a.config.format.family() != quantscope_core::format::Family::Integer;
    view! {
        {own_format.then(|| view! { <p class="help" data-testid="formula-format">{a.config.format.describe()}</p> })}
        {f.preface.map(|p| view! { <p class="help">{p}</p> })}
        <ol class="formulas" data-testid="formulas">
            {f.lines
                .into_iter()
                .map(|l| view! { <li><code data-testid=l.id>{l.text}</code>{l.remark}</li> })
                .collect_view()}
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
        let r = probe.get().or_else(|| default_probe(state)).unwrap_or(0.0);
        let worked = quantscope_core::family::worked_example(&a, r);
        Some(view! {
            {formula_view(&a)}
            {worked.map(|w| view! { <p class="worked" data-testid="worked-example">{w}</p> })}
        })
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
