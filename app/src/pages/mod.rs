//! One module per route, and [`say_briefly`], the pages' way of confirming what was done.

use leptos::prelude::*;

pub mod dashboard;
pub mod discover;
pub mod editor;
pub mod index_patterns;
pub mod networks;
pub mod objects;

/// A page whose code the browser fetches the first time it is shown (`cargo leptos build
/// --split` puts each in a WASM chunk of its own): the overview, the page most visits start on,
/// then downloads only what dashboards need. On the server they render as any page does.
macro_rules! lazy_pages {
    ($($route:ident => $page:path,)*) => {$(
        pub(crate) struct $route;

        #[leptos_router::lazy_route]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }
    )*};
}

lazy_pages! {
    DiscoverRoute => discover::DiscoverPage,
    FlowRoute => discover::flow::FlowPage,
    SavedSearchesRoute => objects::SavedSearchesPage,
    DashboardsRoute => objects::DashboardsPage,
    VisualizeListRoute => objects::VisualizeListPage,
    EditorRoute => editor::EditorPage,
    IndexPatternsRoute => index_patterns::IndexPatternsPage,
    NetworksRoute => networks::NetworksPage,
}

/// How long a confirmation ("Saved") stays.
const CONFIRMATION_MS: u64 = 5_000;

/// Shows a confirmation in a page's `message` for a few seconds; it goes then, unless
/// something else was said since (an error stays until dismissed).
pub(crate) fn say_briefly(message: RwSignal<Option<String>>, text: String) {
    message.set(Some(text.clone()));
    crate::browser::after(CONFIRMATION_MS, move || {
        // The page may have gone meanwhile, and its signal with it.
        if message.try_get_untracked().flatten().as_deref() == Some(text.as_str()) {
            message.try_set(None);
        }
    });
}
