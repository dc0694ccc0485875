//! Mixed precision under a budget: one candidate configuration per tensor, chosen to minimise the
//! model's total squared error within an average number of bits per parameter.
//!
//! ```text
//! minimise   Σ_t n_t · mse_t(k_t)                 over one candidate k_t per tensor t
//! subject to Σ_t n_t · bpv_t(k_t) ≤ B · Σ_t n_t    B: the budget in bits per value (scales included)
//! ```
//! A multiple-choice knapsack, solved by dynamic programming over the budget in units. A real
//! format's n·bpv is a whole number of bits (codes and scales), so the unit is the greatest common
//! divisor of every candidate's bits when that keeps the programme under [`MAX_UNITS`] — then the
//! answer is exactly optimal. Otherwise the budget is cut into [`RESOLUTION`] units, each
//! candidate's bits rounded to the nearest, and the programme rerun with less capacity while its
//! answer overflows the exact budget; the answer always fits, and no assignment fitting a budget
//! smaller by `slack_bits_per_value` (half a unit per tensor plus what was taken off) is better.
//! A uniform assignment (one candidate everywhere) that fits and is better is taken instead. The candidates' figures are the core's [`crate::analyze`] of
//! each tensor (the same numbers as `quantscope quantize`).

mod importance;
mod layers;
mod size;

use serde::{Deserialize, Serialize};

pub use importance::{
    column_weights, measure_weighted, measure_with, Importance, ImportanceError, ImportanceUse,
};
pub use layers::{layer_of, per_layer, LayerError};
pub use size::{
    budget_for_size, kept_bits, parse_size, report_at, size_report, stored_sizes, Budget,
    SizeReport,
};

use crate::config::{Granularity, QuantizerConfig};
use crate::presets;

/// Units the budget is cut into when the bits have no usable common divisor.
pub const RESOLUTION: usize = 20_000;
/// The most units of an exact programme.
pub const MAX_UNITS: usize = 200_000;

/// The default candidates, in increasing bits per value (roughly).
pub const DEFAULT_CANDIDATES: [&str; 12] = [
    "int2-channel",
    "int3-channel",
    "int4-channel",
    "int5-channel",
    "int6-channel",
    "int8-channel",
    "int4-g128",
    "nf4",
    "mxfp4",
    "mxfp8-e4m3",
    "fp8-e4m3",
    "bf16",
];

/// The configuration a candidate name stands for: `int{b}-channel` (signed symmetric min–max per
/// output row, axis 0, b = 2…8) or any preset. `None` for an unknown name.
pub fn candidate(name: &str) -> Option<QuantizerConfig> {
    if let Some(b) = name
        .strip_prefix("int")
        .and_then(|r| r.strip_suffix("-channel"))
        .and_then(|b| b.parse::<u8>().ok())
        .filter(|b| (2..=8).contains(b))
    {
        let base = presets::preset("int8-channel")?;
        return Some(QuantizerConfig {
            bits: b,
            granularity: Granularity::Channel { axis: 0 },
            ..base
        });
    }
    presets::preset(name)
}

/// One candidate measured on one tensor.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Index into the candidate list.
    pub candidate: usize,
    pub bits_per_value: f64,
    pub mse: f64,
}

/// A tensor's rate–distortion points (the candidates that fit it, with a finite error).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TensorPoints {
    pub name: String,
    pub n: usize,
    /// Σ x² over the tensor (for the model's SQNR).
    pub sum_sq: f64,
    pub points: Vec<Point>,
}

/// The chosen candidate of each tensor and the totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    /// For each tensor, the index into its `points`.
    pub choice: Vec<usize>,
    /// Σ n·bpv / Σ n and Σ n·mse / Σ n over the tensors.
    pub bits_per_value: f64,
    pub weighted_mse: f64,
    /// 10·log10(Σ x² / Σ n·mse): the model as one signal.
    pub sqnr_db: f64,
    /// How much of the budget the rounding to units may have left unused, at most.
    pub slack_bits_per_value: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AllocateError {
    #[error("no tensor to allocate (none is a 2-D float tensor that a candidate fits)")]
    Nothing,
    #[error("the budget must be a positive number of bits per value; {0} is not")]
    Budget(f64),
    #[error("a budget of {budget} bits per value is below the cheapest assignment, {least:.4}")]
    TooSmall { budget: f64, least: f64 },
    #[error("a target of {target_bytes} bytes leaves nothing for the allocated tensors: the tensors kept at their own precision take {kept_bytes} bytes")]
    SizeTooSmall { target_bytes: f64, kept_bytes: f64 },
}

