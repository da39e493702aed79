//! The login page: a plain HTML form posted to `/auth/login`, so it works before (and
//! without) the WASM. Errors come back as `?error=<code>`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::{brand::Brand, theme::ThemeToggle};

fn error_text(code: &str) -> &'static str {
    match code {
        "invalid" => "Wrong username or password.",
        "rate_limited" => "Too many attempts. Wait a minute, then try again.",
        "missing" => "Enter your username and password.",
        _ => "Something went wrong on the server. Try again.",
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.read().get("error").map(|c| error_text(&c));
    let next = move || query.read().get("next").unwrap_or_else(|| "/".to_owned());
    view! {
        <Title text="Log in" />
        <div class="login-screen">
            <div class="login-theme"><ThemeToggle /></div>
            <main class="login-card" id="main">
                <Brand large=true />
                <h1>"Log in"</h1>
                <p class="muted">"Performance, cost and budgets of your AI stack."</p>
                {move || error().map(|text| view! { <p class="alert alert-error" role="alert">{text}</p> })}
                <form method="post" action="/auth/login" class="form">
                    <input type="hidden" name="next" value=next />
                    <label class="field">
                        <span>"Username"</span>
                        <input name="username" type="text" autocomplete="username" required autofocus />
                    </label>
                    <label class="field">
                        <span>"Password"</span>
                        <input name="password" type="password" autocomplete="current-password" required />
                    </label>
                    <button type="submit" class="button button-primary button-block">"Log in"</button>
                </form>
                <p class="hint">
                    "First start? The admin password was printed in the server's output, or set it with "
                    <code>"SIGHTLINE_ADMIN_PASSWORD"</code> "."
                </p>
            </main>
        </div>
    }
}
