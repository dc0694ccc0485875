//! One public component per file; small shared field helpers in `fields`.

pub mod ab_panel;
pub mod bit_inspector;
pub mod bits_sweep;
pub mod calibrator_table;
pub mod canvas;
pub mod clip_sweep;
pub mod controls;
pub mod data_source;
pub mod diff_panel;
pub mod dynamic_static;
pub mod error_banner;
pub mod export_panel;
pub mod fields;
pub mod format_controls;
pub mod formats_table;
pub mod formula_panel;
pub mod granularity_view;
pub mod histogram_view;
pub mod int_view;
pub mod job_progress;
pub mod layer_lab;
pub mod metrics_panel;
pub mod model_view;
pub mod transfer_view;
pub mod vector_view;