fn totals(tensors: &[TensorPoints], choice: &[usize]) -> (f64, f64, f64) {
    let n: f64 = tensors.iter().map(|t| t.n as f64).sum();
    let (mut bits, mut err, mut sig) = (0.0, 0.0, 0.0);
    for (t, &k) in tensors.iter().zip(choice) {
        let p = t.points[k];
        bits += t.n as f64 * p.bits_per_value;
        err += t.n as f64 * p.mse;
        sig += t.sum_sq;
    }
    let sqnr = if err > 0.0 {
        10.0 * (sig / err).log10()
    } else {
        f64::INFINITY
    };
    (bits / n, err / n, sqnr)
}

/// A budget is a positive, finite number of bits per value (checked before anything is measured).
pub fn check_budget(budget: f64) -> Result<(), AllocateError> {
    if budget.is_finite() && budget > 0.0 {
        Ok(())
    } else {
        Err(AllocateError::Budget(budget))
    }
}

/// The allocation that minimises Σ n·mse within `budget` bits per value (see the module docs).
/// Tensors without points must be left out by the caller.
pub fn allocate(tensors: &[TensorPoints], budget: f64) -> Result<Allocation, AllocateError> {
    if tensors.is_empty() || tensors.iter().any(|t| t.points.is_empty()) {
        return Err(AllocateError::Nothing);
    }
    check_budget(budget)?;
    let total_n: f64 = tensors.iter().map(|t| t.n as f64).sum();
    let cheapest = |t: &TensorPoints| {
        (0..t.points.len())
            .min_by(|&a, &b| {
                t.points[a]
                    .bits_per_value
                    .total_cmp(&t.points[b].bits_per_value)
            })
            .unwrap_or(0)
    };
    let least: f64 = tensors
        .iter()
        .map(|t| t.n as f64 * t.points[cheapest(t)].bits_per_value)
        .sum::<f64>()
        / total_n;
    if least > budget * (1.0 + 1e-12) {
        return Err(AllocateError::TooSmall { budget, least });
    }
    let budget_bits = budget * total_n;
    let exact_bits = |choice: &[usize]| -> f64 {
        tensors
            .iter()
            .zip(choice)
            .map(|(t, &k)| t.n as f64 * t.points[k].bits_per_value)
            .sum()
    };
    let (costs, mut cap, unit) = discretise(tensors, budget_bits);
    // Rounded to the nearest unit, an answer may overflow the budget by up to half a unit per
    // tensor: the programme runs again with the capacity lowered by the overflow until it fits.
    let mut choice = tensors.iter().map(cheapest).collect::<Vec<_>>();
    let mut shrunk = 0usize;
    loop {
        match solve(tensors, &costs, cap) {
            Some(c) if exact_bits(&c) <= budget_bits * (1.0 + 1e-12) => {
                choice = c;
                break;
            }
            Some(c) => {
                let over = exact_bits(&c) - budget_bits;
                let step = unit.map_or(1, |u| (over / u).ceil().max(1.0) as usize);
                if step >= cap {
                    break;
                }
                cap -= step;
                shrunk += step;
            }
            None => break,
        }
    }
    // The same candidate everywhere is the chart's reference: never answer worse than one that fits.
    let err = |c: &[usize]| -> f64 {
        tensors
            .iter()
            .zip(c)
            .map(|(t, &k)| t.n as f64 * t.points[k].mse)
            .sum()
    };
    let candidates: std::collections::BTreeSet<usize> = tensors
        .iter()
        .flat_map(|t| t.points.iter().map(|p| p.candidate))
        .collect();
    for k in candidates {
        let same: Option<Vec<usize>> = tensors
            .iter()
            .map(|t| t.points.iter().position(|p| p.candidate == k))
            .collect();
        if let Some(same) = same {
            if exact_bits(&same) <= budget_bits * (1.0 + 1e-12) && err(&same) < err(&choice) {
                choice = same;
            }
        }
    }
    let slack_bits_per_value = unit.map_or(0.0, |u| {
        (tensors.len() as f64 / 2.0 + shrunk as f64) * u / total_n
    });
    let (bits_per_value, weighted_mse, sqnr_db) = totals(tensors, &choice);
    Ok(Allocation {
        choice,
        bits_per_value,
        weighted_mse,
        sqnr_db,
        slack_bits_per_value,
    })
}

