//! Arbitrary f32 bit patterns through the quantizer's hot paths: the first bytes choose the
//! configuration (format, calibration, granularity, scheme, bits, scale storage), the rest are the
//! values. Every run ends in a typed error or an analysis whose figures are numbers (never NaN;
//! finite unless the format overflows, which it reports), whose histograms hold every finite
//! value, and whose codes agree between `analyze_and_quantize` and `quantize`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quantscope_core::calib::aciq::AciqFit;
use quantscope_core::{
    analyze_and_quantize, quantize, AnalysisOptions, Calibration, Dataset, Format, Granularity,
    QuantizerConfig, ScaleFormat, Scheme,
};

const CALIBRATIONS: [Calibration; 8] = [
    Calibration::MinMax,
    Calibration::Percentile { p: 99.9 },
    Calibration::Mse,
    Calibration::Sqnr { gamma: 3.0 },
    Calibration::Kl,
    Calibration::Aciq {
        fit: AciqFit::Laplace,
    },
    Calibration::Aciq { fit: AciqFit::Gauss },
    Calibration::Manual { lo: -1.0, hi: 2.0 },
];

fuzz_target!(|data: &[u8]| {
    let Some((head, body)) = data.split_first_chunk::<6>() else {
        return;
    };
    let values: Vec<f32> = body
        .chunks_exact(4)
        .take(4096)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let rows = usize::from(head[4] % 8) + 1;
    if values.is_empty() || values.len() % rows != 0 {
        return;
    }
    let cols = values.len() / rows;
    let Ok(d) = Dataset::new("fuzz", vec![rows, cols], values) else {
        return;
    };
    let format = Format::ALL[usize::from(head[0]) % Format::ALL.len()];
    let granularity = match head[1] % 4 {
        0 => Granularity::Tensor,
        1 => Granularity::Channel { axis: 0 },
        2 => Granularity::Channel { axis: 1 },
        _ => Granularity::Group {
            size: usize::from(head[1] >> 2).max(1),
        },
    };
    let config = QuantizerConfig {
        format,
        granularity,
        calibration: CALIBRATIONS[usize::from(head[2]) % CALIBRATIONS.len()],
        scheme: if head[3] & 1 == 0 {
            Scheme::Symmetric
        } else {
            Scheme::Asymmetric
        },
        bits: (head[3] >> 1) % 16 + 1,
        scale_format: ScaleFormat::ALL[usize::from(head[5]) % ScaleFormat::ALL.len()],
        levels: u32::from(head[5] >> 3) % 30 + 2,
        vector_dim: if head[5] & 4 != 0 { 2 } else { 1 },
        ..Default::default()
    };
    let options = AnalysisOptions {
        interactive: head[4] & 0x80 != 0,
        ..Default::default()
    };
    let (a, q) = match analyze_and_quantize(&d, &config, &options) {
        Ok(both) => both,
        Err(e) => {
            assert_eq!(quantize(&d, &config).err(), Some(e), "one verdict per configuration");
            return;
        }
    };
    let m = &a.metrics;
    let finite = d.summary().finite;
    assert_eq!(m.n + m.overflowed, finite);
    for v in [
        m.mse,
        m.rmse,
        m.sqnr_db,
        m.max_abs_error,
        m.mean_abs_error,
        m.cosine_similarity,
        m.clipped_fraction,
        m.code_entropy_bits,
        m.bits_per_value,
    ] {
        assert!(!v.is_nan(), "a NaN figure: {m:?}");
    }
    if m.overflowed == 0 {
        assert!(m.mse.is_finite() && m.max_abs_error.is_finite(), "{m:?}");
        assert!(m.sqnr_db.is_finite() || m.mse == 0.0, "{m:?}");
    }
    assert_eq!(a.input_hist.total(), finite as u64);
    assert!(a.input_hist.lo < a.input_hist.hi && a.input_hist.hi.is_finite());
    assert!(a.levels.iter().all(|l| l.is_finite()));
    let again = quantize(&d, &config).expect("analyze accepted this configuration");
    assert_eq!(again.codes, q.codes, "one calibration, one set of codes");
});
