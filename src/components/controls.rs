//! The quantizer's knobs. Each change goes through `AppState::try_config`, so a bad value is
//! reported and the previous setting stays.

use leptos::prelude::*;
use quantscope_core::calib::aciq::AciqFit;
use quantscope_core::config::{CalibrationParams, MAX_BITS};
use quantscope_core::granularity::default_group_size;
use quantscope_core::{Calibration, Granularity, Rounding, Scheme, Signedness};

use super::fields::{parse, Edit, NumberField, SelectField};
use super::format_controls::FormatControls;
use crate::format;
use crate::state::use_app_state;

/// The quantizer panel.
#[component]
pub fn Controls() -> impl IntoView {
    let state = use_app_state();
    let config = state.config;

    let bits_value = Signal::derive(move || config.with(|c| c.bits.to_string()));
    let on_bits = Callback::new(
        move |(text, edit): (String, Edit)| match parse::<u8>(&text) {
            Some(b) if (1..=MAX_BITS).contains(&b) => state.try_config(|c| c.bits = b),
            _ if edit == Edit::Commit => state.report(format!(
                "bit width must be a whole number from 1 to {MAX_BITS}, got \"{text}\""
            )),
            _ => {}
        },
    );

    let signedness_value = Signal::derive(move || config.with(|c| c.signedness.name().to_string()));
    let on_signedness = Callback::new(move |v: String| {
        let Some(signedness) = Signedness::from_name(&v) else {
            return;
        };
        state.try_config(|c| {
            c.signedness = signedness;
            if c.signedness == Signedness::Unsigned {
                c.narrow_range = false;
            }
        })
    });
    let scheme_value = Signal::derive(move || config.with(|c| c.scheme.name().to_string()));
    let on_scheme = Callback::new(move |v: String| {
        if let Some(scheme) = Scheme::from_name(&v) {
            state.try_config(|c| c.scheme = scheme)
        }
    });

    let code_range = move || {
        config.with(|c| {
            let (lo, hi) = c.code_range();
            format!(
                "codes {lo} … {hi} ({} levels)",
                format::count((hi - lo + 1) as usize)
            )
        })
    };

    // What applies to this format is the core's to say.
    let knobs = move || config.with(|c| c.knobs());
    let is_int = move || knobs().integer_grid;
    let uses_bits = move || knobs().bits;
    let uses_granularity = move || knobs().granularity;
    let uses_calibration = move || knobs().calibration;

    view! {
        <section class="panel order-quantizer" aria-labelledby="quantizer-title">
            <h2 id="quantizer-title">"Quantizer"</h2>
            <FormatControls />
            <Show when=uses_bits>
            <div class="row">
                <NumberField label="Bit width b" testid="bits" value=bits_value on_edit=on_bits min="1" max=MAX_BITS.to_string() step="1" />
                <div class="field slider-field">
                    <label for="bits-slider">{code_range}</label>
                    <input
                        id="bits-slider"
                        type="range"
                        min="1"
                        max=MAX_BITS.to_string()
                        step="1"
                        aria-label="bit width slider"
                        prop:value=move || bits_value.get()
                        on:input=move |ev| on_bits.run((event_target_value(&ev), Edit::Commit))
                    />
                </div>
            </div>
            </Show>
            <Show when=is_int>
            <div class="row">
                <SelectField
                    label="Codes"
                    testid="signedness"
                    options=Signal::derive(|| Signedness::ALL.map(|v| (v.name().to_string(), v.label().to_string())).to_vec())
                    value=signedness_value
                    on_select=on_signedness
                />
                <SelectField
                    label="Scheme"
                    testid="scheme"
                    options=Signal::derive(|| Scheme::ALL.map(|v| (v.name().to_string(), v.label().to_string())).to_vec())
                    value=scheme_value
                    on_select=on_scheme
                />
            </div>
            <label class="check">
                <input
                    type="checkbox"
                    data-testid="narrow-range"
                    prop:checked=move || config.with(|c| c.narrow_range)
                    prop:disabled=move || config.with(|c| c.signedness == Signedness::Unsigned)
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        state.try_config(|c| c.narrow_range = on)
                    }
                />
                " narrow signed range (−2^(b−1)+1 … 2^(b−1)−1)"
            </label>
            </Show>
            <Show when=uses_granularity>
                <GranularityControls />
            </Show>
            <Show when=uses_calibration>
                <CalibrationControls />
            </Show>
            <Show when=is_int>
                <RoundingControls />
            </Show>
        </section>
    }
}

