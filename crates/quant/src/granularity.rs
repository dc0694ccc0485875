//! Which values share one set of quantization parameters.
//!
//! Every granularity is described the same way: the flat C-order buffer is cut into consecutive
//! chunks of `chunk_len` values, and chunk k belongs to group `k % n_groups`.
//!
//! ```text
//! per-tensor:            chunk_len = n,                     n_groups = 1
//! per-channel (axis a):  chunk_len = Π shape[a+1..],        n_groups = shape[a]
//! per-group (size G):    chunk_len = G,                     n_groups = n / G
//! ```
//! (For per-channel, the channel index of element i is (i / chunk_len) mod shape[a].)

use crate::config::Granularity;

/// Why a granularity does not fit a tensor's shape.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("axis {axis} is out of range for a tensor of rank {rank}")]
    Axis { axis: usize, rank: usize },
    #[error("group size {size} does not divide the last axis ({last})")]
    GroupSize { size: usize, last: usize },
    #[error("group size must be at least 1")]
    ZeroGroup,
    #[error("sub-vector length {dim} does not divide the last axis ({last})")]
    VectorDim { dim: usize, last: usize },
    #[error("{ty} codes rows in blocks of {block} values: {block} does not divide the last axis ({last})")]
    Blocks {
        ty: &'static str,
        block: usize,
        last: usize,
    },
}

/// The group size offered first for a tensor of `shape`: the largest common size (128 … 1) that
/// divides its last axis.
pub fn default_group_size(shape: &[usize]) -> usize {
    let last = shape.last().copied().unwrap_or(1);
    [128, 64, 32, 16, 8, 4, 2, 1]
        .into_iter()
        .find(|g| last % g == 0)
        .unwrap_or(1)
}

/// The chunk/group structure of a granularity applied to a shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupLayout {
    pub chunk_len: usize,
    pub n_groups: usize,
    pub n: usize,
}

impl GroupLayout {
    /// Lays out `granularity` over `shape` (C order).
    pub fn new(granularity: Granularity, shape: &[usize]) -> Result<Self, LayoutError> {
        let n: usize = shape.iter().product();
        match granularity {
            Granularity::Tensor => Ok(Self {
                chunk_len: n.max(1),
                n_groups: 1,
                n,
            }),
            Granularity::Channel { axis } => {
                let Some(&dim) = shape.get(axis) else {
                    return Err(LayoutError::Axis {
                        axis,
                        rank: shape.len(),
                    });
                };
                let inner: usize = shape[axis + 1..].iter().product();
                Ok(Self {
                    chunk_len: inner.max(1),
                    n_groups: dim.max(1),
                    n,
                })
            }
            Granularity::Group { size } => {
                if size == 0 {
                    return Err(LayoutError::ZeroGroup);
                }
                let last = shape.last().copied().unwrap_or(n);
                if last % size != 0 {
                    return Err(LayoutError::GroupSize { size, last });
                }
                Ok(Self {
                    chunk_len: size,
                    n_groups: n / size,
                    n,
                })
            }
        }
    }

