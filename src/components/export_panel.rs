//! The Export panel: the views' figures as JSON and CSV, and the histogram as PNG, downloaded
//! from the page (made here, from what the views show; nothing is sent anywhere).

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

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
const CHARTS: [(&str, &str); 7] = [
    ("histogram", "histogram"),
    ("transfer", "transfer function"),
    ("calibrator-chart", "calibrators compared"),
    ("sweep-bits", "error against bit width"),
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
        let (calibrators, bits, formats) = (
            state.calibrator_rows.get_untracked(),
            state.bit_rows.get_untracked(),
            state.preset_rows.get_untracked(),
        );
        let report = Report {
            data: &data,
            analysis: &analysis,
            calibrators: calibrators.as_ref(),
            bits: bits.as_ref(),
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
        </section>
    }
}
