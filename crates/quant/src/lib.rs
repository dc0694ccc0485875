//! Quantscope's numeric core: quantizers, calibration, metrics, histograms and tensor readers.
//!
//! Pure computation on slices: no file system, no DOM, no threads. The web app and the CLI both call
//! [`analyze`] (the fused quantize → measure → bin pass) and read files through [`io`].

pub mod affine;
pub mod allocate;
pub mod analysis;
pub mod analyze;
pub mod block;
pub mod calib;
pub mod codebook;
pub mod config;
pub mod dataset;
pub mod diff;
pub mod family;
pub mod format;
pub mod formula;
mod fused;
pub mod ggml;
pub mod granularity;
pub mod group_view;
pub mod histogram;
pub mod inspect;
pub mod intmatmul;
pub mod io;
pub mod kmeans;
pub mod layer;
pub mod metrics;
pub mod minifloat;
pub mod numberline;
pub mod plan;
pub mod pq;
pub mod presets;
pub mod run;
pub mod study;
pub mod synth;
pub mod text;
pub mod wire;
#[cfg(feature = "workloads")]
pub mod workloads;

pub use affine::AffineParams;
pub use analysis::{
    merge, Analysis, AnalysisOptions, AnalyzeError, GroupParams, MergeError, Merger,
    PartialAnalysis, Quantized, Share,
};
pub use block::{ScaleFormat, ScaleRounding};
pub use config::{Calibration, Granularity, QuantizerConfig, Rounding, Scheme, Signedness};
pub use dataset::{Dataset, DatasetError, Summary};
pub use format::Format;
pub use histogram::Histogram;
pub use metrics::Metrics;
pub use run::{analyze, analyze_and_quantize, analyze_share, quantize};

// The unit tests also run on wasm32 in headless Chromium (scripts/test.sh), proving the WebAssembly
// build computes the same numbers.
#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
