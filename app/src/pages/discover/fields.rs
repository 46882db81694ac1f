//! Discover's field list: the chosen columns, then the index pattern's fields grouped by type,
//! searchable and narrowed to one type; a field's top five values in the flows on the page
//! (saying so, as Kibana does), with filters for and against each, a column toggle and
//! "Visualize".

use std::collections::HashMap;

use leptos::prelude::*;
use serde_json::Value;

use super::{DiscoverUrl, Flows};
use crate::api::encode;
use crate::discover::{cell_text, field_text, field_value};
use crate::model::field_format::FieldFormats;
use crate::model::filter::Filter;
use crate::model::index_pattern::{time_field_of, FieldSpec, IndexPattern};

/// A field's most common values among `rows`: `(value, count)`, most common first, at most 5.
pub(crate) fn top_values(
    rows: &[&serde_json::Map<String, Value>],
    field: &str,
) -> Vec<(Value, usize)> {
    let mut counts: HashMap<String, (Value, usize)> = HashMap::new();
    for row in rows {
        if let Some(value) = field_value(row, field) {
            if value.is_null() {
                continue;
            }
            counts
                .entry(value.to_string())
                .or_insert_with(|| (value.clone(), 0))
                .1 += 1;
        }
    }
    let mut top: Vec<(Value, usize)> = counts.into_values().collect();
    top.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| cell_text(&a.0).cmp(&cell_text(&b.0)))
    });
    top.truncate(5);
    top
}

/// The kinds of field the list is grouped by, in the order the groups are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum FieldGroup {
    Address,
    Number,
    Keyword,
    Text,
    Date,
    Other,
}

impl FieldGroup {
    pub(crate) const ALL: [FieldGroup; 6] = [
        FieldGroup::Address,
        FieldGroup::Number,
        FieldGroup::Keyword,
        FieldGroup::Text,
        FieldGroup::Date,
        FieldGroup::Other,
    ];

    pub(crate) fn of(field_type: &str) -> FieldGroup {
        match field_type {
            "ip" => FieldGroup::Address,
            "long" | "integer" | "short" | "byte" | "double" | "float" | "half_float"
            | "scaled_float" | "unsigned_long" => FieldGroup::Number,
            "keyword" | "constant_keyword" | "string" => FieldGroup::Keyword,
            "text" | "match_only_text" => FieldGroup::Text,
            "date" | "date_nanos" => FieldGroup::Date,
            _ => FieldGroup::Other,
        }
    }

    /// The group's heading, and the value of its entry in the type filter.
    pub(crate) fn name(self) -> &'static str {
        match self {
            FieldGroup::Address => "Addresses",
            FieldGroup::Number => "Numbers",
            FieldGroup::Keyword => "Keywords",
            FieldGroup::Text => "Text",
            FieldGroup::Date => "Dates",
            FieldGroup::Other => "Other",
        }
    }

    fn badge(self) -> &'static str {
        match self {
            FieldGroup::Address => "IP",
            FieldGroup::Number => "#",
            FieldGroup::Keyword => "k",
            FieldGroup::Text => "T",
            FieldGroup::Date => "◷",
            FieldGroup::Other => "?",
        }
    }
}

/// The list's sections: the selected columns first (in column order), then the other fields
/// by group, each by name. Fields are kept when their name contains `words` and, when a group
/// is chosen, they are of it.
pub(crate) fn field_sections(
    fields: &[FieldSpec],
    columns: &[String],
    words: &str,
    only: Option<FieldGroup>,
) -> Vec<(String, Vec<FieldSpec>)> {
    let words = words.trim().to_lowercase();
    let kept = |f: &&FieldSpec| {
        f.name.to_lowercase().contains(&words)
            && only.is_none_or(|group| FieldGroup::of(&f.field_type) == group)
    };
    let mut sections = Vec::new();
    let selected: Vec<FieldSpec> = columns
        .iter()
        .filter_map(|column| fields.iter().find(|f| f.name == *column))
        .filter(kept)
        .cloned()
        .collect();
    if !selected.is_empty() {
        sections.push(("Selected fields".to_owned(), selected));
    }
    for group in FieldGroup::ALL {
        let mut members: Vec<FieldSpec> = fields
            .iter()
            .filter(|f| FieldGroup::of(&f.field_type) == group && !columns.contains(&f.name))
            .filter(kept)
            .cloned()
            .collect();
        members.sort_by(|a, b| a.name.cmp(&b.name));
        if !members.is_empty() {
            sections.push((group.name().to_owned(), members));
        }
    }
    sections
}