/// The multiple-choice knapsack in units: the choice of least Σ n·mse whose costs add up to at
/// most `cap` (`None` when none does).
fn solve(tensors: &[TensorPoints], costs: &[Vec<usize>], cap: usize) -> Option<Vec<usize>> {
    // best[c]: the least Σ n·mse of the tensors so far within c units; pick[t][c]: t's choice.
    const NONE: f64 = f64::INFINITY;
    let mut best = vec![0.0f64; cap + 1];
    let mut pick: Vec<Vec<u16>> = Vec::with_capacity(tensors.len());
    for (t, costs) in tensors.iter().zip(costs) {
        let mut next = vec![NONE; cap + 1];
        let mut choice = vec![u16::MAX; cap + 1];
        for c in 0..=cap {
            for (k, (&cost, p)) in costs.iter().zip(&t.points).enumerate() {
                if cost <= c && best[c - cost] < NONE {
                    let e = best[c - cost] + t.n as f64 * p.mse;
                    if e < next[c] {
                        next[c] = e;
                        choice[c] = k as u16;
                    }
                }
            }
        }
        best = next;
        pick.push(choice);
    }
    if best[cap] == NONE {
        return None;
    }
    let mut c = cap;
    let mut choice = vec![0usize; tensors.len()];
    for i in (0..tensors.len()).rev() {
        let k = usize::from(pick[i][c]);
        choice[i] = k;
        c -= costs[i][k];
    }
    Some(choice)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Every candidate's cost in units, the capacity in units, and the rounding unit in bits (`None`
/// when the units are exact: the common divisor of whole-bit costs).
fn discretise(tensors: &[TensorPoints], budget_bits: f64) -> (Vec<Vec<usize>>, usize, Option<f64>) {
    let bits = |t: &TensorPoints, p: &Point| t.n as f64 * p.bits_per_value;
    let whole = tensors.iter().all(|t| {
        t.points
            .iter()
            .all(|p| (bits(t, p) - bits(t, p).round()).abs() < 1e-6 && bits(t, p) < 9e15)
    });
    if whole {
        let g = tensors
            .iter()
            .flat_map(|t| t.points.iter().map(move |p| bits(t, p).round() as u64))
            .fold(0, gcd)
            .max(1);
        let cap = (budget_bits + 1e-6).floor() as u64 / g;
        if cap as usize <= MAX_UNITS {
            let costs = tensors
                .iter()
                .map(|t| {
                    t.points
                        .iter()
                        .map(|p| (bits(t, p).round() as u64 / g) as usize)
                        .collect()
                })
                .collect();
            return (costs, cap as usize, None);
        }
    }
    let unit = budget_bits / RESOLUTION as f64;
    let costs = tensors
        .iter()
        .map(|t| {
            t.points
                .iter()
                .map(|p| (bits(t, p) / unit).round().max(0.0) as usize)
                .collect()
        })
        .collect();
    (costs, RESOLUTION, Some(unit))
}

/// The same candidate on every tensor (when it fits them all): a reference point of the Pareto
/// chart, (bits per value, weighted MSE).
pub fn uniform(tensors: &[TensorPoints], candidate: usize) -> Option<(f64, f64)> {
    let choice: Option<Vec<usize>> = tensors
        .iter()
        .map(|t| t.points.iter().position(|p| p.candidate == candidate))
        .collect();
    let (b, e, _) = totals(tensors, &choice?);
    Some((b, e))
}

/// (budget, bits per value, weighted MSE) of the optimal allocation at `steps` budgets from the
/// cheapest assignment to the dearest.
pub fn pareto(tensors: &[TensorPoints], steps: usize) -> Vec<(f64, f64, f64)> {
    let total_n: f64 = tensors.iter().map(|t| t.n as f64).sum();
    let ends = |pick: fn(f64, f64) -> f64, start: f64| {
        tensors
            .iter()
            .map(|t| t.n as f64 * t.points.iter().map(|p| p.bits_per_value).fold(start, pick))
            .sum::<f64>()
            / total_n
    };
    let (lo, hi) = (ends(f64::min, f64::INFINITY), ends(f64::max, 0.0));
    (0..steps.max(2))
        .filter_map(|i| {
            let b = lo + (hi - lo) * i as f64 / (steps.max(2) - 1) as f64;
            let a = allocate(tensors, b).ok()?;
            Some((b, a.bits_per_value, a.weighted_mse))
        })
        .collect()
}

/// A tensor left at its own precision, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    pub name: String,
    pub reason: String,
}

