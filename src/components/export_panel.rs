//! The Export panel: the views' figures as JSON and CSV, and the histogram as PNG, downloaded
//! from the page (made here, from what the views show; nothing is sent anywhere).

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use crate::engine::protocol::ExportKind;
use crate::export::Report;
use crate::state::use_app_state;

/// Makes the browser download `href` as `name`.
fn click_link(href: &str, name: &str) -> Result<(), JsValue> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    a.set_href(href);
    a.set_download(name);
    a.click();
    Ok(())
}

/// Downloads `text` as a file `name` of type `mime`.
fn download_text(name: &str, mime: &str, text: &str) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let done = click_link(&url, name);
    web_sys::Url::revoke_object_url(&url)?;
    done
}

/// Downloads `bytes` as a file `name` (a binary download: `.npy`, `.safetensors`).
pub fn download_bytes(name: &str, bytes: &[u8]) -> Result<(), String> {
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/octet-stream");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| format!("{e:?}"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))?;
    let done = click_link(&url, name);
    // The download has its own reference to the blob; revoking later frees it after it starts.
    let later = url.clone();
    leptos::prelude::set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&later);
        },
        std::time::Duration::from_secs(30),
    );
    done.map_err(|e| format!("{e:?}"))
}

/// Downloads the canvas of test id `testid` as a PNG.
fn download_canvas(testid: &str, name: &str) -> Result<(), JsValue> {
    let canvas: web_sys::HtmlCanvasElement = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| {
            d.query_selector(&format!("canvas[data-testid=\"{testid}\"]"))
                .ok()
                .flatten()
        })
        .ok_or("no such chart")?
        .dyn_into()?;
    click_link(&canvas.to_data_url()?, name)
}

/// The charts a PNG can be made of: (canvas test id, label). Those a setting hides (the
/// vector view, the bit-width sweep for non-integer formats, A/B before a pin) say so when asked.
const CHARTS: [(&str, &str); 11] = [
    ("histogram", "histogram"),
    ("transfer", "transfer function"),
    ("calibrator-chart", "calibrators compared"),
    ("sweep-clip", "error against the clipping range"),
    ("sweep-bits", "error against bit width"),
    ("channel-ranges", "channel ranges"),
    ("sweep-groups", "error against group size"),
    ("dynamic-static", "dynamic vs static"),
    ("ab-chart", "A/B"),
    ("pareto-chart", "formats side by side"),
    ("voronoi", "2-D codebook"),
];

/// The panel.
#[component]
pub fn ExportPanel() -> impl IntoView {
    let state = use_app_state();
    let with_report = move |f: &dyn Fn(&Report) -> Result<(), JsValue>| {
        let (Some(data), Some(analysis)) =
            (state.data.get_untracked(), state.analysis.get_untracked())
        else {
            return;
        };
        let (calibrators, bits, clips, groups, formats) = (
            state.calibrator_rows.get_untracked(),
            state.bit_rows.get_untracked(),
            state.clip_rows.get_untracked(),
            state.group_rows.get_untracked(),
            state.preset_rows.get_untracked(),
        );
        let report = Report {
            data: &data,
            analysis: &analysis,
            calibrators: calibrators.as_ref(),
            bits: bits.as_ref(),
            clips: clips.as_ref(),
            groups: groups.as_ref(),
            formats: formats.as_ref(),
        };
        if let Err(e) = f(&report) {
            state.report(format!("the download failed: {e:?}"));
        }
    };
    let json =
        move |_| with_report(&|r| download_text("quantscope.json", "application/json", &r.json()));
    let csv = move |_| with_report(&|r| download_text("quantscope.csv", "text/csv", &r.csv()));
    let chart = RwSignal::new("histogram".to_string());
    let png = move |_| {
        let id = chart.get_untracked();
        if let Err(e) = download_canvas(&id, &format!("quantscope-{id}.png")) {
            state.report(format!(
                "the download failed ({e:?}): is that chart on the page for these settings?"
            ));
        }
    };
    let busy = move || state.exporting.with(Option::is_some);
    let status = move || {
        state.exporting.get().map(|(k, _)| {
            let n = state.data.with(|d| d.as_ref().map_or(0, |d| d.len()));
            format!(
                "Writing {} of {} values…",
                match k {
                    ExportKind::Dequantized => "the dequantized values",
                    ExportKind::Codes => "the codes",
                    ExportKind::Safetensors => "codes, scales and zero-points",
                },
                crate::format::count(n)
            )
        })
    };
    view! {
        <section class="panel order-export" aria-labelledby="export-title">
            <h2 id="export-title">"Export"</h2>
            <p class="help">"The figures of every view for the current data and settings (the data itself stays here), or a chart as an image. The page's link holds the settings: copy it to share the view."</p>
            <div class="export-buttons">
                <button data-testid="export-json" on:click=json>"Figures (JSON)"</button>
                <button data-testid="export-csv" on:click=csv>"Figures (CSV)"</button>
                <label class="inline-select">
                    "Chart "
                    <select data-testid="export-png-chart" on:change=move |ev| chart.set(event_target_value(&ev))>
                        {CHARTS.iter().map(|(id, label)| view! { <option value=*id>{*label}</option> }).collect_view()}
                    </select>
                </label>
                <button data-testid="export-png" on:click=png>"Chart (PNG)"</button>
            </div>
            <h3>"The quantized tensor"</h3>
            <p class="help">"Every value under the current settings, written by the compute worker: the dequantized values and the integer codes as NumPy files of the data's shape, or the codes with their scales and zero-points (and the settings in its metadata) as one safetensors file."</p>
            <div class="export-buttons">
                <button data-testid="export-npy" on:click=move |_| state.export_tensor(ExportKind::Dequantized) disabled=busy>"Dequantized (.npy)"</button>
                <button data-testid="export-npy-codes" on:click=move |_| state.export_tensor(ExportKind::Codes) disabled=busy>"Codes (.npy)"</button>
                <button data-testid="export-safetensors" on:click=move |_| state.export_tensor(ExportKind::Safetensors) disabled=busy>"Codes + scales (.safetensors)"</button>
            </div>
            <p class="help" data-testid="export-status" aria-live="polite">{status}</p>
            <Show when=move || state.export_error.with(Option::is_some)>
                <p class="field-error" data-testid="export-error" role="alert">{move || state.export_error.get()}</p>
            </Show>
        </section>
    }
}
