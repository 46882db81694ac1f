//! Light and dark: the system's setting by default, or the user's choice from the top bar.
//!
//! The choice is kept in a cookie, so the server renders the page in it (`data-theme` on
//! `<html>`) and nothing flashes before hydration; "system" leaves the attribute out and the
//! stylesheet follows `prefers-color-scheme`. Charts, drawn on canvases, follow the same
//! answer through [`Theme::chart`].

use leptos::prelude::*;

use crate::charts::ChartTheme;

/// What the user chose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThemeChoice {
    /// Whatever the operating system says (`prefers-color-scheme`).
    #[default]
    System,
    /// Dark text on light panels.
    Light,
    /// Light text on dark panels.
    Dark,
}

/// The cookie that keeps the choice.
pub const THEME_COOKIE: &str = "flowdash-theme";

/// The cookie in which the browser tells the server whether the system prefers dark
/// (`dark` or `light`, written at every page load and whenever it changes): images the
/// server draws for a page that follows the system match it.
pub const SYSTEM_THEME_COOKIE: &str = "flowdash-system-theme";

impl ThemeChoice {
    /// The `data-theme` attribute of `<html>`: none for the system's.
    pub fn attr(self) -> Option<&'static str> {
        match self {
            ThemeChoice::System => None,
            ThemeChoice::Light => Some("light"),
            ThemeChoice::Dark => Some("dark"),
        }
    }

    /// The choice a `data-theme` attribute (or cookie value) stands for.
    pub fn from_attr(attr: Option<&str>) -> ThemeChoice {
        match attr {
            Some("light") => ThemeChoice::Light,
            Some("dark") => ThemeChoice::Dark,
            _ => ThemeChoice::System,
        }
    }

    /// The next one the toggle offers: system, dark, light, system…
    pub fn next(self) -> ThemeChoice {
        match self {
            ThemeChoice::System => ThemeChoice::Dark,
            ThemeChoice::Dark => ThemeChoice::Light,
            ThemeChoice::Light => ThemeChoice::System,
        }
    }

    /// Whether pages are dark under this choice, when the system prefers dark or not.
    pub fn is_dark(self, system_dark: bool) -> bool {
        match self {
            ThemeChoice::Dark => true,
            ThemeChoice::Light => false,
            ThemeChoice::System => system_dark,
        }
    }

    /// As the toggle names it.
    pub fn label(self) -> &'static str {
        match self {
            ThemeChoice::System => "System",
            ThemeChoice::Light => "Light",
            ThemeChoice::Dark => "Dark",
        }
    }
}

/// The page's theme: the choice, and what the system prefers (known once hydrated).
#[derive(Clone, Copy)]
pub struct Theme {
    choice: RwSignal<ThemeChoice>,
    system_dark: RwSignal<bool>,
}

impl Theme {
    /// Whether the page is dark now.
    pub fn is_dark(self) -> bool {
        self.choice.get().is_dark(self.system_dark.get())
    }

    /// The colours charts draw their surroundings in.
    pub fn chart(self) -> ChartTheme {
        ChartTheme::for_dark(self.is_dark())
    }
}

/// Makes the theme known to the page: on the server from the choice the request's cookie
/// carries (the server provides it), in the browser from the attribute the server rendered.
pub fn provide_theme() {
    let rendered = use_context::<ThemeChoice>()
        .unwrap_or_else(|| ThemeChoice::from_attr(crate::browser::theme_attr().as_deref()));
    let theme = Theme {
        choice: RwSignal::new(rendered),
        system_dark: RwSignal::new(false),
    };
    crate::browser::watch_prefers_dark(move |dark| {
        theme.system_dark.set(dark);
        crate::browser::set_cookie(SYSTEM_THEME_COOKIE, if dark { "dark" } else { "light" });
    });
    provide_context(theme);
}

/// The page's theme; light where none was provided (a component rendered on its own).
pub fn use_theme() -> Option<Theme> {
    use_context::<Theme>()
}

/// The top bar's button: system, dark, light in turn, kept for the next visit.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let theme = use_theme()?;
    let toggle = move |_| {
        let next = theme.choice.get_untracked().next();
        theme.choice.set(next);
        crate::browser::set_theme_attr(next.attr());
        crate::browser::set_cookie(THEME_COOKIE, next.attr().unwrap_or("system"));
    };
    Some(view! {
        <button type="button" class="link theme-toggle" on:click=toggle
            title="Light, dark, or as the system is set"
            aria-label=move || format!("Theme: {} (change)", theme.choice.get().label())>
            <span aria-hidden="true">"◐ "</span>{move || theme.choice.get().label()}
        </button>
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_choice_is_read_from_its_cookie_value() {
        let read = |value| ThemeChoice::from_attr(Some(value));
        assert_eq!(read("dark"), ThemeChoice::Dark);
        assert_eq!(read("light"), ThemeChoice::Light);
        assert_eq!(read("system"), ThemeChoice::System);
        assert_eq!(read("<script>"), ThemeChoice::System);
        let mut choice = ThemeChoice::System;
        let mut seen = Vec::new();
        for _ in 0..3 {
            choice = choice.next();
            seen.push(choice);
        }
        assert_eq!(
            seen,
            [ThemeChoice::Dark, ThemeChoice::Light, ThemeChoice::System]
        );
    }
}