#[component]
pub(crate) fn FieldList(
    url: DiscoverUrl,
    patterns: StoredValue<Vec<IndexPattern>>,
    pattern_fields: Signal<Vec<FieldSpec>>,
    formats: Memo<FieldFormats>,
    flows: RwSignal<Flows>,
    add_filters: Callback<Vec<Filter>>,
) -> impl IntoView {
    let search = RwSignal::new(String::new());
    let open = RwSignal::new(None::<String>);
    let fields = Memo::new(move |_| {
        let pattern = url.state.with(|s| s.pattern().to_owned());
        let time_field = patterns.with_value(|p| time_field_of(p, &pattern).to_owned());
        let mut fields = pattern_fields.get();
        // Fields seen in the flows also count, for patterns whose fields were never read.
        if fields.is_empty() {
            let mut seen: Vec<String> = flows.with(|f| {
                f.page
                    .rows
                    .iter()
                    .flat_map(|r| r.source.keys().cloned())
                    .collect()
            });
            seen.sort();
            seen.dedup();
            fields = seen
                .into_iter()
                .map(|name| FieldSpec {
                    name,
                    field_type: "keyword".into(),
                    aggregatable: true,
                    searchable: true,
                })
                .collect();
        }
        fields.retain(|f| f.name != time_field && !f.name.starts_with('_'));
        fields
    });
    let only = RwSignal::new(None::<FieldGroup>);
    let sections = move || {
        let columns = url.state.with(|s| s.columns.clone());
        fields.with(|fields| field_sections(fields, &columns, &search.get(), only.get()))
    };
    let toggle_column = move |name: String| url.change(|s| s.with_column_toggled(&name));
    let field_row = move |field: FieldSpec| {
        let name = StoredValue::new(field.name.clone());
        let group = FieldGroup::of(&field.field_type);
        let is_open = move || open.get().as_deref() == Some(name.get_value().as_str());
        let in_columns = move || url.state.with(|s| s.columns.contains(&name.get_value()));
        let toggle_open = move |_| {
            let this = name.get_value();
            open.update(|o| {
                *o = if o.as_deref() == Some(this.as_str()) {
                    None
                } else {
                    Some(this)
                }
            })
        };
        view! {
            <li class="field" data-field=name.get_value()>
                <div class="field-row">
                    <span class="field-type" title=field.field_type.clone()>{group.badge()}</span>
                    <button class="link field-name" aria-expanded=move || is_open().to_string() on:click=toggle_open>{name.get_value()}</button>
                    <button class="small" aria-label=move || format!("{} column {}", if in_columns() { "Remove" } else { "Add" }, name.get_value()) on:click=move |_| toggle_column(name.get_value())>
                        {move || if in_columns() { "−" } else { "+" }}
                    </button>
                </div>
                <Show when=is_open>
                    <FieldDetails field=name.get_value() aggregatable=field.aggregatable searchable=field.searchable formats flows add_filters url/>
                </Show>
            </li>
        }
    };
    let choose_group = move |value: String| {
        only.set(FieldGroup::ALL.into_iter().find(|g| g.name() == value));
    };
    view! {
        <aside class="field-list" aria-label="Fields">
            <div class="field-filters">
                <input type="search" class="field-search" aria-label="Search field names" placeholder="Search field names"
                    prop:value=move || search.get() on:input:target=move |ev| search.set(ev.target().value())/>
                <select aria-label="Field type" on:change:target=move |ev| choose_group(ev.target().value())>
                    <option value="">"All types"</option>
                    {FieldGroup::ALL.into_iter().map(|g| view! { <option value=g.name()>{g.name()}</option> }).collect_view()}
                </select>
            </div>
            {move || sections().into_iter().map(|(heading, members)| view! {
                <section class="field-group" data-group=heading.clone()>
                    <h3>{heading.clone()}<span class="count">{members.len()}</span></h3>
                    <ul>{members.into_iter().map(field_row).collect_view()}</ul>
                </section>
            }).collect_view()}
        </aside>
    }
}

