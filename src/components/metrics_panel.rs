//! The error metrics of the current quantization.

use leptos::prelude::*;

use crate::format;
use crate::state::use_app_state;

/// One metric: label, test id, plain-number text, explanation.
fn metric_rows(
    m: &quantscope_core::Metrics,
) -> Vec<(&'static str, Option<&'static str>, String, &'static str)> {
    vec![
        (
            "MSE",
            Some("metric-mse"),
            format::number(m.mse, 6),
            "mean of (r − r̂)²",
        ),
        (
            "of which clipping",
            Some("metric-clip-mse"),
            m.clipping_mse
                .map_or_else(|| "—".to_string(), |c| format::number(c, 6)),
            "the MSE's part from values outside the range; the rest is rounding inside it (measured by the per-tensor and per-channel integer passes)",
        ),
        (
            "RMSE",
            Some("metric-rmse"),
            format::number(m.rmse, 6),
            "√MSE, in the data's units",
        ),
        (
            "SQNR (dB)",
            Some("metric-sqnr"),
            format::number(m.sqnr_db, 5),
            "signal power over error power; +6 dB ≈ one more bit",
        ),
        (
            "Max |error|",
            Some("metric-max-abs"),
            format::number(m.max_abs_error, 6),
            "worst single value",
        ),
        (
            "Mean |error|",
            Some("metric-mean-abs"),
            format::number(m.mean_abs_error, 6),
            "average distance to r̂",
        ),
        (
            "Cosine similarity",
            Some("metric-cosine"),
            format::number(m.cosine_similarity, 8),
            "direction kept (1 = identical)",
        ),
        (
            "Clipped",
            Some("metric-clipped"),
            format::number(m.clipped_fraction, 6),
            "fraction of values beyond the outermost levels (saturated)",
        ),
        (
            "Levels used",
            Some("metric-levels"),
            m.levels_used.to_string(),
            "distinct values the codes in use stand for (±0 counts once), of those the format has",
        ),
        (
            "Code entropy (bits)",
            Some("metric-entropy"),
            format::number(m.code_entropy_bits, 5),
            "what an ideal entropy coder would need per value",
        ),
        (
            "Bits per value",
            Some("metric-bpv"),
            format::number(m.bits_per_value, 6),
            "code bits plus the stored scales, zero-points or codebook, spread over all values",
        ),
    ]
}

/// The metrics table.
#[component]
pub fn MetricsPanel() -> impl IntoView {
    let state = use_app_state();
    let rows = move || {
        state.analysis.get().map(|a| {
            let levels = Some(a.metrics.levels_available);
            metric_rows(&a.metrics)
                .into_iter()
                .map(|(label, id, value, help)| {
                    let suffix = levels
                        .filter(|_| id == Some("metric-levels"))
                        .map(format::count);
                    view! {
                        <div class="metric">
                            <dt>{label}</dt>
                            <dd>
                                <span class="value" data-testid=id>{value}</span>
                                {suffix.map(|s| view! { <span class="of">" of "<span data-testid="metric-levels-available">{s}</span></span> })}
                            </dd>
                            <dd class="metric-help">{help}</dd>
                        </div>
                    }
                })
                .collect_view()
        })
    };
    let measured = move || {
        state.analysis.get().map(|a| {
            let s = a.summary;
            let skipped = s.nan_count + s.inf_count;
            let measured = if skipped > 0 {
                format!(
                    "Measured over {} finite values; {} NaN and {} ±Inf left out.",
                    format::count(a.metrics.n),
                    s.nan_count,
                    s.inf_count
                )
            } else {
                format!("Measured over all {} values.", format::count(a.metrics.n))
            };
            match a.metrics.overflowed {
                0 => measured,
                k => format!(
                    "{measured} {} more overflow this format (reconstructed as ±Inf or NaN), so \
                     the error is unbounded: MSE Infinity, SQNR -Infinity.",
                    format::count(k)
                ),
            }
        })
    };
    view! {
        <section class="panel order-metrics" aria-labelledby="metrics-title">
            <h2 id="metrics-title">"Error"</h2>
            <dl class="metrics">{rows}</dl>
            <p class="help" data-testid="metrics-measured">{measured}</p>
            <p class="help compute" data-testid="compute-time">
                {move || state.stats.get().map(|s| format!(
                    "Computed in {} ms by {} worker{} (off the page's main thread).",
                    format::number(s.compute_ms, 3),
                    s.shares,
                    if s.shares == 1 { "" } else { "s" }
                ))}
            </p>
        </section>
    }
}
