//! The page's side of the compute workers: which worker holds what, which job runs, and what the
//! views are told.
//!
//! ```text
//! one job at a time, in this order of priority:
//!   1. a load (synthetic data, a file, another tensor) — to every worker that will hold the data
//!   2. the view's analysis — the newest wanted one replaces an older wanted one (latest wins),
//!      and it is issued in an animation frame, so at most one per frame
//!   3. background work, once the knobs rest, on every holding worker that is free:
//!      - the tables' rows in short slices: a message holds shares of rows making about
//!        SLICE_VALUES values of a plain pass (several small rows, or one share of a big one: a
//!        row of 16M values goes in 16 slices; a costly row in more, smaller ones — a search
//!        calibrator per group at 300 times a plain pass per value goes in slices of ~3,500
//!        values, never cutting a group, `quantscope_core::run::slice_count`), so a worker is
//!        never busy with it for long, and the slices of a table spread over the workers; their
//!        parts are summed as they come (`quantscope_core::Merger`), not held; a row whose
//!        two-level scales need the whole tensor's calibrated bound (NVFP4 by a search,
//!        `quantscope_core::run::needs_bound`) first measures it in as many slices, then gives
//!        it to each share;
//!      - the channel study in parts of rows and the stream study in parts of batches
//!        (`quantscope_core::study::channel_slices`, `stream_slices`: about SLICE_VALUES / 8
//!        values of work a part; the stream's first part finds the static range, which the
//!        others are given), on every holding worker, each part as short as a table's slice,
//!        merged exactly when the last comes (`channels_from_parts`, `stream_from_parts`),
//!        after the quick tables' rows and before the longer ones;
//!      - on worker 0 only, the long jobs: studies (one that cannot be cut, the layer lab; the
//!        newest of each kind; an export does not wait for the rest) and rows that run whole
//!        (`quantscope_core::run::slice_count` and `bounded_slice_count` say `None`: learned
//!        codebooks, interleaved channels calibrated by a search, groups so big that one is a
//!        long search).
//!      A view waits for the slices running (a few ms) and then has every worker; while a long
//!      job holds worker 0 it runs on the others (with one holder, a long job gives way: the
//!      workers restart and it runs again later; with several, from 2M values, a long job whose
//!      answer the new view makes stale — a row of a table that follows the knobs, an automatic
//!      study — is stopped: worker 0 alone, started again with the data once the view has
//!      its result)
//! an analysis = one share per holding worker (see quantscope_core::share), merged exactly; a
//! table's row = its slices' shares, merged exactly
//! ```
//! Every worker holds the whole dataset (so each can calibrate any group), as many workers as the
//! memory budget allows. Answers carry their job number and the worker's generation; anything else
//! is dropped. A worker that panics or dies is reported, every worker is restarted, the last data
//! is loaded again and the last good view stays; cancelling a long job does the same, silently.
//!
//! Platform-neutral: the workers are behind [`Port`] (Web Workers in the page, an in-process
//! [`Service`](super::service::Service) in native tests), the views behind [`Sink`].

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use quantscope_core::run::{bounded_cost, bounded_slice_count, slice_cost, slice_count};
use quantscope_core::{
    merge, Analysis, AnalysisOptions, Merger, PartialAnalysis, QuantizerConfig, Share,
};

use super::protocol::{
    DataInfo, FileInfo, JobId, Request, Response, RowBound, Slice, Study, StudyKind, StudyResult,
    SweepRow, SynthSettings, TensorRow,
};

/// Bytes of f32 data all workers together may hold (each holds a whole copy).
pub const MEMORY_BUDGET: u64 = 1_500_000_000;

/// A job running longer than this (ms) shows progress and a cancel button.
pub const LONG_JOB_MS: f64 = 300.0;

/// What travels beside a request: the file a worker reads.
#[derive(Clone, Debug)]
pub enum Attachment {
    None,
    /// Shipped sample weights (fetched by the page).
    Bytes(Rc<Vec<u8>>),
    /// A file the user chose or dropped: the worker reads its slices.
    File(web_sys::File),
    /// Files chosen together: a sharded checkpoint's shards (and index).
    Files(Vec<web_sys::File>),
}

impl Attachment {
    /// Its size in bytes (0 for none).
    pub fn size(&self) -> u64 {
        match self {
            Self::None => 0,
            Self::Bytes(b) => b.len() as u64,
            Self::File(f) => file_size(f),
            Self::Files(files) => files.iter().map(file_size).sum(),
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn file_size(f: &web_sys::File) -> u64 {
    f.size() as u64
}

#[cfg(not(target_arch = "wasm32"))]
fn file_size(_: &web_sys::File) -> u64 {
    0
}

/// A compute worker as the engine sees it.
pub trait Port {
    fn post(&self, request: &Request, attachment: &Attachment);
    fn terminate(&self);
}

/// Starts worker `index` of generation `generation`; its answers go to [`Engine::receive`].
pub type PortFactory = Box<dyn Fn(usize, u32) -> Box<dyn Port>>;

/// Runs a callback in the next animation frame.
pub type FrameScheduler = Box<dyn Fn(Box<dyn FnOnce()>)>;

/// Where the engine's results go (the page's signals; a recorder in tests).
pub trait Sink {
    /// The data every holding worker now holds.
    fn loaded(&self, data: DataInfo, file: Option<FileInfo>, tensor: Option<String>);
    /// A merged analysis, for the view or for a row of the formats table, with how it was
    /// computed.
    fn analysis(&self, analysis: Analysis, purpose: &Purpose, stats: JobStats);
    /// A job was refused (or a worker failed), with the reason.
    fn error(&self, message: String, purpose: Option<&Purpose>);
    /// A long job's progress (`None` when nothing long runs).
    fn progress(&self, progress: Option<Progress>);
    /// A job was cancelled (or lost to a failed worker): the view stays as it was.
    fn cancelled(&self);
    /// A study's result.
    fn studied(&self, result: StudyResult);
    /// One tensor of an allocation, measured (they come before the allocation itself).
    fn measured(&self, row: TensorRow);
}

/// How an analysis was computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JobStats {
    /// The slowest worker's time on its share, in ms (the workers' own clock).
    pub compute_ms: f64,
    /// Shares (workers) it was split into.
    pub shares: usize,
}

/// A table of analyses the page fills in the background, each row one configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// Every preset that fits the data ("Formats side by side").
    Formats,
    /// The current settings under every calibration method (asked again as the knobs change, so
    /// its rows run before the formats table's).
    Calibrators,
    /// The current settings at every bit width (after the calibrators, before the clip sweep).
    Bits,
    /// The current settings at a sweep of manual clipping ranges (before the formats).
    Clips,
    /// The current settings per tensor, per channel and per group of each size.
    Groups,
}

impl Table {
    /// The panel's title, for progress text.
    pub fn title(self) -> &'static str {
        match self {
            Self::Formats => "Formats side by side",
            Self::Calibrators => "Calibrators compared",
            Self::Bits => "Error against bit width",
            Self::Clips => "Error against the clipping range",
            Self::Groups => "Granularity",
        }
    }

    /// Its slot in per-table counters, and the order its rows run in (lowest first).
    fn index(self) -> usize {
        match self {
            Self::Calibrators => 0,
            Self::Bits => 1,
            Self::Clips => 2,
            Self::Groups => 3,
            Self::Formats => 4,
        }
    }
}

/// What an analysis is for.
#[derive(Clone, Debug, PartialEq)]
pub enum Purpose {
    /// The main views.
    View,
    /// Row `name` of batch `batch` of `table`.
    Row {
        table: Table,
        batch: u64,
        name: String,
    },
    /// A study of this kind.
    Study(StudyKind),
}

impl Purpose {
    fn table(&self) -> Option<Table> {
        match self {
            Self::View | Self::Study(_) => None,
            Self::Row { table, .. } => Some(*table),
        }
    }
}

/// A long job's progress.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub what: String,
    /// 0 to 1, when known.
    pub done: Option<f64>,
    /// Work the page asked for by itself (the formats table's rows): shown in its own panel,
    /// not over the views.
    pub background: bool,
    /// The table whose rows it is, for background work.
    pub table: Option<Table>,
}

/// What to load.
#[derive(Clone, Debug)]
pub enum LoadSpec {
    Synth(SynthSettings),
    /// A file, and the tensor to show (the first float one when `None`).
    File {
        name: String,
        attachment: Attachment,
        tensor: Option<String>,
    },
    /// Another tensor of the file held.
    Tensor {
        tensor: String,
    },
}

/// One analysis to run.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalysisRequest {
    pub config: QuantizerConfig,
    pub options: AnalysisOptions,
    pub purpose: Purpose,
}

struct Slot {
    port: Box<dyn Port>,
    ready: bool,
    /// Requests posted before the worker was ready.
    queued: Vec<(Request, Attachment)>,
}

enum Phase {
    /// Loading on the first worker alone (to learn the data's size).
    First,
    /// Loading on these workers.
    All,
}

enum JobKind {
    Load {
        spec: LoadSpec,
        phase: Phase,
        /// Workers that have answered `Loaded`.
        done: Vec<bool>,
        holders: usize,
        /// A reload after a restart: the views are not told.
        quiet: bool,
    },
    Analyze {
        request: AnalysisRequest,
        parts: Vec<Option<PartialAnalysis>>,
    },
    Study {
        config: QuantizerConfig,
        study: Study,
        /// What travelled beside it (a background study started again needs it again).
        attachment: Attachment,
    },
    /// Shares of the tables' rows (by [`RowRun::key`]), analysed in one message.
    Slices { units: Vec<(u64, Share)> },
    /// A part of a study under way in parts ([`StudyRun::id`]).
    StudyPart { run: u64 },
    /// The worker was stopped (see [`stop_stale_long_job`]) and waits to start again: nothing
    /// runs on it, and no answer comes.
    Stopped,
}

/// A study measured in parts on whichever workers are free (see the module's notes): the
/// channel study in runs of rows, the stream study in runs of batches. The parts come back in
/// any order and are merged when the last has come.
struct StudyRun {
    id: u64,
    config: QuantizerConfig,
    /// The study asked for ([`Study::Channels`] or [`Study::Stream`]).
    study: Study,
    /// Its number of parts, and those not yet posted: `next..count`.
    count: usize,
    next: usize,
    parts: Vec<StudyResult>,
    /// The stream's static range, once its first part has found it: the other parts are given
    /// it (and wait for it).
    static_clip: Option<(f32, f32)>,
}

impl StudyRun {
    /// Whether its next part can go now.
    fn ready(&self) -> bool {
        let waits = matches!(self.study, Study::Stream(_)) && self.next > 0;
        self.next < self.count && !(waits && self.static_clip.is_none())
    }
}

/// A table's row whose slices are under way.
struct RowRun {
    key: u64,
    request: AnalysisRequest,
    /// Its shares' analyses, summed as they come in.
    merger: Merger,
    /// Its number of shares, and those not yet posted: `next..count`.
    count: usize,
    next: usize,
    /// Runs whole on worker 0 (its shares would repeat whole-tensor work).
    long: bool,
    /// Its work per value in plain passes (`quantscope_core::run::slice_cost`).
    cost: usize,
    /// The worker time its slices took, in ms.
    ms: f64,
    /// The two-level bound its shares need (`quantscope_core::run::needs_bound`).
    bound: Bound,
}

/// A row's two-level bound: measured in `count` parts (the row's slices) before any share goes,
/// each share then given it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Bound {
    Unneeded,
    /// Parts `next..count` not yet posted; `answered` parts in, the largest so far.
    Measuring {
        next: usize,
        answered: usize,
        largest: f32,
    },
    Known(f32),
}

impl RowRun {
    fn table(&self) -> Option<Table> {
        self.request.purpose.table()
    }

    /// Slices answered, as a fraction of its whole (a bound's parts count as slices).
    fn done(&self) -> f64 {
        let (answered, all) = match self.bound {
            Bound::Unneeded => (0, self.count),
            Bound::Measuring { answered, .. } => (answered, 2 * self.count),
            Bound::Known(_) => (self.count, 2 * self.count),
        };
        (answered + self.merger.added()) as f64 / all.max(1) as f64
    }

    /// Whether a slice of it can be posted now (none while its bound's parts are out).
    fn ready(&self) -> bool {
        match self.bound {
            Bound::Measuring { next, .. } => next < self.count,
            _ => self.next < self.count,
        }
    }

    /// Takes its next slice (see [`ready`](Self::ready)).
    fn take_slice(&mut self) -> (Share, RowBound) {
        let count = self.count;
        match &mut self.bound {
            Bound::Measuring { next, .. } => {
                *next += 1;
                (
                    Share {
                        index: *next - 1,
                        count,
                    },
                    RowBound::Measure,
                )
            }
            bound => {
                self.next += 1;
                let given = match *bound {
                    Bound::Known(b) => RowBound::Given(b),
                    _ => RowBound::Unneeded,
                };
                (
                    Share {
                        index: self.next - 1,
                        count,
                    },
                    given,
                )
            }
        }
    }
}

struct Job {
    id: JobId,
    kind: JobKind,
    /// The slowest share's time so far, in ms (the workers' own clock).
    ms: f64,
    /// The first worker of its shares (workers `first..first + count`): 1 while a study holds
    /// worker 0.
    first: usize,
    started: f64,
    /// When this job itself began (`started` of a table's row is its batch's start).
    began: f64,
    /// Progress reported by the workers, per worker.
    reported: Vec<f64>,
    what: String,
    shown: bool,
    /// A background job that may run long (a study, a row run whole): the view does not wait
    /// for it.
    long: bool,
}

