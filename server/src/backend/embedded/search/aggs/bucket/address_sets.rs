//! Filters that only ask which address ranges one field's value lies in, answered from that
//! field's column in one pass. A split by network is such a `filters` aggregation (a term per
//! CIDR block, less the blocks named inside it): as bit sets, each network cost a scan of the
//! column and each flow a look into every set; here each flow's address is read once, as its
//! order-preserving compact code, and placed among the stretches of codes where the networks
//! holding it change ([`AddressTable`]).

use serde_json::Value as Json;
use tantivy::columnar::column_values::CompactHit;

use super::super::super::columns::Accessor;
use super::super::super::query::{parse_cidr, BoolQuery, MinimumShouldMatch, Query, QueryContext};
use app::model::flow::FieldType;

use crate::backend::embedded::schema::SchemaField;

/// The most ranges the filters may hold together: the table is built by asking every filter
/// about every stretch, where the query path searches long lists (a `terms` of thousands of
/// addresses) in sorted order.
const MAX_RANGES: usize = 64;

/// Bounds a key is placed among by counting, at most; past this many, by a binary search.
const MAX_COUNTED_BOUNDS: usize = 32;

/// Which values of the field a filter selects, as ranges of addresses or, in a segment, of
/// their column's keys. Inclusive bounds.
#[derive(Clone, Debug, PartialEq)]
pub enum AddressSet {
    /// Values from the first to the second.
    Range(u128, u128),
    /// In every one (none: every document, with the field or without).
    All(Vec<AddressSet>),
    /// In any one (none: no document).
    Any(Vec<AddressSet>),
    /// Not in it (documents without the field included, as `must_not` has them).
    Not(Box<AddressSet>),
}

impl AddressSet {
    /// Whether a document whose value is `key` (`None`: it has none) is in the set.
    #[inline]
    pub fn contains(&self, key: Option<u128>) -> bool {
        match self {
            AddressSet::Range(low, high) => key.is_some_and(|k| *low <= k && k <= *high),
            AddressSet::All(sets) => sets.iter().all(|s| s.contains(key)),
            AddressSet::Any(sets) => sets.iter().any(|s| s.contains(key)),
            AddressSet::Not(set) => !set.contains(key),
        }
    }

    /// How many ranges it compares a value with.
    fn ranges(&self) -> usize {
        match self {
            AddressSet::Range(..) => 1,
            AddressSet::All(sets) | AddressSet::Any(sets) => {
                sets.iter().map(AddressSet::ranges).sum()
            }
            AddressSet::Not(set) => set.ranges(),
        }
    }

    /// The set in the keys `accessor` reads: compact codes, whose order is the addresses'.
    pub fn in_keys(&self, accessor: &Accessor) -> AddressSet {
        match self {
            AddressSet::Range(low, high) => match accessor {
                Accessor::IpCode { space, .. } => {
                    let first = match space.u128_to_next_compact(*low) {
                        CompactHit::Exact(code) | CompactHit::Next(code) => u128::from(code),
                        CompactHit::AfterLast => return AddressSet::Any(Vec::new()),
                    };
                    // Codes below that of the first address past the range.
                    let end = match high
                        .checked_add(1)
                        .map(|past| space.u128_to_next_compact(past))
                    {
                        Some(CompactHit::Exact(code) | CompactHit::Next(code)) => u128::from(code),
                        Some(CompactHit::AfterLast) | None => u128::from(u32::MAX) + 1,
                    };
                    if end <= first {
                        AddressSet::Any(Vec::new())
                    } else {
                        AddressSet::Range(first, end - 1)
                    }
                }
                _ => AddressSet::Range(*low, *high),
            },
            AddressSet::All(sets) => {
                AddressSet::All(sets.iter().map(|s| s.in_keys(accessor)).collect())
            }
            AddressSet::Any(sets) => {
                AddressSet::Any(sets.iter().map(|s| s.in_keys(accessor)).collect())
            }
            AddressSet::Not(set) => AddressSet::Not(Box::new(set.in_keys(accessor))),
        }
    }
}

