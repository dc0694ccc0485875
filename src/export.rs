//! What the Export panel downloads: the figures of every view as one JSON document or one CSV
//! table, built from the same values the views show (tested natively; the download itself is
//! the browser's).

use quantscope_core::Analysis;
use serde_json::{json, Value};

use crate::engine::protocol::DataInfo;
use crate::engine::protocol::ExportKind;
use crate::state::{BitRows, CalibratorRows, ClipRows, GroupRows, PresetRows};

/// The views' figures for the current data and settings.
pub struct Report<'a> {
    pub data: &'a DataInfo,
    pub analysis: &'a Analysis,
    pub calibrators: Option<&'a CalibratorRows>,
    pub bits: Option<&'a BitRows>,
    pub clips: Option<&'a ClipRows>,
    pub groups: Option<&'a GroupRows>,
    pub formats: Option<&'a PresetRows>,
}

/// The CSV's columns.
pub const CSV_HEADER: &str =
    "table,name,bits_per_value,mse,sqnr_db,clip_lo,clip_hi,clipped_fraction";

/// A float for JSON: ±∞ and NaN (which JSON cannot hold) as strings.
fn num(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        json!(v.to_string())
    }
}

impl Report<'_> {
    /// Everything as one JSON document: the data's description (never its values), the settings
    /// and metrics of the view, and the rows of each comparison measured so far.
    pub fn json(&self) -> String {
        let m = &self.analysis.metrics;
        let calibrators: Vec<Value> = self.calibrators.map_or_else(Vec::new, |c| {
            c.rows
                .iter()
                .map(|r| {
                    json!({
                        "method": r.key, "clip": [r.clip.0, r.clip.1], "mse": num(r.mse),
                        "sqnr_db": num(r.sqnr_db), "clipped_fraction": r.clipped_fraction,
                    })
                })
                .collect()
        });
        let bits: Vec<Value> = self.bits.map_or_else(Vec::new, |b| {
            b.sorted()
                .into_iter()
                .map(|(bits, sqnr, mse)| json!({"bits": bits, "sqnr_db": num(sqnr), "mse": num(mse)}))
                .collect()
        });
        let clips: Vec<Value> = self.clips.map_or_else(Vec::new, |c| {
            c.sorted()
                .into_iter()
                .map(|p| {
                    json!({
                        "fraction": p.fraction, "clip": [p.clip.0, p.clip.1], "mse": num(p.mse),
                        "clipping_mse": num(p.clipping_mse), "sqnr_db": num(p.sqnr_db),
                    })
                })
                .collect()
        });
        let groups: Vec<Value> = self.groups.map_or_else(Vec::new, |g| {
            g.sorted()
                .into_iter()
                .map(|p| {
                    json!({
                        "granularity": p.name, "values_per_scale": p.span,
                        "bits_per_value": p.bits_per_value, "mse": num(p.mse),
                        "sqnr_db": num(p.sqnr_db),
                    })
                })
                .collect()
        });
        let formats: Vec<Value> = self.formats.map_or_else(Vec::new, |f| {
            f.rows
                .iter()
                .map(|r| {
                    json!({
                        "name": r.name, "bits_per_value": r.bits_per_value, "mse": num(r.mse),
                        "sqnr_db": num(r.sqnr_db),
                    })
                })
                .collect()
        });
        let doc = json!({
            "data": {"name": self.data.name, "shape": self.data.shape, "n": self.data.len()},
            "config": self.analysis.config,
            "display_group": self.analysis.display_group,
            "clip": [self.analysis.display.clip.0, self.analysis.display.clip.1],
            "metrics": {
                "n": m.n, "mse": num(m.mse), "rmse": num(m.rmse), "sqnr_db": num(m.sqnr_db),
                "max_abs_error": num(m.max_abs_error), "mean_abs_error": num(m.mean_abs_error),
                "cosine_similarity": num(m.cosine_similarity), "clipped_fraction": m.clipped_fraction,
                "levels_used": m.levels_used, "bits_per_value": m.bits_per_value,
            },
            "calibrators": calibrators,
            "bit_widths": bits,
            "clip_ranges": clips,
            "granularity": groups,
            "formats": formats,
        });
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }

    /// Every row of every view as one table ([`CSV_HEADER`]); empty cells where a view has no
    /// such column. Numbers in full precision (Rust's shortest round-trip form).
    pub fn csv(&self) -> String {
        let mut out = String::from(CSV_HEADER);
        out.push('\n');
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let mut row = |table: &str, name: &str, cells: [Option<f64>; 6]| {
            let cells: Vec<String> = cells
                .iter()
                .map(|c| c.map_or_else(String::new, |v| v.to_string()))
                .collect();
            out.push_str(&format!("{table},{},{}\n", quote(name), cells.join(",")));
        };
        let a = self.analysis;
        let m = &a.metrics;
        row(
            "view",
            "current settings",
            [
                Some(m.bits_per_value),
                Some(m.mse),
                Some(m.sqnr_db),
                Some(f64::from(a.display.clip.0)),
                Some(f64::from(a.display.clip.1)),
                Some(m.clipped_fraction),
            ],
        );
        for r in self.calibrators.map_or(&[][..], |c| &c.rows[..]) {
            row(
                "calibrators",
                &r.key,
                [
                    Some(m.bits_per_value),
                    Some(r.mse),
                    Some(r.sqnr_db),
                    Some(f64::from(r.clip.0)),
                    Some(f64::from(r.clip.1)),
                    Some(r.clipped_fraction),
                ],
            );
        }
        for (bits, sqnr, mse) in self.bits.map(BitRows::sorted).unwrap_or_default() {
            row(
                "bit_widths",
                &bits.to_string(),
                [None, Some(mse), Some(sqnr), None, None, None],
            );
        }
        for p in self.clips.map(ClipRows::sorted).unwrap_or_default() {
            row(
                "clip_ranges",
                &p.fraction.to_string(),
                [
                    None,
                    Some(p.mse),
                    Some(p.sqnr_db),
                    Some(f64::from(p.clip.0)),
                    Some(f64::from(p.clip.1)),
                    None,
                ],
            );
        }
        for p in self.groups.map(GroupRows::sorted).unwrap_or_default() {
            row(
                "granularity",
                &p.name,
                [
                    Some(p.bits_per_value),
                    Some(p.mse),
                    Some(p.sqnr_db),
                    None,
                    None,
                    None,
                ],
            );
        }
        for r in self.formats.map_or(&[][..], |f| &f.rows[..]) {
            row(
                "formats",
                &r.name,
                [
                    Some(r.bits_per_value),
                    Some(r.mse),
                    Some(r.sqnr_db),
                    None,
                    None,
                    None,
                ],
            );
        }
        out
    }
}

