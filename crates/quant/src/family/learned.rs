//! Levels learned from the data by k-means: K scalar levels per tensor, channel or group (the
//! exact 1-D k-means over the sorted values or a bucket summary of them), or K centroids of
//! D consecutive values per tensor (a vector codebook, D > 1: one code stands for D values).

use super::{planned_both, planned_codes, planned_prepare, planned_share, CodeLayout, FamilyOps};
use crate::affine::AffineParams;
use crate::analysis::{
    merge_one, Analysis, AnalysisOptions, AnalyzeError, Block, GroupParams, PartialAnalysis,
    Quantized, Share, VectorView,
};
use crate::analyze::histogram_range;
use crate::codebook::{LevelTable, Tie};
use crate::config::{ConfigError, Granularity, QuantizerConfig};
use crate::dataset::Dataset;
use crate::format::Element;
use crate::formula::Formulas;
use crate::granularity::{GroupLayout, LayoutError};
use crate::histogram::Histogram;
use crate::inspect::BitRole;
use crate::kmeans;
use crate::metrics::ErrorAccumulator;
use crate::plan::{group_values, layout_for, Plan, Prepared};
use crate::pq::{self, TrainBudget, VectorCodebook};
use crate::text::number;

pub(super) struct Learned;

/// A vector codebook: sub-vectors of more than one value.
fn vectors(c: &QuantizerConfig) -> bool {
    c.vector_dim > 1
}

impl FamilyOps for Learned {
    fn check(&self, c: &QuantizerConfig) -> Result<(), ConfigError> {
        if !(2..=65536).contains(&c.levels) {
            return Err(ConfigError::Levels(c.levels));
        }
        if !(1..=64).contains(&c.vector_dim) {
            return Err(ConfigError::VectorDim(c.vector_dim));
        }
        if vectors(c) && c.granularity != Granularity::Tensor {
            return Err(ConfigError::VectorGranularity);
        }
        Ok(())
    }

    /// A codebook is trained on every value it codes: no share of it is shorter.
    fn runs_whole(&self, _config: &QuantizerConfig) -> bool {
        true
    }

    fn plan(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
        interactive: bool,
        groups: Option<std::ops::Range<usize>>,
    ) -> Result<Plan, AnalyzeError> {
        if vectors(config) {
            return Err(AnalyzeError::NoPlan(config.format));
        }
        let values = dataset.values();
        let layout = layout_for(config, dataset.shape())?;
        let groups = groups.unwrap_or(0..layout.n_groups);
        let first = groups.start;
        let k = config.levels as usize;
        let group_data = group_values(values, &layout, groups);
        let max_points = kmeans_points(k, interactive);
        let mut elements = Vec::with_capacity(group_data.len());
        let mut all_exact = true;
        for g in &group_data {
            let points = kmeans::summarize(g, max_points);
            all_exact &= points.exact;
            let (levels, _) = kmeans::optimal_levels(&points, k);
            elements.push(Element::Table(LevelTable::indexed(levels, Tie::Lower)));
        }
        let mut notes = Vec::new();
        if !all_exact {
            // The bound, not the count found: the note reads the same in every share.
            notes.push(format!(
                "The codebook is optimal over a summary of the data in at most {max_points} \
                 buckets{}",
                if interactive {
                    " (kept small so the page stays live); `quantscope quantize` searches a finer one"
                } else {
                    ", not over every distinct value"
                }
            ));
        }
        let blocks = elements
            .iter()
            .enumerate()
            .map(|(g, e)| {
                let levels = e.levels();
                let clip = (levels[0], levels[levels.len() - 1]);
                Block::unscaled(clip, g)
            })
            .collect();
        let n = values.len().max(1) as f64;
        Ok(Plan {
            elements,
            first,
            blocks,
            bits_per_value: f64::from(config.levels).log2()
                + layout.n_groups as f64 * f64::from(config.levels) * 32.0 / n,
            layout,
            notes,
            coded: None,
        })
    }

    fn prepare(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
        interactive: bool,
    ) -> Result<Prepared, AnalyzeError> {
        if vectors(config) {
            let (book, dim, notes) = train_vectors(dataset, config, interactive)?;
            return Ok(Prepared::Vectors { book, dim, notes });
        }
        planned_prepare(self, dataset, config, interactive)
    }

    /// A vector codebook is trained on everything, alike in every share.
    fn analyze_share(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
        options: &AnalysisOptions,
        share: Share,
    ) -> Result<PartialAnalysis, AnalyzeError> {
        if !vectors(config) {
            return planned_share(self, dataset, config, options, share);
        }
        let (book, dim, notes) = train_vectors(dataset, config, options.interactive)?;
        Ok(analyze_vectors(
            dataset, config, options, share, &book, dim, notes,
        ))
    }

