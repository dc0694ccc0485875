//! "Error against bit width": the current settings at every width b = 1…16, SQNR against b with
//! the 6.02 dB-per-bit line through the current width.

use leptos::html::Canvas;
use leptos::prelude::*;

use super::canvas::{draw_each_frame, fit_canvas};
use super::job_progress::TableProgress;
use crate::charts::bits::{bits_chart, draw_bits, DB_PER_BIT};
use crate::charts::PixelMap;
use crate::engine::client::Table;
use crate::format;
use crate::state::use_app_state;

/// The bit-width panel (integer format only).
#[component]
pub fn BitsSweep() -> impl IntoView {
    let state = use_app_state();
    let canvas_ref = NodeRef::<Canvas>::new();
    let map = StoredValue::new(None::<PixelMap>);
    let readout = RwSignal::new(None::<String>);
    let sweep = Memo::new(move |_| state.bit_rows.get());
    let track = move || {
        sweep.track();
        canvas_ref.track();
    };
    let draw = move || {
        let (Some(s), Some(canvas)) = (sweep.get_untracked(), canvas_ref.get_untracked()) else {
            return;
        };
        let (scale, css_w) = fit_canvas(&canvas);
        match draw_bits(canvas, &bits_chart(&s.points, s.base.bits, css_w), scale) {
            Ok(m) => map.set_value(Some(m)),
            Err(e) => leptos::logging::error!("bits: {e}"),
        }
    };
    draw_each_frame(track, draw);
    let on_move = move |ev: leptos::ev::PointerEvent| {
        let Some(m) = map.get_value() else {
            return;
        };
        let b = m
            .value_at(f64::from(ev.offset_x()))
            .round()
            .clamp(1.0, 16.0) as u8;
        readout.set(sweep.with_untracked(|s| {
            let s = s.as_ref()?;
            let &(_, sqnr, mse) = s.points.iter().find(|p| p.0 == b)?;
            let chart = bits_chart(&s.points, s.base.bits, 800.0);
            let line = chart
                .reference(f64::from(b))
                .map(|r| {
                    format!(
                        "; the 6.02 dB-per-bit line gives {} dB",
                        format::number(r, 4)
                    )
                })
                .unwrap_or_default();
            Some(format!(
                "{b} bits: SQNR {} dB, MSE {}{line}.",
                if sqnr.is_finite() {
                    format::number(sqnr, 5)
                } else {
                    "exact (∞)".to_string()
                },
                format::number(mse, 5)
            ))
        }));
    };
    let rows = move || {
        sweep
            .get()
            .map(|s| {
                s.sorted()
                    .into_iter()
                    .map(|(b, sqnr, mse)| {
                        let current = b == s.base.bits;
                        view! {
                            <tr data-bits=b.to_string() class=if current { "yours" } else { "" }>
                                <td class="num">{b}{current.then_some(" (now)")}</td>
                                <td class="num" data-col="sqnr">{if sqnr.is_finite() { format::number(sqnr, 6) } else { "exact".to_string() }}</td>
                                <td class="num" data-col="mse">{format::number(mse, 6)}</td>
                            </tr>
                        }
                    })
                    .collect_view()
            })
    };
    let note = move || {
        let total = state.data.with(|d| d.as_ref().map_or(0, |d| d.len()));
        sweep.with(|s| {
            s.as_ref().map(|s| {
                if s.points.len() < s.expected {
                    format!(
                        "Measuring each width on all {} values: {} of {} done.",
                        format::count(total),
                        s.points.len(),
                        s.expected
                    )
                } else {
                    format!(
                        "Each point quantizes all {} values with the current settings at that width. Where the clipping range stays put, each bit halves the step and adds {:.2} dB (the dashed line); a calibrator that narrows the range as bits drop does better than that at low widths.",
                        format::count(total),
                        DB_PER_BIT
                    )
                }
            })
        })
    };
    view! {
        <Show when=move || sweep.with(Option::is_some)>
            <section class="panel order-bits" aria-labelledby="bits-title">
                <h2 id="bits-title">"Error against bit width"</h2>
                <canvas
                    class="chart chart-short"
                    data-testid="sweep-bits"
                    node_ref=canvas_ref
                    aria-label="SQNR in dB against bit width 1 to 16 for the current settings, with a 6.02 dB per bit reference line"
                    on:pointermove=on_move
                    on:pointerleave=move |_| readout.set(None)
                ></canvas>
                <p class="readout" data-testid="sweep-bits-readout" aria-live="polite">
                    {move || readout.get().unwrap_or_else(|| "Point at the chart to read a width's SQNR; the circle is the current width.".to_string())}
                </p>
                <details>
                    <summary>"The numbers"</summary>
                    <table class="calibrators" data-testid="sweep-bits-table">
                        <thead><tr><th class="num">"bits"</th><th class="num">"SQNR (dB)"</th><th class="num">"MSE"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </details>
                <p class="help" data-testid="sweep-bits-note">{note}</p>
                <TableProgress table=Table::Bits testid="bits-progress" />
            </section>
        </Show>
    }
}
