//! Optimal 1-D k-means: the codebook of K levels with the least squared error for this data.
//!
//! ```text
//! Given points x_1 ≤ … ≤ x_n (with weights), find K levels c_k minimising Σ_i min_k (x_i − c_k)².
//! An optimal clustering is a partition of the sorted points into K contiguous runs, each level the
//! mean of its run, so with D[k][i] = least cost of the first i points in k runs:
//!   D[k][i] = min_{j ≤ i} D[k−1][j−1] + cost(j, i),   cost(j, i) = Σ w x² − (Σ w x)² / Σ w  over j..i
//! cost(j, i) is O(1) from prefix sums. The optimal split j*(i) is monotone in i, so each row is
//! filled by divide and conquer in O(n log n): O(K · n log n) in all.
//! ```
//! Sources: Wang & Song 2011 (Ckmeans.1d.dp); Grønlund et al. 2017, "Fast exact k-means,
//! k-medians and Bregman divergence clustering in 1D" (monotone split points).
//!
//! The points are the data's distinct values. A tensor with many distinct f32 values is first
//! summarised into buckets (see [`summarize`]): the costs stay exact sums, only splits inside a
//! bucket are not tried. bf16, f16 and 8-bit data have few enough distinct values that the
//! summary is exact.

use serde::{Deserialize, Serialize};

/// A sorted, weighted summary of the data: bucket i holds w_i values summing to s1_i with squares
/// summing to s2_i.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Points {
    pub w: Vec<f64>,
    pub s1: Vec<f64>,
    pub s2: Vec<f64>,
    /// Every bucket holds a single distinct value (the optimum found is the true optimum).
    pub exact: bool,
}

/// How the codebook was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodebookFit {
    /// Distinct values or buckets the search ran over.
    pub points: usize,
    /// Whether the result is the exact optimum over the given values.
    pub exact: bool,
}

/// Values at or below this count are sorted and used exactly.
const SORT_LIMIT: usize = 1 << 18;
/// Bucketing keeps at most 2^20 buckets: the top 20 bits of the order-preserving key.
const MIN_SHIFT: u32 = 12;

/// Maps f32 to u32 so that the integer order is the float order (−0 is folded into +0 first).
#[inline]
fn order_key(x: f32) -> u32 {
    let b = (x + 0.0).to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// Summarises the finite `values` into at most `max_points` sorted buckets.
///
/// Up to 2^18 values are sorted and kept exactly. Larger inputs are bucketed by the top bits of
/// an order-preserving key: when every value has at least 12 trailing zero bits (bf16, f16, FP8
/// data) each bucket is one distinct value; otherwise a bucket spans a relative width of 2^−11.
/// If more than `max_points` buckets are occupied, neighbours are merged (approximate).
pub fn summarize(values: &[f32], max_points: usize) -> Points {
    let max_points = max_points.max(1);
    let finite = values.iter().filter(|v| v.is_finite()).count();
    if finite <= SORT_LIMIT {
        let mut v: Vec<f32> = values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .map(|v| v + 0.0)
            .collect();
        v.sort_unstable_by(f32::total_cmp);
        let mut p = Points {
            exact: true,
            ..Default::default()
        };
        for x in v {
            let x64 = f64::from(x);
            if p.s1.last().is_some_and(|_| p.last_value() == x64) {
                let k = p.w.len() - 1;
                p.w[k] += 1.0;
                p.s1[k] += x64;
                p.s2[k] += x64 * x64;
            } else {
                p.w.push(1.0);
                p.s1.push(x64);
                p.s2.push(x64 * x64);
            }
        }
        return p.coarsen(max_points);
    }
    let low_bits = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0u32, |acc, v| acc | (v + 0.0).to_bits())
        & 0x7FFF_FFFF;
    let trailing = low_bits.trailing_zeros().min(31);
    // No finer buckets than 16 per point kept: coarser summaries need fewer buckets.
    let wanted_bits = max_points
        .saturating_mul(16)
        .min(1 << 31)
        .next_power_of_two()
        .trailing_zeros();
    let shift = trailing
        .max(MIN_SHIFT)
        .max(32u32.saturating_sub(wanted_bits))
        .min(31);
    let n_buckets = 1usize << (32 - shift);
    let mut w = vec![0u32; n_buckets];
    let mut s1 = vec![0f64; n_buckets];
    let mut s2 = vec![0f64; n_buckets];
    for &x in values.iter().filter(|v| v.is_finite()) {
        let b = (order_key(x) >> shift) as usize;
        let x = f64::from(x);
        w[b] += 1;
        s1[b] += x;
        s2[b] += x * x;
    }
    let mut p = Points {
        exact: trailing >= shift,
        ..Default::default()
    };
    for b in (0..n_buckets).filter(|&b| w[b] > 0) {
        p.w.push(f64::from(w[b]));
        p.s1.push(s1[b]);
        p.s2.push(s2[b]);
    }
    p.coarsen(max_points)
}