/// Every filter's set at once, by the filters each stretch of keys lies in. The sets are made
/// of ranges, so which filters hold a key changes only at their bounds: a key is placed among
/// them at once, where asking each set would walk every filter's ranges for every flow.
#[derive(Debug)]
pub struct AddressTable {
    /// Where a stretch begins, after the first (which begins at 0); ascending.
    bounds: Vec<u128>,
    /// The same, when they are few and every one fits a word (address codes, IPv4): a key is
    /// placed by counting the bounds at or below it, with no branch to mispredict. A binary
    /// search's branches went the wrong way for every other flow. More bounds are searched.
    word_bounds: Option<Vec<u64>>,
    /// The filters holding each stretch's keys, by their place: one list per stretch.
    members: Vec<Vec<u32>>,
    /// The filters holding a document without the field.
    without: Vec<u32>,
    /// When no key lies in two filters (a split by network: each range less the ranges named
    /// inside it), each stretch's one filter, or [`AddressTable::filters`] for none, and
    /// last that of a document without the field: a flow is then placed with no branch on
    /// how many filters hold it, which went the wrong way for every unnamed address.
    places: Option<Vec<u32>>,
    /// How many filters there are.
    filters: usize,
}

impl AddressTable {
    pub fn new(sets: &[AddressSet]) -> AddressTable {
        fn bounds_of(set: &AddressSet, bounds: &mut Vec<u128>) {
            match set {
                AddressSet::Range(low, high) => {
                    bounds.push(*low);
                    bounds.extend(high.checked_add(1));
                }
                AddressSet::All(sets) | AddressSet::Any(sets) => {
                    sets.iter().for_each(|s| bounds_of(s, bounds))
                }
                AddressSet::Not(set) => bounds_of(set, bounds),
            }
        }
        let mut bounds = Vec::new();
        sets.iter().for_each(|set| bounds_of(set, &mut bounds));
        bounds.sort_unstable();
        bounds.dedup();
        let holding = |key: Option<u128>| -> Vec<u32> {
            (0u32..)
                .zip(sets)
                .filter(|(_, set)| set.contains(key))
                .map(|(index, _)| index)
                .collect()
        };
        // The stretch before the first bound, then one from each bound on.
        let members: Vec<Vec<u32>> = std::iter::once(Some(0))
            .chain(bounds.iter().map(|&bound| Some(bound)))
            .map(holding)
            .collect();
        let without = holding(None);
        let none = sets.len() as u32;
        let places = members
            .iter()
            .chain([&without])
            .map(|filters| match filters.as_slice() {
                [] => Some(none),
                [one] => Some(*one),
                _ => None,
            })
            .collect();
        AddressTable {
            members,
            without,
            places,
            word_bounds: (bounds.len() <= MAX_COUNTED_BOUNDS)
                .then(|| {
                    bounds
                        .iter()
                        .map(|&bound| u64::try_from(bound).ok())
                        .collect()
                })
                .flatten(),
            bounds,
            filters: sets.len(),
        }
    }

    /// How many filters the table places keys in.
    pub fn filters(&self) -> usize {
        self.filters
    }

    /// The filters (by place) holding a document whose key is `key` (`None`: it has none).
    #[inline]
    pub fn filters_of(&self, key: Option<u128>) -> &[u32] {
        match key {
            None => &self.without,
            Some(key) => &self.members[self.stretch_of(key)],
        }
    }

    /// Each key's one filter, when no key lies in two.
    pub fn single_places(&self) -> Option<SinglePlaces<'_>> {
        let places = self.places.as_deref()?;
        Some(SinglePlaces {
            table: self,
            places,
        })
    }

    /// The stretch of keys `key` lies in.
    #[inline]
    fn stretch_of(&self, key: u128) -> usize {
        match (&self.word_bounds, u64::try_from(key)) {
            (Some(bounds), Ok(key)) => bounds.iter().map(|&bound| usize::from(bound <= key)).sum(),
            _ => self.bounds.partition_point(|&bound| bound <= key),
        }
    }
}

/// The one filter of each key, from a table whose keys lie in one filter at most (see
/// [`AddressTable::single_places`]).
pub struct SinglePlaces<'a> {
    table: &'a AddressTable,
    places: &'a [u32],
}

impl SinglePlaces<'_> {
    /// The one filter holding a document whose key is `key`, or [`AddressTable::filters`]
    /// when none does.
    #[inline]
    pub fn place_of(&self, key: Option<u64>) -> u32 {
        let stretch = match key {
            None => self.places.len() - 1,
            Some(key) => self.table.stretch_of(u128::from(key)),
        };
        self.places[stretch]
    }
}

