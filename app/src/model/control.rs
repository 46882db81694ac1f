//! Input controls: a dashboard panel of dropdowns and ranges bound to fields (Kibana's input
//! controls). A control shows what its field holds in the dashboard's view, and choosing sets
//! the dashboard's filter on that field. The filter bar shows it like any other filter, and
//! the control reads its state back from there: a choice made in the address travels with
//! links, and one the dashboard was saved with is kept with it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::filter::{Filter, FilterKind};
use super::visualization::{
    Bucket, BucketAgg, BucketRole, ChartKind, ChartOptions, Metric, ModelError, TermsOrder,
    Visualization,
};

/// Most controls one panel holds.
pub const MAX_CONTROLS: usize = 10;

/// Most values an options control offers.
pub const MAX_OPTIONS: u32 = 100;

/// Longest control label, in characters.
pub const MAX_LABEL_CHARS: usize = 60;

/// The field a new control lists: what people filter flows by first.
pub const FIRST_FIELD: &str = "dstport";

/// One control: a field, how it is chosen from, and what it is called.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputControl {
    /// What the control is called; the field's name when empty.
    #[serde(default)]
    pub label: String,
    /// The index pattern whose flows it offers (`cwl-*`).
    pub index_pattern: String,
    /// The field it filters.
    pub field: String,
    /// How a value is chosen.
    pub kind: ControlKind,
}

/// How a control's value is chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ControlKind {
    /// A list of the field's most frequent values in the view (Kibana's options list).
    Options {
        /// How many values are offered, 1 to [`MAX_OPTIONS`].
        size: u32,
        /// Whether several values can be chosen at once (any of them matches).
        multiselect: bool,
    },
    /// A from–to range over a numeric field, both ends included (Kibana's range slider).
    Range,
}

/// What a control has chosen, as read from the view's filters.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ControlValue {
    /// Nothing: the control does not filter.
    #[default]
    Any,
    /// These values of an options control.
    Values(Vec<Value>),
    /// A range control's ends; either may be open.
    Between(Option<Value>, Option<Value>),
}

impl ControlValue {
    /// Whether it filters at all: no values, and a range open at both ends, do not.
    pub fn filters(&self) -> bool {
        match self {
            ControlValue::Any | ControlValue::Between(None, None) => false,
            ControlValue::Values(values) => !values.is_empty(),
            ControlValue::Between(..) => true,
        }
    }
}

impl ControlKind {
    /// A list of the ten most frequent values, several of which can be chosen.
    pub fn options() -> ControlKind {
        ControlKind::Options {
            size: 10,
            multiselect: true,
        }
    }
}

/// Whether two filter values are the same value: `22` and `"22"` are (a Kibana filter may
/// hold a port as text, while the field's buckets are numbers).
pub fn same_value(a: &Value, b: &Value) -> bool {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    a == b || text(a) == text(b)
}

impl InputControl {
    /// An options control on `field`.
    pub fn options(index_pattern: &str, field: &str) -> InputControl {
        InputControl {
            label: String::new(),
            index_pattern: index_pattern.to_owned(),
            field: field.to_owned(),
            kind: ControlKind::options(),
        }
    }

    /// What it is called: its label, else its field.
    pub fn title(&self) -> &str {
        match self.label.trim() {
            "" => &self.field,
            label => label,
        }
    }

    /// Whether `filter` is this control's own: the enabled, not negated filter on its field
    /// of the kind it writes. Only the first such filter is read, and all are replaced.
    fn owns(&self, filter: &Filter) -> bool {
        filter.field == self.field
            && !filter.negate
            && !filter.disabled
            && matches!(
                (&self.kind, &filter.kind),
                (
                    ControlKind::Options { .. },
                    FilterKind::Phrase { .. } | FilterKind::Phrases { .. }
                ) | (ControlKind::Range, FilterKind::Range { .. })
            )
    }

    /// Whether `filter` is one the control would own if it were enabled: a choice replaces
    /// it rather than adding a second pill beside it.
    fn owns_disabled(&self, filter: &Filter) -> bool {
        filter.disabled
            && self.owns(&Filter {
                disabled: false,
                ..filter.clone()
            })
    }

    /// What the control has chosen in `filters`.
    pub fn value(&self, filters: &[Filter]) -> ControlValue {
        match filters.iter().find(|f| self.owns(f)).map(|f| &f.kind) {
            Some(FilterKind::Phrase { value }) => ControlValue::Values(vec![value.clone()]),
            Some(FilterKind::Phrases { values }) => ControlValue::Values(values.clone()),
            Some(FilterKind::Range { from, to, .. }) => {
                ControlValue::Between(from.clone(), to.clone())
            }
            Some(FilterKind::Exists) | None => ControlValue::Any,
        }
    }

