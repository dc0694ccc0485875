//! The app's state: a few signals, fed by the compute engine.
//!
//! ```text
//! synth settings ─┐                     ┌─► data (name, shape, summary) ─┐
//! file, tensor ───┴─► engine.load() ────┘                                ├─► engine.analyze() ─► analysis ─► views
//! config, display group ─────────────────────────────────────────────────┘
//! ```
//! The values live in the compute workers; the page holds what the views draw. Every user change
//! goes through a `try_*` method that checks it first; a rejected change sets the error banner and
//! leaves data and settings as they were. A cancelled or failed job leaves the last view, and the
//! settings return to those it shows.

use std::ops::Deref;
use std::sync::Arc;

use leptos::prelude::*;
use quantscope_core::plan::check_layout;
use quantscope_core::presets::Comparison;
use quantscope_core::{Analysis, AnalysisOptions, Format, Granularity, QuantizerConfig};

use crate::engine::client::{
    Attachment, Engine, JobStats, LoadSpec, Progress, Purpose, Sink, Table,
};
pub use crate::engine::protocol::{check_synth, SynthSettings, MAX_N, MIN_N};
use crate::engine::protocol::{DataInfo, ExportKind, FileInfo, Study, StudyKind, StudyResult};
use quantscope_core::study::{ChannelStudy, StreamSpec, StreamStudy};

/// An `Arc` compared by identity, so signals holding large values compare in O(1).
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

/// Where the current data comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Synthetic,
    File,
}

/// The formats table's rows for the current data: one per preset that fits.
#[derive(Clone, Debug, PartialEq)]
pub struct PresetRows {
    pub batch: u64,
    /// How many rows were asked for.
    pub expected: usize,
    pub rows: Vec<Comparison>,
}

/// One calibration method under the current settings, as measured (on all the data).
#[derive(Clone, Debug, PartialEq)]
pub struct CalibratorRow {
    /// The method's key (`minmax`, `percentile`, …).
    pub key: String,
    pub config: QuantizerConfig,
    /// The display group's clipping range [α, β].
    pub clip: (f32, f32),
    pub mse: f64,
    pub sqnr_db: f64,
    pub clipped_fraction: f64,
}

/// The calibrator comparison for the current data and settings.
#[derive(Clone, Debug, PartialEq)]
pub struct CalibratorRows {
    pub batch: u64,
    /// The settings the rows vary the calibration of.
    pub base: QuantizerConfig,
    pub keys: Vec<&'static str>,
    /// Rows measured so far, and those refused (key, reason).
    pub rows: Vec<CalibratorRow>,
    pub failed: Vec<(String, String)>,
}

impl CalibratorRow {
    /// Method `key`'s row from its analysis.
    pub fn of(key: &str, analysis: &Analysis) -> Self {
        Self {
            key: key.to_string(),
            config: analysis.config.clone(),
            clip: analysis.display.clip,
            mse: analysis.metrics.mse,
            sqnr_db: analysis.metrics.sqnr_db,
            clipped_fraction: analysis.metrics.clipped_fraction,
        }
    }
}

impl CalibratorRows {
    /// Whether every row has come back.
    pub fn complete(&self) -> bool {
        self.rows.len() + self.failed.len() >= self.keys.len()
    }

    /// The key of the row of least MSE, when every row is in.
    pub fn best(&self) -> Option<&str> {
        if !self.complete() {
            return None;
        }
        self.rows
            .iter()
            .filter(|r| r.mse.is_finite())
            .min_by(|a, b| a.mse.total_cmp(&b.mse))
            .map(|r| r.key.as_str())
    }
}

/// The current settings at each bit width b = 1…16 (the integer format).
#[derive(Clone, Debug, PartialEq)]
pub struct BitRows {
    pub batch: u64,
    /// The settings swept (their own bit width is the one marked).
    pub base: QuantizerConfig,
    pub expected: usize,
    /// (b, SQNR in dB, MSE) of each width measured, in arrival order; widths the settings refuse
    /// are left out.
    pub points: Vec<(u8, f64, f64)>,
}

impl BitRows {
    /// The points in order of b.
    pub fn sorted(&self) -> Vec<(u8, f64, f64)> {
        let mut p = self.points.clone();
        p.sort_by_key(|p| p.0);
        p
    }
}

/// One point of the clip sweep, as measured on all the data.
#[derive(Clone, Debug, PartialEq)]
pub struct ClipPoint {
    /// The fraction of the data's range kept (see `quantscope_core::config::clip_sweep`).
    pub fraction: f64,
    /// The range the analysis used (a manual range is widened to hold 0).
    pub clip: (f32, f32),
    pub mse: f64,
    /// The part of `mse` from clipped values; the rest is rounding (NaN if not measured).
    pub clipping_mse: f64,
    pub sqnr_db: f64,
}

impl ClipPoint {
    fn of(fraction: f64, a: &Analysis) -> Self {
        Self {
            fraction,
            clip: a.display.clip,
            mse: a.metrics.mse,
            clipping_mse: a.metrics.clipping_mse.unwrap_or(f64::NAN),
            sqnr_db: a.metrics.sqnr_db,
        }
    }
}

/// The current settings at a sweep of clipping ranges (integer format, per tensor).
#[derive(Clone, Debug, PartialEq)]
pub struct ClipRows {
    pub batch: u64,
    pub base: QuantizerConfig,
    pub symmetric: bool,
    /// The data's bound the fractions are of: max|x| (symmetric) or half the min–max width.
    pub half: f64,
    /// The fractions asked for, by row name (its index).
    pub grid: Vec<f64>,
    pub expected: usize,
    /// Points measured so far, in arrival order.
    pub points: Vec<ClipPoint>,
    /// The view's own point (its calibration, whatever it is).
    pub now: ClipPoint,
}

impl ClipRows {
    /// The points in order of the fraction kept.
    pub fn sorted(&self) -> Vec<ClipPoint> {
        let mut p = self.points.clone();
        p.sort_by(|a, b| a.fraction.total_cmp(&b.fraction));
        p
    }

    /// The fraction of the data's range a clip `(lo, hi)` keeps, on this sweep's axis.
    pub fn fraction_of(&self, clip: (f32, f32)) -> f64 {
        let (lo, hi) = (f64::from(clip.0), f64::from(clip.1));
        if self.symmetric {
            lo.abs().max(hi.abs()) / self.half
        } else {
            (hi - lo) / (2.0 * self.half)
        }
    }
}

/// A study the page keeps up to date: its last result, or why it could not be made.
#[derive(Clone, Debug, PartialEq)]
pub enum Studied<T> {
    /// Not asked for (the data or settings do not allow it), with the reason to show.
    Off(String),
    /// Asked for; the last result (if any) is kept meanwhile.
    Waiting(Option<Shared<T>>),
    Ready(Shared<T>),
    Failed(String),
}

impl<T> Studied<T> {
    /// The result to draw (a stale one while a new one is measured).
    pub fn result(&self) -> Option<&Shared<T>> {
        match self {
            Self::Waiting(r) => r.as_ref(),
            Self::Ready(r) => Some(r),
            _ => None,
        }
    }

