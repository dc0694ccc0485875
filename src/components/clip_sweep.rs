//! "Error against the clipping range": the current bits and scheme at 25 manual ranges from
//! 1/64 of the data's range to all of it, the MSE split into rounding (inside the range) and
//! clipping (outside), each calibrator's choice and the current setting marked.

use leptos::html::Canvas;
use leptos::prelude::*;

use super::calibrator_table::label;
use super::canvas::{draw_each_frame, fit_canvas};
use super::job_progress::TableProgress;
use crate::charts::clips::{clip_chart, draw_clips, fraction_label};
use crate::charts::PixelMap;
use crate::engine::client::Table;
use crate::format;
use crate::state::{use_app_state, CalibratorRows, ClipPoint, ClipRows};

/// "1/8" of a fraction that is a power of two (as the chart's axis labels it), else its decimal.
fn fraction_text(f: f64) -> String {
    let label = if f > 0.0 {
        fraction_label(f.log2())
    } else {
        String::new()
    };
    if label.is_empty() {
        format::number(f, 3)
    } else {
        label
    }
}

/// One point's figures in words.
fn describe(p: &ClipPoint) -> String {
    let rounding = (p.mse - p.clipping_mse).max(0.0);
    format!(
        "keeping {} of the range, [{}, {}]: MSE {} = rounding {} + clipping {}; SQNR {} dB",
        fraction_text(p.fraction),
        format::number(f64::from(p.clip.0), 4),
        format::number(f64::from(p.clip.1), 4),
        format::number(p.mse, 4),
        format::number(rounding, 4),
        format::number(p.clipping_mse, 4),
        format::number(p.sqnr_db, 4),
    )
}

/// The calibrators measured for the same settings as the sweep: (palette index, name, fraction
/// kept, MSE), in palette order.
fn calibrator_marks(
    rows: Option<&CalibratorRows>,
    s: &ClipRows,
) -> Vec<(usize, &'static str, f64, f64)> {
    let Some(r) = rows.filter(|r| r.base == s.base) else {
        return Vec::new();
    };
    let mut marks: Vec<_> = r
        .rows
        .iter()
        .map(|row| {
            let i = r.keys.iter().position(|k| *k == row.key).unwrap_or(0);
            (i, label(&row.key), s.fraction_of(row.clip), row.mse)
        })
        .collect();
    marks.sort_by_key(|m| m.0);
    marks
}

