//! Vector quantization of sub-vectors: one codebook of K centroids in D dimensions.
//!
//! ```text
//! The values are cut into consecutive sub-vectors v_i of length D (along the last axis).
//! Training (seeded, reproducible):
//!   sample   at most 256·K sub-vectors at random (faiss' `max_points_per_centroid`)
//!   init     k-means++: first centroid uniform, each next one drawn with probability ∝ the
//!            squared distance to the nearest centroid so far (Arthur & Vassilvitskii 2007)
//!   Lloyd    assign each sample to its nearest centroid, move each centroid to its samples' mean;
//!            repeat until no assignment changes or `iterations` rounds
//!   polish   one Lloyd round over all sub-vectors when they outnumber the sample
//! Encoding:  code(v) = argmin_k ‖v − c_k‖²,  v̂ = c_code
//! ```
//! With D = 1 this is plain (not optimal) k-means; [`crate::kmeans`] gives the exact 1-D optimum.
//! faiss' `ProductQuantizer(D, 1, log2 K)` trains the same model on the same sub-vectors.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Training budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainBudget {
    /// Sub-vectors sampled per centroid for training.
    pub points_per_centroid: usize,
    /// Lloyd rounds at most.
    pub iterations: usize,
    /// Finish with one Lloyd round over every sub-vector.
    pub polish: bool,
    /// Sample at least this many sub-vectors (small K would otherwise train on very few).
    pub min_sample: usize,
}

impl TrainBudget {
    /// faiss' defaults (256 points per centroid, 25 rounds) plus the full-data polish.
    pub const FULL: Self = Self {
        points_per_centroid: 256,
        iterations: 25,
        polish: true,
        min_sample: 0,
    };
    /// A budget for in-page use that keeps training to tens of milliseconds.
    pub const INTERACTIVE: Self = Self {
        points_per_centroid: 32,
        iterations: 10,
        polish: false,
        min_sample: 8192,
    };
}

/// A trained codebook.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorCodebook {
    pub dim: usize,
    /// K · D centroid coordinates, row-major.
    pub centroids: Vec<f32>,
    /// Sub-vectors the centroids were trained on.
    pub trained_on: usize,
}

impl VectorCodebook {
    pub fn k(&self) -> usize {
        self.centroids.len() / self.dim.max(1)
    }

    pub fn centroid(&self, k: usize) -> &[f32] {
        &self.centroids[k * self.dim..(k + 1) * self.dim]
    }

    /// A search structure for many [`Searcher::nearest`] queries.
    pub fn searcher(&self) -> Searcher {
        Searcher::new(self)
    }
}

/// Lanes of the centroid search (centroids are padded to a multiple).
const W: usize = 8;

/// Nearest-centroid search laid out for SIMD: coordinates stored per dimension (structure of
/// arrays), so each step compares one query coordinate against W centroids at once, with W
/// running minima. Of two centroids at exactly the same distance, the lower index wins.
///
/// Distances are computed on coordinates scaled by a power of two, `norm`, chosen so that the
/// largest centroid coordinate is near 1 when it is beyond 2^±60: squared distances of values near
/// f32::MAX would overflow to +∞, and those of subnormal values underflow to 0, and every
/// centroid would tie. Scaling by a power of two is exact, so the order of distances is the true
/// one. Ordinary data gets `norm` = 1.
pub struct Searcher {
    dim: usize,
    /// dim rows of `padded` coordinates each (times `norm`).
    coords: Vec<f32>,
    padded: usize,
    norm: f32,
}

impl Searcher {
    fn new(book: &VectorCodebook) -> Self {
        let (dim, k) = (book.dim, book.k());
        let padded = k.div_ceil(W) * W;
        let amax = book
            .centroids
            .iter()
            .filter(|c| c.is_finite())
            .fold(0f32, |m, c| m.max(c.abs()));
        let e = if amax > 0.0 {
            crate::block::floor_log2(amax)
        } else {
            0
        };
        let norm = if e.abs() > 60 {
            2f32.powi((-e).clamp(-126, 126))
        } else {
            1.0
        };
        // Padding centroids sit at +∞ distance.
        let mut coords = vec![f32::INFINITY; dim * padded];
        for c in 0..k {
            for d in 0..dim {
                coords[d * padded + c] = book.centroids[c * dim + d] * norm;
            }
        }
        Self {
            dim,
            coords,
            padded,
            norm,
        }
    }

