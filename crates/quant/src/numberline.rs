//! Where a number format's representable values lie: the number line that shows floating point
//! against fixed point (the learn mode's second step, and a panel of the explorer).
//!
//! A floating-point format spends its codes on orders of magnitude: between consecutive powers of
//! two it has the same count of values, so they are dense near zero and sparse far from it (the
//! gap next to x is about x · 2^−M for M mantissa bits). A fixed-point Qm.n format — an integer
//! with the scale 2^−n — has one step everywhere, 2^−n, from −2^m to 2^m − 2^−n: nothing between
//! 0 and 2^−n, nothing beyond 2^m.
//!
//! ```text
//! line  = every finite non-negative value of the format, ascending (0 first)
//! view(w)  = the values in [−w, w]: count (zero once), the positive ones to draw (every k-th when
//!            there are more than the chart can show), the gap at 0 and the gap at w
//! nearest(x) = the format's own rounding of x (the quantizer's element coder, so the readout is
//!              the value the explorer would store)
//! ```

use crate::format::Element;

/// Why a format has no number line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberLineError {
    #[error(
        "{0} has no fixed grid of values to draw (its levels depend on a scale or on the data)"
    )]
    NoFixedGrid(&'static str),
    #[error("fixed point needs 1 + m + n ≤ 16 bits (got Q{0}.{1})")]
    FixedTooWide(u8, u8),
}

/// The representable values of one format.
#[derive(Clone, Debug, PartialEq)]
pub struct NumberLine {
    /// The format's name as the page shows it (`FP8 E4M3`, `Q3.4`, …).
    pub label: String,
    /// Bits per value.
    pub bits: u32,
    /// Every finite non-negative value, ascending, zero first (negatives mirror them; a
    /// two's-complement fixed point also has −2^m, which [`NumberLine::view`] counts).
    magnitudes: Vec<f32>,
    /// The most negative value when it is not the mirror of the largest (fixed point's −2^m).
    extra_negative: Option<f32>,
    /// The format's element coder, for [`NumberLine::nearest`].
    element: Element,
}

/// The part of a [`NumberLine`] inside [−w, w].
#[derive(Clone, Debug, PartialEq)]
pub struct LineView {
    /// Values in [−w, w], zero counted once.
    pub count: usize,
    /// Positive values ≤ w to draw (mirrored for the negatives): all of them, or every
    /// `every`-th when there are more than the cap (the largest always kept).
    pub ticks: Vec<f32>,
    /// 1 when `ticks` holds every value, k when it holds every k-th.
    pub every: usize,
    /// The smallest positive value: the gap at zero (below half of it, values round to 0).
    pub smallest_positive: f32,
    /// The largest finite value.
    pub largest: f32,
    /// The gap between the two values that bracket w (`None` beyond the largest value).
    pub gap_at_edge: Option<f32>,
}

/// Where [`NumberLine::nearest`] puts a value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Nearest {
    pub value: f32,
    /// The input lay beyond the largest finite value: it saturated (minifloats, fixed point) or
    /// overflowed to ±Inf (FP16, BF16).
    pub beyond: bool,
}

impl NumberLine {
    /// A line of `bits`-bit values: `magnitudes` every finite non-negative one ascending (zero
    /// first), `extra_negative` the most negative when it is not a mirror, `element` the coder.
    /// Each family builds its own ([`NumberLine::of`], in [`crate::family`]).
    pub(crate) fn new(
        label: String,
        bits: u32,
        magnitudes: Vec<f32>,
        extra_negative: Option<f32>,
        element: Element,
    ) -> Self {
        Self {
            label,
            bits,
            magnitudes,
            extra_negative,
            element,
        }
    }

    /// How many finite values the format has (±0 once).
    pub fn len(&self) -> usize {
        2 * self.magnitudes.len() - 1 + usize::from(self.extra_negative.is_some())
    }

    /// Never: every line holds at least zero.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The values inside [−w, w] (`w` > 0), at most `cap` positive ticks to draw.
    pub fn view(&self, half_width: f32, cap: usize) -> LineView {
        let m = &self.magnitudes;
        // Positive values ≤ w: indices 1..end.
        let end = m.partition_point(|&v| v <= half_width);
        let positives = end.saturating_sub(1);
        let extra = self
            .extra_negative
            .is_some_and(|v| -v <= half_width && !m.contains(&-v));
        let count = 2 * positives + 1 + usize::from(extra);
        let every = positives.div_ceil(cap.max(1)).max(1);
        let mut ticks: Vec<f32> = m
            .get(1..end)
            .unwrap_or(&[])
            .iter()
            .copied()
            .step_by(every)
            .collect();
        if let (Some(&last), Some(&kept)) = (m.get(end.wrapping_sub(1)), ticks.last()) {
            if last > 0.0 && kept != last {
                ticks.push(last);
            }
        }
        let gap_at_edge = match (m.get(end.wrapping_sub(1)), m.get(end)) {
            (Some(&below), Some(&above)) if end > 0 => Some(above - below),
            _ => None,
        };
        LineView {
            count,
            ticks,
            every,
            smallest_positive: m.get(1).copied().unwrap_or(0.0),
            largest: m.last().copied().unwrap_or(0.0),
            gap_at_edge,
        }
    }