/// A field's top values in the page's flows, each with filter buttons.
#[component]
fn FieldDetails(
    field: String,
    aggregatable: bool,
    /// Whether a filter on it can find flows: a cluster's GeoIP fields, added to hits as
    /// they are answered, cannot.
    searchable: bool,
    formats: Memo<FieldFormats>,
    flows: RwSignal<Flows>,
    add_filters: Callback<Vec<Filter>>,
    url: DiscoverUrl,
) -> impl IntoView {
    let field = StoredValue::new(field);
    let values = Memo::new(move |_| {
        flows.with(|f| {
            let rows: Vec<&serde_json::Map<String, Value>> =
                f.page.rows.iter().map(|r| &r.source).collect();
            (field.with_value(|name| top_values(&rows, name)), rows.len())
        })
    });
    let visualize = move || {
        let pattern = url.state.with(|s| s.pattern().to_owned());
        format!(
            "/visualize/new?index={}&field={}",
            encode(&pattern),
            encode(&field.get_value())
        )
    };
    view! {
        <div class="field-details">
            <p class="hint">{move || {
                let (top, sample) = values.get();
                if top.is_empty() { format!("No values in these {sample} flows") } else { format!("Top 5 values in these {sample} flows") }
            }}</p>
            <ul>
                {move || {
                    let (top, sample) = values.get();
                    top.into_iter().map(|(value, count)| {
                        let text = formats.with(|f| field_text(f, &field.get_value(), &value));
                        let share = if sample > 0 { count as f64 * 100.0 / sample as f64 } else { 0.0 };
                        let for_value = value.clone();
                        let against = value.clone();
                        let (for_text, out_text) = (text.clone(), text.clone());
                        view! {
                            <li class="top-value">
                                <span class="value-text">{text.clone()}</span>
                                <span class="value-share">{format!("{share:.0}%")}</span>
                                {searchable.then(|| view! {
                                    <button class="small" aria-label=format!("Filter for {} {for_text}", field.get_value()) on:click=move |_| add_filters.run(vec![Filter::phrase(&field.get_value(), for_value.clone())])>"+"</button>
                                    <button class="small" aria-label=format!("Filter out {} {out_text}", field.get_value()) on:click=move |_| {
                                        let mut filter = Filter::phrase(&field.get_value(), against.clone());
                                        filter.negate = true;
                                        add_filters.run(vec![filter]);
                                    }>"−"</button>
                                })}
                            </li>
                        }
                    }).collect_view()
                }}
            </ul>
            {aggregatable.then(|| view! { <a class="button small" href=visualize>"Visualize"</a> })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fields_are_listed_selected_first_then_by_type() {
        let fields = [
            FieldSpec::new("srcport", "long"),
            FieldSpec::new("srcaddr", "ip"),
            FieldSpec::new("action", "keyword"),
            FieldSpec::new("dstaddr", "ip"),
            FieldSpec::new("@message", "text"),
            FieldSpec::new("bytes", "long"),
        ];
        let names = |sections: Vec<(String, Vec<FieldSpec>)>| -> Vec<(String, Vec<String>)> {
            sections
                .into_iter()
                .map(|(h, f)| (h, f.into_iter().map(|f| f.name).collect()))
                .collect()
        };
        let columns = ["bytes".to_owned(), "action".to_owned()];
        assert_eq!(
            names(field_sections(&fields, &columns, "", None)),
            [
                ("Selected fields", vec!["bytes", "action"]),
                ("Addresses", vec!["dstaddr", "srcaddr"]),
                ("Numbers", vec!["srcport"]),
                ("Text", vec!["@message"]),
            ]
            .map(|(h, f)| (h.to_owned(), f.into_iter().map(str::to_owned).collect()))
        );
        // Searching and choosing a type narrow every section.
        assert_eq!(
            names(field_sections(
                &fields,
                &columns,
                " ADDR",
                Some(FieldGroup::Address)
            )),
            [(
                "Addresses".to_owned(),
                vec!["dstaddr".to_owned(), "srcaddr".to_owned()]
            )]
        );
        assert!(field_sections(&fields, &columns, "port", Some(FieldGroup::Date)).is_empty());
    }

    #[test]
    fn top_values_count_the_page_most_common_first() {
        let rows = [
            json!({ "dstport": 22, "srcaddr": "10.0.0.1" }),
            json!({ "dstport": 443 }),
            json!({ "dstport": 22 }),
            json!({ "dstport": null }),
        ];
        let rows: Vec<&serde_json::Map<String, Value>> =
            rows.iter().map(|r| r.as_object().unwrap()).collect();
        assert_eq!(
            top_values(&rows, "dstport"),
            vec![(json!(22), 2), (json!(443), 1)]
        );
        assert_eq!(top_values(&rows, "srcaddr"), vec![(json!("10.0.0.1"), 1)]);
    }
}
