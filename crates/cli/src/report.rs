//! `quantscope report`: quantize every float tensor of a checkpoint with one configuration and
//! report each tensor's error and the whole model's.
//!
//! ```text
//! total bits per value = Σ_t bpv_t · N_t / Σ_t N_t                (parameter-weighted)
//! total SQNR           = 10 · log10(Σ_t Σ r² / Σ_t Σ (r − r̂)²)  (the model as one signal)
//! total MSE            = Σ_t Σ (r − r̂)² / Σ_t n_t
//! ```
//! Tensors run in parallel (rayon), largest first. A memory gate keeps the f32 buffers in flight
//! under 2.5 × the largest tensor's size in its file (or one f32 copy of it, if larger): a task
//! waits until its buffers fit, unless nothing else is running.

use std::sync::{Condvar, Mutex};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use quantscope_core::{analyze, AnalysisOptions, QuantizerConfig};
use rayon::prelude::*;
use serde::Serialize;

use crate::source::{self, TensorRef};

/// One tensor's line of the report.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub file: String,
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    pub n: usize,
    pub mse: Option<f64>,
    pub sqnr_db: Option<f64>,
    pub max_abs_error: Option<f64>,
    pub clipped_fraction: Option<f64>,
    pub bits_per_value: Option<f64>,
    /// Finite values the format cannot hold (reconstructed as ±Inf or NaN): their error is
    /// unbounded, so mse and sqnr_db are null.
    pub overflowed: usize,
    /// Why the tensor was not quantized (a layout that does not fit, no finite values, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    #[serde(skip)]
    sum_sq_ref: f64,
    #[serde(skip)]
    sum_sq_err: f64,
    #[serde(skip)]
    finite: usize,
}

/// The whole-model line.
#[derive(Clone, Debug, Serialize)]
pub struct Total {
    pub tensors: usize,
    pub quantized: usize,
    pub skipped: usize,
    pub n: usize,
    pub mse: Option<f64>,
    pub sqnr_db: Option<f64>,
    pub bits_per_value: Option<f64>,
    /// Values of all tensors that overflowed (see [`Row::overflowed`]); mse and sqnr_db are null
    /// when there are any.
    pub overflowed: usize,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// Limits the bytes of f32 buffers held at once.
struct Gate {
    budget: u64,
    in_use: Mutex<(u64, usize)>,
    freed: Condvar,
}

impl Gate {
    fn acquire(&self, need: u64) {
        let mut guard = self.in_use.lock().unwrap_or_else(|p| p.into_inner());
        while guard.1 > 0 && guard.0 + need > self.budget {
            guard = self.freed.wait(guard).unwrap_or_else(|p| p.into_inner());
        }
        guard.0 += need;
        guard.1 += 1;
    }

