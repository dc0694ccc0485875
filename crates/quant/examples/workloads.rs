//! Times the shared benchmark workloads natively (median of 15 runs after one warm-up) and prints
//! one JSON line: `{"name": ms, …}`. `scripts/bench/wasm.mjs` prints it beside the WebAssembly
//! figures of the same workloads.
//! `cargo run --release -p quantscope-core --features workloads --example workloads -- [N]`

fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1 << 20);
    let mut out = serde_json::Map::new();
    for w in quantscope_core::workloads::workloads(n) {
        let mut sink = (w.run)();
        let mut times: Vec<f64> = (0..15)
            .map(|_| {
                let t = std::time::Instant::now();
                sink += (w.run)();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        out.insert(
            w.name.to_string(),
            serde_json::json!(times[times.len() / 2]),
        );
        std::hint::black_box(sink);
    }
    println!("{}", serde_json::Value::Object(out));
}
