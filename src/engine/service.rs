//! What a compute worker holds and how it answers each request. Pure Rust with no DOM, so the
//! native tests run it in-process; `src/bin/worker.rs` runs it inside a Web Worker, where the
//! file source is the dropped `File` read slice by slice.

use std::sync::Arc;

use quantscope_core::io::safetensors as st;
use quantscope_core::io::{shards, FileKind};
use quantscope_core::{analyze_share, run, Dataset, QuantizerConfig};

use super::protocol::{
    synthetic_dataset, DataInfo, ExportKind, FileInfo, JobId, LayerSpec, Request, Response,
    RowBound, Slice, Study, StudyResult, TensorRow,
};
use crate::loader::{self, LoadedFile, MAX_FILE_BYTES};

/// Random access to the bytes of a file: in the worker a `File` (read with `FileReaderSync`), in
/// tests and for shipped samples a buffer.
pub trait ByteSource {
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes [start, end).
    fn read(&self, start: u64, end: u64) -> Result<Vec<u8>, String>;
}

impl ByteSource for Vec<u8> {
    fn len(&self) -> u64 {
        self.len() as u64
    }
    fn read(&self, start: u64, end: u64) -> Result<Vec<u8>, String> {
        let (a, b) = (start as usize, (end as usize).min(self.len()));
        self.get(a..b)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| format!("bytes {start}..{end} lie past the end ({})", self.len()))
    }
}

/// What travels beside a request.
pub enum Attached {
    None,
    /// One file: its bytes, or the `File` the user chose.
    One(Box<dyn ByteSource>),
    /// Files chosen together — a sharded checkpoint's shards, with or without its index — each
    /// with its name.
    Many(Vec<(String, Box<dyn ByteSource>)>),
}

impl Attached {
    /// The one file a request other than `Open` takes.
    fn one(self) -> Result<Option<Box<dyn ByteSource>>, String> {
        match self {
            Self::None => Ok(None),
            Self::One(source) => Ok(Some(source)),
            Self::Many(_) => Err("this takes one file, not several".into()),
        }
    }
}

/// Largest shard index read (a real one is a few hundred kB).
const MAX_INDEX_BYTES: u64 = 64 << 20;

/// Bytes read per step of a whole-file read, so progress can be reported between steps.
const READ_STEP: u64 = 16 << 20;

/// The file a worker holds: its table of contents and, for a safetensors file opened header first,
/// the source its other tensors are read from. A checkpoint in several files holds each shard
/// (header first) and lists all their tensors.
struct HeldFile {
    loaded: Arc<LoadedFile>,
    source: Option<Box<dyn ByteSource>>,
    sharded: Option<Sharded>,
}

/// The shards of a checkpoint in several files.
struct Sharded {
    /// Each file in the order given (`None`: set aside).
    shards: Vec<Option<HeldFile>>,
    /// For each tensor of the checkpoint (its table of contents' order), its shard.
    shard_of: Vec<usize>,
    /// The shards set aside, each with its reason.
    unusable: Vec<shards::Unusable>,
}

/// (file, candidates, importance) → each tensor's points, whether they are importance-weighted,
/// and the tensors kept at their own precision.
type Measured = (
    (String, Vec<String>, Option<(String, u64)>),
    Vec<quantscope_core::allocate::TensorPoints>,
    Vec<bool>,
    Vec<quantscope_core::allocate::Kept>,
);

/// A compute worker's state: the data it holds and the file it came from.
#[derive(Default)]
pub struct Service {
    dataset: Option<Dataset>,
    file: Option<HeldFile>,
    /// The held file's tensors measured for an allocation: (file, candidates) → points and the
    /// tensors kept at their own precision. A new budget reuses them.
    measured: Option<Measured>,
    /// Milliseconds from some origin (the worker's `performance.now()`), for studies that time
    /// what they do.
    clock: Option<Box<dyn Fn() -> f64>>,
    /// Where answers sent before the job's own (an allocation's tensors as they are measured)
    /// go; without one they are dropped.
    early: Option<Box<dyn FnMut(Response)>>,
}

impl Service {
    /// Sends the answers that come before a job's own (see [`Response::Measured`]) to `sink`.
    pub fn set_early_sink(&mut self, sink: Box<dyn FnMut(Response)>) {
        self.early = Some(sink);
    }

    pub fn new() -> Self {
        Self::default()
    }

    /// Gives the service a clock (ms).
    pub fn set_clock(&mut self, clock: Box<dyn Fn() -> f64>) {
        self.clock = Some(clock);
    }

    /// The data held.
    pub fn dataset(&self) -> Option<&Dataset> {
        self.dataset.as_ref()
    }

