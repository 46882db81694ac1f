//! `significant_terms`: the terms found unusually often in the matched flows (the
//! foreground) against every flow of the searched indices (the background, or those of a
//! `background_filter`): a port that makes up 2 % of all traffic but 60 % of the rejected
//! flows. Buckets are collected as a terms aggregation's; the background is counted in a
//! pass of its own over every index the expression names, whatever the time range (see
//! `response::Backgrounds`), and each term is scored by a heuristic, as Elasticsearch scores it.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value as Json};

use super::super::super::query::{compile, parse_query, QueryContext};
use super::super::super::SearchError;
use super::super::intermediate::{BucketKey, IntermediateAgg};
use super::super::options::{bad, bool_option, options, usize_option};
use super::super::response::{key_text, Background, RenderContext};
use super::super::{render_subs, AggKind, AggRequest};
use super::terms::{self, term_key_json, TermsAgg};

/// A terms aggregation whose buckets are chosen by how significant they are.
#[derive(Debug)]
pub struct SignificantTermsAgg {
    /// The field, `size`, `include` and `exclude`; its buckets are collected as a terms
    /// aggregation's.
    pub terms: TermsAgg,
    /// The fewest flows a shown term has (3 unless asked): 0 is read as 1, for a term no
    /// flow shown has is no significant one.
    pub min_doc_count: u64,
    pub heuristic: Heuristic,
    pub background: BackgroundSet,
}

/// The flows a term's frequency is compared with: those of every searched index, or those
/// of them a query matches.
#[derive(Debug)]
pub struct BackgroundSet {
    pub filter: Option<Box<dyn tantivy::query::Query>>,
    /// The filter as given, which names the set among those of a search.
    pub name: String,
}

/// How a term's frequencies in the foreground and background make its score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Heuristic {
    Jlh,
    Percentage,
    MutualInformation {
        include_negatives: bool,
        background_is_superset: bool,
    },
    ChiSquare {
        include_negatives: bool,
        background_is_superset: bool,
    },
    Gnd {
        background_is_superset: bool,
    },
}

/// The options every heuristic object may hold.
const HEURISTICS: [&str; 5] = [
    "jlh",
    "percentage",
    "mutual_information",
    "chi_square",
    "gnd",
];

