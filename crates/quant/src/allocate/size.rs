//! A budget given as a target size of the checkpoint's tensor data instead of bits per value.
//!
//! ```text
//! kept_bits  = Σ n_t · bits(dtype_t)        over the tensors kept at their own precision
//! budget B   = (8 · target_bytes − kept_bits) / Σ n_t   over the allocated tensors
//! estimate   = (Σ n_t · bpv_t(k_t) + kept_bits) / 8      bytes of tensor data (the file's header
//!                                                         and metadata are not counted)
//! ```

use serde::{Deserialize, Serialize};

use super::{AllocateError, Kept, TensorPoints};

/// A budget as the user gives it: bits per value, or a target size of the tensor data in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Budget {
    BitsPerValue(f64),
    Bytes(f64),
}

/// Each tensor's (name, values, bits per value of its stored dtype) from the file's headers, for
/// [`kept_bits`].
pub fn stored_sizes<'a>(
    infos: impl IntoIterator<Item = &'a crate::io::TensorInfo>,
) -> Vec<(String, usize, Option<f64>)> {
    infos
        .into_iter()
        .map(|t| {
            let bits = crate::diff::dtype_bits(&t.dtype);
            (t.name.clone(), t.shape.iter().product(), bits)
        })
        .collect()
}

/// [`super::report`] at `budget`: a size is first turned into bits per value (the kept tensors
/// at their stored sizes, `sizes` from [`stored_sizes`]) and the report says what it came to.
pub fn report_at(
    model: &[TensorPoints],
    kept: Vec<Kept>,
    names: &[String],
    configs: &[crate::config::QuantizerConfig],
    budget: Budget,
    sizes: &[(String, usize, Option<f64>)],
) -> Result<super::Report, AllocateError> {
    let kept_bits = kept_bits(&kept, sizes);
    let bits = match budget {
        Budget::BitsPerValue(b) => b,
        Budget::Bytes(bytes) => budget_for_size(bytes, kept_bits, model)?,
    };
    let mut report = super::report(model, kept, names, configs, bits)?;
    if let Budget::Bytes(bytes) = budget {
        report.size = Some(size_report(
            bytes,
            kept_bits,
            model,
            report.total.bits_per_value,
        ));
    }
    Ok(report)
}

/// What a size budget came to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SizeReport {
    pub target_bytes: f64,
    /// The tensors kept at their own precision, at their stored size.
    pub kept_bytes: f64,
    /// The allocation's tensor data plus the kept tensors.
    pub estimated_bytes: f64,
}

/// Parses a size: a number of bytes with an optional unit — kB/MB/GB/TB (powers of 1000) or
/// KiB/MiB/GiB/TiB (powers of 1024), case-insensitive, `B` alone or nothing for bytes.
pub fn parse_size(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("\"{text}\" is not a size (e.g. 12MB, 1.5GiB, 4000000)"))?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024f64.powi(2),
        "gib" => 1024f64.powi(3),
        "tib" => 1024f64.powi(4),
        other => {
            return Err(format!(
                "unknown size unit \"{other}\" (kB, MB, GB, KiB, MiB, GiB)"
            ))
        }
    };
    let bytes = value * scale;
    if bytes.is_finite() && bytes > 0.0 {
        Ok(bytes)
    } else {
        Err(format!("a target size must be positive, got \"{text}\""))
    }
}

/// The stored bits of the kept tensors: `sizes` gives each tensor's (name, values, bits per
/// value of its dtype); a kept tensor whose dtype has no known size counts as 32 bits a value.
pub fn kept_bits(kept: &[Kept], sizes: &[(String, usize, Option<f64>)]) -> f64 {
    kept.iter()
        .filter_map(|k| sizes.iter().find(|s| s.0 == k.name))
        .map(|(_, n, bits)| *n as f64 * bits.unwrap_or(32.0))
        .sum()
}