    /// The value the format stores for `x` (finite), by the format's own rounding.
    pub fn nearest(&self, x: f32) -> Nearest {
        let (_, value, beyond) = self.element.encode(x);
        Nearest { value, beyond }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Format;

    #[test]
    fn counts_match_the_formats_definitions() {
        let e4m3 = NumberLine::of(Format::Fp8E4m3, 0, 0).unwrap_or_else(|e| panic!("{e}"));
        // 126 finite magnitudes per sign plus ±0 (OCP: 0x7F/0xFF are NaN): 253 values.
        assert_eq!((e4m3.bits, e4m3.len()), (8, 253));
        let v = e4m3.view(1000.0, 10_000);
        assert_eq!(v.count, 253);
        assert_eq!((v.smallest_positive, v.largest), (2f32.powi(-9), 448.0));
        assert_eq!(v.gap_at_edge, None);
        let f16 = NumberLine::of(Format::Fp16, 0, 0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f16.len(), 2 * 31 * 1024 - 1);
        assert_eq!(f16.view(1.0, 10).smallest_positive, 2f32.powi(-24));
        let q = NumberLine::of(Format::Fixed, 3, 4).unwrap_or_else(|e| panic!("{e}"));
        // Q3.4: k/16 for k in −128…127.
        assert_eq!((q.bits, q.len()), (8, 256));
        let v = q.view(1.0, 1000);
        // −1…1 in steps of 1/16: 33 values.
        assert_eq!(
            (v.count, v.smallest_positive, v.largest),
            (33, 0.0625, 7.9375)
        );
        assert_eq!(v.gap_at_edge, Some(0.0625));
        // The whole line includes −8 but not +8.
        assert_eq!(q.view(8.0, 1000).count, 256);
        assert!(matches!(
            NumberLine::of(Format::Nf4, 0, 0),
            Err(NumberLineError::NoFixedGrid(_))
        ));
        assert_eq!(
            NumberLine::of(Format::Fixed, 8, 8),
            Err(NumberLineError::FixedTooWide(8, 8))
        );
    }

    #[test]
    fn floats_are_dense_near_zero_and_fixed_point_is_even() {
        let e4m3 = NumberLine::of(Format::Fp8E4m3, 0, 0).unwrap_or_else(|e| panic!("{e}"));
        let q = NumberLine::of(Format::Fixed, 3, 4).unwrap_or_else(|e| panic!("{e}"));
        // Within ±1/16 E4M3 has 2 · 40 + 1 values (subnormals 1–7 · 2^−9, then exponents
        // −6…−5 with 8 each… up to 2^−4), Q3.4 has ±1/16 and 0.
        let (f, x) = (e4m3.view(0.0625, 1000), q.view(0.0625, 1000));
        assert_eq!(x.count, 3);
        assert_eq!(f.count, 2 * (7 + 8 + 8 + 1) + 1);
        // The gap at 4: E4M3 has 0.5 there (3 mantissa bits), Q3.4 still 1/16.
        assert_eq!(e4m3.view(4.0, 1000).gap_at_edge, Some(0.5));
        assert_eq!(q.view(4.0, 1000).gap_at_edge, Some(0.0625));
    }

    #[test]
    fn ticks_are_thinned_to_the_cap_and_keep_the_largest() {
        let f16 = NumberLine::of(Format::Fp16, 0, 0).unwrap_or_else(|e| panic!("{e}"));
        let v = f16.view(1.0, 100);
        // Positive f16 values ≤ 1: 15 · 1024 + 1 (through 1.0 = 0x3C00).
        let positives = 0x3C00;
        assert_eq!(v.count, 2 * positives + 1);
        assert_eq!(v.every, positives.div_ceil(100));
        assert!(v.ticks.len() <= 101);
        assert_eq!(v.ticks.last(), Some(&1.0));
        assert!(v.ticks.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(f16.view(1.0, 1_000_000).ticks.len(), positives);
    }

    #[test]
    fn nearest_is_the_formats_own_rounding() {
        let e4m3 = NumberLine::of(Format::Fp8E4m3, 0, 0).unwrap_or_else(|e| panic!("{e}"));
        // 0.3 lies between 0.28125 and 0.3125 (gap 1/32): nearer the upper.
        assert_eq!(e4m3.nearest(0.3).value, 0.3125);
        assert_eq!(
            e4m3.nearest(500.0),
            Nearest {
                value: 448.0,
                beyond: true
            }
        );
        let q = NumberLine::of(Format::Fixed, 3, 4).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.nearest(0.3).value, 0.3125);
        // Below half a step rounds to zero; a tie goes to the even code (0).
        assert_eq!(q.nearest(0.03).value, 0.0);
        assert_eq!(q.nearest(1.0 / 32.0).value, 0.0);
        let f16 = NumberLine::of(Format::Fp16, 0, 0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f16.nearest(1e-3).value, half::f16::from_f32(1e-3).to_f32());
        assert!(f16.nearest(1e5).beyond && f16.nearest(1e5).value.is_infinite());
        // Every drawn value rounds to itself.
        for line in [e4m3, q, f16] {
            for &t in &line.view(2.0, 300).ticks {
                assert_eq!(line.nearest(t).value, t, "{}", line.label);
                assert_eq!(line.nearest(-t).value, -t, "{}", line.label);
            }
        }
    }
}
