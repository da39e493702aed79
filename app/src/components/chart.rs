//! An ECharts chart (through charming): drawn once hydrated, updated in place when its
//! option changes, redrawn with the new colours when the theme changes, resized with the
//! window and disposed with the page. The server renders an empty, labelled box.

use leptos::prelude::*;

/// Bumped by the theme toggle so charts re-read the colours.
#[derive(Clone, Copy)]
pub struct ThemeEpoch(pub RwSignal<u32>);

/// Colours of the current theme, read from the page's CSS variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Palette {
    pub text: String,
    pub muted: String,
    pub grid: String,
    pub surface: String,
    pub series: Vec<String>,
}

impl Default for Palette {
    fn default() -> Self {
        Palette {
            text: "#17202b".into(),
            muted: "#5b6776".into(),
            grid: "#dfe3e8".into(),
            surface: "#ffffff".into(),
            series: SERIES_LIGHT.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// Series colours, chosen to stay apart in both themes and for common colour blindness.
const SERIES_LIGHT: &[&str] = &[
    "#3b5bdb", "#e8590c", "#2b8a3e", "#ae3ec9", "#1098ad", "#f08c00", "#c2255c", "#5c940d",
];
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const SERIES_DARK: &[&str] = &[
    "#7c93ff", "#ff922b", "#69db7c", "#da77f2", "#3bc9db", "#ffd43b", "#f783ac", "#a9e34b",
];

#[cfg(feature = "hydrate")]
fn current_palette() -> Palette {
    let Some(window) = web_sys::window() else {
        return Palette::default();
    };
    let root = window.document().and_then(|d| d.document_element());
    let style = root
        .as_ref()
        .and_then(|r| window.get_computed_style(r).ok().flatten());
    let var = |name: &str, fallback: &str| {
        style
            .as_ref()
            .and_then(|s| s.get_property_value(name).ok())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| fallback.to_owned())
    };
    let surface = var("--surface", "#ffffff");
    // Dark surfaces start with a low first hex digit (#171c23).
    let dark = surface.starts_with("#0") || surface.starts_with("#1") || surface.starts_with("#2");
    Palette {
        text: var("--text", "#17202b"),
        muted: var("--muted", "#5b6776"),
        grid: var("--border", "#dfe3e8"),
        surface,
        series: (if dark { SERIES_DARK } else { SERIES_LIGHT })
            .iter()
            .map(|s| s.to_string())
            .collect(),
    }
}

/// Frees an ECharts instance (its listeners and canvas); charming does not bind `dispose`.
#[cfg(feature = "hydrate")]
fn dispose(e: &charming::Echarts) {
    use wasm_bindgen::JsCast;
    let this: &wasm_bindgen::JsValue = e.as_ref();
    if let Ok(f) = js_sys::Reflect::get(this, &"dispose".into()) {
        if let Some(f) = f.dyn_ref::<js_sys::Function>() {
            let _ = f.call0(this);
        }
    }
}

/// A chart box. `option` makes the ECharts option from the palette and may read signals: the chart
/// follows them.
#[component]
pub fn EChart(
    /// A page-unique element id.
    id: &'static str,
    /// What the chart shows, for screen readers.
    label: Signal<String>,
    option: impl Fn(&Palette) -> charming::Chart + Send + Sync + 'static,
    #[prop(optional)] class: &'static str,
) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        use charming::{Echarts, WasmRenderer};
        let epoch = use_context::<ThemeEpoch>();
        let instance = StoredValue::new_local(None::<(Echarts, u32)>);
        Effect::new(move |_| {
            let theme = epoch.map(|e| e.0.get()).unwrap_or(0);
            let chart = option(&current_palette());
            let current = instance.with_value(|i| i.as_ref().map(|(_, t)| *t));
            match current {
                Some(t) if t == theme => instance.with_value(|i| {
                    if let Some((e, _)) = i {
                        WasmRenderer::update(e, &chart);
                    }
                }),
                _ => {
                    instance.with_value(|i| {
                        if let Some((e, _)) = i {
                            dispose(e);
                        }
                    });
                    if let Ok(e) = WasmRenderer::new_opt(None, None).render(id, &chart) {
                        instance.set_value(Some((e, theme)));
                    }
                }
            }
        });
        let resize = window_event_listener(leptos::ev::resize, move |_| {
            instance.with_value(|i| {
                if let Some((e, _)) = i {
                    e.resize(wasm_bindgen::JsValue::UNDEFINED);
                }
            });
        });
        on_cleanup(move || {
            resize.remove();
            instance.with_value(|i| {
                if let Some((e, _)) = i {
                    dispose(e);
                }
            });
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = option;
    view! {
        <div class=format!("chart {class}") id=id role="img" aria-label=move || label.get()></div>
    }
}
