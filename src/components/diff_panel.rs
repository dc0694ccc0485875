//! "What did this quant do?": the open file (the original checkpoint) against a quantized copy
//! of it (a GGUF or safetensors file): every pair of tensors with the copy's type, bits per value,
//! MSE and SQNR — the figures of `quantscope diff`, computed by the worker that holds the
//! original, one pair in memory at a time.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::format;
use crate::state::{use_app_state, Source, Studied};

/// The comparison panel (shown while a file is open).
#[component]
pub fn DiffPanel() -> impl IntoView {
    let state = use_app_state();
    let file_open = move || state.source.get() == Source::File && state.file.with(Option::is_some);
    let on_input = move |ev: leptos::ev::Event| {
        let input: Option<web_sys::HtmlInputElement> = ev.target().and_then(|t| t.dyn_into().ok());
        let file = input.and_then(|i| i.files()).and_then(|f| f.get(0));
        if let Some(file) = file {
            state.diff_with(file);
        }
    };
    let status = move || {
        match state.diff.get() {
        Studied::Off(_) => "Choose the quantized copy of the open file (a llama.cpp .gguf or a .safetensors): every tensor is paired with its copy by name, or by llama.cpp's names for the llama family, and measured.".to_string(),
        Studied::Waiting(_) => format!(
            "Comparing with {} tensor by tensor…",
            state.diff_name.get().unwrap_or_default()
        ),
        Studied::Ready(t) if t.unmatched_original.is_empty() && t.unmatched_quantized.is_empty() => format!(
            "{} compared; every tensor has its partner.",
            format::plural(t.rows.len(), "pair", "pairs"),
        ),
        Studied::Ready(t) => format!(
            "{} compared; {} of the original's tensors and {} of {}'s have no partner.",
            format::plural(t.rows.len(), "pair", "pairs"),
            t.unmatched_original.len(),
            t.unmatched_quantized.len(),
            state.diff_name.get().unwrap_or_default()
        ),
        Studied::Failed(e) => e,
    }
    };
    let rows = move || {
        state.diff.with(|d| {
            d.result()
                .map(|t| t.rows.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|r| {
                    let (mse, sqnr) = match &r.skipped {
                        Some(_) => ("–".to_string(), "–".to_string()),
                        None => (format::number(r.mse, 6), format::db_cell(r.sqnr_db)),
                    };
                    let bpv = r
                        .bits_per_value
                        .map_or("–".to_string(), |b| format::number(b, 6));
                    let title = r.skipped.clone().unwrap_or_else(|| {
                        if r.permuted {
                            "q/k rows reordered as llama.cpp's converter does".to_string()
                        } else {
                            String::new()
                        }
                    });
                    view! {
                        <tr data-original=r.original.clone() title=title>
                            <td class="name">{r.original.clone()}</td>
                            <td class="name copy">{r.quantized.clone()}</td>
                            <td data-col="type">{r.dtype.clone()}</td>
                            <td class="num" data-col="bpv">{bpv}</td>
                            <td class="num" data-col="mse">{mse}</td>
                            <td class="num" data-col="sqnr">{sqnr}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    let unmatched = move || {
        state
            .diff
            .with(|d| {
                d.result().map(|t| {
                    let mut parts = Vec::new();
                    if !t.unmatched_original.is_empty() {
                        parts.push(format!(
                            "only in the original: {}",
                            t.unmatched_original.join(", ")
                        ));
                    }
                    if !t.unmatched_quantized.is_empty() {
                        parts.push(format!(
                            "only in the copy: {}",
                            t.unmatched_quantized.join(", ")
                        ));
                    }
                    parts.join("; ")
                })
            })
            .unwrap_or_default()
    };
    view! {
        <Show when=file_open>
            <section class="panel order-diff" aria-labelledby="diff-title">
                <h2 id="diff-title">"What did this quant do?"</h2>
                <div class="field">
                    <label for="diff-input">"Quantized copy of the open file"</label>
                    <input
                        id="diff-input"
                        type="file"
                        data-testid="diff-input"
                        accept=".gguf,.safetensors"
                        on:change=on_input
                    />
                </div>
                <p class="help" data-testid="diff-status">{status}</p>
                <div class="table-scroll">
                    <table class="diff" data-testid="diff-table">
                        <thead>
                            <tr>
                                <th>"original"</th>
                                <th class="copy">"copy"</th>
                                <th>"type"</th>
                                <th class="num" title="bits per value, the blocks' scales included">"bits"</th>
                                <th class="num">"MSE"</th>
                                <th class="num">"SQNR dB"</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
                <p class="help" data-testid="diff-unmatched">{unmatched}</p>
            </section>
        </Show>
    }
}
