//! Quantscope's web app: a Leptos shell around `quantscope-core`.
//!
//! `app` holds the shell and its state, `components` one public component per file, `charts` the
//! canvas drawings (each a pure data function, tested natively, and a `draw_*` function), `format`
//! number formatting shared by the views, `loader` the reading of files into datasets.

pub mod app;
pub mod charts;
pub mod components;
pub mod engine;
pub mod export;
pub mod format;
pub mod learn;
pub mod loader;
pub mod state;
pub mod theme;
pub mod url;

/// Replaces a blank page on panic with a visible report (the code aims never to panic on user data;
/// this is the safety net, not the error handling).
pub fn install_panic_reporter() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        #[cfg(target_arch = "wasm32")]
        {
            use wasm_bindgen::JsCast;
            let doc = web_sys::window().and_then(|w| w.document());
            if let Some(el) = doc
                .as_ref()
                .and_then(|d| d.get_element_by_id("panic-report"))
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
            {
                el.set_hidden(false);
                el.set_text_content(Some(&format!(
                    "Quantscope hit an internal error and stopped updating. Please reload the page. ({info})"
                )));
            }
        }
    }));
}
