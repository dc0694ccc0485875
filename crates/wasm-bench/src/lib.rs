//! The core's benchmark workloads ([`quantscope_core::workloads`]) timed as WebAssembly with the
//! host's `performance.now()` (Node's V8, the engine of Chromium): the WebAssembly half of
//! `scripts/bench/wasm.mjs`, whose other half is the native `workloads` example.

use wasm_bindgen::prelude::*;

fn now() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
        .ok()
        .and_then(|p| {
            let f = js_sys::Reflect::get(&p, &JsValue::from_str("now")).ok()?;
            let f: js_sys::Function = f.dyn_into().ok()?;
            f.call0(&p).ok()?.as_f64()
        })
        .unwrap_or_else(js_sys::Date::now)
}

/// Times every workload over `n` values (median of 15 runs after one warm-up) and returns
/// `{"name": ms, …}` as JSON text.
#[wasm_bindgen]
pub fn run(n: usize) -> String {
    run_only(n, "")
}

/// [`run`] for the workloads whose name contains `only` (all for "").
#[wasm_bindgen]
pub fn run_only(n: usize, only: &str) -> String {
    let mut out = serde_json::Map::new();
    for w in quantscope_core::workloads::workloads(n)
        .into_iter()
        .filter(|w| w.name.contains(only))
    {
        let mut sink = (w.run)();
        let mut times: Vec<f64> = (0..15)
            .map(|_| {
                let t = now();
                sink += (w.run)();
                now() - t
            })
            .collect();
        times.sort_by(f64::total_cmp);
        out.insert(
            w.name.to_string(),
            serde_json::json!(times[times.len() / 2]),
        );
        if sink.is_nan() {
            out.insert("note".into(), serde_json::json!("a workload returned NaN"));
        }
    }
    serde_json::Value::Object(out).to_string()
}

/// One layer-lab run (`method`: rtn, gptq or awq) on a synthetic `out` × `inputs` layer with
/// `tokens` tokens, int4 per output channel: its time in ms (`scripts/bench/layer.mjs`).
#[wasm_bindgen]
pub fn layer(out: usize, inputs: usize, tokens: usize, method: &str) -> f64 {
    use quantscope_core::layer::{self, Layer, LayerOptions, Method};
    use quantscope_core::synth::{generate, Distribution};
    let w = generate(Distribution::Normal, out * inputs, 1).unwrap_or_default();
    let x = generate(Distribution::StudentT { nu: 4.0 }, tokens * inputs, 2).unwrap_or_default();
    let Ok(l) = Layer::new(&w, &[out, inputs], &x, &[tokens, inputs]) else {
        return f64::NAN;
    };
    let config = quantscope_core::QuantizerConfig {
        bits: 4,
        scheme: quantscope_core::Scheme::Symmetric,
        granularity: quantscope_core::Granularity::Channel { axis: 0 },
        ..quantscope_core::QuantizerConfig::default()
    };
    let options = LayerOptions {
        method: Method::from_name(method).unwrap_or(Method::Rtn),
        ..LayerOptions::default()
    };
    let t = now();
    let ok = layer::run(&l, &config, &options, &mut |_| {}).is_ok();
    let ms = now() - t;
    if ok {
        ms
    } else {
        f64::NAN
    }
}