    /// Answers `request`; `source` is the file that came with an `Open`, `progress` is told how
    /// far a long job has come. A refused request leaves what the worker held unchanged.
    pub fn handle(
        &mut self,
        request: Request,
        source: Attached,
        progress: &mut dyn FnMut(f64, &str),
    ) -> Response {
        let job = request.job();
        let result = match request {
            Request::Synth { settings, .. } => synthetic_dataset(&settings).map(|d| {
                let data = DataInfo::of(&d);
                self.dataset = Some(d);
                self.file = None;
                Response::Loaded {
                    job,
                    data,
                    file: None,
                    tensor: None,
                }
            }),
            Request::Open { name, tensor, .. } => self.open(job, name, tensor, source, progress),
            Request::Analyze {
                config,
                options,
                share,
                ..
            } => match &self.dataset {
                None => Err("no data is loaded".to_string()),
                Some(d) => analyze_share(d, &config, &options, share)
                    .map(|part| Response::Part {
                        job,
                        part: Box::new(part),
                        // Timed by the caller, which has a clock (see engine::web).
                        ms: 0.0,
                    })
                    .map_err(|e| e.to_string()),
            },
            Request::Sweep { rows, options, .. } => match &self.dataset {
                None => Err("no data is loaded".to_string()),
                Some(d) => Ok(Response::Swept {
                    job,
                    rows: rows
                        .iter()
                        .map(|row| {
                            let share = || {
                                analyze_share(d, &row.config, &options, row.share)
                                    .map(|p| Slice::Share(Box::new(p)))
                            };
                            match row.bound {
                                RowBound::Unneeded => share(),
                                RowBound::Measure => {
                                    run::bound_part(d, &row.config, row.share).map(Slice::Bound)
                                }
                                RowBound::Given(bound) => {
                                    run::keep_bound(d, &row.config, bound);
                                    share()
                                }
                            }
                            .map_err(|e| e.to_string())
                        })
                        .collect(),
                    ms: 0.0,
                }),
            },
            Request::Study {
                study: Study::Diff { quantized },
                ..
            } => source
                .one()
                .and_then(|s| self.diff(job, &quantized, s, progress)),
            Request::Study {
                study: Study::Layer(spec),
                config,
                ..
            } => source
                .one()
                .and_then(|s| self.layer(job, &config, &spec, s, progress)),
            Request::Study {
                study:
                    Study::Allocate {
                        candidates,
                        budget,
                        importance,
                        size,
                    },
                ..
            } => {
                let budget = match size {
                    Some(bytes) => quantscope_core::allocate::Budget::Bytes(bytes),
                    None => quantscope_core::allocate::Budget::BitsPerValue(budget),
                };
                source
                    .one()
                    .and_then(|s| self.allocate(job, &candidates, budget, importance, s, progress))
            }
            Request::Study { config, study, .. } => match &self.dataset {
                None => Err("no data is loaded".to_string()),
                Some(d) => run_study(d, &config, study, self.clock.as_deref()).map(|result| {
                    Response::Studied {
                        job,
                        result: Box::new(result),
                    }
                }),
            },
            Request::Release { .. } => {
                self.dataset = None;
                self.file = None;
                return Response::Progress {
                    job,
                    done: 1.0,
                    what: "released".into(),
                };
            }
            Request::Crash { .. } => crash(),
        };
        result.unwrap_or_else(|message| Response::Error { job, message })
    }

    /// The held file against `name` (its bytes in `source`): every pair of tensors measured,
    /// one pair in memory at a time (`quantscope_core::diff`).
    fn diff(
        &mut self,
        job: JobId,
        name: &str,
        source: Option<Box<dyn ByteSource>>,
        progress: &mut dyn FnMut(f64, &str),
    ) -> Result<Response, String> {
        let original = self
            .file
            .as_ref()
            .ok_or("open the original checkpoint first, then the quantized copy")?;
        let source = source.ok_or_else(|| format!("{name}: the file did not arrive"))?;
        let (quantized, _) = open_source(name, source, None, &mut |_, _| {})?;
        let heads = quantized
            .loaded
            .attention_heads()
            .or_else(|| original.loaded.attention_heads());
        let mut from_original =
            |tensor: &str| read_tensor(original, tensor).map(|d| d.values().to_vec());
        let mut from_quantized =
            |tensor: &str| read_tensor(&quantized, tensor).map(|d| d.values().to_vec());
        let table = quantscope_core::diff::diff_files(
            &original.loaded.tensors,
            &quantized.loaded.tensors,
            heads,
            &mut from_original,
            &mut from_quantized,
            &mut |done| progress(done, "comparing tensor by tensor"),
        );
        Ok(Response::Studied {
            job,
            result: Box::new(StudyResult::Diff(table)),
        })
    }

