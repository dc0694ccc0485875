//! Where the numbers come from: synthetic distributions, shipped sample weights, or the user's file
//! (read in the page; nothing is uploaded).

use leptos::prelude::*;
use leptos::task::spawn_local;
use quantscope_core::synth::Distribution;

use super::fields::{parse, Edit, NumberField, SelectField};
use crate::engine::protocol::FileInfo;
use crate::format;
use crate::loader::MAX_FILE_BYTES;
use crate::state::{use_app_state, AppState, Shared, Source, MAX_N, MIN_N};
use quantscope_core::io::FileKind;

/// Sample weight tensors shipped in `assets/samples` (see the README for their origin and licence).
pub const SAMPLES: [(&str, &str); 2] = [
    (
        "minilm-l0-ffn-output.npy",
        "MiniLM-L6 layer 0 FFN output projection (384 × 1536) — strong outliers",
    ),
    (
        "minilm-position-embeddings.npy",
        "MiniLM-L6 position embeddings (512 × 384) — row ranges differ 30×",
    ),
];

/// The data panel.
#[component]
pub fn DataSource() -> impl IntoView {
    let state = use_app_state();
    let synth = state.synth;
    let dist_options = Signal::derive(|| {
        Distribution::NAMES
            .iter()
            .map(|n| (n.to_string(), Distribution::label(n).to_string()))
            .collect::<Vec<_>>()
    });
    let dist_value = Signal::derive(move || synth.with(|s| s.dist.name().to_string()));
    let on_dist = Callback::new(move |name: String| {
        if let Some(d) = Distribution::from_name(&name) {
            state.try_synth(|s| s.dist = d);
        }
    });
    // Said when a new N made the columns change (they must divide N).
    let cols_note = RwSignal::new(None::<String>);
    let n_value = Signal::derive(move || synth.with(|s| s.n.to_string()));
    let on_n = Callback::new(
        move |(text, edit): (String, Edit)| match parse::<usize>(&text) {
            Some(n) if (MIN_N..=MAX_N).contains(&n) => state.try_synth(|s| {
                // Keep a matrix: the largest column count up to the one set that divides N.
                let cols = crate::engine::protocol::fitting_cols(n, s.cols);
                if cols != s.cols {
                    cols_note.set(Some(format!(
                        "{} columns do not divide N = {}: the data has {} columns now. ",
                        format::count(s.cols),
                        format::count(n),
                        format::count(cols)
                    )));
                }
                s.n = n;
                s.cols = cols;
            }),
            _ if edit == Edit::Commit => state.report(format!(
                "N must be a whole number from {MIN_N} to {MAX_N}, got \"{text}\""
            )),
            _ => {}
        },
    );
    let cols_value = Signal::derive(move || synth.with(|s| s.cols.to_string()));
    let on_cols = Callback::new(
        move |(text, edit): (String, Edit)| match parse::<usize>(&text) {
            Some(c) if c >= 1 && synth.with_untracked(|s| s.n % c == 0) => {
                cols_note.set(None);
                state.try_synth(|s| s.cols = c)
            }
            _ if edit == Edit::Commit => state.report(format!(
                "columns must be a whole number that divides N = {}, got \"{text}\"",
                synth.with_untracked(|s| s.n)
            )),
            _ => {}
        },
    );
    let spread_value = Signal::derive(move || synth.with(|s| format::number(s.row_spread, 4)));
    let on_spread = Callback::new(
        move |(text, edit): (String, Edit)| match parse::<f64>(&text) {
            Some(v) if (0.0..=quantscope_core::synth::MAX_ROW_SPREAD).contains(&v) => {
                state.try_synth(|s| s.row_spread = v)
            }
            _ if edit == Edit::Commit => state.report(format!(
                "the row scale spread σ must be a number from 0 to 4, got \"{text}\""
            )),
            _ => {}
        },
    );
    let shape_note = move || {
        synth.with(|s| {
            let shape = s.shape();
            if shape.len() == 2 {
                format!(
                    "A {} × {} matrix: {} rows (channels along axis 0) of {} values each.",
                    format::count(shape[0]),
                    format::count(shape[1]),
                    format::count(shape[0]),
                    format::count(shape[1])
                )
            } else {
                "One row of N values (columns = 1).".to_string()
            }
        })
    };
    // Which source's settings are shown: follows the data loaded, and the two tabs.
    let tab = RwSignal::new(state.source.get_untracked());
    Effect::new(move |_| tab.set(state.source.get()));
    let to_synthetic = move |_| {
        tab.set(Source::Synthetic);
        if state.source.get_untracked() != Source::Synthetic {
            state.try_synth(|_| {});
        }
    };
    let seed_value = Signal::derive(move || synth.with(|s| s.seed.to_string()));
    let on_seed = Callback::new(
        move |(text, edit): (String, Edit)| match parse::<u64>(&text) {
            Some(seed) => state.try_synth(|s| s.seed = seed),
            None if edit == Edit::Commit => state.report(format!(
                "the seed must be a whole number ≥ 0, got \"{text}\""
            )),
            None => {}
        },
    );

    view! {
        <section class="panel order-data" aria-labelledby="data-title">
            <h2 id="data-title">"Data"</h2>
            <p class="help">"Everything is computed in this page. Files you open never leave your machine."</p>
            <div class="tabs" role="tablist" aria-label="Source of the data">
                <button role="tab" data-testid="source-synthetic" aria-selected=move || (tab.get() == Source::Synthetic).to_string() on:click=to_synthetic>
                    "Synthetic"
                </button>
                <button role="tab" data-testid="source-file" aria-selected=move || (tab.get() == Source::File).to_string() on:click=move |_| tab.set(Source::File)>
                    "Sample or your file"
                </button>
            </div>
            <div class="tab-panel" class:hidden=move || tab.get() != Source::Synthetic>
                <SelectField
                    label="Synthetic distribution"
                    testid="dist-select"
                    options=dist_options
                    value=dist_value
                    on_select=on_dist
                />
                <DistParams state=state />
                <div class="row">
                    <NumberField label="Values (N)" testid="synth-n" value=n_value on_edit=on_n min=MIN_N.to_string() max=MAX_N.to_string() step="1000" commit_unchanged=true />
                    <NumberField label="Seed" testid="synth-seed" value=seed_value on_edit=on_seed min="0" step="1" commit_unchanged=true />
                </div>
                <div class="row">
                    <NumberField label="Columns" testid="synth-cols" value=cols_value on_edit=on_cols min="1" step="1" />
                    <NumberField label="Row scale spread σ" testid="synth-row-spread" value=spread_value on_edit=on_spread min="0" max="4" step="0.1" />
                </div>
                <p class="help" data-testid="synth-shape">{move || cols_note.get()}{shape_note}" With σ > 0 each row is scaled by its own factor e^(σz), as the rows of trained weight matrices are; per-channel scales then pay off."</p>
            </div>
            <div class="tab-panel" class:hidden=move || tab.get() != Source::File>
                <SampleSelect state=state />
                <FilePicker state=state />
                <TensorPicker state=state />
            </div>
            <DataSummary state=state />
        </section>
    }
}