/// Each filter's address set, and the address field they all ask about; `None` when any
/// filter asks anything else (the filters then run as queries).
pub fn address_sets(
    filters: &[Query],
    context: &QueryContext<'_>,
) -> Option<(String, SchemaField, Vec<AddressSet>)> {
    let mut field: Option<&str> = None;
    let sets = filters
        .iter()
        .map(|query| set_of(query, &mut field))
        .collect::<Option<Vec<_>>>()?;
    let name = field?;
    if sets.iter().map(AddressSet::ranges).sum::<usize>() > MAX_RANGES {
        return None;
    }
    // The schema reads one `.keyword` as the field itself, and no more.
    if name.ends_with(".keyword") {
        return None;
    }
    let schema_field = context.schema.field(name)?;
    (schema_field.field_type == FieldType::Ip).then(|| (name.to_owned(), schema_field, sets))
}

/// A query as an address set of `field`, which its leaves name (all the same one).
fn set_of<'a>(query: &'a Query, field: &mut Option<&'a str>) -> Option<AddressSet> {
    let mut same_field = |name: &'a str| {
        // `srcaddr.keyword` is `srcaddr`, as the schema reads it: the column is opened by the
        // field's own name.
        let name = name.strip_suffix(".keyword").unwrap_or(name);
        match field {
            Some(seen) => *seen == name,
            None => {
                *field = Some(name);
                true
            }
        }
    };
    match query {
        Query::MatchAll => Some(AddressSet::All(Vec::new())),
        Query::Term { field: name, value } if same_field(name) => block(value),
        Query::Terms {
            field: name,
            values,
        } if same_field(name) => values
            .iter()
            .map(block)
            .collect::<Option<_>>()
            .map(AddressSet::Any),
        Query::Bool(bool_query) => bool_set(bool_query, field),
        _ => None,
    }
}

/// `must` and `filter` clauses all, `should` clauses as Elasticsearch counts them (one, when
/// nothing else must match or `minimum_should_match` is 1; else none), `must_not` none.
fn bool_set<'a>(query: &'a BoolQuery, field: &mut Option<&'a str>) -> Option<AddressSet> {
    let mut all = Vec::new();
    for clause in query.must.iter().chain(&query.filter) {
        all.push(set_of(clause, field)?);
    }
    let required = query.must.is_empty() && query.filter.is_empty();
    let one_should = match &query.minimum_should_match {
        None => required && !query.should.is_empty(),
        Some(MinimumShouldMatch::Count(1)) => true,
        Some(MinimumShouldMatch::Count(0)) => false,
        // Other counts and shares are left to the query.
        Some(_) => return None,
    };
    if one_should {
        let any = query
            .should
            .iter()
            .map(|clause| set_of(clause, field))
            .collect::<Option<Vec<_>>>()?;
        all.push(AddressSet::Any(any));
    }
    if !query.must_not.is_empty() {
        let none = query
            .must_not
            .iter()
            .map(|clause| set_of(clause, field))
            .collect::<Option<Vec<_>>>()?;
        all.push(AddressSet::Not(Box::new(AddressSet::Any(none))));
    }
    Some(AddressSet::All(all))
}

/// An address or CIDR block as its range of (IPv4-mapped) IPv6 addresses.
fn block(value: &Json) -> Option<AddressSet> {
    let (low, high) = parse_cidr(value.as_str()?)?;
    Some(AddressSet::Range(u128::from(low), u128::from(high)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds_a_key_where_each_set_does() {
        // Networks as a split by network asks: a block less the blocks named inside it, and
        // what no block holds.
        let range = |low: u128, high: u128| AddressSet::Range(low, high);
        let sets = vec![
            AddressSet::All(vec![
                range(100, 199),
                AddressSet::Not(Box::new(AddressSet::Any(vec![range(120, 129)]))),
            ]),
            range(120, 129),
            AddressSet::Any(vec![range(150, 300), range(0, 5)]),
            AddressSet::Not(Box::new(AddressSet::Any(vec![
                range(100, 199),
                range(0, 5),
            ]))),
            AddressSet::All(Vec::new()),
            range(u128::MAX - 1, u128::MAX),
        ];
        let table = AddressTable::new(&sets);
        let keys = [
            0, 4, 5, 6, 99, 100, 119, 120, 129, 130, 149, 150, 199, 200, 300, 301,
        ];
        for key in keys
            .into_iter()
            .map(Some)
            .chain([None, Some(u128::MAX), Some(u128::MAX - 2)])
        {
            let expected: Vec<u32> = (0u32..)
                .zip(&sets)
                .filter(|(_, set)| set.contains(key))
                .map(|(index, _)| index)
                .collect();
            assert_eq!(table.filters_of(key), expected, "{key:?}");
        }
    }
}
