//! Where tensors come from: files on disk, read header first.
//!
//! A `.safetensors` file is opened, its 8-byte length and JSON header read and validated, and each
//! tensor's bytes read only when it is loaded — in chunks, decoded straight into the f32 buffer —
//! so a large checkpoint costs its header plus one tensor (per worker). A sharded checkpoint is
//! opened through its `*.safetensors.index.json`. A `.gguf` file is read header first too (its
//! header has no length: a prefix is read and grown until the header fits), and a tensor's bytes
//! are read and dequantized as llama.cpp does when it is loaded. `.npy` and CSV files hold one
//! tensor and are read whole.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use quantscope_core::io::gguf;
use quantscope_core::io::safetensors::{self as st, Entry};
use quantscope_core::io::{self, shards, FileKind, TensorInfo};
use quantscope_core::Dataset;

/// Bytes read per chunk when decoding a safetensors tensor.
const CHUNK: usize = 4 << 20;

/// One tensor of a file, not yet read.
#[derive(Clone, Debug)]
pub struct TensorRef {
    pub path: PathBuf,
    pub info: TensorInfo,
    place: Place,
}

#[derive(Clone, Debug)]
enum Place {
    Safetensors(Entry),
    Gguf(gguf::Entry),
    Whole(FileKind),
}

impl TensorRef {
    pub fn n_elements(&self) -> usize {
        self.info.shape.iter().product()
    }

    /// Bytes the tensor occupies in its file (estimated as f32 for text files).
    pub fn n_bytes(&self) -> u64 {
        match &self.place {
            Place::Safetensors(e) => e.n_bytes(),
            Place::Gguf(e) => e.end - e.begin,
            Place::Whole(_) => 4 * self.n_elements() as u64,
        }
    }

    pub fn file_name(&self) -> String {
        self.path.display().to_string()
    }

    /// Whether it is a tensor of a GGUF file (loading refuses a type it cannot read by name).
    pub fn is_gguf(&self) -> bool {
        matches!(self.place, Place::Gguf(_))
    }
}

/// Every tensor of the files (an index file stands for all its shards); a shard that cannot be
/// used is an error.
pub fn tensors_of(paths: &[PathBuf]) -> Result<Vec<TensorRef>> {
    let (tensors, unusable) = tensors_of_tolerant(paths)?;
    if let Some(u) = unusable.first() {
        bail!("shard {}: {}", u.file, u.reason);
    }
    Ok(tensors)
}

/// Every tensor of the files, and the shards of an index that cannot be used (unreadable, or
/// lacking a tensor the index gives them), each with its reason: the rest is still there.
pub fn tensors_of_tolerant(paths: &[PathBuf]) -> Result<(Vec<TensorRef>, Vec<shards::Unusable>)> {
    let (mut out, mut unusable) = (Vec::new(), Vec::new());
    for path in paths {
        let name = path.display().to_string();
        if name.ends_with(".index.json") {
            let (tensors, bad) = shards_of(path)?;
            out.extend(tensors);
            unusable.extend(bad);
            continue;
        }
        let kind = FileKind::from_file_name(&name).with_context(|| {
            format!("{name}: unsupported file type (use .npy, .safetensors, .safetensors.index.json, .gguf, .csv or .txt)")
        })?;
        out.extend(tensors_in(path, kind)?);
    }
    Ok((out, unusable))
}

fn tensors_in(path: &Path, kind: FileKind) -> Result<Vec<TensorRef>> {
    let name = path.display().to_string();
    match kind {
        FileKind::Safetensors => {
            let header = read_header(path)?;
            Ok(header
                .tensors
                .into_iter()
                .map(|e| TensorRef {
                    path: path.to_path_buf(),
                    info: e.info(),
                    place: Place::Safetensors(e),
                })
                .collect())
        }
        FileKind::Gguf => Ok(read_gguf_header(path)?
            .tensors
            .into_iter()
            .map(|e| TensorRef {
                path: path.to_path_buf(),
                info: e.info(),
                place: Place::Gguf(e),
            })
            .collect()),
        FileKind::Npy | FileKind::Csv => {
            let bytes = std::fs::read(path).with_context(|| format!("{name}: cannot read"))?;
            let list =
                io::list_tensors(kind, &base_name(path), &bytes).with_context(|| name.clone())?;
            Ok(list
                .into_iter()
                .map(|info| TensorRef {
                    path: path.to_path_buf(),
                    info,
                    place: Place::Whole(kind),
                })
                .collect())
        }
    }
}

/// The tensors of a sharded checkpoint (each from the shard the index names, see
/// [`shards::with_index`]) and the shards that cannot be used.
fn shards_of(index_path: &Path) -> Result<(Vec<TensorRef>, Vec<shards::Unusable>)> {
    let name = index_path.display().to_string();
    let bytes = std::fs::read(index_path).with_context(|| format!("{name}: cannot read"))?;
    let index = st::parse_index(&bytes).with_context(|| name.clone())?;
    let dir = index_path.parent().unwrap_or(Path::new("."));
    // Each shard's entries (None when unreadable) and, for the assembly, its table or reason.
    let (refs, tables): (Vec<_>, Vec<_>) = index
        .keys()
        .map(
            |file| match tensors_in(&dir.join(file), FileKind::Safetensors) {
                Ok(t) => {
                    let infos = t.iter().map(|r| r.info.clone()).collect();
                    (Some(t), Ok(infos))
                }
                Err(e) => (None, Err(format!("{e:#}"))),
            },
        )
        .unzip();
    let assembled = shards::with_index(&index, tables);
    let tensors = assembled
        .tensors
        .iter()
        .filter_map(|(at, info)| {
            let shard: &Vec<TensorRef> = refs[*at].as_ref()?;
            shard.iter().find(|t| t.info.name == info.name).cloned()
        })
        .collect();
    Ok((tensors, assembled.unusable))
}

