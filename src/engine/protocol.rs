//! The messages between the page and its compute workers, and the settings they carry.
//!
//! ```text
//! page ──Request──► worker k          worker k ──Response──► page
//!   Synth / Open      load the data      Ready, Loaded{info}, Error
//!   Analyze{share}    one share          Part{partial analysis}, Progress
//! ```
//! Every request but the test hook carries a job number; the page drops answers to jobs it no
//! longer wants (latest wins). A dropped file travels as its `File` handle beside the request (the
//! worker reads its slices), sample weights as bytes.

use serde::{Deserialize, Serialize};

use quantscope_core::io::{FileKind, TensorInfo};
use quantscope_core::study::{ChannelStudy, StreamSpec, StreamStudy};
use quantscope_core::synth::{self, Distribution};
use quantscope_core::{AnalysisOptions, Dataset, PartialAnalysis, QuantizerConfig, Share, Summary};

/// A request's number; answers name it.
pub type JobId = u64;

/// Settings of the synthetic source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SynthSettings {
    pub dist: Distribution,
    pub n: usize,
    pub seed: u64,
    /// The data is a matrix of N / cols rows (output channels) × `cols` columns.
    pub cols: usize,
    /// Each row scaled by exp(σ z), z ~ N(0, 1) (see [`synth::scale_rows`]); 0: no spread.
    pub row_spread: f64,
}

impl Default for SynthSettings {
    fn default() -> Self {
        // 128 × 1024: every preset's blocks divide the rows, and per channel means 128 rows.
        Self {
            dist: Distribution::Normal,
            n: 131_072,
            seed: 1,
            cols: 1024,
            row_spread: 0.0,
        }
    }
}

impl SynthSettings {
    /// The shape of the data: rows × columns, or one row of N when `cols` is 1.
    pub fn shape(&self) -> Vec<usize> {
        if self.cols <= 1 {
            vec![self.n]
        } else {
            vec![self.n / self.cols, self.cols]
        }
    }
}

/// Smallest and largest N offered in the page.
pub const MIN_N: usize = 1_000;
pub const MAX_N: usize = 16_000_000;

/// Generates the synthetic dataset for `s`.
pub fn synthetic_dataset(s: &SynthSettings) -> Result<Dataset, String> {
    check_synth(s)?;
    let mut values = synth::generate(s.dist, s.n, s.seed).map_err(|e| e.to_string())?;
    synth::scale_rows(&mut values, s.cols, s.row_spread, s.seed).map_err(|e| e.to_string())?;
    let spread = if s.row_spread > 0.0 {
        format!(", row spread σ = {}", s.row_spread)
    } else {
        String::new()
    };
    Dataset::new(
        format!(
            "synthetic {} (N = {}, seed {}{spread})",
            s.dist.name(),
            s.n,
            s.seed
        ),
        s.shape(),
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
    synth::validate(s.dist, s.n).map_err(|e| e.to_string())?;
    synth::validate_matrix(s.n, s.cols, s.row_spread).map_err(|e| e.to_string())
}

/// The columns to use for `n` values when `cols` was asked for: `cols` itself when it divides
/// `n`, else the divisor of `n` below it that the most block sizes (32, 64, 128) divide, the
/// largest such: 320 for N = 10⁶ (= 2⁶ · 5⁶), so MX, NVFP4, GGML and NF4 blocks fit the rows.
pub fn fitting_cols(n: usize, cols: usize) -> usize {
    if cols >= 1 && n % cols == 0 {
        return cols;
    }
    (1..=cols.clamp(1, n.max(1)))
        .filter(|c| n % c == 0)
        .max_by_key(|&c| (c.trailing_zeros().min(7), c))
        .unwrap_or(1)
}

/// What the page asks a worker to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Generate synthetic data and hold it.
    Synth { job: JobId, settings: SynthSettings },
    /// Open a file (its bytes or `File` handle travel beside the request) and hold `tensor`, or
    /// its first float tensor; without an attachment, switch to `tensor` of the file held.
    Open {
        job: JobId,
        name: String,
        tensor: Option<String>,
    },
    /// Analyse one share of the data held.
    Analyze {
        job: JobId,
        config: QuantizerConfig,
        options: AnalysisOptions,
        share: Share,
    },
    /// Analyse one share of the data held under each of `rows` in turn: background work in
    /// short slices (several small rows in one message, or one share of a big one), so that the
    /// view never waits long for a worker.
    Sweep {
        job: JobId,
        rows: Vec<SweepRow>,
        options: AnalysisOptions,
    },
    /// Study the data held beyond one analysis (one worker does it; see [`Study`]).
    Study {
        job: JobId,
        config: QuantizerConfig,
        study: Study,
    },
    /// Drop the data and file held (another worker count holds the data now).
    Release { job: JobId },
    /// Test hook: panic, as a bug would (the page must report it and recover).
    Crash { job: JobId },
}