/// Granularity, its axis or group size, and which group the charts show.
#[component]
fn GranularityControls() -> impl IntoView {
    let state = use_app_state();
    let config = state.config;
    let value = Signal::derive(move || config.with(|c| c.granularity.kind().to_string()));
    let shape = move || {
        state
            .data
            .get()
            .map(|d| d.shape.clone())
            .unwrap_or_default()
    };
    let on_select = Callback::new(move |v: String| {
        let shape = shape();
        // Default channel axis: the first (output channels of a weight matrix); the group size
        // the core offers first for this shape.
        let Some(granularity) = Granularity::from_kind(&v, 0, default_group_size(&shape)) else {
            return;
        };
        state.try_config(|c| c.granularity = granularity);
        state.display_group.set(0);
    });
    let axis_options = Signal::derive(move || {
        shape()
            .iter()
            .enumerate()
            .map(|(i, d)| (i.to_string(), format!("{i} ({d} channels)")))
            .collect::<Vec<_>>()
    });
    let axis_value = Signal::derive(move || {
        config.with(|c| match c.granularity {
            Granularity::Channel { axis } => axis.to_string(),
            _ => "0".to_string(),
        })
    });
    let on_axis = Callback::new(move |v: String| {
        if let Some(axis) = parse::<usize>(&v) {
            state.try_config(|c| c.granularity = Granularity::Channel { axis });
            state.display_group.set(0);
        }
    });
    let group_value = Signal::derive(move || {
        config.with(|c| match c.granularity {
            Granularity::Group { size } => size.to_string(),
            _ => default_group_size(&shape()).to_string(),
        })
    });
    let on_group = Callback::new(
        move |(text, edit): (String, Edit)| match parse::<usize>(&text) {
            Some(size)
                if size > 0
                    && (edit == Edit::Commit || shape().last().is_some_and(|l| l % size == 0)) =>
            {
                state.try_config(|c| c.granularity = Granularity::Group { size });
                state.display_group.set(0);
            }
            Some(size) if size > 0 => {}
            _ if edit == Edit::Commit => state.report(format!(
                "group size must be a whole number ≥ 1, got \"{text}\""
            )),
            _ => {}
        },
    );
    let n_groups = move || state.analysis.get().map(|a| a.n_groups).unwrap_or(1);
    let shown_value = Signal::derive(move || state.display_group.get().to_string());
    let on_shown = Callback::new(
        move |(text, edit): (String, Edit)| match parse::<usize>(&text) {
            Some(g) if g < n_groups() => state.display_group.set(g),
            _ if edit == Edit::Commit => {
                state.report(format!(
                    "pick a group from 0 to {}, got \"{text}\"",
                    n_groups() - 1
                ));
                state.display_group.notify();
            }
            _ => {}
        },
    );
    view! {
        <SelectField
            label="Granularity"
            testid="granularity"
            options=Signal::derive(|| Granularity::KINDS.map(|k| (k.to_string(), Granularity::kind_label(k).to_string())).to_vec())
            value=value
            on_select=on_select
            help="How many values share one scale and zero-point."
        />
        // Each knob only where it applies: the axis per channel, the group size per group.
        <Show when=move || config.with(|c| matches!(c.granularity, Granularity::Channel { .. }))>
            <SelectField label="Channel axis" testid="axis" options=axis_options value=axis_value on_select=on_axis
                help="Each index along this axis gets its own scale (axis 0: the rows, a weight matrix's output channels)."
            />
        </Show>
        <Show when=move || config.with(|c| matches!(c.granularity, Granularity::Group { .. }))>
            <NumberField
                label="Group size G"
                testid="group-size"
                value=group_value
                on_edit=on_group
                min="1"
                step="1"
                commit_unchanged=true
            />
            <p class="help">"Consecutive values along the last axis; G must divide it."</p>
        </Show>
        <Show when=move || { n_groups() > 1 }>
            <NumberField
                label="Show channel / group #"
                testid="display-group"
                value=shown_value
                on_edit=on_shown
                min="0"
                step="1"
            />
            <p class="help">
                {move || format!(
                    "{} sets of parameters. The charts and formulas show #{}'s own range and levels; the metrics cover all values.",
                    format::count(n_groups()),
                    state.display_group.get(),
                )}
            </p>
        </Show>
    }
}