struct Inner {
    /// A progress bar is on the page (a job ran long); cleared when the work ends, even if the
    /// job that ends it was not itself long (the last rows of a batch).
    progress_on_screen: bool,
    slots: Vec<Slot>,
    generation: u32,
    next_job: JobId,
    job: Option<Job>,
    /// The background job running on each worker (slices of the tables' rows; on worker 0 also a
    /// study or a row run whole), beside `job`.
    bg: Vec<Option<Job>>,
    /// The rows whose slices are under way, in the tables' order.
    running: Vec<RowRun>,
    /// Values a background message holds at most ([`SLICE_VALUES`]; smaller in tests).
    slice_values: usize,
    /// Values from which a stale long job is stopped ([`STOP_STALE_FROM_VALUES`]; fewer in
    /// tests).
    stop_stale_from: usize,
    /// A worker stopped for a stale job, started again once the view has its result.
    restart_pending: Option<usize>,
    next_row: u64,
    /// The last data loaded successfully, and the file it came from (for reloads).
    current: Option<LoadSpec>,
    holders: usize,
    /// Values of the data held (sizes a sweep's message), and its shape.
    data_len: usize,
    data_shape: Vec<usize>,
    load_wanted: Option<LoadSpec>,
    view_wanted: Option<AnalysisRequest>,
    /// Rows of the tables waiting, the calibrators' first; and how many each table's batch had.
    batch: VecDeque<AnalysisRequest>,
    batch_total: [usize; 5],
    /// Studies waiting, at most one of each kind, with the file that goes with one.
    studies: VecDeque<(QuantizerConfig, Study, Attachment)>,
    /// The studies under way in parts (one of a kind), and the number of the next one.
    study_runs: Vec<StudyRun>,
    next_study_run: u64,
    /// The data's finite (min, max): what merging a channel study needs of it.
    data_min_max: (f32, f32),
    /// When the batch's first row started (its progress counts from there).
    batch_started: Option<f64>,
    /// The slowest share of the last analysis, in ms (the workers' own timing).
    last_compute_ms: f64,
    /// A view analysis was issued in the current animation frame (the next waits for the next
    /// frame), and a frame callback is scheduled to clear this.
    frame_used: bool,
    frame_pending: bool,
    /// When the view last asked for an analysis: the formats table waits until the knobs rest.
    last_view_request: f64,
    /// Inject a worker panic with the next view analysis (the page's `?fault=panic` test hook).
    crash_next: bool,
    faults_in_a_row: u32,
}

/// Something for the sink, delivered once the engine's state is no longer borrowed.
enum Event {
    Loaded(DataInfo, Option<FileInfo>, Option<String>),
    Analysis(Box<Analysis>, Purpose, JobStats),
    Error(String, Option<Purpose>),
    Progress(Option<Progress>),
    Cancelled,
    Studied(Box<StudyResult>),
    Measured(TensorRow),
}

/// The engine: cheap to clone (a handle).
#[derive(Clone)]
pub struct Engine(Rc<Shared>);

/// The formats table runs its rows only when the view has asked for nothing for this long (ms),
/// so that a knob being dragged never waits behind a row.
pub const ROWS_AFTER_IDLE_MS: f64 = 250.0;

struct Shared {
    this: std::rc::Weak<Shared>,
    inner: RefCell<Inner>,
    factory: PortFactory,
    sink: Box<dyn Sink>,
    now: Box<dyn Fn() -> f64>,
    next_frame: FrameScheduler,
    /// Answers that arrived while the engine was busy (in-process ports answer at once).
    inbox: RefCell<VecDeque<(usize, u32, Response)>>,
    busy: RefCell<bool>,
}

impl Engine {
    /// An engine with `workers` workers from `factory`.
    pub fn new(
        workers: usize,
        factory: PortFactory,
        sink: Box<dyn Sink>,
        now: Box<dyn Fn() -> f64>,
        next_frame: FrameScheduler,
    ) -> Self {
        let workers = workers.max(1);
        let slots = (0..workers)
            .map(|i| Slot {
                port: factory(i, 0),
                ready: false,
                queued: Vec::new(),
            })
            .collect();
        Self(Rc::new_cyclic(|this| Shared {
            this: this.clone(),
            inner: RefCell::new(Inner {
                slots,
                generation: 0,
                next_job: 1,
                job: None,
                current: None,
                holders: 0,
                load_wanted: None,
                view_wanted: None,
                batch: VecDeque::new(),
                batch_total: [0; 5],
                studies: VecDeque::new(),
                study_runs: Vec::new(),
                next_study_run: 1,
                data_min_max: (f32::NAN, f32::NAN),
                data_len: 0,
                data_shape: Vec::new(),
                bg: (0..workers).map(|_| None).collect(),
                running: Vec::new(),
                slice_values: SLICE_VALUES,
                stop_stale_from: STOP_STALE_FROM_VALUES,
                restart_pending: None,
                next_row: 1,
                batch_started: None,
                last_compute_ms: 0.0,
                frame_used: false,
                frame_pending: false,
                last_view_request: f64::NEG_INFINITY,
                crash_next: false,
                faults_in_a_row: 0,
                progress_on_screen: false,
            }),
            factory,
            sink,
            now,
            next_frame,
            inbox: RefCell::new(VecDeque::new()),
            busy: RefCell::new(false),
        }))
    }

    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.0.inner.borrow().slots.len()
    }

    /// The slowest worker's compute time for the last analysis, in ms.
    pub fn last_compute_ms(&self) -> f64 {
        self.0.inner.borrow().last_compute_ms
    }

    /// Workers holding the current data (the shares of each analysis).
    pub fn holders(&self) -> usize {
        self.0.inner.borrow().holders
    }

    /// Loads data (replacing a load still waiting).
    pub fn load(&self, spec: LoadSpec) {
        self.with(|inner, _| {
            inner.load_wanted = Some(spec);
            Vec::new()
        });
    }

    /// Asks for the view's analysis with `config` and `options` (replacing one still waiting). It
    /// is issued at once when nothing runs and none was issued in this animation frame, else as
    /// soon as both hold.
    pub fn analyze(&self, config: QuantizerConfig, options: AnalysisOptions) {
        self.with(|inner, shared| {
            inner.view_wanted = Some(AnalysisRequest {
                config,
                options,
                purpose: Purpose::View,
            });
            let now = (shared.now)();
            inner.last_view_request = now;
            let events = preempt_row(inner, shared, now);
            stop_stale_long_job(inner, shared);
            events
        });
    }

    /// Queues a table's rows, replacing that table's rows not yet run (the tables that follow
    /// the knobs go before the formats table: see [`Table`]).
    pub fn compare(
        &self,
        table: Table,
        batch: u64,
        rows: Vec<(String, QuantizerConfig)>,
        options: AnalysisOptions,
    ) {
        self.with(|inner, _| {
            inner.batch.retain(|r| r.purpose.table() != Some(table));
            // Its rows under way are forgotten too (their slices' answers will be dropped).
            inner.running.retain(|r| r.table() != Some(table));
            let requests = rows.into_iter().map(|(name, config)| AnalysisRequest {
                config,
                options,
                purpose: Purpose::Row { table, batch, name },
            });
            inner.batch_total[table.index()] = requests.len();
            inner.batch.extend(requests);
            // Tables in their order, each table's rows in theirs (a stable sort).
            inner
                .batch
                .make_contiguous()
                .sort_by_key(|r| r.purpose.table().map_or(0, Table::index));
            inner.batch_started = None;
            Vec::new()
        });
    }

    /// Asks for `study` of the data under `config` (replacing one of its kind still waiting).
    pub fn study(&self, config: QuantizerConfig, study: Study) {
        self.study_with(config, study, Attachment::None);
    }

    /// [`study`](Self::study) with a file for the worker (a comparison's quantized copy).
    pub fn study_with(&self, config: QuantizerConfig, study: Study, attachment: Attachment) {
        self.with(|inner, _| {
            let kind = study.kind();
            inner.studies.retain(|(_, s, _)| s.kind() != kind);
            // Parts under way measure older settings: their answers will be dropped.
            inner.study_runs.retain(|r| r.study.kind() != kind);
            inner.studies.push_back((config, study, attachment));
            Vec::new()
        });
    }

    /// Forgets a study of `kind` still waiting (or under way in parts): the view's settings no
    /// longer call for it.
    pub fn drop_study(&self, kind: StudyKind) {
        self.with(|inner, _| {
            inner.studies.retain(|(_, s, _)| s.kind() != kind);
            inner.study_runs.retain(|r| r.study.kind() != kind);
            Vec::new()
        });
    }

    /// Sets the values one background message holds at most (tests slice small data).
    pub fn set_slice_values(&self, values: usize) {
        self.0.inner.borrow_mut().slice_values = values.max(1);
    }

    /// Sets the data size from which a stale long job is stopped (tests use small data).
    pub fn set_stop_stale_from(&self, values: usize) {
        self.0.inner.borrow_mut().stop_stale_from = values;
    }

    /// The page's fault hook: the next view analysis makes a worker panic.
    pub fn crash_next(&self) {
        self.0.inner.borrow_mut().crash_next = true;
    }

    /// Stops whatever runs: restarts the workers and reloads the data; the view stays.
    pub fn cancel(&self) {
        self.with(|inner, shared| {
            let mut events = vec![Event::Cancelled, Event::Progress(None)];
            inner.view_wanted = None;
            inner.batch.clear();
            restart(inner, shared);
            events.extend(reload(inner, shared));
            events
        });
    }

    /// Called every ~100 ms: shows a long job's progress, and stops a background job that has
    /// run long while the view waits (it may have been young when the view asked).
    pub fn tick(&self) {
        self.with(|inner, shared| {
            let now = (shared.now)();
            if inner.view_wanted.is_some() {
                let events = preempt_row(inner, shared, now);
                if !events.is_empty() || inner.job.is_none() {
                    return events;
                }
            }
            // The foreground job's progress, else an asked study's (an export, a comparison, an
            // allocation: the user waits for it, so it gets the bar and Cancel too), else the
            // background table's (an automatic study's is shown by its own panel).
            let asked = inner.bg.first_mut().and_then(Option::as_mut).filter(|j| {
                matches!(&j.kind, JobKind::Study { study, .. } if study.kind().asked())
                    && now - j.started >= LONG_JOB_MS
            });
            if let (None, Some(job)) = (inner.job.as_ref(), asked) {
                job.shown = true;
                let progress = Progress {
                    what: job.what.clone(),
                    done: job.reported.first().copied().filter(|d| *d > 0.0),
                    background: false,
                    table: None,
                };
                inner.progress_on_screen = true;
                return vec![Event::Progress(Some(progress))];
            }
            if let Some(job) = inner.job.as_mut() {
                if now - job.started < LONG_JOB_MS {
                    return Vec::new();
                }
                job.shown = true;
                inner.progress_on_screen = true;
                let done = (!job.reported.is_empty())
                    .then(|| job.reported.iter().sum::<f64>() / job.reported.len() as f64);
                return vec![Event::Progress(Some(Progress {
                    what: job.what.clone(),
                    done,
                    background: false,
                    table: None,
                }))];
            }
            let Some(table) = inner.running.first().and_then(RowRun::table) else {
                return Vec::new();
            };
            if inner
                .batch_started
                .is_none_or(|started| now - started < LONG_JOB_MS)
            {
                return Vec::new();
            }
            inner.progress_on_screen = true;
            let total = inner.batch_total[table.index()];
            let left = inner
                .batch
                .iter()
                .filter(|r| r.purpose.table() == Some(table))
                .count();
            let under_way: Vec<f64> = inner
                .running
                .iter()
                .filter(|r| r.table() == Some(table))
                .map(RowRun::done)
                .collect();
            let finished = total.saturating_sub(left + under_way.len());
            let done = (finished as f64 + under_way.iter().sum::<f64>()) / total.max(1) as f64;
            vec![Event::Progress(Some(Progress {
                what: format!(
                    "{}: {} of {total}",
                    table.title(),
                    (finished + under_way.len()).min(total)
                ),
                done: Some(done),
                background: true,
                table: Some(table),
            }))]
        });
    }

    /// An answer from worker `index` of generation `generation`.
    pub fn receive(&self, index: usize, generation: u32, response: Response) {
        self.0
            .inbox
            .borrow_mut()
            .push_back((index, generation, response));
        // An in-process port answers while the engine is busy posting: the running call drains
        // the inbox.
        if !*self.0.busy.borrow() {
            self.with(|_, _| Vec::new());
        }
    }

    /// Runs `f` on the state, then handles queued answers, starts the next job, and tells the
    /// sink — with the state no longer borrowed, so the sink may call the engine.
    fn with(&self, f: impl FnOnce(&mut Inner, &Shared) -> Vec<Event>) {
        let shared = &*self.0;
        if shared.busy.replace(true) {
            // Only a sink or port calling back into a running call gets here; the engine never
            // does that itself, so there is nothing safe to do but skip.
            return;
        }
        let mut events = {
            let mut inner = shared.inner.borrow_mut();
            f(&mut inner, shared)
        };
        loop {
            let next = shared.inbox.borrow_mut().pop_front();
            let mut inner = shared.inner.borrow_mut();
            match next {
                Some((index, generation, response)) => {
                    events.extend(handle(&mut inner, shared, index, generation, response));
                }
                None => {
                    events.extend(pump(&mut inner, shared));
                    drop(inner);
                    if shared.inbox.borrow().is_empty() {
                        break;
                    }
                }
            }
        }
        shared.busy.replace(false);
        self.deliver(events);
    }

    fn deliver(&self, events: Vec<Event>) {
        let sink = &self.0.sink;
        for e in events {
            match e {
                Event::Loaded(d, f, t) => sink.loaded(d, f, t),
                Event::Analysis(a, p, stats) => sink.analysis(*a, &p, stats),
                Event::Error(m, p) => sink.error(m, p.as_ref()),
                Event::Progress(p) => sink.progress(p),
                Event::Cancelled => sink.cancelled(),
                Event::Studied(r) => sink.studied(*r),
                Event::Measured(row) => sink.measured(row),
            }
        }
    }
}

fn post(inner: &mut Inner, index: usize, request: Request, attachment: Attachment) {
    let slot = &mut inner.slots[index];
    if slot.ready {
        slot.port.post(&request, &attachment);
    } else {
        slot.queued.push((request, attachment));
    }
}

