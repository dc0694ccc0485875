//! "A/B": pin the current settings as A, change the knobs (B is always the current view), and
//! see both reconstructions over the data and every metric side by side with the difference.

use leptos::html::Canvas;
use leptos::prelude::*;
use quantscope_core::{Analysis, Granularity, QuantizerConfig};

use super::canvas::{draw_each_frame, fit_canvas};
use crate::charts::ab::{ab_chart, draw_ab};
use crate::format;
use crate::state::{use_app_state, Shared};

/// A one-line description of a configuration.
fn describe(c: &QuantizerConfig) -> String {
    let granularity = match c.granularity {
        Granularity::Tensor => "per tensor".to_string(),
        Granularity::Channel { axis } => format!("per channel (axis {axis})"),
        Granularity::Group { size } => format!("groups of {size}"),
    };
    let calibration = c.calibration.describe();
    let preset = quantscope_core::presets::active(c)
        .map(|p| format!("{p}: "))
        .unwrap_or_default();
    format!(
        "{preset}{} {} bits, {:?}, {granularity}, {calibration}",
        c.format.name(),
        c.bits,
        c.scheme
    )
    .to_lowercase()
}

/// The rows of the table: (test id, label, value of an analysis, significant digits).
type Row = (&'static str, &'static str, fn(&Analysis) -> f64, usize);
const ROWS: [Row; 6] = [
    ("mse", "MSE", |a| a.metrics.mse, 6),
    ("sqnr", "SQNR (dB)", |a| a.metrics.sqnr_db, 6),
    ("max-abs", "max |error|", |a| a.metrics.max_abs_error, 6),
    (
        "clipped",
        "clipped %",
        |a| 100.0 * a.metrics.clipped_fraction,
        4,
    ),
    ("bpv", "bits / value", |a| a.metrics.bits_per_value, 6),
    ("levels", "levels used", |a| a.metrics.levels_used as f64, 6),
];

/// The A/B panel.
#[component]
pub fn AbPanel() -> impl IntoView {
    let state = use_app_state();
    let canvas_ref = NodeRef::<Canvas>::new();
    let pin = move |_| {
        if let (Some(a), Some(d)) = (state.analysis.get_untracked(), state.data.get_untracked()) {
            state.pinned.set(Some((a, d.name.clone())));
        }
    };
    let restore = move |_| {
        if let Some((a, _)) = state.pinned.get_untracked() {
            let c = a.config.clone();
            state.try_config(|x| *x = c);
        }
    };
    // A is comparable while it was made on the data shown now.
    let same_data = move || {
        let name = state.data.with(|d| d.as_ref().map(|d| d.name.clone()));
        state
            .pinned
            .with(|p| p.as_ref().map(|(_, n)| Some(n.clone()) == name))
    };
    let track = move || {
        state.pinned.track();
        state.analysis.track();
        canvas_ref.track();
    };
    let draw = move || {
        let (Some((a, _)), Some(b), Some(canvas)) = (
            state.pinned.get_untracked(),
            state.analysis.get_untracked(),
            canvas_ref.get_untracked(),
        ) else {
            return;
        };
        let (scale, _) = fit_canvas(&canvas);
        if let Err(e) = draw_ab(canvas, &ab_chart(&a, &b), scale) {
            leptos::logging::error!("a/b: {e}");
        }
    };
    draw_each_frame(track, draw);
    let table = move || {
        let (Some((a, _)), Some(b)) = (state.pinned.get(), state.analysis.get()) else {
            return None;
        };
        let (a, b): (Shared<Analysis>, Shared<Analysis>) = (a, b);
        let rows = ROWS
            .iter()
            .map(|&(id, label, value, sig)| {
                let (va, vb) = (value(&a), value(&b));
                let diff = vb - va;
                let diff_text = if diff.is_finite() {
                    format!(
                        "{}{}",
                        if diff > 0.0 { "+" } else { "" },
                        format::number(diff, sig)
                    )
                } else {
                    "—".to_string()
                };
                view! {
                    <tr data-metric=id>
                        <td>{label}</td>
                        <td class="num" data-col="a">{format::number(va, sig)}</td>
                        <td class="num" data-col="b">{format::number(vb, sig)}</td>
                        <td class="num" data-col="diff">{diff_text}</td>
                    </tr>
                }
            })
            .collect_view();
        Some(view! {
            <p class="ab-configs">
                <span class="swatch ab-a"></span>"A: "<span data-testid="ab-a-config">{describe(&a.config)}</span><br />
                <span class="swatch ab-b"></span>"B (now): "<span data-testid="ab-b-config">{describe(&b.config)}</span>
            </p>
            <div class="table-scroll">
                <table class="calibrators" data-testid="ab-table">
                    <thead><tr><th>"metric"</th><th class="num">"A"</th><th class="num">"B"</th><th class="num">"B − A"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        })
    };
    view! {
        <section class="panel order-ab" aria-labelledby="ab-title">
            <h2 id="ab-title">"A/B"</h2>
            <p class="help">"Pin the settings shown now as A, then change any knob: B is always the current view. Both reconstructions are drawn over the data, and every figure is listed with the difference."</p>
            <div class="export-buttons">
                <button data-testid="compare-pin" on:click=pin>"Pin current settings as A"</button>
                <Show when=move || state.pinned.with(Option::is_some)>
                    <button data-testid="compare-restore" on:click=restore>"Go back to A"</button>
                    <button data-testid="compare-unpin" on:click=move |_| state.pinned.set(None)>"Unpin"</button>
                </Show>
            </div>
            <Show when=move || same_data() == Some(false)>
                <p class="help" data-testid="ab-stale">"A was measured on other data; pin again to compare on this one."</p>
            </Show>
            <Show when=move || same_data() == Some(true)>
                <canvas class="chart chart-short" data-testid="ab-chart" node_ref=canvas_ref aria-label="Input histogram with A's reconstructions (vermillion) and B's (blue)"></canvas>
                <p class="help">"Grey: the data; vermillion: A's reconstructed values; blue: B's (the whole tensor for both, counts on a log scale)."</p>
                {table}
            </Show>
        </section>
    }
}
