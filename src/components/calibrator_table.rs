//! "Calibrators compared": every calibration method under the current settings, each clipping
//! range drawn on the input histogram in its own colour, and a table of what each one costs.

use leptos::html::Canvas;
use leptos::prelude::*;

use super::canvas::{draw_each_frame, fit_canvas};
use super::job_progress::TableProgress;
use crate::charts::calibrators::{calibrator_chart, draw_calibrators};
use crate::charts::PixelMap;
use crate::engine::client::Table;
use crate::format;
use crate::state::{use_app_state, CalibratorRow};

/// What each method's key stands for (the core's short label).
pub fn label(key: &str) -> &'static str {
    quantscope_core::Calibration::method_short_label(key)
}

/// The calibrator panel (formats with a clipping range only).
#[component]
pub fn CalibratorTable() -> impl IntoView {
    let state = use_app_state();
    let canvas_ref = NodeRef::<Canvas>::new();
    let log_y = RwSignal::new(true);
    let map = StoredValue::new(None::<PixelMap>);
    let readout = RwSignal::new(None::<String>);
    let rows = Memo::new(move |_| state.calibrator_rows.get());
    // Index of each key in the palette (the core's order).
    let index_of = move |key: &str| {
        rows.with(|r| {
            r.as_ref()
                .and_then(|r| r.keys.iter().position(|k| *k == key))
                .unwrap_or(0)
        })
    };
    let track = move || {
        rows.track();
        log_y.track();
        state.analysis.track();
        canvas_ref.track();
    };
    let draw = move || {
        let (Some(a), Some(canvas)) = (state.analysis.get_untracked(), canvas_ref.get_untracked())
        else {
            return;
        };
        let ranges: Vec<(usize, (f32, f32))> = rows.with_untracked(|r| {
            r.as_ref().map_or_else(Vec::new, |r| {
                r.rows
                    .iter()
                    .map(|row| {
                        let i = r.keys.iter().position(|k| *k == row.key).unwrap_or(0);
                        (i, row.clip)
                    })
                    .collect()
            })
        });
        let (scale, _) = fit_canvas(&canvas);
        match draw_calibrators(
            canvas,
            &calibrator_chart(&a, &ranges, log_y.get_untracked()),
            scale,
        ) {
            Ok(m) => map.set_value(Some(m)),
            Err(e) => leptos::logging::error!("calibrators: {e}"),
        }
    };
    draw_each_frame(track, draw);

    // Pointing at a value says which methods keep it and which clip it.
    let on_move = move |ev: leptos::ev::PointerEvent| {
        let Some(m) = map.get_value() else {
            return;
        };
        let x = m.value_at(f64::from(ev.offset_x()));
        let text = rows.with_untracked(|r| {
            let r = r.as_ref()?;
            let (keep, clip): (Vec<&CalibratorRow>, Vec<&CalibratorRow>) = r
                .rows
                .iter()
                .partition(|row| x >= row.clip.0 && x <= row.clip.1);
            let names = |v: Vec<&CalibratorRow>| {
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.iter()
                        .map(|r| label(&r.key))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            Some(format!(
                "value {}: inside the range of {}; clipped by {}.",
                format::number(f64::from(x), 5),
                names(keep),
                names(clip)
            ))
        });
        readout.set(text);
    };

    let adopt = move |row: CalibratorRow| {
        state.try_config(|c| c.calibration = row.config.calibration);
    };
    let body = move || {
        let Some(r) = rows.get() else {
            return Vec::new();
        };
        let best = r.best().map(str::to_string);
        let current = state.config.with(|c| c.calibration);
        let mut ordered: Vec<CalibratorRow> = r.rows.clone();
        ordered.sort_by_key(|row| r.keys.iter().position(|k| *k == row.key));
        let mut views: Vec<AnyView> = ordered
            .into_iter()
            .map(|row| {
                let key = row.key.clone();
                let is_best = best.as_deref() == Some(key.as_str());
                let in_use = row.config.calibration == current;
                let class = match (is_best, in_use) {
                    (true, true) => "best yours",
                    (true, false) => "best",
                    (false, true) => "yours",
                    _ => "",
                };
                // A class per palette colour: the CSP allows no inline style.
                let swatch = format!("swatch method-{}", index_of(&key));
                let (lo, hi) = row.clip;
                let sqnr = if row.sqnr_db.is_finite() {
                    format::number(row.sqnr_db, 6)
                } else {
                    "exact".to_string()
                };
                let r2 = row.clone();
                let r3 = row.clone();
                view! {
                    <tr class=class data-method=key.clone() on:click=move |_| adopt(r2.clone())>
                        <td class="name">
                            <span class=swatch></span>
                            {label(&key)}
                            {is_best.then_some(view! { <span class="star" title="least MSE">" ★ best"</span> })}
                            {in_use.then_some(view! { <span class="in-use">" (in use)"</span> })}
                        </td>
                        <td class="num range" data-col="lo">{format::number(f64::from(lo), 6)}</td>
                        <td class="num range" data-col="hi">{format::number(f64::from(hi), 6)}</td>
                        <td class="num mse" data-col="mse">{format::number(row.mse, 6)}</td>
                        <td class="num" data-col="sqnr">{sqnr}</td>
                        <td class="num clipped" data-col="clipped">{format::number(100.0 * row.clipped_fraction, 3)}</td>
                        <td>
                            {(!in_use).then(|| {
                                let name = label(&key);
                                view! {
                                    <button class="use" aria-label=format!("use {name}") on:click=move |ev| {
                                        ev.stop_propagation();
                                        adopt(r3.clone());
                                    }>"use"</button>
                                }
                            })}
                        </td>
                    </tr>
                }
                .into_any()
            })
            .collect();
        for (key, reason) in &r.failed {
            let key = key.clone();
            views.push(
                view! {
                    <tr data-method=key.clone() class="failed">
                        <td class="name">{label(&key)}</td>
                        <td colspan="6" class="reason">{reason.clone()}</td>
                    </tr>
                }
                .into_any(),
            );
        }
        views
    };
    let note = move || {
        let total = state.data.with(|d| d.as_ref().map_or(0, |d| d.len()));
        rows.with(|r| match r {
            Some(r) if !r.complete() => format!(
                "Measuring each method on all {} values: {} of {} done.",
                format::count(total),
                r.rows.len() + r.failed.len(),
                r.keys.len()
            ),
            Some(_) => format!(
                "Each row quantizes all {} values with the current settings and that method, as the Error panel does; click a row to use it.",
                format::count(total)
            ),
            None => String::new(),
        })
    };
    let group_note = move || {
        state.analysis.with(|a| {
            a.as_ref().filter(|a| a.n_groups > 1).map(|a| {
                format!(
                    "Ranges are those of group #{} of {} (the one the histogram shows); errors are over all groups.",
                    a.display_group,
                    format::count(a.n_groups)
                )
            })
        })
    };
    view! {
        <Show when=move || rows.with(Option::is_some)>
            <section class="panel order-calibrators" aria-labelledby="calibrators-title">
                <h2 id="calibrators-title">"Calibrators compared"</h2>
                <p class="help">
                    "Each method picks its own clipping range [α, β] for the current bits and scheme. A narrow range rounds the bulk finely but clips the tails; a wide one keeps the tails and rounds everything coarsely."
                </p>
                <label class="check">
                    <input type="checkbox" data-testid="calibrator-log" prop:checked=move || log_y.get() on:change=move |ev| log_y.set(event_target_checked(&ev)) />
                    " log counts (shows the tails)"
                </label>
                <canvas
                    class="chart chart-short"
                    data-testid="calibrator-chart"
                    node_ref=canvas_ref
                    aria-label="Input histogram with each calibration method's clipping range as coloured lines and bars"
                    on:pointermove=on_move
                    on:pointerleave=move |_| readout.set(None)
                ></canvas>
                <p class="readout" data-testid="calibrator-readout" aria-live="polite">
                    {move || readout.get().unwrap_or_else(|| "Point at the chart to see which methods keep a value and which clip it.".to_string())}
                </p>
                <div class="table-scroll">
                    <table class="calibrators" data-testid="calibrator-table">
                        <thead>
                            <tr>
                                <th>"method"</th>
                                <th class="num range">"α (lo)"</th>
                                <th class="num range">"β (hi)"</th>
                                <th class="num mse">"MSE"</th>
                                <th class="num">"SQNR (dB)"</th>
                                <th class="num clipped">"clipped %"</th>
                                <th></th>
                            </tr>
                        </thead>
                        <tbody>{body}</tbody>
                    </table>
                </div>
                <p class="help" data-testid="calibrators-note">{note}" "{group_note}<span class="narrow-only">" (The ranges are on the chart; a wider screen lists them with MSE and clipped %.)"</span></p>
                <TableProgress table=Table::Calibrators testid="calibrators-progress" />
            </section>
        </Show>
    }
}