impl Points {
    fn last_value(&self) -> f64 {
        match (self.s1.last(), self.w.last()) {
            (Some(s), Some(w)) => s / w,
            _ => f64::NAN,
        }
    }

    pub fn len(&self) -> usize {
        self.w.len()
    }

    pub fn is_empty(&self) -> bool {
        self.w.is_empty()
    }

    /// Merges runs of neighbouring buckets until at most `max_points` remain.
    fn coarsen(mut self, max_points: usize) -> Self {
        let n = self.len();
        if n <= max_points {
            return self;
        }
        let run = n.div_ceil(max_points);
        let merge = |v: &[f64]| -> Vec<f64> { v.chunks(run).map(|c| c.iter().sum()).collect() };
        self.w = merge(&self.w);
        self.s1 = merge(&self.s1);
        self.s2 = merge(&self.s2);
        self.exact = false;
        self
    }
}

/// The optimal codebook of at most `k` levels for `points` (ascending, distinct). With no more
/// points than levels, every point is a level. Also returns the optimal total squared error.
pub fn optimal_levels(points: &Points, k: usize) -> (Vec<f32>, f64) {
    let n = points.len();
    if n == 0 {
        return (vec![0.0], 0.0);
    }
    if n <= k {
        let levels = (0..n)
            .map(|i| (points.s1[i] / points.w[i]) as f32)
            .collect();
        let err: f64 = (0..n).map(|i| cost_of(points, i, i)).sum();
        return (dedup(levels), err.max(0.0));
    }
    let prefix = Prefix::new(points);
    // prev[i]: least cost of points 0..=i in (row) runs; split[row][i]: first index of the last run.
    let mut prev: Vec<f64> = (0..n).map(|i| prefix.cost(0, i)).collect();
    let mut split = vec![vec![0u32; n]; k];
    for (row, split_row) in split.iter_mut().enumerate().skip(1) {
        let mut cur = vec![f64::INFINITY; n];
        // With row + 1 runs, point i needs i ≥ row.
        fill_row(&prefix, &prev, &mut cur, split_row, row, n - 1, row, n - 1);
        prev = cur;
    }
    let mut levels = Vec::with_capacity(k);
    let mut end = n - 1;
    for row in (0..k).rev() {
        let start = if row == 0 {
            0
        } else {
            split[row][end] as usize
        };
        levels.push(prefix.mean(start, end) as f32);
        if start == 0 {
            break;
        }
        end = start - 1;
    }
    levels.reverse();
    (dedup(levels), prev[n - 1].max(0.0))
}

/// Fills cur[i] for i in lo..=hi, knowing the best split lies in opt_lo..=opt_hi.
#[allow(clippy::too_many_arguments)]
fn fill_row(
    prefix: &Prefix,
    prev: &[f64],
    cur: &mut [f64],
    split: &mut [u32],
    lo: usize,
    hi: usize,
    opt_lo: usize,
    opt_hi: usize,
) {
    // An explicit stack instead of recursion (depth log n either way, but no stack limits).
    let mut stack = vec![(lo, hi, opt_lo, opt_hi)];
    while let Some((lo, hi, opt_lo, opt_hi)) = stack.pop() {
        if lo > hi {
            continue;
        }
        let mid = lo + (hi - lo) / 2;
        let mut best = (f64::INFINITY, opt_lo);
        // The last run is j..=mid, j ≥ 1 (the earlier runs need at least one point).
        for j in opt_lo.max(1)..=opt_hi.min(mid) {
            let c = prev[j - 1] + prefix.cost(j, mid);
            if c < best.0 {
                best = (c, j);
            }
        }
        cur[mid] = best.0;
        split[mid] = best.1 as u32;
        if mid > lo {
            stack.push((lo, mid - 1, opt_lo, best.1));
        }
        stack.push((mid + 1, hi, best.1, opt_hi));
    }
}

fn cost_of(points: &Points, i: usize, j: usize) -> f64 {
    Prefix::new(&Points {
        w: points.w[i..=j].to_vec(),
        s1: points.s1[i..=j].to_vec(),
        s2: points.s2[i..=j].to_vec(),
        exact: points.exact,
    })
    .cost(0, j - i)
}

fn dedup(mut levels: Vec<f32>) -> Vec<f32> {
    levels.sort_by(f32::total_cmp);
    levels.dedup();
    levels
}

/// Prefix sums of weights, centred sums and centred squares (centring on the overall mean keeps
/// the cost's subtraction from cancelling catastrophically).
struct Prefix {
    w: Vec<f64>,
    s1: Vec<f64>,
    s2: Vec<f64>,
    centre: f64,
}

