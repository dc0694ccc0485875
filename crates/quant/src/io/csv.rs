//! Numbers as text: separated by commas, semicolons, tabs, spaces or newlines.
//!
//! A file whose non-empty lines all hold the same number k > 1 of values is a [lines, k] matrix;
//! anything else is a flat vector. `nan`, `inf`, `-inf` (any case) are accepted as values.

/// Why a text file is not a list of numbers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("the file holds no numbers")]
    Empty,
    #[error("line {line}: \"{token}\" is not a number")]
    NotANumber { line: usize, token: String },
    #[error("the file is not valid UTF-8 text")]
    NotUtf8,
}

/// Longest cell echoed back in an error message.
const MAX_TOKEN_ECHO: usize = 40;

/// Parses text into (shape, values).
pub fn parse(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>), CsvError> {
    let text = std::str::from_utf8(bytes).map_err(|_| CsvError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut values = Vec::new();
    let mut width: Option<Option<usize>> = None; // None: no line yet; Some(None): ragged
    let mut rows = 0usize;
    for (line_idx, line) in text.lines().enumerate() {
        let before = values.len();
        for token in line
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|t| !t.is_empty())
        {
            let v: f32 = token.parse().map_err(|_| CsvError::NotANumber {
                line: line_idx + 1,
                token: token.chars().take(MAX_TOKEN_ECHO).collect(),
            })?;
            values.push(v);
        }
        let k = values.len() - before;
        if k == 0 {
            continue;
        }
        rows += 1;
        width = Some(match width {
            None => Some(k),
            Some(Some(w)) if w == k => Some(w),
            Some(_) => None,
        });
    }
    if values.is_empty() {
        return Err(CsvError::Empty);
    }
    let shape = match width.flatten() {
        Some(k) if k > 1 && rows > 1 => vec![rows, k],
        _ => vec![values.len()],
    };
    Ok((shape, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn matrices_vectors_and_special_values() {
        assert_eq!(
            parse(b"1,2,3\n4,5,6\n"),
            Ok((vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
        );
        assert_eq!(parse(b"1\n2\n3"), Ok((vec![3], vec![1.0, 2.0, 3.0])));
        assert_eq!(parse(b"1 2\n3"), Ok((vec![3], vec![1.0, 2.0, 3.0])));
        assert_eq!(
            parse(b"\xef\xbb\xbf0.5; -1e3\t2"),
            Ok((vec![3], vec![0.5, -1000.0, 2.0]))
        );
        let (_, v) = parse(b"nan, inf, -inf, NaN").unwrap_or_default();
        assert!(
            v[0].is_nan() && v[1] == f32::INFINITY && v[2] == f32::NEG_INFINITY && v[3].is_nan()
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn errors_name_the_line_and_cell() {
        assert_eq!(
            parse(b"1,2\n3,abc\n"),
            Err(CsvError::NotANumber {
                line: 2,
                token: "abc".into()
            })
        );
        assert_eq!(parse(b"  \n\n"), Err(CsvError::Empty));
        assert_eq!(parse(b"\xff\xfe"), Err(CsvError::NotUtf8));
    }
}
