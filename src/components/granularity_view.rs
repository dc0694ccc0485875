//! "Granularity": where each channel's values lie against the range one per-tensor scale must
//! cover, what each channel loses by sharing it, and what finer granularities buy per bit.

use leptos::html::Canvas;
use leptos::prelude::*;
use quantscope_core::study::ChannelStudy;
use quantscope_core::Granularity;

use super::canvas::{draw_each_frame, fit_canvas};
use super::job_progress::TableProgress;
use crate::charts::channels::{channels_chart, draw_channels};
use crate::charts::groups::{draw_groups, groups_chart, short_label};
use crate::charts::PixelMap;
use crate::engine::client::Table;
use crate::format;
use crate::state::{use_app_state, Studied};

/// The band under channel `c`, in words.
fn describe_band(s: &ChannelStudy, c: f64) -> Option<String> {
    let b = s
        .bands
        .iter()
        .find(|b| (b.first as f64) <= c && c < (b.last + 1) as f64)
        .or(s.bands.last())?;
    let which = if b.first == b.last {
        format!("Channel {}", b.first)
    } else {
        format!("Channels {}–{}", b.first, b.last)
    };
    let sqnr: Vec<String> = s
        .series
        .iter()
        .enumerate()
        .map(|(i, name)| {
            format!(
                "{name} {} dB (channel {})",
                format::db(b.worst_sqnr_db.get(i).copied().unwrap_or(f64::NAN)),
                b.worst_channel.get(i).copied().unwrap_or(b.first)
            )
        })
        .collect();
    Some(format!(
        "{which}: values in [{}, {}]; worst SQNR {}.",
        format::number(f64::from(b.min), 4),
        format::number(f64::from(b.max), 4),
        sqnr.join(", ")
    ))
}

/// How much of the shared range the typical channel uses: the median over channels (bands) of
/// its width over the per-tensor range's.
fn median_use(s: &ChannelStudy) -> Option<f64> {
    let width = f64::from(s.tensor_clip.1) - f64::from(s.tensor_clip.0);
    if width <= 0.0 {
        return None;
    }
    let mut w: Vec<f64> = s
        .bands
        .iter()
        .filter(|b| b.min.is_finite())
        .map(|b| (f64::from(b.max) - f64::from(b.min)) / width)
        .collect();
    w.sort_by(f64::total_cmp);
    w.get(w.len() / 2).copied()
}