impl Prefix {
    fn new(p: &Points) -> Self {
        let total_w: f64 = p.w.iter().sum();
        let centre = p.s1.iter().sum::<f64>() / total_w.max(1.0);
        let n = p.len();
        let (mut w, mut s1, mut s2) = (vec![0.0; n + 1], vec![0.0; n + 1], vec![0.0; n + 1]);
        for i in 0..n {
            // Σ (x − c) = s1 − w c;  Σ (x − c)² = s2 − 2 c s1 + w c²
            let c1 = p.s1[i] - p.w[i] * centre;
            let c2 = (p.s2[i] - 2.0 * centre * p.s1[i] + p.w[i] * centre * centre).max(0.0);
            w[i + 1] = w[i] + p.w[i];
            s1[i + 1] = s1[i] + c1;
            s2[i + 1] = s2[i] + c2;
        }
        Self { w, s1, s2, centre }
    }

    /// Squared error of points i..=j around their mean.
    #[inline]
    fn cost(&self, i: usize, j: usize) -> f64 {
        let w = self.w[j + 1] - self.w[i];
        let s1 = self.s1[j + 1] - self.s1[i];
        let s2 = self.s2[j + 1] - self.s2[i];
        (s2 - s1 * s1 / w).max(0.0)
    }

    fn mean(&self, i: usize, j: usize) -> f64 {
        (self.s1[j + 1] - self.s1[i]) / (self.w[j + 1] - self.w[i]) + self.centre
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Least squared error over every partition of sorted `x` into at most `k` contiguous runs.
    fn brute_force(x: &[f64], k: usize) -> f64 {
        let n = x.len();
        let run_cost = |a: usize, b: usize| {
            let s = &x[a..b];
            let m = s.iter().sum::<f64>() / s.len() as f64;
            s.iter().map(|v| (v - m) * (v - m)).sum::<f64>()
        };
        // Each of the n − 1 gaps is a cut or not.
        let mut best = f64::INFINITY;
        for mask in 0u32..(1 << (n - 1)) {
            if mask.count_ones() as usize + 1 > k {
                continue;
            }
            let (mut start, mut total) = (0, 0.0);
            for gap in 0..n - 1 {
                if mask & (1 << gap) != 0 {
                    total += run_cost(start, gap + 1);
                    start = gap + 1;
                }
            }
            total += run_cost(start, n);
            best = best.min(total);
        }
        best
    }

    fn sq_error(values: &[f32], levels: &[f32]) -> f64 {
        values
            .iter()
            .map(|&v| {
                levels
                    .iter()
                    .map(|&l| (f64::from(v) - f64::from(l)).powi(2))
                    .fold(f64::INFINITY, f64::min)
            })
            .sum()
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn matches_brute_force_over_all_partitions() {
        let mut state = 12345u64;
        for trial in 0..60 {
            let n = 3 + trial % 10;
            let values: Vec<f32> = (0..n)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 8.0
                })
                .collect();
            let mut sorted: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
            sorted.sort_by(f64::total_cmp);
            for k in 1..=4 {
                let (levels, err) = optimal_levels(&summarize(&values, usize::MAX), k);
                let want = brute_force(&sorted, k);
                assert!(
                    (err - want).abs() <= 1e-9 * (1.0 + want),
                    "n {n} k {k}: {err} vs {want}"
                );
                // The levels really give that error.
                let got = sq_error(&values, &levels);
                assert!((got - want).abs() <= 1e-5 * (1.0 + want), "{got} vs {want}");
                assert!(levels.len() <= k);
            }
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn two_clear_clusters() {
        let v = [1.0f32, 1.2, 0.8, 10.0, 10.5, 9.5, f32::NAN];
        let (levels, err) = optimal_levels(&summarize(&v, usize::MAX), 2);
        assert_eq!(levels, vec![1.0, 10.0]);
        assert!((err - (0.04 + 0.04 + 0.25 + 0.25)).abs() < 1e-6, "{err}");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn bf16_data_summarises_to_its_distinct_values() {
        // 300,000 values on a bf16 grid (low 16 bits zero): bucketed, yet exact.
        let v: Vec<f32> = (0..300_000)
            .map(|i| half::bf16::from_f32(((i % 977) as f32 - 488.0) * 0.013).to_f32())
            .collect();
        let p = summarize(&v, usize::MAX);
        assert!(p.exact);
        let mut distinct: Vec<f32> = v.iter().map(|x| x + 0.0).collect();
        distinct.sort_by(f32::total_cmp);
        distinct.dedup();
        assert_eq!(p.len(), distinct.len());
        assert_eq!(p.w.iter().sum::<f64>(), 300_000.0);
        // Ascending order is kept across the sign.
        let means: Vec<f64> = (0..p.len()).map(|i| p.s1[i] / p.w[i]).collect();
        assert!(means.windows(2).all(|w| w[0] < w[1]));
        let coarse = summarize(&v, 100);
        assert!(!coarse.exact && coarse.len() <= 100);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn constant_and_empty_data() {
        let (levels, err) = optimal_levels(&summarize(&[3.0; 10], usize::MAX), 4);
        assert_eq!((levels, err), (vec![3.0], 0.0));
        let (levels, _) = optimal_levels(&summarize(&[f32::NAN], usize::MAX), 4);
        assert_eq!(levels, vec![0.0]);
    }
}
