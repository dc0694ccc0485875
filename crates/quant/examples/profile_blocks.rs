fn main() {
    use quantscope_core::*;
    let n = 1 << 22;
    let v = synth::generate(synth::Distribution::Normal, n, 1).unwrap_or_default();
    let d = Dataset::new("x", vec![n / 1024, 1024], v).unwrap();
    let o = AnalysisOptions {
        interactive: true,
        all_groups: false,
        ..Default::default()
    };
    let args: Vec<String> = std::env::args().collect();
    let names: Vec<&str> = if args.len() > 1 {
        args[1..].iter().map(|s| s.as_str()).collect()
    } else {
        vec![
            "mxfp4",
            "mxfp8-e4m3",
            "nvfp4",
            "q4_0",
            "q4_1",
            "q8_0",
            "int4-g32",
            "int4-g128",
            "int8",
            "nf4",
        ]
    };
    for p in names {
        let c = presets::preset(p).unwrap();
        for _ in 0..2 {
            let _ = analyze(&d, &c, &o);
        }
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t = std::time::Instant::now();
            let _ = analyze(&d, &c, &o);
            best = best.min(t.elapsed().as_secs_f64() * 1e3);
        }
        println!(
            "{p:12} {:.2} ms at 4M ({:.2} ns/value)",
            best,
            best * 1e6 / n as f64
        );
    }
}