/// Parameters of the chosen distribution (only those it has).
#[component]
fn DistParams(state: AppState) -> impl IntoView {
    let synth = state.synth;
    let field = move |label: &'static str,
                      testid: &'static str,
                      get: fn(&Distribution) -> Option<f64>,
                      set: fn(&mut Distribution, f64)| {
        let value = Signal::derive(move || {
            synth.with(|s| {
                get(&s.dist)
                    .map(|v| format::number(v, 6))
                    .unwrap_or_default()
            })
        });
        let on_edit =
            Callback::new(
                move |(text, edit): (String, Edit)| match parse::<f64>(&text) {
                    Some(v) => state.try_synth(|s| set(&mut s.dist, v)),
                    None if edit == Edit::Commit => {
                        state.report(format!("{label} must be a number, got \"{text}\""))
                    }
                    None => {}
                },
            );
        view! { <NumberField label=label testid=testid value=value on_edit=on_edit /> }
    };
    move || {
        match synth.with(|s| s.dist) {
        Distribution::StudentT { .. } => field(
            "Degrees of freedom ν (smaller = heavier tails)",
            "synth-nu",
            |d| if let Distribution::StudentT { nu } = d { Some(*nu) } else { None },
            |d, v| *d = Distribution::StudentT { nu: v },
        )
        .into_any(),
        Distribution::LogNormal { .. } => field(
            "Log-space σ",
            "synth-sigma",
            |d| if let Distribution::LogNormal { sigma } = d { Some(*sigma) } else { None },
            |d, v| *d = Distribution::LogNormal { sigma: v },
        )
        .into_any(),
        Distribution::Bimodal { .. } => field(
            "Distance between the modes",
            "synth-separation",
            |d| if let Distribution::Bimodal { separation } = d { Some(*separation) } else { None },
            |d, v| *d = Distribution::Bimodal { separation: v },
        )
        .into_any(),
        Distribution::Outliers { .. } => view! {
            <div class="row">
                {field(
                    "Outlier count",
                    "synth-outlier-count",
                    |d| if let Distribution::Outliers { count, .. } = d { Some(*count as f64) } else { None },
                    |d, v| {
                        if let Distribution::Outliers { magnitude, .. } = *d {
                            *d = Distribution::Outliers { count: v.max(0.0) as usize, magnitude };
                        }
                    },
                )}
                {field(
                    "Outlier magnitude (σ)",
                    "synth-outlier-magnitude",
                    |d| if let Distribution::Outliers { magnitude, .. } = d { Some(*magnitude) } else { None },
                    |d, v| {
                        if let Distribution::Outliers { count, .. } = *d {
                            *d = Distribution::Outliers { count, magnitude: v };
                        }
                    },
                )}
            </div>
        }
        .into_any(),
        _ => ().into_any(),
    }
    }
}

