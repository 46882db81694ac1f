//! "Share" and "Short link", for dashboards and Discover: the link to the view is always
//! shown in a field to select, and copied too where the browser allows it (the clipboard
//! exists only in secure contexts, HTTPS and localhost, not on a plain-HTTP team server).

use leptos::prelude::*;

#[component]
pub fn ShareLinks(
    /// The full address of the view, made when a link is asked for.
    link: Callback<(), String>,
    /// Where to say whether the link was copied, or why there is none.
    message: RwSignal<Option<String>>,
) -> impl IntoView {
    let shared = RwSignal::new(None::<String>);
    let show = move |link: String, what: &str| {
        let copied = crate::browser::copy_to_clipboard(&link);
        shared.set(Some(link));
        message.set(Some(if copied {
            format!("{what} copied")
        } else {
            format!("{what} below: select it to copy")
        }));
    };
    let share = move |short: bool| {
        let full = link.run(());
        if !short {
            show(full, "Link");
            return;
        }
        leptos::task::spawn_local(async move {
            match crate::api::calls::shorten(&full).await {
                Ok(short_id) => show(
                    format!("{}/goto/{short_id}", crate::browser::origin()),
                    "Short link",
                ),
                Err(error) => message.set(Some(format!("No short link: {error}"))),
            }
        });
    };
    view! {
        <button on:click=move |_| share(false) title="Copy a link to this view">"Share"</button>
        <button on:click=move |_| share(true) title="Copy a short link to this view">"Short link"</button>
        {move || shared.get().map(|link| view! {
            <div class="share-link">
                <label>"Link to this view"
                    <input type="text" name="share_link" readonly=true prop:value=link on:focus:target=move |ev| ev.target().select()/>
                </label>
                <button class="link" on:click=move |_| shared.set(None)>"Close"</button>
            </div>
        })}
    }
}
