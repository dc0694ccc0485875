//! The app's state: a few signals, and the memos that call the core.
//!
//! ```text
//! synth settings ─► synthetic dataset ─┐
//!                                      ├─► current dataset ─┐
//! file + tensor  ─► file dataset ──────┘                    ├─► analyze() ─► views
//! config, display group ────────────────────────────────────┘
//! ```
//! Every user change goes through a `try_*` method that checks it first; a rejected change sets the
//! error banner and leaves data and settings as they were.

use std::ops::Deref;
use std::sync::Arc;

use leptos::prelude::*;
use quantscope_core::plan::check_layout;
use quantscope_core::presets::{compare, sample_rows, Comparison};
use quantscope_core::synth::{self, Distribution};
use quantscope_core::{
    analyze, Analysis, AnalysisOptions, Dataset, Format, Granularity, QuantizerConfig,
};

use crate::loader::LoadedFile;

/// An `Arc` compared by identity, so memos holding large values compare in O(1).
#[derive(Debug)]
pub struct Shared<T>(pub Arc<T>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}
impl<T> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl<T> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
impl<T> Shared<T> {
    pub fn new(value: T) -> Self {
        Self(Arc::new(value))
    }
}

/// Settings of the synthetic source.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthSettings {
    pub dist: Distribution,
    pub n: usize,
    pub seed: u64,
}

impl Default for SynthSettings {
    fn default() -> Self {
        Self {
            dist: Distribution::Normal,
            n: 100_000,
            seed: 1,
        }
    }
}

/// Smallest and largest N offered in the page.
pub const MIN_N: usize = 1_000;
pub const MAX_N: usize = 16_000_000;

/// Where the current data comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Synthetic,
    File,
}

/// The state shared by the components (all fields are `Copy` handles).
#[derive(Clone, Copy)]
pub struct AppState {
    pub synth: RwSignal<SynthSettings>,
    pub source: RwSignal<Source>,
    pub file: RwSignal<Option<Shared<LoadedFile>>>,
    /// The browser's handle of a safetensors file opened header first (its tensors are read from
    /// it one at a time). Main-thread only, like every DOM object.
    pub file_blob: StoredValue<Option<web_sys::File>, LocalStorage>,
    pub file_tensor: RwSignal<String>,
    pub file_dataset: RwSignal<Option<Shared<Dataset>>>,
    pub config: RwSignal<QuantizerConfig>,
    pub display_group: RwSignal<usize>,
    /// The value followed through the formulas and the bit inspector (`None`: a default).
    pub probe: RwSignal<Option<f32>>,
    pub log_y: RwSignal<bool>,
    pub error: RwSignal<Option<String>>,
    pub notice: RwSignal<Option<String>>,
    /// The current dataset (synthetic or file).
    pub dataset: Memo<Option<Shared<Dataset>>>,
    /// The latest successful analysis (a failed one keeps the previous view).
    pub analysis: Memo<Option<Shared<Analysis>>>,
    /// Whole rows of the dataset, at most [`COMPARISON_VALUES`] values, for the formats table.
    pub comparison_sample: Memo<Option<Shared<Dataset>>>,
    /// Every preset that fits, measured on the sample (recomputed only when the data changes).
    pub preset_rows: Memo<Option<Shared<Vec<Comparison>>>>,
}

/// Values the "formats side by side" comparison measures (whole rows of the data).
pub const COMPARISON_VALUES: usize = 65_536;

/// Histogram bins of the views.
pub const HISTOGRAM_BINS: usize = 160;