/// Clears `frame_used` in the next animation frame (once) and starts what waits.
fn schedule_frame(inner: &mut Inner, shared: &Shared) {
    if std::mem::replace(&mut inner.frame_pending, true) {
        return;
    }
    let Some(me) = shared.this.upgrade() else {
        return;
    };
    (shared.next_frame)(Box::new(move || {
        let engine = Engine(me);
        engine.with(|inner, _| {
            inner.frame_pending = false;
            inner.frame_used = false;
            Vec::new()
        });
    }));
}

/// How many workers hold data of `bytes` bytes.
fn holders_for(bytes: u64, workers: usize) -> usize {
    ((MEMORY_BUDGET / bytes.max(1)) as usize).clamp(1, workers)
}

/// Starts the next job if none runs: a load or the view's analysis in the foreground, else
/// background work on worker 0 (see the module's notes).
fn pump(inner: &mut Inner, shared: &Shared) -> Vec<Event> {
    if inner.job.is_some() {
        return Vec::new();
    }
    let id = inner.next_job;
    if let Some(spec) = inner.load_wanted.take() {
        if let Some(index) = inner.restart_pending.take() {
            // The new data goes to it too.
            restart_worker(inner, shared, index, false);
        }
        inner.next_job += 1;
        // Background work on the old data is forgotten (its answer will be dropped); worker 0
        // loads once it has finished.
        requeue_bg(inner);
        return start_load(inner, shared, id, spec, false);
    }
    if inner.holders == 0 {
        return Vec::new();
    }
    if inner.view_wanted.is_some() {
        // Slices end within a few ms: the view waits for them and then has every worker. A long
        // job keeps worker 0 and the view runs on the others; with no other holder, the view
        // waits for it (and `tick` stops it if it runs long).
        let holders = inner.holders;
        if inner.bg[..holders].iter().flatten().any(|j| !j.long) {
            return Vec::new();
        }
        let first = usize::from(inner.bg[0].is_some());
        if first >= holders {
            return Vec::new();
        }
        if inner.frame_used {
            // One view analysis per animation frame: this one goes in the next.
            schedule_frame(inner, shared);
            return Vec::new();
        }
        inner.frame_used = true;
        schedule_frame(inner, shared);
        let Some(request) = inner.view_wanted.take() else {
            return Vec::new();
        };
        inner.next_job += 1;
        if std::mem::take(&mut inner.crash_next) {
            post(inner, first, Request::Crash { job: id }, Attachment::None);
        }
        let job = start_analysis(inner, shared, id, request, first, holders - first);
        inner.job = Some(job);
        return Vec::new();
    }
    if let Some(index) = inner.restart_pending.take() {
        // The view has its result: the stopped worker starts again and reloads the data.
        restart_worker(inner, shared, index, true);
    }
    let rested = (shared.now)() - inner.last_view_request >= ROWS_AFTER_IDLE_MS;
    for worker in 0..inner.holders {
        if inner.bg[worker].is_none() {
            start_background(inner, shared, worker, rested);
        }
    }
    let waiting = !inner.batch.is_empty()
        || !inner.studies.is_empty()
        || inner.running.iter().any(|r| r.next < r.count);
    if !rested && waiting {
        // Look again next frame rather than at the next `tick` (up to 100 ms late): the tables
        // start within a frame of the knobs coming to rest.
        schedule_frame(inner, shared);
    }
    Vec::new()
}

/// Starts background work on the free worker `worker`: on worker 0 a study when one is due, else
/// the next slices of the tables' rows (see the module's notes).
fn start_background(inner: &mut Inner, shared: &Shared, worker: usize, rested: bool) {
    if worker == 0 {
        // The calibrator and bit-width rows (a few fast ones, at the top of the page) before
        // the studies; the studies before the longer tables.
        let quick_rows_first = quick_rows_first(inner);
        if let Some(i) = inner
            .studies
            .iter()
            .position(|(_, s, _)| s.kind().asked() || (rested && !quick_rows_first))
        {
            if let Some((config, study, attachment)) = inner.studies.remove(i) {
                if begin_study_run(inner, &config, &study) {
                    post_study_part(inner, shared, worker);
                    return;
                }
                let id = inner.next_job;
                inner.next_job += 1;
                start_study(inner, shared, id, config, study, attachment);
            }
            return;
        }
    }
    if !rested {
        // The knobs are moving: the tables' rows wait (`tick` tries again).
        return;
    }
    if !quick_rows_first(inner) && post_study_part(inner, shared, worker) {
        return;
    }
    let units = next_slices(inner, worker);
    if units.is_empty() {
        return;
    }
    let rows: Vec<SweepRow> = units
        .iter()
        .filter_map(|&(key, share, bound)| {
            let run = inner.running.iter().find(|r| r.key == key)?;
            Some(SweepRow {
                name: row_name(&run.request.purpose),
                config: run.request.config.clone(),
                share,
                bound,
            })
        })
        .collect();
    let units: Vec<(u64, Share)> = units.into_iter().map(|(k, s, _)| (k, s)).collect();
    let Some(first) = inner.running.iter().find(|r| r.key == units[0].0) else {
        return;
    };
    let (options, long) = (first.request.options, first.long);
    let table = first.table().map_or("", Table::title);
    let what = format!("{table}: {} slices", units.len());
    let id = inner.next_job;
    inner.next_job += 1;
    post(
        inner,
        worker,
        Request::Sweep {
            job: id,
            rows,
            options,
        },
        Attachment::None,
    );
    let now = (shared.now)();
    inner.batch_started.get_or_insert(now);
    inner.bg[worker] = Some(Job {
        id,
        kind: JobKind::Slices { units },
        ms: 0.0,
        first: worker,
        started: now,
        began: now,
        reported: vec![0.0],
        what,
        shown: false,
        long,
    });
}

/// Whether the calibrator and bit-width rows (a few fast ones, at the top of the page) have
/// slices waiting: they go before the studies, which go before the longer tables.
fn quick_rows_first(inner: &Inner) -> bool {
    let quick = |t: Option<Table>| matches!(t, Some(Table::Calibrators) | Some(Table::Bits));
    inner
        .running
        .iter()
        .any(|r| r.next < r.count && quick(r.table()))
        || inner
            .batch
            .front()
            .is_some_and(|r| quick(r.purpose.table()))
}

/// Starts `study` in parts when it is one that goes so and the data cuts into more than one
/// (`quantscope_core::study::channel_slices`, `stream_slices`, each part about SLICE_VALUES / 8
/// values of work); `false`: it runs whole, as a long job.
fn begin_study_run(inner: &mut Inner, config: &QuantizerConfig, study: &Study) -> bool {
    use quantscope_core::study::{channel_slices, stream_slices};
    let budget = (inner.slice_values / 8).max(1);
    let count = match study {
        Study::Channels { .. } => channel_slices(config, &inner.data_shape, budget),
        Study::Stream(spec) => stream_slices(config, &inner.data_shape, spec, budget),
        _ => 1,
    };
    if count <= 1 {
        return false;
    }
    let id = inner.next_study_run;
    inner.next_study_run += 1;
    let kind = study.kind();
    inner.study_runs.retain(|r| r.study.kind() != kind);
    inner.study_runs.push(StudyRun {
        id,
        config: config.clone(),
        study: study.clone(),
        count,
        next: 0,
        parts: Vec::with_capacity(count),
        static_clip: None,
    });
    true
}

/// Posts the next part of a study under way to the free worker `worker`; `false` when none is
/// left.
fn post_study_part(inner: &mut Inner, shared: &Shared, worker: usize) -> bool {
    use quantscope_core::study::part_range;
    let channels = inner.data_shape.first().copied().unwrap_or(0);
    let Some(run) = inner.study_runs.iter_mut().find(|r| r.ready()) else {
        return false;
    };
    let (index, count) = (run.next, run.count);
    run.next += 1;
    let part = match &run.study {
        Study::Channels { .. } => {
            let rows = part_range(channels, index, count);
            Study::ChannelPart {
                first: rows.start,
                end: rows.end,
            }
        }
        Study::Stream(spec) => {
            let batches = part_range(spec.batches, index, count);
            Study::StreamPart {
                spec: *spec,
                first: batches.start,
                end: batches.end,
                static_clip: run.static_clip,
            }
        }
        _ => return false,
    };
    let what = match part.kind() {
        StudyKind::Stream => "Quantizing the stream of batches",
        _ => "Measuring every channel",
    };
    let (run_id, config) = (run.id, run.config.clone());
    let id = inner.next_job;
    inner.next_job += 1;
    let request = Request::Study {
        job: id,
        config,
        study: part,
    };
    post(inner, worker, request, Attachment::None);
    let now = (shared.now)();
    inner.bg[worker] = Some(Job {
        id,
        kind: JobKind::StudyPart { run: run_id },
        ms: 0.0,
        first: worker,
        started: now,
        began: now,
        reported: vec![0.0],
        what: what.to_string(),
        shown: false,
        long: false,
    });
    true
}

/// A part of a study under way has come: kept, and the study merged once every part is in.
fn study_part_done(inner: &mut Inner, run_id: u64, part: StudyResult) -> Vec<Event> {
    let Some(i) = inner.study_runs.iter().position(|r| r.id == run_id) else {
        // A part of settings since replaced.
        return Vec::new();
    };
    let run = &mut inner.study_runs[i];
    if let StudyResult::StreamPart(p) = &part {
        run.static_clip.get_or_insert(p.static_clip);
    }
    run.parts.push(part);
    if run.parts.len() < run.count {
        return Vec::new();
    }
    let run = inner.study_runs.remove(i);
    let kind = run.study.kind();
    let merged = match run.study {
        Study::Channels { bands } => {
            let parts = run
                .parts
                .into_iter()
                .filter_map(|p| match p {
                    StudyResult::ChannelPart(p) => Some(p),
                    _ => None,
                })
                .collect();
            quantscope_core::study::channels_from_parts(
                &inner.data_shape,
                inner.data_min_max,
                &run.config,
                bands,
                parts,
            )
            .map(StudyResult::Channels)
        }
        Study::Stream(spec) => {
            let parts = run
                .parts
                .into_iter()
                .filter_map(|p| match p {
                    StudyResult::StreamPart(p) => Some(p),
                    _ => None,
                })
                .collect();
            quantscope_core::study::stream_from_parts(spec, parts).map(StudyResult::Stream)
        }
        _ => return Vec::new(),
    };
    vec![match merged {
        Ok(study) => Event::Studied(Box::new(study)),
        Err(e) => Event::Error(e.to_string(), Some(Purpose::Study(kind))),
    }]
}

/// The next shares of the rows for one message to `worker`: about `slice_values` values of one
/// table's rows with the same options, taken from the rows under way, then from the waiting ones
/// (which start: a row of n values in ⌈n / slice_values⌉ shares). A row that runs whole goes
/// alone, and only to worker 0.
fn next_slices(inner: &mut Inner, worker: usize) -> Vec<(u64, Share, RowBound)> {
    let data_len = inner.data_len.max(1);
    let slice_values = inner.slice_values.max(1);
    let mut units: Vec<(u64, Share, RowBound)> = Vec::new();
    let mut values = 0usize;
    // The table and options of the message's first slice: the others must have the same.
    let mut kind: Option<(Option<Table>, AnalysisOptions)> = None;
    loop {
        if units.len() >= MAX_SLICES {
            return units;
        }
        let open = inner.running.iter().position(|r| {
            r.ready()
                && (!r.long || worker == 0)
                && kind.is_none_or(|k| k == (r.table(), r.request.options) && !r.long)
        });
        let i = match open {
            Some(i) => i,
            None => {
                let Some(request) = inner.batch.front() else {
                    return units;
                };
                if kind.is_some_and(|k| k != (request.purpose.table(), request.options)) {
                    return units;
                }
                let shape = &inner.data_shape;
                let bounded = bounded_slice_count(&request.config, shape, slice_values);
                let cost = slice_cost(&request.config, shape);
                let slices = bounded.or_else(|| slice_count(&request.config, shape, slice_values));
                let long = slices.is_none();
                if long && (worker != 0 || !units.is_empty()) {
                    return units;
                }
                let Some(request) = inner.batch.pop_front() else {
                    return units;
                };
                // A slice of a costly row holds fewer values: about as long as a plain one.
                let cost = match bounded {
                    Some(_) => bounded_cost(&request.config, shape),
                    None => cost.unwrap_or(1),
                }
                .max(1);
                let count = slices.unwrap_or(1);
                let key = inner.next_row;
                inner.next_row += 1;
                inner.running.push(RowRun {
                    key,
                    request,
                    merger: Merger::new(count),
                    count,
                    next: 0,
                    long,
                    cost,
                    ms: 0.0,
                    bound: match bounded {
                        Some(_) => Bound::Measuring {
                            next: 0,
                            answered: 0,
                            largest: 0.0,
                        },
                        None => Bound::Unneeded,
                    },
                });
                inner.running.len() - 1
            }
        };
        let run = &mut inner.running[i];
        let count = run.count;
        // Weighed by cost: values of a plain pass.
        let size = data_len.div_ceil(count).saturating_mul(run.cost);
        if !units.is_empty() && values + size > slice_values {
            return units;
        }
        kind = Some((run.table(), run.request.options));
        let (share, bound) = run.take_slice();
        units.push((run.key, share, bound));
        values += size;
        if run.long {
            return units;
        }
    }
}

/// Values one background message analyses at most, in all its slices: a few ms of a worker's
/// time, so a view waits little for it (at 16M values, a row goes in 16 slices; at 131,072, 7
/// rows go in one message).
pub const SLICE_VALUES: usize = 1 << 20;
/// Slices one message holds at most.
pub const MAX_SLICES: usize = 32;

fn row_name(purpose: &Purpose) -> String {
    match purpose {
        Purpose::Row { name, .. } => name.clone(),
        _ => String::new(),
    }
}