    /// Iterates (group index, element range) over the chunks, in buffer order.
    pub fn chunks(&self) -> impl Iterator<Item = (usize, std::ops::Range<usize>)> + '_ {
        let n_chunks = self.n.div_ceil(self.chunk_len);
        (0..n_chunks).map(move |k| {
            let start = k * self.chunk_len;
            (
                k % self.n_groups,
                start..(start + self.chunk_len).min(self.n),
            )
        })
    }

    /// Number of chunks, ⌈n / chunk_len⌉.
    pub fn n_chunks(&self) -> usize {
        self.n.div_ceil(self.chunk_len.max(1))
    }

    /// Whether each group is one contiguous chunk (per tensor, per group, per channel on the
    /// first axis), rather than chunks that cycle through the groups (channels of an inner axis).
    pub fn is_contiguous(&self) -> bool {
        self.n_chunks() <= self.n_groups
    }

    /// The element range of group `g`'s values when the layout is contiguous.
    pub fn chunk_of(&self, g: usize) -> std::ops::Range<usize> {
        let start = (g * self.chunk_len).min(self.n);
        start..(start + self.chunk_len).min(self.n)
    }

    /// The elements of the chunks of `groups`, which in a contiguous layout are one run.
    pub fn span_of(&self, groups: std::ops::Range<usize>) -> std::ops::Range<usize> {
        if groups.is_empty() {
            return 0..0;
        }
        self.chunk_of(groups.start).start..self.chunk_of(groups.end - 1).end
    }

    /// (group, element range) of the chunks that meet `span`, each cut to it, in buffer order.
    pub fn chunks_in(
        &self,
        span: std::ops::Range<usize>,
    ) -> impl Iterator<Item = (usize, std::ops::Range<usize>)> + '_ {
        let cl = self.chunk_len.max(1);
        let end = span.end.min(self.n);
        let first = span.start / cl;
        let last = end.div_ceil(cl);
        // Chunk k is group k mod n_groups: counted round, not divided (a division per chunk
        // showed in the profile of 32-value groups).
        let n_groups = self.n_groups.max(1);
        let mut group = first % n_groups;
        (first..last).filter_map(move |k| {
            let g = group;
            group = if g + 1 == n_groups { 0 } else { g + 1 };
            let lo = (k * cl).max(span.start);
            let hi = ((k + 1) * cl).min(end);
            (lo < hi).then_some((g, lo..hi))
        })
    }

    /// The groups whose values meet `span`: a contiguous range of groups for contiguous layouts,
    /// every group otherwise (cycling chunks meet them all).
    pub fn groups_meeting(&self, span: std::ops::Range<usize>) -> std::ops::Range<usize> {
        if !self.is_contiguous() {
            return 0..self.n_groups;
        }
        let cl = self.chunk_len.max(1);
        let first = (span.start / cl).min(self.n_groups);
        let last = span.end.min(self.n).div_ceil(cl).min(self.n_groups);
        first..last.max(first)
    }

    /// The groups whose first value lies in `span`: shares whose spans cover the tensor own
    /// every group exactly once. (Group g's first value is chunk g's first, g · chunk_len.)
    pub fn groups_starting_in(&self, span: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let cl = self.chunk_len.max(1);
        let first = span.start.div_ceil(cl).min(self.n_groups);
        let last = span.end.div_ceil(cl).min(self.n_groups);
        first..last.max(first)
    }

    /// The values of every group, gathered in buffer order in one pass.
    pub fn gather_all(&self, values: &[f32]) -> Vec<Vec<f32>> {
        let per_group = self.n / self.n_groups.max(1);
        let mut out: Vec<Vec<f32>> = (0..self.n_groups)
            .map(|_| Vec::with_capacity(per_group))
            .collect();
        for (g, range) in self.chunks() {
            out[g].extend_from_slice(&values[range]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups_of(layout: &GroupLayout) -> Vec<usize> {
        let mut g = vec![usize::MAX; layout.n];
        for (group, range) in layout.chunks() {
            for i in range {
                g[i] = group;
            }
        }
        g
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn per_channel_follows_c_order() {
        // shape [2, 3, 2]; channel axis 1: index (i, j, k) → j.
        let l =
            GroupLayout::new(Granularity::Channel { axis: 1 }, &[2, 3, 2]).unwrap_or(GroupLayout {
                chunk_len: 0,
                n_groups: 0,
                n: 0,
            });
        assert_eq!(groups_of(&l), vec![0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2]);
        let l0 = GroupLayout::new(Granularity::Channel { axis: 0 }, &[2, 3]);
        assert_eq!(l0.map(|l| groups_of(&l)), Ok(vec![0, 0, 0, 1, 1, 1]));
        let l1 = GroupLayout::new(Granularity::Channel { axis: 1 }, &[2, 3]);
        assert_eq!(l1.map(|l| groups_of(&l)), Ok(vec![0, 1, 2, 0, 1, 2]));
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn per_group_splits_the_last_axis() {
        let l = GroupLayout::new(Granularity::Group { size: 2 }, &[2, 4]);
        assert_eq!(l.map(|l| groups_of(&l)), Ok(vec![0, 0, 1, 1, 2, 2, 3, 3]));
        assert_eq!(
            GroupLayout::new(Granularity::Group { size: 3 }, &[2, 4]),
            Err(LayoutError::GroupSize { size: 3, last: 4 })
        );
        assert_eq!(
            GroupLayout::new(Granularity::Channel { axis: 2 }, &[2, 4]),
            Err(LayoutError::Axis { axis: 2, rank: 2 })
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn spans_cut_chunks_and_name_their_groups() {
        let rows =
            GroupLayout::new(Granularity::Channel { axis: 0 }, &[4, 3]).unwrap_or(GroupLayout {
                chunk_len: 0,
                n_groups: 0,
                n: 0,
            });
        assert!(rows.is_contiguous());
        // Values 2..7 meet rows 0, 1 and 2 (cut), and rows 1 and 2 start inside.
        let cut: Vec<_> = rows.chunks_in(2..7).collect();
        assert_eq!(cut, vec![(0, 2..3), (1, 3..6), (2, 6..7)]);
        assert_eq!(rows.groups_meeting(2..7), 0..3);
        assert_eq!(rows.groups_starting_in(2..7), 1..3);
        assert_eq!(rows.groups_starting_in(0..12), 0..4);
        let cols = GroupLayout::new(Granularity::Channel { axis: 1 }, &[4, 3]).unwrap_or(rows);
        assert!(!cols.is_contiguous());
        assert_eq!(cols.groups_meeting(5..6), 0..3);
        assert_eq!(
            cols.chunks_in(4..6).collect::<Vec<_>>(),
            vec![(1, 4..5), (2, 5..6)]
        );
        // Any span names chunk k's group k mod 3, however far into the cycle it starts.
        for a in 0..12 {
            for b in a..=13 {
                let want: Vec<_> = (a..b.min(12)).map(|i| (i % 3, i..i + 1)).collect();
                assert_eq!(cols.chunks_in(a..b).collect::<Vec<_>>(), want, "{a}..{b}");
            }
        }
        // Owned groups of consecutive spans partition the groups.
        let owned: Vec<usize> = [0..5, 5..9, 9..12]
            .into_iter()
            .flat_map(|s| cols.groups_starting_in(s))
            .collect();
        assert_eq!(owned, vec![0, 1, 2]);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn gather_collects_one_channel() {
        let v: Vec<f32> = (0..6).map(|i| i as f32).collect();
        let l = GroupLayout::new(Granularity::Channel { axis: 1 }, &[2, 3]);
        assert_eq!(
            l.map(|l| l.gather_all(&v)),
            Ok(vec![vec![0.0, 3.0], vec![1.0, 4.0], vec![2.0, 5.0]])
        );
    }
}
