//! The fields of VPC and Transit Gateway flow-log records, and of the documents flowdash (and
//! the AWS `LogsToElasticsearch` Lambda) stores for them.

use serde::{Deserialize, Serialize};

/// How a field is stored and queried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// An exact string (aggregatable).
    Keyword,
    /// A 64-bit integer.
    Long,
    /// An IPv4 or IPv6 address.
    Ip,
    /// A point in time (milliseconds).
    Date,
    /// Full text (searchable, not aggregatable).
    Text,
}

impl FieldType {
    /// The Elasticsearch mapping type name.
    pub fn es_type(self) -> &'static str {
        match self {
            FieldType::Keyword => "keyword",
            FieldType::Long => "long",
            FieldType::Ip => "ip",
            FieldType::Date => "date",
            FieldType::Text => "text",
        }
    }

    /// Whether terms / histogram / metric aggregations can use the field.
    pub fn aggregatable(self) -> bool {
        !matches!(self, FieldType::Text)
    }

    /// Whether a document's `_source` holds it as a number (a date is text there).
    pub fn is_number(self) -> bool {
        self == FieldType::Long
    }
}

/// One field of a flow-log record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordField {
    /// The name in a flow-log format string and in S3 headers (`account-id`).
    pub aws_name: &'static str,
    /// The document field name, as the Lambda writes it (`account_id`).
    pub name: &'static str,
    /// How the field is indexed and searched.
    pub field_type: FieldType,
}

const fn field(aws_name: &'static str, name: &'static str, field_type: FieldType) -> RecordField {
    RecordField {
        aws_name,
        name,
        field_type,
    }
}

use FieldType::{Ip, Keyword, Long};

/// Every record field AWS documents: VPC flow logs versions 2 to 8, then Transit Gateway's own.
pub const RECORD_FIELDS: &[RecordField] = &[
    // Version 2 (the default format).
    field("version", "version", Long),
    field("account-id", "account_id", Keyword),
    field("interface-id", "interface_id", Keyword),
    field("srcaddr", "srcaddr", Ip),
    field("dstaddr", "dstaddr", Ip),
    field("srcport", "srcport", Long),
    field("dstport", "dstport", Long),
    field("protocol", "protocol", Long),
    field("packets", "packets", Long),
    field("bytes", "bytes", Long),
    field("start", "start", Long),
    field("end", "end", Long),
    field("action", "action", Keyword),
    field("log-status", "log_status", Keyword),
    // Version 3.
    field("vpc-id", "vpc_id", Keyword),
    field("subnet-id", "subnet_id", Keyword),
    field("instance-id", "instance_id", Keyword),
    field("tcp-flags", "tcp_flags", Long),
    field("type", "type", Keyword),
    field("pkt-srcaddr", "pkt_srcaddr", Ip),
    field("pkt-dstaddr", "pkt_dstaddr", Ip),
    // Version 4.
    field("region", "region", Keyword),
    field("az-id", "az_id", Keyword),
    field("sublocation-type", "sublocation_type", Keyword),
    field("sublocation-id", "sublocation_id", Keyword),
    // Version 5.
    field("pkt-src-aws-service", "pkt_src_aws_service", Keyword),
    field("pkt-dst-aws-service", "pkt_dst_aws_service", Keyword),
    field("flow-direction", "flow_direction", Keyword),
    field("traffic-path", "traffic_path", Long),
    // Version 7 (ECS).
    field("ecs-cluster-arn", "ecs_cluster_arn", Keyword),
    field("ecs-cluster-name", "ecs_cluster_name", Keyword),
    field(
        "ecs-container-instance-arn",
        "ecs_container_instance_arn",
        Keyword,
    ),
    field(
        "ecs-container-instance-id",
        "ecs_container_instance_id",
        Keyword,
    ),
    field("ecs-container-id", "ecs_container_id", Keyword),
    field(
        "ecs-second-container-id",
        "ecs_second_container_id",
        Keyword,
    ),
    field("ecs-service-name", "ecs_service_name", Keyword),
    field(
        "ecs-task-definition-arn",
        "ecs_task_definition_arn",
        Keyword,
    ),
    field("ecs-task-arn", "ecs_task_arn", Keyword),
    field("ecs-task-id", "ecs_task_id", Keyword),
    // Version 8.
    field("reject-reason", "reject_reason", Keyword),
    // Transit Gateway flow logs.
    field("resource-type", "resource_type", Keyword),
    field("tgw-id", "tgw_id", Keyword),
    field("tgw-attachment-id", "tgw_attachment_id", Keyword),
    field("tgw-src-vpc-account-id", "tgw_src_vpc_account_id", Keyword),
    field("tgw-dst-vpc-account-id", "tgw_dst_vpc_account_id", Keyword),
    field("tgw-src-vpc-id", "tgw_src_vpc_id", Keyword),
    field("tgw-dst-vpc-id", "tgw_dst_vpc_id", Keyword),
    field("tgw-src-subnet-id", "tgw_src_subnet_id", Keyword),
    field("tgw-dst-subnet-id", "tgw_dst_subnet_id", Keyword),
    field("tgw-src-eni", "tgw_src_eni", Keyword),
    field("tgw-dst-eni", "tgw_dst_eni", Keyword),
    field("tgw-src-az-id", "tgw_src_az_id", Keyword),
    field("tgw-dst-az-id", "tgw_dst_az_id", Keyword),
    field("tgw-pair-attachment-id", "tgw_pair_attachment_id", Keyword),
    field("packets-lost-no-route", "packets_lost_no_route", Long),
    field("packets-lost-blackhole", "packets_lost_blackhole", Long),
    field(
        "packets-lost-mtu-exceeded",
        "packets_lost_mtu_exceeded",
        Long,
    ),
    field("packets-lost-ttl-expired", "packets_lost_ttl_expired", Long),
];