/// Forgets the background jobs (their answers will be dropped): the rows under way go back to
/// the head of the queue, to start again, and a study back to its queue.
fn requeue_bg(inner: &mut Inner) {
    for job in inner.bg.iter_mut() {
        if let Some(JobKind::Study {
            config,
            study,
            attachment,
        }) = job.take().map(|j| j.kind)
        {
            let kind = study.kind();
            if !kind.asked() && !inner.studies.iter().any(|(_, s, _)| s.kind() == kind) {
                inner.studies.push_front((config, study, attachment));
            }
        }
    }
    // A study in parts starts again from its first part (its parts may be of other data).
    for run in std::mem::take(&mut inner.study_runs) {
        let kind = run.study.kind();
        if !inner.studies.iter().any(|(_, s, _)| s.kind() == kind) {
            inner
                .studies
                .push_front((run.config, run.study, Attachment::None));
        }
    }
    for run in inner.running.drain(..).rev() {
        inner.batch.push_front(run.request);
    }
}

/// Posts `request` as `count` shares to workers `first..first + count`.
fn start_analysis(
    inner: &mut Inner,
    shared: &Shared,
    id: JobId,
    request: AnalysisRequest,
    first: usize,
    count: usize,
) -> Job {
    for index in 0..count {
        let r = Request::Analyze {
            job: id,
            config: request.config.clone(),
            options: request.options,
            share: Share { index, count },
        };
        post(inner, first + index, r, Attachment::None);
    }
    let what = match &request.purpose {
        Purpose::View | Purpose::Study(_) => "Quantizing the data".to_string(),
        Purpose::Row { table, name, .. } => format!("{}: {name}", table.title()),
    };
    let now = (shared.now)();
    let started = match request.purpose {
        Purpose::View | Purpose::Study(_) => now,
        Purpose::Row { .. } => *inner.batch_started.get_or_insert(now),
    };
    Job {
        id,
        kind: JobKind::Analyze {
            parts: vec![None; count],
            request,
        },
        ms: 0.0,
        first,
        started,
        began: now,
        reported: vec![0.0; count],
        what,
        shown: false,
        long: false,
    }
}

/// Posts a study to the first worker (it holds all the data).
fn start_study(
    inner: &mut Inner,
    shared: &Shared,
    id: JobId,
    config: QuantizerConfig,
    study: Study,
    attachment: Attachment,
) -> Vec<Event> {
    let what = match study.kind() {
        StudyKind::Channels => "Measuring every channel",
        StudyKind::Stream => "Quantizing the stream of batches",
        StudyKind::Export => "Writing the quantized tensor",
        StudyKind::Diff => "Comparing the two files",
        StudyKind::Layer => "Layer lab: RTN, GPTQ and AWQ on the layer",
        StudyKind::Allocate => "Measuring every tensor under each candidate",
    };
    let request = Request::Study {
        job: id,
        config: config.clone(),
        study: study.clone(),
    };
    post(inner, 0, request, attachment.clone());
    let now = (shared.now)();
    inner.bg[0] = Some(Job {
        id,
        kind: JobKind::Study {
            config,
            study,
            attachment,
        },
        ms: 0.0,
        first: 0,
        started: now,
        began: now,
        reported: vec![0.0],
        what: what.to_string(),
        shown: false,
        long: true,
    });
    Vec::new()
}

fn start_load(
    inner: &mut Inner,
    shared: &Shared,
    id: JobId,
    spec: LoadSpec,
    quiet: bool,
) -> Vec<Event> {
    let workers = inner.slots.len();
    let (first_alone, holders) = match &spec {
        LoadSpec::Synth(s) => (false, holders_for(4 * s.n as u64, workers)),
        // f16 data doubles as f32: the file's size, doubled, bounds the data.
        LoadSpec::File { attachment, .. } => {
            let bytes = 2 * attachment.size();
            let all = holders_for(bytes, workers) == workers && bytes > 0;
            (!all, if all { workers } else { 1 })
        }
        LoadSpec::Tensor { .. } => (true, 1),
    };
    let what = match &spec {
        LoadSpec::Synth(s) => format!("Generating {} values", s.n),
        LoadSpec::File { name, .. } => format!("Reading {name}"),
        LoadSpec::Tensor { tensor } => format!("Reading tensor {tensor}"),
    };
    let targets = if first_alone { 1 } else { holders };
    for index in 0..targets {
        let (request, attachment) = load_request(inner, id, &spec);
        post(inner, index, request, attachment);
    }
    inner.job = Some(Job {
        id,
        kind: JobKind::Load {
            spec,
            phase: if first_alone {
                Phase::First
            } else {
                Phase::All
            },
            done: vec![false; workers],
            holders: targets,
            quiet,
        },
        ms: 0.0,
        first: 0,
        started: (shared.now)(),
        began: (shared.now)(),
        reported: Vec::new(),
        what,
        shown: false,
        long: false,
    });
    Vec::new()
}

/// The request (and attachment) that loads `spec`. Switching tensors of a held file on a worker
/// that may not hold it: the file's attachment goes along when the engine has it.
fn load_request(inner: &Inner, job: JobId, spec: &LoadSpec) -> (Request, Attachment) {
    match spec {
        LoadSpec::Synth(settings) => (
            Request::Synth {
                job,
                settings: settings.clone(),
            },
            Attachment::None,
        ),
        LoadSpec::File {
            name,
            attachment,
            tensor,
        } => (
            Request::Open {
                job,
                name: name.clone(),
                tensor: tensor.clone(),
            },
            attachment.clone(),
        ),
        LoadSpec::Tensor { tensor } => match &inner.current {
            Some(LoadSpec::File {
                name, attachment, ..
            }) => (
                Request::Open {
                    job,
                    name: name.clone(),
                    tensor: Some(tensor.clone()),
                },
                attachment.clone(),
            ),
            _ => (
                Request::Open {
                    job,
                    name: String::new(),
                    tensor: Some(tensor.clone()),
                },
                Attachment::None,
            ),
        },
    }
}

/// Handles one answer.
fn handle(
    inner: &mut Inner,
    shared: &Shared,
    index: usize,
    generation: u32,
    response: Response,
) -> Vec<Event> {
    if generation != inner.generation || index >= inner.slots.len() {
        return Vec::new();
    }
    match response {
        Response::Ready => {
            let slot = &mut inner.slots[index];
            slot.ready = true;
            for (request, attachment) in std::mem::take(&mut slot.queued) {
                slot.port.post(&request, &attachment);
            }
            Vec::new()
        }
        Response::InitError { message } => {
            inner.job = None;
            vec![Event::Error(
                format!("The compute engine could not start in this browser: {message}"),
                None,
            )]
        }
        Response::Panic { message } => fault(inner, shared, &message),
        Response::Progress { job, done, what } => {
            let j = inner.job.as_mut().filter(|j| j.id == job);
            let bg = inner.bg.get_mut(index).and_then(Option::as_mut);
            if let Some(j) = j.or(bg.filter(|j| j.id == job)) {
                if let Some(r) = index
                    .checked_sub(j.first)
                    .and_then(|k| j.reported.get_mut(k))
                {
                    *r = done;
                }
                j.what = what;
            }
            Vec::new()
        }
        Response::Loaded {
            job,
            data,
            file,
            tensor,
        } => {
            // A worker restarted alone has its data again: free for work.
            if inner
                .bg
                .get_mut(index)
                .and_then(|slot| slot.take_if(|j| j.id == job))
                .is_some()
            {
                return Vec::new();
            }
            loaded(inner, index, job, data, file, tensor)
        }
        Response::Part { job, part, ms } => {
            // Shares of the view's analysis (background rows come as `Swept`).
            let slot = &mut inner.job;
            let Some(j) = slot.as_mut().filter(|j| j.id == job) else {
                return Vec::new();
            };
            j.ms = j.ms.max(ms);
            let Some(share) = index.checked_sub(j.first) else {
                return Vec::new();
            };
            let JobKind::Analyze { parts, .. } = &mut j.kind else {
                return Vec::new();
            };
            if let Some(p) = parts.get_mut(share) {
                *p = Some(*part);
            }
            if let Some(r) = j.reported.get_mut(share) {
                *r = 1.0;
            }
            if parts.iter().any(Option::is_none) {
                return Vec::new();
            }
            let Some(Job {
                kind: JobKind::Analyze { request, parts },
                shown,
                ms,
                ..
            }) = slot.take()
            else {
                return Vec::new();
            };
            inner.faults_in_a_row = 0;
            if request.purpose == Purpose::View {
                inner.last_compute_ms = ms;
                // The knobs rest from when the view shows their result, not from when they were
                // moved: a view that took longer than the idle wait would otherwise let a
                // background job start at once, and the next change wait behind it — change
                // after change (16M per-group: ~830 ms a change instead of ~90).
                inner.last_view_request = (shared.now)();
            }
            let mut events = Vec::new();
            if shown {
                inner.progress_on_screen = false;
                events.push(Event::Progress(None));
            }
            let stats = JobStats {
                compute_ms: ms,
                shares: parts.len(),
            };
            match merge(parts.into_iter().flatten().collect()) {
                Ok(a) => events.push(Event::Analysis(Box::new(a), request.purpose, stats)),
                Err(e) => events.push(Event::Error(e.to_string(), Some(request.purpose))),
            }
            events
        }
        Response::Swept {
            job,
            rows: parts,
            ms,
        } => {
            let Some(Job {
                kind: JobKind::Slices { units },
                ..
            }) = inner
                .bg
                .get_mut(index)
                .and_then(|slot| slot.take_if(|j| j.id == job))
            else {
                return Vec::new();
            };
            inner.faults_in_a_row = 0;
            let mut events = Vec::new();
            let each_ms = ms / units.len().max(1) as f64;
            for ((key, share), part) in units.into_iter().zip(parts) {
                // A row no longer wanted (its table was asked again) is gone: drop its slice.
                let Some(i) = inner.running.iter().position(|r| r.key == key) else {
                    continue;
                };
                let run = &mut inner.running[i];
                run.ms += each_ms;
                match part {
                    Ok(Slice::Bound(b)) => {
                        if let Bound::Measuring {
                            answered, largest, ..
                        } = &mut run.bound
                        {
                            *answered += 1;
                            // (Bounds are ≥ 0 and never NaN: `max` is exact in any order.)
                            *largest = largest.max(b);
                            if *answered == run.count {
                                run.bound = Bound::Known(*largest);
                            }
                        }
                    }
                    Ok(Slice::Share(part)) => {
                        debug_assert_eq!(share.count, run.count);
                        if let Err(e) = run.merger.add(*part) {
                            let run = inner.running.remove(i);
                            events.push(Event::Error(e.to_string(), Some(run.request.purpose)));
                            continue;
                        }
                        if !run.merger.is_complete() {
                            continue;
                        }
                        let run = inner.running.remove(i);
                        let stats = JobStats {
                            compute_ms: run.ms,
                            shares: run.count,
                        };
                        events.push(match run.merger.finish() {
                            Ok(a) => Event::Analysis(Box::new(a), run.request.purpose, stats),
                            Err(e) => Event::Error(e.to_string(), Some(run.request.purpose)),
                        });
                    }
                    Err(message) => {
                        let run = inner.running.remove(i);
                        events.push(Event::Error(message, Some(run.request.purpose)));
                    }
                }
            }
            if inner.batch.is_empty() && inner.running.is_empty() {
                inner.batch_started = None;
                if std::mem::take(&mut inner.progress_on_screen) && inner.job.is_none() {
                    events.insert(0, Event::Progress(None));
                }
            }
            events
        }
        Response::Measured { job, row } => {
            let ours = inner
                .bg
                .get(index)
                .and_then(Option::as_ref)
                .is_some_and(|j| j.id == job);
            if ours {
                vec![Event::Measured(row)]
            } else {
                Vec::new()
            }
        }
        Response::Studied { job, result } => {
            let Some(j) = inner
                .bg
                .get_mut(index)
                .and_then(|slot| slot.take_if(|j| j.id == job))
            else {
                return Vec::new();
            };
            inner.faults_in_a_row = 0;
            let mut events = Vec::new();
            if j.shown {
                inner.progress_on_screen = false;
                events.push(Event::Progress(None));
            }
            match (j.kind, *result) {
                (JobKind::StudyPart { run }, part) => {
                    events.extend(study_part_done(inner, run, part));
                }
                (_, result) => events.push(Event::Studied(Box::new(result))),
            }
            events
        }
        Response::Error { job, message } => {
            if let Some(j) = inner
                .bg
                .get_mut(index)
                .and_then(|slot| slot.take_if(|j| j.id == job))
            {
                let mut events = Vec::new();
                if j.shown {
                    inner.progress_on_screen = false;
                    events.push(Event::Progress(None));
                }
                let purposes = match j.kind {
                    JobKind::Study { study, .. } => vec![Purpose::Study(study.kind())],
                    JobKind::StudyPart { run } => {
                        // The study fails with its part (unless it was already replaced).
                        match inner.study_runs.iter().position(|r| r.id == run) {
                            Some(i) => {
                                let run = inner.study_runs.remove(i);
                                vec![Purpose::Study(run.study.kind())]
                            }
                            None => Vec::new(),
                        }
                    }
                    JobKind::Analyze { request, .. } => vec![request.purpose],
                    JobKind::Slices { units } => units
                        .iter()
                        .filter_map(|(key, _)| {
                            let i = inner.running.iter().position(|r| r.key == *key)?;
                            Some(inner.running.remove(i).request.purpose)
                        })
                        .collect(),
                    JobKind::Load { .. } | JobKind::Stopped => Vec::new(),
                };
                events.extend(
                    purposes
                        .into_iter()
                        .map(|p| Event::Error(message.clone(), Some(p))),
                );
                return events;
            }
            let Some(j) = inner.job.take_if(|j| j.id == job) else {
                return Vec::new();
            };
            let mut events = Vec::new();
            if j.shown {
                events.push(Event::Progress(None));
            }
            match j.kind {
                JobKind::Load { quiet: true, .. } => {
                    // The last good data no longer loads (it did before): nothing is held.
                    inner.holders = 0;
                    inner.current = None;
                    events.push(Event::Error(message, None));
                }
                JobKind::Load { phase, .. } => {
                    if matches!(phase, Phase::All) && index > 0 {
                        // Worker 0 loaded what worker `index` could not (memory): reload the
                        // last good data everywhere so the workers agree.
                        events.extend(reload(inner, shared));
                    }
                    events.push(Event::Error(message, None));
                }
                JobKind::Analyze { request, .. } => {
                    events.push(Event::Error(message, Some(request.purpose)));
                }
                JobKind::Study { study, .. } => {
                    events.push(Event::Error(message, Some(Purpose::Study(study.kind()))));
                }
                // Slices and parts run in the background slots only (handled above).
                JobKind::Slices { .. } | JobKind::StudyPart { .. } | JobKind::Stopped => {}
            }
            events
        }
    }
}