    /// `filters` with the control's own left out: what its options are searched with, so a
    /// chosen value does not hide the others.
    pub fn without_own(&self, filters: &[Filter]) -> Vec<Filter> {
        filters.iter().filter(|f| !self.owns(f)).cloned().collect()
    }

    /// Sets the control to `value` in a dashboard's view: `own` are the dashboard's own
    /// filters, `in_url` the address's. The choice goes where the control's filter is now:
    /// among the dashboard's own filters when they hold it (changed in this view, until
    /// saved, as the filter bar changes them), else in the address. Either way the other part
    /// loses the control's filters, so exactly one says what the control chose. Answers the
    /// dashboard's new filters, when they change, and the address's.
    pub fn set_in(
        &self,
        own: &[Filter],
        in_url: &[Filter],
        value: ControlValue,
    ) -> (Option<Vec<Filter>>, Vec<Filter>) {
        let held = |filters: &[Filter]| filters.iter().any(|f| self.owns(f));
        let held_disabled = |filters: &[Filter]| filters.iter().any(|f| self.owns_disabled(f));
        // A disabled filter of the dashboard's own is where a choice goes, unless the
        // address holds the control's filter.
        if held(own) || (!held(in_url) && value.filters() && held_disabled(own)) {
            (Some(self.apply(own, value)), self.without_own(in_url))
        } else {
            (None, self.apply(in_url, value))
        }
    }

    /// `filters` with the control set to `value`: its own filters go, and the new one takes
    /// the place of the first of them (or of a disabled filter it would own, which it
    /// replaces rather than sitting beside; or comes last). Pinned stays pinned.
    pub fn apply(&self, filters: &[Filter], value: ControlValue) -> Vec<Filter> {
        let kind = match value {
            ControlValue::Any => None,
            ControlValue::Values(mut values) => match values.len() {
                0 => None,
                1 => values.pop().map(|value| FilterKind::Phrase { value }),
                _ => Some(FilterKind::Phrases { values }),
            },
            ControlValue::Between(None, None) => None,
            ControlValue::Between(from, to) => Some(FilterKind::Range {
                from,
                to,
                to_inclusive: true,
            }),
        };
        // A choice takes an own filter's place; failing that, a disabled one's it would own
        // (clearing the control leaves a disabled filter alone).
        let place = filters.iter().position(|f| self.owns(f)).or_else(|| {
            kind.as_ref()
                .and_then(|_| filters.iter().position(|f| self.owns_disabled(f)))
        });
        let pinned = place.is_some_and(|i| filters[i].pinned);
        let new = kind.map(|kind| Filter {
            field: self.field.clone(),
            kind,
            negate: false,
            disabled: false,
            pinned,
        });
        let mut next = Vec::with_capacity(filters.len() + 1);
        for (i, filter) in filters.iter().enumerate() {
            if Some(i) == place {
                next.extend(new.clone());
            } else if !self.owns(filter) {
                next.push(filter.clone());
            }
        }
        if place.is_none() {
            next.extend(new);
        }
        next
    }

    /// The search behind the control, as a visualization run with the view: an options
    /// control's top values by flows; a range control's smallest and largest value, two
    /// metrics of one search.
    pub fn visualization(&self) -> Visualization {
        let vis = |kind: ChartKind, metrics: Vec<Metric>, buckets: Vec<Bucket>| Visualization {
            version: super::visualization::VISUALIZATION_VERSION,
            title: self.title().to_owned(),
            description: String::new(),
            kind,
            index_pattern: self.index_pattern.clone(),
            metrics: metrics.into_iter().map(Into::into).collect(),
            buckets,
            options: ChartOptions::default(),
            query: Default::default(),
            filters: Vec::new(),
            saved_search: None,
        };
        let field = self.field.clone();
        match self.kind {
            ControlKind::Options { size, .. } => vis(
                ChartKind::Table,
                vec![Metric::Count],
                vec![Bucket {
                    role: BucketRole::Rows,
                    agg: BucketAgg::Terms {
                        field,
                        size: size.clamp(1, MAX_OPTIONS),
                        order: TermsOrder::default(),
                        other_bucket: false,
                        missing_bucket: false,
                    },
                }],
            ),
            ControlKind::Range => vis(
                ChartKind::Metric,
                vec![
                    Metric::Min {
                        field: field.clone(),
                    },
                    Metric::Max { field },
                ],
                Vec::new(),
            ),
        }
    }

