//! "Dynamic vs static": the data as a stream of batches whose range drifts, quantized once with a
//! range calibrated on the first batches (static) and once with each batch's own range (dynamic),
//! the error per batch both ways and what the dynamic range costs at run time.

use leptos::html::Canvas;
use leptos::prelude::*;
use quantscope_core::study::StreamStudy;

use super::canvas::{draw_each_frame, fit_canvas};
use super::fields::{parse, Edit, NumberField, SelectField};
use crate::charts::stream::{draw_stream, stream_chart};
use crate::charts::PixelMap;
use crate::format;
use crate::state::{use_app_state, Studied};

/// Mean of the finite values (∞ SQNRs of exact batches are left out).
fn mean_finite(v: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = v
        .filter(|x| x.is_finite())
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// Batch `t` in words.
fn describe(s: &StreamStudy, t: usize) -> Option<String> {
    let b = s.batches.get(t)?;
    Some(format!(
        "Batch {t}{}: values in [{}, {}]. Static range: SQNR {} dB, {:.2} % clipped. Its own range [{}, {}]: SQNR {} dB.",
        if t < s.spec.calibrate_on { " (calibration)" } else { "" },
        format::number(f64::from(b.min), 4),
        format::number(f64::from(b.max), 4),
        format::db(b.static_sqnr_db),
        b.static_clipped * 100.0,
        format::number(f64::from(b.dynamic_clip.0), 4),
        format::number(f64::from(b.dynamic_clip.1), 4),
        format::db(b.dynamic_sqnr_db),
    ))
}

/// The dynamic-vs-static panel.
#[component]
pub fn DynamicStatic() -> impl IntoView {
    let state = use_app_state();
    let canvas_ref = NodeRef::<Canvas>::new();
    let map = StoredValue::new(None::<PixelMap>);
    let readout = RwSignal::new(None::<String>);
    let study = Memo::new(move |_| state.stream.with(|c| c.result().cloned()));
    draw_each_frame(
        move || {
            study.track();
            canvas_ref.track();
        },
        move || {
            let (Some(s), Some(canvas)) = (study.get_untracked(), canvas_ref.get_untracked())
            else {
                return;
            };
            let (scale, _) = fit_canvas(&canvas);
            match draw_stream(canvas, &stream_chart(&s), scale) {
                Ok(m) => map.set_value(Some(m)),
                Err(e) => leptos::logging::error!("stream: {e}"),
            }
        },
    );
    let on_move = move |ev: leptos::ev::PointerEvent| {
        let Some(m) = map.get_value() else {
            return;
        };
        let t = m.value_at(f64::from(ev.offset_x())).round().max(0.0) as usize;
        readout.set(study.with_untracked(|s| describe(s.as_ref()?, t)));
    };
    let spec = state.stream_spec;
    let batches_value = Signal::derive(move || spec.with(|s| s.batches.to_string()));
    let calib_value = Signal::derive(move || spec.with(|s| s.calibrate_on.to_string()));
    let drift_value = Signal::derive(move || spec.with(|s| s.drift.to_string()));
    let batch_options = Signal::derive(|| {
        [8usize, 16, 32, 64, 128]
            .iter()
            .map(|b| (b.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    });
    let on_batches = Callback::new(move |text: String| {
        if let Some(b) = parse::<usize>(&text) {
            state.try_stream(|s| {
                s.batches = b;
                s.calibrate_on = s.calibrate_on.min(b);
            });
        }
    });
    let on_calib = Callback::new(
        move |(text, edit): (String, Edit)| match parse::<usize>(&text) {
            Some(k) => state.try_stream(|s| s.calibrate_on = k),
            None if edit == Edit::Commit => {
                state.report(format!("calibrate on: \"{text}\" is not a whole number"))
            }
            None => {}
        },
    );
    let on_drift = Callback::new(
        move |(text, edit): (String, Edit)| match parse::<f64>(&text) {
            Some(d) => state.try_stream(|s| s.drift = d),
            None if edit == Edit::Commit => {
                state.report(format!("drift: \"{text}\" is not a number"))
            }
            None => {}
        },
    );
    let status = move || {
        state.stream.with(|c| match c {
            Studied::Off(why) => Some(why.clone()),
            Studied::Failed(why) => Some(format!("Not measured: {why}")),
            Studied::Waiting(_) => Some("Quantizing the stream…".to_string()),
            Studied::Ready(_) => None,
        })
    };
    let summary_rows = move || {
        study.get().map(|s| {
            let later = || s.batches.iter().skip(s.spec.calibrate_on);
            let rows = [
                (
                    "static",
                    mean_finite(later().map(|b| b.static_sqnr_db)),
                    later().map(|b| b.static_sqnr_db).fold(f64::INFINITY, f64::min),
                    later().map(|b| b.static_clipped).fold(0.0, f64::max),
                ),
                (
                    "dynamic",
                    mean_finite(later().map(|b| b.dynamic_sqnr_db)),
                    later().map(|b| b.dynamic_sqnr_db).fold(f64::INFINITY, f64::min),
                    0.0,
                ),
            ];
            rows.into_iter()
                .map(|(name, mean, worst, clipped)| {
                    view! {
                        <tr data-mode=name>
                            <td><span class=format!("swatch stream-{name}")></span>{name}</td>
                            <td class="num" data-col="mean-sqnr">{mean.map(format::db)}</td>
                            <td class="num" data-col="worst-sqnr">{format::db(worst)}</td>
                            <td class="num" data-col="clipped">{format!("{:.2} %", clipped * 100.0)}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    let static_range = move || {
        study.get().map(|s| {
            format!(
                "Static range [{}, {}], from the first {} batches",
                s.static_clip.0, s.static_clip.1, s.spec.calibrate_on
            )
        })
    };
    let batch_rows = move || {
        study.get().map(|s| {
            s.batches
                .iter()
                .enumerate()
                .map(|(t, b)| {
                    view! {
                        <tr data-batch=t.to_string()>
                            <td class="num">{t}</td>
                            <td class="num" data-col="min">{b.min.to_string()}</td>
                            <td class="num" data-col="max">{b.max.to_string()}</td>
                            <td class="num" data-col="static-sqnr">{format::db_cell(b.static_sqnr_db)}</td>
                            <td class="num" data-col="clipped">{format::db_cell(b.static_clipped)}</td>
                            <td class="num">{format!("[{}, {}]", format::number(f64::from(b.dynamic_clip.0), 4), format::number(f64::from(b.dynamic_clip.1), 4))}</td>
                            <td class="num" data-col="dynamic-sqnr">{format::db_cell(b.dynamic_sqnr_db)}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    let cost = move || {
        let (bits, calibration) = state.analysis.with(|a| {
            a.as_ref().map_or((0, String::new()), |a| {
                let c = a.config.calibration;
                let key = quantscope_core::config::calibrators(c, a.display.clip)
                    .into_iter()
                    .find(|(_, x)| std::mem::discriminant(x) == std::mem::discriminant(&c))
                    .map_or("", |(k, _)| k);
                (
                    a.config.bits,
                    super::calibrator_table::label(key).to_string(),
                )
            })
        });
        study.get().map(|s| {
            let measured = match (s.range_ms, s.quantize_ms) {
                (Some(r), Some(q)) if q > 0.0 => format!(
                    " Measured here: finding the {} ranges took {} ms against {} ms to quantize and measure them ({:.0} % more).",
                    s.batches.len(),
                    format::number(r, 3),
                    format::number(q, 3),
                    100.0 * r / q
                ),
                _ => String::new(),
            };
            format!(
                "The stream: {} batches of {} values (consecutive rows of the data), batch t scaled by e^({}·t/{}), at {} bits with {} calibration both ways. Static quantization fixes the range found on the first {} (shaded) and clips what later leaves it; dynamic quantization finds each batch's range at run time — one more pass over its {} values before any is quantized, and a new scale per batch. A batch's own range is not always better: one outlier stretches it, where a static range clips it.{measured}",
                s.batches.len(),
                format::count(s.batch_len),
                s.spec.drift,
                s.batches.len().saturating_sub(1),
                bits,
                calibration,
                s.spec.calibrate_on,
                format::count(s.batch_len),
            )
        })
    };
    view! {
            <section class="panel order-stream" aria-labelledby="stream-title">
                <h2 id="stream-title">"Dynamic vs static ranges"</h2>
                <div class="field-row">
                    <SelectField label="Batches" testid="stream-batches" options=batch_options value=batches_value on_select=on_batches />
                    <NumberField label="Calibrate on the first" testid="stream-calibrate" value=calib_value on_edit=on_calib min="1" step="1" />
                    <NumberField label="Range drift d" testid="stream-drift" value=drift_value on_edit=on_drift min="-5" max="5" step="0.25" />
                </div>
                <Show when=move || study.with(Option::is_some)>
                    <canvas
                        class="chart"
                        data-testid="dynamic-static"
                        node_ref=canvas_ref
                        aria-label="Each batch's range with the static range dashed across, the calibration batches shaded; below, each batch's SQNR with the static range and with its own"
                        on:pointermove=on_move
                        on:pointerleave=move |_| readout.set(None)
                    ></canvas>
                    <ul class="legend">
                        <li><span class="swatch stream-batch"></span>"a batch's min…max"</li>
                        <li><span class="swatch stream-calibration"></span>"calibration batches"</li>
                        <li><span class="swatch stream-static"></span>"static range, and its SQNR"</li>
                        <li><span class="swatch stream-dynamic"></span>"dynamic (each batch's own range)"</li>
                    </ul>
                    <p class="readout" data-testid="stream-readout" aria-live="polite">
                        {move || readout.get().unwrap_or_else(|| "Point at the chart to read a batch.".to_string())}
                    </p>
    <div class="table-scroll">
                    <table class="calibrators stream-summary" data-testid="stream-table">
                        <caption>"SQNR (dB) of the batches after calibration"</caption>
                        <thead><tr><th>"range"</th><th class="num">"mean"</th><th class="num">"worst"</th><th class="num">"most clipped"</th></tr></thead>
                        <tbody>{summary_rows}</tbody>
                    </table>
                    </div>
                    <details>
                        <summary>"Every batch"</summary>
                        <table class="calibrators" data-testid="stream-batches-table">
                            <caption data-testid="stream-static-range">{static_range}</caption>
                            <thead><tr><th class="num">"batch"</th><th class="num">"min"</th><th class="num">"max"</th><th class="num">"static SQNR"</th><th class="num">"clipped (fraction)"</th><th class="num">"own range"</th><th class="num">"dynamic SQNR"</th></tr></thead>
                            <tbody>{batch_rows}</tbody>
                        </table>
                    </details>
                    <p class="help" data-testid="stream-note">{cost}</p>
                </Show>
                <p class="help" data-testid="stream-status">{status}</p>
            </section>
        }
}
