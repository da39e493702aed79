//! Hydrates the server-rendered page in the browser.

// Leptos' typed views nest deeply; the release build of the WASM needs the headroom.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    app::hydrate();
}