    fn waiting(&self) -> Self {
        Self::Waiting(self.result().cloned())
    }

    /// What is shown when the job measuring it was lost (cancelled, or a worker failed).
    fn settle(&mut self) {
        self.settle_saying("cancelled: change a knob to measure again");
    }

    /// [`settle`](Self::settle), saying `why` when there is no earlier result to show.
    fn settle_saying(&mut self, why: &str) {
        if let Self::Waiting(r) = self {
            *self = match r.take() {
                Some(r) => Self::Ready(r),
                None => Self::Failed(why.into()),
            };
        }
    }
}

/// Bands of channels the channel study sends (about one per pixel column of a laptop's chart).
pub const CHANNEL_BANDS: usize = 512;

/// The group sizes of the granularity sweep.
pub const GROUP_SIZES: [usize; 8] = [8, 16, 32, 64, 128, 256, 512, 1024];

/// One configuration of the granularity sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupPoint {
    /// "tensor", "channel" or the group size.
    pub name: String,
    /// Values sharing one scale (the group size; a channel's or the tensor's length).
    pub span: usize,
    pub bits_per_value: f64,
    pub sqnr_db: f64,
    pub mse: f64,
}

/// The current settings at every granularity that fits (integer format).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupRows {
    pub batch: u64,
    pub base: QuantizerConfig,
    pub expected: usize,
    pub points: Vec<GroupPoint>,
}

impl GroupRows {
    /// The points from the most values per scale to the fewest.
    pub fn sorted(&self) -> Vec<GroupPoint> {
        let mut p = self.points.clone();
        p.sort_by_key(|p| std::cmp::Reverse(p.span));
        p
    }
}

/// The state shared by the components (all fields are `Copy` handles).
#[derive(Clone, Copy)]
pub struct AppState {
    pub synth: RwSignal<SynthSettings>,
    pub source: RwSignal<Source>,
    pub file: RwSignal<Option<Shared<FileInfo>>>,
    pub file_tensor: RwSignal<String>,
    /// Name, shape and statistics of the data the workers hold.
    pub data: RwSignal<Option<Shared<DataInfo>>>,
    pub config: RwSignal<QuantizerConfig>,
    pub display_group: RwSignal<usize>,
    /// The value followed through the formulas and the bit inspector (`None`: a default).
    pub probe: RwSignal<Option<f32>>,
    pub log_y: RwSignal<bool>,
    pub error: RwSignal<Option<String>>,
    /// The test id of the control last changed: a refused change's message is shown next to it
    /// too (see `components::fields::FieldError`).
    pub last_control: RwSignal<Option<String>>,
    pub notice: RwSignal<Option<String>>,
    /// The latest analysis for the views (a failed or cancelled one keeps the previous view).
    pub analysis: RwSignal<Option<Shared<Analysis>>>,
    /// A long job's progress, when one runs.
    pub progress: RwSignal<Option<Progress>>,
    /// How the view's analysis was computed (time, workers).
    pub stats: RwSignal<Option<JobStats>>,
    /// Every preset that fits the data, measured on all of it (filled in as rows finish).
    pub preset_rows: RwSignal<Option<PresetRows>>,
    /// Every calibration method under the current settings (formats with a clipping range).
    pub calibrator_rows: RwSignal<Option<CalibratorRows>>,
    /// The current settings at every bit width (integer format).
    pub bit_rows: RwSignal<Option<BitRows>>,
    pub clip_rows: RwSignal<Option<ClipRows>>,
    /// The current settings per tensor, per channel and per group of each size.
    pub group_rows: RwSignal<Option<GroupRows>>,
    /// Per-channel ranges and SQNR of the data under the current settings.
    pub channels: RwSignal<Studied<ChannelStudy>>,
    /// How the dynamic-vs-static view makes its stream of batches.
    pub stream_spec: RwSignal<StreamSpec>,
    pub stream: RwSignal<Studied<StreamStudy>>,
    /// The export being written, and the last export's failure.
    /// The export being written and the settings it was asked with (the file is named after
    /// them, not after settings changed meanwhile).
    pub exporting: RwSignal<Option<(ExportKind, QuantizerConfig)>>,
    pub export_error: RwSignal<Option<String>>,
    /// The open file against a quantized copy of it ("What did this quant do?"), with the copy's
    /// name.
    pub diff: RwSignal<Studied<quantscope_core::diff::DiffTable>>,
    pub diff_name: RwSignal<Option<String>>,
    /// The layer lab: open or not, its activations (name; the file is in `lab_x`), its
    /// settings, its result and the method its per-output chart shows.
    pub lab_open: RwSignal<bool>,
    pub lab_x_name: RwSignal<Option<String>>,
    lab_x: StoredValue<Option<Attachment>, LocalStorage>,
    pub lab_options: RwSignal<quantscope_core::layer::LayerOptions>,
    pub lab: RwSignal<Studied<quantscope_core::layer::LabResult>>,
    /// Why the last layer-lab request failed (its previous result stays shown).
    pub lab_error: RwSignal<Option<String>>,
    /// The model view: its candidates, budget and allocation of the open file.
    pub model_candidates: RwSignal<Vec<String>>,
    pub model_budget: RwSignal<f64>,
    /// A target size of the tensor data (bytes) instead of `model_budget`, when chosen.
    pub model_size: RwSignal<Option<f64>>,
    /// The open checkpoint's tensors read so far by an allocation (statistics, allocated or
    /// kept), as they stream in; cleared when another file opens.
    pub model_rows: RwSignal<Vec<crate::engine::protocol::TensorRow>>,
    pub model: RwSignal<Studied<quantscope_core::allocate::Report>>,
    /// Why the last allocation failed (its previous result stays shown).
    pub model_error: RwSignal<Option<String>>,
    /// The importance file of the allocation (its name and how many files were chosen so far),
    /// and the file itself for the worker.
    pub model_importance: RwSignal<Option<(String, u64)>>,
    model_importance_file: StoredValue<Option<Attachment>, LocalStorage>,
    pub lab_method: RwSignal<quantscope_core::layer::Method>,
    /// The number line's zoom: log₂ of its window's half-width.
    pub number_zoom: RwSignal<f64>,
    /// The learn mode's step (0-based) while the tour is on.
    pub tour: RwSignal<Option<usize>>,
    /// The analysis pinned as "A" for the A/B comparison (the current one is "B"), and the name
    /// of the data it was made on.
    pub pinned: RwSignal<Option<(Shared<Analysis>, String)>>,
    /// The synthetic settings of the data held (a failed or cancelled load returns to them).
    held_synth: RwSignal<Option<SynthSettings>>,
    engine: StoredValue<Option<Engine>, LocalStorage>,
    next_batch: StoredValue<u64>,
    /// What a link asked for that the page cannot show by itself: a file (and its tensor) the
    /// user must open again. Shown until that file is open.
    pub link_note: RwSignal<Option<String>>,
    link_file: StoredValue<Option<(String, String)>>,
    /// When the URL last got a new history entry (ms; changes within a second replace it).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    last_push: StoredValue<f64>,
}

