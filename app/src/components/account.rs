//! Who is logged in (with `--auth users` or `proxy`), read from `/api/me` once the page has
//! hydrated: the top bar shows the user and a log-out button, and pages hide the changes the
//! user's role may not make (the server refuses them anyway). The server's render shows
//! every control, as before any login is known.

use leptos::prelude::*;
use serde::Deserialize;

/// The answer of `GET /api/me`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Me {
    pub user: Option<String>,
    pub role: Option<String>,
}

impl Me {
    fn role(&self) -> &str {
        self.role.as_deref().unwrap_or("admin")
    }
}

/// The logged-in user, shared by the top bar and the pages.
#[derive(Clone, Copy)]
pub struct Account(RwSignal<Option<Me>>);

/// Makes the account known to the pages and asks the server who is logged in.
pub fn provide_account() {
    let account = Account(RwSignal::new(None));
    provide_context(account);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(me) = crate::api::http::get_json::<Me>("/api/me").await {
                account.0.set(Some(me));
            }
        });
    });
}

/// Whether the user may change saved objects (editor or admin).
pub fn can_edit() -> Signal<bool> {
    may(|role| matches!(role, "editor" | "admin"))
}

/// Whether the user may manage index patterns (admin).
pub fn can_administer() -> Signal<bool> {
    may(|role| role == "admin")
}

fn may(allowed: fn(&str) -> bool) -> Signal<bool> {
    let account = use_context::<Account>();
    Signal::derive(move || {
        account
            .and_then(|a| a.0.get())
            .is_none_or(|me| allowed(me.role()))
    })
}

/// The user and a log-out button, when someone is logged in.
#[component]
pub fn AccountMenu() -> impl IntoView {
    let account = expect_context::<Account>();
    let log_out = move |_| {
        leptos::task::spawn_local(async move {
            let _ = crate::api::http::post_text("/api/logout", "{}", "application/json").await;
            crate::api::http::go_to("/login");
        });
    };
    move || {
        account
            .0
            .get()
            .and_then(|me| me.user.clone().filter(|u| u != "anonymous").map(|user| (user, me)))
            .map(|(user, me)| {
                view! {
                    <span class="account">
                        <span class="account-user" title=format!("Role: {}", me.role())>{user}" · "{me.role().to_owned()}</span>
                        <button class="link" on:click=log_out>"Log out"</button>
                    </span>
                }
            })
    }
}