pub fn parse(
    name: &str,
    agg_type: &str,
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<SignificantTermsAgg, SearchError> {
    let mut allowed = vec![
        "field",
        "size",
        "shard_size",
        "min_doc_count",
        "shard_min_doc_count",
        "include",
        "exclude",
        "background_filter",
        "execution_hint",
        "value_type",
        "format",
        "script_heuristic",
    ];
    allowed.extend(HEURISTICS);
    let o = options(name, agg_type, value, &allowed)?;
    if o.contains_key("script_heuristic") {
        return Err(SearchError::unsupported(
            "[script_heuristic] is not supported by the embedded engine",
        ));
    }
    let mut heuristics = HEURISTICS.iter().filter_map(|h| Some((*h, o.get(*h)?)));
    let heuristic = match (heuristics.next(), heuristics.next()) {
        (None, _) => Heuristic::Jlh,
        (Some(_), Some((second, _))) => {
            return Err(bad(format!(
                "Found two significance heuristics in [{name}]; the second is [{second}]"
            )))
        }
        (Some((kind, params)), None) => parse_heuristic(kind, params)?,
    };
    let min_doc_count = usize_option(o, "min_doc_count", 3)? as u64;
    let background = BackgroundSet {
        filter: o
            .get("background_filter")
            .map(|filter| compile(&parse_query(filter)?, context))
            .transpose()?,
        name: o
            .get("background_filter")
            .map_or_else(String::new, Json::to_string),
    };
    // The terms options (field, size, include, exclude) read as a terms aggregation's.
    let mut terms_options: Map<String, Json> = o
        .iter()
        .filter(|(key, _)| ["field", "size", "include", "exclude"].contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    terms_options.insert("min_doc_count".into(), json!(min_doc_count.max(1)));
    let terms = terms::parse(name, agg_type, &Json::Object(terms_options), context)?;
    Ok(SignificantTermsAgg {
        terms,
        min_doc_count: min_doc_count.max(1),
        heuristic,
        background,
    })
}

fn parse_heuristic(kind: &str, params: &Json) -> Result<Heuristic, SearchError> {
    let allowed: &[&str] = match kind {
        "mutual_information" | "chi_square" => &["include_negatives", "background_is_superset"],
        "gnd" => &["background_is_superset"],
        _ => &[],
    };
    let o = options(kind, kind, params, allowed)?;
    let flag = |key: &str, default: bool| match o.get(key) {
        None => Ok(default),
        Some(_) => Ok::<_, SearchError>(bool_option(o, key)),
    };
    Ok(match kind {
        "jlh" => Heuristic::Jlh,
        "percentage" => Heuristic::Percentage,
        "mutual_information" => Heuristic::MutualInformation {
            include_negatives: flag("include_negatives", false)?,
            background_is_superset: flag("background_is_superset", true)?,
        },
        "chi_square" => Heuristic::ChiSquare {
            include_negatives: flag("include_negatives", false)?,
            background_is_superset: flag("background_is_superset", true)?,
        },
        _ => Heuristic::Gnd {
            background_is_superset: flag("background_is_superset", true)?,
        },
    })
}

/// The four cells of a term's contingency table, and their sums, as Elasticsearch's
/// `NXYSignificanceHeuristic` counts them: `n11` foreground flows with the term, `n10`
/// background flows with it outside the foreground, and so on.
struct Table {
    n00: f64,
    n01: f64,
    n10: f64,
    n11: f64,
    n0_: f64,
    n1_: f64,
    n_0: f64,
    n_1: f64,
    n: f64,
}

impl Table {
    fn new(
        subset_freq: f64,
        subset_size: f64,
        superset_freq: f64,
        superset_size: f64,
        superset_holds_subset: bool,
    ) -> Table {
        if superset_holds_subset {
            Table {
                n00: superset_size - superset_freq - (subset_size - subset_freq),
                n01: subset_size - subset_freq,
                n10: superset_freq - subset_freq,
                n11: subset_freq,
                n0_: superset_size - superset_freq,
                n1_: superset_freq,
                n_0: superset_size - subset_size,
                n_1: subset_size,
                n: superset_size,
            }
        } else {
            Table {
                n00: superset_size - superset_freq,
                n01: subset_size - subset_freq,
                n10: superset_freq,
                n11: subset_freq,
                n0_: superset_size - superset_freq + subset_size - subset_freq,
                n1_: superset_freq + subset_freq,
                n_0: superset_size,
                n_1: subset_size,
                n: superset_size + subset_size,
            }
        }
    }

    /// Whether the term is rarer in the foreground than in the rest of the background.
    fn negative(&self) -> bool {
        self.n11 / self.n_1 < self.n10 / self.n_0
    }
}

impl Heuristic {
    /// Refuses counts that contradict `background_is_superset`, as Elasticsearch does: a
    /// background filter narrower than the foreground would make the contingency table
    /// negative.
    pub fn check_superset(
        self,
        subset_freq: u64,
        subset_size: u64,
        superset_freq: u64,
        superset_size: u64,
    ) -> Result<(), SearchError> {
        let superset = match self {
            Heuristic::MutualInformation {
                background_is_superset,
                ..
            }
            | Heuristic::ChiSquare {
                background_is_superset,
                ..
            }
            | Heuristic::Gnd {
                background_is_superset,
            } => background_is_superset,
            Heuristic::Jlh | Heuristic::Percentage => false,
        };
        let broken = if !superset {
            None
        } else if subset_freq > superset_freq {
            Some("subsetFreq > supersetFreq")
        } else if subset_size > superset_size {
            Some("subsetSize > supersetSize")
        } else if superset_freq - subset_freq > superset_size - subset_size {
            Some("supersetFreq - subsetFreq > supersetSize - subsetSize")
        } else {
            None
        };
        match broken {
            Some(what) => Err(SearchError::illegal(format!(
                "{what}, does your background filter not include all documents in the bucket? If so and it is intentional, set \"background_is_superset\": false"
            ))),
            None => Ok(()),
        }
    }

    /// The score of a term found in `subset_freq` of the `subset_size` foreground flows and
    /// `superset_freq` of the `superset_size` background ones. Only a positive score is
    /// shown.
    pub fn score(
        self,
        subset_freq: u64,
        subset_size: u64,
        superset_freq: u64,
        superset_size: u64,
    ) -> f64 {
        let (sub_f, sub_n, sup_f, sup_n) = (
            subset_freq as f64,
            subset_size as f64,
            superset_freq as f64,
            superset_size as f64,
        );
        match self {
            Heuristic::Jlh => {
                if subset_size == 0 || superset_size == 0 {
                    return 0.0;
                }
                // A term missing from a background that is not a superset counts once, so
                // that the score stays finite.
                let sup_f = sup_f.max(1.0);
                let foreground = sub_f / sub_n;
                let background = sup_f / sup_n;
                let absolute_change = foreground - background;
                if absolute_change <= 0.0 {
                    return 0.0;
                }
                absolute_change * (foreground / background)
            }
            Heuristic::Percentage => {
                if superset_freq == 0 {
                    return 0.0;
                }
                sub_f / sup_f
            }
            Heuristic::MutualInformation {
                include_negatives,
                background_is_superset,
            } => {
                let t = Table::new(sub_f, sub_n, sup_f, sup_n, background_is_superset);
                let term = |nxy: f64, nx_: f64, n_y: f64| {
                    let numerator = (t.n * nxy).abs();
                    let denominator = (nx_ * n_y).abs();
                    let factor = (nxy / t.n).abs();
                    if numerator < 1e-7 && factor < 1e-7 {
                        0.0
                    } else {
                        factor * (numerator / denominator).ln()
                    }
                };
                let mut score = (term(t.n00, t.n0_, t.n_0)
                    + term(t.n01, t.n0_, t.n_1)
                    + term(t.n10, t.n1_, t.n_0)
                    + term(t.n11, t.n1_, t.n_1))
                    / std::f64::consts::LN_2;
                if score.is_nan() || (!include_negatives && t.negative()) {
                    score = f64::NEG_INFINITY;
                }
                score
            }
            Heuristic::ChiSquare {
                include_negatives,
                background_is_superset,
            } => {
                let t = Table::new(sub_f, sub_n, sup_f, sup_n, background_is_superset);
                if !include_negatives && t.negative() {
                    return f64::NEG_INFINITY;
                }
                t.n * (t.n11 * t.n00 - t.n01 * t.n10).powi(2) / (t.n_1 * t.n1_ * t.n0_ * t.n_0)
            }
            Heuristic::Gnd {
                background_is_superset,
            } => {
                // Google's normalized distance, inverted: terms close to the foreground
                // score high.
                let (fx, mut fy, fxy, mut n) = (sub_n, sup_f, sub_f, sup_n);
                if !background_is_superset {
                    fy += fxy;
                    n += fx;
                }
                if fxy == 0.0 {
                    return 0.0;
                }
                if fx == fy && fx == fxy {
                    return 1.0;
                }
                let distance = (fx.ln().max(fy.ln()) - fxy.ln()) / (n.ln() - fx.ln().min(fy.ln()));
                (-distance).exp()
            }
        }
    }
}

/// A background to count: its set, and the field of its terms.
pub struct BackgroundNeed<'a> {
    pub set: &'a BackgroundSet,
    pub field: &'a super::super::options::AggField,
}

/// The backgrounds the aggregations of a search need, each once.
pub fn background_needs(requests: &[AggRequest]) -> Vec<BackgroundNeed<'_>> {
    let mut needs: Vec<BackgroundNeed<'_>> = Vec::new();
    let mut pending: Vec<&AggRequest> = requests.iter().collect();
    while let Some(request) = pending.pop() {
        if let AggKind::SignificantTerms(significant) = &request.kind {
            let (set, field) = (&significant.background, &significant.terms.field);
            if !needs
                .iter()
                .any(|n| n.set.name == set.name && n.field.name == field.name)
            {
                needs.push(BackgroundNeed { set, field });
            }
        }
        pending.extend(&request.children);
    }
    needs
}

