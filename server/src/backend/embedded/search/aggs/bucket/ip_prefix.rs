//! `ip_prefix`: a bucket per network of a prefix length (`10.0.1.0` of a /24), as
//! Elasticsearch 8.1 has it. As there, an IPv4 prefix masks an address's last four bytes
//! and an IPv6 one all sixteen; buckets come in address order, each with its prefix length
//! and, for IPv4, its netmask.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use app::model::flow::FieldType;
use serde_json::{json, Value as Json};
use tantivy::{DocId, Score};

use super::super::super::columns::Accessor;
use super::super::super::query::QueryContext;
use super::super::super::SearchError;
use super::super::buckets::{Buckets, KeySpace};
use super::super::intermediate::{BucketKey, IntermediateAgg};
use super::super::options::{bad, bool_option, field_of, options, usize_option, AggField};
use super::super::response::{bucket_list, RenderContext};
use super::super::{render_subs, AggRequest, SegmentAgg, SegmentContext};

#[derive(Debug)]
pub struct IpPrefixAgg {
    pub field: AggField,
    pub prefix_length: u8,
    pub is_ipv6: bool,
    pub append_prefix_length: bool,
    pub keyed: bool,
    pub min_doc_count: u64,
}

impl IpPrefixAgg {
    /// The mask of the prefix over the bits it applies to (the last 32 for IPv4).
    fn mask(&self) -> u128 {
        let width = if self.is_ipv6 { 128 } else { 32 };
        match self.prefix_length {
            0 => 0,
            bits => (u128::MAX << (width - u32::from(bits))) & (u128::MAX >> (128 - width)),
        }
    }
}

pub fn parse(
    name: &str,
    agg_type: &str,
    value: &Json,
    context: &QueryContext<'_>,
) -> Result<IpPrefixAgg, SearchError> {
    let o = options(
        name,
        agg_type,
        value,
        &[
            "field",
            "prefix_length",
            "is_ipv6",
            "append_prefix_length",
            "keyed",
            "min_doc_count",
        ],
    )?;
    let field = field_of(name, agg_type, o, context)?;
    field.require(agg_type, &[FieldType::Ip])?;
    let is_ipv6 = bool_option(o, "is_ipv6");
    let widest = if is_ipv6 { 128 } else { 32 };
    let prefix_length = match o.get("prefix_length").map(|p| (p, p.as_u64())) {
        None => {
            return Err(bad(format!(
                "[prefix_length] is required in [{agg_type}] aggregation [{name}]"
            )))
        }
        Some((_, Some(length))) if length <= widest => length as u8,
        Some((given, _)) => {
            return Err(bad(format!(
                "[prefix_length] must be in range [0, {widest}] while value is [{given}] in [{agg_type}] aggregation [{name}]"
            )))
        }
    };
    let min_doc_count = usize_option(o, "min_doc_count", 1)? as u64;
    if min_doc_count == 0 {
        return Err(bad(format!(
            "[min_doc_count] must be at least 1 in [{agg_type}] aggregation [{name}]: the empty networks of an address space are too many to list"
        )));
    }
    Ok(IpPrefixAgg {
        field,
        prefix_length,
        is_ipv6,
        append_prefix_length: bool_option(o, "append_prefix_length"),
        keyed: bool_option(o, "keyed"),
        min_doc_count,
    })
}

/// IPv4 networks are keyed as IPv4-mapped addresses, so keys print as IPv4.
const IPV4_MAPPED: u128 = 0xffff << 32;

/// The prefixes of one segment.
#[derive(Clone)]
pub struct IpPrefixSegment {
    accessor: Accessor,
    mask: u128,
    is_ipv6: bool,
    buckets: Buckets,
}

impl IpPrefixSegment {
    pub fn new(
        prefix: &IpPrefixAgg,
        context: &SegmentContext<'_>,
        prototype: std::rc::Rc<Vec<SegmentAgg>>,
    ) -> Result<Self, SearchError> {
        let field = &prefix.field;
        Ok(IpPrefixSegment {
            accessor: context
                .columns
                .open(context.reader, &field.name, field.field)?,
            mask: prefix.mask(),
            is_ipv6: prefix.is_ipv6,
            buckets: Buckets::new(KeySpace::Sparse, prototype, context.guard),
        })
    }

    pub fn buckets(&self) -> &Buckets {
        &self.buckets
    }

    #[inline]
    pub fn collect(&mut self, doc: DocId, score: Score) {
        if let Some(address) = self.accessor.raw(doc) {
            let network = match self.is_ipv6 {
                true => address & self.mask,
                false => IPV4_MAPPED | (address & self.mask),
            };
            self.buckets.collect(network, doc, score);
        }
    }

    pub fn harvest(self, request: &AggRequest) -> IntermediateAgg {
        self.buckets
            .harvest(request, |key| Some(BucketKey::Ip(key)))
    }
}

/// A network's address as Elasticsearch prints it: IPv4-mapped ones as IPv4.
fn address_text(address: u128) -> String {
    let v6 = Ipv6Addr::from(address);
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4).to_string(),
        None => IpAddr::V6(v6).to_string(),
    }
}

pub fn render(
    request: &AggRequest,
    prefix: &IpPrefixAgg,
    result: &IntermediateAgg,
    context: &RenderContext<'_>,
) -> Result<serde_json::Map<String, Json>, SearchError> {
    let buckets = context.buckets_of(result);
    let mut entries: Vec<(u128, _)> = buckets
        .iter()
        .filter(|(_, b)| b.doc_count >= prefix.min_doc_count)
        .filter_map(|(key, bucket)| match key {
            BucketKey::Ip(address) => Some((*address, bucket)),
            _ => None,
        })
        .collect();
    entries.sort_by_key(|(address, _)| *address);
    context.spend(entries.len())?;
    let netmask = (!prefix.is_ipv6)
        .then(|| Ipv4Addr::from((prefix.mask() & u128::from(u32::MAX)) as u32).to_string());
    let mut rendered = Vec::with_capacity(entries.len());
    for (address, bucket) in entries {
        let mut key = address_text(address);
        if prefix.append_prefix_length {
            key.push_str(&format!("/{}", prefix.prefix_length));
        }
        let mut entry = serde_json::Map::new();
        entry.insert("key".into(), json!(key));
        entry.insert("is_ipv6".into(), json!(prefix.is_ipv6));
        entry.insert("doc_count".into(), json!(bucket.doc_count));
        entry.insert("prefix_length".into(), json!(prefix.prefix_length));
        if let Some(netmask) = &netmask {
            entry.insert("netmask".into(), json!(netmask));
        }
        render_subs(request, bucket, &mut entry, context)?;
        rendered.push((key, Json::Object(entry)));
    }
    Ok(bucket_list(rendered, prefix.keyed))
}