    /// Index of the nearest centroid to `v` and the squared distance.
    #[inline]
    pub fn nearest(&self, v: &[f32]) -> (usize, f32) {
        let mut best_d = [f32::INFINITY; W];
        let mut best_i = [0u32; W];
        for block in 0..self.padded / W {
            let mut dist = [0f32; W];
            for (d, &x) in v.iter().enumerate().take(self.dim) {
                let row = &self.coords[d * self.padded + block * W..][..W];
                let x = x * self.norm;
                for l in 0..W {
                    let t = row[l] - x;
                    dist[l] += t * t;
                }
            }
            for l in 0..W {
                let better = dist[l] < best_d[l];
                best_d[l] = if better { dist[l] } else { best_d[l] };
                best_i[l] = if better {
                    (block * W + l) as u32
                } else {
                    best_i[l]
                };
            }
        }
        let mut best = (0usize, f32::INFINITY);
        for l in 0..W {
            if best_d[l] < best.1 || (best_d[l] == best.1 && (best_i[l] as usize) < best.0) {
                best = (best_i[l] as usize, best_d[l]);
            }
        }
        best
    }
}

/// Trains K centroids on `vectors` (n · dim values, finite). K larger than the number of
/// vectors gives one centroid per vector.
pub fn train(
    vectors: &[f32],
    dim: usize,
    k: usize,
    seed: u64,
    budget: TrainBudget,
) -> VectorCodebook {
    let n = vectors.len() / dim.max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dim = dim.max(1);
    if n == 0 {
        return VectorCodebook {
            dim,
            centroids: vec![0.0; dim],
            trained_on: 0,
        };
    }
    let k = k.clamp(1, n);
    let cap = budget
        .points_per_centroid
        .saturating_mul(k)
        .max(budget.min_sample)
        .max(k);
    let sample: Vec<f32> = if n > cap {
        // A uniform sample without replacement: partial Fisher–Yates over the indices.
        let mut idx: Vec<u32> = (0..n as u32).collect();
        for i in 0..cap {
            let j = rng.random_range(i..n);
            idx.swap(i, j);
        }
        let mut chosen = idx[..cap].to_vec();
        chosen.sort_unstable();
        chosen
            .iter()
            .flat_map(|&i| &vectors[i as usize * dim..(i as usize + 1) * dim])
            .copied()
            .collect()
    } else {
        vectors[..n * dim].to_vec()
    };
    let m = sample.len() / dim;
    let mut book = VectorCodebook {
        dim,
        centroids: plus_plus(&sample, dim, k, &mut rng),
        trained_on: m,
    };
    let mut assign = vec![usize::MAX; m];
    for _ in 0..budget.iterations {
        if !lloyd_round(&mut book, &sample, &mut assign) {
            break;
        }
    }
    if budget.polish && n > m {
        let mut all = vec![usize::MAX; n];
        lloyd_round(&mut book, &vectors[..n * dim], &mut all);
        book.trained_on = n;
    }
    book
}

/// k-means++ seeding.
fn plus_plus(data: &[f32], dim: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let m = data.len() / dim;
    let first = rng.random_range(0..m);
    let mut centroids = data[first * dim..(first + 1) * dim].to_vec();
    let dist = |a: &[f32], b: &[f32]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum()
    };
    let mut d2: Vec<f64> = data
        .chunks_exact(dim)
        .map(|v| dist(v, &centroids[..dim]))
        .collect();
    while centroids.len() < k * dim {
        let total: f64 = d2.iter().sum();
        let pick = if total > 0.0 {
            let mut target = rng.random::<f64>() * total;
            let mut chosen = m - 1;
            for (i, &d) in d2.iter().enumerate() {
                if target < d {
                    chosen = i;
                    break;
                }
                target -= d;
            }
            chosen
        } else {
            // Every point coincides with a centroid: any point will do.
            rng.random_range(0..m)
        };
        let c = data[pick * dim..(pick + 1) * dim].to_vec();
        for (i, v) in data.chunks_exact(dim).enumerate() {
            d2[i] = d2[i].min(dist(v, &c));
        }
        centroids.extend(c);
    }
    centroids
}

