//! "Whole model": every 2-D tensor of the open checkpoint measured under each candidate, and the
//! one candidate per tensor with the least total error within a budget in bits per value — the
//! figures of `quantscope allocate`, computed by the worker that holds the file.

use leptos::html::Canvas;
use leptos::prelude::*;
use quantscope_core::allocate::{self, DEFAULT_CANDIDATES};

use super::canvas::{draw_each_frame, fit_canvas};
use super::export_panel::download_bytes;
use super::fields::{Edit, NumberField};
use crate::charts::allocation::{allocation_chart, draw_allocation};
use crate::charts::layer_errors::{bar_at, draw_layer_errors, label, layer_error_chart};
use crate::charts::PixelMap;
use crate::format;
use crate::state::{use_app_state, Source, Studied};

/// Whether `name` matches `pattern`, where `*` stands for any run of characters (`*.attn.*`,
/// `encoder.layer.?` is not special); an empty pattern matches everything.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern.is_empty() || name.contains(pattern);
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || !name[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// How the assignment table is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    File,
    Name,
    Bits,
    Mse,
}

/// The rows of `r` whose names match `pattern`, in `order` (bits and MSE: largest first).
pub fn table_rows(
    r: &quantscope_core::allocate::Report,
    pattern: &str,
    order: Order,
) -> Vec<quantscope_core::allocate::Assigned> {
    let mut rows: Vec<_> = r
        .assignment
        .iter()
        .filter(|a| name_matches(pattern.trim(), &a.name))
        .cloned()
        .collect();
    match order {
        Order::File => {}
        Order::Name => rows.sort_by(|a, b| a.name.cmp(&b.name)),
        Order::Bits => rows.sort_by(|a, b| b.bits_per_value.total_cmp(&a.bits_per_value)),
        Order::Mse => rows.sort_by(|a, b| b.mse.total_cmp(&a.mse)),
    }
    rows
}

