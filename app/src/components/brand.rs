//! The Sightline mark (an eye) and name.

use leptos::prelude::*;

#[component]
pub fn Brand(#[prop(optional)] large: bool) -> impl IntoView {
    view! {
        <span class="brand" class:brand-large=large>
            <svg class="brand-mark" viewBox="0 0 24 24" aria-hidden="true">
                <path
                    d="M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z"
                    fill="none"
                    stroke="currentColor"
                    stroke-width="2"
                />
                <circle cx="12" cy="12" r="3" fill="currentColor" />
            </svg>
            <span>"Sightline"</span>
        </span>
    }
}