impl Request {
    pub fn job(&self) -> JobId {
        match self {
            Self::Synth { job, .. }
            | Self::Open { job, .. }
            | Self::Analyze { job, .. }
            | Self::Study { job, .. }
            | Self::Sweep { job, .. }
            | Self::Release { job }
            | Self::Crash { job } => *job,
        }
    }
}

/// One slice of a table's row: share `share` of the analysis under `config`, or of the
/// measurement of its two-level bound.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    pub name: String,
    pub config: QuantizerConfig,
    pub share: Share,
    #[serde(default)]
    pub bound: RowBound,
}

/// What a slice of a row does with the two-level bound its analysis needs
/// (`quantscope_core::run::needs_bound`): the bound is measured in parts first, then given to
/// every share.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum RowBound {
    /// The analysis needs none: analyse the share.
    #[default]
    Unneeded,
    /// Measure the share's part of the bound (`quantscope_core::run::bound_part`).
    Measure,
    /// Keep this bound (`quantscope_core::run::keep_bound`), then analyse the share.
    Given(f32),
}

/// What one slice of a row found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Slice {
    /// Its share of the analysis.
    Share(Box<PartialAnalysis>),
    /// Its part of the two-level bound.
    Bound(f32),
}

/// What a [`Request::Study`] asks for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Study {
    /// Per-channel ranges and SQNR (`quantscope_core::study::channels`), in at most `bands`.
    /// The engine runs it in parts ([`Study::ChannelPart`]) where it can.
    Channels { bands: usize },
    /// The channels `first..end` of a channel study (`quantscope_core::study::channels_part`):
    /// the engine merges the parts of every channel into the study.
    ChannelPart { first: usize, end: usize },
    /// The batches `first..end` of a stream study (`quantscope_core::study::stream_part`), with
    /// the static range the first part found (`None`: calibrate it): the engine merges the
    /// parts of every batch into the study.
    StreamPart {
        spec: StreamSpec,
        first: usize,
        end: usize,
        static_clip: Option<(f32, f32)>,
    },
    /// Static against dynamic ranges over a stream of batches (`study::stream`).
    Stream(StreamSpec),
    /// The quantized tensor as a file.
    Export(ExportKind),
    /// The held file (the original) against a quantized copy, which travels beside the request
    /// as its attachment: every pair of tensors measured (`quantscope_core::diff`).
    Diff { quantized: String },
    /// The layer lab: the data held as a layer's weights W [out, in], the activations X
    /// [tokens, in] in the attachment, every method (`quantscope_core::layer::lab`).
    Layer(LayerSpec),
    /// The held file as a model: every 2-D float tensor measured under each candidate (one in
    /// memory at a time; kept between budgets), and the allocation at `budget`
    /// (`quantscope_core::allocate`, as `quantscope allocate`).
    Allocate {
        candidates: Vec<String>,
        budget: f64,
        /// A per-input importance file (its name, and the page's count of files chosen so
        /// that another file of the same name is read afresh); the file is the attachment.
        importance: Option<(String, u64)>,
        /// A target size of the tensor data in bytes, instead of `budget`.
        size: Option<f64>,
    },
}

/// What the layer lab asks for besides the weight quantizer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerSpec {
    /// The activations' file name (the file travels as the attachment).
    pub activations: String,
    /// Its tensor, or the file's first float tensor.
    pub tensor: Option<String>,
    /// Transforms, activation bits, hold-out and GPTQ's settings (the method is ignored: all run).
    pub options: quantscope_core::layer::LayerOptions,
}

impl Study {
    /// Which kind of study: a newer request of the same kind replaces one still waiting.
    pub fn kind(&self) -> StudyKind {
        match self {
            Self::Channels { .. } | Self::ChannelPart { .. } => StudyKind::Channels,
            Self::Stream(_) | Self::StreamPart { .. } => StudyKind::Stream,
            Self::Export(_) => StudyKind::Export,
            Self::Diff { .. } => StudyKind::Diff,
            Self::Layer(_) => StudyKind::Layer,
            Self::Allocate { .. } => StudyKind::Allocate,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StudyKind {
    Channels,
    Stream,
    Export,
    Diff,
    Layer,
    Allocate,
}

impl StudyKind {
    /// Asked for by a person (an export, a comparison): it runs as soon as a worker is free, not
    /// when the knobs rest, and is not restarted when the workers are.
    pub fn asked(self) -> bool {
        match self {
            Self::Export | Self::Diff | Self::Allocate => true,
            Self::Channels | Self::Stream | Self::Layer => false,
        }
    }
}

/// Which file of the quantized tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportKind {
    /// The dequantized values, f32 `.npy` of the data's shape.
    Dequantized,
    /// The integer codes, i32 `.npy`.
    Codes,
    /// Codes, scales and zero-points, `.safetensors`.
    Safetensors,
}

impl ExportKind {
    /// The end of the file's name.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Dequantized => "dequantized.npy",
            Self::Codes => "codes.npy",
            Self::Safetensors => "quantized.safetensors",
        }
    }
}