/// The bytes of a JS promise that resolves to an `ArrayBuffer`.
async fn array_buffer_bytes(promise: js_sys::Promise) -> Result<Vec<u8>, String> {
    let buffer = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Hands a user's file to the compute workers, which read it (the page never does). A file too
/// large to read whole is refused here, before any work.
fn read_file(state: AppState, file: web_sys::File) {
    let name = file.name();
    // Safetensors and GGUF files are read header first, then one tensor: any size opens.
    let header_first = matches!(
        FileKind::from_file_name(&name),
        Some(FileKind::Safetensors | FileKind::Gguf)
    );
    if !header_first && file.size() > MAX_FILE_BYTES {
        state.report(format!(
            "{name}: {} MB is more than this page reads at once (1 GB); use the quantscope CLI for it",
            (file.size() / 1e6).round()
        ));
        return;
    }
    state.open_file(file, name);
}

/// Hands several files chosen together to the workers as one checkpoint: a sharded safetensors
/// checkpoint's shards, with its `.index.json` (which names the checkpoint) or without.
fn read_files(state: AppState, mut files: Vec<web_sys::File>) {
    if let [only] = files.as_slice() {
        if only.name().to_ascii_lowercase().ends_with(".index.json") {
            state.report(format!(
                "{}: an index only names the shards; choose it together with its .safetensors shards (the page reads only the files you choose)",
                only.name()
            ));
            return;
        }
    }
    if files.len() == 1 {
        if let Some(file) = files.pop() {
            read_file(state, file);
        }
        return;
    }
    files.sort_by_key(web_sys::File::name);
    let lower: Vec<String> = files
        .iter()
        .map(|f| f.name().to_ascii_lowercase())
        .collect();
    let fits = lower
        .iter()
        .all(|n| n.ends_with(".safetensors") || n.ends_with(".index.json"));
    if !fits {
        state.report(
            "Several files open together only as one sharded checkpoint: its .safetensors shards, with its .safetensors.index.json. Otherwise choose one file."
                .to_string(),
        );
        return;
    }
    let name = match lower.iter().position(|n| n.ends_with(".index.json")) {
        Some(i) => files[i].name(),
        None => format!("{} + {} more", files[0].name(), files.len() - 1),
    };
    state.open_files(files, name);
}

/// A shipped sample file's bytes, fetched from this page's own origin.
pub async fn fetch_sample(file: &str) -> Result<Vec<u8>, String> {
    let url = format!("/assets/samples/{file}");
    let window = web_sys::window().ok_or("no window")?;
    let resp = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(&url))
        .await
        .map_err(|e| format!("{e:?}"))?;
    let resp: web_sys::Response =
        wasm_bindgen::JsCast::dyn_into(resp).map_err(|_| "not a response")?;
    if !resp.ok() {
        return Err(format!("HTTP {}", resp.status()));
    }
    array_buffer_bytes(resp.array_buffer().map_err(|e| format!("{e:?}"))?).await
}

