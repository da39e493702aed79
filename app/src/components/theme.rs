//! Light / dark theme: follows the system unless the user picks one; the choice is kept in
//! localStorage and applied as `<html data-theme=...>` (see `THEME_BOOT` in the shell).

use leptos::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    pub fn next(self) -> Self {
        match self {
            Theme::System => Theme::Light,
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::System,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "System",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }

    fn icon(self) -> &'static str {
        match self {
            Theme::System => "◐",
            Theme::Light => "☀",
            Theme::Dark => "☾",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "light" => Theme::Light,
            "dark" => Theme::Dark,
            _ => Theme::System,
        }
    }
}

#[cfg(feature = "hydrate")]
mod storage {
    use super::Theme;
    const KEY: &str = "sightline-theme";

    pub fn load() -> Theme {
        web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|s| s.get_item(KEY).ok().flatten())
            .map(|v| Theme::parse(&v))
            .unwrap_or(Theme::System)
    }

    pub fn apply(theme: Theme) {
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Ok(Some(storage)) = window.local_storage() {
            let _ = match theme {
                Theme::System => storage.remove_item(KEY),
                Theme::Light => storage.set_item(KEY, "light"),
                Theme::Dark => storage.set_item(KEY, "dark"),
            };
        }
        if let Some(root) = window.document().and_then(|d| d.document_element()) {
            let _ = match theme {
                Theme::System => root.remove_attribute("data-theme"),
                Theme::Light => root.set_attribute("data-theme", "light"),
                Theme::Dark => root.set_attribute("data-theme", "dark"),
            };
        }
    }
}

/// A button that cycles System → Light → Dark.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let (theme, set_theme) = signal(Theme::System);
    // The server cannot know the stored choice: read it once hydrated.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        set_theme.set(storage::load());
    });
    let epoch = use_context::<super::chart::ThemeEpoch>();
    let cycle = move |_| {
        let next = theme.get_untracked().next();
        set_theme.set(next);
        #[cfg(feature = "hydrate")]
        storage::apply(next);
        // Charts re-read the colours of the new theme.
        if let Some(e) = epoch {
            e.0.update(|n| *n += 1);
        }
    };
    view! {
        <button
            type="button"
            class="button button-ghost theme-toggle"
            on:click=cycle
            aria-label=move || {
                format!("Theme: {}. Switch to {}", theme.get().label(), theme.get().next().label())
            }
            title=move || format!("Theme: {}", theme.get().label())
        >
            <span aria-hidden="true" class="theme-icon">{move || theme.get().icon()}</span>
            <span class="theme-label">{move || theme.get().label()}</span>
        </button>
    }
}

#[cfg(test)]
mod tests {
    use super::Theme;

    #[test]
    fn cycles_through_all_three() {
        let mut t = Theme::System;
        let mut seen = vec![];
        for _ in 0..3 {
            t = t.next();
            seen.push(t);
        }
        assert_eq!(seen, vec![Theme::Light, Theme::Dark, Theme::System]);
        assert_eq!(Theme::parse("dark"), Theme::Dark);
        assert_eq!(Theme::parse("nonsense"), Theme::System);
    }
}