/// The name of a quantized-tensor file: the data's name and the settings, made safe for a file
/// system, then what the file holds (`minilm-ffn-int4-g128-quantized.safetensors`).
pub fn tensor_file_name(
    data: &str,
    config: &quantscope_core::QuantizerConfig,
    kind: ExportKind,
) -> String {
    use quantscope_core::{Format, Granularity};
    let mut settings = match config.format {
        Format::Int => format!("int{}", config.bits),
        f => f.name().to_string(),
    };
    match config.granularity {
        Granularity::Group { size } if config.format == Format::Int => {
            settings.push_str(&format!("-g{size}"))
        }
        Granularity::Channel { .. } if config.format == Format::Int => settings.push_str("-pc"),
        _ => {}
    }
    let safe = |s: &str| {
        let mut out = String::new();
        for c in s.chars() {
            let c = if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            };
            if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
                out.push(c);
            }
        }
        out.trim_end_matches('-')
            .chars()
            .take(60)
            .collect::<String>()
    };
    let stem = safe(
        data.rsplit_once('.')
            .filter(|(_, ext)| ext.len() <= 12)
            .map_or(data, |(s, _)| s),
    );
    format!(
        "{}-{}-{}",
        if stem.is_empty() {
            "tensor".to_string()
        } else {
            stem
        },
        safe(&settings),
        kind.suffix()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use quantscope_core::{analyze, AnalysisOptions, Dataset, QuantizerConfig};

    #[test]
    fn json_and_csv_hold_the_views_figures() {
        let values: Vec<f32> = (0..4096)
            .map(|i| ((i * 37) % 101) as f32 / 10.0 - 5.0)
            .collect();
        let d = Dataset::new("t \"q\"", vec![64, 64], values).unwrap_or_else(|e| panic!("{e}"));
        let a = analyze(&d, &QuantizerConfig::default(), &AnalysisOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let info = DataInfo::of(&d);
        let bits = BitRows {
            batch: 1,
            base: QuantizerConfig::default(),
            expected: 2,
            points: vec![(4, 20.5, 0.01), (2, 8.25, 0.2)],
        };
        let r = Report {
            data: &info,
            analysis: &a,
            calibrators: None,
            bits: Some(&bits),
            clips: None,
            groups: None,
            formats: None,
        };
        let doc: Value = serde_json::from_str(&r.json()).unwrap_or_default();
        assert_eq!(doc["metrics"]["mse"].as_f64(), Some(a.metrics.mse));
        assert_eq!(doc["data"]["shape"], json!([64, 64]));
        assert_eq!(doc["bit_widths"][0]["bits"], json!(2));
        assert!(doc.get("values").is_none());
        let csv = r.csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines.len(), 4);
        let view: Vec<&str> = lines[1].split(',').collect();
        assert_eq!(view[0], "view");
        assert_eq!(view[3].parse::<f64>().ok(), Some(a.metrics.mse));
        assert_eq!(lines[2], "bit_widths,\"2\",,0.2,8.25,,,");
    }

    #[test]
    fn tensor_files_are_named_after_the_data_and_the_settings() {
        use quantscope_core::Granularity;
        let g128 = QuantizerConfig {
            bits: 4,
            granularity: Granularity::Group { size: 128 },
            ..QuantizerConfig::default()
        };
        assert_eq!(
            tensor_file_name("model.safetensors", &g128, ExportKind::Safetensors),
            "model-int4-g128-quantized.safetensors"
        );
        assert_eq!(
            tensor_file_name(
                "synthetic normal (N = 1000, seed 1)",
                &QuantizerConfig::default(),
                ExportKind::Codes
            ),
            "synthetic-normal-n-1000-seed-1-int8-codes.npy"
        );
        assert_eq!(
            tensor_file_name("/", &QuantizerConfig::default(), ExportKind::Dequantized),
            "tensor-int8-dequantized.npy"
        );
    }
}
