//! "Integer-only arithmetic": one output of an int8 linear layer followed through the integers an
//! accelerator computes — the int8 operands, the int32 accumulator, the fixed-point multiplier M0
//! and its shift in binary, the rounding steps, the int8 result — beside the float result. The
//! numbers are the core's `intmatmul` (TensorFlow Lite's reference arithmetic, as
//! `quantscope int-matmul --example SEED`).

use leptos::prelude::*;
use quantscope_core::intmatmul::{example, int_matmul, walk};

use super::fields::{Edit, NumberField, SelectField};
use crate::format;

/// x as 31 bits (M0 is below 2^31), grouped by eight from the right.
fn binary31(x: i32) -> String {
    let s = format!("{:031b}", x.max(0));
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (31 - i) % 8 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[component]
pub fn IntView() -> impl IntoView {
    let seed = RwSignal::new(1u64);
    let row = RwSignal::new(0usize);
    let col = RwSignal::new(0usize);
    let layer = Memo::new(move |_| {
        let (x, xs, w, ws) = example(seed.get());
        int_matmul(&x, &xs, &w, &ws).ok().map(|r| (r, x, w))
    });
    let step = Memo::new(move |_| {
        layer.with(|l| {
            l.as_ref()
                .and_then(|(r, x, w)| walk(r, x, w, row.get(), col.get()))
        })
    });
    let seed_value = Signal::derive(move || seed.get().to_string());
    let on_seed =
        Callback::new(
            move |(text, edit): (String, Edit)| match text.trim().parse::<u64>() {
                Ok(s) => seed.set(s),
                Err(_) if edit == Edit::Commit => {
                    if let Some(state) = use_context::<crate::state::AppState>() {
                        state.report(format!("example seed: \"{text}\" is not a whole number"));
                    }
                }
                Err(_) => {}
            },
        );
    let rows = Signal::derive(|| {
        (0..4)
            .map(|i| (i.to_string(), format!("token {i}")))
            .collect::<Vec<_>>()
    });
    let cols = Signal::derive(|| {
        (0..3)
            .map(|j| (j.to_string(), format!("output {j}")))
            .collect::<Vec<_>>()
    });
    let row_value = Signal::derive(move || row.get().to_string());
    let col_value = Signal::derive(move || col.get().to_string());
    let on_row = Callback::new(move |v: String| row.set(v.parse().unwrap_or(0)));
    let on_col = Callback::new(move |v: String| col.set(v.parse().unwrap_or(0)));
    let scales = move || {
        layer.with(|l| {
            l.as_ref().map(|(r, _, _)| {
                format!(
                    "X: S_x = {}, Z_x = {} (int8 per tensor, asymmetric). W row {}: S_w = {}, symmetric in [−127, 127]. Y: S_y = {}, Z_y = {} (from the float result's range).",
                    r.input_scale,
                    r.input_zero_point,
                    col.get(),
                    r.weight_scale.get(col.get()).copied().unwrap_or(0.0),
                    r.output_scale,
                    r.output_zero_point
                )
            })
        })
    };
    let terms = move || {
        step.get().map(|s| {
            s.terms
                .iter()
                .enumerate()
                .map(|(t, &(x, xq, xz, w, wq, p))| {
                    view! {
                        <tr>
                            <td class="num">{t}</td>
                            <td class="num">{format::number(f64::from(x), 4)}</td>
                            <td class="num">{xq}</td>
                            <td class="num">{xz}</td>
                            <td class="num">{format::number(f64::from(w), 4)}</td>
                            <td class="num">{wq}</td>
                            <td class="num">{p}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    let steps = move || {
        step.get().map(|s| {
            let left = s.shift.max(0);
            view! {
                <ol class="int-steps" data-testid="int-steps">
                    <li>"int32 accumulator: Σ (x_q − Z_x)·w_q = " <b data-testid="int-acc">{s.acc}</b></li>
                    <li>
                        "multiplier M = S_x·S_w / S_y = " {format!("{:.10}", s.m_real)} " ≈ M0 · 2^(shift − 31) with M0 = "
                        <b data-testid="int-m0">{s.m0}</b> " = " <code class="bits">{binary31(s.m0)}</code>
                        ", shift = " <b data-testid="int-shift">{s.shift}</b>
                        {format!(" (M0 · 2^(shift − 31) = {:.10})", s.m_fixed)}
                    </li>
                    <li>{format!("shift left by {left}: {} · 2^{left} = {}", s.acc, s.shifted)}</li>
                    <li>{format!("rounding doubling high multiply: round({} · {} / 2^31) = {}", s.shifted, s.m0, s.high)}</li>
                    <li>{format!("rounding shift right by {}: {} → {}", s.right, s.high, s.scaled)}</li>
                    <li>"+ Z_y, clamped to [−128, 127]: " {format!("{} → ", s.with_zero)} <b data-testid="int-yq">{s.y_q}</b></li>
                    <li>
                        "dequantized S_y (y_q − Z_y) = " <b data-testid="int-yhat">{format::number(f64::from(s.y_hat), 5)}</b>
                        "; the float result X·Wᵀ = " <b data-testid="int-y">{format::number(f64::from(s.y), 5)}</b>
                        {format!(" (error {})", format::number(f64::from(s.y_hat - s.y), 3))}
                    </li>
                </ol>
            }
        })
    };
    view! {
        <section class="panel order-int" aria-labelledby="int-title">
            <h2 id="int-title">"Integer-only arithmetic: one output, step by step"</h2>
            <p class="help">"Why integers win on hardware: between the int8 inputs and the int8 output nothing but integer arithmetic runs. The real rescaling factor M = S_x·S_w/S_y becomes a 31-bit integer and a shift, so even the rescaling is a multiply and a rounding shift (TensorFlow Lite's reference kernels, checked bit for bit). A small layer: 4 tokens × 16 inputs, 3 outputs, one large activation and one outlier weight."</p>
            <div class="field-row">
                <NumberField label="Example seed" testid="int-seed" value=seed_value on_edit=on_seed min="0" step="1" />
                <SelectField label="Token (row of X)" testid="int-row" options=rows value=row_value on_select=on_row />
                <SelectField label="Output (row of W)" testid="int-col" options=cols value=col_value on_select=on_col />
            </div>
            <p class="help" data-testid="int-scales">{scales}</p>
            {steps}
            <details>
                <summary>"The 16 products"</summary>
                <div class="table-scroll">
                    <table class="calibrators" data-testid="int-terms">
                        <thead><tr><th class="num">"k"</th><th class="num">"x"</th><th class="num">"x_q"</th><th class="num">"x_q − Z_x"</th><th class="num">"w"</th><th class="num">"w_q"</th><th class="num">"product"</th></tr></thead>
                        <tbody>{terms}</tbody>
                    </table>
                </div>
            </details>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m0_is_shown_as_31_bits_in_bytes_from_the_right() {
        assert_eq!(binary31(1 << 30), "1000000 00000000 00000000 00000000");
        assert_eq!(binary31(5), "0000000 00000000 00000000 00000101");
    }
}