impl Kept {
    /// The tensors of a checkpoint's shards that were set aside, each with its shard's reason.
    pub fn of_shards(unusable: &[crate::io::shards::Unusable]) -> Vec<Self> {
        unusable
            .iter()
            .flat_map(crate::io::shards::Unusable::kept)
            .map(|(name, reason)| Self { name, reason })
            .collect()
    }
}

/// One tensor's chosen candidate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assigned {
    pub name: String,
    pub candidate: String,
    pub n: usize,
    pub bits_per_value: f64,
    pub mse: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub bits_per_value: f64,
    pub weighted_mse: f64,
    /// `null` in JSON when there is no error at all.
    pub sqnr_db: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UniformPoint {
    pub candidate: String,
    pub bits_per_value: f64,
    pub weighted_mse: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParetoPoint {
    pub budget: f64,
    pub bits_per_value: f64,
    pub weighted_mse: f64,
}

/// Everything `quantscope allocate --json` prints and the page's model view shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub budget: f64,
    pub candidates: Vec<String>,
    pub assignment: Vec<Assigned>,
    pub total: Totals,
    pub slack_bits_per_value: f64,
    pub kept: Vec<Kept>,
    pub uniform: Vec<UniformPoint>,
    pub pareto: Vec<ParetoPoint>,
    /// llama.cpp's `--tensor-type NAME=TYPE` for the tensors given a GGML type.
    pub tensor_types: Vec<String>,
    /// The assignment's error layer by layer ([`per_layer`]).
    pub layers: Vec<LayerError>,
    /// With importance weighting: which tensors' errors are weighted (their MSE, the totals
    /// and the SQNR are then the weighted ones of [`measure_weighted`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance: Option<ImportanceUse>,
    /// With a target size instead of a budget: the target, and what the allocation comes to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<SizeReport>,
}

/// Parses a candidate list (names as [`candidate`] knows them).
pub fn candidates(names: &[String]) -> Result<Vec<QuantizerConfig>, String> {
    if names.is_empty() {
        return Err("no candidates".into());
    }
    names
        .iter()
        .map(|n| {
            candidate(n).ok_or_else(|| {
                format!("unknown candidate {n} (int2-channel … int8-channel or a preset)")
            })
        })
        .collect()
}