/// One assignment + update round; returns whether any assignment changed. A centroid that loses
/// all its points keeps its place.
fn lloyd_round(book: &mut VectorCodebook, data: &[f32], assign: &mut [usize]) -> bool {
    let dim = book.dim;
    let k = book.k();
    let mut sums = vec![0f64; k * dim];
    let mut counts = vec![0usize; k];
    let mut changed = false;
    let search = book.searcher();
    for (i, v) in data.chunks_exact(dim).enumerate() {
        let (c, _) = search.nearest(v);
        changed |= assign[i] != c;
        assign[i] = c;
        counts[c] += 1;
        for (s, &x) in sums[c * dim..(c + 1) * dim].iter_mut().zip(v) {
            *s += f64::from(x);
        }
    }
    for c in 0..k {
        if counts[c] > 0 {
            for d in 0..dim {
                book.centroids[c * dim + d] = (sums[c * dim + d] / counts[c] as f64) as f32;
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn finds_four_separated_clusters() {
        // Four blobs in 2-D around (±5, ±5).
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut v = Vec::new();
        for i in 0..4000 {
            let (cx, cy) = [(5.0, 5.0), (-5.0, 5.0), (5.0, -5.0), (-5.0, -5.0)][i % 4];
            v.push(cx + rng.random_range(-0.5f32..0.5));
            v.push(cy + rng.random_range(-0.5f32..0.5));
        }
        let book = train(&v, 2, 4, 1, TrainBudget::FULL);
        let mut found: Vec<(i32, i32)> = book
            .centroids
            .chunks(2)
            .map(|c| (c[0].round() as i32, c[1].round() as i32))
            .collect();
        found.sort_unstable();
        assert_eq!(found, vec![(-5, -5), (-5, 5), (5, -5), (5, 5)]);
        assert_eq!(book.searcher().nearest(&[4.0, -6.0]).0, {
            let k = book
                .centroids
                .chunks(2)
                .position(|c| c[0] > 0.0 && c[1] < 0.0);
            k.unwrap_or(usize::MAX)
        });
    }

    /// The lane-parallel search gives the brute-force answer (lowest index on a tie), for K not a
    /// multiple of the lane count too.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn searcher_matches_brute_force() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (k, dim) in [(1, 1), (5, 2), (13, 3), (64, 4)] {
            let mut centroids: Vec<f32> = (0..k * dim)
                .map(|_| rng.random_range(-2.0f32..2.0))
                .collect();
            if k > 1 {
                // A duplicate centroid: the lower index must win.
                let first = centroids[..dim].to_vec();
                centroids[dim..2 * dim].copy_from_slice(&first);
            }
            let book = VectorCodebook {
                dim,
                centroids,
                trained_on: 0,
            };
            let search = book.searcher();
            for _ in 0..500 {
                let v: Vec<f32> = (0..dim).map(|_| rng.random_range(-3.0f32..3.0)).collect();
                let brute = (0..k)
                    .map(|c| {
                        let d: f32 = book
                            .centroid(c)
                            .iter()
                            .zip(&v)
                            .map(|(a, b)| (a - b) * (a - b))
                            .sum();
                        (c, d)
                    })
                    .fold(
                        (0, f32::INFINITY),
                        |best, x| if x.1 < best.1 { x } else { best },
                    );
                assert_eq!(search.nearest(&v), brute, "k {k} dim {dim}");
            }
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn same_seed_same_codebook_and_more_centroids_than_points() {
        let v: Vec<f32> = (0..600).map(|i| ((i * 37) % 101) as f32).collect();
        let a = train(&v, 3, 8, 42, TrainBudget::FULL);
        let b = train(&v, 3, 8, 42, TrainBudget::FULL);
        assert_eq!(a, b);
        let tiny = train(&[1.0, 2.0, 3.0, 4.0], 2, 16, 0, TrainBudget::FULL);
        assert_eq!(tiny.k(), 2);
    }
}
