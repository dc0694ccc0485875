//! A checkpoint in several files: its shards' tables of contents put together, as the CLI and the
//! page both do. With an index (`model.safetensors.index.json`) each tensor is taken from the
//! shard the index names; without one, every tensor of every file, a name in two files refused.
//! A shard that cannot be used (unreadable, missing, or lacking a tensor the index gives it) does
//! not sink the rest: it is set aside with its reason and the tensors it should have held.

use std::collections::{BTreeMap, HashMap};

use super::TensorInfo;

/// A shard set aside, the tensors the index gives it (none without an index) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unusable {
    pub file: String,
    pub tensors: Vec<String>,
    pub reason: String,
}

/// The checkpoint's tensors, each with the position of its shard in the list given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assembled {
    pub tensors: Vec<(usize, TensorInfo)>,
    pub unusable: Vec<Unusable>,
}

impl Unusable {
    /// Each of its tensors with the reason, as `quantscope allocate` and the page list tensors
    /// kept out of an allocation.
    pub fn kept(&self) -> Vec<(String, String)> {
        self.tensors
            .iter()
            .map(|t| (t.clone(), format!("shard {}: {}", self.file, self.reason)))
            .collect()
    }
}

/// Puts a sharded checkpoint together: `shards[i]` is the table of contents of `index`'s i-th
/// file (in the index's file order), or why it could not be read. Each shard contributes the
/// tensors the index assigns to it, in the shard's own order.
pub fn with_index(
    index: &BTreeMap<String, Vec<String>>,
    shards: Vec<Result<Vec<TensorInfo>, String>>,
) -> Assembled {
    let mut out = Assembled::default();
    for (at, ((file, expected), shard)) in index.iter().zip(shards).enumerate() {
        let unusable = |reason: String| Unusable {
            file: file.clone(),
            tensors: expected.clone(),
            reason,
        };
        let held = match shard {
            Ok(held) => held,
            Err(reason) => {
                out.unusable.push(unusable(reason));
                continue;
            }
        };
        if let Some(t) = expected
            .iter()
            .find(|t| !held.iter().any(|h| &h.name == *t))
        {
            out.unusable.push(unusable(format!(
                "the index puts tensor \"{t}\" in it, but the file does not hold it"
            )));
            continue;
        }
        out.tensors.extend(
            held.into_iter()
                .filter(|h| expected.contains(&h.name))
                .map(|h| (at, h)),
        );
    }
    out
}

/// Puts several files together without an index: every tensor of each, `files[i]` its name and
/// table of contents (or why it could not be read). A tensor name found in two files is an
/// error: which one is meant only an index can say.
pub fn without_index(
    files: Vec<(String, Result<Vec<TensorInfo>, String>)>,
) -> Result<Assembled, String> {
    let mut out = Assembled::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let names: Vec<String> = files.iter().map(|(f, _)| f.clone()).collect();
    for (at, (file, shard)) in files.into_iter().enumerate() {
        match shard {
            Ok(held) => {
                for h in held {
                    if let Some(&first) = seen.get(&h.name) {
                        return Err(format!(
                            "tensor \"{}\" is in both {} and {file}; open the checkpoint's .index.json with its shards",
                            h.name, names[first]
                        ));
                    }
                    seen.insert(h.name.clone(), at);
                    out.tensors.push((at, h));
                }
            }
            Err(reason) => out.unusable.push(Unusable {
                file,
                tensors: Vec::new(),
                reason,
            }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str) -> TensorInfo {
        TensorInfo {
            name: name.into(),
            dtype: "F32".into(),
            shape: vec![2, 2],
            is_float: true,
        }
    }

    fn index(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(f, ts)| (f.to_string(), ts.iter().map(|t| t.to_string()).collect()))
            .collect()
    }

    fn names(a: &Assembled) -> Vec<(usize, &str)> {
        a.tensors
            .iter()
            .map(|(i, t)| (*i, t.name.as_str()))
            .collect()
    }

    #[test]
    fn each_tensor_comes_from_the_shard_the_index_names() {
        let idx = index(&[("a.safetensors", &["x", "z"]), ("b.safetensors", &["y"])]);
        // Shard a also holds a stale copy of y: the index says y is b's.
        let got = with_index(
            &idx,
            vec![
                Ok(vec![info("z"), info("y"), info("x")]),
                Ok(vec![info("y")]),
            ],
        );
        assert_eq!(names(&got), vec![(0, "z"), (0, "x"), (1, "y")]);
        assert!(got.unusable.is_empty());
    }

    #[test]
    fn a_bad_shard_is_set_aside_by_name_and_the_rest_stays() {
        let idx = index(&[
            ("a.safetensors", &["x"]),
            ("b.safetensors", &["y", "w"]),
            ("c.safetensors", &["v"]),
        ]);
        let got = with_index(
            &idx,
            vec![
                Ok(vec![info("x")]),
                Err("header length 9999 runs past the end".into()),
                Ok(vec![info("u")]),
            ],
        );
        assert_eq!(names(&got), vec![(0, "x")]);
        assert_eq!(got.unusable.len(), 2);
        assert_eq!(got.unusable[0].file, "b.safetensors");
        assert_eq!(got.unusable[0].tensors, vec!["y", "w"]);
        assert!(got.unusable[1].reason.contains("tensor \"v\""));
        let kept: Vec<(String, String)> = got.unusable.iter().flat_map(Unusable::kept).collect();
        assert_eq!(kept.len(), 3);
        assert_eq!(
            kept[0],
            (
                "y".to_string(),
                "shard b.safetensors: header length 9999 runs past the end".to_string()
            )
        );
        assert_eq!(kept[2].0, "v");
    }

    #[test]
    fn files_without_an_index_are_joined_and_a_repeated_name_refused() {
        let got = without_index(vec![
            ("a.safetensors".into(), Ok(vec![info("x"), info("y")])),
            ("b.safetensors".into(), Err("not a safetensors file".into())),
            ("c.safetensors".into(), Ok(vec![info("z")])),
        ])
        .unwrap_or_default();
        assert_eq!(names(&got), vec![(0, "x"), (0, "y"), (2, "z")]);
        assert_eq!(got.unusable[0].file, "b.safetensors");
        assert!(got.unusable[0].kept().is_empty());
        let twice = without_index(vec![
            ("a.safetensors".into(), Ok(vec![info("x")])),
            ("b.safetensors".into(), Ok(vec![info("x")])),
        ]);
        assert_eq!(
            twice,
            Err("tensor \"x\" is in both a.safetensors and b.safetensors; open the checkpoint's .index.json with its shards".into())
        );
    }
}
