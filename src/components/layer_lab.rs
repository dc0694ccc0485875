//! "Layer lab": the tensor open in the explorer as a linear layer's weights W, real activations
//! X, and what each method (round to nearest, GPTQ, AWQ) — after an optional Hadamard rotation or
//! SmoothQuant — does to the layer's output Y = X·Wᵀ, not only to W.

use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use quantscope_core::layer::{gap_sentence, LabResult, LayerOptions, Method};

use super::canvas::{draw_each_frame, fit_canvas};
use super::data_source::fetch_sample;
use super::fields::SelectField;
use crate::charts::layer::{
    act_chart, draw_act, draw_outputs, draw_weights, outputs_chart, weights_chart,
};
use crate::charts::PixelMap;
use crate::engine::client::Attachment;
use crate::format;
use crate::state::{use_app_state, AppState, Studied};

/// The shipped layer: MiniLM-L6 layer 0's FFN output projection and its input activations.
pub const SAMPLE_W: &str = "minilm-l0-ffn-output.npy";
pub const SAMPLE_X: &str = "minilm-l0-ffn-input.npy";

/// Loads the shipped activations as X.
fn load_sample_x(state: AppState) {
    spawn_local(async move {
        match fetch_sample(SAMPLE_X).await {
            Ok(bytes) => state.set_lab_activations(
                SAMPLE_X.to_string(),
                Attachment::Bytes(std::rc::Rc::new(bytes)),
            ),
            Err(e) => state.lab.set(Studied::Failed(format!(
                "{SAMPLE_X}: could not be loaded ({e})"
            ))),
        }
    });
}

/// Opens the shipped weights in the explorer (and so as the lab's W).
fn load_sample_w(state: AppState) {
    spawn_local(async move {
        match fetch_sample(SAMPLE_W).await {
            Ok(bytes) => state.open_bytes(SAMPLE_W.to_string(), bytes),
            Err(e) => state.report(format!("{SAMPLE_W}: could not be loaded ({e})")),
        }
    });
}

/// The powers of two dividing `inputs` (the rotation's block sizes), from 2.
fn blocks_of(inputs: usize) -> Vec<usize> {
    (1..usize::BITS)
        .map(|k| 1usize << k)
        .take_while(|&b| b <= inputs)
        .filter(|b| inputs % b == 0)
        .collect()
}

/// One row of the methods table.
fn method_row(
    r: &quantscope_core::layer::LayerReport,
    shown: Method,
) -> (String, [String; 4], bool) {
    let detail = match r.method {
        Method::Awq => r.awq_alpha.map(|a| format!("α = {a}")).unwrap_or_default(),
        Method::Gptq => r
            .gptq_damp
            .map(|d| format!("λ = {}", format::number(d, 3)))
            .unwrap_or_default(),
        Method::Rtn => String::new(),
    };
    (
        r.method.name().to_string(),
        [
            format::db(r.weight_sqnr_db),
            format::db(r.output_sqnr_db),
            format::number(r.output_mse, 4),
            detail,
        ],
        r.method == shown,
    )
}