/// How long the knobs rest before the link takes the settings (ms).
#[cfg(target_arch = "wasm32")]
const URL_WRITE_DELAY_MS: u64 = 250;

/// The data the page opens on: a 128 × 1024 normal matrix with 8 values at ±20σ — what
/// real weights and activations look like to a quantizer, and the case where it goes wrong.
pub fn opening_synth() -> SynthSettings {
    SynthSettings {
        dist: quantscope_core::synth::Distribution::Outliers {
            count: 8,
            magnitude: 20.0,
        },
        ..SynthSettings::default()
    }
}

/// The settings the page opens with: 4 bits, min–max, per tensor — the outliers stretch the
/// range and the bulk of the values falls into a few buckets (the opening note says so).
pub fn opening_config() -> QuantizerConfig {
    QuantizerConfig {
        bits: 4,
        ..QuantizerConfig::default()
    }
}

/// Histogram bins of the views.
pub const HISTOGRAM_BINS: usize = 160;

/// The analysis options of the views: only the display group's parameters. Not `interactive`:
/// the workers train codebooks and measure errors exactly as the CLI does (a long job shows
/// progress and can be cancelled), so the page's figures are the CLI's.
pub fn view_options(display_group: usize) -> AnalysisOptions {
    AnalysisOptions {
        bins: HISTOGRAM_BINS,
        display_group,
        interactive: false,
        all_groups: false,
    }
}

impl AppState {
    /// Creates the signals (call once, inside the reactive owner of the app); no engine yet.
    pub fn new() -> Self {
        Self {
            synth: RwSignal::new(opening_synth()),
            source: RwSignal::new(Source::Synthetic),
            file: RwSignal::new(None),
            file_tensor: RwSignal::new(String::new()),
            data: RwSignal::new(None),
            config: RwSignal::new(opening_config()),
            display_group: RwSignal::new(0usize),
            probe: RwSignal::new(None::<f32>),
            log_y: RwSignal::new(false),
            error: RwSignal::new(None::<String>),
            last_control: RwSignal::new(None::<String>),
            notice: RwSignal::new(None::<String>),
            analysis: RwSignal::new(None),
            progress: RwSignal::new(None),
            stats: RwSignal::new(None),
            preset_rows: RwSignal::new(None),
            calibrator_rows: RwSignal::new(None),
            bit_rows: RwSignal::new(None),
            clip_rows: RwSignal::new(None),
            group_rows: RwSignal::new(None),
            channels: RwSignal::new(Studied::Off(String::new())),
            stream_spec: RwSignal::new(StreamSpec {
                batches: 32,
                calibrate_on: 4,
                drift: 1.0,
            }),
            stream: RwSignal::new(Studied::Off(String::new())),
            exporting: RwSignal::new(None),
            diff: RwSignal::new(Studied::Off(String::new())),
            diff_name: RwSignal::new(None),
            lab_open: RwSignal::new(false),
            lab_x_name: RwSignal::new(None),
            lab_x: StoredValue::new_local(None),
            lab_options: RwSignal::new(quantscope_core::layer::LayerOptions::default()),
            lab: RwSignal::new(Studied::Off(String::new())),
            lab_error: RwSignal::new(None),
            model_candidates: RwSignal::new(
                quantscope_core::allocate::DEFAULT_CANDIDATES
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            ),
            model_budget: RwSignal::new(4.5),
            model_size: RwSignal::new(None),
            model_rows: RwSignal::new(Vec::new()),
            model: RwSignal::new(Studied::Off(String::new())),
            model_error: RwSignal::new(None),
            model_importance: RwSignal::new(None),
            model_importance_file: StoredValue::new_local(None),
            lab_method: RwSignal::new(quantscope_core::layer::Method::Gptq),
            export_error: RwSignal::new(None),
            number_zoom: RwSignal::new(3.0),
            tour: RwSignal::new(None),
            pinned: RwSignal::new(None),
            held_synth: RwSignal::new(None),
            engine: StoredValue::new_local(None),
            next_batch: StoredValue::new(1),
            link_note: RwSignal::new(None),
            link_file: StoredValue::new(None),
            last_push: StoredValue::new(f64::NEG_INFINITY),
        }
    }

    /// Attaches the compute engine and asks it for the first data and analysis: whenever the
    /// data, the settings or the display group change, the view's analysis is asked for; when
    /// the data changes, the formats table's rows are too.
    pub fn attach(&self, engine: Engine) {
        self.engine.set_value(Some(engine));
        let state = *self;
        Effect::new(move |_| {
            state.data.track();
            let config = state.config.get();
            let options = view_options(state.display_group.get());
            if state.data.with_untracked(Option::is_some) {
                state.with_engine(|e| e.analyze(config, options));
            }
        });
        Effect::new(move |_| {
            let Some(data) = state.data.get() else {
                return;
            };
            let last = data.shape.last().copied().unwrap_or(data.len());
            let rows: Vec<(String, QuantizerConfig)> = quantscope_core::presets::fitting(last)
                .into_iter()
                .map(|(name, c)| (name.to_string(), c))
                .collect();
            let batch = state.next_batch.get_value();
            state.next_batch.set_value(batch + 1);
            state.preset_rows.set(Some(PresetRows {
                batch,
                expected: rows.len(),
                rows: Vec::new(),
            }));
            let options = AnalysisOptions {
                bins: 16,
                ..view_options(0)
            };
            state.with_engine(|e| e.compare(Table::Formats, batch, rows, options));
        });
        // The calibrators, for each new view analysis: its settings, display group and range
        // (the manual row's), so every row varies exactly what the Error panel shows.
        Effect::new(move |_| {
            let Some(a) = state.analysis.get() else {
                return;
            };
            let (base, display_group, shown) = (a.config.clone(), a.display_group, a.display.clip);
            let options = AnalysisOptions {
                bins: 16,
                ..view_options(display_group)
            };
            state.sweep_bits(&a, options);
            state.sweep_clips(&a, options);
            state.sweep_groups(&a, options);
            state.study_channels(&a);
            if !base.format.uses_scales() {
                state.calibrator_rows.set(None);
                state.drop_rows(Table::Calibrators);
                return;
            }
            let set = quantscope_core::config::calibrators(base.calibration, shown);
            let batch = state.next_batch.get_value();
            state.next_batch.set_value(batch + 1);
            // The method in use is the view's own analysis: its row is that, not measured again.
            let in_use = set.iter().find(|(_, c)| *c == base.calibration);
            state.calibrator_rows.set(Some(CalibratorRows {
                batch,
                base: base.clone(),
                keys: set.iter().map(|(k, _)| *k).collect(),
                rows: in_use
                    .map(|(key, _)| CalibratorRow::of(key, &a))
                    .into_iter()
                    .collect(),
                failed: Vec::new(),
            }));
            let rows = set
                .into_iter()
                .filter(|(_, c)| *c != base.calibration)
                .map(|(key, calibration)| {
                    (
                        key.to_string(),
                        QuantizerConfig {
                            calibration,
                            ..base.clone()
                        },
                    )
                })
                .collect();
            state.with_engine(|e| e.compare(Table::Calibrators, batch, rows, options));
        });
        // The layer lab follows the view's settings (the weight quantizer and W) and its own.
        Effect::new(move |_| {
            let options = state.lab_options.get();
            let (open, x) = (state.lab_open.get(), state.lab_x_name.get());
            let Some(a) = state.analysis.get() else {
                return;
            };
            if open {
                state.study_layer(&a, x, options);
            }
        });
        // The stream follows the view's settings and its own.
        Effect::new(move |_| {
            let spec = state.stream_spec.get();
            let Some(a) = state.analysis.get() else {
                return;
            };
            state.study_stream(&a, spec);
        });
        #[cfg(target_arch = "wasm32")]
        self.follow_the_url();
        self.with_engine(|e| e.load(LoadSpec::Synth(self.synth.get_untracked())));
    }