fn loaded(
    inner: &mut Inner,
    index: usize,
    job: JobId,
    data: DataInfo,
    file: Option<FileInfo>,
    tensor: Option<String>,
) -> Vec<Event> {
    let workers = inner.slots.len();
    let Some(j) = inner.job.as_mut().filter(|j| j.id == job) else {
        return Vec::new();
    };
    let JobKind::Load {
        spec,
        phase,
        done,
        holders,
        ..
    } = &mut j.kind
    else {
        return Vec::new();
    };
    done[index] = true;
    if matches!(phase, Phase::First) {
        // Now the size is known: the others load in parallel.
        *phase = Phase::All;
        *holders = holders_for(data.bytes(), workers);
        let (spec, count) = (spec.clone(), *holders);
        for other in 1..count {
            let (request, attachment) = load_request(inner, job, &spec);
            post(inner, other, request, attachment);
        }
    }
    let Some(j) = inner.job.as_ref() else {
        return Vec::new();
    };
    let JobKind::Load {
        done,
        holders,
        quiet,
        ..
    } = &j.kind
    else {
        return Vec::new();
    };
    if done.iter().take(*holders).any(|d| !d) {
        return Vec::new();
    }
    let (count, quiet, shown) = (*holders, *quiet, j.shown);
    let Some(Job {
        kind: JobKind::Load { spec, .. },
        ..
    }) = inner.job.take()
    else {
        return Vec::new();
    };
    inner.holders = count;
    inner.data_len = data.len();
    inner.data_shape = data.shape.clone();
    inner.data_min_max = (data.summary.min, data.summary.max);
    // A tensor switch keeps the file it came from, for reloads.
    inner.current = Some(match (spec, inner.current.take()) {
        (
            LoadSpec::Tensor { tensor },
            Some(LoadSpec::File {
                name, attachment, ..
            }),
        ) => LoadSpec::File {
            name,
            attachment,
            tensor: Some(tensor),
        },
        (spec, _) => spec,
    });
    // Workers past the holders drop what they held (memory).
    for other in count..workers {
        post(inner, other, Request::Release { job }, Attachment::None);
    }
    let mut events = Vec::new();
    if shown {
        events.push(Event::Progress(None));
    }
    if !quiet {
        events.push(Event::Loaded(data, file, tensor));
    }
    events
}

/// A table's row still running this long (ms) when the view asks for an analysis is stopped:
/// rows of slow calibrators on big data run for seconds (per-group KL at 16M values), and a knob
/// must not wait for them. A row at 1M values takes ~12 ms and one at 16M ~90 ms, so only the
/// long ones are cut; restarting the workers and loading the data again costs less than they
/// have left.
pub const PREEMPT_ROW_AFTER_MS: f64 = 300.0;

/// With a single holder, stops the background job if it has run [`PREEMPT_ROW_AFTER_MS`]: the
/// worker restarts, the data loads again quietly, the view's analysis runs next and the job goes
/// back to the head of its queue. With more holders the view runs beside it instead.
fn preempt_row(inner: &mut Inner, shared: &Shared, now: f64) -> Vec<Event> {
    // Only where the view has no other worker to run on: with one holder, and a background
    // job (a row or a study, never an export) that has run long on it.
    if inner.holders > 1 || inner.job.is_some() {
        return Vec::new();
    }
    let long = inner.bg[0].as_ref().is_some_and(|j| {
        j.long
            && now - j.began >= PREEMPT_ROW_AFTER_MS
            && !matches!(&j.kind, JobKind::Study { study, .. } if study.kind().asked())
    });
    if !long {
        return Vec::new();
    }
    requeue_bg(inner);
    restart(inner, shared);
    let mut events = Vec::new();
    if std::mem::take(&mut inner.progress_on_screen) {
        events.push(Event::Progress(None));
    }
    events.extend(reload(inner, shared));
    events
}

/// Values from which a long background job that follows the view's settings is stopped when
/// the knobs move (see [`stop_stale_long_job`]): below, it ends sooner than its worker reloads.
pub const STOP_STALE_FROM_VALUES: usize = 1 << 21;

/// With several holders, when the view asks again, stops a long job on worker 0 whose answer
/// the new view makes stale: a row of a table that follows the knobs (every table but the
/// formats) or an automatic study — each is asked again once the view shows its result, and
/// until now ran on to its end (at 16M values a k-means row, or one calibrated by search
/// per interleaved channel, runs whole for seconds), holding worker 0 from every view meanwhile. Worker 0 alone is stopped at once
/// (the view runs on the others, as beside the job) and started again, loading the data in the
/// background, once the view has its result; the other workers and what they run are left
/// alone.
fn stop_stale_long_job(inner: &mut Inner, shared: &Shared) {
    if inner.holders < 2 || inner.data_len < inner.stop_stale_from {
        return;
    }
    let stale = match inner.bg[0].as_ref() {
        Some(Job {
            kind: JobKind::Slices { units },
            long: true,
            ..
        }) => units.iter().all(|(key, _)| {
            inner
                .running
                .iter()
                .find(|r| r.key == *key)
                .is_none_or(|r| r.table() != Some(Table::Formats))
        }),
        Some(Job {
            kind: JobKind::Study { study, .. },
            ..
        }) => !study.kind().asked(),
        _ => false,
    };
    if !stale {
        return;
    }
    if let Some(Job {
        kind: JobKind::Slices { units },
        ..
    }) = inner.bg[0].take()
    {
        inner
            .running
            .retain(|r| !units.iter().any(|(key, _)| *key == r.key));
    }
    // Stopped now; started again once the view has its result, so that loading the data does
    // not take the cores from the view (measured at 16M: the view on one worker took 340-530 ms
    // beside the reload against ~220 ms alone).
    inner.slots[0].port.terminate();
    inner.restart_pending = Some(0);
    let now = (shared.now)();
    inner.bg[0] = Some(Job {
        id: 0,
        kind: JobKind::Stopped,
        ms: 0.0,
        first: 0,
        started: now,
        began: now,
        reported: vec![0.0],
        what: "Stopped".to_string(),
        shown: false,
        long: true,
    });
}

/// Starts worker `index` (stopped) again in the same generation; with `reload`, it loads the
/// current data as a background job (`reload` does so for every worker).
fn restart_worker(inner: &mut Inner, shared: &Shared, index: usize, reload: bool) {
    inner.slots[index] = Slot {
        port: (shared.factory)(index, inner.generation),
        ready: false,
        queued: Vec::new(),
    };
    inner.bg[index] = None;
    let Some(spec) = inner.current.clone().filter(|_| reload) else {
        return;
    };
    let id = inner.next_job;
    inner.next_job += 1;
    let (request, attachment) = load_request(inner, id, &spec);
    post(inner, index, request, attachment);
    let now = (shared.now)();
    inner.bg[index] = Some(Job {
        id,
        kind: JobKind::Load {
            spec,
            phase: Phase::All,
            done: vec![false; inner.slots.len()],
            holders: inner.holders,
            quiet: true,
        },
        ms: 0.0,
        first: index,
        started: now,
        began: now,
        reported: vec![0.0],
        what: "Loading the data again".to_string(),
        shown: false,
        long: true,
    });
}

/// Terminates every worker and starts a new generation.
fn restart(inner: &mut Inner, shared: &Shared) {
    for slot in &inner.slots {
        slot.port.terminate();
    }
    inner.generation = inner.generation.wrapping_add(1);
    let generation = inner.generation;
    for (i, slot) in inner.slots.iter_mut().enumerate() {
        *slot = Slot {
            port: (shared.factory)(i, generation),
            ready: false,
            queued: Vec::new(),
        };
    }
    inner.job = None;
    for job in &mut inner.bg {
        *job = None;
    }
    inner.running.clear();
    inner.study_runs.clear();
    inner.restart_pending = None;
    inner.holders = 0;
}

/// Loads the last good data again, quietly (after a restart; the views keep what they show).
fn reload(inner: &mut Inner, shared: &Shared) -> Vec<Event> {
    match inner.current.clone() {
        Some(spec) if inner.job.is_none() => {
            let id = inner.next_job;
            inner.next_job += 1;
            start_load(inner, shared, id, spec, true)
        }
        _ => Vec::new(),
    }
}

