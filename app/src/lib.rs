//! flowdash's shared crate, compiled for the server (`ssr`) and for the browser (`hydrate`):
//! the domain model, the request builder, response → chart data, chart drawing and the UI.

pub mod api;
pub mod charts;
pub mod model;
pub mod query;
pub mod result;

mod components;
mod pages;

#[cfg(feature = "hydrate")]
mod browser;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: navigation and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/flowdash.css"/>
        <Title text="flowdash"/>
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"flowdash"</a>
            </header>
            <main>
                <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                    <Route path=path!("/") view=pages::home::HomePage/>
                </Routes>
            </main>
        </Router>
    }
}
