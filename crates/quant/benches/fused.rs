//! Criterion benchmarks of the fused pass and of each calibration method, at 1M and 16M f32
//! values, next to a plain memory pass over the same data (the floor any pass pays).
//! `cargo bench -p quantscope-core --bench fused`; figures are recorded in docs/performance.md.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use quantscope_core::calib::aciq::AciqFit;
use quantscope_core::calib::clip_range_known;
use quantscope_core::synth::{generate, Distribution};
use quantscope_core::{analyze, AnalysisOptions, Calibration, Dataset, QuantizerConfig};

fn data(n: usize) -> Dataset {
    let values = generate(Distribution::Normal, n, 42).unwrap_or_default();
    Dataset::from_vec("bench", values).unwrap_or_else(|e| panic!("{e}"))
}

fn benches(c: &mut Criterion) {
    let sizes = [("1M", 1usize << 20), ("16M", 1usize << 24)];
    let mut g = c.benchmark_group("fused");
    g.sample_size(10);
    for (label, n) in sizes {
        let d = data(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("memory_pass", label), &d, |b, d| {
            b.iter(|| black_box(d.values().iter().map(|&v| f64::from(v)).sum::<f64>()))
        });
        let cfg = QuantizerConfig::default();
        let opts = AnalysisOptions::default();
        g.bench_with_input(
            BenchmarkId::new("analyze_int8_minmax", label),
            &d,
            |b, d| b.iter(|| black_box(analyze(d, &cfg, &opts).map(|a| a.metrics.mse))),
        );
    }
    g.finish();

    // The block and group formats next to the per-tensor pass, on the same 2-D data.
    let mut g = c.benchmark_group("blocks");
    g.sample_size(10);
    for (label, n) in sizes {
        let values = generate(Distribution::Normal, n, 42).unwrap_or_default();
        let d =
            Dataset::new("bench", vec![n / 1024, 1024], values).unwrap_or_else(|e| panic!("{e}"));
        g.throughput(Throughput::Elements(n as u64));
        let opts = AnalysisOptions {
            interactive: true,
            all_groups: false,
            ..Default::default()
        };
        for name in [
            "int8",
            "int4-g32",
            "int4-g128",
            "mxfp4",
            "mxfp6-e2m3",
            "mxfp8-e4m3",
            "nvfp4",
            "q4_0",
            "q4_1",
            "q8_0",
        ] {
            let cfg = quantscope_core::presets::preset(name).unwrap_or_default();
            g.bench_with_input(BenchmarkId::new(name, label), &d, |b, d| {
                b.iter(|| black_box(analyze(d, &cfg, &opts).map(|a| a.metrics.mse)))
            });
        }
    }
    g.finish();

    let mut g = c.benchmark_group("calibration");
    g.sample_size(10);
    for (label, n) in sizes {
        let d = data(n);
        g.throughput(Throughput::Elements(n as u64));
        for (name, calibration) in [
            ("minmax", Calibration::MinMax),
            ("percentile", Calibration::Percentile { p: 99.9 }),
            ("mse", Calibration::Mse),
            ("sqnr_gamma3", Calibration::Sqnr { gamma: 3.0 }),
            ("kl", Calibration::Kl),
            (
                "aciq",
                Calibration::Aciq {
                    fit: AciqFit::Laplace,
                },
            ),
        ] {
            let cfg = QuantizerConfig {
                calibration,
                ..Default::default()
            };
            // As analyze() calibrates a whole tensor: with the dataset's known finite (min, max).
            let known = Some((d.summary().min, d.summary().max));
            g.bench_with_input(BenchmarkId::new(name, label), &d, |b, d| {
                b.iter(|| black_box(clip_range_known(d.values(), &cfg, known)))
            });
        }
    }
    g.finish();
}

criterion_group!(fused, benches);
criterion_main!(fused);
