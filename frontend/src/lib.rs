#![recursion_limit = "512"]
//! The browser entry point: hydrate the page the server rendered.

// The server renders with Leptos's views erased (`.cargo/config.toml`); a bundle built without
// them would not hydrate its pages. RUSTFLAGS, or a target's own rustflags, replace the
// file's flags rather than adding to them.
#[cfg(not(erase_components))]
compile_error!("build with `--cfg erase_components` as the server is (see .cargo/config.toml); RUSTFLAGS replaces the flags set there");

/// Called by the page's bootstrap script once the WASM is loaded: hydrates the server-rendered
/// `<body>` with the UI, so it becomes interactive. Hydration waits for the chunk of a page
/// loaded lazily (`app::pages`), so it runs as a task.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        else {
            return;
        };
        leptos::mount::hydrate_from_async(body.clone(), app::App)
            .await
            .forget();
        // Lets tests (and curious users) tell a hydrated page from server-rendered HTML.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
