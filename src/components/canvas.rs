//! Canvas plumbing shared by the chart components: sizing for the device pixel ratio, redrawing on
//! resize, and drawing once per animation frame.

use leptos::prelude::*;

use crate::charts::Scale;

/// Sizes `canvas`'s backing store to its CSS box × the device pixel ratio; returns (scale, CSS width).
pub fn fit_canvas(canvas: &web_sys::HtmlCanvasElement) -> (Scale, f64) {
    let dpr = web_sys::window()
        .map_or(1.0, |w| w.device_pixel_ratio())
        .max(1.0);
    let css_w = f64::from(canvas.client_width().max(100));
    let css_h = f64::from(canvas.client_height().max(100));
    let (w, h) = ((css_w * dpr).round() as u32, (css_h * dpr).round() as u32);
    // Setting a size, even the same one, reallocates the backing store and dirties the page's
    // layout, which the next chart's `client_width` then forces again (one forced layout per
    // chart per frame, measured in a trace). Every chart paints its whole canvas first
    // (`charts::canvas_root`), so an unchanged size needs no reset.
    if canvas.width() != w {
        canvas.set_width(w);
    }
    if canvas.height() != h {
        canvas.set_height(h);
    }
    (Scale(dpr), css_w)
}

/// Calls `draw` in the next animation frame whenever a signal it reads changes (and on window
/// resize), at most once per frame. `draw` reads its inputs untracked; `track` names them.
///
/// Drawing in the frame callback keeps chart rendering off the path that updates the numbers: the
/// metrics reach the DOM first, and the charts are drawn just before the browser paints.
pub fn draw_each_frame(track: impl Fn() + 'static, draw: impl Fn() + Clone + 'static) {
    let (tick, set_tick) = signal(0u32);
    let handle = window_event_listener(leptos::ev::resize, move |_| set_tick.update(|t| *t += 1));
    on_cleanup(move || handle.remove());
    let pending = StoredValue::new(false);
    let theme = use_context::<crate::theme::Theme>();
    Effect::new(move |_| {
        tick.track();
        if let Some(t) = theme {
            t.dark.track();
        }
        track();
        if !pending.get_value() {
            pending.set_value(true);
            let draw = draw.clone();
            request_animation_frame(move || {
                pending.set_value(false);
                draw();
            });
        }
    });
}
