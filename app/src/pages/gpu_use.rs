//! GPU use per request on the model health page: for providers tied to a monitored host's
//! GPU, the GPU-seconds and energy their calls used beside what they cost; a form ties a
//! provider to a GPU.

use leptos::{prelude::*, task::spawn_local};

use crate::{
    api,
    components::load::{Load, LoadStatus},
    format,
    types::gpu::{GpuAttribution, GpuBindingInput},
};

fn field_label(field: &str) -> &'static str {
    match field {
        "provider" => "Provider",
        "host" => "Host",
        "gpu" => "GPU",
        _ => "Binding",
    }
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.digits$}"))
}

/// The card; `range` is the page's preset (attribution reads a day at most).
#[component]
pub fn GpuUse(range: Signal<String>) -> impl IntoView {
    let data = RwSignal::new(None::<GpuAttribution>);
    let load = RwSignal::new(Load::Loading);
    let clipped = move || !matches!(range.get().as_str(), "1h" | "24h");
    let fetch = move || {
        let r = if clipped() {
            "24h".to_owned()
        } else {
            range.get_untracked()
        };
        spawn_local(async move {
            match api::gpu::attribution(vec![("range", r)]).await {
                Ok(d) => {
                    data.set(Some(d));
                    load.set(Load::Ready);
                }
                Err(e) => load.set(Load::Failed(e.message().to_owned())),
            }
        });
    };
    Effect::new(move |_| {
        range.track();
        fetch();
    });

    let provider = RwSignal::new(String::new());
    let host = RwSignal::new(String::new());
    let gpu = RwSignal::new("0".to_owned());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let Ok(index) = gpu.get_untracked().trim().parse::<i64>() else {
            error.set(Some(
                "GPU: give the GPU's index on the host, 0 or more".into(),
            ));
            return;
        };
        let name = provider.get_untracked().trim().to_owned();
        if name.is_empty() {
            error.set(Some("Provider: name the provider its calls carry".into()));
            return;
        }
        let input = GpuBindingInput {
            host: host.get_untracked(),
            gpu: index,
        };
        spawn_local(async move {
            match api::gpu::put_binding(&name, &input).await {
                Ok(_) => {
                    provider.set(String::new());
                    fetch();
                }
                Err(e) => error.set(Some(format!(
                    "{}: {}",
                    field_label(e.body.field.as_deref().unwrap_or("")),
                    e.message()
                ))),
            }
        });
    };
    let untie = move |name: String| {
        spawn_local(async move {
            match api::gpu::delete_binding(&name).await {
                Ok(_) => fetch(),
                Err(e) => error.set(Some(e.message().to_owned())),
            }
        });
    };

    view! {
        <section class="card" aria-labelledby="gpu-use-title" data-testid="gpu-use">
            <div class="card-head">
                <h2 id="gpu-use-title">"GPU use per request"</h2>
                <span class="muted">
                    {move || if clipped() { "last 24 hours (raw GPU samples)" } else { "GPU samples joined with each call's time" }}
                </span>
            </div>
            <LoadStatus load what="GPU use" retry=Callback::new(move |_| fetch()) />
            {move || data.with(|d| d.as_ref().map(|d| {
                if d.bindings.is_empty() {
                    return view! {
                        <p class="empty">"No provider is tied to a GPU yet. Tie one below to see GPU-seconds and energy per call for its self-hosted models."</p>
                    }.into_any();
                }
                if d.models.is_empty() {
                    return view! { <p class="empty">"No calls of the tied providers in this range."</p> }.into_any();
                }
                view! {
                    <div class="table-wrap">
                        <table class="table">
                            <thead><tr>
                                <th scope="col">"Model"</th>
                                <th scope="col">"GPU"</th>
                                <th scope="col" class="num">"Calls"</th>
                                <th scope="col" class="num">"GPU-seconds"</th>
                                <th scope="col" class="num">"Per call"</th>
                                <th scope="col" class="num">"Energy"</th>
                                <th scope="col" class="num">"Per call"</th>
                                <th scope="col" class="num">"Cost"</th>
                            </tr></thead>
                            <tbody>
                                {d.models.iter().map(|m| view! {
                                    <tr data-testid="gpu-model-row">
                                        <td data-label="Model"><strong>{m.model.clone()}</strong><span class="muted">" · " {m.provider.clone()}</span></td>
                                        <td data-label="GPU">{format!("{} #{}", m.host, m.gpu)}</td>
                                        <td class="num" data-label="Calls">{format::count(m.calls as i64)}</td>
                                        <td class="num" data-label="GPU-seconds">{format!("{:.1} s", m.gpu_seconds)}</td>
                                        <td class="num" data-label="GPU-s per call">{num(m.gpu_seconds_per_call, 2)} " s"</td>
                                        <td class="num" data-label="Energy">{format!("{:.2} Wh", m.energy_wh)}</td>
                                        <td class="num" data-label="Wh per call">{num(m.wh_per_call, 3)} " Wh"</td>
                                        <td class="num" data-label="Cost">{format::usd_micros(Some(m.cost_micros))}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <p class="muted small">
                        {d.gpus.iter().map(|g| format!(
                            "{} #{}: {:.1} GPU-s and {:.2} Wh with no call running ({} samples). ",
                            g.host, g.gpu, g.idle_gpu_seconds, g.idle_energy_wh, g.samples
                        )).collect::<String>()}
                    </p>
                }.into_any()
            }))}
            {move || data.with(|d| d.as_ref().filter(|d| !d.bindings.is_empty()).map(|d| view! {
                <ul class="plain-list" aria-label="Providers tied to a GPU">
                    {d.bindings.iter().map(|b| {
                        let name = b.provider.clone();
                        view! {
                            <li>
                                <span>{format!("{} → {} GPU #{}", b.provider, b.host, b.gpu)}</span>
                                <button type="button" class="button button-ghost"
                                    aria-label=format!("Untie {}", b.provider)
                                    on:click=move |_| untie(name.clone())>"Untie"</button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }))}
            <form class="form form-grid" on:submit=submit novalidate aria-label="Tie a provider to a GPU">
                <label class="field" for="gpu-provider">
                    <span>"Provider"</span>
                    <input id="gpu-provider" type="text" maxlength="100" placeholder="vllm"
                        prop:value=move || provider.get() on:input=move |ev| provider.set(event_target_value(&ev)) />
                </label>
                <label class="field" for="gpu-host">
                    <span>"Host"</span>
                    <input id="gpu-host" type="text" maxlength="253" placeholder="gpu-01"
                        prop:value=move || host.get() on:input=move |ev| host.set(event_target_value(&ev)) />
                </label>
                <label class="field" for="gpu-index">
                    <span>"GPU index"</span>
                    <input id="gpu-index" type="number" min="0" max="1023" inputmode="numeric"
                        prop:value=move || gpu.get() on:input=move |ev| gpu.set(event_target_value(&ev)) />
                </label>
                <div class="form-actions field-wide">
                    <button type="submit" class="button button-primary">"Tie to GPU"</button>
                </div>
            </form>
            <p class="field-error" role="alert" data-testid="gpu-error">{move || error.get()}</p>
        </section>
    }
}