/// A study's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StudyResult {
    Channels(ChannelStudy),
    /// A part of a channel study (the engine keeps it until every part has come).
    ChannelPart(quantscope_core::study::ChannelPart),
    /// A part of a stream study (likewise).
    StreamPart(quantscope_core::study::StreamPart),
    Stream(StreamStudy),
    /// A file's bytes (a `Uint8Array` on the way, its buffer transferred, not copied).
    File {
        kind: ExportKind,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    Diff(quantscope_core::diff::DiffTable),
    Layer(quantscope_core::layer::LabResult),
    Allocate(quantscope_core::allocate::Report),
}

/// Name, shape and statistics of the data a worker holds (the page keeps no values).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    pub name: String,
    pub shape: Vec<usize>,
    pub summary: Summary,
}

impl DataInfo {
    pub fn of(d: &Dataset) -> Self {
        Self {
            name: d.name().to_string(),
            shape: d.shape().to_vec(),
            summary: *d.summary(),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.summary.n
    }

    /// Always false: an empty dataset cannot be loaded.
    pub fn is_empty(&self) -> bool {
        self.summary.n == 0
    }

    /// Bytes of the values in memory (f32).
    pub fn bytes(&self) -> u64 {
        4 * self.summary.n as u64
    }
}

/// The table of contents of an opened file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileInfo {
    pub name: String,
    pub kind: FileKind,
    pub tensors: Vec<TensorInfo>,
    /// What the file says about itself (a GGUF file's architecture, file type, …).
    #[serde(default)]
    pub description: Vec<(String, String)>,
    /// A checkpoint in several files: how many (0 for one file).
    #[serde(default)]
    pub shards: usize,
    /// Its shards that could not be used, each with the reason.
    #[serde(default)]
    pub set_aside: Vec<(String, String)>,
}

impl FileInfo {
    /// How many of a sharded checkpoint's shards were read (0 for one file).
    pub fn shards_read(&self) -> usize {
        self.shards.saturating_sub(self.set_aside.len())
    }
}

/// A checkpoint's tensor as the model view lists it once it has been read: its statistics,
/// and whether it is allocated or kept at its own precision (and why).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TensorRow {
    pub name: String,
    pub n: usize,
    pub min: f32,
    pub max: f32,
    pub std: f64,
    /// max|x| / σ: how far the largest value sits in the tails.
    pub max_over_std: f64,
    /// Why it stays at its own precision, or `None` when it is allocated.
    pub kept: Option<String>,
}

impl TensorRow {
    /// The row of `dataset` (its summary), allocated or `kept`.
    pub fn of(dataset: &quantscope_core::Dataset, kept: Option<String>) -> Self {
        let s = dataset.summary();
        let max_abs = f64::from(s.min.abs().max(s.max.abs()));
        Self {
            name: dataset.name().to_string(),
            n: s.n,
            min: s.min,
            max: s.max,
            std: s.std,
            max_over_std: if s.std > 0.0 {
                max_abs / s.std
            } else {
                f64::NAN
            },
            kept,
        }
    }
}

/// What a worker answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// The worker's WebAssembly started: it takes requests from now on.
    Ready,
    /// The data of job `job` is held; `file` and `tensor` when it came from a file.
    Loaded {
        job: JobId,
        data: DataInfo,
        file: Option<FileInfo>,
        tensor: Option<String>,
    },
    /// One share of an analysis, and the milliseconds the worker spent on it.
    Part {
        job: JobId,
        part: Box<PartialAnalysis>,
        ms: f64,
    },
    /// Each row of a sweep, in order: its share of the analysis or why it was refused; and the
    /// milliseconds the worker spent on all of them.
    Swept {
        job: JobId,
        rows: Vec<Result<Slice, String>>,
        ms: f64,
    },
    /// A study's result.
    Studied {
        job: JobId,
        result: Box<StudyResult>,
    },
    /// How far a long job has come (0 to 1), and what it is doing.
    Progress { job: JobId, done: f64, what: String },
    /// One tensor of an allocation measured (sent as each is done, before the allocation).
    Measured { job: JobId, row: TensorRow },
    /// Job `job` was refused; the worker keeps what it held before.
    Error { job: JobId, message: String },
    /// The worker hit a bug and stops (posted from its panic hook).
    Panic { message: String },
    /// The worker's WebAssembly failed to start (posted by its loader script).
    InitError { message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_that_divide_n_and_fit_the_blocks() {
        assert_eq!(fitting_cols(131_072, 1024), 1024);
        assert_eq!(fitting_cols(1_000_000, 1024), 320);
        assert_eq!(fitting_cols(4_000_000, 1024), 640);
        assert_eq!(fitting_cols(96_000, 1024), 768);
        assert_eq!(fitting_cols(1_001, 1024), 1001);
        for (n, c) in [(1_000_000, 1024), (12_345, 1024), (7, 5)] {
            assert_eq!(n % fitting_cols(n, c), 0);
            assert!(fitting_cols(n, c) <= c);
        }
    }
}