/// One tensor's rate–distortion points under `configs` (those that fit its layout with a finite
/// error), or why it stays at its own precision (not 2-D, no candidate fits).
pub fn measure(
    dataset: &crate::Dataset,
    configs: &[QuantizerConfig],
) -> Result<TensorPoints, Kept> {
    let kept = |reason: String| Kept {
        name: dataset.name().to_string(),
        reason,
    };
    if dataset.shape().len() != 2 {
        return Err(kept(format!("shape {:?} is not 2-D", dataset.shape())));
    }
    let options = crate::AnalysisOptions {
        all_groups: false,
        ..crate::AnalysisOptions::default()
    };
    let points: Vec<Point> = configs
        .iter()
        .enumerate()
        .filter_map(|(k, c)| {
            let a = crate::analyze(dataset, c, &options).ok()?;
            (a.metrics.mse.is_finite() && a.metrics.bits_per_value.is_finite()).then_some(Point {
                candidate: k,
                bits_per_value: a.metrics.bits_per_value,
                mse: a.metrics.mse,
            })
        })
        .collect();
    if points.is_empty() {
        return Err(kept("no candidate fits its layout".into()));
    }
    let s = dataset.summary();
    Ok(TensorPoints {
        name: dataset.name().to_string(),
        n: dataset.len(),
        sum_sq: s.finite as f64 * (s.std * s.std + s.mean * s.mean),
        points,
    })
}

