//! The error banner (what went wrong, which file) and the quieter notice line.

use leptos::prelude::*;

use crate::state::use_app_state;

/// Shows the latest error until it is dismissed or the next change succeeds.
#[component]
pub fn ErrorBanner() -> impl IntoView {
    let state = use_app_state();
    view! {
        <Show when=move || state.error.with(Option::is_some)>
            <div class="error-banner" role="alert" data-testid="error-banner">
                <span class="error-text">{move || state.error.get().unwrap_or_default()}</span>
                <button class="dismiss" on:click=move |_| state.error.set(None) aria-label="Dismiss">
                    "×"
                </button>
            </div>
        </Show>
        <Show when=move || state.link_note.with(Option::is_some)>
            <div class="notice" role="status" data-testid="link-note">
                {move || state.link_note.get().unwrap_or_default()}
            </div>
        </Show>
        <Show when=move || state.notice.with(Option::is_some)>
            <div class="notice" role="status" data-testid="notice">
                {move || state.notice.get().unwrap_or_default()}
            </div>
        </Show>
    }
}