impl AppState {
    /// Creates the signals and memos (call once, inside the reactive owner of the app).
    pub fn new() -> Self {
        let synth = RwSignal::new(SynthSettings::default());
        let source = RwSignal::new(Source::Synthetic);
        let file = RwSignal::new(None);
        let file_blob = StoredValue::new_local(None);
        let file_tensor = RwSignal::new(String::new());
        let file_dataset = RwSignal::new(None::<Shared<Dataset>>);
        let config = RwSignal::new(QuantizerConfig::default());
        let display_group = RwSignal::new(0usize);
        let probe = RwSignal::new(None::<f32>);
        let log_y = RwSignal::new(false);
        let error = RwSignal::new(None::<String>);
        let notice = RwSignal::new(None::<String>);

        // Settings are validated before they are stored, so generation cannot fail here; if it ever
        // did, the previous dataset stays.
        let synthetic = Memo::new(move |prev: Option<&Option<Shared<Dataset>>>| {
            let s = synth.get();
            match synthetic_dataset(&s) {
                Ok(d) => Some(Shared::new(d)),
                Err(e) => {
                    error.set(Some(e));
                    prev.cloned().flatten()
                }
            }
        });
        let dataset = Memo::new(move |_| match source.get() {
            Source::Synthetic => synthetic.get(),
            Source::File => file_dataset.get(),
        });
        let analysis = Memo::new(move |prev: Option<&Option<Shared<Analysis>>>| {
            let data = dataset.get()?;
            let cfg = config.get();
            let options = AnalysisOptions {
                bins: HISTOGRAM_BINS,
                display_group: display_group.get(),
                interactive: true,
                all_groups: false,
            };
            match analyze(&data, &cfg, &options) {
                Ok(a) => Some(Shared::new(a)),
                Err(e) => {
                    error.set(Some(format!("{e}")));
                    prev.cloned().flatten()
                }
            }
        });
        let comparison_sample = Memo::new(move |_| {
            let d = dataset.get()?;
            sample_rows(&d, COMPARISON_VALUES).ok().map(Shared::new)
        });
        let preset_rows = Memo::new(move |_| {
            let sample = comparison_sample.get()?;
            let options = AnalysisOptions {
                bins: 16,
                display_group: 0,
                interactive: true,
                all_groups: false,
            };
            Some(Shared::new(compare(&sample, &[], &options)))
        });
        Self {
            synth,
            source,
            file,
            file_blob,
            file_tensor,
            file_dataset,
            config,
            display_group,
            probe,
            log_y,
            error,
            notice,
            dataset,
            analysis,
            comparison_sample,
            preset_rows,
        }
    }

    /// Applies `edit` to the configuration if the result is valid for the current data; otherwise
    /// reports why and re-sends the old value to the inputs.
    pub fn try_config(&self, edit: impl FnOnce(&mut QuantizerConfig)) {
        let mut candidate = self.config.get_untracked();
        edit(&mut candidate);
        let shape = self.dataset.get_untracked().map(|d| d.shape().to_vec());
        match check_config(&candidate, shape.as_deref()) {
            Ok(()) => {
                self.error.set(None);
                if matches!(candidate.granularity, Granularity::Tensor) {
                    self.display_group.set(0);
                }
                self.config.set(candidate);
            }
            Err(e) => {
                self.error.set(Some(e));
                self.config.notify();
            }
        }
    }

    /// Applies `edit` to the synthetic settings if valid, and makes synthetic data the source.
    pub fn try_synth(&self, edit: impl FnOnce(&mut SynthSettings)) {
        let mut candidate = self.synth.get_untracked();
        edit(&mut candidate);
        match check_synth(&candidate) {
            Ok(()) => {
                self.error.set(None);
                self.adapt_config(&[candidate.n]);
                self.synth.set(candidate);
                self.source.set(Source::Synthetic);
            }
            Err(e) => {
                self.error.set(Some(e));
                self.synth.notify();
            }
        }
    }

    /// Makes `dataset` (tensor `tensor` of `file`) the current data.
    pub fn use_file_dataset(
        &self,
        file: Option<Shared<LoadedFile>>,
        tensor: String,
        dataset: Arc<Dataset>,
    ) {
        self.error.set(None);
        self.adapt_config(dataset.shape());
        if let Some(f) = file {
            self.file.set(Some(f));
        }
        self.file_tensor.set(tensor);
        self.file_dataset.set(Some(Shared(dataset)));
        self.display_group.set(0);
        self.source.set(Source::File);
    }

