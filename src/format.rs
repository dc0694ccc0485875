//! Number formatting shared by the views: a plain number that `parseFloat` reads back, short enough
//! to read at a glance.

/// `v` with `sig` significant digits (the core's, so the page and the core's formula text agree).
pub use quantscope_core::text::number;

/// `n` and the noun in its number: "1 pair", "3 pairs".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// An SQNR in dB to read (4 significant digits); an exact reconstruction's +∞ and an
/// overflow's −∞ in words.
pub fn db(v: f64) -> String {
    if v.is_finite() {
        number(v, 4)
    } else if v > 0.0 {
        "exact (∞)".to_string()
    } else {
        "−∞".to_string()
    }
}

/// A figure for a table cell: 6 significant digits (what the tests read back), ±∞ as [`db`].
pub fn db_cell(v: f64) -> String {
    if v.is_finite() {
        number(v, 6)
    } else {
        db(v)
    }
}

/// A count with thousands separators: 1234567 → "1,234,567".
pub fn count(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A size in bytes with a decimal unit (B, kB, MB, GB), four significant digits.
pub fn bytes(b: f64) -> String {
    let (v, unit) = match b.abs() {
        x if x >= 1e9 => (b / 1e9, "GB"),
        x if x >= 1e6 => (b / 1e6, "MB"),
        x if x >= 1e3 => (b / 1e3, "kB"),
        _ => (b, "B"),
    };
    format!("{} {unit}", number(v, 4))
}

/// A shape as "384 × 1536".
pub fn shape(shape: &[usize]) -> String {
    shape
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(" × ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_have_decimal_units() {
        assert_eq!(bytes(14_997_832.0), "15 MB");
        assert_eq!(bytes(128_512.0), "128.5 kB");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(2.5e9), "2.5 GB");
    }

    #[test]
    fn plain_numbers_read_back() {
        assert_eq!(number(0.000123456789, 6), "1.23457e-4");
        assert_eq!(number(12.3456789, 6), "12.3457");
        assert_eq!(number(48.0, 6), "48");
        assert_eq!(number(-0.5, 4), "-0.5");
        assert_eq!(number(1234567.0, 3), "1.23e6");
        assert_eq!(number(f64::INFINITY, 6), "Infinity");
        assert_eq!(number(0.0, 6), "0");
        for v in [3.14159e-9, 0.00271828, 42.4242, 9.99999e7] {
            let back: f64 = number(v, 6).parse().unwrap_or(f64::NAN);
            assert!(((back - v) / v).abs() < 1e-5, "{v} → {back}");
        }
    }

    #[test]
    fn counts_and_shapes() {
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(shape(&[384, 1536]), "384 × 1536");
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_finite_number_reads_back_to_its_significant_digits(v in proptest::num::f64::NORMAL, sig in 3usize..10) {
            let text = super::number(v, sig);
            let back: f64 = text.parse().unwrap_or(f64::NAN);
            let tol = v.abs() * 10f64.powi(1 - sig as i32);
            prop_assert!((back - v).abs() <= tol, "{} → {} → {}", v, text, back);
        }
    }
}