/// The default (version 2) format, in order.
pub const DEFAULT_FORMAT: &[&str] = &[
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
];

/// Looks a record field up by its AWS name (`log-status`) or document name (`log_status`).
pub fn record_field(name: &str) -> Option<&'static RecordField> {
    RECORD_FIELDS
        .iter()
        .find(|f| f.aws_name == name || f.name == name)
}

/// Document fields that are not record fields: what the Lambda adds, and what flowdash derives.
pub const META_FIELDS: &[(&str, FieldType)] = &[
    ("@timestamp", FieldType::Date),
    ("@message", FieldType::Text),
    ("@id", FieldType::Keyword),
    ("@owner", FieldType::Keyword),
    ("@log_group", FieldType::Keyword),
    ("@log_stream", FieldType::Keyword),
    // Derived by flowdash: `TCP`, `UDP`, `ICMP`… from the IANA number.
    ("protocol_name", FieldType::Keyword),
    // Added by flowdash's ingest from `--geoip-db` and `--asn-db`, for addresses they know.
    ("src_country", FieldType::Keyword),
    ("src_asn", FieldType::Long),
    ("src_as_org", FieldType::Keyword),
    ("dst_country", FieldType::Keyword),
    ("dst_asn", FieldType::Long),
    ("dst_as_org", FieldType::Keyword),
];

/// The fields ingest adds from the GeoIP and ASN databases: ISO country code, AS number and
/// AS organisation, of the source then the destination address. A store ingested without
/// the databases has none of them.
pub const GEO_FIELDS: [&str; 6] = [
    "src_country",
    "src_asn",
    "src_as_org",
    "dst_country",
    "dst_asn",
    "dst_as_org",
];

/// The type of any document field, record or meta.
pub fn document_field_type(name: &str) -> Option<FieldType> {
    META_FIELDS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .or_else(|| {
            RECORD_FIELDS
                .iter()
                .find(|f| f.name == name)
                .map(|f| f.field_type)
        })
}

/// The IANA name of an IP protocol number, for the protocols flow logs commonly show.
pub fn protocol_name(number: i64) -> Option<&'static str> {
    Some(match number {
        1 => "ICMP",
        2 => "IGMP",
        4 => "IPv4",
        6 => "TCP",
        17 => "UDP",
        41 => "IPv6",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        58 => "ICMPv6",
        89 => "OSPF",
        132 => "SCTP",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_geoip_fields_are_the_last_meta_fields() {
        // The embedded engine appends fields to older indices' schemas: new fields go last.
        let last: Vec<&str> = META_FIELDS[META_FIELDS.len() - GEO_FIELDS.len()..]
            .iter()
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(last, GEO_FIELDS);
        for name in GEO_FIELDS {
            let expected = if name.ends_with("_asn") {
                FieldType::Long
            } else {
                FieldType::Keyword
            };
            assert_eq!(document_field_type(name), Some(expected), "{name}");
        }
    }

    #[test]
    fn names_are_unique_and_consistent() {
        let mut names: Vec<_> = RECORD_FIELDS.iter().map(|f| f.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), RECORD_FIELDS.len());
        for f in RECORD_FIELDS {
            assert_eq!(f.aws_name.replace('-', "_"), f.name);
        }
        for name in DEFAULT_FORMAT {
            assert!(record_field(name).is_some(), "{name}");
        }
    }

    #[test]
    fn looks_up_both_spellings() {
        assert_eq!(record_field("log-status").unwrap().name, "log_status");
        assert_eq!(record_field("log_status").unwrap().aws_name, "log-status");
        assert_eq!(document_field_type("@timestamp"), Some(FieldType::Date));
        assert_eq!(document_field_type("dstport"), Some(FieldType::Long));
        assert_eq!(document_field_type("nope"), None);
    }
}