/// The clip sweep panel (integer format, per tensor).
#[component]
pub fn ClipSweep() -> impl IntoView {
    let state = use_app_state();
    let canvas_ref = NodeRef::<Canvas>::new();
    let map = StoredValue::new(None::<PixelMap>);
    let readout = RwSignal::new(None::<String>);
    let sweep = Memo::new(move |_| state.clip_rows.get());
    let track = move || {
        sweep.track();
        state.calibrator_rows.track();
        canvas_ref.track();
    };
    let draw = move || {
        let (Some(s), Some(canvas)) = (sweep.get_untracked(), canvas_ref.get_untracked()) else {
            return;
        };
        let (scale, _) = fit_canvas(&canvas);
        let marks: Vec<(usize, f64, f64)> = state.calibrator_rows.with_untracked(|r| {
            calibrator_marks(r.as_ref(), &s)
                .into_iter()
                .map(|(i, _, f, mse)| (i, f, mse))
                .collect()
        });
        let chart = clip_chart(&s.points, &marks, Some((s.now.fraction, s.now.mse)));
        match draw_clips(canvas, &chart, s.symmetric, scale) {
            Ok(m) => map.set_value(Some(m)),
            Err(e) => leptos::logging::error!("clips: {e}"),
        }
    };
    draw_each_frame(track, draw);
    let on_move = move |ev: leptos::ev::PointerEvent| {
        let Some(m) = map.get_value() else {
            return;
        };
        let x = f64::from(m.value_at(f64::from(ev.offset_x())));
        readout.set(sweep.with_untracked(|s| {
            let s = s.as_ref()?;
            let p = s.points.iter().min_by(|a, b| {
                (a.fraction.log2() - x)
                    .abs()
                    .total_cmp(&(b.fraction.log2() - x).abs())
            })?;
            Some(format!("{}.", describe(p)))
        }));
    };
    let rows = move || {
        sweep.get().map(|s| {
            s.sorted()
                .into_iter()
                .rev()
                .map(|p| {
                    view! {
                        <tr data-fraction=p.fraction.to_string()>
                            <td class="num">{fraction_text(p.fraction)}</td>
                            <td class="num" data-col="lo">{p.clip.0.to_string()}</td>
                            <td class="num" data-col="hi">{p.clip.1.to_string()}</td>
                            <td class="num" data-col="mse">{format::number(p.mse, 6)}</td>
                            <td class="num" data-col="clip-mse">{format::number(p.clipping_mse, 6)}</td>
                            <td class="num" data-col="sqnr">{format::number(p.sqnr_db, 6)}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    let legend = move || {
        sweep.with(|s| {
            s.as_ref().map(|s| {
                let marks = state.calibrator_rows.with(|r| calibrator_marks(r.as_ref(), s));
                view! {
                    <ul class="legend">
                        <li><span class="swatch rounding"></span>"rounding (values inside the range)"</li>
                        <li><span class="swatch clipping"></span>"clipping (values outside)"</li>
                        <li><span class="swatch now-ring"></span>"the current setting"</li>
                        {marks
                            .into_iter()
                            .map(|(i, name, _, _)| view! {
                                <li><span class=format!("swatch dot method-{i}")></span>{name}</li>
                            })
                            .collect_view()}
                    </ul>
                }
            })
        })
    };
    let note = move || {
        let total = state.data.with(|d| d.as_ref().map_or(0, |d| d.len()));
        sweep.with(|s| {
            s.as_ref().map(|s| {
                if s.points.len() < s.expected {
                    format!(
                        "Measuring each range on all {} values: {} of {} done.",
                        format::count(total),
                        s.points.len(),
                        s.expected
                    )
                } else {
                    format!(
                        "Each point quantizes all {} values at {} bits with a manual range {}. A narrow range rounds finely but clips the tails; a wide one keeps every value but rounds coarsely — the best range sits where the two parts trade off. Now: {}.",
                        format::count(total),
                        s.base.bits,
                        if s.symmetric {
                            "[−β, β]"
                        } else {
                            "scaled about the centre of the data's range (a range that leaves out 0 is widened to hold it)"
                        },
                        describe(&s.now)
                    )
                }
            })
        })
    };
    view! {
        <Show when=move || sweep.with(Option::is_some)>
            <section class="panel order-clips" aria-labelledby="clips-title">
                <h2 id="clips-title">"Error against the clipping range"</h2>
                <canvas
                    class="chart chart-short"
                    data-testid="sweep-clip"
                    node_ref=canvas_ref
                    aria-label="MSE against the clipping range on log axes, split into rounding and clipping error, with each calibrator's choice marked"
                    on:pointermove=on_move
                    on:pointerleave=move |_| readout.set(None)
                ></canvas>
                {legend}
                <p class="readout" data-testid="sweep-clip-readout" aria-live="polite">
                    {move || readout.get().unwrap_or_else(|| "Point at the chart to read a range's error and its two parts.".to_string())}
                </p>
                <details>
                    <summary>"The numbers"</summary>
                    <table class="calibrators" data-testid="sweep-clip-table">
                        <thead><tr><th class="num">"kept"</th><th class="num">"α"</th><th class="num">"β"</th><th class="num">"MSE"</th><th class="num">"clipping part"</th><th class="num">"SQNR (dB)"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </details>
                <p class="help" data-testid="sweep-clip-note">{note}</p>
                <TableProgress table=Table::Clips testid="clips-progress" />
            </section>
        </Show>
    }
}