/// Reads and validates a safetensors header without reading the data.
pub fn read_header(path: &Path) -> Result<st::Header> {
    let name = path.display().to_string();
    let file = File::open(path).with_context(|| format!("{name}: cannot open"))?;
    let file_len = file
        .metadata()
        .with_context(|| format!("{name}: cannot stat"))?
        .len();
    let mut prefix = vec![0u8; 8.min(file_len as usize)];
    read_at(&file, &mut prefix, 0).with_context(|| format!("{name}: cannot read"))?;
    let n = st::header_len(&prefix, file_len).with_context(|| name.clone())?;
    // n ≤ 100 MB and inside the file: checked before allocating.
    let mut json = vec![0u8; n as usize];
    read_at(&file, &mut json, 8).with_context(|| format!("{name}: cannot read"))?;
    st::parse_header(&json, file_len).with_context(|| name.clone())
}

/// Reads and validates a GGUF header without reading the data: a prefix of 1 MiB, doubled until
/// the header fits (the parser says how far it needs to read).
pub fn read_gguf_header(path: &Path) -> Result<gguf::Header> {
    let name = path.display().to_string();
    let file = File::open(path).with_context(|| format!("{name}: cannot open"))?;
    let file_len = file
        .metadata()
        .with_context(|| format!("{name}: cannot stat"))?
        .len();
    let mut len = (1u64 << 20).min(file_len);
    loop {
        let mut prefix = vec![0u8; len as usize];
        read_at(&file, &mut prefix, 0).with_context(|| format!("{name}: cannot read"))?;
        match gguf::parse_header(&prefix, file_len) {
            Err(gguf::GgufError::NeedMore { at_least }) if len < file_len => {
                // at_least ≤ the header cap and the file's length (checked by the parser).
                len = at_least.max(len * 2).min(file_len);
            }
            other => return other.with_context(|| name.clone()),
        }
    }
}

/// The attention heads of a llama-family GGUF file (`llama.attention.head_count` and
/// `head_count_kv`), for undoing the converter's reordering of q/k rows.
pub fn gguf_heads(path: &Path) -> Option<(usize, usize)> {
    if FileKind::from_file_name(&path.display().to_string()) != Some(FileKind::Gguf) {
        return None;
    }
    read_gguf_header(path).ok()?.attention_heads()
}

/// The name of a whole-file tensor (.npy, .csv): the file's name, not its path, as the page names
/// it, so `export` writes the name `diff` pairs with the file the copy came from.
fn base_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |b| b.to_string_lossy().into_owned(),
    )
}

/// Loads one tensor as a dataset.
pub fn load(t: &TensorRef) -> Result<Dataset> {
    let name = t.file_name();
    let context = || format!("{name} (tensor \"{}\")", t.info.name);
    match &t.place {
        Place::Safetensors(entry) => {
            let file = File::open(&t.path).with_context(|| format!("{name}: cannot open"))?;
            let mut values = Vec::with_capacity(entry.n_elements());
            // Whole elements per chunk (element sizes divide CHUNK).
            let mut buf = vec![0u8; CHUNK.min(entry.n_bytes() as usize)];
            let mut at = entry.begin;
            while at < entry.end {
                let len = CHUNK.min((entry.end - at) as usize);
                read_at(&file, &mut buf[..len], at).with_context(context)?;
                st::decode_into(entry, &buf[..len], &mut values).with_context(context)?;
                at += len as u64;
            }
            Ok(
                Dataset::new(entry.name.clone(), entry.shape.clone(), values)
                    .with_context(context)?,
            )
        }
        Place::Gguf(entry) => {
            let file = File::open(&t.path).with_context(|| format!("{name}: cannot open"))?;
            // The header checked that [begin, end) lies in the file.
            let mut bytes = vec![0u8; (entry.end - entry.begin) as usize];
            read_at(&file, &mut bytes, entry.begin).with_context(context)?;
            let values = gguf::decode(entry, &bytes).with_context(context)?;
            Ok(
                Dataset::new(entry.name.clone(), entry.shape.clone(), values)
                    .with_context(context)?,
            )
        }
        Place::Whole(kind) => {
            let bytes = std::fs::read(&t.path).with_context(|| format!("{name}: cannot read"))?;
            io::load_tensor(*kind, &base_name(&t.path), &bytes, None).with_context(|| name.clone())
        }
    }
}

/// Reads exactly `buf.len()` bytes at `offset`.
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.read_exact_at(buf, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = file.try_clone()?;
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(buf)
    }
}
