//! `/management/networks`: the named address ranges (`10.0.0.0/16 = prod-vpc`) that splits by
//! network and by traffic direction use, written one a line, checked as they are typed, and an
//! address looked up against them.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{ApiError, ObjectsClient};
use crate::model::network::{Networks, NetworksObject, NETWORKS_ID, UNNAMED};
use crate::model::saved_object::ObjectType;
use crate::panels::sendable;

/// The stored text and its version, or an empty text when none is stored yet.
async fn stored(client: ObjectsClient) -> Result<(String, Option<u64>), ApiError> {
    match client
        .get(ObjectType::Networks, NETWORKS_ID.to_owned())
        .await
    {
        Ok(object) => {
            let text = serde_json::from_value::<NetworksObject>(object.attributes)
                .map(|o| o.text)
                .unwrap_or_default();
            Ok((text, Some(object.version)))
        }
        Err(ApiError::Server { status: 404, .. }) => Ok((String::new(), None)),
        Err(error) => Err(error),
    }
}

#[component]
pub fn NetworksPage() -> impl IntoView {
    let client = ObjectsClient::from_context();
    let loaded = Resource::new(
        || (),
        move |_| {
            let client = client.clone();
            sendable(stored(client))
        },
    );
    view! {
        <Title text="Networks · flowdash"/>
        <div class="list-page networks-page">
            <h1>"Networks"</h1>
            <p class="muted">"Name your address ranges, one "<code>"CIDR = name"</code>" a line. Visualizations split by source or destination network (the most specific range wins) and by traffic direction: an address in a private range or in a range named here is yours, unless the range is marked "<code>"(external)"</code>" or is a "<code>"/0"</code>"."</p>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match loaded.await {
                        Ok((text, version)) => view! { <NetworksEditor text version/> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn NetworksEditor(text: String, version: Option<u64>) -> impl IntoView {
    let text = RwSignal::new(text);
    let version = RwSignal::new(version);
    let parsed = Memo::new(move |_| text.with(|t| Networks::parse(t)));
    let message = RwSignal::new(None::<Result<String, String>>);
    let can_edit = crate::components::account::can_edit();
    let save = move || {
        let body = text.get_untracked();
        if let Err(error) = Networks::parse(&body) {
            message.set(Some(Err(error.to_string())));
            return;
        }
        leptos::task::spawn_local(async move {
            let attributes = serde_json::to_value(NetworksObject::new(body)).unwrap_or_default();
            let written = match version.get_untracked() {
                Some(v) => {
                    crate::api::calls::update(ObjectType::Networks, NETWORKS_ID, v, &attributes)
                        .await
                }
                None => {
                    crate::api::calls::create(ObjectType::Networks, Some(NETWORKS_ID), &attributes)
                        .await
                }
            };
            match written {
                Ok(object) => {
                    version.set(Some(object.version));
                    message.set(Some(Ok("Saved".into())));
                }
                Err(e) => message.set(Some(Err(e.to_string()))),
            }
        });
    };
    let address = RwSignal::new(String::new());
    let lookup = move || {
        let typed = address.get();
        let typed = typed.trim();
        if typed.is_empty() {
            return None;
        }
        let Ok(ip) = typed.parse::<std::net::IpAddr>() else {
            return Some(format!("{typed} is not an address"));
        };
        let networks = parsed.get().unwrap_or_default();
        let name = networks.name_of(ip).unwrap_or(UNNAMED);
        let own = if networks.is_internal(ip) {
            "yours"
        } else {
            "not yours"
        };
        Some(format!("{ip}: {name}, {own}"))
    };
    view! {
        <form class="networks-form" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); save(); }>
            <label class="field">"Named ranges"
                <textarea name="networks" rows="12" spellcheck="false" placeholder="10.0.0.0/16 = prod-vpc\n10.1.0.0/16 = staging\n0.0.0.0/0 = internet"
                    prop:value=move || text.get() on:input:target=move |ev| { text.set(ev.target().value()); message.set(None); }></textarea>
            </label>
            <p class="hint" aria-live="polite">{move || match parsed.get() {
                Ok(networks) if networks.is_empty() => "No ranges named yet.".to_owned(),
                Ok(networks) => format!("{} ranges", networks.0.len()),
                Err(error) => error.to_string(),
            }}</p>
            <Show when=move || can_edit.get()>
                <button type="submit" class="primary" disabled=move || parsed.get().is_err()>"Save"</button>
            </Show>
            {move || message.get().map(|m| match m {
                Ok(text) => view! { <p class="success" role="status">{text}</p> }.into_any(),
                Err(text) => view! { <p class="error" role="alert">{text}</p> }.into_any(),
            })}
        </form>
        <label class="field">"Look up an address"
            <input type="text" name="lookup" placeholder="10.0.5.9" prop:value=move || address.get() on:input:target=move |ev| address.set(ev.target().value())/>
        </label>
        <p class="lookup" aria-live="polite">{lookup}</p>
    }
}