    /// The held file's allocation at `budget`: every tensor measured once per candidate list
    /// (and importance file, which arrives as `source`).
    fn allocate(
        &mut self,
        job: JobId,
        names: &[String],
        budget: quantscope_core::allocate::Budget,
        importance: Option<(String, u64)>,
        source: Option<Box<dyn ByteSource>>,
        progress: &mut dyn FnMut(f64, &str),
    ) -> Result<Response, String> {
        use quantscope_core::allocate::{self, Importance, ImportanceUse, Kept};
        let held = self
            .file
            .as_ref()
            .ok_or("open a checkpoint (.safetensors or .gguf) first")?;
        let configs = allocate::candidates(names)?;
        let key = (held.loaded.name.clone(), names.to_vec(), importance.clone());
        if self.measured.as_ref().map(|m| &m.0) != Some(&key) {
            let vectors = match &importance {
                None => None,
                Some((name, _)) => {
                    let source = source
                        .ok_or_else(|| format!("{name}: the importance file did not arrive"))?;
                    let (file, _) = open_source(name, source, None, &mut |_, _| {})?;
                    let tensors = file
                        .loaded
                        .tensors
                        .iter()
                        .map(|t| {
                            let d = read_tensor(&file, &t.name)?;
                            Ok((t.name.clone(), t.shape.clone(), d.values().to_vec()))
                        })
                        .collect::<Result<Vec<_>, String>>()?;
                    let npy = name.to_ascii_lowercase().ends_with(".npy");
                    Some(Importance::from_tensors(name, tensors, npy)?)
                }
            };
            let infos = &held.loaded.tensors;
            // Every vector checked before anything is measured (a bad one is an error).
            let weights: Vec<Option<Vec<f64>>> = infos
                .iter()
                .map(|info| match &vectors {
                    Some(v) if info.is_float => v.weights_for(&info.name, &info.shape),
                    _ => Ok(None),
                })
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
            let (mut model, mut weighted, mut kept) = (Vec::new(), Vec::new(), Vec::new());
            let mut early = self.early.take();
            let mut send = |row: TensorRow| {
                if let Some(sink) = early.as_mut() {
                    sink(Response::Measured { job, row });
                }
            };
            for (i, (info, weights)) in infos.iter().zip(weights).enumerate() {
                progress(i as f64 / infos.len().max(1) as f64, &info.name);
                let keep = |reason: String| Kept {
                    name: info.name.clone(),
                    reason,
                };
                if !info.is_float {
                    kept.push(keep(format!("dtype {} is not a float", info.dtype)));
                } else if info.shape.len() != 2 {
                    kept.push(keep(format!("shape {:?} is not 2-D", info.shape)));
                } else {
                    match read_tensor(held, &info.name) {
                        Ok(d) => match allocate::measure_with(&d, &configs, weights.as_deref()) {
                            Ok(t) => {
                                send(TensorRow::of(&d, None));
                                model.push(t);
                                weighted.push(weights.is_some());
                            }
                            Err(k) => {
                                send(TensorRow::of(&d, Some(k.reason.clone())));
                                kept.push(k);
                            }
                        },
                        Err(e) => kept.push(keep(e)),
                    }
                }
            }
            self.early = early;
            // A shard set aside: its tensors are kept out, with its reason (as the CLI does).
            if let Some(s) = &held.sharded {
                kept.extend(Kept::of_shards(&s.unusable));
            }
            self.measured = Some((key, model, weighted, kept));
        }
        let Some((_, model, weighted, kept)) = &self.measured else {
            return Err("nothing measured".into());
        };
        let sizes = allocate::stored_sizes(&held.loaded.tensors);
        let mut report = allocate::report_at(model, kept.clone(), names, &configs, budget, &sizes)
            .map_err(|e| e.to_string())?;
        if importance.is_some() {
            report.importance = Some(ImportanceUse::of(
                model
                    .iter()
                    .map(|t| t.name.as_str())
                    .zip(weighted.iter().copied()),
            ));
        }
        Ok(Response::Studied {
            job,
            result: Box::new(StudyResult::Allocate(report)),
        })
    }

    /// The layer lab: the data held as W, the attached file's tensor as X, every method.
    fn layer(
        &mut self,
        job: JobId,
        config: &QuantizerConfig,
        spec: &LayerSpec,
        source: Option<Box<dyn ByteSource>>,
        progress: &mut dyn FnMut(f64, &str),
    ) -> Result<Response, String> {
        let w = self.dataset.as_ref().ok_or("no data is loaded")?;
        let name = &spec.activations;
        let source = source.ok_or_else(|| format!("{name}: the activations did not arrive"))?;
        let (held, tensor) = open_source(name, source, spec.tensor.as_deref(), &mut |_, _| {})?;
        let x = read_tensor(&held, &tensor)?;
        let layer =
            quantscope_core::layer::Layer::new(w.values(), w.shape(), x.values(), x.shape())
                .map_err(|e| format!("W = {} with X = {name}: {e}", w.name()))?;
        let result = quantscope_core::layer::lab(&layer, config, &spec.options, &mut |f| {
            progress(f, "layer lab: RTN, GPTQ and AWQ")
        })
        .map_err(|e| e.to_string())?;
        Ok(Response::Studied {
            job,
            result: Box::new(StudyResult::Layer(result)),
        })
    }

    fn open(
        &mut self,
        job: JobId,
        name: String,
        tensor: Option<String>,
        source: Attached,
        progress: &mut dyn FnMut(f64, &str),
    ) -> Result<Response, String> {
        let (held, tensor, already_held) = match source {
            Attached::One(source) => {
                let (held, tensor) = open_source(&name, source, tensor.as_deref(), progress)?;
                (held, tensor, false)
            }
            Attached::Many(files) => {
                let (held, tensor) = open_shards(&name, files, tensor.as_deref(), progress)?;
                (held, tensor, false)
            }
            Attached::None => {
                let held = self
                    .file
                    .take()
                    .ok_or_else(|| format!("{name}: the file is no longer open"))?;
                (held, tensor.unwrap_or_default(), true)
            }
        };
        let dataset = match read_tensor(&held, &tensor) {
            Ok(d) => d,
            Err(e) => {
                // A tensor that cannot be read: the file and the data held stay as they were.
                if already_held {
                    self.file = Some(held);
                }
                return Err(e);
            }
        };
        let info = FileInfo {
            name: held.loaded.name.clone(),
            kind: held.loaded.kind,
            tensors: held.loaded.tensors.clone(),
            description: held.loaded.description(),
            shards: held.sharded.as_ref().map_or(0, |s| s.shards.len()),
            set_aside: held.sharded.as_ref().map_or_else(Vec::new, |s| {
                s.unusable
                    .iter()
                    .map(|u| (u.file.clone(), u.reason.clone()))
                    .collect()
            }),
        };
        let data = DataInfo::of(&dataset);
        self.dataset = Some(dataset);
        self.file = Some(held);
        if !already_held {
            // Another file: its allocation is measured afresh.
            self.measured = None;
        }
        Ok(Response::Loaded {
            job,
            data,
            file: Some(info),
            tensor: Some(tensor),
        })
    }
}