    /// The settings of the page's link, checked as typed ones are: synthetic settings and
    /// knobs are taken (`initial`: before the first load, which then loads them); a file is
    /// named in [`link_note`](Self::link_note) for the user to open.
    pub fn apply_url(&self, url: crate::url::PageUrl, initial: bool) {
        let synth = url
            .synth
            .clone()
            .unwrap_or_else(|| self.synth.get_untracked());
        if let Err(e) = check_synth(&synth) {
            self.link_note.set(Some(format!(
                "The link's synthetic settings are refused ({e}); showing the defaults."
            )));
            return;
        }
        let shape = match &url.file {
            None => Some(synth.shape()),
            // The file's shape is not known until it is open.
            Some(_) => None,
        };
        if let Err(e) = check_config(&url.config, shape.as_deref()) {
            self.link_note.set(Some(format!(
                "The link's settings are refused ({e}); showing the defaults."
            )));
            return;
        }
        self.link_file.set_value(url.file.clone());
        self.link_note.set(url.file.as_ref().map(|(file, tensor)| {
            format!(
                "This link shows tensor \"{tensor}\" of {file}: open that file (Data → file) to see it. Nothing of it travels in the link."
            )
        }));
        if initial {
            if url.synth.is_some() {
                self.synth.set(synth);
            }
            self.config.set(url.config);
        } else {
            if url.synth.is_some()
                && self.source.get_untracked() == Source::Synthetic
                && self.synth.get_untracked() != synth
            {
                self.try_synth(|s| *s = synth);
            }
            if self.config.get_untracked() != url.config {
                self.try_config(|c| *c = url.config);
            }
        }
    }

    /// The link as the settings now are, or `None` before any data is held.
    pub fn page_url(&self) -> Option<crate::url::PageUrl> {
        self.data.with(Option::is_some).then_some(())?;
        let config = self.config.get();
        Some(match self.source.get() {
            Source::Synthetic => crate::url::PageUrl {
                synth: Some(self.synth.get()),
                file: None,
                config,
            },
            Source::File => crate::url::PageUrl {
                synth: None,
                file: Some((
                    self.file
                        .with(|f| f.as_ref().map(|f| f.name.clone()).unwrap_or_default()),
                    self.file_tensor.get(),
                )),
                config,
            },
        })
    }

