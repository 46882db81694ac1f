//! The time picker: quick ranges, recently used ranges (kept in the browser), and relative
//! (`now-15m`, `now/d`) or absolute bounds, typed or picked on a calendar.

use leptos::prelude::*;

use crate::model::time::{remember_range, TimeRange, QUICK_RANGES};
use crate::state::REFRESH_CHOICES;

/// Where the browser keeps the recently used ranges (JSON), shared by every page.
const RECENT_KEY: &str = "flowdash.recentTimeRanges";

fn recent_ranges() -> Vec<TimeRange> {
    crate::browser::storage_get(RECENT_KEY)
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

fn remember(used: &TimeRange) {
    let recent = remember_range(&recent_ranges(), used);
    if let Ok(json) = serde_json::to_string(&recent) {
        crate::browser::storage_set(RECENT_KEY, &json);
    }
}

/// A bound as a calendar input shows it (`2026-12-01T08:00`), when it is a plain local time.
fn calendar_value(bound: &str) -> String {
    let local = bound.as_bytes().get(10) == Some(&b'T')
        && !bound.ends_with('Z')
        && bound
            .get(10..)
            .is_some_and(|time| !time.contains(['+', '-']));
    match bound.get(..16) {
        Some(minutes) if local => minutes.to_owned(),
        _ => String::new(),
    }
}

#[component]
pub fn TimePicker(
    #[prop(into)] value: Signal<TimeRange>,
    on_change: Callback<TimeRange>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    // The viewer's offset, known once the page runs in the browser (the server renders UTC).
    let utc_offset = RwSignal::new(0);
    Effect::new(move |_| utc_offset.set(crate::browser::utc_offset_secs()));
    let recent = RwSignal::new(Vec::<TimeRange>::new());
    let toggle = move |_| {
        let current = value.get_untracked();
        from.set(current.from);
        to.set(current.to);
        error.set(None);
        recent.set(recent_ranges());
        open.update(|o| *o = !*o);
    };
    let choose = move |range: TimeRange| {
        open.set(false);
        remember(&range);
        on_change.run(range);
    };
    let apply = move || {
        let range = TimeRange {
            from: from.get_untracked(),
            to: to.get_untracked(),
        };
        match range.resolve(chrono::Utc::now().timestamp_millis(), 0) {
            Ok(_) => choose(range),
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    let chip = move |label: String, range: TimeRange| {
        view! { <button class="chip" on:click=move |_| choose(range.clone())>{label}</button> }
    };
    view! {
        <div class="time-picker" on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { open.set(false) }>
            <button class="time-button" aria-haspopup="dialog" aria-expanded=move || open.get().to_string() on:click=toggle>
                <span aria-hidden="true">"◷ "</span>{move || value.get().label(utc_offset.get())}
            </button>
            <Show when=move || open.get()>
                <div class="popover" role="dialog" aria-label="Time range">
                    <h3 class="picker-heading">"Commonly used"</h3>
                    <div class="quick-ranges" role="group" aria-label="Commonly used">
                        {QUICK_RANGES.iter().map(|(label, f, t)| {
                            chip((*label).to_owned(), TimeRange { from: (*f).into(), to: (*t).into() })
                        }).collect_view()}
                    </div>
                    <Show when=move || !recent.with(Vec::is_empty)>
                        <h3 class="picker-heading">"Recently used"</h3>
                        <div class="quick-ranges recent-ranges" role="group" aria-label="Recently used">
                            {move || recent.get().into_iter().map(|range| chip(range.label(utc_offset.get()), range)).collect_view()}
                        </div>
                    </Show>
                    <form class="range-form" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); apply(); }>
                        <label>"From"<input type="text" name="from" prop:value=move || from.get() on:input:target=move |ev| from.set(ev.target().value())/></label>
                        <label>"To"<input type="text" name="to" prop:value=move || to.get() on:input:target=move |ev| to.set(ev.target().value())/></label>
                        <button type="submit" class="primary">"Apply"</button>
                        <label>"From (calendar)"<input type="datetime-local" name="from-calendar" prop:value=move || calendar_value(&from.get()) on:change:target=move |ev| { let v = ev.target().value(); if !v.is_empty() { from.set(v) } }/></label>
                        <label>"To (calendar)"<input type="datetime-local" name="to-calendar" prop:value=move || calendar_value(&to.get()) on:change:target=move |ev| { let v = ev.target().value(); if !v.is_empty() { to.set(v) } }/></label>
                    </form>
                    <p class="hint">"Date math such as now-15m, now/d, or dates in your time zone such as 2026-11-27T08:00"</p>
                    <TimeZoneChoice/>
                    {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                </div>
            </Show>
        </div>
    }
}

/// The time zone of every page: the browser's, or a named one kept in the browser. A change
/// loads the page again, so that every label, bucket and typed date follows it.
#[component]
fn TimeZoneChoice() -> impl IntoView {
    let chosen = RwSignal::new(None::<&'static str>);
    Effect::new(move |_| chosen.set(crate::browser::chosen_time_zone()));
    view! {
        <label class="time-zone">"Time zone "
            <select name="time-zone" on:change:target=move |ev| {
                crate::browser::set_time_zone(crate::model::time::known_time_zone(&ev.target().value()));
                crate::browser::reload();
            }>
                <option value="" prop:selected=move || chosen.get().is_none()>"The browser's"</option>
                {crate::model::time::TIME_ZONES.iter().map(|zone| view! {
                    <option value=*zone prop:selected=move || chosen.get() == Some(*zone)>{zone.replace('_', " ")}</option>
                }).collect_view()}
            </select>
        </label>
    }
}

#[component]
pub fn RefreshPicker(
    #[prop(into)] value: Signal<Option<u64>>,
    on_change: Callback<Option<u64>>,
) -> impl IntoView {
    view! {
        <label class="refresh-picker">
            <span class="visually-hidden">"Auto-refresh"</span>
            <select on:change:target=move |ev| on_change.run(ev.target().value().parse().ok())>
                {REFRESH_CHOICES.iter().map(|(label, ms)| {
                    let ms = *ms;
                    view! { <option value=ms.map(|m| m.to_string()).unwrap_or_default() selected=move || value.get() == ms>{format!("⟳ {label}")}</option> }
                }).collect_view()}
            </select>
        </label>
    }
}
