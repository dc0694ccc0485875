//! Learn mode: a guided tour through the ideas of quantization on live data. Each step sets the
//! data and the knobs, names the panels to look at, says what to notice, offers one thing to try
//! and a question whose answer is revealed on demand.
//!
//! ```text
//! #learn/3 ──► step 3: its lesson (synthetic data, quantizer settings, extras) is applied as a
//!              typed change is; its panels are outlined and scrolled to
//! ← / →    ──► previous / next step (a new history entry each, so back/forward walk the tour)
//! Esc, ✕   ──► leave: the settings stay as they are and the link becomes #v1=… again
//! ```

use quantscope_core::config::{Granularity, QuantizerConfig, Scheme};
use quantscope_core::study::StreamSpec;
use quantscope_core::synth::Distribution;
use quantscope_core::Format;

use crate::engine::protocol::SynthSettings;

/// What a step sets.
#[derive(Clone, Debug, PartialEq)]
pub struct Lesson {
    pub synth: SynthSettings,
    pub config: QuantizerConfig,
    /// The number line's zoom (log₂ of its half-width), when the step is about it.
    pub zoom: Option<f64>,
    /// The batch stream of the dynamic-vs-static view, when the step is about it.
    pub stream: Option<StreamSpec>,
}

/// One step of the tour.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    /// Short name (stable; the browser test reads it).
    pub slug: &'static str,
    pub title: &'static str,
    /// The `id`s of the headings of the panels to look at (their sections are outlined).
    pub focus: &'static [&'static str],
    /// What to notice, in two or three sentences.
    pub text: &'static str,
    /// One thing to try.
    pub try_this: &'static str,
    pub question: &'static str,
    pub answer: &'static str,
    pub lesson: fn() -> Lesson,
}

/// The link fragment of step `index` (0-based): `learn/N`, N from 1.
pub fn fragment(index: usize) -> String {
    format!("learn/{}", index + 1)
}

/// The step a decoded fragment (without `#`) names: `Some(index)` for `learn/N` with N in
/// 1…[`STEPS`]`.len()` (a number past the end goes to the last step, `learn` alone to the first).
pub fn step_of_fragment(fragment: &str) -> Option<usize> {
    let rest = fragment.strip_prefix("learn")?;
    let n = match rest.strip_prefix('/') {
        None if rest.is_empty() => 1,
        None => return None,
        Some(n) => n.parse::<usize>().ok()?.max(1),
    };
    Some(n.min(STEPS.len()) - 1)
}

fn normal() -> SynthSettings {
    SynthSettings {
        dist: Distribution::Normal,
        ..SynthSettings::default()
    }
}

fn int(bits: u8) -> QuantizerConfig {
    QuantizerConfig {
        bits,
        ..QuantizerConfig::default()
    }
}

fn lesson(synth: SynthSettings, config: QuantizerConfig) -> Lesson {
    Lesson {
        synth,
        config,
        zoom: None,
        stream: None,
    }
}