/// The granularity panel.
#[component]
pub fn GranularityView() -> impl IntoView {
    let state = use_app_state();
    let ranges_ref = NodeRef::<Canvas>::new();
    let groups_ref = NodeRef::<Canvas>::new();
    let map = StoredValue::new(None::<PixelMap>);
    let readout = RwSignal::new(None::<String>);
    let groups_map = StoredValue::new(None::<PixelMap>);
    let groups_readout = RwSignal::new(None::<String>);
    let study = Memo::new(move |_| state.channels.with(|c| c.result().cloned()));
    let sweep = Memo::new(move |_| state.group_rows.get());
    draw_each_frame(
        move || {
            study.track();
            ranges_ref.track();
        },
        move || {
            let (Some(s), Some(canvas)) = (study.get_untracked(), ranges_ref.get_untracked())
            else {
                return;
            };
            let (scale, _) = fit_canvas(&canvas);
            match draw_channels(canvas, &channels_chart(&s), scale) {
                Ok(m) => map.set_value(Some(m)),
                Err(e) => leptos::logging::error!("channels: {e}"),
            }
        },
    );
    let current_name = move || {
        sweep.with(|s| {
            s.as_ref()
                .map_or(String::new(), |s| match s.base.granularity {
                    Granularity::Tensor => "tensor".into(),
                    Granularity::Channel { .. } => "channel".into(),
                    Granularity::Group { size } => size.to_string(),
                })
        })
    };
    draw_each_frame(
        move || {
            sweep.track();
            groups_ref.track();
        },
        move || {
            let (Some(s), Some(canvas)) = (sweep.get_untracked(), groups_ref.get_untracked())
            else {
                return;
            };
            let (scale, _) = fit_canvas(&canvas);
            match draw_groups(canvas, &groups_chart(&s.sorted(), &current_name()), scale) {
                Ok(m) => groups_map.set_value(Some(m)),
                Err(e) => leptos::logging::error!("groups: {e}"),
            }
        },
    );
    let on_move = move |ev: leptos::ev::PointerEvent| {
        let Some(m) = map.get_value() else {
            return;
        };
        let c = f64::from(m.value_at(f64::from(ev.offset_x())));
        readout.set(study.with_untracked(|s| describe_band(s.as_ref()?, c)));
    };
    let on_groups_move = move |ev: leptos::ev::PointerEvent| {
        let Some(m) = groups_map.get_value() else {
            return;
        };
        let x = f64::from(m.value_at(f64::from(ev.offset_x())));
        groups_readout.set(sweep.with_untracked(|s| {
            let p = s.as_ref()?.points.iter().min_by(|a, b| {
                (a.bits_per_value - x)
                    .abs()
                    .total_cmp(&(b.bits_per_value - x).abs())
            })?;
            Some(format!(
                "{}: one scale per {} values, {} bits per value, SQNR {} dB, MSE {}.",
                short_label(&p.name),
                format::count(p.span),
                format::number(p.bits_per_value, 5),
                format::db(p.sqnr_db),
                format::number(p.mse, 5)
            ))
        }));
    };
    let status = move || {
        state.channels.with(|c| match c {
            Studied::Off(why) => Some(why.clone()),
            Studied::Failed(why) => Some(format!("Not measured: {why}")),
            Studied::Waiting(_) => Some("Measuring every channel…".to_string()),
            Studied::Ready(_) => None,
        })
    };
    let summary = move || {
        study.get().map(|s| {
            let shared = median_use(&s).map(|u| {
                format!(
                    " The median channel spans {:.0} % of the per-tensor range, so under one shared scale it gets about that fraction of the levels.",
                    u * 100.0
                )
            });
            let setters: Vec<String> = s.setters.iter().map(usize::to_string).collect();
            format!(
                "{} channels of {} values. The per-tensor range [{}, {}] (the current calibration, dashed) is set by channel{} {} (in orange).{}",
                format::count(s.channels),
                format::count(s.per_channel),
                format::number(f64::from(s.tensor_clip.0), 4),
                format::number(f64::from(s.tensor_clip.1), 4),
                if setters.len() == 1 { "" } else { "s" },
                setters.join(" and "),
                shared.unwrap_or_default()
            )
        })
    };
    let series_rows = move || {
        study.get().map(|s| {
            s.series
                .iter()
                .zip(&s.sqnr_db)
                .enumerate()
                .map(|(i, (name, v))| {
                    let worst = s
                        .bands
                        .iter()
                        .filter_map(|b| b.worst_sqnr_db.get(i).map(|&d| (d, b.worst_channel[i])))
                        .min_by(|a, b| a.0.total_cmp(&b.0));
                    view! {
                        <tr data-series=name.clone()>
                            <td><span class=format!("swatch channel-series-{i}")></span>{name.clone()}</td>
                            <td class="num" data-col="sqnr">{format::db_cell(*v)}</td>
                            <td class="num" data-col="worst">{worst.map(|w| format!("{} (channel {})", format::db(w.0), w.1))}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    let group_rows = move || {
        sweep.get().map(|s| {
            let now = current_name();
            s.sorted()
                .into_iter()
                .map(|p| {
                    let current = p.name == now;
                    view! {
                        <tr data-granularity=p.name.clone() class=if current { "yours" } else { "" }>
                            <td>{short_label(&p.name)}{current.then_some(" (now)")}</td>
                            <td class="num">{format::count(p.span)}</td>
                            <td class="num" data-col="bpv">{format::number(p.bits_per_value, 6)}</td>
                            <td class="num" data-col="sqnr">{format::db_cell(p.sqnr_db)}</td>
                            <td class="num" data-col="mse">{format::number(p.mse, 6)}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    let group_note = move || {
        let total = state.data.with(|d| d.as_ref().map_or(0, |d| d.len()));
        sweep.with(|s| {
            s.as_ref().map(|s| {
                if s.points.len() < s.expected {
                    format!(
                        "Measuring each granularity on all {} values: {} of {} done.",
                        format::count(total),
                        s.points.len(),
                        s.expected
                    )
                } else {
                    format!(
                        "Each point quantizes all {} values at {} bits with its own scale (and zero-point) per tensor, channel or group; the bits per value count the stored {} scales. Smaller groups follow the data more closely and cost more bits.",
                        format::count(total),
                        s.base.bits,
                        s.base.scale_format.name()
                    )
                }
            })
        })
    };
    view! {
        <Show when=move || sweep.with(Option::is_some) || !state.channels.with(|c| matches!(c, Studied::Off(_)))>
            <section class="panel order-granularity" aria-labelledby="granularity-title">
                <h2 id="granularity-title">"Granularity: channels and groups"</h2>
                <Show when=move || study.with(Option::is_some)>
                    <canvas
                        class="chart"
                        data-testid="channel-ranges"
                        node_ref=ranges_ref
                        aria-label="Each channel's min to max as a bar along the channel axis, the per-tensor range dashed across it, the channels that set it in orange; below, each channel's SQNR under a per-tensor and a finer scale"
                        on:pointermove=on_move
                        on:pointerleave=move |_| readout.set(None)
                    ></canvas>
                    <ul class="legend">
                        <li><span class="swatch channel-band"></span>"a channel's min…max"</li>
                        <li><span class="swatch channel-setter"></span>"sets the per-tensor range"</li>
                        <li><span class="swatch channel-tensor"></span>"per-tensor range"</li>
                    </ul>
                    <p class="readout" data-testid="channel-readout" aria-live="polite">
                        {move || readout.get().unwrap_or_else(|| "Point at the chart to read a channel's range and SQNR.".to_string())}
                    </p>
                    <table class="calibrators" data-testid="channel-sqnr-table">
                        <thead><tr><th>"scale per"</th><th class="num">"SQNR (dB)"</th><th class="num">"worst channel (dB)"</th></tr></thead>
                        <tbody>{series_rows}</tbody>
                    </table>
                    <p class="help" data-testid="channel-summary">{summary}</p>
                </Show>
                <p class="help" data-testid="channel-status">{status}</p>
                <Show when=move || sweep.with(Option::is_some)>
                    <h3>"Error against group size"</h3>
                    <canvas
                        class="chart chart-short"
                        data-testid="sweep-groups"
                        node_ref=groups_ref
                        aria-label="SQNR against bits per value, scales included, per tensor, per channel and per group of 8 to 1024 values"
                        on:pointermove=on_groups_move
                        on:pointerleave=move |_| groups_readout.set(None)
                    ></canvas>
                    <p class="readout" data-testid="sweep-groups-readout" aria-live="polite">
                        {move || groups_readout.get().unwrap_or_else(|| "Point at the chart to read a granularity's figures; the circle is the current one.".to_string())}
                    </p>
                    <details>
                        <summary>"The numbers"</summary>
                        <table class="calibrators" data-testid="sweep-groups-table">
                            <thead><tr><th>"scale per"</th><th class="num">"values per scale"</th><th class="num">"bits/value"</th><th class="num">"SQNR (dB)"</th><th class="num">"MSE"</th></tr></thead>
                            <tbody>{group_rows}</tbody>
                        </table>
                    </details>
                    <p class="help" data-testid="sweep-groups-note">{group_note}</p>
                    <TableProgress table=Table::Groups testid="groups-progress" />
                </Show>
            </section>
        </Show>
    }
}
