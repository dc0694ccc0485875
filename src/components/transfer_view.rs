//! The transfer function panel.

use leptos::html::Canvas;
use leptos::prelude::*;

use super::canvas::{draw_each_frame, fit_canvas};
use crate::charts::transfer::{draw_transfer, transfer_chart};
use crate::state::use_app_state;

/// The staircase r → Q(r) → r̂.
#[component]
pub fn TransferView() -> impl IntoView {
    let state = use_app_state();
    let canvas_ref = NodeRef::<Canvas>::new();
    let exact = RwSignal::new(true);
    let map = StoredValue::new(None::<crate::charts::PixelMap>);
    let readout = RwSignal::new(None::<String>);
    let on_move = move |ev: leptos::ev::PointerEvent| {
        if let (Some(m), Some(a)) = (map.get_value(), state.analysis.get_untracked()) {
            let r = m.value_at(f64::from(ev.offset_x()));
            readout.set(Some(format!(
                "r = {} → {}",
                crate::format::number(f64::from(r), 5),
                crate::charts::histogram::where_it_goes(&a, r)
            )));
        }
    };
    let track = move || {
        state.analysis.track();
        canvas_ref.track();
    };
    let draw = move || {
        let (Some(a), Some(canvas)) = (state.analysis.get_untracked(), canvas_ref.get_untracked())
        else {
            return;
        };
        let (scale, css_w) = fit_canvas(&canvas);
        let chart = transfer_chart(&a, css_w - 70.0);
        exact.set(chart.exact);
        match draw_transfer(canvas, &chart, scale) {
            Ok(m) => map.set_value(Some(m)),
            Err(e) => leptos::logging::error!("transfer: {e}"),
        }
    };
    draw_each_frame(track, draw);
    // A vector codebook maps pairs, not single values: there is no staircase to draw.
    let scalar = move || state.config.with(|c| c.vector_dim == 1);
    view! {
        <Show when=scalar>
        <section class="panel chart-panel order-transfer" aria-labelledby="transfer-title">
            <h2 id="transfer-title">"Transfer function"</h2>
            <canvas
                class="chart"
                data-testid="transfer"
                node_ref=canvas_ref
                aria-label="Staircase plot of the reconstruction r-hat against the input r"
                on:pointermove=on_move
                on:pointerleave=move |_| readout.set(None)
            ></canvas>
            <p class="readout" data-testid="transfer-readout" aria-live="polite">
                {move || readout.get().unwrap_or_else(|| "Point at the staircase to read r, its code and r̂.".to_string())}
            </p>
            <p class="help">
                "Each flat step is one code: every input inside a bucket comes back as the same value. "
                "The grey diagonal is a perfect reconstruction; outside the shaded range the steps stop and values are clipped."
                {move || state.analysis.get().filter(|a| a.config.format == quantscope_core::Format::Int).map(|a| format!(
                    " The right axis reads the integer code q; the circle marks where real 0 lands: q = Z = {}, so 0 is stored exactly.",
                    a.display.params.zero_point
                ))}
                {move || (!exact.get()).then_some(" (Too many steps to draw one by one at this width: the curve is sampled.)")}
                {move || state.analysis.get().filter(|a| a.n_groups > 1).map(|a| format!(
                    " Shown for group #{} of {} over its own range.", a.display_group, a.n_groups
                ))}
            </p>
        </section>
        </Show>
    }
}