    /// The control as far as its searches go: what a change to it means searching again.
    /// Its label and whether several values may be chosen change no search.
    pub fn searched(&self) -> InputControl {
        InputControl {
            label: String::new(),
            kind: match self.kind {
                ControlKind::Options { size, .. } => ControlKind::Options {
                    size,
                    multiselect: true,
                },
                ControlKind::Range => ControlKind::Range,
            },
            ..self.clone()
        }
    }

    /// Checks what the types cannot; errors name the field at `path`.
    pub fn validate(&self, path: &str) -> Result<(), ModelError> {
        let at = |field: &str| format!("{path}.{field}");
        if self.field.trim().is_empty() {
            return Err(ModelError::new(at("field"), "choose a field"));
        }
        if self.index_pattern.trim().is_empty() {
            return Err(ModelError::new(
                at("index_pattern"),
                "choose an index pattern",
            ));
        }
        if self.label.chars().count() > MAX_LABEL_CHARS {
            return Err(ModelError::new(
                at("label"),
                format!("must be at most {MAX_LABEL_CHARS} characters"),
            ));
        }
        if let ControlKind::Options { size, .. } = self.kind {
            if !(1..=MAX_OPTIONS).contains(&size) {
                return Err(ModelError::new(
                    at("kind.options.size"),
                    format!("must be 1 to {MAX_OPTIONS}"),
                ));
            }
        }
        Ok(())
    }
}

