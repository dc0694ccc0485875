//! One value's bits before and after quantization, coloured by meaning (sign, exponent,
//! mantissa, integer, index), with its code and reconstruction.

use leptos::prelude::*;
use quantscope_core::family::inspect;
use quantscope_core::inspect::{f32_fields, BitField, BitRole};

use crate::format;
use crate::state::use_app_state;

fn class_of(role: BitRole) -> &'static str {
    match role {
        BitRole::Sign => "bits-sign",
        BitRole::Exponent => "bits-exp",
        BitRole::Mantissa => "bits-man",
        BitRole::Integer => "bits-int",
        BitRole::Fraction => "bits-frac",
        BitRole::Index => "bits-index",
    }
}

fn bit_row(fields: Vec<BitField>) -> impl IntoView {
    fields
        .into_iter()
        .map(|f| {
            let title = format!("{:?}", f.role).to_lowercase();
            view! { <span class=class_of(f.role) title=title>{f.bits}</span> }
        })
        .collect_view()
}

/// The inspector for `value`.
#[component]
pub fn BitInspector(#[prop(into)] value: Signal<Option<f32>>) -> impl IntoView {
    let state = use_app_state();
    let body = move || {
        let v = value.get()?;
        let a = state.analysis.get()?;
        let Some(i) = inspect(v, &a) else {
            return Some(
                view! {
                    <p class="help">"A vector codebook codes several values at once; there is no per-value code to show."</p>
                }
                .into_any(),
            );
        };
        let n = |x: f32| format::number(f64::from(x), 7);
        Some(
            view! {
                <table class="bits">
                    <tr>
                        <th>"float32 (in memory)"</th>
                        <td class="bitstring" data-testid="bits-source">{bit_row(f32_fields(v))}</td>
                        <td>{n(v)}</td>
                    </tr>
                    <tr>
                        <th>{i.target_label.clone()}</th>
                        <td class="bitstring" data-testid="bits-target">{bit_row(i.target.clone())}</td>
                        <td data-testid="bits-code">{format!("code {}", i.code)}</td>
                    </tr>
                    // A GGML block's scales as stored: the super-block's f16 fields, the
                    // sub-block's quantized scale and min.
                    {i.stored.iter().map(|f| view! {
                        <tr data-testid="bits-stored">
                            <th>{format!("stored {}", f.name)}</th>
                            <td class="bitstring"><span class="bits-int">{f.bits.clone()}</span></td>
                            <td>{format::number(f.value, 7)}</td>
                        </tr>
                    }).collect_view()}
                </table>
                <p class="worked" data-testid="bits-summary">
                    {if i.offset != 0.0 {
                        format!(
                            "r = {} → (r − o) / S = {} (S = {}, o = {}) → stored code {} → r̂ = {}{} (error {}).",
                            n(v),
                            n(i.scaled),
                            n(i.scale),
                            n(i.offset),
                            i.code,
                            n(i.r_hat),
                            if i.clipped { ", saturated: r lies beyond the largest level" } else { "" },
                            n(v - i.r_hat)
                        )
                    } else {
                        format!(
                            "r = {} → r / S = {} (S = {}) → stored code {} → r̂ = {}{} (error {}).",
                            n(v),
                            n(i.scaled),
                            n(i.scale),
                            i.code,
                            n(i.r_hat),
                            if i.clipped { ", saturated: r lies beyond the largest level" } else { "" },
                            n(v - i.r_hat)
                        )
                    }}
                </p>
                <p class="legend">
                    <span class="bits-sign">"sign"</span>" "
                    <span class="bits-exp">"exponent"</span>" "
                    <span class="bits-man">"mantissa"</span>" "
                    <span class="bits-int">"integer"</span>" "
                    <span class="bits-frac">"fraction"</span>" "
                    <span class="bits-index">"index"</span>
                </p>
            }
            .into_any(),
        )
    };
    view! { <div class="bit-inspector" data-testid="bit-inspector">{body}</div> }
}