    /// Reads the link's settings now, writes the settings into the link as they change (a new
    /// history entry, or the same one while the knobs keep moving), and follows back/forward.
    #[cfg(target_arch = "wasm32")]
    fn follow_the_url(&self) {
        if let Some(step) = crate::learn::step_of_fragment(&crate::url::current_fragment()) {
            self.go_to_step(step);
        }
        match crate::url::PageUrl::from_fragment(&crate::url::current_fragment()) {
            Ok(Some(url)) => self.apply_url(url, true),
            Ok(None) => {}
            // Beside the data, not in the error banner: the first load clears that.
            Err(e) => self.link_note.set(Some(e)),
        }
        let state = *self;
        // The settings reach the link once the knobs rest: a history write costs the page ~1 ms
        // and makes Chromium load the favicon again (~2 ms more, measured in a trace at 1M
        // values) — on every change of a dragged slider, on the path of the figures.
        let pending = StoredValue::new(None::<TimeoutHandle>);
        let write = move |fragment: String, step: bool| {
            let Some(window) = web_sys::window() else {
                return;
            };
            if window.location().hash().ok().as_deref() == Some(fragment.as_str()) {
                return;
            }
            let Ok(history) = window.history() else {
                return;
            };
            let now = js_sys::Date::now();
            let first = state.last_push.get_value() == f64::NEG_INFINITY;
            let result = if !step && (first || now - state.last_push.get_value() < 1000.0) {
                history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&fragment))
            } else {
                history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&fragment))
            };
            if result.is_ok() {
                state.last_push.set_value(now);
            }
        };
        Effect::new(move |_| {
            // In the tour the link names the step (each step a history entry of its own, at
            // once); leaving it writes the settings as they are.
            let step = state.tour.get();
            let Some(url) = state.page_url() else {
                return;
            };
            if let Some(handle) = pending.get_value() {
                handle.clear();
                pending.set_value(None);
            }
            match step {
                Some(i) => write(format!("#{}", crate::learn::fragment(i)), true),
                None => {
                    let fragment = url.to_fragment();
                    let handle = set_timeout_with_handle(
                        move || {
                            pending.set_value(None);
                            write(fragment, false);
                        },
                        std::time::Duration::from_millis(URL_WRITE_DELAY_MS),
                    );
                    pending.set_value(handle.ok());
                }
            }
        });
        let handle = window_event_listener(leptos::ev::popstate, move |_| {
            let fragment = crate::url::current_fragment();
            if let Some(step) = crate::learn::step_of_fragment(&fragment) {
                if state.tour.get_untracked() != Some(step) {
                    state.go_to_step(step);
                }
                return;
            }
            if state.tour.get_untracked().is_some() {
                state.leave_tour();
            }
            match crate::url::PageUrl::from_fragment(&fragment) {
                Ok(Some(url)) => state.apply_url(url, false),
                Ok(None) => {}
                Err(e) => state.link_note.set(Some(e)),
            }
        });
        // The page's listener lives as long as the page.
        std::mem::forget(handle);
    }

    /// The tensor a link asked for, when `name` is the file it named.
    fn linked_tensor(&self, name: &str) -> Option<String> {
        self.link_file
            .get_value()
            .filter(|(file, _)| file == name)
            .map(|(_, tensor)| tensor)
    }

    /// Asks for the settings of `view` at every other bit width (integer format only; otherwise
    /// clears the sweep); the view's own width is its point.
    fn sweep_bits(&self, view: &Analysis, options: AnalysisOptions) {
        let base = &view.config;
        if base.format != Format::Int {
            self.bit_rows.set(None);
            self.drop_rows(Table::Bits);
            return;
        }
        let rows: Vec<(String, QuantizerConfig)> = (1..=16u8)
            .filter(|&bits| bits != base.bits)
            .map(|bits| {
                (
                    bits.to_string(),
                    QuantizerConfig {
                        bits,
                        ..base.clone()
                    },
                )
            })
            .collect();
        let batch = self.next_batch.get_value();
        self.next_batch.set_value(batch + 1);
        self.bit_rows.set(Some(BitRows {
            batch,
            base: base.clone(),
            expected: rows.len() + 1,
            points: vec![(base.bits, view.metrics.sqnr_db, view.metrics.mse)],
        }));
        self.with_engine(|e| e.compare(Table::Bits, batch, rows, options));
    }

    /// Asks for the settings of `view` at each clipping range of the sweep (integer format per
    /// tensor; otherwise clears it).
    fn sweep_clips(&self, view: &Analysis, options: AnalysisOptions) {
        let base = &view.config;
        if base.format != Format::Int || base.granularity != Granularity::Tensor {
            self.clip_rows.set(None);
            self.drop_rows(Table::Clips);
            return;
        }
        let symmetric = base.scheme == quantscope_core::Scheme::Symmetric;
        let (min, max) = (view.summary.min, view.summary.max);
        let grid = quantscope_core::config::clip_sweep(min, max, symmetric);
        if grid.is_empty() {
            self.clip_rows.set(None);
            self.drop_rows(Table::Clips);
            return;
        }
        let half = if symmetric {
            f64::from(min.abs().max(max.abs()))
        } else {
            (f64::from(max) - f64::from(min)) / 2.0
        };
        let rows: Vec<(String, QuantizerConfig)> = grid
            .iter()
            .enumerate()
            .map(|(i, &(_, (lo, hi)))| {
                (
                    i.to_string(),
                    QuantizerConfig {
                        calibration: quantscope_core::Calibration::Manual { lo, hi },
                        ..base.clone()
                    },
                )
            })
            .collect();
        let batch = self.next_batch.get_value();
        self.next_batch.set_value(batch + 1);
        let mut sweep = ClipRows {
            batch,
            base: base.clone(),
            symmetric,
            half,
            grid: grid.iter().map(|p| p.0).collect(),
            expected: rows.len(),
            points: Vec::new(),
            now: ClipPoint::of(0.0, view),
        };
        sweep.now.fraction = sweep.fraction_of(view.display.clip);
        self.clip_rows.set(Some(sweep));
        self.with_engine(|e| e.compare(Table::Clips, batch, rows, options));
    }

    /// Asks for the settings of `view` per tensor, per channel and per group of every size in
    /// [`GROUP_SIZES`] that divides the last axis (integer format; otherwise clears the sweep).
    fn sweep_groups(&self, view: &Analysis, options: AnalysisOptions) {
        let base = &view.config;
        let shape = self
            .data
            .with_untracked(|d| d.as_ref().map(|d| d.shape.clone()))
            .unwrap_or_default();
        if base.format != Format::Int || shape.is_empty() {
            self.group_rows.set(None);
            self.drop_rows(Table::Groups);
            return;
        }
        let n: usize = shape.iter().product();
        let last = shape.last().copied().unwrap_or(n);
        let mut rows: Vec<(String, QuantizerConfig, usize)> =
            vec![("tensor".into(), Granularity::Tensor, n)]
                .into_iter()
                .chain((shape.len() >= 2).then(|| {
                    (
                        "channel".into(),
                        Granularity::Channel { axis: 0 },
                        n / shape[0],
                    )
                }))
                .chain(
                    GROUP_SIZES
                        .iter()
                        .filter(|&&g| last % g == 0 && g < last)
                        .map(|&g| (g.to_string(), Granularity::Group { size: g }, g)),
                )
                .map(|(name, granularity, span)| {
                    (
                        name,
                        QuantizerConfig {
                            granularity,
                            ..base.clone()
                        },
                        span,
                    )
                })
                .collect();
        let batch = self.next_batch.get_value();
        self.next_batch.set_value(batch + 1);
        let mut points = Vec::new();
        if let Some(i) = rows
            .iter()
            .position(|r| r.1.granularity == base.granularity)
        {
            let (name, _, span) = rows.remove(i);
            points.push(GroupPoint {
                name,
                span,
                bits_per_value: view.metrics.bits_per_value,
                sqnr_db: view.metrics.sqnr_db,
                mse: view.metrics.mse,
            });
        }
        self.group_rows.set(Some(GroupRows {
            batch,
            base: base.clone(),
            expected: rows.len() + points.len(),
            points,
        }));
        let rows = rows
            .into_iter()
            .map(|(name, config, span)| (format!("{name}/{span}"), config))
            .collect();
        self.with_engine(|e| e.compare(Table::Groups, batch, rows, options));
    }

    /// Asks for the channel study of the data under `view`'s settings (two or more axes).
    fn study_channels(&self, view: &Analysis) {
        let shape = self
            .data
            .with_untracked(|d| d.as_ref().map(|d| d.shape.clone()))
            .unwrap_or_default();
        if shape.len() < 2 || shape[0] < 2 {
            self.channels.set(Studied::Off(format!(
                "Channel ranges need a matrix (rows are channels); this data's shape is {shape:?}. \
                 Give synthetic data more than one column, or open a 2-D tensor."
            )));
            return;
        }
        self.channels.update(|c| *c = c.waiting());
        let study = Study::Channels {
            bands: CHANNEL_BANDS,
        };
        self.with_engine(|e| e.study(view.config.clone(), study));
    }

    /// Allocates the open file's tensors at the model view's budget and candidates.
    pub fn allocate_model(&self) {
        let candidates = self.model_candidates.get_untracked();
        let budget = self.model_budget.get_untracked();
        self.model.update(|m| *m = m.waiting());
        self.model_error.set(None);
        let config = self.config.get_untracked();
        let importance = self.model_importance.get_untracked();
        let study = Study::Allocate {
            candidates,
            budget,
            importance,
            size: self.model_size.get_untracked(),
        };
        match self.model_importance_file.get_value() {
            Some(file) => self.with_engine(|e| e.study_with(config, study, file)),
            None => self.with_engine(|e| e.study(config, study)),
        }
    }

    /// Weights the allocation's errors by the importance vectors of `file` (`None`: no more).
    pub fn set_model_importance(&self, file: Option<(String, Attachment)>) {
        // A number never used before (the page's job counter), so the worker tells this file
        // from an earlier one of the same name.
        let count = self.next_batch.get_value();
        self.next_batch.set_value(count + 1);
        match file {
            Some((name, attachment)) => {
                self.model_importance_file.set_value(Some(attachment));
                self.model_importance.set(Some((name, count)));
            }
            None => {
                self.model_importance_file.set_value(None);
                self.model_importance.set(None);
            }
        }
    }

    /// Sets the layer lab's activations: a file the user chose, or the shipped sample's bytes.
    pub fn set_lab_activations(&self, name: String, attachment: Attachment) {
        self.lab_x.set_value(Some(attachment));
        self.lab_x_name.set(Some(name));
    }

    /// Asks for the layer lab on the data held as W, under `view`'s settings and `options`.
    fn study_layer(
        &self,
        view: &Analysis,
        x: Option<String>,
        options: quantscope_core::layer::LayerOptions,
    ) {
        let Some((name, attachment)) = x.zip(self.lab_x.get_value()) else {
            self.lab
                .set(Studied::Off("Loading the activations…".into()));
            return;
        };
        self.lab.update(|l| *l = l.waiting());
        self.lab_error.set(None);
        let spec = crate::engine::protocol::LayerSpec {
            activations: name,
            tensor: None,
            options,
        };
        self.with_engine(|e| e.study_with(view.config.clone(), Study::Layer(spec), attachment));
    }

    /// Asks for the stream study of the data under `view`'s settings and `spec`.
    fn study_stream(&self, view: &Analysis, spec: StreamSpec) {
        if view.config.format != Format::Int {
            self.with_engine(|e| e.drop_study(StudyKind::Stream));
            self.stream.set(Studied::Off(
                "Static against dynamic ranges is about the integer format's clipping range: \
                 choose int to see it."
                    .into(),
            ));
            return;
        }
        self.stream.update(|c| *c = c.waiting());
        self.with_engine(|e| e.study(view.config.clone(), Study::Stream(spec)));
    }

    /// Writes the quantized tensor under the view's settings as `kind` (the download starts
    /// when the worker has written it).
    pub fn export_tensor(&self, kind: ExportKind) {
        let Some(a) = self.analysis.get_untracked() else {
            return;
        };
        self.export_error.set(None);
        self.exporting.set(Some((kind, a.config.clone())));
        self.with_engine(|e| e.study(a.config.clone(), Study::Export(kind)));
    }

    /// Compares the open file with `file`, a quantized copy of it: every pair of tensors
    /// measured by the worker that holds the original.
    pub fn diff_with(&self, file: web_sys::File) {
        let name = file_name(&file);
        self.diff_name.set(Some(name.clone()));
        self.diff.update(|d| *d = d.waiting());
        let config = self.config.get_untracked();
        self.with_engine(|e| {
            e.study_with(
                config,
                Study::Diff { quantized: name },
                crate::engine::client::Attachment::File(file),
            )
        });
    }

    /// Drops `table`'s rows still waiting or under way in the engine: a table that no longer
    /// applies to the view's settings would otherwise go on measuring the old ones in the
    /// background (at 16M values the calibrators' rows of a block format take seconds of the
    /// workers' time that the views then share).
    fn drop_rows(&self, table: Table) {
        self.with_engine(|e| e.compare(table, 0, Vec::new(), AnalysisOptions::default()));
    }

    fn with_engine(&self, f: impl FnOnce(&Engine)) {
        self.engine.with_value(|e| {
            if let Some(e) = e {
                f(e);
            }
        });
    }

    /// Shows step `index` of the tour (0-based) and applies its lesson: the synthetic data it
    /// names (loaded only when it differs from what is held), its quantizer settings and extras.
    /// A step past the end is ignored.
    pub fn go_to_step(&self, index: usize) {
        let Some(step) = crate::learn::STEPS.get(index) else {
            return;
        };
        let lesson = (step.lesson)();
        let checked = check_synth(&lesson.synth)
            .and_then(|()| check_config(&lesson.config, Some(&lesson.synth.shape())));
        if let Err(e) = checked {
            // The steps are tested valid; should one ever not be, say so and keep the settings.
            self.error.set(Some(format!("step {}: {e}", index + 1)));
            return;
        }
        self.error.set(None);
        self.tour.set(Some(index));
        if let Some(z) = lesson.zoom {
            self.number_zoom.set(z);
        }
        if let Some(spec) = lesson.stream {
            self.stream_spec.set(spec);
        }
        // Before the first data arrives, the first load takes the settings set here.
        let held = self.data.with_untracked(Option::is_some);
        let reload = self.source.get_untracked() != Source::Synthetic
            || self.synth.get_untracked() != lesson.synth;
        if reload && !held {
            self.synth.set(lesson.synth);
        } else if reload {
            self.synth.set(lesson.synth.clone());
            self.with_engine(|e| e.load(LoadSpec::Synth(lesson.synth)));
        }
        if matches!(lesson.config.granularity, Granularity::Tensor) {
            self.display_group.set(0);
        }
        if self.config.get_untracked() != lesson.config {
            self.config.set(lesson.config);
        }
    }

    /// Ends the tour; the settings stay as they are.
    pub fn leave_tour(&self) {
        // The link's next settings get a history entry of their own after the tour's.
        self.last_push.set_value(0.0);
        self.tour.set(None);
    }

    /// Whether an engine is attached (not in native unit tests).
    pub fn has_engine(&self) -> bool {
        self.engine.with_value(Option::is_some)
    }

    /// Applies `edit` to the configuration if the result is valid for the current data; otherwise
    /// reports why and re-sends the old value to the inputs.
    pub fn try_config(&self, edit: impl FnOnce(&mut QuantizerConfig)) {
        let mut candidate = self.config.get_untracked();
        edit(&mut candidate);
        let shape = self
            .data
            .with_untracked(|d| d.as_ref().map(|d| d.shape.clone()));
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

    /// Applies `edit` to the stream settings if the data allows them; otherwise says why and
    /// keeps the old ones.
    pub fn try_stream(&self, edit: impl FnOnce(&mut StreamSpec)) {
        let mut candidate = self.stream_spec.get_untracked();
        edit(&mut candidate);
        let units = self.data.with_untracked(|d| {
            d.as_ref().map(|d| {
                d.shape
                    .first()
                    .copied()
                    .filter(|_| d.shape.len() >= 2)
                    .unwrap_or(d.len())
            })
        });
        match check_stream(&candidate, units) {
            Ok(()) => {
                self.error.set(None);
                self.stream_spec.set(candidate);
            }
            Err(e) => {
                self.error.set(Some(e));
                self.stream_spec.notify();
            }
        }
    }

    /// Applies `edit` to the synthetic settings if valid, and asks for that data.
    pub fn try_synth(&self, edit: impl FnOnce(&mut SynthSettings)) {
        let mut candidate = self.synth.get_untracked();
        edit(&mut candidate);
        match check_synth(&candidate) {
            Ok(()) => {
                self.error.set(None);
                self.synth.set(candidate.clone());
                self.with_engine(|e| e.load(LoadSpec::Synth(candidate)));
            }
            Err(e) => {
                self.error.set(Some(e));
                self.synth.notify();
            }
        }
    }

    /// Opens a file the user chose or dropped (the workers read it).
    pub fn open_file(&self, file: web_sys::File, name: String) {
        self.error.set(None);
        let tensor = self.linked_tensor(&name);
        self.with_engine(|e| {
            e.load(LoadSpec::File {
                name,
                attachment: Attachment::File(file),
                tensor,
            })
        });
    }

    /// Opens a checkpoint in several files (its shards, with or without its index) as one.
    pub fn open_files(&self, files: Vec<web_sys::File>, name: String) {
        self.error.set(None);
        let tensor = self.linked_tensor(&name);
        self.with_engine(|e| {
            e.load(LoadSpec::File {
                name,
                attachment: Attachment::Files(files),
                tensor,
            })
        });
    }

    /// Opens shipped sample weights from their bytes.
    pub fn open_bytes(&self, name: String, bytes: Vec<u8>) {
        self.error.set(None);
        let tensor = self.linked_tensor(&name);
        self.with_engine(|e| {
            e.load(LoadSpec::File {
                name,
                attachment: Attachment::Bytes(std::rc::Rc::new(bytes)),
                tensor,
            })
        });
    }

    /// Shows another tensor of the file open.
    pub fn open_tensor(&self, tensor: String) {
        self.with_engine(|e| e.load(LoadSpec::Tensor { tensor }));
    }

    /// Stops the long job that runs; the view stays.
    pub fn cancel(&self) {
        self.with_engine(Engine::cancel);
    }

    /// The page's test hook (`?debug`): the next analysis makes a worker panic.
    pub fn crash_next(&self) {
        self.with_engine(Engine::crash_next);
    }

    /// The workers now hold `data` (from `file`'s tensor `tensor`, or synthetic).
    pub fn loaded(&self, data: DataInfo, file: Option<FileInfo>, tensor: Option<String>) {
        self.error.set(None);
        self.adapt_config(&data.shape);
        match file {
            Some(f) => {
                if self.linked_tensor(&f.name).is_some() {
                    self.link_file.set_value(None);
                    self.link_note.set(None);
                }
                let same = self
                    .file
                    .with_untracked(|old| old.as_ref().is_some_and(|o| o.name == f.name));
                if !same {
                    self.model_rows.set(Vec::new());
                }
                self.file.set(Some(Shared::new(f)));
                self.file_tensor.set(tensor.unwrap_or_default());
                self.source.set(Source::File);
                self.held_synth.set(None);
            }
            None => {
                self.source.set(Source::Synthetic);
                self.held_synth.set(Some(self.synth.get_untracked()));
            }
        }
        self.display_group.set(0);
        self.data.set(Some(Shared::new(data)));
    }

    /// A job failed or was cancelled: the settings return to those of the view shown.
    pub fn revert(&self) {
        if let Some(a) = self.analysis.get_untracked() {
            if self.config.get_untracked() != a.config {
                self.config.set(a.config.clone());
            }
            if self.display_group.get_untracked() != a.display_group {
                self.display_group.set(a.display_group);
            }
        }
        if let Some(s) = self.held_synth.get_untracked() {
            if self.synth.get_untracked() != s {
                self.synth.set(s);
            }
        }
        self.file_tensor.notify();
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
                fixed.set_format(Format::Int);
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

/// The engine's results, into the page's signals.
pub struct PageSink(pub AppState);

impl Sink for PageSink {
    fn loaded(&self, data: DataInfo, file: Option<FileInfo>, tensor: Option<String>) {
        self.0.loaded(data, file, tensor);
    }

    fn analysis(&self, analysis: Analysis, purpose: &Purpose, stats: JobStats) {
        let state = self.0;
        match purpose {
            Purpose::View => {
                state.stats.set(Some(stats));
                state.analysis.set(Some(Shared::new(analysis)));
            }
            Purpose::Row {
                table: Table::Calibrators,
                batch,
                name,
            } => state.calibrator_rows.update(|rows| {
                if let Some(r) = rows.as_mut().filter(|r| r.batch == *batch) {
                    r.rows.push(CalibratorRow::of(name, &analysis));
                }
            }),
            Purpose::Row {
                table: Table::Bits,
                batch,
                ..
            } => state.bit_rows.update(|rows| {
                if let Some(r) = rows.as_mut().filter(|r| r.batch == *batch) {
                    r.points.push((
                        analysis.config.bits,
                        analysis.metrics.sqnr_db,
                        analysis.metrics.mse,
                    ));
                }
            }),
            Purpose::Row {
                table: Table::Clips,
                batch,
                name,
            } => state.clip_rows.update(|rows| {
                if let Some(r) = rows.as_mut().filter(|r| r.batch == *batch) {
                    if let Some(&f) = name.parse::<usize>().ok().and_then(|i| r.grid.get(i)) {
                        r.points.push(ClipPoint::of(f, &analysis));
                    }
                }
            }),
            Purpose::Row {
                table: Table::Groups,
                batch,
                name,
            } => state.group_rows.update(|rows| {
                if let Some(r) = rows.as_mut().filter(|r| r.batch == *batch) {
                    let (label, span) = name.split_once('/').unwrap_or((name, "0"));
                    r.points.push(GroupPoint {
                        name: label.to_string(),
                        span: span.parse().unwrap_or(0),
                        bits_per_value: analysis.metrics.bits_per_value,
                        sqnr_db: analysis.metrics.sqnr_db,
                        mse: analysis.metrics.mse,
                    });
                }
            }),
            Purpose::Study(_) => {}
            Purpose::Row {
                table: Table::Formats,
                batch,
                name,
            } => state.preset_rows.update(|rows| {
                if let Some(r) = rows.as_mut().filter(|r| r.batch == *batch) {
                    r.rows.push(Comparison {
                        name: name.clone(),
                        config: analysis.config.clone(),
                        bits_per_value: analysis.metrics.bits_per_value,
                        mse: analysis.metrics.mse,
                        sqnr_db: analysis.metrics.sqnr_db,
                        pareto: false,
                    });
                }
            }),
        }
    }

    fn error(&self, message: String, purpose: Option<&Purpose>) {
        let state = self.0;
        match purpose {
            // A preset that does not fit the data is left out of the table.
            Some(Purpose::Row {
                table: Table::Calibrators,
                batch,
                name,
            }) => state.calibrator_rows.update(|rows| {
                if let Some(r) = rows.as_mut().filter(|r| r.batch == *batch) {
                    r.failed.push((name.clone(), message));
                }
            }),
            Some(Purpose::Row {
                table: Table::Bits,
                batch,
                ..
            }) => state.bit_rows.update(|rows| {
                if let Some(r) = rows.as_mut().filter(|r| r.batch == *batch) {
                    r.expected = r.expected.saturating_sub(1);
                }
            }),
            Some(Purpose::Row {
                table: Table::Clips,
                batch,
                ..
            }) => state.clip_rows.update(|rows| {
                if let Some(r) = rows.as_mut().filter(|r| r.batch == *batch) {
                    r.expected = r.expected.saturating_sub(1);
                }
            }),
            Some(Purpose::Row {
                table: Table::Groups,
                batch,
                ..
            }) => state.group_rows.update(|rows| {
                if let Some(r) = rows.as_mut().filter(|r| r.batch == *batch) {
                    r.expected = r.expected.saturating_sub(1);
                }
            }),
            Some(Purpose::Study(kind)) => match kind {
                StudyKind::Channels => state.channels.set(Studied::Failed(message)),
                StudyKind::Stream => state.stream.set(Studied::Failed(message)),
                StudyKind::Export => {
                    state.exporting.set(None);
                    state.export_error.set(Some(message));
                }
                StudyKind::Diff => state.diff.set(Studied::Failed(message)),
                // The previous result stays, with the reason beside it.
                StudyKind::Allocate => {
                    state.model.update(|m| match m.result().cloned() {
                        Some(r) => *m = Studied::Ready(r),
                        None => *m = Studied::Failed(message.clone()),
                    });
                    state.model_error.set(Some(message));
                }
                StudyKind::Layer => {
                    state.lab.update(|l| match l.result().cloned() {
                        Some(r) => *l = Studied::Ready(r),
                        None => *l = Studied::Failed(message.clone()),
                    });
                    state.lab_error.set(Some(message));
                }
            },
            Some(Purpose::Row {
                table: Table::Formats,
                batch,
                ..
            }) => state.preset_rows.update(|rows| {
                if let Some(r) = rows.as_mut().filter(|r| r.batch == *batch) {
                    r.expected = r.expected.saturating_sub(1);
                }
            }),
            _ => {
                state.error.set(Some(message));
                state.revert();
            }
        }
    }

    fn progress(&self, progress: Option<Progress>) {
        self.0.progress.set(progress);
    }

    fn measured(&self, row: crate::engine::protocol::TensorRow) {
        let state = self.0;
        state.model_rows.update(|rows| {
            rows.retain(|r| r.name != row.name);
            rows.push(row);
        });
    }

    fn studied(&self, result: StudyResult) {
        let state = self.0;
        match result {
            StudyResult::Diff(d) => state.diff.set(Studied::Ready(Shared::new(d))),
            StudyResult::Layer(l) => state.lab.set(Studied::Ready(Shared::new(l))),
            StudyResult::Allocate(r) => state.model.set(Studied::Ready(Shared::new(r))),
            StudyResult::Channels(c) => state.channels.set(Studied::Ready(Shared::new(c))),
            // The engine merges the parts into the study: none comes here.
            StudyResult::ChannelPart(_) | StudyResult::StreamPart(_) => {}
            StudyResult::Stream(s) => state.stream.set(Studied::Ready(Shared::new(s))),
            StudyResult::File { kind, bytes } => {
                let asked = state.exporting.get_untracked().map(|(_, c)| c);
                state.exporting.set(None);
                let name = state
                    .data
                    .with_untracked(|d| d.as_ref().map(|d| d.name.clone()))
                    .unwrap_or_default();
                let config = asked.unwrap_or_else(|| state.config.get_untracked());
                let file = crate::export::tensor_file_name(&name, &config, kind);
                #[cfg(not(target_arch = "wasm32"))]
                let _ = (file, bytes);
                #[cfg(target_arch = "wasm32")]
                if let Err(e) = crate::components::export_panel::download_bytes(&file, &bytes) {
                    state.export_error.set(Some(e));
                }
            }
        }
    }

    fn cancelled(&self) {
        let state = self.0;
        state.revert();
        // Rows not yet run are dropped with the job: say so rather than "measuring" forever.
        state.calibrator_rows.update(|rows| {
            if let Some(r) = rows.as_mut() {
                let missing: Vec<String> = r
                    .keys
                    .iter()
                    .filter(|k| {
                        !r.rows.iter().any(|row| row.key == **k)
                            && !r.failed.iter().any(|(f, _)| f == *k)
                    })
                    .map(|k| k.to_string())
                    .collect();
                for k in missing {
                    r.failed
                        .push((k, "cancelled: change a knob to measure again".to_string()));
                }
            }
        });
        state.bit_rows.update(|rows| {
            if let Some(r) = rows.as_mut() {
                r.expected = r.points.len();
            }
        });
        state.clip_rows.update(|rows| {
            if let Some(r) = rows.as_mut() {
                r.expected = r.points.len();
            }
        });
        state.group_rows.update(|rows| {
            if let Some(r) = rows.as_mut() {
                r.expected = r.points.len();
            }
        });
        // A study lost with the job: its last result stays, nothing is waited for.
        state.exporting.set(None);
        state.channels.update(Studied::settle);
        state.stream.update(Studied::settle);
        state.diff.update(Studied::settle);
        state.lab.update(Studied::settle);
        state
            .model
            .update(|m| m.settle_saying("cancelled: press Allocate to measure again"));
    }
}

/// Checks stream settings against the rows (or values) of the data, `units`.
pub fn check_stream(spec: &StreamSpec, units: Option<usize>) -> Result<(), String> {
    let most = units.unwrap_or(usize::MAX).min(MAX_BATCHES);
    if spec.batches < 2 || spec.batches > most {
        return Err(format!(
            "batches must be from 2 to {most} (at most one per row of the data, and {MAX_BATCHES}), got {}",
            spec.batches
        ));
    }
    if spec.calibrate_on == 0 || spec.calibrate_on > spec.batches {
        return Err(format!(
            "calibrate on 1 to {} batches (the stream has {}), got {}",
            spec.batches, spec.batches, spec.calibrate_on
        ));
    }
    if !spec.drift.is_finite() || spec.drift.abs() > 5.0 {
        return Err(format!("drift must be from −5 to 5, got {}", spec.drift));
    }
    Ok(())
}

/// The most batches the stream view makes (one SQNR point each).
pub const MAX_BATCHES: usize = 256;

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

#[cfg(target_arch = "wasm32")]
fn file_name(f: &web_sys::File) -> String {
    f.name()
}

#[cfg(not(target_arch = "wasm32"))]
fn file_name(_: &web_sys::File) -> String {
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quantscope_core::synth::Distribution;
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
            assert_eq!(state.synth.get_untracked().n, 131_072);
        });
    }

    #[test]
    fn a_failed_job_returns_the_settings_to_the_view_shown() {
        let owner = Owner::new();
        owner.with(|| {
            let state = AppState::new();
            let sink = PageSink(state);
            sink.loaded(
                DataInfo {
                    name: "t".into(),
                    shape: vec![4, 8],
                    summary: quantscope_core::Summary::of(&[0.0; 32]),
                },
                None,
                None,
            );
            let shown = QuantizerConfig {
                bits: 6,
                ..Default::default()
            };
            let d = quantscope_core::Dataset::new("t", vec![4, 8], vec![0.5; 32])
                .unwrap_or_else(|e| panic!("{e}"));
            let a = quantscope_core::analyze(&d, &shown, &view_options(0))
                .unwrap_or_else(|e| panic!("{e}"));
            let stats = JobStats {
                compute_ms: 1.0,
                shares: 1,
            };
            sink.analysis(a, &Purpose::View, stats);
            state.try_config(|c| c.bits = 2);
            state.try_synth(|s| s.n = 2_048);
            sink.cancelled();
            assert_eq!(state.config.get_untracked().bits, 6);
            assert_eq!(state.synth.get_untracked().n, 131_072);
            sink.error("boom".into(), Some(&Purpose::View));
            assert_eq!(state.error.get_untracked().as_deref(), Some("boom"));
        });
    }
}
