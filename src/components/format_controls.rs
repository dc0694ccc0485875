//! The number format: element format, presets (MX, NVFP4, GGML, …), block-scale storage, codebook
//! size and sub-vector length, fixed-point widths.

use leptos::prelude::*;
use quantscope_core::presets::{active, apply, fitting, PRESETS};
use quantscope_core::{Format, ScaleFormat, ScaleRounding};

use super::fields::{parse, Edit, NumberField, SelectField};
use crate::state::use_app_state;

/// The format select's label: the core's name for people and for the CLI.
fn format_label(f: Format) -> String {
    format!("{} — {}", f.label(), f.name())
}

/// The format panel's fields (inside the quantizer panel).
#[component]
pub fn FormatControls() -> impl IntoView {
    let state = use_app_state();
    let config = state.config;
    let format = move || config.with(|c| c.format);

    let format_options = Signal::derive(|| {
        Format::ALL
            .iter()
            .map(|&f| (f.name().to_string(), format_label(f)))
            .collect::<Vec<_>>()
    });
    let format_value = Signal::derive(move || format().name().to_string());
    let on_format = Callback::new(move |v: String| {
        if let Some(f) = Format::from_name(&v) {
            state.try_config(|c| c.set_format(f));
            state.display_group.set(0);
        }
    });

    // Only the presets whose blocks fit the data are offered; the select shows the preset the
    // settings are, or "custom" once a knob has changed them.
    let preset_options = Signal::derive(move || {
        let last = state.data.with(|d| {
            d.as_ref()
                .map(|d| d.shape.last().copied().unwrap_or(d.len()))
        });
        let names: Vec<&str> = match last {
            Some(l) => fitting(l).into_iter().map(|(name, _)| name).collect(),
            None => PRESETS.to_vec(),
        };
        let mut v = vec![(String::new(), "custom settings".to_string())];
        v.extend(names.into_iter().map(|p| (p.to_string(), p.to_string())));
        v
    });
    let preset_value =
        Signal::derive(move || config.with(|c| active(c).unwrap_or_default().to_string()));
    let on_preset = Callback::new(move |v: String| {
        if let Some(p) = apply(&v, &state.config.get_untracked()) {
            state.try_config(|c| *c = p);
            state.display_group.set(0);
        }
    });

    let scale_options = Signal::derive(|| {
        ScaleFormat::ALL
            .map(|s| (s.name().to_string(), s.label().to_string()))
            .to_vec()
    });
    let scale_value = Signal::derive(move || config.with(|c| c.scale_format.name().to_string()));
    let on_scale = Callback::new(move |v: String| {
        if let Some(s) = ScaleFormat::from_name(&v) {
            state.try_config(|c| c.set_scale_format(s))
        }
    });
    let rounding_options = Signal::derive(|| {
        ScaleRounding::ALL
            .map(|r| (r.name().to_string(), r.label().to_string()))
            .to_vec()
    });
    let rounding_value =
        Signal::derive(move || config.with(|c| c.scale_rounding.name().to_string()));
    let on_rounding = Callback::new(move |v: String| {
        if let Some(r) = ScaleRounding::from_name(&v) {
            state.try_config(|c| c.scale_rounding = r)
        }
    });

    let levels_value = Signal::derive(move || config.with(|c| c.levels.to_string()));
    let on_levels = Callback::new(
        move |(text, edit): (String, Edit)| match parse::<u32>(&text) {
            Some(k) if (2..=65536).contains(&k) => state.try_config(|c| c.levels = k),
            _ if edit == Edit::Commit => state.report(format!(
                "the codebook size K must be a whole number from 2 to 65536, got \"{text}\""
            )),
            _ => {}
        },
    );
    let dim_value = Signal::derive(move || config.with(|c| c.vector_dim.to_string()));
    let on_dim = Callback::new(
        move |(text, edit): (String, Edit)| match parse::<usize>(&text) {
            Some(d) if (1..=64).contains(&d) && edit == Edit::Commit => {
                state.try_config(|c| c.set_vector_dim(d))
            }
            Some(d) if (1..=64).contains(&d) => {}
            _ if edit == Edit::Commit => state.report(format!(
                "the sub-vector length D must be a whole number from 1 to 64, got \"{text}\""
            )),
            _ => {}
        },
    );
    let fixed_field = move |frac: bool| {
        let value = Signal::derive(move || {
            config.with(|c| if frac { c.frac_bits } else { c.int_bits }.to_string())
        });
        let on_edit = Callback::new(
            move |(text, edit): (String, Edit)| match parse::<u8>(&text) {
                Some(b) if b <= 15 => state.try_config(|c| {
                    if frac {
                        c.frac_bits = b
                    } else {
                        c.int_bits = b
                    }
                }),
                _ if edit == Edit::Commit => state.report(format!(
                    "fixed-point widths are whole numbers from 0 to 15, got \"{text}\""
                )),
                _ => {}
            },
        );
        (value, on_edit)
    };
    let (int_value, on_int) = fixed_field(false);
    let (frac_value, on_frac) = fixed_field(true);
    let describe = move || format().describe();
    let knobs = move || config.with(|c| c.knobs());

    view! {
        <SelectField label="Number format" testid="format" options=format_options value=format_value on_select=on_format />
        <p class="help" data-testid="format-description">{describe}</p>
        <SelectField label="Preset" testid="preset" options=preset_options value=preset_value on_select=on_preset
            help="MX: blocks of 32 with a shared power-of-two scale; NVFP4: blocks of 16 with FP8 scales; GGML: llama.cpp's blocks."
        />
        <Show when=move || knobs().scale_storage>
            <div class="row">
                <SelectField label="Scale stored as" testid="scale-format" options=scale_options value=scale_value on_select=on_scale />
                <Show when=move || config.with(|c| c.scale_format == ScaleFormat::E8m0)>
                    <SelectField label="E8M0 rounding" testid="scale-rounding" options=rounding_options value=rounding_value on_select=on_rounding />
                </Show>
            </div>
        </Show>
        <Show when=move || knobs().codebook>
            <div class="row">
                <NumberField label="Codebook size K" testid="levels" value=levels_value on_edit=on_levels min="2" max="65536" step="1" />
                <NumberField label="Sub-vector length D" testid="vector-dim" value=dim_value on_edit=on_dim min="1" max="64" step="1" />
            </div>
            <p class="help">"D = 1 learns K levels (the exact optimum for this data); D > 1 learns K points in D dimensions from consecutive values (vector quantization)."</p>
        </Show>
        <Show when=move || knobs().fixed_widths>
            <div class="row">
                <NumberField label="Integer bits m" testid="int-bits" value=int_value on_edit=on_int min="0" max="15" step="1" />
                <NumberField label="Fraction bits n" testid="frac-bits" value=frac_value on_edit=on_frac min="0" max="15" step="1" />
            </div>
        </Show>
    }
}