#[component]
pub fn ModelView() -> impl IntoView {
    let state = use_app_state();
    let model_file = move || {
        state.source.get() == Source::File
            && state
                .file
                .with(|f| f.as_ref().is_some_and(|f| f.tensors.len() >= 2))
    };
    let chart_ref = NodeRef::<Canvas>::new();
    let result = Memo::new(move |_| state.model.with(|m| m.result().cloned()));
    draw_each_frame(
        move || {
            result.track();
            chart_ref.track();
        },
        move || {
            let (Some(r), Some(c)) = (result.get_untracked(), chart_ref.get_untracked()) else {
                return;
            };
            let (scale, _) = fit_canvas(&c);
            if let Err(e) = draw_allocation(c, &allocation_chart(&r), scale) {
                leptos::logging::error!("allocation: {e}");
            }
        },
    );
    // Each layer's share of the error: where the allocation's error lives.
    let layers_ref = NodeRef::<Canvas>::new();
    let layers_map = StoredValue::new(None::<PixelMap>);
    let layer_readout = RwSignal::new(None::<String>);
    draw_each_frame(
        move || {
            result.track();
            layers_ref.track();
        },
        move || {
            let (Some(r), Some(c)) = (result.get_untracked(), layers_ref.get_untracked()) else {
                return;
            };
            let (scale, _) = fit_canvas(&c);
            match draw_layer_errors(c, &layer_error_chart(&r.layers), scale) {
                Ok(m) => layers_map.set_value(Some(m)),
                Err(e) => leptos::logging::error!("layer errors: {e}"),
            }
        },
    );
    let on_layer_move = move |ev: leptos::ev::PointerEvent| {
        let (Some(m), Some(r)) = (layers_map.get_value(), result.get_untracked()) else {
            return;
        };
        let chart = layer_error_chart(&r.layers);
        let text = bar_at(&chart, m.value_at(f64::from(ev.offset_x())))
            .and_then(|k| r.layers.get(k))
            .map(|l| {
                let name = match l.layer {
                    Some(_) => format!("layer {}", label(l)),
                    None => "outside the numbered layers".to_string(),
                };
                format!(
                    "{name}: {} in {} values, {} bits per value, weighted MSE {}, {} % of the total error",
                    format::plural(l.tensors, "tensor", "tensors"),
                    format::count(l.n),
                    format::number(l.bits_per_value, 4),
                    format::number(l.weighted_mse, 4),
                    format::number(100.0 * l.share, 3)
                )
            });
        layer_readout.set(text);
    };
    // The budget as bits per value, or as a target size of the tensor data.
    let by_size = move || state.model_size.with(Option::is_some);
    let size_text = RwSignal::new("15MB".to_string());
    let on_size = move |text: String, commit: bool| match allocate::parse_size(&text) {
        Ok(bytes) => {
            state.error.set(None);
            state.model_size.set(Some(bytes));
            if state.model.with_untracked(|m| m.result().is_some()) {
                state.allocate_model();
            }
        }
        Err(e) if commit => state.report(format!("target size: {e}")),
        Err(_) => {}
    };
    let on_mode = move |ev: leptos::ev::Event| {
        if event_target_value(&ev) == "size" {
            on_size(size_text.get_untracked(), true);
        } else {
            state.model_size.set(None);
            if state.model.with_untracked(|m| m.result().is_some()) {
                state.allocate_model();
            }
        }
    };
    // Every tensor of the file from its header at once; its statistics as the allocation reads it.
    let header_summary = move || {
        state.file.with(|f| {
            f.as_ref().map(|f| {
                let params: usize = f
                    .tensors
                    .iter()
                    .map(|t| t.shape.iter().product::<usize>())
                    .sum();
                let read = state.model_rows.with(Vec::len);
                format!(
                    "{} in {}, {} parameters{}",
                    format::plural(f.tensors.len(), "tensor", "tensors"),
                    if f.shards > 0 {
                        format::plural(f.shards_read(), "shard", "shards")
                    } else {
                        "the file".to_string()
                    },
                    format::count(params),
                    if read > 0 {
                        format!(" — {read} read by the allocation")
                    } else {
                        String::new()
                    }
                )
            })
        })
    };
    // Shards of the checkpoint that could not be used: named, with why, before anything else.
    let set_aside = move || {
        state.file.with(|f| {
            f.as_ref()
                .map(|f| {
                    f.set_aside
                        .iter()
                        .map(|(file, why)| {
                            let text = format!("Shard {file} set aside: {why}. Its tensors are not listed; the allocation keeps them out.");
                            view! { <li>{text}</li> }
                        })
                        .collect_view()
                })
        })
    };
    let header_rows = move || {
        let rows = state.model_rows.get();
        state.file.with(|f| {
            f.as_ref().map(|f| {
                f.tensors
                    .iter()
                    .map(|t| {
                        let row = rows.iter().find(|r| r.name == t.name);
                        let status = match row {
                            Some(r) => r.kept.clone().map_or_else(|| "allocated".to_string(), |k| format!("kept: {k}")),
                            None if !t.is_float => format!("kept: dtype {} is not a float", t.dtype),
                            None if t.shape.len() != 2 => "kept: not 2-D".to_string(),
                            None => "not read yet".to_string(),
                        };
                        let cell = |f: &dyn Fn(&crate::engine::protocol::TensorRow) -> String| {
                            row.map_or_else(|| "—".to_string(), f)
                        };
                        view! {
                            <tr data-name=t.name.clone()>
                                <td class="name">{t.name.clone()}</td>
                                <td>{format::shape(&t.shape)}</td>
                                <td>{t.dtype.clone()}</td>
                                <td class="num">{format::count(t.shape.iter().product())}</td>
                                <td class="num" data-col="range">{cell(&|r| format!("{} … {}", format::number(f64::from(r.min), 4), format::number(f64::from(r.max), 4)))}</td>
                                <td class="num" data-col="std">{cell(&|r| format::number(r.std, 4))}</td>
                                <td class="num" data-col="tail">{cell(&|r| format::number(r.max_over_std, 3))}</td>
                                <td data-col="status">{status}</td>
                            </tr>
                        }
                    })
                    .collect_view()
            })
        })
    };
    let budget_value = Signal::derive(move || state.model_budget.get().to_string());
    let on_budget =
        Callback::new(
            move |(text, edit): (String, Edit)| match text.trim().parse::<f64>() {
                Ok(b) if b.is_finite() && b > 0.0 => {
                    state.error.set(None);
                    state.model_budget.set(b);
                    // The tensors are measured already: a new budget only solves again.
                    if state.model.with_untracked(|m| m.result().is_some()) {
                        state.allocate_model();
                    }
                }
                _ if edit == Edit::Commit => state.report(format!(
                    "budget: \"{text}\" is not a positive number of bits per value"
                )),
                _ => {}
            },
        );
    let toggle = move |name: &'static str, on: bool| {
        state.model_candidates.update(|c| {
            c.retain(|x| x != name);
            if on {
                c.push(name.to_string());
            }
            // In the list's own order, so the CLI's --candidates reads the same.
            c.sort_by_key(|x| DEFAULT_CANDIDATES.iter().position(|d| d == x));
        });
    };
    let on_importance = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        if let Some(file) = input.files().and_then(|f| f.get(0)) {
            state.set_model_importance(Some((
                file.name(),
                crate::engine::client::Attachment::File(file),
            )));
            if state.model.with_untracked(|m| m.result().is_some()) {
                state.allocate_model();
            }
        }
    };
    let clear_importance = move |_| {
        state.set_model_importance(None);
        if state.model.with_untracked(|m| m.result().is_some()) {
            state.allocate_model();
        }
    };
    let importance_status = move || {
        result.get().and_then(|r| {
            let u = r.importance.as_ref()?;
            let all = u.weighted.len() + u.unweighted.len();
            Some(if u.unweighted.is_empty() {
                format!("Every error is weighted by its inputs' importance ({all} tensors).")
            } else {
                format!(
                    "Errors weighted by importance for {} of {all} tensors; no vector for {}.",
                    u.weighted.len(),
                    u.unweighted.join(", ")
                )
            })
        })
    };
    let status = move || {
        if let Some(e) = state.model_error.get() {
            return format!("Not allocated: {e}. The figures below are the previous ones.");
        }
        state.model.with(|m| match m {
            Studied::Off(_) => "Choose the candidates and a budget, then allocate: every matrix of the file is measured under each candidate once (one tensor in memory at a time); a new budget then takes a moment.".to_string(),
            Studied::Waiting(_) => "Measuring every tensor under each candidate…".to_string(),
            Studied::Failed(e) => format!("Not allocated: {e}"),
            Studied::Ready(r) => format!(
                "{} tensors allocated, {} kept at their own precision. Slack of the solution: {} bits per value{}.",
                r.assignment.len(),
                r.kept.len(),
                format::number(r.slack_bits_per_value, 2),
                if r.slack_bits_per_value == 0.0 { " (exactly optimal)" } else { "" }
            ),
        })
    };
    let total = move || {
        result.get().map(|r| {
            format!(
                "{} bits per value on average (budget {}), weighted MSE {}, SQNR {} dB over the allocated tensors{}.{}",
                format::number(r.total.bits_per_value, 4),
                format::number(r.budget, 6),
                format::number(r.total.weighted_mse, 4),
                format::db(r.total.sqnr_db),
                if r.importance.is_some() { " (importance-weighted)" } else { "" },
                r.size.as_ref().map(|z| format!(
                    " Target {}: about {} of tensor data, {} of it in the tensors kept at their own precision (the file's header is not counted).",
                    format::bytes(z.target_bytes),
                    format::bytes(z.estimated_bytes),
                    format::bytes(z.kept_bytes)
                )).unwrap_or_default()
            )
        })
    };
    let filter = RwSignal::new(String::new());
    let order = RwSignal::new(Order::File);
    let shown_count = move || {
        result.get().map(|r| {
            let n = table_rows(&r, &filter.get(), Order::File).len();
            if n == r.assignment.len() {
                String::new()
            } else {
                format!("{n} of {} tensors match.", r.assignment.len())
            }
        })
    };
    let rows = move || {
        result.get().map(|r| {
            table_rows(&r, &filter.get(), order.get())
                .iter()
                .map(|a| {
                    let (name, candidate) = (a.name.clone(), a.candidate.clone());
                    let open = move |_| {
                        if let Some(c) = allocate::candidate(&candidate) {
                            state.config.set(c);
                            state.display_group.set(0);
                        }
                        state.open_tensor(name.clone());
                    };
                    view! {
                        <tr data-name=a.name.clone() tabindex="0" on:click=open title="open this tensor in the explorer with its candidate">
                            <td class="name">{a.name.clone()}</td>
                            <td data-col="candidate">{a.candidate.clone()}</td>
                            <td class="num" data-col="bpv">{format::number(a.bits_per_value, 4)}</td>
                            <td class="num" data-col="mse" data-value=a.mse.to_string()>{format::number(a.mse, 4)}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    let kept_summary = move || {
        result.get().map(|r| {
            format::plural(
                r.kept.len(),
                "tensor kept at its own precision",
                "tensors kept at their own precision",
            )
        })
    };
    let kept_rows = move || {
        result.get().map(|r| {
            r.kept
                .iter()
                .map(|k| view! { <li data-name=k.name.clone()>{format!("{} — {}", k.name, k.reason)}</li> })
                .collect_view()
        })
    };
    let export_json = move |_| {
        if let Some(r) = result.get_untracked() {
            let text = serde_json::to_string_pretty(&*r).unwrap_or_default();
            if let Err(e) = download_bytes("allocation.json", text.as_bytes()) {
                state.report(format!("allocation.json: {e}"));
            }
        }
    };
    let export_types = move |_| {
        if let Some(r) = result.get_untracked() {
            let text = r.tensor_types.join("\n") + "\n";
            if let Err(e) = download_bytes("tensor-types.txt", text.as_bytes()) {
                state.report(format!("tensor-types.txt: {e}"));
            }
        }
    };
    view! {
        <Show when=model_file>
            <section class="panel order-model" aria-labelledby="model-title">
                <h2 id="model-title">"Whole model: bits where they matter"</h2>
                <p class="help">"Some tensors tolerate 3 bits, others need 8. Every matrix of the open file is quantized under each candidate; then one candidate per tensor is chosen so that the total squared error (Σ n·MSE) is least within the budget — solved exactly as a knapsack, as "<code>"quantscope allocate"</code>" does."</p>
                <Show when=move || state.file.with(|f| f.as_ref().is_some_and(|f| !f.set_aside.is_empty()))>
                    <ul class="notes warn-notes" data-testid="model-set-aside">{set_aside}</ul>
                </Show>
                <fieldset class="candidates">
                    <legend>"Candidates"</legend>
                    {DEFAULT_CANDIDATES.map(|name| view! {
                        <label class="check">
                            <input type="checkbox" data-testid=format!("model-candidate-{name}")
                                prop:checked=move || state.model_candidates.with(|c| c.iter().any(|x| x == name))
                                on:change=move |ev| toggle(name, event_target_checked(&ev)) />
                            {name}
                        </label>
                    }).to_vec()}
                </fieldset>
                <div class="field">
                    <label for="model-importance">"Importance per input (optional)"</label>
                    <input id="model-importance" type="file" data-testid="model-importance" accept=".npy,.safetensors" on:change=on_importance />
                    <p class="help">"Weights each column's error: a .safetensors of 1-D tensors named as the weights (e.g. each input's mean x² over real activations, as llama.cpp's imatrix), or one .npy for every matrix of that width."</p>
                    <Show when=move || state.model_importance.with(Option::is_some)>
                        <p class="help">
                            {move || state.model_importance.get().map(|(n, _)| format!("Weighting by {n}. "))}
                            <button type="button" class="use" data-testid="model-importance-clear" on:click=clear_importance>"measure without importance"</button>
                        </p>
                    </Show>
                </div>
                <div class="field-row">
                    <div class="field">
                        <label for="model-budget-kind">"Budget as"</label>
                        <select id="model-budget-kind" data-testid="model-budget-kind" on:change=on_mode>
                            <option value="bits" selected=move || !by_size()>"bits per value"</option>
                            <option value="size" selected=by_size>"size of the tensor data"</option>
                        </select>
                    </div>
                    <Show when=by_size fallback=move || view! {
                        <NumberField label="Budget (bits per value)" testid="model-budget" value=budget_value on_edit=on_budget min="0.5" max="32" step="0.25" />
                    }>
                        <div class="field">
                            <label for="model-size">"Target size (e.g. 15MB, 1.2GiB)"</label>
                            <input id="model-size" type="text" data-testid="model-size"
                                prop:value=move || size_text.get()
                                on:input=move |ev| size_text.set(event_target_value(&ev))
                                // A focused field removed by switching to bits per value fires
                                // `change` on its way out: that is not a new size.
                                on:change=move |ev| {
                                    if state.model_size.try_get_untracked().flatten().is_some() {
                                        on_size(event_target_value(&ev), true);
                                    }
                                } />
                        </div>
                    </Show>
                    <div class="field">
                        <span class="label">" "</span>
                        <button type="button" class="use" data-testid="model-run" on:click=move |_| state.allocate_model()>"Allocate"</button>
                    </div>
                </div>
                <p class="help" class:field-error=move || state.model_error.with(Option::is_some) data-testid="model-status" aria-live="polite">{status}</p>
                <Show when=move || result.with(Option::is_some)>
                    <p data-testid="model-total">{total}</p>
                    <p class="help" data-testid="model-importance-status">{importance_status}</p>
                    <canvas class="chart" data-testid="model-chart" node_ref=chart_ref
                        aria-label="Least total error against average bits per value, with every uniform choice and the allocation shown"></canvas>
                    <ul class="legend">
                        <li><span class="swatch alloc-curve"></span>"best allocation at each budget"</li>
                        <li><span class="swatch alloc-uniform"></span>"one candidate everywhere"</li>
                        <li><span class="swatch now-ring"></span>"this allocation"</li>
                    </ul>
                    <h3>"Error by layer"</h3>
                    <canvas class="chart chart-short" data-testid="model-layers-chart" node_ref=layers_ref
                        aria-label="Each layer's share of the allocation's total squared error, one bar per block number in the tensor names"
                        on:pointermove=on_layer_move on:pointerleave=move |_| layer_readout.set(None)></canvas>
                    <p class="readout" data-testid="model-layers-readout" aria-live="polite">
                        {move || layer_readout.get().unwrap_or_else(|| "Point at a bar to read its layer's tensors, bits and error. Grey: tensors outside the numbered layers (embeddings, heads).".to_string())}
                    </p>
                    <div class="field-row">
                        <button type="button" class="use" data-testid="model-export-json" on:click=export_json>"Download the assignment (JSON)"</button>
                        <Show when=move || result.with(|r| r.as_ref().is_some_and(|r| !r.tensor_types.is_empty()))>
                            <button type="button" class="use" data-testid="model-export-types" on:click=export_types>"llama.cpp --tensor-type lines"</button>
                        </Show>
                    </div>
                    <div class="field">
                        <label for="model-filter">"Filter tensors by name (* matches anything, e.g. *.attention.*)"</label>
                        <input id="model-filter" type="text" data-testid="model-filter"
                            prop:value=move || filter.get()
                            on:input=move |ev| filter.set(event_target_value(&ev)) />
                    </div>
                    <p class="help" data-testid="model-shown">{shown_count}</p>
                    <div class="table-scroll">
                        <table class="diff" data-testid="model-table">
                            <thead><tr>
                                <th><button type="button" class="sort" data-testid="model-sort-name" on:click=move |_| order.set(Order::Name)>"tensor"</button></th>
                                <th>"candidate"</th>
                                <th class="num"><button type="button" class="sort" data-testid="model-sort-bits" on:click=move |_| order.set(Order::Bits)>"bits"</button></th>
                                <th class="num"><button type="button" class="sort" data-testid="model-sort-mse" on:click=move |_| order.set(Order::Mse)>"MSE"</button></th>
                            </tr></thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                    <details data-testid="model-kept">
                        <summary>{kept_summary}</summary>
                        <ul class="notes">{kept_rows}</ul>
                    </details>
                </Show>
                <details class="model-tensors" data-testid="model-tensors" open>
                    <summary data-testid="model-tensors-summary">{header_summary}</summary>
                    <div class="table-scroll">
                        <table class="diff">
                            <thead><tr>
                                <th>"tensor"</th><th>"shape"</th><th>"dtype"</th><th class="num">"parameters"</th>
                                <th class="num">"range"</th><th class="num">"σ"</th><th class="num" title="the largest |x| over σ: how far into the tails it sits">"max|x| / σ"</th><th>"status"</th>
                            </tr></thead>
                            <tbody>{header_rows}</tbody>
                        </table>
                    </div>
                </details>
            </section>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_globs_and_plain_text_as_a_substring() {
        let n = "encoder.layer.3.attention.self.query.weight";
        assert!(name_matches("", n));
        assert!(name_matches("*.attention.*", n));
        assert!(name_matches("encoder.*.query.weight", n));
        assert!(name_matches("query", n));
        assert!(!name_matches("*.intermediate.*", n));
        assert!(!name_matches("decoder.*", n));
        assert!(!name_matches("*.weight.*", n));
        assert!(name_matches("*", n));
    }
}