/// The allocation at `budget` of the measured `model` and what goes with it.
pub fn report(
    model: &[TensorPoints],
    kept: Vec<Kept>,
    names: &[String],
    configs: &[QuantizerConfig],
    budget: f64,
) -> Result<Report, AllocateError> {
    let a = allocate(model, budget)?;
    let name_of = |k: usize| names.get(k).cloned().unwrap_or_default();
    let assignment: Vec<Assigned> = model
        .iter()
        .zip(&a.choice)
        .map(|(t, &k)| {
            let p = t.points[k];
            Assigned {
                name: t.name.clone(),
                candidate: name_of(p.candidate),
                n: t.n,
                bits_per_value: p.bits_per_value,
                mse: p.mse,
            }
        })
        .collect();
    let uniform = (0..names.len())
        .filter_map(|k| {
            let (b, e) = uniform(model, k)?;
            Some(UniformPoint {
                candidate: name_of(k),
                bits_per_value: b,
                weighted_mse: e,
            })
        })
        .collect();
    let pareto = pareto(model, 16)
        .into_iter()
        .map(|(budget, b, e)| ParetoPoint {
            budget,
            bits_per_value: b,
            weighted_mse: e,
        })
        .collect();
    let tensor_types = model
        .iter()
        .zip(&a.choice)
        .filter_map(|(t, &k)| {
            let ty = configs.get(t.points[k].candidate)?.format.ggml_type()?;
            Some(format!(
                "--tensor-type {}={}",
                t.name,
                ty.name().to_lowercase()
            ))
        })
        .collect();
    let layers = per_layer(&assignment);
    Ok(Report {
        budget,
        candidates: names.to_vec(),
        assignment,
        total: Totals {
            bits_per_value: a.bits_per_value,
            weighted_mse: a.weighted_mse,
            sqnr_db: a.sqnr_db,
        },
        slack_bits_per_value: a.slack_bits_per_value,
        kept,
        uniform,
        pareto,
        tensor_types,
        layers,
        importance: None,
        size: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    fn model(seed: u64, tensors: usize, k: usize) -> Vec<TensorPoints> {
        let mut s = seed;
        (0..tensors)
            .map(|t| {
                let n = 64 + (lcg(&mut s) * 4000.0) as usize;
                let points = (0..k)
                    .map(|c| {
                        let bpv = 2.0 + c as f64 * 1.5 + lcg(&mut s);
                        // Error falls with bits, differently per tensor.
                        let mse = (1.0 + 10.0 * lcg(&mut s)) * (-0.6 * bpv).exp();
                        Point {
                            candidate: c,
                            bits_per_value: bpv,
                            mse,
                        }
                    })
                    .collect();
                TensorPoints {
                    name: format!("t{t}"),
                    n,
                    sum_sq: n as f64,
                    points,
                }
            })
            .collect()
    }

    /// Every assignment, the best whose bits fit `budget` bits per value.
    fn brute(tensors: &[TensorPoints], budget: f64) -> Option<f64> {
        let total_n: f64 = tensors.iter().map(|t| t.n as f64).sum();
        let k = tensors[0].points.len();
        let mut best: Option<f64> = None;
        for code in 0..k.pow(tensors.len() as u32) {
            let (mut c, mut bits, mut err) = (code, 0.0, 0.0);
            for t in tensors {
                let p = t.points[c % k];
                c /= k;
                bits += t.n as f64 * p.bits_per_value;
                err += t.n as f64 * p.mse;
            }
            let err = err / total_n;
            if bits <= budget * total_n + 1e-9 && best.is_none_or(|b| err < b) {
                best = Some(err);
            }
        }
        best
    }

    #[test]
    fn the_programme_is_optimal_against_brute_force() {
        for seed in 0..40u64 {
            let tensors = model(seed, 5, 4);
            for budget in [3.0, 3.8, 4.6, 5.5, 6.5, 8.0] {
                let got = allocate(&tensors, budget);
                let Some(want) = brute(&tensors, budget) else {
                    assert!(
                        matches!(got, Err(AllocateError::TooSmall { .. })),
                        "{seed} {budget}"
                    );
                    continue;
                };
                let a = got.unwrap_or_else(|e| panic!("{seed} {budget}: {e}"));
                // It fits the budget…
                assert!(
                    a.bits_per_value <= budget + 1e-12,
                    "{seed} {budget}: {}",
                    a.bits_per_value
                );
                // …and is no worse than the best assignment of a budget smaller by the slack.
                let tighter = brute(&tensors, budget - a.slack_bits_per_value);
                assert!(
                    a.weighted_mse >= want - 1e-12 * want,
                    "{seed} {budget}: beats brute force?"
                );
                if let Some(t) = tighter {
                    assert!(
                        a.weighted_mse <= t + 1e-12 * t,
                        "{seed} {budget}: {} > {t}",
                        a.weighted_mse
                    );
                }
            }
        }
    }

    #[test]
    fn exact_when_the_bits_are_whole_units() {
        // Whole bits (as real formats have): the programme counts in their common divisor, exactly.
        let tensors: Vec<TensorPoints> = (0..4)
            .map(|t| TensorPoints {
                name: format!("t{t}"),
                n: 5000,
                sum_sq: 5000.0,
                points: [2.0, 4.0, 8.0]
                    .iter()
                    .enumerate()
                    .map(|(c, &b)| Point {
                        candidate: c,
                        bits_per_value: b,
                        mse: (t as f64 + 1.0) * 4f64.powf(-b),
                    })
                    .collect(),
            })
            .collect();
        for budget in [2.0, 2.5, 3.0, 4.0, 4.5, 5.0, 8.0] {
            let a = allocate(&tensors, budget).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(a.slack_bits_per_value, 0.0);
            let want = brute(&tensors, budget).unwrap_or(f64::NAN);
            assert!(
                (a.weighted_mse - want).abs() <= 1e-15,
                "{budget}: {} vs {want}",
                a.weighted_mse
            );
        }
        // The most sensitive tensor (the last) gets at least the bits of the least sensitive.
        let a = allocate(&tensors, 4.0).unwrap_or_else(|e| panic!("{e}"));
        assert!(a.choice[3] >= a.choice[0], "{:?}", a.choice);
    }

    #[test]
    fn budgets_and_candidates_are_checked() {
        let tensors = model(1, 3, 3);
        assert!(matches!(
            allocate(&tensors, 1.0),
            Err(AllocateError::TooSmall { .. })
        ));
        assert!(matches!(
            allocate(&tensors, f64::NAN),
            Err(AllocateError::Budget(_))
        ));
        assert!(matches!(
            allocate(&tensors, -2.0),
            Err(AllocateError::Budget(_))
        ));
        assert!(matches!(allocate(&[], 4.0), Err(AllocateError::Nothing)));
        let c = candidate("int3-channel").unwrap_or_else(|| panic!("int3-channel"));
        assert_eq!(
            (c.bits, c.granularity),
            (3, Granularity::Channel { axis: 0 })
        );
        assert!(candidate("int9-channel").is_none() && candidate("int1-channel").is_none());
        assert!(DEFAULT_CANDIDATES.iter().all(|n| candidate(n).is_some()));
        // The Pareto points never lose error as bits grow.
        let p = pareto(&tensors, 12);
        assert!(p.windows(2).all(|w| w[1].2 <= w[0].2 + 1e-15));
        assert!(uniform(&tensors, 0).is_some());
    }
}