/// Shipped sample weights, fetched from this page's own origin.
#[component]
fn SampleSelect(state: AppState) -> impl IntoView {
    let on_change = move |ev: leptos::ev::Event| {
        super::fields::touch("sample-select");
        let file = event_target_value(&ev);
        if file.is_empty() {
            return;
        }
        spawn_local(async move {
            let bytes = fetch_sample(&file).await;
            match bytes {
                Ok(bytes) => state.open_bytes(file, bytes),
                Err(e) => state.report(format!("{file}: could not be loaded ({e})")),
            }
        });
    };
    view! {
        <div class="field">
            <label for="sample-select">"Sample weights (real model tensors)"</label>
            <select id="sample-select" data-testid="sample-select" on:change=on_change>
                <option value="">"— choose a sample —"</option>
                {SAMPLES.iter().map(|(file, label)| view! { <option value=*file>{*label}</option> }).collect_view()}
            </select>
            <super::fields::FieldError testid="sample-select" />
        </div>
    }
}

/// The file input and its drop zone.
#[component]
fn FilePicker(state: AppState) -> impl IntoView {
    let dragging = RwSignal::new(false);
    let on_input = move |ev: leptos::ev::Event| {
        super::fields::touch("file-input");
        let input: web_sys::HtmlInputElement = event_target(&ev);
        if let Some(files) = input.files() {
            let files: Vec<web_sys::File> =
                (0..files.length()).filter_map(|i| files.get(i)).collect();
            if !files.is_empty() {
                read_files(state, files);
            }
        }
        // Allow choosing the same file again.
        input.set_value("");
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        super::fields::touch("file-input");
        ev.prevent_default();
        dragging.set(false);
        if let Some(files) = ev.data_transfer().and_then(|d| d.files()) {
            let files: Vec<web_sys::File> =
                (0..files.length()).filter_map(|i| files.get(i)).collect();
            if !files.is_empty() {
                read_files(state, files);
            }
        }
    };
    view! {
        <div
            class="drop-zone"
            class:dragging=move || dragging.get()
            on:dragover=move |ev: leptos::ev::DragEvent| {
                ev.prevent_default();
                dragging.set(true);
            }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop
        >
            <label for="file-input">"Your tensor file"</label>
            <Show when=move || state.source.get() == Source::File>
                <p class="file-open" data-testid="file-open">
                    {move || state.data.with(|d| d.as_ref().map(|d| format!("Open: {}", d.name)).unwrap_or_default())}
                </p>
            </Show>
            <input
                id="file-input"
                type="file"
                data-testid="file-input"
                accept=".npy,.safetensors,.gguf,.csv,.txt,.json"
                multiple
                on:change=on_input
            />
            <super::fields::FieldError testid="file-input" />
            <p class="help">".npy (f16/f32/f64), .safetensors (F8/F16/BF16/F32/F64), .gguf (llama.cpp: F32/F16/BF16, Q4_0…Q8_0, Q2_K…Q6_K, IQ4_NL/XS, MXFP4 — dequantized as llama.cpp does) or .csv/.txt numbers — choose or drop it here. Safetensors and GGUF files are read header first, then only the tensor you pick, so any size opens. A sharded checkpoint: choose its shards together with its .safetensors.index.json."</p>
        </div>
    }
}

