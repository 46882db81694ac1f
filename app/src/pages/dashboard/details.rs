//! What a dashboard says about itself: its description and tags under the title, and, while
//! it is edited, the fields that rename it and change both.

use leptos::prelude::*;

use crate::model::dashboard::{parse_tags, Dashboard};

#[component]
pub(super) fn DashboardDetails(
    dashboard: RwSignal<Dashboard>,
    editing: RwSignal<bool>,
) -> impl IntoView {
    let description = move || dashboard.with(|d| d.description.clone());
    let tags = move || dashboard.with(|d| d.tags.clone());
    // Tags are typed as a comma-separated line; what was typed stays while it is edited.
    let tags_text = RwSignal::new(dashboard.with_untracked(|d| d.tags.join(", ")));
    Effect::new(move |_| {
        if editing.get() {
            tags_text.set(dashboard.with_untracked(|d| d.tags.join(", ")));
        }
    });
    let shown = move || {
        let description = description();
        let tags = tags();
        (!description.is_empty() || !tags.is_empty()).then(|| {
            view! {
                <div class="dashboard-details">
                    {(!description.is_empty()).then(|| view! { <p class="description">{description}</p> })}
                    {(!tags.is_empty()).then(|| view! {
                        <ul class="tags" aria-label="Tags">
                            {tags.into_iter().map(|tag| {
                                let href = format!("/dashboards?search={}", crate::api::encode(&tag));
                                view! { <li><a class="tag" href=href title="Dashboards with this tag">{tag}</a></li> }
                            }).collect_view()}
                        </ul>
                    })}
                </div>
            }
        })
    };
    view! {
        <Show when=move || editing.get() fallback=shown>
            <div class="dashboard-details editing">
                <label>"Title "
                    <input type="text" name="dashboard-title" maxlength="200" required
                        prop:value=move || dashboard.with(|d| d.title.clone())
                        on:input:target=move |ev| { let title = ev.target().value(); dashboard.update(|d| d.title = title); }/>
                </label>
                <label>"Description "
                    <input type="text" name="dashboard-description" maxlength="2000"
                        prop:value=description
                        on:input:target=move |ev| { let text = ev.target().value(); dashboard.update(|d| d.description = text); }/>
                </label>
                <label>"Tags "
                    <input type="text" name="dashboard-tags" placeholder="prod, security"
                        prop:value=move || tags_text.get()
                        on:input:target=move |ev| {
                            let text = ev.target().value();
                            dashboard.update(|d| d.tags = parse_tags(&text));
                            tags_text.set(text);
                        }/>
                </label>
            </div>
        </Show>
    }
}
