//! Floating point against fixed point on a zoomable number line.

use leptos::html::Canvas;
use leptos::prelude::*;
use quantscope_core::numberline::NumberLine;
use quantscope_core::Format;

use super::canvas::{draw_each_frame, fit_canvas};
use crate::charts::number_line::{
    draw_number_line, half_width, number_line_chart, NumberLineChart, ZOOM_RANGE,
};
use crate::format::number;
use crate::state::use_app_state;

/// The float formats on the line; the fixed-point row follows them with the quantizer's m and n.
const FLOATS: [Format; 5] = [
    Format::Fp16,
    Format::Bf16,
    Format::Fp8E4m3,
    Format::Fp8E5m2,
    Format::Fp4E2m1,
];

/// Every representable value of FP16, BF16, FP8, FP4 and a Qm.n fixed point inside [−w, w].
#[component]
pub fn NumberLineView() -> impl IntoView {
    let state = use_app_state();
    let canvas_ref = NodeRef::<Canvas>::new();
    let map = StoredValue::new(None::<crate::charts::PixelMap>);
    let readout = RwSignal::new(None::<String>);
    let fixed = Memo::new(move |_| state.config.with(|c| (c.int_bits, c.frac_bits)));
    // Built once per fixed-point setting (FP16/BF16 enumerate 63k values each).
    let lines = Memo::new(move |_| {
        let (m, n) = fixed.get();
        let mut lines: Vec<NumberLine> = FLOATS
            .iter()
            .filter_map(|&f| NumberLine::of(f, m, n).ok())
            .collect();
        // Wider than 16 bits is refused by the quantizer's own check first; then no row.
        lines.extend(NumberLine::of(Format::Fixed, m, n).ok());
        crate::state::Shared::new(lines)
    });
    let chart = Memo::new(move |_| {
        let w = half_width(state.number_zoom.get());
        lines.with(|l| number_line_chart(&l.0, w))
    });
    let on_move = move |ev: leptos::ev::PointerEvent| {
        if let Some(m) = map.get_value() {
            let x = m.value_at(f64::from(ev.offset_x()));
            let parts: Vec<String> = lines.with_untracked(|l| {
                l.0.iter()
                    .map(|line| {
                        let n = line.nearest(x);
                        let beyond = if n.beyond { " (beyond its range)" } else { "" };
                        format!("{} → {}{beyond}", line.label, number(f64::from(n.value), 6))
                    })
                    .collect()
            });
            readout.set(Some(format!(
                "x = {}: {}",
                number(f64::from(x), 6),
                parts.join(" · ")
            )));
        }
    };
    let track = move || {
        chart.track();
        canvas_ref.track();
    };
    let draw = move || {
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        let (scale, _) = fit_canvas(&canvas);
        match chart.with_untracked(|c| draw_number_line(canvas, c, scale)) {
            Ok(m) => map.set_value(Some(m)),
            Err(e) => leptos::logging::error!("number line: {e}"),
        }
    };
    draw_each_frame(track, draw);
    let zoom_text = move || {
        let w = half_width(state.number_zoom.get());
        format!("Window ±{}", number(f64::from(w), 4))
    };
    let step = move |d: f64| {
        state
            .number_zoom
            .update(|z| *z = (*z + d).clamp(ZOOM_RANGE.0, ZOOM_RANGE.1))
    };
    let rows = move || chart.with(table_rows);
    view! {
        <section class="panel chart-panel order-numberline" aria-labelledby="numberline-title">
            <h2 id="numberline-title">"Number line: floating point against fixed point"</h2>
            <div class="row zoom-row">
                <button class="use" aria-label="zoom in (halve the window)" data-testid="number-line-in" on:click=move |_| step(-1.0)>"+"</button>
                <div class="field slider-field">
                    <label for="number-line-zoom">{zoom_text}</label>
                    <input
                        id="number-line-zoom"
                        type="range"
                        data-testid="number-line-zoom"
                        min=ZOOM_RANGE.0.to_string()
                        max=ZOOM_RANGE.1.to_string()
                        step="0.5"
                        prop:value=move || state.number_zoom.get().to_string()
                        on:input=move |ev| {
                            if let Ok(z) = event_target_value(&ev).parse::<f64>() {
                                state.number_zoom.set(z.clamp(ZOOM_RANGE.0, ZOOM_RANGE.1));
                            }
                        }
                    />
                </div>
                <button class="use" aria-label="zoom out (double the window)" data-testid="number-line-out" on:click=move |_| step(1.0)>"−"</button>
            </div>
            <canvas
                class="chart chart-short"
                data-testid="number-line"
                node_ref=canvas_ref
                aria-label="Ticks at every representable value of FP16, BF16, FP8 E4M3, FP8 E5M2, FP4 E2M1 and the fixed-point format inside the window"
                on:pointermove=on_move
                on:pointerleave=move |_| readout.set(None)
            ></canvas>
            <p class="readout" data-testid="number-line-readout" aria-live="polite">
                {move || readout.get().unwrap_or_else(|| "Point at the line to see where each format stores that value.".to_string())}
            </p>
            <div class="table-scroll">
                <table class="calibrators" data-testid="number-line-table">
                    <thead><tr><th>"format"</th><th>"values in the window"</th><th>"gap at 0"</th><th>"gap at the window's edge"</th><th>"largest"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <p class="help">
                "A float keeps the same number of values between each pair of powers of two, so they crowd near zero and thin out far from it: "
                "the gap grows with the value. A fixed-point Qm.n number is an integer times 2^−n: one gap everywhere, nothing between 0 and 2^−n, nothing past 2^m. "
                "An integer quantizer is the same even grid with a scale S chosen from the data instead of 2^−n. "
                "The fixed-point row follows the quantizer's m and n (format \"fixed point\")."
            </p>
        </section>
    }
}

/// The table's rows: what each format has inside the window.
fn table_rows(chart: &NumberLineChart) -> Vec<AnyView> {
    chart
        .rows
        .iter()
        .map(|r| {
            let v = &r.view;
            let every = if v.every > 1 {
                format!(" (1 in {} drawn)", v.every)
            } else {
                String::new()
            };
            let edge = v.gap_at_edge.map_or_else(
                || "beyond the largest".to_string(),
                |g| number(f64::from(g), 4),
            );
            view! {
                <tr data-format=r.label.clone()>
                    <td>{r.label.clone()}</td>
                    <td data-col="count">{v.count}{every}</td>
                    <td data-col="gap0">{number(f64::from(v.smallest_positive), 4)}</td>
                    <td data-col="gapw">{edge}</td>
                    <td data-col="largest">{number(f64::from(v.largest), 6)}</td>
                </tr>
            }
            .into_any()
        })
        .collect()
}
