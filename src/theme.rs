//! Light and dark themes: the system's setting unless the person picks one (kept in
//! `localStorage`), applied as `data-theme` on `<html>` for the stylesheet and as the charts'
//! palette (canvases are drawn, not styled).

use leptos::prelude::*;

/// What the toggle chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ThemeChoice {
    /// Follow the system's light/dark setting.
    #[default]
    System,
    Light,
    Dark,
}

impl ThemeChoice {
    /// The name stored and shown.
    pub fn key(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    pub fn from_key(key: &str) -> Self {
        match key {
            "light" => Self::Light,
            "dark" => Self::Dark,
            _ => Self::System,
        }
    }

    /// The toggle's next choice: system → light → dark → system.
    pub fn next(self) -> Self {
        match self {
            Self::System => Self::Light,
            Self::Light => Self::Dark,
            Self::Dark => Self::System,
        }
    }

    /// Whether the page is dark, given the system's setting.
    pub fn is_dark(self, system_dark: bool) -> bool {
        match self {
            Self::System => system_dark,
            Self::Light => false,
            Self::Dark => true,
        }
    }
}

/// The theme's signals: the choice, and whether the page is dark now (the charts redraw on it).
#[derive(Clone, Copy)]
pub struct Theme {
    pub choice: RwSignal<ThemeChoice>,
    pub system_dark: RwSignal<bool>,
    pub dark: Memo<bool>,
}

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
const STORAGE_KEY: &str = "quantscope-theme";

impl Theme {
    /// The theme signals, provided as context; in the browser, read the stored choice and follow
    /// the system's setting as it changes.
    pub fn provide() -> Self {
        let choice = RwSignal::new(ThemeChoice::System);
        let system_dark = RwSignal::new(false);
        let dark = Memo::new(move |_| choice.get().is_dark(system_dark.get()));
        let theme = Self {
            choice,
            system_dark,
            dark,
        };
        #[cfg(target_arch = "wasm32")]
        theme.follow_the_browser();
        provide_context(theme);
        theme
    }

    #[cfg(target_arch = "wasm32")]
    fn follow_the_browser(&self) {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Some(stored) = window
            .local_storage()
            .ok()
            .flatten()
            .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
        {
            self.choice.set(ThemeChoice::from_key(&stored));
        }
        if let Ok(Some(query)) = window.match_media("(prefers-color-scheme: dark)") {
            self.system_dark.set(query.matches());
            let system_dark = self.system_dark;
            let on_change = Closure::<dyn FnMut(web_sys::MediaQueryListEvent)>::new(
                move |ev: web_sys::MediaQueryListEvent| system_dark.set(ev.matches()),
            );
            let _ = query
                .add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
            on_change.forget();
        }
        let (choice, dark) = (self.choice, self.dark);
        Effect::new(move |_| {
            let c = choice.get();
            let root = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.document_element());
            if let Some(root) = root {
                let _ = match c {
                    ThemeChoice::System => root.remove_attribute("data-theme"),
                    other => root.set_attribute("data-theme", other.key()),
                };
            }
            crate::charts::set_dark(dark.get());
        });
    }

    /// Moves the toggle on, and remembers the choice.
    pub fn toggle(&self) {
        let next = self.choice.get_untracked().next();
        self.choice.set(next);
        #[cfg(target_arch = "wasm32")]
        if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = storage.set_item(STORAGE_KEY, next.key());
        }
    }
}

/// The header's theme button.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let theme = use_context::<Theme>().unwrap_or_else(Theme::provide);
    let label = move || {
        let c = theme.choice.get();
        let now = if theme.dark.get() { "dark" } else { "light" };
        match c {
            ThemeChoice::System => format!("Theme: system ({now})"),
            other => format!("Theme: {}", other.key()),
        }
    };
    view! {
        <button
            class="theme-toggle"
            data-testid="theme-toggle"
            data-theme-choice=move || theme.choice.get().key()
            aria-label=move || format!("{} — change the colour theme", label())
            on:click=move |_| theme.toggle()
        >
            {label}
        </button>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_toggle_cycles_and_system_follows_the_setting() {
        let mut c = ThemeChoice::System;
        let mut seen = Vec::new();
        for _ in 0..3 {
            c = c.next();
            seen.push(c.key());
        }
        assert_eq!(seen, ["light", "dark", "system"]);
        assert!(ThemeChoice::System.is_dark(true));
        assert!(!ThemeChoice::System.is_dark(false));
        assert!(!ThemeChoice::Light.is_dark(true));
        assert!(ThemeChoice::Dark.is_dark(false));
        for c in [ThemeChoice::System, ThemeChoice::Light, ThemeChoice::Dark] {
            assert_eq!(ThemeChoice::from_key(c.key()), c);
        }
        assert_eq!(ThemeChoice::from_key("purple"), ThemeChoice::System);
    }
}
