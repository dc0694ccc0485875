//! `quantscope int-matmul`: the JSON and the written codes are the core's integer layer, the
//! dequantized output is S_y (y_q − Z_y), and mismatched shapes end in one line.

use assert_cmd::Command;
use quantscope_core::intmatmul::int_matmul;
use quantscope_core::io::npy;
use serde_json::Value;

fn quantscope() -> Command {
    Command::cargo_bin("quantscope").unwrap_or_else(|e| panic!("binary: {e}"))
}

#[test]
fn json_codes_and_dequantized_are_the_cores() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (m, k, n) = (6usize, 40usize, 5usize);
    let x: Vec<f32> = (0..m * k)
        .map(|i| ((i * 31 % 23) as f32 - 11.0) / 5.0)
        .collect();
    let w: Vec<f32> = (0..n * k)
        .map(|i| ((i * 17 % 19) as f32 - 9.0) / 30.0)
        .collect();
    let (xp, wp) = (dir.path().join("x.npy"), dir.path().join("w.npy"));
    std::fs::write(&xp, npy::write_f32(&[m, k], &x)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&wp, npy::write_f32(&[n, k], &w)).unwrap_or_else(|e| panic!("{e}"));
    let (cp, dp) = (dir.path().join("codes.npy"), dir.path().join("deq.npy"));
    let out = quantscope()
        .arg("int-matmul")
        .arg(&xp)
        .arg(&wp)
        .arg("--json")
        .arg("--codes")
        .arg(&cp)
        .arg("--dequantized")
        .arg(&dp)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let r = int_matmul(&x, &[m, k], &w, &[n, k]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["multiplier"], serde_json::json!(r.multiplier));
    assert_eq!(v["shift"], serde_json::json!(r.shift));
    assert_eq!(v["output_zero_point"], r.output_zero_point);
    assert_eq!(v["weight_scale"].as_array().map(Vec::len), Some(n));
    let codes_bytes = std::fs::read(&cp).unwrap_or_default();
    // An i32 .npy: the header, then the codes little-endian.
    let body = &codes_bytes[codes_bytes.len() - 4 * m * n..];
    let codes: Vec<i32> = body
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(
        codes,
        r.y_q.iter().map(|&q| i32::from(q)).collect::<Vec<_>>()
    );
    let (shape, deq) =
        npy::read_f32(&std::fs::read(&dp).unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shape, [m, n]);
    for (d, q) in deq.iter().zip(&codes) {
        assert_eq!(*d, (q - r.output_zero_point) as f32 * r.output_scale);
    }
    let sqnr = v["sqnr_db"].as_f64().unwrap_or(0.0);
    assert!(sqnr > 30.0, "{sqnr}");
}

#[test]
fn mismatched_inner_dimensions_end_in_one_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (xp, wp) = (dir.path().join("x.npy"), dir.path().join("w.npy"));
    std::fs::write(&xp, npy::write_f32(&[2, 3], &[1.0; 6])).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&wp, npy::write_f32(&[2, 4], &[1.0; 8])).unwrap_or_else(|e| panic!("{e}"));
    let out = quantscope()
        .arg("int-matmul")
        .arg(&xp)
        .arg(&wp)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("same k"), "{err}");
}
