//! The page's settings in its URL, so a copied link reproduces the view: the data source (the
//! synthetic settings and seed, or the file's and tensor's names — never the data), and every
//! knob. They travel as JSON in the fragment (`#v1=…`, percent-encoded): nothing reaches a server.
//!
//! ```text
//! settings ──encode──► #v1={"synth":…,"config":…}   (history entry: pushed, or replaced while
//! #v1=… ──decode──► settings, checked as a typed change is      the knobs keep moving)
//! ```

use quantscope_core::QuantizerConfig;
use serde::{Deserialize, Serialize};

use crate::engine::protocol::SynthSettings;

/// What a link holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageUrl {
    /// The synthetic data's settings, when that is the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synth: Option<SynthSettings>,
    /// The file's name and the tensor shown, when a file is the source (the user opens it again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<(String, String)>,
    pub config: QuantizerConfig,
}

/// The fragment's key and version: a later layout gets another, and old links still parse.
const PREFIX: &str = "v1=";

impl PageUrl {
    /// The JSON text of the fragment (before percent-encoding).
    pub fn to_fragment_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The settings in a decoded fragment (without its `#`): `Ok(None)` when it holds none,
    /// an error that says what is wrong with one that does not parse.
    pub fn from_fragment(fragment: &str) -> Result<Option<Self>, String> {
        let Some(json) = fragment.strip_prefix(PREFIX) else {
            return Ok(None);
        };
        serde_json::from_str(json).map(Some).map_err(|e| {
            format!("The link's settings could not be read ({e}); showing the defaults.")
        })
    }

    /// The fragment for the location bar: `#v1=` and the percent-encoded JSON.
    #[cfg(target_arch = "wasm32")]
    pub fn to_fragment(&self) -> String {
        let json: String = js_sys::encode_uri_component(&self.to_fragment_json()).into();
        format!("#{PREFIX}{json}")
    }
}

/// The location's fragment, percent-decoded, without `#`.
#[cfg(target_arch = "wasm32")]
pub fn current_fragment() -> String {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    let hash = hash.strip_prefix('#').unwrap_or(&hash);
    js_sys::decode_uri_component(hash)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quantscope_core::synth::Distribution;
    use quantscope_core::{Calibration, Granularity};

    #[test]
    fn settings_round_trip_and_bad_links_say_why() {
        let url = PageUrl {
            synth: Some(SynthSettings {
                dist: Distribution::StudentT { nu: 3.0 },
                n: 20_000,
                seed: 7,
                cols: 100,
                row_spread: 0.5,
            }),
            file: None,
            config: QuantizerConfig {
                bits: 5,
                calibration: Calibration::Percentile { p: 99.5 },
                granularity: Granularity::Group { size: 20 },
                ..Default::default()
            },
        };
        let text = format!("v1={}", url.to_fragment_json());
        assert_eq!(PageUrl::from_fragment(&text), Ok(Some(url.clone())));
        let file = PageUrl {
            synth: None,
            file: Some(("model.safetensors".into(), "layer.0.weight".into())),
            ..url
        };
        let text = format!("v1={}", file.to_fragment_json());
        assert_eq!(PageUrl::from_fragment(&text), Ok(Some(file)));
        assert_eq!(PageUrl::from_fragment(""), Ok(None));
        assert_eq!(PageUrl::from_fragment("learn/3"), Ok(None));
        let bad = PageUrl::from_fragment("v1={\"config\":{\"bits\":\"x\"}}");
        assert!(bad.is_err_and(|e| e.contains("could not be read")));
    }
}