    fn analyze_and_quantize(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
        options: &AnalysisOptions,
    ) -> Result<(Analysis, Quantized), AnalyzeError> {
        if !vectors(config) {
            return planned_both(self, dataset, config, options);
        }
        let (book, dim, notes) = train_vectors(dataset, config, options.interactive)?;
        let analysis = merge_one(analyze_vectors(
            dataset,
            config,
            options,
            Share::WHOLE,
            &book,
            dim,
            notes,
        ));
        Ok((analysis, quantize_vectors(dataset, &book, dim)))
    }

    fn quantize(
        &self,
        dataset: &Dataset,
        config: &QuantizerConfig,
    ) -> Result<Quantized, AnalyzeError> {
        if !vectors(config) {
            return planned_codes(self, dataset, config);
        }
        let (book, dim, _) = train_vectors(dataset, config, false)?;
        Ok(quantize_vectors(dataset, &book, dim))
    }

    fn formulas(&self, a: &Analysis) -> Formulas {
        let (k, d) = (a.config.levels, a.config.vector_dim);
        if d > 1 {
            return Formulas::plain(vec![
                format!("K = {k} centroids in D = {d} dimensions, learned from the data's sub-vectors of {d} consecutive values (k-means: k-means++ seeding, then Lloyd rounds)"),
                "v̂ = the centroid nearest to the sub-vector v (squared distance); one code stands for all D values.".into(),
                format!("bits per value = log2 K / D = {} plus the codebook: K · D f32 numbers spread over all values", number(f64::from(k).log2() / d as f64, 6)),
            ]);
        }
        Formulas::plain(vec![
            format!("K = {k} levels learned from the data (1-D k-means: the partition of the sorted values with the least squared error)"),
            "r̂ = the nearest learned level; the codebook itself is stored next to the codes.".into(),
        ])
    }

    /// `None` for vector codebooks: one code stands for D values.
    fn code_layout(&self, a: &Analysis) -> Option<CodeLayout> {
        if vectors(&a.config) {
            return None;
        }
        let width = (a.config.levels as f64).log2().ceil() as u32;
        Some(CodeLayout {
            element: Element::Table(LevelTable::indexed(a.levels.clone(), Tie::Lower)),
            label: format!("index into {} learned levels", a.levels.len()),
            fields: vec![(BitRole::Index, width.max(1))],
        })
    }
}

/// Every sub-vector's code (its centroid) and reconstruction; non-finite coordinates are kept
/// as they are.
fn quantize_vectors(dataset: &Dataset, book: &VectorCodebook, dim: usize) -> Quantized {
    let values = dataset.values();
    let mut codes = vec![0i32; values.len()];
    let mut dequantized = values.to_vec();
    let search = book.searcher();
    for (i, v) in values.chunks_exact(dim).enumerate() {
        let (k, clean) = nearest_finite(&search, v);
        for d in 0..dim {
            codes[i * dim + d] = k as i32;
            if clean[d] {
                dequantized[i * dim + d] = book.centroid(k)[d];
            }
        }
    }
    Quantized {
        codes,
        dequantized,
        groups: Vec::new(),
        code_values: Vec::new(),
        code_width: 0,
    }
}

/// Points the exact 1-D k-means runs over: all distinct values when there are few enough,
/// otherwise a bucket summary (interactive: coarser still).
fn kmeans_points(k: usize, interactive: bool) -> usize {
    if interactive {
        4096
    } else {
        (1usize << 17).min((1usize << 25) / k.max(1)).max(k + 1)
    }
}

/// Trains the vector codebook of `config` on `dataset`'s sub-vectors (those with a non-finite
/// coordinate are left out of training).
fn train_vectors(
    dataset: &Dataset,
    config: &QuantizerConfig,
    interactive: bool,
) -> Result<(VectorCodebook, usize, Vec<String>), AnalyzeError> {
    let dim = config.vector_dim;
    let last = dataset.shape().last().copied().unwrap_or(dataset.len());
    if last % dim != 0 {
        return Err(AnalyzeError::Layout(LayoutError::VectorDim { dim, last }));
    }
    let clean: Vec<f32> = dataset
        .values()
        .chunks_exact(dim)
        .filter(|v| v.iter().all(|x| x.is_finite()))
        .flatten()
        .copied()
        .collect();
    let budget = if interactive {
        TrainBudget::INTERACTIVE
    } else {
        TrainBudget::FULL
    };
    let book = pq::train(&clean, dim, config.levels as usize, config.seed, budget);
    let mut notes = Vec::new();
    let total = clean.len() / dim;
    if book.trained_on < total {
        notes.push(format!(
            "Centroids trained on a random sample of {} of the {} sub-vectors{}",
            book.trained_on,
            total,
            if interactive {
                " to keep the page live; `quantscope quantize` trains on more and polishes on all"
            } else {
                ""
            }
        ));
    }
    Ok((book, dim, notes))
}

