//! Labelled form fields used by the panels. Each forwards ordinary `input` and `change` events:
//! `input` applies a value as soon as it is valid (typing stays quiet), `change` commits it and
//! reports a bad one.

use leptos::prelude::*;

use crate::state::AppState;

/// Records that the control `testid` is being changed, so that a refusal is shown beside it.
pub fn touch(testid: &str) {
    if let Some(state) = use_context::<AppState>() {
        if state.last_control.get_untracked().as_deref() != Some(testid) {
            state.last_control.set(Some(testid.to_string()));
        }
    }
}

/// The current error, beside the control `testid` when that control caused it (the banner at
/// the top shows it as well).
#[component]
pub fn FieldError(#[prop(into)] testid: String) -> impl IntoView {
    let state = use_context::<AppState>();
    let mine = testid.clone();
    let message = move || {
        let state = state?;
        let last = state.last_control.get()?;
        (last == mine).then(|| state.error.get()).flatten()
    };
    view! {
        {move || message().map(|m| view! {
            // Not an alert itself: the banner announces the same message once.
            <p class="field-error" data-testid=format!("{testid}-error")>{m}</p>
        })}
    }
}

/// Whether an event is a commit (`change`) or a live edit (`input`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    Live,
    Commit,
}

/// A labelled number input.
#[component]
pub fn NumberField(
    #[prop(into)] label: String,
    #[prop(into)] testid: String,
    #[prop(into)] value: Signal<String>,
    on_edit: Callback<(String, Edit)>,
    #[prop(optional, into)] min: Option<String>,
    #[prop(optional, into)] max: Option<String>,
    #[prop(optional, into)] step: Option<String>,
    #[prop(optional, into)] help: Option<String>,
    /// Also report a commit whose text equals the stored value (for fields whose commit has a
    /// meaning of its own, such as "make synthetic data the source").
    #[prop(optional)]
    commit_unchanged: bool,
) -> impl IntoView {
    let id = format!("field-{testid}");
    // The text of the last `change` handled since the field got focus: browsers fire `change` again
    // on blur when a scripted change preceded it, and by then the field may no longer apply (its
    // panel switched away) — a repeat is not a new edit.
    let last_commit = StoredValue::new(None::<String>);
    let (field, field_commit) = (testid.clone(), testid.clone());
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                id=id
                type="number"
                data-testid=testid.clone()
                min=min
                max=max
                step=step.unwrap_or_else(|| "any".into())
                prop:value=move || value.get()
                // The handlers use the `try_` accessors: a focused field that a `<Show>` removes
                // fires `change` while being removed, after its reactive scope is gone.
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    touch(&field);
                    if value.try_get_untracked().is_some_and(|v| v != text) {
                        on_edit.try_run((text, Edit::Live));
                    }
                }
                on:focus=move |_| {
                    last_commit.try_update_value(|v| *v = None);
                }
                on:change=move |ev| {
                    let text = event_target_value(&ev);
                    let (Some(last), Some(stored)) = (last_commit.try_get_value(), value.try_get_untracked()) else {
                        return;
                    };
                    if last.as_deref() == Some(text.as_str()) {
                        return;
                    }
                    touch(&field_commit);
                    last_commit.try_update_value(|v| *v = Some(text.clone()));
                    // A field can fire `change` on blur after its shown value was updated by the app;
                    // only a value that differs from what is stored is an edit.
                    if commit_unchanged || text != stored {
                        on_edit.try_run((text, Edit::Commit));
                    }
                    // Show what was stored: the new value, or the old one if the edit was refused.
                    let input: web_sys::HtmlInputElement = event_target(&ev);
                    if let Some(now) = value.try_get_untracked() {
                        input.set_value(&now);
                    }
                }
            />
            <FieldError testid=testid />
            {help.map(|h| view! { <p class="help">{h}</p> })}
        </div>
    }
}

/// A labelled select over (value, label) options.
#[component]
pub fn SelectField(
    #[prop(into)] label: String,
    #[prop(into)] testid: String,
    #[prop(into)] options: Signal<Vec<(String, String)>>,
    #[prop(into)] value: Signal<String>,
    on_select: Callback<String>,
    #[prop(optional, into)] help: Option<String>,
) -> impl IntoView {
    let id = format!("field-{testid}");
    let field = testid.clone();
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select
                id=id
                data-testid=testid.clone()
                on:change=move |ev| {
                    touch(&field);
                    on_select.try_run(event_target_value(&ev));
                    let select: web_sys::HtmlSelectElement = event_target(&ev);
                    if let Some(now) = value.try_get_untracked() {
                        select.set_value(&now);
                    }
                }
                prop:value=move || value.get()
            >
                {move || {
                    let current = value.get();
                    options
                        .get()
                        .into_iter()
                        .map(|(v, l)| {
                            let selected = v == current;
                            view! { <option value=v selected=selected>{l}</option> }
                        })
                        .collect_view()
                }}
            </select>
            <FieldError testid=testid />
            {help.map(|h| view! { <p class="help">{h}</p> })}
        </div>
    }
}

/// Parses a field's text; `None` for text that is not a number of type `T`.
pub fn parse<T: std::str::FromStr>(text: &str) -> Option<T> {
    text.trim().parse().ok()
}
