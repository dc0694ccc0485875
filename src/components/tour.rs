//! Learn mode's card and the header's "Learn" button (the steps are [`crate::learn`]).

use leptos::prelude::*;

use crate::learn::STEPS;
use crate::state::use_app_state;

/// The class that outlines a step's panels.
const FOCUS_CLASS: &str = "tour-focus";

/// The header's button: starts the tour at its first step, or leaves it.
#[component]
pub fn LearnButton() -> impl IntoView {
    let state = use_app_state();
    let on = move || state.tour.with(Option::is_some);
    view! {
        <button
            class="theme-toggle learn-toggle"
            data-testid="learn"
            aria-pressed=move || on().to_string()
            on:click=move |_| if on() { state.leave_tour() } else { state.go_to_step(0) }
        >
            {move || if on() { "Leave the tour" } else { "Learn: a guided tour" }}
        </button>
    }
}

/// The tour's card: the step's title, what to notice, one thing to try, a question, and the
/// way back and forward (buttons, ← and → keys, Esc to leave).
#[component]
pub fn Tour() -> impl IntoView {
    let state = use_app_state();
    let go = move |delta: isize| {
        if let Some(i) = state.tour.get_untracked() {
            let next = i.saturating_add_signed(delta);
            if next < STEPS.len() && next != i {
                state.go_to_step(next);
            }
        }
    };
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        if state.tour.get_untracked().is_none() || ev.alt_key() || ev.ctrl_key() || ev.meta_key() {
            return;
        }
        // Arrow keys belong to the field or slider that has the focus.
        let typing = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
            .is_some_and(|e| matches!(e.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
        match ev.key().as_str() {
            "ArrowRight" if !typing => go(1),
            "ArrowLeft" if !typing => go(-1),
            "Escape" => state.leave_tour(),
            _ => return,
        }
        ev.prevent_default();
    });
    on_cleanup(move || keys.remove());
    // Whether the panel scrolled to is in the knobs' column: then the card sits on the right,
    // so it does not cover the knobs the step asks to move.
    let on_side = RwSignal::new(false);
    Effect::new(move |_| {
        let step = state.tour.get();
        outline(step.map_or(&[][..], |i| STEPS[i].focus), 0, on_side);
    });
    // The step's text can be folded away to see more of the page (the title and the way on stay).
    let folded = RwSignal::new(false);
    let card = move || {
        let i = state.tour.get()?;
        let step = STEPS.get(i)?;
        let n = STEPS.len();
        let last = i + 1 == n;
        Some(view! {
            <aside class="tour" class:folded=move || folded.get() class:tour-right=move || on_side.get() aria-labelledby="tour-title" data-testid="tour" data-step=step.slug>
                <div class="tour-head">
                    <span class="tour-progress" data-testid="tour-progress">{format!("Step {} of {n}", i + 1)}</span>
                    <progress max=n.to_string() value=(i + 1).to_string() aria-label="progress through the tour"></progress>
                    <button class="tour-fold" data-testid="tour-fold" aria-expanded=move || (!folded.get()).to_string() on:click=move |_| folded.update(|f| *f = !*f)>
                        {move || if folded.get() { "show text" } else { "hide text" }}
                    </button>
                    <button class="tour-leave" data-testid="tour-leave" aria-label="Leave the tour (keeps the current settings)" on:click=move |_| state.leave_tour()>"✕"</button>
                </div>
                <h2 id="tour-title" data-testid="tour-title" tabindex="-1">{step.title}</h2>
                <div class="tour-body">
                    <p data-testid="tour-text">{step.text}</p>
                    <p class="tour-try" data-testid="tour-try"><b>"Try this: "</b>{step.try_this}</p>
                    <details class="tour-quiz" data-testid="tour-quiz">
                        <summary>{format!("Question: {}", step.question)}</summary>
                        <p data-testid="tour-answer">{step.answer}</p>
                    </details>
                </div>
                <div class="tour-nav">
                    <button data-testid="tour-back" prop:disabled=i == 0 on:click=move |_| go(-1)>"← Back"</button>
                    <span class="help">"← → keys · Esc leaves"</span>
                    {if last {
                        view! { <button data-testid="tour-next" on:click=move |_| state.leave_tour()>"Finish"</button> }.into_any()
                    } else {
                        view! { <button data-testid="tour-next" on:click=move |_| go(1)>"Next →"</button> }.into_any()
                    }}
                </div>
            </aside>
            // Room below the page's end, so its last panels can scroll above the card.
            <div class="tour-spacer"></div>
        })
    };
    view! { {card} }
}

/// Outlines the sections of the headings `ids` (and only those) and scrolls to the first; a
/// panel that appears only once its analysis is in is looked for again over the next frames.
fn outline(ids: &'static [&'static str], tries: u32, on_side: RwSignal<bool>) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if tries == 0 {
        if let Ok(old) = doc.query_selector_all(&format!(".{FOCUS_CLASS}")) {
            for k in 0..old.length() {
                if let Some(e) = old
                    .item(k)
                    .and_then(|n| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok())
                {
                    let _ = e.class_list().remove_1(FOCUS_CLASS);
                }
            }
        }
    }
    let sections: Vec<web_sys::Element> = ids
        .iter()
        .filter_map(|id| doc.get_element_by_id(id)?.closest("section").ok().flatten())
        .collect();
    if sections.len() < ids.len() && tries < 60 {
        request_animation_frame(move || outline(ids, tries + 1, on_side));
        return;
    }
    on_side.set(
        sections
            .first()
            .is_some_and(|s| s.closest(".side").ok().flatten().is_some()),
    );
    for s in &sections {
        let _ = s.class_list().add_1(FOCUS_CLASS);
    }
    if let Some(first) = sections.first() {
        let options = web_sys::ScrollIntoViewOptions::new();
        options.set_block(web_sys::ScrollLogicalPosition::Start);
        first.scroll_into_view_with_scroll_into_view_options(&options);
    }
}