#[component]
pub fn LayerLab() -> impl IntoView {
    let state = use_app_state();
    let act_ref = NodeRef::<Canvas>::new();
    let weights_ref = NodeRef::<Canvas>::new();
    let outputs_ref = NodeRef::<Canvas>::new();
    let act_map = StoredValue::new(None::<PixelMap>);
    let out_map = StoredValue::new(None::<PixelMap>);
    let readout = RwSignal::new(None::<String>);
    let result = Memo::new(move |_| state.lab.with(|l| l.result().cloned()));
    let shape = Memo::new(move |_| {
        state
            .data
            .with(|d| d.as_ref().map(|d| (d.name.clone(), d.shape.clone())))
    });
    let inputs = move || shape.with(|s| s.as_ref().and_then(|s| s.1.last().copied()).unwrap_or(0));

    let open = move |_| {
        state.lab_open.set(true);
        if state.lab_x_name.get_untracked().is_none() {
            load_sample_x(state);
        }
        // W is the explorer's tensor: a matrix with the sample's inputs, or the sample itself.
        let fits = shape.with_untracked(|s| {
            s.as_ref()
                .is_some_and(|(_, sh)| sh.len() == 2 && sh[1] == 1536)
        });
        if !fits {
            load_sample_w(state);
        }
    };
    let on_x_file = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        if let Some(file) = input.files().and_then(|f| f.get(0)) {
            state.set_lab_activations(file.name(), Attachment::File(file));
        }
    };

    draw_each_frame(
        move || {
            result.track();
            act_ref.track();
            weights_ref.track();
            outputs_ref.track();
            state.lab_method.track();
        },
        move || {
            let Some(r) = result.get_untracked() else {
                return;
            };
            if let Some(c) = act_ref.get_untracked() {
                let (scale, css_w) = fit_canvas(&c);
                let bars = (css_w / 1.5) as usize;
                match draw_act(c, &act_chart(&r.act_abs_max, bars), scale) {
                    Ok(m) => act_map.set_value(Some(m)),
                    Err(e) => leptos::logging::error!("layer inputs: {e}"),
                }
            }
            if let Some(c) = weights_ref.get_untracked() {
                let (scale, _) = fit_canvas(&c);
                if let Err(e) = draw_weights(c, &weights_chart(&r), scale) {
                    leptos::logging::error!("layer weights: {e}");
                }
            }
            if let Some(c) = outputs_ref.get_untracked() {
                let (scale, _) = fit_canvas(&c);
                let chart = outputs_chart(&r, state.lab_method.get_untracked());
                match draw_outputs(c, &chart, scale) {
                    Ok(m) => out_map.set_value(Some(m)),
                    Err(e) => leptos::logging::error!("layer outputs: {e}"),
                }
            }
        },
    );
    let on_act_move = move |ev: leptos::ev::PointerEvent| {
        let Some(m) = act_map.get_value() else {
            return;
        };
        let j = m.value_at(f64::from(ev.offset_x())).floor().max(0.0) as usize;
        readout.set(result.with_untracked(|r| {
            let r: &LabResult = r.as_ref()?;
            let v = r.act_abs_max.get(j.min(r.inputs.saturating_sub(1)))?;
            Some(format!(
                "Input {j}: max |x| = {} over {} tokens.",
                format::number(f64::from(*v), 4),
                r.tokens
            ))
        }));
    };
    let on_out_move = move |ev: leptos::ev::PointerEvent| {
        let Some(m) = out_map.get_value() else {
            return;
        };
        let o = m.value_at(f64::from(ev.offset_x())).floor().max(0.0) as usize;
        readout.set(result.with_untracked(|r| {
            let r: &LabResult = r.as_ref()?;
            let o = o.min(r.out.saturating_sub(1));
            let parts: Vec<String> = r
                .rows
                .iter()
                .filter_map(|row| {
                    Some(format!(
                        "{} {}",
                        row.method.name(),
                        format::number(*row.per_output_mse.get(o)?, 3)
                    ))
                })
                .collect();
            Some(format!("Output {o}: MSE {}.", parts.join(", ")))
        }));
    };

    // Settings.
    let opts = state.lab_options;
    let set = move |f: &dyn Fn(&mut LayerOptions)| opts.update(|o| f(o));
    let rotate_value = Signal::derive(move || {
        opts.with(|o| o.rotate_block.map_or("none".to_string(), |b| b.to_string()))
    });
    let rotate_options = Signal::derive(move || {
        let mut v = vec![("none".to_string(), "none".to_string())];
        v.extend(
            blocks_of(inputs())
                .into_iter()
                .rev()
                .map(|b| (b.to_string(), format!("Hadamard {b}"))),
        );
        v
    });
    let on_rotate = Callback::new(move |v: String| set(&|o| o.rotate_block = v.parse().ok()));
    let act_value = Signal::derive(move || {
        opts.with(|o| o.act_bits.map_or("float".to_string(), |b| b.to_string()))
    });
    let act_options = Signal::derive(|| {
        let mut v = vec![("float".to_string(), "float (not quantized)".to_string())];
        v.extend([8u8, 6, 4].map(|b| (b.to_string(), format!("int{b} per tensor"))));
        v
    });
    let on_act = Callback::new(move |v: String| set(&|o| o.act_bits = v.parse().ok()));
    let holdout_value = Signal::derive(move || {
        opts.with(|o| o.holdout.map_or("none".to_string(), |h| h.to_string()))
    });
    let holdout_options = Signal::derive(|| {
        let mut v = vec![(
            "none".to_string(),
            "none: measure on every token".to_string(),
        )];
        v.extend([64usize, 128, 256].map(|h| (h.to_string(), format!("the last {h} tokens"))));
        v
    });
    let on_holdout = Callback::new(move |v: String| set(&|o| o.holdout = v.parse().ok()));
    let alpha_text = move || {
        opts.with(|o| {
            o.smooth_alpha
                .map_or("off".to_string(), |a| format!("α = {a:.2}"))
        })
    };

    let status = move || {
        if let Some(e) = state.lab_error.get() {
            return format!("Not measured: {e}. The figures below are the previous ones.");
        }
        state.lab.with(|l| match l {
            Studied::Off(why) => why.clone(),
            Studied::Failed(why) => format!("Not measured: {why}"),
            Studied::Waiting(_) => "Running RTN, GPTQ and AWQ on the layer…".to_string(),
            Studied::Ready(r) => format!(
                "W {} × {} (the explorer's tensor, under the quantizer's settings) with X of {} tokens ({}); SQNR in dB.",
                r.out,
                r.inputs,
                r.tokens,
                state.lab_x_name.get().unwrap_or_default()
            ),
        })
    };
    let rows = move || {
        let shown = state.lab_method.get();
        result.get().map(|r| {
            r.rows
                .iter()
                .map(|row| {
                    let (name, cells, selected) = method_row(row, shown);
                    let method = row.method;
                    let [w, o, mse, detail] = cells;
                    let (w_exact, o_exact, mse_exact) = (
                        row.weight_sqnr_db.to_string(),
                        row.output_sqnr_db.to_string(),
                        row.output_mse.to_string(),
                    );
                    view! {
                        <tr
                            data-method=name
                            class:selected=selected
                            tabindex="0"
                            on:click=move |_| state.lab_method.set(method)
                            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                                if ev.key() == "Enter" || ev.key() == " " {
                                    state.lab_method.set(method);
                                }
                            }
                        >
                            <td title=method.label()><span class=format!("swatch lab-{}", method.name())></span>{method.short_label()}</td>
                            <td class="num" data-col="weight-sqnr" data-value=w_exact>{w}</td>
                            <td class="num" data-col="output-sqnr" data-value=o_exact>{o}</td>
                            <td class="num" data-col="output-mse" data-value=mse_exact>{mse}</td>
                            <td data-col="detail">{detail}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    let gap = move || {
        result.get().and_then(|r| {
            let rtn = r.rows.iter().find(|x| x.method == Method::Rtn)?;
            Some(format!("Round to nearest: {}", gap_sentence(rtn)))
        })
    };
    let notes = move || {
        result.get().map(|r| {
            let mut all: Vec<String> = Vec::new();
            for row in &r.rows {
                for n in &row.notes {
                    if !all.contains(n) {
                        all.push(n.clone());
                    }
                }
            }
            all.into_iter()
                .map(|n| view! { <li>{n}</li> })
                .collect_view()
        })
    };
    let spread = move || {
        result.get().and_then(|r| {
            let row = r.rows.first()?;
            Some(if row.weight_before == row.weight_quantized {
                format!(
                    "W: kurtosis {}, max|w| / σ = {}.",
                    format::number(row.weight_before.kurtosis, 3),
                    format::number(row.weight_before.max_over_std, 3)
                )
            } else {
                format!(
                    "W: kurtosis {}, max|w| / σ = {}; as quantized (after the transform): kurtosis {}, max|w| / σ = {}.",
                    format::number(row.weight_before.kurtosis, 3),
                    format::number(row.weight_before.max_over_std, 3),
                    format::number(row.weight_quantized.kurtosis, 3),
                    format::number(row.weight_quantized.max_over_std, 3)
                )
            })
        })
    };

    // The activations' mean x² per input as an importance file for the whole-model view (one
    // .npy weights every matrix of that many inputs, as `quantscope allocate --importance`).
    let importance_npy = move || {
        let r = result.get_untracked()?;
        let x = state
            .lab_x_name
            .get_untracked()
            .unwrap_or_else(|| "activations".into());
        let stem = x
            .rsplit_once('.')
            .map_or(x.as_str(), |(s, _)| s)
            .to_string();
        let npy = quantscope_core::io::npy::write_f32(&[r.act_mean_sq.len()], &r.act_mean_sq);
        Some((format!("mean-x2-{stem}.npy"), npy, r.act_mean_sq.len()))
    };
    let importance_status = RwSignal::new(None::<String>);
    let download_importance = move |_| {
        if let Some((name, npy, _)) = importance_npy() {
            if let Err(e) = super::export_panel::download_bytes(&name, &npy) {
                importance_status.set(Some(format!("The download failed: {e}")));
            }
        }
    };
    let use_importance = move |_| {
        if let Some((name, npy, inputs)) = importance_npy() {
            importance_status.set(Some(format!(
                "{name} now weights the whole-model allocation (every matrix with {inputs} inputs)."
            )));
            state.set_model_importance(Some((name, Attachment::Bytes(std::rc::Rc::new(npy)))));
        }
    };

    view! {
        <section class="panel order-layer" aria-labelledby="layer-title">
            <h2 id="layer-title">"Layer lab: the error the model feels"</h2>
            <p class="help">
                "A layer computes Y = X·Wᵀ. Its weight error is not its output error: inputs that are always small hide a weight's error, large ones multiply it. Here the tensor open in the explorer is W, quantized under the quantizer settings, with real activations X — by rounding to nearest, by GPTQ (which pushes each column's error onto the columns still to come) and by AWQ (which scales the inputs that matter before rounding)."
            </p>
            <Show
                when=move || state.lab_open.get()
                fallback=move || view! {
                    <button type="button" data-testid="lab-open" on:click=open>"Open the layer lab (MiniLM's layer 0 and 512 tokens of real text)"</button>
                }
            >
                <div class="field-row">
                    <div class="field">
                        <label for="lab-x-input">"Activations X [tokens, in] (.npy or .safetensors)"</label>
                        <input id="lab-x-input" type="file" data-testid="lab-x-input" accept=".npy,.safetensors" on:change=on_x_file />
                        <button type="button" class="use" data-testid="lab-sample-x" on:click=move |_| load_sample_x(state)>"shipped: MiniLM layer 0 FFN input, 512 tokens"</button>
                    </div>
                    <div class="field">
                        <span class="label">"Weights W [out, in]"</span>
                        <span data-testid="lab-weights">{move || shape.with(|s| s.as_ref().map(|(n, sh)| format!("{n} [{}]", format::shape(sh))))}</span>
                        <button type="button" class="use" data-testid="lab-sample-w" on:click=move |_| load_sample_w(state)>"use MiniLM's layer-0 FFN weights"</button>
                    </div>
                </div>
                <div class="field-row">
                    <SelectField label="Rotation" testid="lab-rotate" options=rotate_options value=rotate_value on_select=on_rotate />
                    <div class="field">
                        <label class="check" for="lab-signs">
                            <input id="lab-signs" type="checkbox" data-testid="lab-signs"
                                prop:checked=move || opts.with(|o| o.rotate_seed.is_some())
                                on:change=move |ev| { let on = event_target_checked(&ev); set(&|o| o.rotate_seed = on.then_some(1)); } />
                            " random ±1 signs first"
                        </label>
                    </div>
                    <div class="field">
                        <label class="check" for="lab-smooth">
                            <input id="lab-smooth" type="checkbox" data-testid="lab-smooth"
                                prop:checked=move || opts.with(|o| o.smooth_alpha.is_some())
                                on:change=move |ev| { let on = event_target_checked(&ev); set(&|o| o.smooth_alpha = on.then_some(0.5)); } />
                            " SmoothQuant, " {alpha_text}
                        </label>
                        <input type="range" min="0" max="1" step="0.05" data-testid="lab-alpha" aria-label="SmoothQuant migration strength α"
                            prop:value=move || opts.with(|o| o.smooth_alpha.unwrap_or(0.5).to_string())
                            prop:disabled=move || opts.with(|o| o.smooth_alpha.is_none())
                            on:change=move |ev| { if let Ok(a) = event_target_value(&ev).parse::<f32>() { set(&|o| o.smooth_alpha = Some(a)); } } />
                    </div>
                    <SelectField label="Activations quantized" testid="lab-act-bits" options=act_options value=act_value on_select=on_act />
                    <SelectField label="Measure on held-out tokens" testid="lab-holdout" options=holdout_options value=holdout_value on_select=on_holdout />
                    <div class="field">
                        <label class="check" for="lab-act-order">
                            <input id="lab-act-order" type="checkbox" data-testid="lab-act-order"
                                prop:checked=move || opts.with(|o| o.gptq.act_order)
                                on:change=move |ev| { let on = event_target_checked(&ev); set(&|o| o.gptq.act_order = on); } />
                            " GPTQ act-order"
                        </label>
                    </div>
                </div>
                <p class="help" class:field-error=move || state.lab_error.with(Option::is_some) data-testid="lab-status" aria-live="polite">{status}</p>
                <Show when=move || result.with(Option::is_some)>
                    <p class="help">"Each method under the same quantizer and transforms; choose a row to draw its per-output error on top."</p>
                    <div class="table-scroll">
                        <table class="calibrators lab" data-testid="lab-table">
                            <thead><tr><th>"method"</th><th class="num" title="SQNR of W against the quantized weights, in dB">"weight dB"</th><th class="num" title="SQNR of Y = X·Wᵀ against the quantized layer's output, in dB">"output dB"</th><th class="num">"output MSE"</th><th>"found"</th></tr></thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                    <p class="help" data-testid="lab-gap">{gap}</p>
                    <p class="help" data-testid="lab-spread">{spread}</p>
                    <ul class="notes" data-testid="lab-notes">{notes}</ul>
                    <h3>"Where the activation outliers are"</h3>
                    <canvas class="chart" data-testid="lab-act-chart" node_ref=act_ref
                        aria-label="The largest |x| over the tokens for each input of the layer"
                        on:pointermove=on_act_move on:pointerleave=move |_| readout.set(None)></canvas>
                    <p class="help">"Each input's mean x² over these tokens is what llama.cpp's imatrix records: the importance by which the whole-model allocation can weight each input column's error."</p>
                    <div class="export-buttons">
                        <button type="button" data-testid="lab-importance-download" on:click=download_importance>"Download mean x² per input (.npy)"</button>
                        <button type="button" data-testid="lab-importance-use" on:click=use_importance>"Weight the whole-model allocation by it"</button>
                    </div>
                    <p class="help" data-testid="lab-importance-status" aria-live="polite">{move || importance_status.get()}</p>
                    <h3>"The weights before and after the transform"</h3>
                    <canvas class="chart chart-short" data-testid="lab-weights-chart" node_ref=weights_ref
                        aria-label="Histogram of W, and of the rotated or smoothed W that is quantized"></canvas>
                    <ul class="legend">
                        <li><span class="swatch lab-before"></span>"W"</li>
                        <li><span class="swatch lab-after"></span>"W as quantized (rotated / smoothed)"</li>
                    </ul>
                    <h3>"Each output's error"</h3>
                    <canvas class="chart" data-testid="lab-outputs-chart" node_ref=outputs_ref
                        aria-label="Mean squared error of each output over the tokens, one line per method"
                        on:pointermove=on_out_move on:pointerleave=move |_| readout.set(None)></canvas>
                    <ul class="legend">
                        {Method::ALL.map(|m| view! { <li><span class=format!("swatch lab-{}", m.name())></span>{m.label()}</li> }).to_vec()}
                    </ul>
                    <p class="readout" data-testid="lab-readout" aria-live="polite">
                        {move || readout.get().unwrap_or_else(|| "Point at a chart to read an input or an output.".to_string())}
                    </p>
                </Show>
            </Show>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_blocks_are_the_powers_of_two_dividing_the_inputs() {
        assert_eq!(blocks_of(1536), vec![2, 4, 8, 16, 32, 64, 128, 256, 512]);
        assert_eq!(blocks_of(8), vec![2, 4, 8]);
        assert!(blocks_of(7).is_empty());
        assert!(blocks_of(0).is_empty());
    }
}
