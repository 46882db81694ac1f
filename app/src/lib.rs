#![recursion_limit = "512"]
//! flowdash's shared crate, compiled for the server (`ssr`) and for the browser (`hydrate`):
//! the domain model, the request builder, response → chart data, chart drawing and the UI.

pub mod api;
pub mod charts;
pub mod csv;
pub mod discover;
pub mod inspect;
pub mod markdown;
pub mod model;
pub mod panels;
pub mod query;
pub mod result;
pub mod state;
pub mod suggest;
pub mod theme;

mod components;
mod pages;

// The browser's glue, or outside it a twin that does nothing: gated here, not line by line.
#[cfg(feature = "hydrate")]
mod browser;
#[cfg(not(feature = "hydrate"))]
#[path = "browser/ssr.rs"]
mod browser;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, Link, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::SsrMode;
use leptos_router::{path, Lazy};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The theme the request's cookie chose, so the first paint is already in it.
    let theme = use_context::<theme::ThemeChoice>().unwrap_or_default();
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme.attr()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HashedStylesheet id="leptos" options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
                // Without JavaScript, panels stay the server's images (ChartPanel's first
                // paint); the canvases and buttons only a script can work are hidden.
                <noscript><style>".chart-frame canvas, .chart-frame .chart-status, .panel-actions { display: none; }"</style></noscript>
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
    components::account::provide_account();
    theme::provide_theme();
    // Effects run in the browser only: the server learns the viewer's zone for its images.
    Effect::new(|_| browser::tell_server_utc_offset());
    view! {
        <Link rel="icon" type_="image/png" href="/favicon.png"/>
        <Title text="flowdash"/>
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"flowdash"</a>
                <nav aria-label="Main">
                    <A href="/discover">"Discover"</A>
                    <A href="/dashboards">"Dashboards"</A>
                    <A href="/visualize">"Visualize"</A>
                    <A href="/management/index-patterns">"Index patterns"</A>
                    <A href="/management/networks">"Networks"</A>
                </nav>
                <theme::ThemeToggle/>
                <components::account::AccountMenu/>
            </header>
            <main>
                // In-order streaming: each page arrives as finished HTML, readable without JavaScript.
                <Routes fallback=|| view! { <div class="error-box"><h2>"Page not found"</h2><a href="/">"Back to the overview"</a></div> }>
                    <Route path=path!("/") view=pages::dashboard::DashboardPage ssr=SsrMode::InOrder/>
                    <Route path=path!("/discover") view={Lazy::<pages::DiscoverRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/discover/searches") view={Lazy::<pages::SavedSearchesRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/discover/flow/:index/:id") view={Lazy::<pages::FlowRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/dashboards") view={Lazy::<pages::DashboardsRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/dashboards/:id") view=pages::dashboard::DashboardPage ssr=SsrMode::InOrder/>
                    <Route path=path!("/visualize") view={Lazy::<pages::VisualizeListRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/visualize/:id") view={Lazy::<pages::EditorRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/management/index-patterns") view={Lazy::<pages::IndexPatternsRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/management/networks") view={Lazy::<pages::NetworksRoute>::new()} ssr=SsrMode::InOrder/>
                </Routes>
            </main>
        </Router>
    }
}