/// Calibration method and the clipping range.
#[component]
fn CalibrationControls() -> impl IntoView {
    let state = use_app_state();
    let config = state.config;
    // The select lists the core's methods, ACIQ once per fit ("aciq" is its Laplace fit).
    let value = Signal::derive(move || {
        config.with(|c| match c.calibration {
            Calibration::Aciq { fit } if fit != AciqFit::Laplace => format!("aciq-{}", fit.name()),
            other => other.key().to_string(),
        })
    });
    let current_clip = move || {
        state
            .analysis
            .get_untracked()
            .map(|a| a.display.clip)
            .unwrap_or((-1.0, 1.0))
    };
    let on_select = Callback::new(move |v: String| {
        let (lo, hi) = current_clip();
        let (key, fit) = match v.split_once('-') {
            Some(("aciq", fit)) => ("aciq", AciqFit::from_name(fit).unwrap_or_default()),
            _ => (v.as_str(), AciqFit::Laplace),
        };
        let params = CalibrationParams {
            fit,
            range: (lo, if hi > lo { hi } else { lo + 1.0 }),
            ..CalibrationParams::default()
        };
        if let Some(calibration) = Calibration::from_key(key, &params) {
            state.try_config(|c| c.calibration = calibration)
        }
    });
    let calibration_options = Signal::derive(|| {
        let mut list = Vec::new();
        for key in Calibration::METHODS {
            if key == "aciq" {
                for fit in AciqFit::ALL {
                    let value = if fit == AciqFit::Laplace {
                        "aciq".to_string()
                    } else {
                        format!("aciq-{}", fit.name())
                    };
                    list.push((value, format!("ACIQ, {}", fit.label())));
                }
            } else {
                list.push((key.to_string(), Calibration::method_label(key).to_string()));
            }
        }
        list
    });
    let p_value = Signal::derive(move || {
        config.with(|c| match c.calibration {
            Calibration::Percentile { p } => format::number(p, 8),
            _ => String::new(),
        })
    });
    let on_p = Callback::new(
        move |(text, edit): (String, Edit)| match parse::<f64>(&text) {
            Some(p) if p > 0.0 && p <= 100.0 => {
                state.try_config(|c| c.calibration = Calibration::Percentile { p })
            }
            _ if edit == Edit::Commit => {
                state.report(format!("percentile must be in (0, 100], got \"{text}\""))
            }
            _ => {}
        },
    );
    let clip_text = move |hi: bool| {
        Signal::derive(move || {
            state
                .analysis
                .get()
                .map(|a| {
                    let (lo_v, hi_v) = a.display.clip;
                    format::number(f64::from(if hi { hi_v } else { lo_v }), 6)
                })
                .unwrap_or_default()
        })
    };
    let on_clip = move |hi: bool| {
        Callback::new(move |(text, edit): (String, Edit)| {
            let (lo0, hi0) = current_clip();
            match parse::<f32>(&text) {
                Some(v) if v.is_finite() => {
                    let (lo, hi) = if hi { (lo0, v) } else { (v, hi0) };
                    if lo < hi {
                        state.try_config(|c| c.calibration = Calibration::Manual { lo, hi });
                    } else if edit == Edit::Commit {
                        state.report(format!(
                            "the clipping range needs lo < hi, got [{lo}, {hi}]"
                        ));
                        state.config.notify();
                    }
                }
                _ if edit == Edit::Commit => {
                    state.report(format!(
                        "clipping bounds must be finite numbers, got \"{text}\""
                    ));
                    state.config.notify();
                }
                _ => {}
            }
        })
    };
    view! {
        <SelectField
            label="Calibration (choosing the clipping range [α, β])"
            testid="calibration"
            options=calibration_options
            value=value
            on_select=on_select
        />
        <Show when=move || matches!(config.with(|c| c.calibration), Calibration::Percentile { .. })>
            <NumberField label="Percentile p" testid="percentile" value=p_value on_edit=on_p min="0" max="100" step="0.1" />
        </Show>
        // The bounds are typed only for a manual range; a calibrator's range is shown, not edited.
        <Show
            when=move || matches!(config.with(|c| c.calibration), Calibration::Manual { .. })
            fallback=move || view! {
                <p class="help clip-range">
                    "The calibrator's range: α = "
                    <span class="num" data-testid="clip-lo">{clip_text(false)}</span>
                    ", β = "
                    <span class="num" data-testid="clip-hi">{clip_text(true)}</span>
                    ". Drag the red edges on the histogram, or choose manual, to set it by hand."
                </p>
            }
        >
            <div class="row">
                <NumberField label="Clip α (lo)" testid="clip-lo" value=clip_text(false) on_edit=on_clip(false) />
                <NumberField label="Clip β (hi)" testid="clip-hi" value=clip_text(true) on_edit=on_clip(true) />
            </div>
            <p class="help">"The range always includes 0; values outside it are clipped to the end levels."</p>
        </Show>
    }
}

/// Rounding mode, stochastic seed, power-of-two scales.
#[component]
fn RoundingControls() -> impl IntoView {
    let state = use_app_state();
    let config = state.config;
    let value = Signal::derive(move || config.with(|c| c.rounding.name().to_string()));
    let on_select = Callback::new(move |v: String| {
        if let Some(rounding) = Rounding::from_name(&v) {
            state.try_config(|c| c.rounding = rounding)
        }
    });
    view! {
        <SelectField
            label="Rounding"
            testid="rounding"
            options=Signal::derive(|| Rounding::ALL.map(|r| (r.name().to_string(), r.label().to_string())).to_vec())
            value=value
            on_select=on_select
        />
        <label class="check">
            <input
                type="checkbox"
                data-testid="power-of-two"
                prop:checked=move || config.with(|c| c.power_of_two_scale)
                on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    state.try_config(|c| c.power_of_two_scale = on)
                }
            />
            " power-of-two scale (S rounded up to 2^k, as shift-based hardware needs)"
        </label>
    }
}
