//! The time picker: quick ranges, and relative (`now-15m`, `now/d`) or absolute bounds.

use leptos::prelude::*;

use crate::model::time::{TimeRange, QUICK_RANGES};
use crate::state::REFRESH_CHOICES;

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
    let toggle = move |_| {
        let current = value.get_untracked();
        from.set(current.from);
        to.set(current.to);
        error.set(None);
        open.update(|o| *o = !*o);
    };
    let apply = move || {
        let range = TimeRange {
            from: from.get_untracked(),
            to: to.get_untracked(),
        };
        match range.resolve(chrono::Utc::now().timestamp_millis(), 0) {
            Ok(_) => {
                open.set(false);
                on_change.run(range);
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    view! {
        <div class="time-picker" on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { open.set(false) }>
            <button class="time-button" aria-haspopup="dialog" aria-expanded=move || open.get().to_string() on:click=toggle>
                <span aria-hidden="true">"◷ "</span>{move || value.get().label(utc_offset.get())}
            </button>
            <Show when=move || open.get()>
                <div class="popover" role="dialog" aria-label="Time range">
                    <div class="quick-ranges">
                        {QUICK_RANGES.iter().map(|(label, f, t)| {
                            let range = TimeRange { from: (*f).into(), to: (*t).into() };
                            view! { <button class="chip" on:click=move |_| { open.set(false); on_change.run(range.clone()); }>{*label}</button> }
                        }).collect_view()}
                    </div>
                    <form class="range-form" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); apply(); }>
                        <label>"From"<input type="text" name="from" prop:value=move || from.get() on:input:target=move |ev| from.set(ev.target().value())/></label>
                        <label>"To"<input type="text" name="to" prop:value=move || to.get() on:input:target=move |ev| to.set(ev.target().value())/></label>
                        <button type="submit" class="primary">"Apply"</button>
                    </form>
                    <p class="hint">"Date math such as now-15m, now/d, or dates such as 2026-11-27T08:00"</p>
                    {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                </div>
            </Show>
        </div>
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