/// The terms each background must count, by (set name, field): those the foreground's
/// buckets hold with enough flows to be shown, wherever the aggregation sits.
pub type Candidates = HashMap<(String, String), HashSet<BucketKey>>;

/// Finds the [`Candidates`] in merged results.
pub fn candidates(requests: &[AggRequest], results: &[IntermediateAgg]) -> Candidates {
    let mut found = Candidates::new();
    let mut pending: Vec<(&AggRequest, &IntermediateAgg)> = requests.iter().zip(results).collect();
    while let Some((request, result)) = pending.pop() {
        let IntermediateAgg::Buckets(buckets) = result else {
            continue;
        };
        if let AggKind::SignificantTerms(significant) = &request.kind {
            let terms = found
                .entry((
                    significant.background.name.clone(),
                    significant.terms.field.name.clone(),
                ))
                .or_default();
            terms.extend(
                buckets
                    .iter()
                    .filter(|(_, bucket)| bucket.doc_count >= significant.min_doc_count)
                    .map(|(key, _)| key.clone()),
            );
        }
        for (_, bucket) in buckets.iter() {
            pending.extend(request.children.iter().zip(bucket.subs.iter()));
        }
    }
    found
}

pub fn render(
    request: &AggRequest,
    significant: &SignificantTermsAgg,
    result: &IntermediateAgg,
    context: &RenderContext<'_>,
) -> Result<Map<String, Json>, SearchError> {
    let terms = &significant.terms;
    let subset_size = context.subset_size.get();
    let empty = Background::default();
    let background = context
        .backgrounds
        .counts
        .get(&(
            significant.background.name.clone(),
            terms.field.name.clone(),
        ))
        .unwrap_or(&empty);
    // (score, background flows with the term, key, bucket)
    let mut scored = Vec::new();
    for (key, bucket) in context.buckets_of(result).iter() {
        if bucket.doc_count < significant.min_doc_count || !terms.keeps(key) {
            continue;
        }
        let superset_freq = background.terms.get(key).copied().unwrap_or(0);
        significant.heuristic.check_superset(
            bucket.doc_count,
            subset_size,
            superset_freq,
            background.flows,
        )?;
        let score = significant.heuristic.score(
            bucket.doc_count,
            subset_size,
            superset_freq,
            background.flows,
        );
        if score > 0.0 {
            scored.push((score, superset_freq, key, bucket));
        }
    }
    scored.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| key_text(a.2).cmp(&key_text(b.2)))
    });
    scored.truncate(terms.size);
    context.spend(scored.len())?;
    let mut rendered = Vec::with_capacity(scored.len());
    for (score, superset_freq, key, bucket) in scored {
        let mut entry = Map::new();
        let (key_json, key_as_string) = term_key_json(&terms.field, key);
        entry.insert("key".into(), key_json);
        if let Some(text) = key_as_string {
            entry.insert("key_as_string".into(), json!(text));
        }
        entry.insert("doc_count".into(), json!(bucket.doc_count));
        entry.insert("score".into(), json!(score));
        entry.insert("bg_count".into(), json!(superset_freq));
        render_subs(request, bucket, &mut entry, context)?;
        rendered.push(Json::Object(entry));
    }
    let mut out = Map::new();
    out.insert("doc_count".into(), json!(subset_size));
    out.insert("bg_count".into(), json!(background.flows));
    out.insert("buckets".into(), Json::Array(rendered));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jlh_favours_terms_that_grow_much_and_are_not_rare() {
        // 10 % of the foreground and 1 % of the background: (0.1 - 0.01) * 10.
        let score = Heuristic::Jlh.score(10, 100, 100, 10_000);
        assert!((score - 0.9).abs() < 1e-12, "{score}");
        // No more frequent than in the background: not significant.
        assert_eq!(Heuristic::Jlh.score(1, 100, 100, 10_000), 0.0);
        assert_eq!(Heuristic::Percentage.score(10, 100, 40, 10_000), 0.25);
    }

    #[test]
    fn contingency_heuristics_refuse_terms_rarer_in_the_foreground() {
        let mi = Heuristic::MutualInformation {
            include_negatives: false,
            background_is_superset: true,
        };
        assert!(mi.score(10, 100, 100, 10_000) > 0.0);
        assert_eq!(mi.score(1, 100, 1_000, 10_000), f64::NEG_INFINITY);
        let chi = Heuristic::ChiSquare {
            include_negatives: false,
            background_is_superset: true,
        };
        // N·(n11·n00 − n01·n10)² / (n_1·n1_·n0_·n_0), by hand:
        // 10 000 · (10·9810 − 90·90)² / (100·100·9900·9900).
        let expected =
            10_000.0 * (10.0f64 * 9810.0 - 90.0 * 90.0).powi(2) / (100.0 * 100.0 * 9900.0 * 9900.0);
        assert!((chi.score(10, 100, 100, 10_000) - expected).abs() < 1e-9);
        let gnd = Heuristic::Gnd {
            background_is_superset: true,
        };
        assert_eq!(gnd.score(0, 100, 100, 10_000), 0.0);
        assert_eq!(gnd.score(100, 100, 100, 10_000), 1.0);
    }
}
