//! "Formats side by side": every preset that fits the data, and the user's own settings, ranked
//! by bits per value with MSE and SQNR; the same as a chart of SQNR against bits per value with
//! the Pareto front.

use leptos::html::Canvas;
use leptos::prelude::*;
use quantscope_core::presets::{apply, rank, Comparison};

use super::canvas::{draw_each_frame, fit_canvas};
use super::job_progress::TableProgress;
use crate::charts::pareto::{draw_pareto, pareto_chart, YOURS};
use crate::engine::client::Table;
use crate::format;
use crate::state::{use_app_state, Shared};

/// The comparison panel.
#[component]
pub fn FormatsTable() -> impl IntoView {
    let state = use_app_state();
    // The user's own row is the Error panel's analysis itself: the same numbers, to the digit.
    let yours = Memo::new(move |_| {
        let a = state.analysis.get()?;
        Some(Comparison {
            name: YOURS.to_string(),
            config: a.config.clone(),
            bits_per_value: a.metrics.bits_per_value,
            mse: a.metrics.mse,
            sqnr_db: a.metrics.sqnr_db,
            pareto: false,
        })
    });
    let rows = Memo::new(move |_| {
        let mut rows: Vec<Comparison> = state
            .preset_rows
            .with(|r| r.as_ref().map(|r| r.rows.clone()))
            .unwrap_or_default();
        rows.extend(yours.get());
        rank(&mut rows);
        Shared::new(rows)
    });

    let canvas_ref = NodeRef::<Canvas>::new();
    let points = StoredValue::new(Vec::<crate::charts::pareto::PointAt>::new());
    let hovered = RwSignal::new(None::<String>);
    let track = move || {
        rows.track();
        canvas_ref.track();
    };
    let draw = move || {
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        let (scale, _) = fit_canvas(&canvas);
        match draw_pareto(canvas, &pareto_chart(&rows.get_untracked()), scale) {
            Ok(p) => points.set_value(p),
            Err(e) => leptos::logging::error!("pareto: {e}"),
        }
    };
    // Hovering a point names it (most points off the front carry no label).
    let on_move = move |ev: leptos::ev::PointerEvent| {
        let (x, y) = (f64::from(ev.offset_x()), f64::from(ev.offset_y()));
        let nearest = points.with_value(|ps| {
            ps.iter()
                .map(|p| ((p.x - x).hypot(p.y - y), p.text.clone()))
                .filter(|(d, _)| *d <= 14.0)
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, t)| t)
        });
        hovered.set(nearest);
    };
    draw_each_frame(track, draw);

    let apply = move |name: String| {
        if let Some(p) = apply(&name, &state.config.get_untracked()) {
            state.try_config(|c| *c = p);
            state.display_group.set(0);
        }
    };
    // Keyed rows: a row whose figures did not change keeps its DOM while other rows arrive, so a
    // "use" click is never lost to a re-render of the whole table.
    let row_view = move |r: Comparison| {
        let name = r.name.clone();
        let is_yours = r.name == YOURS;
        let class = match (is_yours, r.pareto) {
            (true, _) => "yours",
            (false, true) => "front",
            _ => "",
        };
        let sqnr = if r.sqnr_db.is_finite() {
            // The Error panel's digits, so "your settings" reads exactly as it does.
            format::number(r.sqnr_db, 5)
        } else {
            "exact".to_string()
        };
        view! {
            <tr class=class data-testid="format-row" data-name=name.clone()>
                <td class="name">
                    {r.name.clone()}
                    {r.pareto.then_some(view! { <span class="star" title="on the Pareto front">" ★"</span> })}
                </td>
                <td class="num" data-testid="format-bpv">{format::number(r.bits_per_value, 4)}</td>
                <td class="num" data-testid="format-sqnr">{sqnr}</td>
                <td class="num mse" data-testid="format-mse">{format::number(r.mse, 6)}</td>
                <td>
                    {(!is_yours).then(|| {
                        let n = name.clone();
                        view! {
                            <button class="use" on:click=move |_| apply(n.clone()) aria-label=format!("use {name}")>"use"</button>
                        }
                    })}
                </td>
            </tr>
        }
    };
    let each = move || rows.get().iter().cloned().collect::<Vec<_>>();
    let key = |r: &Comparison| {
        (
            r.name.clone(),
            r.bits_per_value.to_bits(),
            r.sqnr_db.to_bits(),
            r.mse.to_bits(),
            r.pareto,
        )
    };
    let body = move || view! { <For each=each key=key children=row_view /> };
    let note = move || {
        let total = state.data.with(|d| d.as_ref().map_or(0, |d| d.len()));
        let (done, expected) = state
            .preset_rows
            .with(|r| r.as_ref().map_or((0, 0), |r| (r.rows.len(), r.expected)));
        if done < expected {
            format!(
                "Measuring every preset on all {} values: {done} of {expected} done.",
                format::count(total)
            )
        } else {
            format!(
                "Every row measured on all {} values, as the Error panel is.",
                format::count(total)
            )
        }
    };
    view! {
        <section class="panel order-formats" aria-labelledby="formats-title">
            <h2 id="formats-title">"Formats side by side"</h2>
            <p class="help">
                "Each row quantizes the current data with one format that fits it. ★ marks the Pareto front: no other format is both smaller and more accurate."
            </p>
            <canvas
                class="chart chart-short"
                data-testid="pareto-chart"
                node_ref=canvas_ref
                aria-label="SQNR against bits per value for every format, Pareto front joined"
                on:pointermove=on_move
                on:pointerleave=move |_| hovered.set(None)
            ></canvas>
            <p class="readout" data-testid="pareto-readout" aria-live="polite">
                {move || hovered.get().unwrap_or_else(|| "Point at a dot to name it; the table lists them all.".to_string())}
            </p>
            <div class="table-scroll">
                <table class="formats" data-testid="formats-table">
                    <thead>
                        <tr><th>"format"</th><th class="num">"bits / value"</th><th class="num">"SQNR (dB)"</th><th class="num mse">"MSE"</th><th></th></tr>
                    </thead>
                    <tbody>{body}</tbody>
                </table>
            </div>
            <p class="help" data-testid="formats-note">{note}<span class="narrow-only">" (MSE is in the Error panel; the table shows SQNR on narrow screens.)"</span></p>
            <TableProgress table=Table::Formats testid="formats-progress" />
        </section>
    }
}