    /// Falls back to per-tensor granularity (and, for formats with fixed blocks or sub-vectors,
    /// to the integer format) when the current settings do not fit a new shape.
    fn adapt_config(&self, shape: &[usize]) {
        let cfg = self.config.get_untracked();
        if let Err(e) = check_layout(&cfg, shape) {
            let mut fixed = QuantizerConfig {
                granularity: Granularity::Tensor,
                ..cfg
            };
            let what = if check_layout(&fixed, shape).is_ok() {
                "switched to per-tensor"
            } else {
                fixed.format = Format::Int;
                fixed.vector_dim = 1;
                "switched to per-tensor int"
            };
            self.notice.set(Some(format!(
                "The new data does not fit the settings ({e}); {what}."
            )));
            self.display_group.set(0);
            self.config.set(fixed);
        } else {
            self.notice.set(None);
        }
    }

    /// Reports an error without changing anything else.
    pub fn report(&self, message: String) {
        self.error.set(Some(message));
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}

/// Generates the synthetic dataset for `s`.
pub fn synthetic_dataset(s: &SynthSettings) -> Result<Dataset, String> {
    let values = synth::generate(s.dist, s.n, s.seed).map_err(|e| e.to_string())?;
    Dataset::from_vec(
        format!("synthetic {} (N = {}, seed {})", s.dist.name(), s.n, s.seed),
        values,
    )
    .map_err(|e| e.to_string())
}

/// Checks synthetic settings without generating anything.
pub fn check_synth(s: &SynthSettings) -> Result<(), String> {
    if !(MIN_N..=MAX_N).contains(&s.n) {
        return Err(format!(
            "N must be between {MIN_N} and {MAX_N}, got {}",
            s.n
        ));
    }
    synth::validate(s.dist, s.n).map_err(|e| e.to_string())
}

/// Checks a configuration against the current data's shape.
pub fn check_config(cfg: &QuantizerConfig, shape: Option<&[usize]>) -> Result<(), String> {
    cfg.validate().map_err(|e| e.to_string())?;
    if let Some(shape) = shape {
        check_layout(cfg, shape).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Makes the state available to the components below.
pub fn provide_app_state() -> AppState {
    let state = AppState::new();
    provide_context(state);
    state
}

/// The state provided by [`provide_app_state`].
pub fn use_app_state() -> AppState {
    expect_context::<AppState>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quantscope_core::Calibration;

    #[test]
    fn synth_settings_are_checked() {
        let ok = SynthSettings::default();
        assert_eq!(check_synth(&ok), Ok(()));
        let small = SynthSettings {
            n: 10,
            ..ok.clone()
        };
        assert!(check_synth(&small).is_err_and(|e| e.contains("between 1000")));
        let bad_nu = SynthSettings {
            dist: Distribution::StudentT { nu: -1.0 },
            ..ok.clone()
        };
        assert!(check_synth(&bad_nu).is_err());
        let outliers = SynthSettings {
            dist: Distribution::Outliers {
                count: 50,
                magnitude: 10.0,
            },
            ..ok
        };
        assert_eq!(check_synth(&outliers), Ok(()));
    }

    #[test]
    fn configs_are_checked_against_the_shape() {
        let mut c = QuantizerConfig {
            granularity: Granularity::Group { size: 7 },
            ..Default::default()
        };
        assert!(check_config(&c, Some(&[10, 64])).is_err_and(|e| e.contains("does not divide")));
        c.granularity = Granularity::Group { size: 8 };
        assert_eq!(check_config(&c, Some(&[10, 64])), Ok(()));
        c.calibration = Calibration::Manual { lo: 2.0, hi: 1.0 };
        assert!(check_config(&c, None).is_err());
    }

    #[test]
    fn a_rejected_change_keeps_the_old_settings() {
        let owner = Owner::new();
        owner.with(|| {
            let state = AppState::new();
            state.try_config(|c| c.bits = 4);
            assert_eq!(state.config.get_untracked().bits, 4);
            state.try_config(|c| c.bits = 40);
            assert_eq!(state.config.get_untracked().bits, 4);
            assert!(state
                .error
                .get_untracked()
                .is_some_and(|e| e.contains("bit width")));
            state.try_synth(|s| s.n = 5);
            assert_eq!(state.synth.get_untracked().n, 100_000);
        });
    }
}