/// Checks a panel's controls: at least one, at most [`MAX_CONTROLS`], each valid.
pub fn validate_controls(controls: &[InputControl], path: &str) -> Result<(), ModelError> {
    if controls.is_empty() || controls.len() > MAX_CONTROLS {
        return Err(ModelError::new(
            path,
            format!("a controls panel holds 1 to {MAX_CONTROLS} controls"),
        ));
    }
    for (i, control) in controls.iter().enumerate() {
        control.validate(&format!("{path}[{i}]"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn action() -> InputControl {
        InputControl::options("cwl-*", "action")
    }

    fn ports() -> InputControl {
        InputControl {
            label: "Destination port".into(),
            index_pattern: "cwl-*".into(),
            field: "dstport".into(),
            kind: ControlKind::Range,
        }
    }

    /// Choosing writes the filter, reading gives the choice back, and choosing again
    /// replaces it in place; other filters, negated ones on the same field among them, stay.
    #[test]
    fn a_choice_is_a_filter_and_reads_back() {
        let mut not_accept = Filter::phrase("action", json!("ACCEPT"));
        not_accept.negate = true;
        let others = vec![
            Filter::phrase("srcaddr", json!("10.0.0.1")),
            not_accept.clone(),
        ];
        let one = action().apply(&others, ControlValue::Values(vec![json!("REJECT")]));
        assert_eq!(one.len(), 3);
        assert_eq!(one[..2], others[..]);
        assert_eq!(one[2].label(), "action: REJECT");
        assert_eq!(
            action().value(&one),
            ControlValue::Values(vec![json!("REJECT")])
        );
        // What the options are searched with: everything but the control's own.
        assert_eq!(action().without_own(&one), others);

        let mut moved = one.clone();
        moved.swap(0, 2);
        let two = action().apply(
            &moved,
            ControlValue::Values(vec![json!("REJECT"), json!("ACCEPT")]),
        );
        assert_eq!(
            two[0].label(),
            "action: REJECT, ACCEPT",
            "in the old one's place"
        );
        assert_eq!(two.len(), 3);

        let cleared = action().apply(&two, ControlValue::Any);
        assert_eq!(cleared.len(), 2);
        assert_eq!(action().value(&cleared), ControlValue::Any);
    }

    /// A disabled filter on the control's field is replaced by a choice, not joined by a
    /// second pill; clearing the control leaves it be. Among the dashboard's own filters,
    /// the choice goes there.
    #[test]
    fn a_choice_replaces_a_disabled_filter_on_its_field() {
        let disabled = Filter {
            disabled: true,
            ..Filter::phrase("action", json!("ACCEPT"))
        };
        let other = Filter::phrase("dstport", json!(22));
        let filters = vec![disabled.clone(), other.clone()];
        let chosen = action().apply(&filters, ControlValue::Values(vec![json!("REJECT")]));
        assert_eq!(
            chosen,
            vec![Filter::phrase("action", json!("REJECT")), other.clone()]
        );
        assert_eq!(action().apply(&filters, ControlValue::Any), filters);
        let (own, in_url) =
            action().set_in(&filters, &[], ControlValue::Values(vec![json!("REJECT")]));
        assert_eq!(own, Some(chosen));
        assert!(in_url.is_empty());
        // Cleared with only a disabled filter: nothing changes.
        let (own, in_url) = action().set_in(&filters, &[], ControlValue::Any);
        assert_eq!((own, in_url), (None, Vec::new()));
    }

    /// A range includes both ends, and either may be open.
    #[test]
    fn a_range_includes_both_ends() {
        let set = ports().apply(
            &[],
            ControlValue::Between(Some(json!(22)), Some(json!(443))),
        );
        assert_eq!(set[0].label(), "dstport: 22 (ssh) through 443 (https)");
        assert_eq!(
            set[0].to_dsl(),
            json!({ "range": { "dstport": { "gte": 22, "lte": 443 } } })
        );
        assert_eq!(
            ports().value(&set),
            ControlValue::Between(Some(json!(22)), Some(json!(443)))
        );
        let open = ports().apply(&set, ControlValue::Between(None, Some(json!(1023))));
        assert_eq!(open.len(), 1);
        assert_eq!(
            open[0].to_dsl(),
            json!({ "range": { "dstport": { "lte": 1023 } } })
        );
        assert!(ports()
            .apply(&open, ControlValue::Between(None, None))
            .is_empty());
    }

    /// An options control searches its field's top values, a range control its extremes.
    #[test]
    fn controls_search_what_they_offer() {
        let options = action().visualization();
        assert_eq!(options.kind, ChartKind::Table);
        assert!(matches!(
            &options.buckets[0].agg,
            BucketAgg::Terms { field, size: 10, .. } if field == "action"
        ));
        options.validate().unwrap();
        let range = ports().visualization();
        assert_eq!(range.index_pattern, "cwl-*");
        let metrics: Vec<&Metric> = range.metrics.iter().map(|m| &m.metric).collect();
        assert_eq!(
            metrics,
            [
                &Metric::Min {
                    field: "dstport".into()
                },
                &Metric::Max {
                    field: "dstport".into()
                }
            ]
        );
        range.validate().unwrap();
    }

    /// A dashboard saved with a choice holds it among its own filters; the address may hold
    /// another filter on the field (a chart click). Setting the control changes the
    /// dashboard's and takes the address's away, and the rest of both stay.
    #[test]
    fn a_choice_goes_where_the_controls_filter_is() {
        let saved = Filter::phrase("action", json!("ACCEPT"));
        let source = Filter::phrase("srcaddr", json!("10.0.0.1"));
        let clicked = Filter::phrase("action", json!("REJECT"));
        let port = Filter::phrase("dstport", json!(22));
        let own = vec![saved.clone(), source.clone()];
        let in_url = vec![clicked.clone(), port.clone()];

        let (own_next, url_next) = action().set_in(&own, &in_url, ControlValue::Any);
        assert_eq!(own_next, Some(vec![source.clone()]));
        assert_eq!(url_next, vec![port.clone()]);

        let (own_next, url_next) =
            action().set_in(&own, &in_url, ControlValue::Values(vec![json!("REJECT")]));
        assert_eq!(own_next, Some(vec![clicked.clone(), source.clone()]));
        assert_eq!(url_next, vec![port.clone()]);

        // A dashboard without the control's filter: the choice is the address's.
        let (own_next, url_next) = action().set_in(
            std::slice::from_ref(&source),
            &in_url,
            ControlValue::Values(vec![json!("ACCEPT")]),
        );
        assert_eq!(own_next, None);
        assert_eq!(url_next, vec![saved, port]);
    }

    #[test]
    fn values_match_across_text_and_numbers() {
        assert!(same_value(&json!(22), &json!("22")));
        assert!(same_value(&json!("REJECT"), &json!("REJECT")));
        assert!(!same_value(&json!(22), &json!(23)));
    }

    #[test]
    fn bad_controls_name_the_field() {
        let mut control = action();
        control.kind = ControlKind::Options {
            size: 0,
            multiselect: false,
        };
        let error = validate_controls(&[control], "panels[0].controls").unwrap_err();
        assert_eq!(error.path, "panels[0].controls[0].kind.options.size");
        let mut control = ports();
        control.field = " ".into();
        assert_eq!(
            validate_controls(&[control], "c").unwrap_err().path,
            "c[0].field"
        );
        assert!(validate_controls(&[], "c").is_err());
        assert!(validate_controls(&vec![action(); MAX_CONTROLS + 1], "c").is_err());
    }
}