/// The tour.
pub const STEPS: [Step; 11] = [
    Step {
        slug: "bits",
        title: "Bit width: how many codes there are",
        focus: &["hist-title", "quantizer-title"],
        text: "b bits give 2^b codes. Here b = 3: the normal data on the chart is cut into 8 buckets (the grey lines are their thresholds), and every value in a bucket is stored as the same code. Signed codes run from −2^(b−1) to 2^(b−1) − 1, unsigned ones from 0 to 2^b − 1 — the same count, placed differently.",
        try_this: "In the Quantizer panel (outlined), move the bit-width slider from 2 to 8 and watch the buckets multiply; the label above the slider gives the code range. Then switch Codes to unsigned.",
        question: "How many codes does a 5-bit signed integer have, and which?",
        answer: "2^5 = 32 codes, from −16 to 15.",
        lesson: || lesson(normal(), int(3)),
    },
    Step {
        slug: "float-fixed",
        title: "Floating point, fixed point, integer",
        focus: &["numberline-title"],
        text: "Each tick is a value the format can hold exactly. A float stores an exponent with every number, so it has as many values between 1/64 and 1/32 as between 32 and 64: dense near zero, sparse far away. Fixed point Qm.n is an integer times 2^−n — one step everywhere, nothing finer than 2^−n and nothing past 2^m; an integer quantizer is the same even grid with a scale taken from the data.",
        try_this: "Zoom in (+) until the window is ±0.004: FP8 E4M3 still has values there, Q3.4 only 0. Then zoom out past ±8, where Q3.4 ends and the floats go on. Point at the line to see where each format stores a value.",
        question: "What is the smallest positive value of Q3.4, and of FP8 E4M3?",
        answer: "Q3.4: 2^−4 = 0.0625. E4M3: 2^−9 ≈ 0.00195, a subnormal (exponent field 0, mantissa 001).",
        lesson: || Lesson {
            zoom: Some(-2.0),
            ..lesson(
                normal(),
                QuantizerConfig {
                    format: Format::Fixed,
                    int_bits: 3,
                    frac_bits: 4,
                    ..QuantizerConfig::default()
                },
            )
        },
    },
    Step {
        slug: "scale-zero-point",
        title: "Uniform quantization: scale S and zero-point Z",
        focus: &["formula-title", "transfer-title"],
        text: "A uniform quantizer stores q = round(r / S) + Z, clamped to the codes. S is the width of one bucket, (β − α) / (2^b − 1); the integer Z is the code that stands for real 0, so 0 comes back exactly. These values are all positive, like activations after a ReLU: the asymmetric range [0, max] puts all 16 codes where the data is.",
        try_this: "Switch Scheme to symmetric: the range becomes [−max, max], half of the codes stand for negative values that never occur, S doubles and the SQNR drops by about 6 dB.",
        question: "With α = 0, β = 6 and 8-bit unsigned codes, what are S and Z?",
        answer: "S = 6 / 255 ≈ 0.0235 and Z = 0 (real 0 is code 0).",
        lesson: || {
            lesson(
                SynthSettings {
                    dist: Distribution::HalfNormal,
                    ..SynthSettings::default()
                },
                int(4),
            )
        },
    },
    Step {
        slug: "clipping",
        title: "Clipping and calibration",
        focus: &["clips-title", "calibrators-title"],
        text: "Eight values lie at ±20σ. Min–max stretches 16 buckets over them, so the bulk of the data falls into a few buckets: a large rounding error. Clipping the range cuts the rounding error but clamps whatever lies outside — the clip-range chart shows the two parts, and the calibrators are different rules for finding the best trade-off.",
        try_this: "Find the lowest point of the total error on the clip-range chart; then choose the MSE row in the calibrators table to adopt its range and compare the SQNR with min–max's.",
        question: "Why does the error rise again when the range is made too narrow?",
        answer: "Every value outside [α, β] is clamped to the edge; that error grows with the square of its distance, and more values land outside as the range shrinks — faster than the rounding error falls.",
        lesson: || {
            lesson(
                SynthSettings {
                    dist: Distribution::Outliers {
                        count: 8,
                        magnitude: 20.0,
                    },
                    ..SynthSettings::default()
                },
                int(4),
            )
        },
    },
    Step {
        slug: "dynamic-static",
        title: "Dynamic against static ranges",
        focus: &["stream-title"],
        text: "Activations change from input to input. A static range is calibrated once, on the first few batches, and kept; a dynamic one is measured on every batch as it arrives. Here the batches' scale drifts upward: the static range starts clipping and its error climbs, the dynamic one follows.",
        try_this: "Set the range drift d to 0: both lines meet. Then calibrate the static range on more of the first batches and see how much of the gap it closes.",
        question: "What does dynamic quantization cost at inference time?",
        answer: "A pass over every batch to find its minimum and maximum (and new S and Z) before it can be quantized — extra time and memory traffic on each call, which is why static ranges are the common choice.",
        lesson: || Lesson {
            stream: Some(StreamSpec {
                batches: 32,
                calibrate_on: 4,
                drift: 2.0,
            }),
            ..lesson(normal(), int(8))
        },
    },
    Step {
        slug: "dequantization",
        title: "Dequantization and its error",
        focus: &["metrics-title", "transfer-title"],
        text: "To use a code, the value is rebuilt: r̂ = S · (q − Z). The rounding cannot be undone, so r̂ is the middle of the bucket, never the original — the staircase on the transfer chart. Inside the range the error is at most S/2, and spread evenly its mean square is close to S²/12; outside, it is the clamped distance.",
        try_this: "Read S in the formulas panel, compute S²/12 and compare it with the MSE in the Error panel. Then add one bit and watch the MSE fall about fourfold.",
        question: "A 4-bit quantizer over [−2, 2]: what is the largest rounding error inside the range?",
        answer: "S = 4 / 15 ≈ 0.267, so at most S/2 ≈ 0.133.",
        lesson: || lesson(normal(), int(4)),
    },
    Step {
        slug: "non-uniform",
        title: "Non-uniform levels: NF4 and k-means",
        focus: &["hist-title", "formats-title"],
        text: "Even buckets waste codes on the thin tails of bell-shaped data. NF4 places its 16 levels at quantiles of a normal distribution, so each covers the same share of the values: dense in the middle, sparse in the tails (note the uneven thresholds on the histogram). A k-means codebook learns its levels from the data itself.",
        try_this: "Switch Format to integer at 4 bits and compare the SQNR; then try the k-means codebook with 16 levels. The formats table lists them all on this data.",
        question: "Why does uniform quantization stay the default in hardware despite this?",
        answer: "Its levels are an integer grid, so arithmetic can run on the codes directly (integer multiply-add, one rescale at the end); a non-uniform code must first be looked up in a table.",
        lesson: || {
            lesson(
                normal(),
                // The preset as people deploy it: blocks of 64 with an f32 absmax (QLoRA).
                quantscope_core::presets::preset("nf4").unwrap_or_default(),
            )
        },
    },
    Step {
        slug: "granularity",
        title: "Granularity and mixed precision",
        focus: &["granularity-title", "quantizer-title"],
        text: "One scale for a whole matrix is set by its widest row. Here each of the 128 rows has its own spread (σ = 1): the band shows every row's range inside the one per-tensor range, and most rows use only a few of the codes. Scales per channel or per group of values follow the data more closely; each costs its own bits.",
        try_this: "Set Granularity to per channel (axis 0) and watch the SQNR rise; then try groups of 32 and read the bits per value with the scales counted. The whole-model view further down spends bits where a checkpoint needs them (mixed precision).",
        question: "An f16 scale for every 32 values: how many bits per value does it add?",
        answer: "16 / 32 = 0.5 bits per value — int4 with groups of 32 stores 4.5 bits per value.",
        lesson: || {
            lesson(
                SynthSettings {
                    row_spread: 1.0,
                    ..normal()
                },
                int(4),
            )
        },
    },
    Step {
        slug: "vector",
        title: "Vector and product quantization",
        focus: &["vector-title"],
        text: "Instead of one value at a time, a vector quantizer codes pairs: 16 centroids in the plane, each pair stored as the index of its nearest one (the cells are its Voronoi regions). Four bits now carry two values, 2 bits per value, and the centroids follow the joint shape of the data. Product quantization splits longer vectors into such pieces.",
        try_this: "Raise the codebook size K and watch the cells shrink; set the sub-vector length back to 1 for a scalar codebook at the same bits per value.",
        question: "256 centroids over pairs of values: how many bits per value?",
        answer: "log₂ 256 = 8 bits per pair, so 4 bits per value (plus the codebook, stored once).",
        lesson: || {
            lesson(
                normal(),
                QuantizerConfig {
                    format: Format::Kmeans,
                    levels: 16,
                    vector_dim: 2,
                    ..QuantizerConfig::default()
                },
            )
        },
    },
    Step {
        slug: "compensation",
        title: "Compensation: GPTQ, AWQ and QAT",
        focus: &["layer-title"],
        text: "What matters is not the weights' error but the layer's output, X·Wᵀ. Post-training methods use a few real activations: GPTQ rounds one column at a time and pushes its error onto the columns still to come, AWQ scales up the inputs that carry large activations before rounding. Quantization-aware training goes further and trains with the rounding in the loop.",
        try_this: "Open the layer lab, choose \"use MiniLM's layer-0 FFN weights\" and compare RTN with GPTQ: the weight SQNR barely moves, the output SQNR does.",
        question: "How can GPTQ have a lower output error than rounding to nearest while its weights are further from the originals?",
        answer: "It minimises the error of the outputs on real inputs, not of W: errors are moved onto weights whose inputs are small or correlated, where they cancel in the product.",
        lesson: || {
            lesson(
                normal(),
                QuantizerConfig {
                    scheme: Scheme::Symmetric,
                    granularity: Granularity::Channel { axis: 0 },
                    ..int(4)
                },
            )
        },
    },
    Step {
        slug: "integer-only",
        title: "Integer-only arithmetic",
        focus: &["int-title"],
        text: "Why integers win on hardware: an int8 layer multiplies int8 codes, sums them in int32, and rescales the sum into the next layer's int8 codes with one integer multiplier M0 and a shift — no float anywhere. Here one output is computed exactly as TensorFlow Lite's reference kernels do, next to the float result.",
        try_this: "Change the example seed, token and output; compare the int8 result with the float one and read the rounding steps.",
        question: "Why is the rescale factor s_x·s_w / s_y stored as a 31-bit M0 and a shift?",
        answer: "So that rescaling is an integer multiply (keeping the high half) and a rounding right shift: exact, reproducible, and cheap on chips without a floating-point unit.",
        lesson: || lesson(normal(), int(8)),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_is_a_valid_setting_and_its_panels_exist() {
        let sources: String = [
            include_str!("components/controls.rs"),
            include_str!("components/histogram_view.rs"),
            include_str!("components/number_line.rs"),
            include_str!("components/formula_panel.rs"),
            include_str!("components/transfer_view.rs"),
            include_str!("components/clip_sweep.rs"),
            include_str!("components/calibrator_table.rs"),
            include_str!("components/dynamic_static.rs"),
            include_str!("components/metrics_panel.rs"),
            include_str!("components/formats_table.rs"),
            include_str!("components/granularity_view.rs"),
            include_str!("components/vector_view.rs"),
            include_str!("components/layer_lab.rs"),
            include_str!("components/int_view.rs"),
        ]
        .concat();
        let mut slugs = Vec::new();
        for step in STEPS {
            let l = (step.lesson)();
            crate::state::check_synth(&l.synth).unwrap_or_else(|e| panic!("{}: {e}", step.slug));
            crate::state::check_config(&l.config, Some(&l.synth.shape()))
                .unwrap_or_else(|e| panic!("{}: {e}", step.slug));
            if let Some(s) = &l.stream {
                crate::state::check_stream(s, Some(l.synth.shape()[0]))
                    .unwrap_or_else(|e| panic!("{}: {e}", step.slug));
            }
            for id in step.focus {
                assert!(
                    sources.contains(&format!("<h2 id=\"{id}\"")),
                    "{}: no panel titled #{id}",
                    step.slug
                );
            }
            assert!(!slugs.contains(&step.slug));
            slugs.push(step.slug);
        }
    }

    #[test]
    fn the_non_uniform_step_uses_nf4() {
        assert_eq!((STEPS[6].lesson)().config.format, Format::Nf4);
    }

    #[test]
    fn fragments_name_steps() {
        assert_eq!(fragment(0), "learn/1");
        assert_eq!(step_of_fragment("learn/3"), Some(2));
        assert_eq!(step_of_fragment("learn"), Some(0));
        assert_eq!(step_of_fragment("learn/0"), Some(0));
        assert_eq!(step_of_fragment("learn/99"), Some(STEPS.len() - 1));
        assert_eq!(step_of_fragment("learnx"), None);
        assert_eq!(step_of_fragment("learn/x"), None);
        assert_eq!(step_of_fragment("v1={}"), None);
        for i in 0..STEPS.len() {
            assert_eq!(step_of_fragment(&fragment(i)), Some(i));
        }
    }
}