/// The bits-per-value budget that makes the tensor data `target_bytes` (see the module docs).
pub fn budget_for_size(
    target_bytes: f64,
    kept_bits: f64,
    model: &[TensorPoints],
) -> Result<f64, AllocateError> {
    let n: f64 = model.iter().map(|t| t.n as f64).sum();
    if n == 0.0 {
        return Err(AllocateError::Nothing);
    }
    let budget = (8.0 * target_bytes - kept_bits) / n;
    if budget.is_finite() && budget > 0.0 {
        Ok(budget)
    } else {
        Err(AllocateError::SizeTooSmall {
            target_bytes,
            kept_bytes: kept_bits / 8.0,
        })
    }
}

/// What `target_bytes` came to for the allocation of `bits_per_value` on average over `model`.
pub fn size_report(
    target_bytes: f64,
    kept_bits: f64,
    model: &[TensorPoints],
    bits_per_value: f64,
) -> SizeReport {
    let n: f64 = model.iter().map(|t| t.n as f64).sum();
    SizeReport {
        target_bytes,
        kept_bytes: kept_bits / 8.0,
        estimated_bytes: (n * bits_per_value + kept_bits) / 8.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocate::{allocate, Point};

    fn tensor(name: &str, n: usize) -> TensorPoints {
        TensorPoints {
            name: name.into(),
            n,
            sum_sq: n as f64,
            points: vec![
                Point {
                    candidate: 0,
                    bits_per_value: 4.0,
                    mse: 1.0,
                },
                Point {
                    candidate: 1,
                    bits_per_value: 8.0,
                    mse: 0.1,
                },
            ],
        }
    }

    #[test]
    fn sizes_parse_with_their_units() {
        assert_eq!(parse_size("12MB"), Ok(12e6));
        assert_eq!(parse_size(" 1.5 GiB "), Ok(1.5 * 1024f64.powi(3)));
        assert_eq!(parse_size("4000"), Ok(4000.0));
        assert_eq!(parse_size("3kb"), Ok(3000.0));
        assert!(parse_size("12 parsecs").is_err_and(|e| e.contains("unknown size unit")));
        assert!(parse_size("MB").is_err_and(|e| e.contains("not a size")));
        assert!(parse_size("0MB").is_err_and(|e| e.contains("positive")));
        assert!(parse_size("-1").is_err());
    }

    #[test]
    fn a_size_is_the_budget_that_fills_it() {
        // 1000 + 3000 values allocated; a kept bias of 100 f32 values = 3200 bits.
        let model = [tensor("a", 1000), tensor("b", 3000)];
        let kept = [Kept {
            name: "bias".into(),
            reason: "1-D".into(),
        }];
        let sizes = [
            ("a".to_string(), 1000, Some(32.0)),
            ("bias".to_string(), 100, Some(32.0)),
        ];
        let kb = kept_bits(&kept, &sizes);
        assert_eq!(kb, 3200.0);
        // 3,400 bytes = 27,200 bits; minus 3,200 kept = 24,000 bits over 4,000 values = 6.
        let b = budget_for_size(3400.0, kb, &model).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b, 6.0);
        let a = allocate(&model, b).unwrap_or_else(|e| panic!("{e}"));
        let r = size_report(3400.0, kb, &model, a.bits_per_value);
        assert!(r.estimated_bytes <= r.target_bytes);
        assert_eq!(r.kept_bytes, 400.0);
        // A target the kept tensors alone fill is refused.
        assert_eq!(
            budget_for_size(400.0, kb, &model),
            Err(AllocateError::SizeTooSmall {
                target_bytes: 400.0,
                kept_bytes: 400.0
            })
        );
        assert_eq!(budget_for_size(1.0, 0.0, &[]), Err(AllocateError::Nothing));
        // The report at a size is the report at the budget it comes to, with the estimate.
        let names = ["int4".to_string(), "int8".to_string()];
        let by_size = report_at(
            &model,
            kept.to_vec(),
            &names,
            &[],
            Budget::Bytes(3400.0),
            &sizes,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let by_bits = report_at(
            &model,
            kept.to_vec(),
            &names,
            &[],
            Budget::BitsPerValue(6.0),
            &sizes,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(by_size.budget, 6.0);
        assert_eq!(by_size.assignment, by_bits.assignment);
        assert_eq!(by_size.size, Some(r));
        assert_eq!(by_bits.size, None);
    }
}
