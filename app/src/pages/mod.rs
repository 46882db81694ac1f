//! One module per route, and [`say_briefly`], the pages' way of confirming what was done.

use leptos::prelude::*;

pub mod dashboard;
pub mod discover;
pub mod editor;
pub mod index_patterns;
pub mod networks;
pub mod objects;

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