/// The tensor list of an opened safetensors file.
#[component]
fn TensorPicker(state: AppState) -> impl IntoView {
    let file = state.file;
    let on_change = move |ev: leptos::ev::Event| {
        super::fields::touch("tensor-select");
        let name = event_target_value(&ev);
        if file.with_untracked(Option::is_some) {
            state.open_tensor(name);
        }
    };
    let show = move || {
        file.with(|f| {
            f.as_ref().is_some_and(|f| {
                f.tensors.len() > 1
                    || matches!(
                        f.kind,
                        quantscope_core::io::FileKind::Safetensors
                            | quantscope_core::io::FileKind::Gguf
                    )
            })
        })
    };
    // A GGUF file's own description: architecture, llama.cpp's file type, quantization version.
    // A sharded checkpoint's shards, and the ones set aside with why.
    let description = move || {
        file.get()
            .map(|f: Shared<FileInfo>| {
                let mut out = f.description.clone();
                if f.shards > 0 {
                    out.push((
                        "shards".into(),
                        format!("{} of {} read", f.shards_read(), f.shards),
                    ));
                }
                out.extend(
                    f.set_aside
                        .iter()
                        .map(|(file, why)| ("set aside".to_string(), format!("{file}: {why}"))),
                );
                out
            })
            .unwrap_or_default()
    };
    view! {
        <Show when=show>
            <div class="field">
                <label for="tensor-select">{move || format!("Tensor in {}", file.with(|f| f.as_ref().map(|f| f.name.clone()).unwrap_or_default()))}</label>
                <select id="tensor-select" data-testid="tensor-select" on:change=on_change prop:value=move || state.file_tensor.get()>
                    {move || {
                        let current = state.file_tensor.get();
                        file.get()
                            .map(|f: Shared<FileInfo>| {
                                f.tensors
                                    .iter()
                                    .map(|t| {
                                        let label = format!("{} — {} [{}]", t.name, t.dtype, format::shape(&t.shape));
                                        let selected = t.name == current;
                                        view! {
                                            <option value=t.name.clone() disabled=!t.is_float selected=selected>
                                                {label}
                                            </option>
                                        }
                                    })
                                    .collect_view()
                            })
                    }}
                </select>
                <super::fields::FieldError testid="tensor-select" />
                <Show when=move || !description().is_empty()>
                    <dl class="summary file-description" data-testid="file-description">
                        {move || description()
                            .into_iter()
                            .map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> })
                            .collect_view()}
                    </dl>
                </Show>
            </div>
        </Show>
    }
}

/// Name, shape and statistics of the current data.
#[component]
fn DataSummary(state: AppState) -> impl IntoView {
    let info = move || {
        state.data.get().map(|d| {
            let s = d.summary;
            let has_nonfinite = s.nan_count + s.inf_count > 0;
            let source = match state.source.get() {
                Source::Synthetic => "synthetic",
                Source::File => "file",
            };
            view! {
                <dl class="summary" data-testid="data-summary">
                    <dt>"Current data"</dt>
                    <dd class="data-name" data-testid="data-name">{d.name.clone()}</dd>
                    <dt>"Source"</dt><dd>{source}</dd>
                    <dt>"Shape"</dt><dd data-testid="data-shape">{format::shape(&d.shape)}</dd>
                    <dt>"Values"</dt><dd>{format::count(s.n)}</dd>
                    <dt>"Range"</dt><dd>{format!("{} … {}", format::number(f64::from(s.min), 4), format::number(f64::from(s.max), 4))}</dd>
                    <dt>"Mean ± std"</dt><dd>{format!("{} ± {}", format::number(s.mean, 4), format::number(s.std, 4))}</dd>
                    <dt>"NaN / ±Inf"</dt>
                    <dd data-testid="nonfinite-count" class:warn=has_nonfinite>
                        {format!("{} / {}", s.nan_count, s.inf_count)}
                        {has_nonfinite.then_some(" (left out of calibration and metrics)")}
                    </dd>
                </dl>
            }
        })
    };
    view! { {info} }
}