/// Opens a file from `source`: a safetensors or GGUF file header first (its tensors are read
/// later, one at a time), any other file whole. Returns it and the tensor to show.
fn open_source(
    name: &str,
    source: Box<dyn ByteSource>,
    tensor: Option<&str>,
    progress: &mut dyn FnMut(f64, &str),
) -> Result<(HeldFile, String), String> {
    let size = source.len();
    let kind = FileKind::from_file_name(name);
    let loaded = if kind == Some(FileKind::Safetensors) {
        let prefix = source.read(0, size.min(8))?;
        let n = st::header_len(&prefix, size).map_err(|e| format!("{name}: {e}"))?;
        let json = source.read(8, 8 + n)?;
        loader::open_safetensors_header(name, size, &json)?
    } else if kind == Some(FileKind::Gguf) {
        // A GGUF header has no length: read 1 MiB, and more while the parser asks for it (it
        // asks only within the file and the header cap).
        let mut len = size.min(1 << 20);
        loop {
            let prefix = source.read(0, len)?;
            progress(0.0, "reading the GGUF header");
            match loader::open_gguf_header(name, size, &prefix)? {
                Ok(file) => break file,
                Err(at_least) if len < size => len = at_least.max(len * 2).min(size),
                Err(at_least) => {
                    return Err(format!(
                        "{name}: the header needs {at_least} bytes but the file has {size}"
                    ))
                }
            }
        }
    } else {
        if size as f64 > MAX_FILE_BYTES {
            return Err(format!(
                "{name}: {} MB is more than this page reads at once (1 GB); use the quantscope CLI for it",
                size / 1_000_000
            ));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        let mut at = 0;
        while at < size {
            let end = (at + READ_STEP).min(size);
            bytes.extend(source.read(at, end)?);
            at = end;
            progress(at as f64 / size.max(1) as f64, "reading the file");
        }
        loader::open_file(name, bytes)?
    };
    let tensor = match tensor {
        Some(t) => t.to_string(),
        None => loader::default_tensor(&loaded)
            .unwrap_or_default()
            .to_string(),
    };
    let header_first = loaded.header.is_some();
    Ok((
        HeldFile {
            loaded: Arc::new(loaded),
            source: header_first.then_some(source),
            sharded: None,
        },
        tensor,
    ))
}

/// Opens a checkpoint in several files (see [`shards`]): with an index among them, each tensor
/// from the shard it names; without, every tensor of every file. A shard that cannot be used is
/// set aside with its reason; when none can, nothing is opened.
fn open_shards(
    name: &str,
    mut files: Vec<(String, Box<dyn ByteSource>)>,
    tensor: Option<&str>,
    progress: &mut dyn FnMut(f64, &str),
) -> Result<(HeldFile, String), String> {
    let is_index = |f: &str| f.to_ascii_lowercase().ends_with(".index.json");
    let indexes: Vec<usize> = (0..files.len())
        .filter(|&i| is_index(&files[i].0))
        .collect();
    if indexes.len() > 1 {
        return Err(format!(
            "{name}: choose one .index.json with its shards, not {}",
            indexes.len()
        ));
    }
    let index = match indexes.first() {
        Some(&i) => {
            let (index_name, source) = files.remove(i);
            if source.len() > MAX_INDEX_BYTES {
                return Err(format!(
                    "{index_name}: {} MB is too large for a shard index",
                    source.len() / 1_000_000
                ));
            }
            let bytes = source.read(0, source.len())?;
            Some(st::parse_index(&bytes).map_err(|e| format!("{index_name}: {e}"))?)
        }
        None => None,
    };
    // The files in the order the assembly takes them: the index's, or as chosen.
    let order: Vec<(String, Option<Box<dyn ByteSource>>)> = match &index {
        Some(index) => index
            .keys()
            .map(|file| {
                let at = files.iter().position(|(f, _)| f == file);
                (file.clone(), at.map(|at| files.remove(at).1))
            })
            .collect(),
        None => files.into_iter().map(|(f, s)| (f, Some(s))).collect(),
    };
    let count = order.len();
    let mut held: Vec<Option<HeldFile>> = Vec::with_capacity(count);
    let mut tables: Vec<(String, Result<Vec<quantscope_core::io::TensorInfo>, String>)> =
        Vec::with_capacity(count);
    for (i, (file, source)) in order.into_iter().enumerate() {
        progress(
            i as f64 / count as f64,
            &format!("reading the header of {file}"),
        );
        let opened = match source {
            None => Err("not among the files chosen".to_string()),
            Some(source) => open_source(&file, source, None, &mut |_, _| {}).map_err(|e| {
                // The reason without the file's name: the shard's line gives it.
                e.strip_prefix(&format!("{file}: "))
                    .unwrap_or(&e)
                    .to_string()
            }),
        };
        match opened {
            Ok((h, _)) => {
                tables.push((file, Ok(h.loaded.tensors.clone())));
                held.push(Some(h));
            }
            Err(e) => {
                tables.push((file, Err(e)));
                held.push(None);
            }
        }
    }
    let assembled = match &index {
        Some(index) => shards::with_index(index, tables.into_iter().map(|(_, t)| t).collect()),
        None => shards::without_index(tables).map_err(|e| format!("{name}: {e}"))?,
    };
    if assembled.tensors.is_empty() {
        let why: Vec<String> = assembled
            .unusable
            .iter()
            .map(|u| format!("{}: {}", u.file, u.reason))
            .collect();
        return Err(format!(
            "{name}: no shard could be used ({})",
            why.join("; ")
        ));
    }
    // A shard whose tensors were all taken from elsewhere is not kept open for nothing.
    let (shard_of, tensors): (Vec<usize>, Vec<_>) = assembled.tensors.into_iter().unzip();
    for (i, h) in held.iter_mut().enumerate() {
        if !shard_of.contains(&i) {
            *h = None;
        }
    }
    let loaded = LoadedFile {
        name: name.to_string(),
        kind: FileKind::Safetensors,
        bytes: Vec::new(),
        tensors,
        header: None,
    };
    let tensor = match tensor {
        Some(t) => t.to_string(),
        None => loader::default_tensor(&loaded)
            .unwrap_or_default()
            .to_string(),
    };
    Ok((
        HeldFile {
            loaded: Arc::new(loaded),
            source: None,
            sharded: Some(Sharded {
                shards: held,
                shard_of,
                unusable: assembled.unusable,
            }),
        },
        tensor,
    ))
}

/// Reads `tensor` of a held file: from its source (safetensors, header first) or its bytes.
fn read_tensor(held: &HeldFile, tensor: &str) -> Result<Dataset, String> {
    if let Some(s) = &held.sharded {
        let at = held
            .loaded
            .tensors
            .iter()
            .position(|t| t.name == tensor)
            .ok_or_else(|| format!("{}: no tensor \"{tensor}\"", held.loaded.name))?;
        return match &s.shards[s.shard_of[at]] {
            Some(shard) => read_tensor(shard, tensor),
            None => Err(format!("{}: its shard was set aside", held.loaded.name)),
        };
    }
    let file = &held.loaded;
    let dataset = match &held.source {
        Some(source) => {
            let (begin, end) = loader::tensor_range(file, tensor)?;
            let bytes = source.read(begin, end)?;
            loader::load_tensor_bytes(file, tensor, &bytes)?
        }
        None => loader::load_tensor(file, tensor)?,
    };
    Ok(Arc::unwrap_or_clone(dataset))
}

/// The fault the test hook asks for.
#[allow(clippy::panic)]
/// Runs `study` on the data held.
fn run_study(
    d: &Dataset,
    config: &QuantizerConfig,
    study: Study,
    clock: Option<&dyn Fn() -> f64>,
) -> Result<StudyResult, String> {
    use quantscope_core::io::export;
    match study {
        Study::Diff { quantized } => Err(format!(
            "{quantized}: a comparison needs the file itself (it is read by the worker that holds the original)"
        )),
        Study::Layer(spec) => Err(format!(
            "{}: the layer lab needs the activations' file itself",
            spec.activations
        )),
        Study::Allocate { .. } => Err("an allocation needs the checkpoint itself".to_string()),
        Study::Channels { bands } => quantscope_core::study::channels(d, config, bands)
            .map(StudyResult::Channels)
            .map_err(|e| e.to_string()),
        Study::ChannelPart { first, end } => {
            quantscope_core::study::channels_part(d, config, first..end)
                .map(StudyResult::ChannelPart)
                .map_err(|e| e.to_string())
        }
        Study::StreamPart {
            spec,
            first,
            end,
            static_clip,
        } => {
            quantscope_core::study::stream_part(d, config, spec, first..end, static_clip, clock)
                .map(StudyResult::StreamPart)
                .map_err(|e| e.to_string())
        }
        Study::Stream(spec) => quantscope_core::study::stream(d, config, spec, clock)
            .map(StudyResult::Stream)
            .map_err(|e| e.to_string()),
        Study::Export(kind) => {
            let q = quantscope_core::quantize(d, config).map_err(|e| e.to_string())?;
            let bytes = match kind {
                ExportKind::Dequantized => export::dequantized_npy(d.shape(), &q),
                ExportKind::Codes => export::codes_npy(d.shape(), &q),
                ExportKind::Safetensors => {
                    export::quantized_safetensors(d.name(), d.shape(), config, &q)?
                }
            };
            Ok(StudyResult::File { kind, bytes })
        }
    }
}

fn crash() -> Result<Response, String> {
    panic!("a crash requested by the test hook (Request::Crash)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::protocol::SynthSettings;
    use quantscope_core::io::{npy, safetensors};
    use quantscope_core::{AnalysisOptions, QuantizerConfig, Share};

    fn none() -> impl FnMut(f64, &str) {
        |_, _| {}
    }

    #[test]
    fn holds_synthetic_data_and_answers_shares() {
        let mut s = Service::new();
        let r = s.handle(
            Request::Synth {
                job: 1,
                settings: SynthSettings::default(),
            },
            Attached::None,
            &mut none(),
        );
        // The default synthetic data: a 128 × 1024 matrix.
        assert!(
            matches!(r, Response::Loaded { job: 1, ref data, .. } if data.len() == 131_072 && data.shape == [128, 1024])
        );
        let ask = |share| Request::Analyze {
            job: 2,
            config: QuantizerConfig::default(),
            options: AnalysisOptions::default(),
            share,
        };
        let r = s.handle(
            ask(Share { index: 1, count: 2 }),
            Attached::None,
            &mut none(),
        );
        let Response::Part { job: 2, part, .. } = r else {
            panic!("{r:?}")
        };
        assert_eq!(part.share, Share { index: 1, count: 2 });
        assert_eq!(part.acc.finish().n, 65_536);
        let r = s.handle(
            ask(Share { index: 2, count: 2 }),
            Attached::None,
            &mut none(),
        );
        assert!(
            matches!(r, Response::Error { job: 2, ref message } if message.contains("share 2 of 2"))
        );
    }

    #[test]
    fn opens_files_and_keeps_the_old_data_on_a_bad_one() {
        let mut s = Service::new();
        let npy = npy::write_f32(&[2, 3], &[1.0, -2.0, 3.0, 0.5, 0.25, -1.0]);
        let mut steps = Vec::new();
        let r = s.handle(
            Request::Open {
                job: 1,
                name: "w.npy".into(),
                tensor: None,
            },
            Attached::One(Box::new(npy)),
            &mut |f, _| steps.push(f),
        );
        assert!(
            matches!(r, Response::Loaded { ref data, ref file, .. } if data.shape == vec![2, 3] && file.is_some()),
            "{r:?}"
        );
        assert_eq!(steps.last(), Some(&1.0));
        let r = s.handle(
            Request::Open {
                job: 2,
                name: "bad.npy".into(),
                tensor: None,
            },
            Attached::One(Box::new(b"\x93NUMPY\x01\x00\x05\x00{'de".to_vec())),
            &mut none(),
        );
        assert!(
            matches!(r, Response::Error { job: 2, ref message } if message.starts_with("bad.npy"))
        );
        assert_eq!(s.dataset().map(|d| d.shape().to_vec()), Some(vec![2, 3]));
    }

    #[test]
    /// A sharded checkpoint: the index's shards held header first, each tensor read from its
    /// own; a broken or missing shard is set aside by name (its tensors kept out of the
    /// allocation), and when no shard can be used the old data stays.
    fn a_sharded_checkpoint_opens_as_one_and_sets_a_broken_shard_aside() {
        let mut s = Service::new();
        let a: Vec<f32> = (0..64).map(|i| (i as f32 * 0.3).sin()).collect();
        let b: Vec<f32> = (0..32).map(|i| (i as f32 * 0.7).cos() * 3.0).collect();
        let files = |broken: &[u8]| -> Attached {
            let one =
                |n: &str, bytes: Vec<u8>| (n.to_string(), Box::new(bytes) as Box<dyn ByteSource>);
            Attached::Many(vec![
                one("s-2.safetensors", safetensors::write_f32(&[("b", &[4, 8], &b)])),
                one("m.safetensors.index.json", br#"{"weight_map":{"a":"s-1.safetensors","b":"s-2.safetensors","c":"s-3.safetensors","d":"s-4.safetensors"}}"#.to_vec()),
                one("s-1.safetensors", safetensors::write_f32(&[("a", &[8, 8], &a), ("b", &[1], &[9.0])])),
                one("s-3.safetensors", broken.to_vec()),
            ])
        };
        let open = |job| Request::Open {
            job,
            name: "m.safetensors.index.json".into(),
            tensor: None,
        };
        let r = s.handle(open(1), files(b"\x05\0\0\0\0\0\0\0{"), &mut none());
        let Response::Loaded {
            file: Some(f),
            tensor,
            data,
            ..
        } = r
        else {
            panic!("{r:?}")
        };
        assert_eq!(tensor.as_deref(), Some("a"));
        assert_eq!(data.len(), 64);
        // s-1's stale "b" is not listed: the index puts b in s-2.
        let names: Vec<&str> = f.tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["a", "b"]);
        assert_eq!(f.shards, 4);
        assert_eq!(f.set_aside.len(), 2);
        assert_eq!(f.set_aside[0].0, "s-3.safetensors");
        assert!(
            f.set_aside[0].1.starts_with("not a safetensors file"),
            "{:?}",
            f.set_aside
        );
        assert_eq!(
            f.set_aside[1],
            (
                "s-4.safetensors".to_string(),
                "not among the files chosen".to_string()
            )
        );
        // Switching reads the tensor from its shard.
        let r = s.handle(
            Request::Open {
                job: 2,
                name: "m.safetensors.index.json".into(),
                tensor: Some("b".into()),
            },
            Attached::None,
            &mut none(),
        );
        assert!(
            matches!(r, Response::Loaded { ref data, .. } if data.len() == 32),
            "{r:?}"
        );
        assert_eq!(s.dataset().map(|d| d.values().to_vec()), Some(b.clone()));
        // The allocation keeps the set-aside tensors out, each with its shard's reason.
        let r = s.handle(
            Request::Study {
                job: 3,
                config: QuantizerConfig::default(),
                study: Study::Allocate {
                    candidates: vec!["int4-channel".into(), "int8-channel".into()],
                    budget: 8.5,
                    importance: None,
                    size: None,
                },
            },
            Attached::None,
            &mut none(),
        );
        let Response::Studied { result, .. } = r else {
            panic!("{r:?}")
        };
        let StudyResult::Allocate(report) = *result else {
            panic!("not an allocation")
        };
        let assigned: Vec<&str> = report.assignment.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(assigned, vec!["a", "b"]);
        let kept: Vec<(&str, &str)> = report
            .kept
            .iter()
            .map(|k| (k.name.as_str(), k.reason.as_str()))
            .collect();
        assert_eq!(kept[0].0, "c");
        assert!(kept[0].1.starts_with("shard s-3.safetensors: "), "{kept:?}");
        assert_eq!(
            kept[1],
            ("d", "shard s-4.safetensors: not among the files chosen")
        );
        // Files without an index that both hold "b" are refused; nothing changes.
        let one = |n: &str, bytes: Vec<u8>| (n.to_string(), Box::new(bytes) as Box<dyn ByteSource>);
        let r = s.handle(
            Request::Open {
                job: 4,
                name: "x + 1 more".into(),
                tensor: None,
            },
            Attached::Many(vec![
                one(
                    "x.safetensors",
                    safetensors::write_f32(&[("b", &[1], &[1.0])]),
                ),
                one(
                    "y.safetensors",
                    safetensors::write_f32(&[("b", &[1], &[2.0])]),
                ),
            ]),
            &mut none(),
        );
        assert!(
            matches!(r, Response::Error { ref message, .. } if message.contains("\"b\" is in both x.safetensors and y.safetensors")),
            "{r:?}"
        );
        // When no shard can be used, that is the error and the data held stays.
        let r = s.handle(
            Request::Open {
                job: 5,
                name: "z + 1 more".into(),
                tensor: None,
            },
            Attached::Many(vec![
                one("p.safetensors", vec![1, 2]),
                one("q.safetensors", vec![]),
            ]),
            &mut none(),
        );
        assert!(
            matches!(r, Response::Error { ref message, .. } if message.starts_with("z + 1 more: no shard could be used (p.safetensors: ")),
            "{r:?}"
        );
        assert_eq!(s.dataset().map(|d| d.values().to_vec()), Some(b));
    }

    #[test]
    fn safetensors_tensors_are_read_one_at_a_time() {
        let mut s = Service::new();
        let st = safetensors::write_f32(&[("a", &[2], &[1.0, 2.0]), ("b", &[3], &[1.0, 2.0, 4.0])]);
        let r = s.handle(
            Request::Open {
                job: 1,
                name: "m.safetensors".into(),
                tensor: None,
            },
            Attached::One(Box::new(st)),
            &mut none(),
        );
        assert!(matches!(r, Response::Loaded { ref tensor, .. } if tensor.as_deref() == Some("a")));
        let switch = |job, tensor: &str| Request::Open {
            job,
            name: "m.safetensors".into(),
            tensor: Some(tensor.into()),
        };
        let r = s.handle(switch(2, "b"), Attached::None, &mut none());
        assert!(matches!(r, Response::Loaded { ref data, .. } if data.len() == 3));
        // A tensor that does not exist is refused; "b" stays, and the file stays open.
        let r = s.handle(switch(3, "zz"), Attached::None, &mut none());
        assert!(matches!(r, Response::Error { .. }), "{r:?}");
        assert_eq!(s.dataset().map(Dataset::len), Some(3));
        let r = s.handle(switch(4, "a"), Attached::None, &mut none());
        assert!(
            matches!(r, Response::Loaded { ref data, .. } if data.len() == 2),
            "{r:?}"
        );
    }

    /// A GGUF file opens header first — a header longer than the first read (a 1.5 MB metadata
    /// string) is read again longer — its metadata reaches the page, a quantized tensor decodes
    /// as llama.cpp does, and a type the page cannot read is refused by name, the data kept.
    #[test]
    fn gguf_files_open_header_first_and_decode_their_tensors() {
        use quantscope_core::ggml::{self, GgmlType};
        use quantscope_core::io::gguf::{self, Meta, TensorOut};
        let x: Vec<f32> = (0..512).map(|i| (i as f32 * 0.3).sin()).collect();
        let q4k = ggml::quantize(GgmlType::Q4K.codec().unwrap_or_else(|| unreachable!()), &x);
        let long = "x".repeat(1_500_000);
        let file = gguf::write(
            &[
                ("general.architecture", Meta::Str("llama")),
                ("general.file_type", Meta::U32(15)),
                ("general.description", Meta::Str(&long)),
            ],
            &[
                TensorOut {
                    name: "iq2",
                    shape: &[256],
                    ty: GgmlType::Iq2Xxs,
                    bytes: &[0; 66],
                },
                TensorOut {
                    name: "blk.0.ffn_down.weight",
                    shape: &[2, 256],
                    ty: GgmlType::Q4K,
                    bytes: &q4k,
                },
            ],
        );
        let mut s = Service::new();
        let r = s.handle(
            Request::Open {
                job: 1,
                name: "m.gguf".into(),
                tensor: None,
            },
            Attached::One(Box::new(file)),
            &mut none(),
        );
        let Response::Loaded {
            file: Some(info),
            tensor,
            ..
        } = r
        else {
            panic!("{r:?}");
        };
        // The first tensor the page can read is shown.
        assert_eq!(tensor.as_deref(), Some("blk.0.ffn_down.weight"));
        assert!(info
            .description
            .contains(&("file type".into(), "MOSTLY_Q4_K_M".into())));
        assert_eq!(info.tensors[0].dtype, "IQ2_XXS");
        assert!(!info.tensors[0].is_float);
        let want = ggml::dequantize(GgmlType::Q4K, &q4k, 512).unwrap_or_default();
        assert_eq!(s.dataset().map(|d| d.values().to_vec()), Some(want));
        let r = s.handle(
            Request::Open {
                job: 2,
                name: "m.gguf".into(),
                tensor: Some("iq2".into()),
            },
            Attached::None,
            &mut none(),
        );
        assert!(
            matches!(&r, Response::Error { message, .. } if message.contains("IQ2_XXS")),
            "{r:?}"
        );
        assert_eq!(s.dataset().map(Dataset::len), Some(512));
    }

    /// The held file against a quantized copy: pairs by llama.cpp's names, reorders q rows as
    /// its converter does, and measures each pair — the CLI's `diff`, one truth.
    #[test]
    fn a_held_checkpoint_is_compared_with_its_quantized_copy() {
        use quantscope_core::ggml::{self, GgmlType};
        use quantscope_core::io::gguf::{self, Meta, TensorOut};
        let (rows, cols) = (8usize, 32usize);
        let q: Vec<f32> = (0..rows * cols).map(|i| (i as f32 * 0.37).sin()).collect();
        let original = safetensors::write_f32(&[
            ("model.layers.0.self_attn.q_proj.weight", &[rows, cols], &q),
            ("extra", &[2], &[1.0, 2.0]),
        ]);
        let permuted = quantscope_core::diff::permute_qk(&q, &[rows, cols], 2)
            .unwrap_or_else(|| panic!("permutation"));
        let q8 = ggml::quantize(
            GgmlType::Q8_0.codec().unwrap_or_else(|| unreachable!()),
            &permuted,
        );
        let copy = gguf::write(
            &[
                ("general.architecture", Meta::Str("llama")),
                ("llama.attention.head_count", Meta::U32(2)),
            ],
            &[TensorOut {
                name: "blk.0.attn_q.weight",
                shape: &[rows, cols],
                ty: GgmlType::Q8_0,
                bytes: &q8,
            }],
        );
        let mut s = Service::new();
        let r = s.handle(
            Request::Open {
                job: 1,
                name: "model.safetensors".into(),
                tensor: None,
            },
            Attached::One(Box::new(original)),
            &mut none(),
        );
        assert!(matches!(r, Response::Loaded { .. }), "{r:?}");
        let r = s.handle(
            Request::Study {
                job: 2,
                config: QuantizerConfig::default(),
                study: Study::Diff {
                    quantized: "model-q8_0.gguf".into(),
                },
            },
            Attached::One(Box::new(copy)),
            &mut none(),
        );
        let Response::Studied { result, .. } = r else {
            panic!("{r:?}");
        };
        let StudyResult::Diff(table) = *result else {
            panic!("not a comparison");
        };
        assert_eq!(table.rows.len(), 1);
        let row = &table.rows[0];
        assert_eq!(
            (row.quantized.as_str(), row.dtype.as_str(), row.permuted),
            ("blk.0.attn_q.weight", "Q8_0", true)
        );
        let back = ggml::dequantize(GgmlType::Q8_0, &q8, q.len()).unwrap_or_default();
        let (_, mse, _) = quantscope_core::diff::error(&permuted, &back);
        assert_eq!(row.mse, mse);
        assert_eq!(row.bits_per_value, Some(8.5));
        assert_eq!(table.unmatched_original, ["extra"]);
        // Without a file held, the comparison says what to do first.
        let r = Service::new().handle(
            Request::Study {
                job: 3,
                config: QuantizerConfig::default(),
                study: Study::Diff {
                    quantized: "x.gguf".into(),
                },
            },
            Attached::One(Box::new(Vec::<u8>::new())),
            &mut none(),
        );
        assert!(
            matches!(&r, Response::Error { message, .. } if message.contains("open the original")),
            "{r:?}"
        );
    }

    /// The layer lab: the data held is W, the attachment X; each row is the core's run of that
    /// method (the CLI's `quantscope layer`, one truth), and a mismatch says what is wrong.
    #[test]
    fn the_layer_lab_runs_every_method_on_the_held_weights() {
        use quantscope_core::layer::{self, Layer, LayerOptions, Method};
        let (out, inputs, tokens) = (8usize, 32usize, 40usize);
        let w: Vec<f32> = (0..out * inputs).map(|i| (i as f32 * 0.37).sin()).collect();
        let x: Vec<f32> = (0..tokens * inputs)
            .map(|i| (i as f32 * 0.11).cos() * 3.0)
            .collect();
        let mut s = Service::new();
        let r = s.handle(
            Request::Open {
                job: 1,
                name: "w.npy".into(),
                tensor: None,
            },
            Attached::One(Box::new(npy::write_f32(&[out, inputs], &w))),
            &mut none(),
        );
        assert!(matches!(r, Response::Loaded { .. }), "{r:?}");
        let config = QuantizerConfig {
            bits: 4,
            ..QuantizerConfig::default()
        };
        let options = LayerOptions {
            rotate_block: Some(16),
            ..LayerOptions::default()
        };
        let study = |name: &str| Request::Study {
            job: 2,
            config: config.clone(),
            study: Study::Layer(LayerSpec {
                activations: name.into(),
                tensor: None,
                options,
            }),
        };
        let mut seen = Vec::new();
        let r = s.handle(
            study("x.npy"),
            Attached::One(Box::new(npy::write_f32(&[tokens, inputs], &x))),
            &mut |f, _| seen.push(f),
        );
        let Response::Studied { result, .. } = r else {
            panic!("{r:?}");
        };
        let StudyResult::Layer(lab) = *result else {
            panic!("not the lab");
        };
        assert_eq!(seen.last().copied(), Some(1.0));
        let l =
            Layer::new(&w, &[out, inputs], &x, &[tokens, inputs]).unwrap_or_else(|e| panic!("{e}"));
        for (row, method) in lab.rows.iter().zip(Method::ALL) {
            let want = layer::run(
                &l,
                &config,
                &LayerOptions { method, ..options },
                &mut |_| {},
            )
            .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(*row, want);
        }
        // X with another number of inputs: the message names both.
        let r = s.handle(
            study("x6.npy"),
            Attached::One(Box::new(npy::write_f32(&[4, 6], &[1.0; 24]))),
            &mut none(),
        );
        assert!(
            matches!(&r, Response::Error { message, .. } if message.contains("X = x6.npy") && message.contains("6 features per token but the weights take 32")),
            "{r:?}"
        );
    }
}
