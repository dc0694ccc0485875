//! The histogram with the clipping range, thresholds and reconstructions; the range edges can be
//! dragged.

use leptos::html::Canvas;
use leptos::prelude::*;
use quantscope_core::Calibration;

use super::canvas::{draw_each_frame, fit_canvas};
use crate::charts::histogram::{draw_histogram, histogram_chart};
use crate::charts::PixelMap;
use crate::format;
use crate::state::use_app_state;

/// How close (CSS px) the pointer must be to a range edge to grab it.
const GRAB_PX: f64 = 10.0;

/// The histogram panel.
#[component]
pub fn HistogramView() -> impl IntoView {
    let state = use_app_state();
    let canvas_ref = NodeRef::<Canvas>::new();
    let map = StoredValue::new(None::<PixelMap>);
    let chart_note = RwSignal::new(String::new());
    // What lies under the pointer (value, bin counts, code); empty when it is elsewhere.
    let readout = RwSignal::new(None::<String>);
    let dragging = StoredValue::new(None::<bool>); // Some(true) = hi edge
    let track = move || {
        state.log_y.track();
        state.analysis.track();
        canvas_ref.track();
    };
    let draw = move || {
        let log_y = state.log_y.get_untracked();
        let (Some(a), Some(canvas)) = (state.analysis.get_untracked(), canvas_ref.get_untracked())
        else {
            return;
        };
        let (scale, css_w) = fit_canvas(&canvas);
        let chart = histogram_chart(&a, css_w - 70.0, log_y);
        chart_note.set(if chart.threshold_ticks {
            format!(
                "{} thresholds inside the view: too close to draw as lines, they are the ticks along the axis{}.",
                format::count(chart.visible_thresholds),
                if chart.threshold_stride > 1 {
                    format!(" (every {})", ordinal(chart.threshold_stride))
                } else {
                    String::new()
                }
            )
        } else if chart.threshold_stride > 1 {
            format!(
                "Showing every {} of the {} thresholds inside the view (too dense to draw all).",
                ordinal(chart.threshold_stride),
                format::count(chart.visible_thresholds)
            )
        } else {
            format!(
                "All {} thresholds inside the view are drawn.",
                format::count(chart.visible_thresholds)
            )
        });
        match draw_histogram(canvas, &chart, scale) {
            Ok(m) => map.set_value(Some(m)),
            Err(e) => leptos::logging::error!("histogram: {e}"),
        }
    };
    draw_each_frame(track, draw);

    let edge_near = move |x: f64| -> Option<bool> {
        let m = map.get_value()?;
        let a = state.analysis.get_untracked()?;
        // Only formats whose range comes from calibration have edges to drag.
        if !a.config.format.uses_scales() {
            return None;
        }
        let (lo, hi) = a.display.clip;
        let (dlo, dhi) = ((m.pixel_of(lo) - x).abs(), (m.pixel_of(hi) - x).abs());
        if dlo.min(dhi) > GRAB_PX {
            None
        } else {
            Some(dhi < dlo)
        }
    };
    let on_down = move |ev: leptos::ev::PointerEvent| {
        let x = f64::from(ev.offset_x());
        if let Some(hi) = edge_near(x) {
            dragging.set_value(Some(hi));
            if let Some(c) = canvas_ref.get_untracked() {
                let _ = c.set_pointer_capture(ev.pointer_id());
            }
            ev.prevent_default();
        } else if let Some(m) = map.get_value() {
            // Anywhere else: inspect the value under the pointer (formulas and bit inspector).
            state.probe.set(Some(m.value_at(x)));
        }
    };
    let on_move = move |ev: leptos::ev::PointerEvent| {
        let x = f64::from(ev.offset_x());
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        let Some(hi_edge) = dragging.get_value() else {
            if let (Some(m), Some(a)) = (map.get_value(), state.analysis.get_untracked()) {
                readout.set(Some(crate::charts::histogram::readout(&a, m.value_at(x))));
            }
            let cursor = if edge_near(x).is_some() {
                "ew-resize"
            } else {
                "default"
            };
            let _ = web_sys::HtmlElement::style(&canvas).set_property("cursor", cursor);
            return;
        };
        let (Some(m), Some(a)) = (map.get_value(), state.analysis.get_untracked()) else {
            return;
        };
        let v = m.value_at(x);
        let (lo, hi) = a.display.clip;
        let (lo, hi) = if hi_edge { (lo, v) } else { (v, hi) };
        if lo < hi {
            state.try_config(|c| c.calibration = Calibration::Manual { lo, hi });
        }
    };
    let on_up = move |_ev: leptos::ev::PointerEvent| dragging.set_value(None);

    // The opening view explains itself until a knob is turned.
    let opening = move || {
        state.source.get() == crate::state::Source::Synthetic
            && state.config.with(|c| *c == crate::state::opening_config())
            && state.synth.with(|s| *s == crate::state::opening_synth())
    };
    // Which values the chart shows: the tensor, or one group (with its own clip and thresholds).
    let shown = move || {
        state.analysis.with(|a| {
            let a = a.as_ref()?;
            let g = a.group_hist.as_ref()?;
            let what = a.config.group_noun();
            Some(format!(
                "Showing {what} #{} of {}: its {} values, its clipping range and thresholds. The metrics cover all {} values.",
                a.display_group,
                format::count(a.n_groups),
                format::count(g.values),
                format::count(a.metrics.n),
            ))
        })
    };
    view! {
        <section class="panel chart-panel order-histogram" aria-labelledby="hist-title">
            <div class="chart-head">
                <h2 id="hist-title">"Histogram and buckets"</h2>
                <label class="check">
                    <input type="checkbox" data-testid="log-y" prop:checked=move || state.log_y.get() on:change=move |ev| state.log_y.set(event_target_checked(&ev)) />
                    " log counts"
                </label>
            </div>
            <canvas
                class="chart"
                data-testid="histogram"
                node_ref=canvas_ref
                aria-label="Histogram of the input values with the clipping range, the bucket thresholds and the reconstructed values"
                on:pointerdown=on_down
                on:pointermove=on_move
                on:pointerup=on_up
                on:pointercancel=on_up
                on:pointerleave=move |_| readout.set(None)
            ></canvas>
            <p class="readout" data-testid="histogram-readout" aria-live="polite">
                {move || readout.get().unwrap_or_else(|| "Point at the chart to read a value, its bin's counts and its code.".to_string())}
            </p>
            <Show when=opening>
                <p class="opening-note" data-testid="opening-note">
                    "What goes wrong here: 8 of these 131,072 values lie at ±20σ. Min–max stretches the 16 levels of 4 bits over them, so nearly all values fall into the few buckets near 0 (the orange bars) and the SQNR is a few dB. Try the MSE or percentile calibration, per-channel granularity, or a block format such as MXFP4 — the metrics below and the formats table show what each buys."
                </p>
            </Show>
            <p class="help shown-group" data-testid="histogram-shown">{shown}</p>
            <ul class="legend">
                <li><span class="swatch input"></span>{move || if state.analysis.with(|a| a.as_ref().is_some_and(|a| a.group_hist.is_some())) { "this group's values" } else { "input values" }}</li>
                <Show when=move || state.analysis.with(|a| a.as_ref().is_some_and(|a| a.group_hist.is_some()))>
                    <li><span class="swatch background"></span>"the whole tensor in this range (scaled to fit)"</li>
                </Show>
                <li><span class="swatch output"></span>"dequantized values r̂ (each level's count spread over its bucket)"</li>
                <li><span class="swatch threshold"></span>"bucket thresholds"</li>
                <li><span class="swatch clip"></span>"clipping range [α, β] (drag the edges; click elsewhere to inspect a value)"</li>
            </ul>
            <p class="help" data-testid="threshold-note">{move || chart_note.get()}</p>
            <ul class="notes" data-testid="analysis-notes">
                {move || {
                    state
                        .analysis
                        .get()
                        .map(|a| a.notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view())
                }}
            </ul>
        </section>
    }
}

/// "2nd", "3rd", "10th".
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn ordinals() {
        assert_eq!(super::ordinal(2), "2nd");
        assert_eq!(super::ordinal(11), "11th");
        assert_eq!(super::ordinal(23), "23rd");
    }
}