/// A worker failed: report it, restart, reload, keep the view.
fn fault(inner: &mut Inner, shared: &Shared, message: &str) -> Vec<Event> {
    inner.faults_in_a_row += 1;
    let purpose = match inner.job.as_ref().map(|j| &j.kind) {
        Some(JobKind::Analyze { request, .. }) => Some(request.purpose.clone()),
        _ => None,
    };
    inner.view_wanted = None;
    inner.batch.clear();
    restart(inner, shared);
    let mut events = vec![Event::Progress(None), Event::Cancelled];
    if inner.faults_in_a_row > 3 {
        inner.current = None;
        events.push(Event::Error(
            format!("The compute worker keeps failing ({message}); reload the page."),
            purpose,
        ));
        return events;
    }
    events.push(Event::Error(
        format!(
            "A compute worker stopped ({message}). It was restarted and the data loaded again; \
             the view shows the last result."
        ),
        purpose,
    ));
    events.extend(reload(inner, shared));
    events
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::engine::service::Service;
    use quantscope_core::synth::Distribution;

    /// Requests posted to in-process workers, answered when the test says so.
    #[derive(Default)]
    struct Mailbox {
        posted: RefCell<Vec<(usize, u32, Request)>>,
        services: RefCell<Vec<Rc<RefCell<Service>>>>,
        started: RefCell<usize>,
        terminated: RefCell<usize>,
    }

    struct TestPort {
        index: usize,
        generation: u32,
        mail: Rc<Mailbox>,
    }

    impl Port for TestPort {
        fn post(&self, request: &Request, _: &Attachment) {
            self.mail
                .posted
                .borrow_mut()
                .push((self.index, self.generation, request.clone()));
        }
        fn terminate(&self) {
            *self.mail.terminated.borrow_mut() += 1;
        }
    }

    #[derive(Default)]
    struct Record {
        loaded: RefCell<Vec<DataInfo>>,
        views: RefCell<Vec<Analysis>>,
        rows: RefCell<Vec<(String, Analysis)>>,
        errors: RefCell<Vec<String>>,
        progress: RefCell<Vec<Option<Progress>>>,
        cancelled: RefCell<usize>,
        studied: RefCell<Vec<StudyResult>>,
        study_errors: RefCell<Vec<(StudyKind, String)>>,
        measured: RefCell<Vec<TensorRow>>,
    }

    struct TestSink(Rc<Record>);

    impl Sink for TestSink {
        fn loaded(&self, data: DataInfo, _: Option<FileInfo>, _: Option<String>) {
            self.0.loaded.borrow_mut().push(data);
        }
        fn analysis(&self, a: Analysis, purpose: &Purpose, _: JobStats) {
            match purpose {
                Purpose::View => self.0.views.borrow_mut().push(a),
                Purpose::Row { name, .. } => self.0.rows.borrow_mut().push((name.clone(), a)),
                Purpose::Study(_) => panic!("a study answered as an analysis"),
            }
        }
        fn error(&self, message: String, purpose: Option<&Purpose>) {
            if let Some(Purpose::Study(kind)) = purpose {
                self.0.study_errors.borrow_mut().push((*kind, message));
                return;
            }
            self.0.errors.borrow_mut().push(message);
        }
        fn studied(&self, result: StudyResult) {
            self.0.studied.borrow_mut().push(result);
        }
        fn measured(&self, row: TensorRow) {
            self.0.measured.borrow_mut().push(row);
        }
        fn progress(&self, p: Option<Progress>) {
            self.0.progress.borrow_mut().push(p);
        }
        fn cancelled(&self) {
            *self.0.cancelled.borrow_mut() += 1;
        }
    }

    /// Animation-frame callbacks waiting for the test to run them.
    type Frames = Rc<RefCell<Vec<Box<dyn FnOnce()>>>>;

    struct Rig {
        engine: Engine,
        mail: Rc<Mailbox>,
        record: Rc<Record>,
        clock: Rc<RefCell<f64>>,
        frames: Frames,
    }

    impl Rig {
        fn new(workers: usize) -> Self {
            let mail = Rc::new(Mailbox::default());
            let record = Rc::new(Record::default());
            let clock = Rc::new(RefCell::new(0.0));
            let frames: Frames = Rc::default();
            let m = Rc::clone(&mail);
            let factory: PortFactory = Box::new(move |index, generation| {
                *m.started.borrow_mut() += 1;
                let mut services = m.services.borrow_mut();
                if services.len() <= index {
                    services.resize_with(index + 1, Rc::default);
                }
                // A restarted worker starts empty.
                services[index] = Rc::default();
                Box::new(TestPort {
                    index,
                    generation,
                    mail: Rc::clone(&m),
                })
            });
            let c = Rc::clone(&clock);
            let f = Rc::clone(&frames);
            let engine = Engine::new(
                workers,
                factory,
                Box::new(TestSink(Rc::clone(&record))),
                Box::new(move || *c.borrow()),
                Box::new(move |cb| f.borrow_mut().push(cb)),
            );
            for i in 0..workers {
                engine.receive(i, 0, Response::Ready);
            }
            Self {
                engine,
                mail,
                record,
                clock,
                frames,
            }
        }

        /// Runs the pending animation frames.
        fn frame(&self) {
            let due: Vec<_> = self.frames.borrow_mut().drain(..).collect();
            for cb in due {
                cb();
            }
        }

        /// Lets every worker answer what it was sent, until nothing is left. (Frames are run
        /// as long as they bring requests: while the knobs have not rested, the engine asks for
        /// a frame after every frame, and the test clock stands still.)
        fn settle(&self) {
            loop {
                self.frame();
                let posted: Vec<_> = self.mail.posted.borrow_mut().drain(..).collect();
                if posted.is_empty() {
                    self.frame();
                    if self.mail.posted.borrow().is_empty() {
                        break;
                    }
                    continue;
                }
                self.answer(posted);
            }
        }

        /// Has each worker answer `requests` (held back by a test), in order.
        fn answer(&self, requests: Vec<(usize, u32, Request)>) {
            for (index, generation, request) in requests {
                let service = Rc::clone(&self.mail.services.borrow()[index]);
                let response = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    service.borrow_mut().handle(
                        request,
                        crate::engine::service::Attached::None,
                        &mut |_, _| {},
                    )
                }))
                .unwrap_or_else(|_| Response::Panic {
                    message: "panicked".into(),
                });
                self.engine.receive(index, generation, response);
            }
        }

        /// The workers the view's analysis was posted to, in order.
        fn view_workers(&self) -> Vec<usize> {
            self.mail
                .posted
                .borrow()
                .iter()
                .filter_map(|(i, _, r)| matches!(r, Request::Analyze { .. }).then_some(*i))
                .collect()
        }

        fn synth(&self, n: usize, seed: u64) {
            self.engine.load(LoadSpec::Synth(laplace(n, seed)));
        }

        /// `workers` workers holding `n` Laplace values from `seed`, the view at `b` bits shown.
        fn showing(workers: usize, n: usize, seed: u64, b: u8) -> Self {
            let rig = Self::new(workers);
            rig.synth(n, seed);
            rig.settle();
            rig.engine.analyze(bits(b), view_options());
            rig.settle();
            rig
        }
    }

    /// `n` Laplace values from `seed`, one column.
    fn laplace(n: usize, seed: u64) -> SynthSettings {
        SynthSettings {
            dist: Distribution::Laplace,
            n,
            seed,
            cols: 1,
            row_spread: 0.0,
        }
    }

    /// The data `Rig::synth(n, seed)` loads, as a worker holds it.
    fn laplace_data(n: usize, seed: u64) -> quantscope_core::Dataset {
        crate::engine::protocol::synthetic_dataset(&laplace(n, seed))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn bits(b: u8) -> QuantizerConfig {
        QuantizerConfig {
            bits: b,
            ..Default::default()
        }
    }

    /// A row that runs whole on worker 0 (a learned codebook: its shares would each train it).
    fn kmeans(levels: u32) -> QuantizerConfig {
        QuantizerConfig {
            format: quantscope_core::Format::Kmeans,
            levels,
            ..Default::default()
        }
    }

    fn view_options() -> AnalysisOptions {
        AnalysisOptions {
            all_groups: false,
            interactive: true,
            ..Default::default()
        }
    }

    #[test]
    fn every_worker_holds_the_data_and_shares_merge_to_the_single_pass() {
        let rig = Rig::new(3);
        rig.synth(30_000, 4);
        rig.settle();
        assert_eq!(rig.record.loaded.borrow().len(), 1);
        assert_eq!(rig.engine.holders(), 3);
        rig.engine.analyze(bits(5), view_options());
        rig.settle();
        let views = rig.record.views.borrow();
        assert_eq!(views.len(), 1);
        let d = laplace_data(30_000, 4);
        let want = quantscope_core::analyze(&d, &bits(5), &view_options())
            .unwrap_or_else(|e| panic!("{e}"));
        let got = &views[0];
        assert_eq!(got.metrics.n, want.metrics.n);
        assert_eq!(got.metrics.levels_used, want.metrics.levels_used);
        assert_eq!(got.input_hist, want.input_hist);
        assert!((got.metrics.mse - want.metrics.mse).abs() <= 1e-9 * want.metrics.mse);
        // Three shares were asked for.
        assert!(rig.record.errors.borrow().is_empty());
    }

    #[test]
    fn a_burst_of_changes_ends_on_the_last_and_runs_one_at_a_time() {
        let rig = Rig::new(2);
        rig.synth(10_000, 1);
        rig.settle();
        // The first change is issued in the next frame; the other 19 arrive while it runs.
        rig.engine.analyze(bits(2), view_options());
        rig.frame();
        for b in 3..=21u8 {
            rig.engine.analyze(bits(b.min(16)), view_options());
        }
        let analyses_sent = |rig: &Rig| {
            rig.mail
                .posted
                .borrow()
                .iter()
                .filter(|p| matches!(p.2, Request::Analyze { .. }))
                .count()
        };
        assert_eq!(
            analyses_sent(&rig),
            2,
            "one job (two shares) in flight, the rest waits"
        );
        rig.settle();
        let views = rig.record.views.borrow();
        // The first change, then only the newest: the 18 in between were replaced unseen.
        assert_eq!(views.len(), 2);
        assert_eq!(views[0].config.bits, 2);
        assert_eq!(views[1].config.bits, 16);
    }

    #[test]
    fn stale_answers_are_dropped() {
        let rig = Rig::new(1);
        rig.synth(5_000, 1);
        rig.settle();
        // An answer from an old generation, and one for a job nobody runs.
        let part = || {
            let d = crate::engine::protocol::synthetic_dataset(&SynthSettings::default())
                .unwrap_or_else(|e| panic!("{e}"));
            Box::new(
                quantscope_core::analyze_share(&d, &bits(3), &view_options(), Share::WHOLE)
                    .unwrap_or_else(|e| panic!("{e}")),
            )
        };
        rig.engine.receive(
            0,
            7,
            Response::Part {
                job: 1,
                part: part(),
                ms: 1.0,
            },
        );
        rig.engine.receive(
            0,
            0,
            Response::Part {
                job: 999,
                part: part(),
                ms: 1.0,
            },
        );
        rig.settle();
        assert!(rig.record.views.borrow().is_empty());
    }

    #[test]
    fn a_panicking_worker_is_reported_restarted_and_the_view_kept() {
        let rig = Rig::showing(2, 8_000, 2, 4);
        assert_eq!(rig.record.views.borrow().len(), 1);
        rig.engine.crash_next();
        rig.engine.analyze(bits(6), view_options());
        rig.settle();
        // Reported once, every worker restarted, the data reloaded quietly, no new view.
        let errors = rig.record.errors.borrow().clone();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("restarted"), "{errors:?}");
        assert_eq!(*rig.mail.terminated.borrow(), 2);
        assert_eq!(rig.record.views.borrow().len(), 1);
        assert_eq!(rig.record.loaded.borrow().len(), 1, "the reload is quiet");
        // Restarted workers are not ready until they say so; then the engine works again.
        rig.engine.receive(0, 1, Response::Ready);
        rig.engine.receive(1, 1, Response::Ready);
        rig.settle();
        rig.engine.analyze(bits(7), view_options());
        rig.settle();
        let views = rig.record.views.borrow();
        assert_eq!(views.last().map(|a| a.config.bits), Some(7));
        assert_eq!(views.last().map(|a| a.metrics.n), Some(8_000));
    }

    #[test]
    fn cancel_keeps_the_view_and_long_jobs_show_progress() {
        let rig = Rig::showing(2, 8_000, 3, 4);
        rig.engine.analyze(bits(8), view_options());
        rig.frame();
        // The job runs for 400 ms: progress appears.
        *rig.clock.borrow_mut() = 400.0;
        rig.engine.tick();
        assert!(
            matches!(rig.record.progress.borrow().last(), Some(Some(p)) if p.what.contains("Quantizing"))
        );
        rig.engine.cancel();
        assert_eq!(*rig.record.cancelled.borrow(), 1);
        assert_eq!(rig.record.progress.borrow().last(), Some(&None));
        rig.engine.receive(0, 1, Response::Ready);
        rig.engine.receive(1, 1, Response::Ready);
        rig.settle();
        // The cancelled job's answers never became a view; the data is held again.
        assert_eq!(rig.record.views.borrow().len(), 1);
        assert_eq!(rig.engine.holders(), 2);
    }

    #[test]
    fn formats_rows_run_between_view_changes() {
        let rig = Rig::new(2);
        rig.synth(4_096, 5);
        rig.settle();
        let rows = vec![("a".to_string(), bits(4)), ("b".to_string(), bits(8))];
        rig.engine.analyze(bits(3), view_options());
        rig.engine.compare(Table::Formats, 1, rows, view_options());
        rig.settle();
        assert_eq!(rig.record.views.borrow().len(), 1);
        // The rows wait while the knobs move, and run once they rest.
        assert!(rig.record.rows.borrow().is_empty());
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        rig.settle();
        let rows = rig.record.rows.borrow();
        assert_eq!(
            rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(rows[0].1.metrics.sqnr_db < rows[1].1.metrics.sqnr_db);
    }

    #[test]
    fn a_batch_whose_first_row_ran_long_clears_its_progress_at_the_end() {
        let rig = Rig::showing(2, 4_096, 5, 3);
        let rows = vec![("a".to_string(), bits(4)), ("b".to_string(), bits(8))];
        rig.engine.compare(Table::Formats, 1, rows, view_options());
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        rig.frame();
        // Row a runs long: the batch's progress shows, in the background.
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS + 400.0;
        rig.engine.tick();
        assert!(matches!(
            rig.record.progress.borrow().last(),
            Some(Some(p)) if p.background && p.what.contains("Formats side by side")
        ));
        // Row b is quick; when it ends, the bar goes.
        rig.settle();
        assert_eq!(rig.record.rows.borrow().len(), 2);
        assert_eq!(rig.record.progress.borrow().last(), Some(&None));
    }

    #[test]
    fn with_one_holder_a_long_row_gives_way_to_the_view_and_runs_again_later() {
        let rig = Rig::showing(1, 4_096, 5, 3);
        let rows = vec![("a".to_string(), kmeans(8)), ("b".to_string(), bits(8))];
        rig.engine
            .compare(Table::Calibrators, 1, rows, view_options());
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        rig.frame();
        // Row a was posted and has not answered; a knob moves soon after: a short row is let be.
        rig.mail.posted.borrow_mut().clear();
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS + 100.0;
        rig.engine.analyze(bits(5), view_options());
        assert_eq!(*rig.mail.terminated.borrow(), 0);
        // Once it has run long, the next change stops it.
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS + PREEMPT_ROW_AFTER_MS;
        rig.engine.analyze(bits(6), view_options());
        assert_eq!(*rig.mail.terminated.borrow(), 1);
        rig.engine.receive(0, 1, Response::Ready);
        rig.settle();
        // The data is held again and the view ran first, with no row in between.
        assert_eq!(rig.engine.holders(), 1);
        assert_eq!(
            rig.record.views.borrow().last().map(|a| a.config.bits),
            Some(6)
        );
        assert!(rig.record.rows.borrow().is_empty());
        assert!(rig.record.errors.borrow().is_empty());
        // When the knobs rest, both rows run, the stopped one first.
        *rig.clock.borrow_mut() += 2.0 * ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        rig.settle();
        let names: Vec<String> = rig
            .record
            .rows
            .borrow()
            .iter()
            .map(|r| r.0.clone())
            .collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn with_two_holders_a_long_row_the_knobs_make_stale_is_stopped_on_its_worker_alone() {
        let rig = Rig::new(2);
        rig.engine.set_stop_stale_from(4_096);
        rig.synth(4_096, 5);
        rig.settle();
        rig.engine.analyze(bits(3), view_options());
        rig.settle();
        // A row that runs whole (a learned codebook) once the knobs rest, on worker 0, held.
        let whole_row = |table, name: &str, levels| {
            rig.engine.compare(
                table,
                1,
                vec![(name.to_string(), kmeans(levels))],
                view_options(),
            );
            *rig.clock.borrow_mut() += 2.0 * ROWS_AFTER_IDLE_MS;
            rig.engine.tick();
            let held: Vec<_> = rig.mail.posted.borrow_mut().drain(..).collect();
            assert!(
                matches!(&held[..], [(0, _, Request::Sweep { .. })]),
                "{held:?}"
            );
            held
        };
        // A formats row (the knobs do not change it) is let be.
        let formats = whole_row(Table::Formats, "f", 4);
        rig.engine.analyze(bits(4), view_options());
        rig.frame();
        assert_eq!(
            *rig.mail.terminated.borrow(),
            0,
            "a formats row is not stopped"
        );
        assert_eq!(rig.view_workers(), [1], "the view runs beside it");
        rig.settle();
        rig.answer(formats);
        assert_eq!(rig.record.rows.borrow().len(), 1);
        // A calibrators row; a knob moves: the row's answer would be stale, so worker 0 alone
        // is stopped, and the view runs on worker 1.
        let held = whole_row(Table::Calibrators, "a", 8);
        let started = *rig.mail.started.borrow();
        rig.engine.analyze(bits(6), view_options());
        rig.frame();
        assert_eq!(*rig.mail.terminated.borrow(), 1, "worker 0 alone");
        assert_eq!(rig.view_workers(), [1]);
        assert_eq!(
            *rig.mail.started.borrow(),
            started,
            "not while the view runs"
        );
        let view: Vec<_> = rig.mail.posted.borrow_mut().drain(..).collect();
        rig.answer(view);
        assert_eq!(
            rig.record.views.borrow().last().map(|a| a.config.bits),
            Some(6)
        );
        // Once the view has its result, worker 0 starts again and loads the data.
        assert_eq!(*rig.mail.started.borrow(), started + 1);
        rig.engine.receive(0, 0, Response::Ready);
        let posted = rig.mail.posted.borrow().clone();
        assert!(
            posted
                .iter()
                .any(|(i, _, r)| *i == 0 && matches!(r, Request::Synth { .. })),
            "worker 0 loads the data again once started: {posted:?}"
        );
        rig.settle();
        // The stopped row's answer (had it come) is dropped; the next view has both workers.
        rig.answer(held);
        assert_eq!(rig.record.rows.borrow().len(), 1, "only the formats row");
        rig.engine.analyze(bits(7), view_options());
        rig.frame();
        assert_eq!(rig.view_workers(), [0, 1]);
        rig.settle();
        assert_eq!(
            rig.record
                .views
                .borrow()
                .last()
                .map(|a| (a.config.bits, a.metrics.n)),
            Some((7, 4_096))
        );
        assert!(rig.record.errors.borrow().is_empty());
    }

    #[test]
    fn with_two_holders_a_long_row_runs_beside_the_view() {
        let rig = Rig::showing(2, 4_096, 5, 3);
        let rows = vec![("a".to_string(), kmeans(4))];
        rig.engine
            .compare(Table::Calibrators, 1, rows, view_options());
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        // The row runs whole on worker 0 and has not answered; a knob moves long after.
        let held: Vec<_> = rig.mail.posted.borrow_mut().drain(..).collect();
        assert!(
            matches!(&held[..], [(0, _, Request::Sweep { rows, .. })]
                if rows.len() == 1 && rows[0].share == Share::WHOLE),
            "{held:?}"
        );
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS + 5.0 * PREEMPT_ROW_AFTER_MS;
        rig.engine.analyze(bits(6), view_options());
        rig.engine.tick();
        rig.settle();
        assert_eq!(*rig.mail.terminated.borrow(), 0, "nothing was stopped");
        assert_eq!(
            rig.record.views.borrow().last().map(|a| a.config.bits),
            Some(6)
        );
        // The view ran on worker 1 alone.
        assert!(rig
            .record
            .views
            .borrow()
            .iter()
            .all(|v| v.metrics.n == 4_096));
        // The row's answer arrives after the view's, and fills its table.
        rig.answer(held);
        let rows = rig.record.rows.borrow();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].1.config.levels, 4);
    }

    #[test]
    fn studies_run_on_one_worker_when_the_knobs_rest_and_the_newest_of_a_kind_wins() {
        use crate::engine::protocol::ExportKind;
        use quantscope_core::study::StreamSpec;
        let rig = Rig::new(2);
        rig.synth(4_096, 5);
        rig.settle();
        let spec = |batches| {
            Study::Stream(StreamSpec {
                batches,
                calibrate_on: 1,
                drift: 0.5,
            })
        };
        rig.engine.analyze(bits(4), view_options());
        rig.engine.study(bits(4), spec(8));
        rig.engine.study(bits(4), spec(16));
        rig.settle();
        assert_eq!(rig.record.views.borrow().len(), 1);
        assert!(
            rig.record.studied.borrow().is_empty(),
            "waits for the knobs to rest"
        );
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        let posted: Vec<usize> = rig
            .mail
            .posted
            .borrow()
            .iter()
            .filter(|p| matches!(p.2, Request::Study { .. }))
            .map(|p| p.0)
            .collect();
        assert_eq!(posted, [0]);
        rig.settle();
        let studied = rig
            .record
            .studied
            .borrow_mut()
            .drain(..)
            .collect::<Vec<_>>();
        assert!(matches!(&studied[..], [StudyResult::Stream(s)] if s.batches.len() == 16));
        // An export does not wait: it was asked for.
        rig.engine.analyze(bits(5), view_options());
        rig.engine.study(bits(5), Study::Export(ExportKind::Codes));
        rig.settle();
        let studied = rig.record.studied.borrow();
        let Some(StudyResult::File { kind, bytes }) = studied.first() else {
            panic!("no file: {studied:?}");
        };
        assert_eq!(*kind, ExportKind::Codes);
        let (shape, _) = quantscope_core::io::npy::read_header(bytes)
            .map(|h| (h.shape.clone(), h))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(shape, [4_096]);
        // A refused study reaches its panel, not the page's error banner.
        let mx = QuantizerConfig {
            format: quantscope_core::Format::Fp8E4m3,
            ..bits(8)
        };
        rig.engine.study(mx, spec(8));
        *rig.clock.borrow_mut() = 2.0 * ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        rig.settle();
        assert!(rig.record.errors.borrow().is_empty());
        assert!(matches!(
            &rig.record.study_errors.borrow()[..],
            [(StudyKind::Stream, m)] if m.contains("int")
        ));
    }

    #[test]
    fn a_dropped_study_or_table_no_longer_runs() {
        use quantscope_core::study::StreamSpec;
        let rig = Rig::showing(2, 4_096, 5, 4);
        let spec = StreamSpec {
            batches: 8,
            calibrate_on: 1,
            drift: 0.5,
        };
        rig.engine.study(bits(4), Study::Stream(spec));
        rig.engine.compare(
            Table::Bits,
            1,
            vec![("2".to_string(), bits(2)), ("3".to_string(), bits(3))],
            view_options(),
        );
        // The settings move to a format neither applies to: both are dropped.
        rig.engine.drop_study(StudyKind::Stream);
        rig.engine
            .compare(Table::Bits, 0, Vec::new(), view_options());
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        rig.settle();
        assert!(rig.record.studied.borrow().is_empty());
        assert!(rig.record.rows.borrow().is_empty());
        assert!(rig.record.errors.borrow().is_empty());
    }

    #[test]
    fn an_asked_study_that_runs_long_shows_the_bar_and_cancel_and_clears_it() {
        let rig = Rig::showing(2, 4_096, 5, 3);
        rig.engine.study(
            bits(5),
            Study::Export(crate::engine::protocol::ExportKind::Codes),
        );
        rig.frame();
        // Posted to worker 0, not answered yet; young: no bar.
        let posted: Vec<_> = rig.mail.posted.borrow_mut().drain(..).collect();
        assert!(posted.iter().any(|p| p.0 == 0));
        rig.engine.tick();
        assert!(rig.record.progress.borrow().is_empty());
        // Run long: the foreground bar (with Cancel), naming the study.
        *rig.clock.borrow_mut() += LONG_JOB_MS + 1.0;
        rig.engine.tick();
        assert!(matches!(
            rig.record.progress.borrow().last(),
            Some(Some(p)) if !p.background && p.what.contains("Writing the quantized tensor")
        ));
        // Its answer clears the bar.
        rig.answer(posted);
        rig.settle();
        assert_eq!(rig.record.progress.borrow().last(), Some(&None));
        assert_eq!(rig.record.studied.borrow().len(), 1);
    }

    #[test]
    fn a_row_young_when_the_view_asked_is_stopped_once_it_runs_long() {
        let rig = Rig::showing(1, 4_096, 5, 3);
        let rows = vec![("a".to_string(), kmeans(8)), ("b".to_string(), bits(8))];
        rig.engine.compare(Table::Formats, 1, rows, view_options());
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        rig.frame();
        // Row a is posted and unanswered; the view asks 50 ms in: the row is let be …
        rig.mail.posted.borrow_mut().clear();
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS + 50.0;
        rig.engine.analyze(bits(5), view_options());
        assert_eq!(*rig.mail.terminated.borrow(), 0);
        // … until it has run long: the tick stops it, and the view runs first.
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS + PREEMPT_ROW_AFTER_MS;
        rig.engine.tick();
        assert_eq!(*rig.mail.terminated.borrow(), 1);
        rig.engine.receive(0, 1, Response::Ready);
        rig.settle();
        assert_eq!(
            rig.record.views.borrow().last().map(|v| v.config.bits),
            Some(5)
        );
        *rig.clock.borrow_mut() = 10.0 * ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        rig.settle();
        let names: Vec<String> = rig
            .record
            .rows
            .borrow()
            .iter()
            .map(|r| r.0.clone())
            .collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn the_knobs_rest_from_when_the_view_shows_their_result() {
        let rig = Rig::new(2);
        rig.synth(4_096, 5);
        rig.settle();
        // A view asked at t = 0 that answers at t = 400 (a slow one): the row still waits.
        rig.engine.analyze(bits(3), view_options());
        let rows = vec![("a".to_string(), bits(4))];
        rig.engine.compare(Table::Formats, 1, rows, view_options());
        *rig.clock.borrow_mut() = 400.0;
        rig.settle();
        assert_eq!(rig.record.views.borrow().len(), 1);
        assert!(
            rig.record.rows.borrow().is_empty(),
            "a row started as the view answered"
        );
        *rig.clock.borrow_mut() = 400.0 + ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        rig.settle();
        assert_eq!(rig.record.rows.borrow().len(), 1);
    }

    #[test]
    fn while_a_study_holds_worker_0_the_view_runs_on_the_others() {
        use quantscope_core::study::StreamSpec;
        let rig = Rig::showing(2, 4_096, 5, 4);
        let spec = StreamSpec {
            batches: 8,
            calibrate_on: 1,
            drift: 0.5,
        };
        rig.engine.study(bits(4), Study::Stream(spec));
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        // The study is on worker 0 and has not answered; a knob moves.
        let held: Vec<_> = rig.mail.posted.borrow_mut().drain(..).collect();
        assert!(
            matches!(&held[..], [(0, _, Request::Study { .. })]),
            "{held:?}"
        );
        rig.engine.analyze(bits(6), view_options());
        let posted: Vec<(usize, Share)> = rig
            .mail
            .posted
            .borrow()
            .iter()
            .filter_map(|(i, _, r)| match r {
                Request::Analyze { share, .. } => Some((*i, *share)),
                _ => None,
            })
            .collect();
        assert_eq!(posted, [(1, Share { index: 0, count: 1 })]);
        rig.settle();
        assert_eq!(
            rig.record.views.borrow().last().map(|v| v.config.bits),
            Some(6)
        );
        assert_eq!(*rig.mail.terminated.borrow(), 0, "nothing was stopped");
        // The view from one worker is the two-share one (sums in another order: to the last
        // few bits, as the CLI's single pass is).
        rig.engine.analyze(bits(4), view_options());
        rig.settle();
        // The study's answer arrives late and is delivered.
        rig.answer(held);
        assert!(matches!(
            &rig.record.studied.borrow()[..],
            [StudyResult::Stream(_)]
        ));
        let views = rig.record.views.borrow();
        assert_eq!(views.len(), 3);
        let (a, b) = (&views[0].metrics, &views[2].metrics);
        assert!(
            (a.mse - b.mse).abs() <= a.mse * 1e-12,
            "{} vs {}",
            a.mse,
            b.mse
        );
        assert_eq!(
            (a.levels_used, a.max_abs_error),
            (b.levels_used, b.max_abs_error)
        );
    }

    #[test]
    fn the_calibrator_rows_run_before_a_study_and_the_formats_after() {
        use quantscope_core::study::StreamSpec;
        // One worker: what runs on worker 0, in order (others would take rows beside it).
        let rig = Rig::showing(1, 4_096, 5, 4);
        rig.engine.compare(
            Table::Formats,
            1,
            vec![("f".into(), bits(2))],
            view_options(),
        );
        rig.engine.compare(
            Table::Calibrators,
            2,
            vec![("c".into(), bits(3))],
            view_options(),
        );
        let spec = StreamSpec {
            batches: 4,
            calibrate_on: 1,
            drift: 0.0,
        };
        rig.engine.study(bits(4), Study::Stream(spec));
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        // Answer one request at a time, noting what each was.
        let mut order = Vec::new();
        loop {
            let posted: Vec<_> = rig.mail.posted.borrow_mut().drain(..).collect();
            if posted.is_empty() {
                break;
            }
            order.extend(posted.iter().map(|(_, _, request)| {
                match request {
                    Request::Study { .. } => "study".to_string(),
                    Request::Sweep { rows, .. } => rows
                        .iter()
                        .map(|r| format!("bits {}", r.config.bits))
                        .collect::<Vec<_>>()
                        .join(", "),
                    other => format!("{other:?}"),
                }
            }));
            // One at a time: each answer lets the engine post the next.
            for one in posted {
                rig.answer(vec![one]);
            }
        }
        assert_eq!(order, ["bits 3", "study", "bits 2"]);
    }

    #[test]
    fn a_tables_rows_go_in_one_sweep_and_equal_the_views_own_figures() {
        let rig = Rig::showing(2, 4_096, 5, 4);
        let rows = (2..=5u8).map(|b| (b.to_string(), bits(b))).collect();
        rig.engine.compare(Table::Bits, 1, rows, view_options());
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        let posted: Vec<(usize, usize)> = rig
            .mail
            .posted
            .borrow()
            .iter()
            .filter_map(|(i, _, r)| match r {
                Request::Sweep { rows, .. } => Some((*i, rows.len())),
                _ => None,
            })
            .collect();
        assert_eq!(posted, [(0, 4)], "one message to worker 0");
        rig.settle();
        let rows = rig.record.rows.borrow();
        assert_eq!(
            rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            ["2", "3", "4", "5"]
        );
        // Row "4" is the view's own settings: the same figures (to the last bits but the sums'
        // order, one share against two).
        let view = &rig.record.views.borrow()[0];
        let four = &rows[2].1;
        assert!((four.metrics.mse - view.metrics.mse).abs() <= view.metrics.mse * 1e-12);
        assert_eq!(four.display, view.display);
    }

    #[test]
    fn a_big_row_goes_in_slices_over_every_worker_and_the_view_waits_only_for_a_slice() {
        let rig = Rig::new(2);
        rig.engine.set_slice_values(1_000);
        rig.synth(4_096, 5);
        rig.settle();
        rig.engine.analyze(bits(3), view_options());
        rig.settle();
        let mse = QuantizerConfig {
            calibration: quantscope_core::Calibration::Mse,
            ..bits(4)
        };
        let rows = vec![("mse".to_string(), mse.clone()), ("b".to_string(), bits(8))];
        rig.engine
            .compare(Table::Calibrators, 1, rows, view_options());
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        // 4,096 values in slices of 1,000: five shares a row, one slice to each worker.
        let first: Vec<(usize, Vec<(u8, Share)>)> = rig
            .mail
            .posted
            .borrow()
            .iter()
            .filter_map(|(i, _, r)| match r {
                Request::Sweep { rows, .. } => {
                    Some((*i, rows.iter().map(|r| (r.config.bits, r.share)).collect()))
                }
                _ => None,
            })
            .collect();
        let share = |index| Share { index, count: 5 };
        assert_eq!(
            first,
            [(0, vec![(4, share(0))]), (1, vec![(4, share(1))])],
            "{first:?}"
        );
        // A knob moves: the view waits for both slices, then runs on both workers.
        let held: Vec<_> = rig.mail.posted.borrow_mut().drain(..).collect();
        rig.engine.analyze(bits(6), view_options());
        rig.frame();
        assert!(rig.mail.posted.borrow().is_empty(), "the view waits");
        rig.answer(held);
        let views = rig.view_workers();
        assert_eq!(views, [0, 1], "the view on every worker");
        rig.settle();
        assert_eq!(
            rig.record.views.borrow().last().map(|v| v.config.bits),
            Some(6)
        );
        // The rows wait for the knobs to rest again, then finish; each equals the whole
        // analysis (sums to the last bits, added in another order).
        *rig.clock.borrow_mut() += 2.0 * ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        rig.settle();
        let rows = rig.record.rows.borrow();
        assert_eq!(
            rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            ["mse", "b"]
        );
        let d = laplace_data(4_096, 5);
        for (row, config) in rows.iter().zip([mse, bits(8)]) {
            let want = quantscope_core::analyze(&d, &config, &view_options())
                .unwrap_or_else(|e| panic!("{e}"));
            let got = &row.1;
            assert_eq!(got.display, want.display, "{}", row.0);
            assert_eq!(got.output_hist, want.output_hist, "{}", row.0);
            assert_eq!(
                got.metrics.levels_used, want.metrics.levels_used,
                "{}",
                row.0
            );
            assert_eq!(got.input_hist, want.input_hist, "{}", row.0);
            assert!(
                (got.metrics.mse - want.metrics.mse).abs() <= 1e-12 * want.metrics.mse,
                "{}",
                row.0
            );
        }
        assert!(rig.record.errors.borrow().is_empty());
    }

    #[test]
    fn a_channel_study_goes_in_parts_over_every_worker_and_merges_to_the_whole_study() {
        let rig = Rig::new(2);
        // Parts of about 512 values a series: 8 rows of 64.
        rig.engine.set_slice_values(8 * 512);
        let settings = SynthSettings {
            cols: 64,
            row_spread: 0.5,
            ..laplace(4_096, 7)
        };
        rig.engine.load(LoadSpec::Synth(settings.clone()));
        rig.settle();
        rig.engine.analyze(bits(4), view_options());
        rig.settle();
        // An older study replaced while its parts run: their answers are dropped.
        rig.engine.study(bits(3), Study::Channels { bands: 16 });
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        let parts = |posted: &[(usize, u32, Request)]| -> Vec<(usize, usize, usize)> {
            posted
                .iter()
                .filter_map(|(i, _, r)| match r {
                    Request::Study {
                        study: Study::ChannelPart { first, end },
                        ..
                    } => Some((*i, *first, *end)),
                    _ => None,
                })
                .collect()
        };
        let old: Vec<_> = rig.mail.posted.borrow_mut().drain(..).collect();
        assert_eq!(
            parts(&old),
            [(0, 0, 8), (1, 8, 16)],
            "a part to each worker"
        );
        rig.engine.study(bits(4), Study::Channels { bands: 16 });
        rig.answer(old);
        // The newest study's parts: again one on each worker.
        let held: Vec<_> = rig.mail.posted.borrow_mut().drain(..).collect();
        assert_eq!(parts(&held), [(0, 0, 8), (1, 8, 16)], "{held:?}");
        // A knob moves: the view waits for the two parts, then runs on both workers.
        rig.engine.analyze(bits(6), view_options());
        rig.frame();
        assert!(rig.mail.posted.borrow().is_empty(), "the view waits");
        rig.answer(held);
        assert_eq!(rig.view_workers(), [0, 1], "the view on every worker");
        rig.settle();
        assert!(rig.record.studied.borrow().is_empty(), "the rest waits");
        *rig.clock.borrow_mut() += 2.0 * ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        rig.settle();
        let d =
            crate::engine::protocol::synthetic_dataset(&settings).unwrap_or_else(|e| panic!("{e}"));
        let want =
            quantscope_core::study::channels(&d, &bits(4), 16).unwrap_or_else(|e| panic!("{e}"));
        let studied = rig.record.studied.borrow();
        assert!(
            matches!(&studied[..], [StudyResult::Channels(c)] if *c == want),
            "{studied:?}"
        );
        assert!(rig.record.errors.borrow().is_empty());
        assert!(rig.record.study_errors.borrow().is_empty());
    }

    #[test]
    fn a_stream_study_goes_in_parts_over_every_worker_and_merges_to_the_whole_study() {
        use quantscope_core::study::StreamSpec;
        let rig = Rig::new(2);
        // 4,096 values in 8 batches of 512, parts of ~3,072 values of work: 2 batches a part.
        rig.engine.set_slice_values(8 * 3_072);
        rig.synth(4_096, 9);
        rig.settle();
        rig.engine.analyze(bits(4), view_options());
        rig.settle();
        let spec = StreamSpec {
            batches: 8,
            calibrate_on: 2,
            drift: 1.0,
        };
        rig.engine.study(bits(4), Study::Stream(spec));
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        let parts: Vec<(usize, usize, usize)> = rig
            .mail
            .posted
            .borrow()
            .iter()
            .filter_map(|(i, _, r)| match r {
                Request::Study {
                    study: Study::StreamPart { first, end, .. },
                    ..
                } => Some((*i, *first, *end)),
                _ => None,
            })
            .collect();
        // The first part finds the static range; the others wait for it, then go to both.
        assert_eq!(parts, [(0, 0, 2)], "the first part alone");
        let first: Vec<_> = rig.mail.posted.borrow_mut().drain(..).collect();
        rig.answer(first);
        type Posted = (usize, usize, Option<(f32, f32)>);
        let next: Vec<Posted> = rig
            .mail
            .posted
            .borrow()
            .iter()
            .filter_map(|(i, _, r)| match r {
                Request::Study {
                    study:
                        Study::StreamPart {
                            first, static_clip, ..
                        },
                    ..
                } => Some((*i, *first, *static_clip)),
                _ => None,
            })
            .collect();
        let want = quantscope_core::study::stream(&laplace_data(4_096, 9), &bits(4), spec, None)
            .unwrap_or_else(|e| panic!("{e}"));
        let clip = Some(want.static_clip);
        assert_eq!(next, [(0, 2, clip), (1, 4, clip)], "given the range");
        rig.settle();
        let studied = rig.record.studied.borrow();
        let Some(StudyResult::Stream(got)) = studied.first() else {
            panic!("no stream study: {studied:?}");
        };
        assert_eq!(studied.len(), 1);
        assert_eq!(
            (got.batch_len, got.static_clip, &got.batches),
            (want.batch_len, want.static_clip, &want.batches)
        );
        assert!(rig.record.errors.borrow().is_empty());
        assert!(rig.record.study_errors.borrow().is_empty());
    }

    #[test]
    fn a_costly_row_goes_in_small_slices_on_every_worker_and_never_holds_one() {
        // A search calibrator per group costs ~300 plain passes a value: its row is cut into
        // slices of slice_values / 300 values, spread over both workers like any other, and
        // the view never runs on fewer than every worker because of it.
        let rig = Rig::new(2);
        rig.engine.set_slice_values(30_000);
        rig.synth(4_096, 7);
        rig.settle();
        rig.engine.analyze(bits(3), view_options());
        rig.settle();
        let searched = QuantizerConfig {
            granularity: quantscope_core::Granularity::Group { size: 32 },
            calibration: quantscope_core::Calibration::Mse,
            ..bits(4)
        };
        assert_eq!(slice_cost(&searched, &[4_096]), Some(300));
        rig.engine.compare(
            Table::Calibrators,
            1,
            vec![("mse".to_string(), searched.clone())],
            view_options(),
        );
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        let first: Vec<(usize, Vec<Share>)> = rig
            .mail
            .posted
            .borrow()
            .iter()
            .filter_map(|(i, _, r)| match r {
                Request::Sweep { rows, .. } => Some((*i, rows.iter().map(|r| r.share).collect())),
                _ => None,
            })
            .collect();
        // 4,096 values in slices of 30,000 / 300 = 100: 41 shares, one a message.
        let share = |index| Share { index, count: 41 };
        assert_eq!(
            first,
            [(0, vec![share(0)]), (1, vec![share(1)])],
            "{first:?}"
        );
        // A knob moves mid-row: the view waits for the two slices, then has both workers.
        let held: Vec<_> = rig.mail.posted.borrow_mut().drain(..).collect();
        rig.engine.analyze(bits(6), view_options());
        rig.frame();
        assert!(
            rig.mail.posted.borrow().is_empty(),
            "the view waits for the slices"
        );
        rig.answer(held);
        let views = rig.view_workers();
        assert_eq!(views, [0, 1], "the view on every worker");
        rig.settle();
        *rig.clock.borrow_mut() += 2.0 * ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        rig.settle();
        // The row, summed slice by slice, is the analysis in one pass.
        let rows = rig.record.rows.borrow();
        assert_eq!(rows.len(), 1);
        let d = laplace_data(4_096, 7);
        let want = quantscope_core::analyze(&d, &searched, &view_options())
            .unwrap_or_else(|e| panic!("{e}"));
        let got = &rows[0].1;
        assert_eq!(got.output_hist, want.output_hist);
        assert_eq!(got.input_hist, want.input_hist);
        assert_eq!(got.display, want.display);
        assert_eq!(got.metrics.levels_used, want.metrics.levels_used);
        assert!((got.metrics.mse - want.metrics.mse).abs() <= 1e-12 * want.metrics.mse);
        assert!(rig.record.errors.borrow().is_empty());
    }

    #[test]
    fn a_two_level_row_measures_its_bound_in_parts_then_goes_in_slices_given_it() {
        // NVFP4 calibrated by MSE needs the largest group bound of the whole tensor before it
        // scales a block: measured in parts on both workers first, then every share is given
        // it; the row equals the whole analysis and no slice runs long.
        let rig = Rig::new(2);
        rig.engine.set_slice_values(30_000);
        let settings = SynthSettings {
            cols: 64,
            ..laplace(4_096, 7)
        };
        rig.engine.load(LoadSpec::Synth(settings.clone()));
        rig.settle();
        rig.engine.analyze(bits(3), view_options());
        rig.settle();
        let nvfp4 = QuantizerConfig {
            calibration: quantscope_core::Calibration::Mse,
            ..quantscope_core::presets::preset("nvfp4").unwrap_or_default()
        };
        rig.engine.compare(
            Table::Calibrators,
            1,
            vec![("mse".to_string(), nvfp4.clone())],
            view_options(),
        );
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS;
        rig.engine.tick();
        // Every slice posted, in order, with its worker.
        let mut sent: Vec<(usize, Share, RowBound)> = Vec::new();
        loop {
            rig.frame();
            let posted: Vec<_> = rig.mail.posted.borrow_mut().drain(..).collect();
            if posted.is_empty() {
                break;
            }
            for (i, _, r) in &posted {
                if let Request::Sweep { rows, .. } = r {
                    sent.extend(rows.iter().map(|r| (*i, r.share, r.bound)));
                }
            }
            rig.answer(posted);
        }
        // 4,096 values at 300 passes a value in slices of 30,000: 41 parts, then 41 shares.
        let d =
            crate::engine::protocol::synthetic_dataset(&settings).unwrap_or_else(|e| panic!("{e}"));
        let whole = quantscope_core::run::bound_part(&d, &nvfp4, Share::WHOLE)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sent.len(), 82, "{sent:?}");
        let (measure, given) = sent.split_at(41);
        for (k, (_, share, bound)) in measure.iter().enumerate() {
            assert_eq!(
                (*share, *bound),
                (
                    Share {
                        index: k,
                        count: 41
                    },
                    RowBound::Measure
                )
            );
        }
        for (k, (_, share, bound)) in given.iter().enumerate() {
            assert_eq!(
                *share,
                Share {
                    index: k,
                    count: 41
                }
            );
            assert_eq!(
                *bound,
                RowBound::Given(whole),
                "the largest part, as the whole"
            );
        }
        for part in [measure, given] {
            let workers: std::collections::BTreeSet<usize> =
                part.iter().map(|(i, ..)| *i).collect();
            assert_eq!(workers.len(), 2, "on both workers: {part:?}");
        }
        let rows = rig.record.rows.borrow();
        assert_eq!(rows.len(), 1);
        let want =
            quantscope_core::analyze(&d, &nvfp4, &view_options()).unwrap_or_else(|e| panic!("{e}"));
        let got = &rows[0].1;
        assert_eq!(got.output_hist, want.output_hist);
        assert_eq!(got.display, want.display);
        assert_eq!(got.metrics.levels_used, want.metrics.levels_used);
        assert!((got.metrics.mse - want.metrics.mse).abs() <= 1e-12 * want.metrics.mse);
        assert!(rig.record.errors.borrow().is_empty());
    }

    #[test]
    fn the_rows_start_in_the_first_frame_after_the_rest_without_waiting_for_a_tick() {
        let rig = Rig::new(2);
        rig.synth(4_096, 5);
        rig.settle();
        rig.engine.analyze(bits(3), view_options());
        rig.engine
            .compare(Table::Bits, 1, vec![("a".into(), bits(4))], view_options());
        rig.settle();
        assert!(rig.record.rows.borrow().is_empty());
        // The engine keeps asking for frames while the rows wait; the first one after the rest
        // starts them (no tick is called here).
        assert!(!rig.frames.borrow().is_empty(), "a frame is asked for");
        *rig.clock.borrow_mut() = ROWS_AFTER_IDLE_MS;
        rig.frame();
        assert!(rig
            .mail
            .posted
            .borrow()
            .iter()
            .any(|(_, _, r)| matches!(r, Request::Sweep { .. })));
        rig.settle();
        assert_eq!(rig.record.rows.borrow().len(), 1);
    }

    #[test]
    fn a_big_dataset_is_held_by_fewer_workers() {
        assert_eq!(holders_for(64_000_000, 4), 4);
        assert_eq!(holders_for(600_000_000, 4), 2);
        assert_eq!(holders_for(4_000_000_000, 4), 1);
    }
}
