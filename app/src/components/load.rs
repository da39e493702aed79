//! Where a page's data stands, and the one view of it: a loading line, or the error with a
//! Retry button. Pages draw their own content once it is ready.

use leptos::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Load {
    Loading,
    Ready,
    Failed(String),
}

impl Load {
    pub fn is_ready(&self) -> bool {
        *self == Load::Ready
    }
}

/// "Loading {what}…" while loading, "Could not load {what}: …" with Retry after a failure,
/// nothing when ready.
#[component]
pub fn LoadStatus(
    load: RwSignal<Load>,
    /// What is loading, for the messages: "calls", "figures".
    what: &'static str,
    retry: Callback<()>,
) -> impl IntoView {
    move || {
        match load.get() {
        Load::Loading => Some(
            view! {
                <p class="muted loading" aria-busy="true" role="status">{format!("Loading {what}…")}</p>
            }
            .into_any(),
        ),
        Load::Failed(msg) => Some(
            view! {
                <div class="alert alert-error" role="alert">
                    <span>{format!("Could not load {what}: {msg}")}</span>
                    " "
                    <button type="button" class="button button-ghost" on:click=move |_| retry.run(())>
                        "Retry"
                    </button>
                </div>
            }
            .into_any(),
        ),
        Load::Ready => None,
    }
    }
}
