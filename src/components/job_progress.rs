//! A long job's progress bar and its cancel button (the view stays as it was when cancelled).

use leptos::prelude::*;

use crate::engine::client::Table;
use crate::state::use_app_state;

/// The progress of `table`'s rows, inside that table's panel (background work, no Cancel: the
/// rows give way to any knob change).
#[component]
pub fn TableProgress(table: Table, testid: &'static str) -> impl IntoView {
    let state = use_app_state();
    move || {
        state
            .progress
            .get()
            .filter(|p| p.table == Some(table))
            .map(|p| {
                view! {
                    <progress class="formats-progress" data-testid=testid max="1" value=p.done.unwrap_or(0.0).clamp(0.0, 1.0).to_string() aria-label=p.what></progress>
                }
            })
    }
}

/// Shown while a job runs longer than a moment (see `engine::client::LONG_JOB_MS`).
#[component]
pub fn JobProgress() -> impl IntoView {
    let state = use_app_state();
    let debug = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .is_some_and(|q| q.contains("debug"));
    view! {
        <Show when=move || state.progress.with(|p| p.as_ref().is_some_and(|p| !p.background))>
            <div class="job-progress" role="status" data-testid="job-progress">
                <span class="job-what">
                    {move || state.progress.get().map(|p| p.what).unwrap_or_default()}
                </span>
                {move || {
                    let done = state.progress.get().and_then(|p| p.done);
                    match done {
                        Some(d) => view! {
                            <progress data-testid="progress" max="1" value=d.clamp(0.0, 1.0).to_string()></progress>
                        }
                        .into_any(),
                        // Not measurable: an indeterminate bar.
                        None => view! { <progress data-testid="progress"></progress> }.into_any(),
                    }
                }}
                <button class="cancel" data-testid="cancel" on:click=move |_| state.cancel()>
                    "Cancel"
                </button>
            </div>
        </Show>
        {debug.then(|| view! {
            <button class="debug" data-testid="debug-crash" on:click=move |_| state.crash_next()>
                "test: crash a worker on the next change"
            </button>
        })}
    }
}