    fn release(&self, need: u64) {
        let mut guard = self.in_use.lock().unwrap_or_else(|p| p.into_inner());
        guard.0 -= need;
        guard.1 -= 1;
        self.freed.notify_all();
    }
}

/// Quantizes every float tensor of `tensors` with `config`.
pub fn report(tensors: &[TensorRef], config: &QuantizerConfig) -> (Vec<Row>, Total) {
    let floats: Vec<(usize, &TensorRef)> = tensors
        .iter()
        .enumerate()
        .filter(|(_, t)| t.info.is_float)
        .collect();
    // Calibrations other than min–max and manual may copy a group's values once more.
    let copies: u64 = if config.calibration.searches() { 2 } else { 1 };
    let largest_file = floats.iter().map(|(_, t)| t.n_bytes()).max().unwrap_or(0);
    let largest_f32 = floats
        .iter()
        .map(|(_, t)| 4 * t.n_elements() as u64)
        .max()
        .unwrap_or(0);
    let gate = Gate {
        budget: (largest_file * 5 / 2).max(largest_f32),
        in_use: Mutex::new((0, 0)),
        freed: Condvar::new(),
    };
    let progress =
        ProgressBar::with_draw_target(Some(floats.len() as u64), ProgressDrawTarget::stderr());
    progress.set_style(
        ProgressStyle::with_template("{bar:32} {pos}/{len} tensors {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut order = floats.clone();
    order.sort_by_key(|(_, t)| std::cmp::Reverse(t.n_elements()));
    let mut rows: Vec<(usize, Row)> = order
        .par_iter()
        .map(|&(i, t)| {
            let need = 4 * t.n_elements() as u64 * copies;
            gate.acquire(need);
            let row = quantize_one(t, config);
            gate.release(need);
            progress.inc(1);
            (i, row)
        })
        .collect();
    progress.finish_and_clear();
    rows.sort_by_key(|(i, _)| *i);
    let rows: Vec<Row> = rows.into_iter().map(|(_, r)| r).collect();
    let total = total_of(&rows, tensors.len());
    (rows, total)
}

fn quantize_one(t: &TensorRef, config: &QuantizerConfig) -> Row {
    let mut row = Row {
        file: t.file_name(),
        name: t.info.name.clone(),
        dtype: t.info.dtype.clone(),
        shape: t.info.shape.clone(),
        n: t.n_elements(),
        mse: None,
        sqnr_db: None,
        max_abs_error: None,
        clipped_fraction: None,
        bits_per_value: None,
        overflowed: 0,
        skipped: None,
        sum_sq_ref: 0.0,
        sum_sq_err: 0.0,
        finite: 0,
    };
    let result = source::load(t).and_then(|d| {
        let a = analyze(&d, config, &AnalysisOptions::default())?;
        // Σ r² = n (σ² + μ²) from the summary made at load, instead of another pass.
        let s = d.summary();
        let sum_sq_ref = s.finite as f64 * (s.std * s.std + s.mean * s.mean);
        Ok((a.metrics, sum_sq_ref))
    });
    match result {
        Ok((m, sum_sq_ref)) => {
            row.mse = finite(m.mse);
            row.sqnr_db = finite(m.sqnr_db);
            row.max_abs_error = finite(m.max_abs_error);
            row.clipped_fraction = finite(m.clipped_fraction);
            row.bits_per_value = finite(m.bits_per_value);
            row.overflowed = m.overflowed;
            row.sum_sq_ref = sum_sq_ref;
            row.sum_sq_err = m.mse * m.n as f64;
            row.finite = m.n;
        }
        Err(e) => row.skipped = Some(format!("{e:#}")),
    }
    row
}

fn total_of(rows: &[Row], n_tensors: usize) -> Total {
    let done: Vec<&Row> = rows.iter().filter(|r| r.skipped.is_none()).collect();
    let n: usize = done.iter().map(|r| r.n).sum();
    let finite_n: usize = done.iter().map(|r| r.finite).sum();
    let overflowed: usize = done.iter().map(|r| r.overflowed).sum();
    let err: f64 = done.iter().map(|r| r.sum_sq_err).sum();
    let reference: f64 = done.iter().map(|r| r.sum_sq_ref).sum();
    let bits: f64 = done
        .iter()
        .map(|r| r.bits_per_value.unwrap_or(0.0) * r.n as f64)
        .sum();
    Total {
        tensors: n_tensors,
        quantized: done.len(),
        skipped: rows.len() - done.len(),
        n,
        mse: (finite_n > 0 && overflowed == 0).then(|| err / finite_n as f64),
        sqnr_db: (err > 0.0 && overflowed == 0).then(|| 10.0 * (reference / err).log10()),
        bits_per_value: (n > 0).then(|| bits / n as f64),
        overflowed,
    }
}

/// "384x1536".
fn shape_text(shape: &[usize]) -> String {
    shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

/// SQNR for the table: "exact" for an exact reconstruction, "overflow" where values overflowed.
fn sqnr_text(sqnr_db: Option<f64>, overflowed: usize) -> String {
    match sqnr_db {
        _ if overflowed > 0 => "overflow".to_string(),
        Some(x) => format!("{x:.2}"),
        None => "exact".to_string(),
    }
}

fn cell(v: Option<f64>, precision: usize) -> String {
    v.map_or("-".to_string(), |x| format!("{x:.precision$e}"))
}

/// The report as a readable table.
pub fn print_table(rows: &[Row], total: &Total) {
    let width = rows
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(4)
        .clamp(4, 60);
    out!(
        "{:<width$} {:<16} {:>10} {:>11} {:>9} {:>11} {:>9} {:>8}",
        "name",
        "shape",
        "n",
        "mse",
        "sqnr_db",
        "max_abs_err",
        "clipped",
        "bits/val"
    );
    for r in rows {
        let shape = shape_text(&r.shape);
        if let Some(why) = &r.skipped {
            out!(
                "{:<width$} {:<16} {:>10} skipped: {why}",
                r.name,
                shape,
                r.n
            );
            continue;
        }
        out!(
            "{:<width$} {:<16} {:>10} {:>11} {:>9} {:>11} {:>9} {:>8}",
            r.name,
            shape,
            r.n,
            if r.overflowed > 0 {
                "∞".to_string()
            } else {
                cell(r.mse, 4)
            },
            sqnr_text(r.sqnr_db, r.overflowed),
            cell(r.max_abs_error, 3),
            r.clipped_fraction
                .map_or("-".to_string(), |x| format!("{x:.5}")),
            r.bits_per_value
                .map_or("-".to_string(), |x| format!("{x:.4}")),
        );
    }
    out!(
        "{:<width$} {:<16} {:>10} {:>11} {:>9} {:>11} {:>9} {:>8}",
        "TOTAL",
        format!("{} tensors", total.quantized),
        total.n,
        if total.overflowed > 0 {
            "∞".to_string()
        } else {
            cell(total.mse, 4)
        },
        sqnr_text(total.sqnr_db, total.overflowed),
        "",
        "",
        total
            .bits_per_value
            .map_or("-".to_string(), |x| format!("{x:.4}")),
    );
    if total.skipped > 0 {
        out!("({} tensors skipped, see above)", total.skipped);
    }
    if total.overflowed > 0 {
        out!(
            "({} values overflow the format: reconstructed as ±Inf or NaN, their error is unbounded)",
            total.overflowed
        );
    }
}

/// The report as CSV (one row per tensor, then the total), quoted where needed.
pub fn print_csv(rows: &[Row], total: &Total) -> Result<()> {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let num = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    out!(
        "file,name,dtype,shape,n,mse,sqnr_db,max_abs_error,clipped_fraction,bits_per_value,overflowed,skipped"
    );
    for r in rows {
        let shape = shape_text(&r.shape);
        out!(
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            quote(&r.file),
            quote(&r.name),
            r.dtype,
            shape,
            r.n,
            num(r.mse),
            num(r.sqnr_db),
            num(r.max_abs_error),
            num(r.clipped_fraction),
            num(r.bits_per_value),
            r.overflowed,
            quote(r.skipped.as_deref().unwrap_or(""))
        );
    }
    out!(
        ",TOTAL,,,{},{},{},,,{},{},",
        total.n,
        num(total.mse),
        num(total.sqnr_db),
        num(total.bits_per_value),
        total.overflowed
    );
    Ok(())
}