/// The nearest centroid of `v`, measuring only its finite coordinates.
fn nearest_finite(search: &pq::Searcher, v: &[f32]) -> (usize, Vec<bool>) {
    let clean: Vec<bool> = v.iter().map(|x| x.is_finite()).collect();
    if clean.iter().all(|&c| c) {
        return (search.nearest(v).0, clean);
    }
    let masked: Vec<f32> = v
        .iter()
        .map(|&x| if x.is_finite() { x } else { 0.0 })
        .collect();
    (search.nearest(&masked).0, clean)
}

fn analyze_vectors(
    dataset: &Dataset,
    config: &QuantizerConfig,
    options: &AnalysisOptions,
    share: Share,
    book: &VectorCodebook,
    dim: usize,
    notes: Vec<String>,
) -> PartialAnalysis {
    /// Distance evaluations an interactive analysis may spend on coding.
    const INTERACTIVE_DISTANCES: usize = 1 << 24;
    let summary = *dataset.summary();
    let mut levels: Vec<f32> = book.centroids.clone();
    levels.sort_by(f32::total_cmp);
    levels.dedup();
    let rep = match (levels.first(), levels.last()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => (summary.min, summary.max),
    };
    let (lo, hi) = histogram_range(&summary, (summary.min, summary.max), rep);
    // Sub-vectors never straddle shares: the split points are multiples of D.
    let layout = GroupLayout::new(Granularity::Tensor, dataset.shape()).unwrap_or(GroupLayout {
        chunk_len: dataset.len().max(1),
        n_groups: 1,
        n: dataset.len(),
    });
    let span = share.span(&layout, dim);
    let input_hist = dataset.histogram_of(span.clone(), lo, hi, options.bins);
    let (mut output_hist, binner) = Histogram::empty(lo, hi, options.bins);
    let mut counts = vec![0u64; book.k()];
    let mut acc = ErrorAccumulator::default();
    let search = book.searcher();
    // Coding every sub-vector costs K distance evaluations each; interactively, measure an
    // evenly spaced sample instead and say so.
    let subs = dataset.len() / dim;
    let stride = if options.interactive {
        (subs.saturating_mul(book.k()) / INTERACTIVE_DISTANCES).max(1)
    } else {
        1
    };
    let mut notes = notes;
    if stride > 1 {
        notes.push(format!(
            "Errors measured on every {stride}th sub-vector ({} of {subs}) to keep the page live; \
             `quantscope quantize` measures all",
            subs.div_ceil(stride)
        ));
    }
    // This share's sub-vectors i with i ≡ 0 (mod stride), as in a single pass.
    let (first, end) = (span.start / dim, span.end / dim);
    let start = first.div_ceil(stride) * stride;
    let values = dataset.values();
    for i in (start..end).step_by(stride) {
        let v = &values[i * dim..(i + 1) * dim];
        let (k, clean) = nearest_finite(&search, v);
        counts[k] += 1;
        for (d, &r) in v.iter().enumerate() {
            if clean[d] {
                let r_hat = book.centroid(k)[d];
                acc.add(r, r_hat, false);
                output_hist.counts[binner.bin(r_hat)] += 1;
            }
        }
    }
    let n = dataset.len().max(1) as f64;
    let bits = f64::from(config.levels).log2() / dim as f64
        + f64::from(config.levels) * dim as f64 * 32.0 / n;
    let vector = (dim == 2 && share.index == 0).then(|| {
        let subs = dataset.len() / 2;
        let step = subs.div_ceil(2000).max(1);
        VectorView {
            centroids: book.centroids.chunks(2).map(|c| [c[0], c[1]]).collect(),
            sample: dataset
                .values()
                .chunks_exact(2)
                .step_by(step)
                .filter(|v| v[0].is_finite() && v[1].is_finite())
                .map(|v| [v[0], v[1]])
                .collect(),
        }
    });
    let display = GroupParams {
        clip: rep,
        params: AffineParams {
            scale: 1.0,
            zero_point: 0,
            qmin: 0,
            qmax: book.k() as i32 - 1,
        },
        offset: 0.0,
    };
    PartialAnalysis {
        share,
        config: config.clone(),
        n_groups: 1,
        display_group: 0,
        display,
        levels,
        thresholds: Vec::new(),
        owned_groups: if options.all_groups && share.index == 0 {
            vec![display]
        } else {
            Vec::new()
        },
        input_hist,
        output_hist,
        acc,
        code_counts: counts,
        bits_per_value: bits,
        summary,
        notes,
        floored_groups: 0,
        levels_available: book.k(),
        twin_codes: Vec::new(),
        vector,
        display_block: None,
        ggml_block: None,
        group_hist: None,
    }
}
