//! The named networks of `--networks FILE`: read at start into the saved `networks` object
//! (an error naming the line if the file does not read), and written back whenever the
//! Networks page saves, so the file and the page always agree.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use app::model::network::{Networks, NetworksObject, NETWORKS_ID};
use app::model::saved_object::ObjectType;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::store::{NewObject, SavedObjectStore, StoreError};

/// Reads `path` and stores its ranges as the networks object, replacing what was stored.
pub async fn apply_file(store: &dyn SavedObjectStore, path: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading --networks {}", path.display()))?;
    let networks = Networks::parse(&text)
        .map_err(|e| anyhow::anyhow!("--networks {}: {e}", path.display()))?;
    store
        .create(
            NewObject {
                object_type: ObjectType::Networks,
                id: Some(NETWORKS_ID.into()),
                attributes: serde_json::to_value(NetworksObject::new(text))?,
                references: Vec::new(),
            },
            true,
        )
        .await?;
    tracing::info!(file = %path.display(), ranges = networks.0.len(), "named networks read");
    Ok(())
}

/// Names the demo's networks when no networks are named yet, for `serve --demo-follow`: the
/// newcomer's overview then says who talks to whom by name. Named networks stay as they are.
pub async fn name_demo_networks(store: &dyn SavedObjectStore) -> Result<(), StoreError> {
    let created = store
        .create(
            NewObject {
                object_type: ObjectType::Networks,
                id: Some(NETWORKS_ID.into()),
                attributes: serde_json::to_value(NetworksObject::new(
                    crate::ingest::demo::DEMO_NETWORKS.into(),
                ))
                .map_err(|e| StoreError::Invalid(e.to_string()))?,
                references: Vec::new(),
            },
            false,
        )
        .await;
    match created {
        Ok(_) => {
            tracing::info!("named the demo's networks (Management → Networks)");
            Ok(())
        }
        Err(StoreError::Conflict(_)) => Ok(()),
        Err(other) => Err(other),
    }
}

/// `--networks FILE`, kept in step with the saved networks object. A change stages the new
/// text in a fresh temporary file beside it (written and synced, so a full disk or a
/// read-only directory fails before the store changes), and the file is replaced only once
/// the store took the change. Changes take turns, so the file ends as the store does.
pub struct NetworksFile {
    path: PathBuf,
    turn: Arc<Mutex<()>>,
}

/// A change's new text, staged: [`Staged::commit`] puts it in place; dropping it leaves the
/// file as it was. It holds the file's turn, and owns it, so that it can go with the store
/// change to a task of its own (see `saved_objects::change_with_networks_file`).
pub struct Staged {
    path: PathBuf,
    temporary: PathBuf,
    _turn: OwnedMutexGuard<()>,
}

/// Tells temporary files of one process apart.
static STAGED: AtomicU64 = AtomicU64::new(0);

impl NetworksFile {
    /// The file at `path`.
    pub fn new(path: PathBuf) -> NetworksFile {
        NetworksFile {
            path,
            turn: Arc::new(Mutex::new(())),
        }
    }

    /// Waits for the file's turn, then stages `text` as its next content.
    pub async fn stage(&self, text: &str) -> anyhow::Result<Staged> {
        let turn = self.turn.clone().lock_owned().await;
        self.stage_in_turn(turn, text)
    }

    fn stage_in_turn(&self, turn: OwnedMutexGuard<()>, text: &str) -> anyhow::Result<Staged> {
        let mut name = self.path.as_os_str().to_owned();
        let unique = STAGED.fetch_add(1, Ordering::Relaxed);
        name.push(format!(".{}.{unique}.tmp", std::process::id()));
        let temporary = PathBuf::from(name);
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)
            .and_then(|mut file| {
                file.write_all(text.as_bytes())?;
                file.sync_all()
            });
        let staged = Staged {
            path: self.path.clone(),
            temporary,
            _turn: turn,
        };
        written.with_context(|| format!("writing --networks {}", self.path.display()))?;
        Ok(staged)
    }

    /// Writes the networks object's text as the store holds it now (none: empty): after a
    /// change whose effect on it is known only once made, such as an import.
    pub async fn rewrite_from(&self, store: &dyn SavedObjectStore) -> anyhow::Result<()> {
        let turn = self.turn.clone().lock_owned().await;
        let text = match store.get(ObjectType::Networks, NETWORKS_ID).await {
            Ok(object) => {
                NetworksObject::from_value(object.attributes)
                    .map_err(anyhow::Error::msg)?
                    .0
                    .text
            }
            Err(StoreError::NotFound(..)) => String::new(),
            Err(error) => return Err(error.into()),
        };
        self.stage_in_turn(turn, &text)?.commit()
    }
}

impl Staged {
    /// Puts the staged text in place of the file.
    pub fn commit(self) -> anyhow::Result<()> {
        std::fs::rename(&self.temporary, &self.path)
            .with_context(|| format!("replacing --networks {}", self.path.display()))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Gone already once committed.
        let _ = std::fs::remove_file(&self.temporary);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::IpAddr;

    use app::model::filter::{Filter, QueryText};
    use app::model::network::{direction_of, Networks, UNNAMED};
    use app::model::time::Resolved;
    use app::model::visualization::{Bucket, BucketAgg, BucketRole, ChartKind, Visualization};
    use app::query::{build_request, SearchContext};
    use serde_json::json;

    use crate::http::tests::TestServer;
    use crate::ingest::demo::{demo_format, generate, DemoConfig};

    const END: i64 = 1_583_496_000_000;

    /// A VPC with a subnet of its own inside, staging, a partner inside the VPC that is not
    /// ours, an IPv6 block, and the rest of the internet: each with the demo's flows (its
    /// VPCs are 10.10/16, 10.11/16 and 10.20/16, their app subnets 10.x.10/24 and 10.x.11/24,
    /// their databases 10.x.20/24 and 10.x.21/24).
    const NETWORKS: &str = "10.10.0.0/16 = prod-vpc\n10.10.10.0/24 = prod-web\n10.10.20.0/24 = partner (external)\n10.11.0.0/16 = staging\n2600:1f18::/32 = prod-v6\n0.0.0.0/0 = internet\n";

    fn demo_text() -> String {
        let mut text = demo_format().header().to_owned();
        text.push('\n');
        let config = DemoConfig {
            flows: 4000,
            hours: 12,
            end_ms: END,
            seed: 21,
        };
        generate(&config, |line| {
            text.push_str(line);
            text.push('\n');
        });
        text
    }

    /// The buckets of a one-level split, by key, searched through `/api/search`; and, for
    /// each but those `unpillable`, that the filter pills its answer carries select just its
    /// flows.
    async fn split_counts(
        server: &TestServer,
        agg: BucketAgg,
        networks: &Networks,
        with_pills: bool,
        unpillable: &[&str],
    ) -> BTreeMap<String, u64> {
        let mut vis = Visualization::example_action_port_pie();
        vis.kind = ChartKind::Table;
        vis.buckets = vec![Bucket {
            role: BucketRole::Rows,
            agg,
        }];
        let query = QueryText::default();
        let context = SearchContext {
            time: Resolved {
                from_ms: END - 13 * 3_600_000,
                to_ms: END,
            },
            time_field: "@timestamp",
            query: &query,
            filters: &[],
            time_zone: None,
            networks,
        };
        let body = build_request(&vis, &context).unwrap();
        let (status, answer) = server
            .post_json("/api/search", &json!({ "index": "cwl-*", "body": body }))
            .await;
        assert_eq!(status, 200, "{answer}");
        let counts: BTreeMap<String, u64> = answer["aggregations"]["2"]["buckets"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(key, bucket)| (key.clone(), bucket["doc_count"].as_u64().unwrap()))
            .filter(|(_, count)| *count > 0)
            .collect();
        let pills = &answer["aggregations"]["2"]["meta"]["filters"];
        assert_eq!(pills.is_object(), with_pills, "{answer}");
        for (key, count) in counts.iter().filter(|_| with_pills) {
            let pills: Option<Vec<Filter>> = serde_json::from_value(pills[key].clone()).unwrap();
            assert_eq!(pills.is_none(), unpillable.contains(&key.as_str()), "{key}");
            let Some(pills) = pills else {
                continue;
            };
            assert_eq!(selected(server, &pills).await, *count, "{key}: {pills:?}");
        }
        counts
    }

    /// How many flows filter pills select, as the dashboard applies them.
    async fn selected(server: &TestServer, pills: &[Filter]) -> u64 {
        let (negated, applied): (Vec<&Filter>, Vec<&Filter>) = pills.iter().partition(|f| f.negate);
        let body = json!({ "size": 0, "track_total_hits": true, "query": { "bool": {
            "filter": applied.iter().map(|f| f.to_dsl()).collect::<Vec<_>>(),
            "must_not": negated.iter().map(|f| f.to_dsl()).collect::<Vec<_>>(),
        } } });
        let (status, answer) = server
            .post_json("/api/search", &json!({ "index": "cwl-*", "body": body }))
            .await;
        assert_eq!(status, 200, "{answer}");
        answer["hits"]["total"]["value"].as_u64().unwrap()
    }

    /// Splits by source network and by direction count what the records say: the most
    /// specific range names an address, an external range inside ours is not ours, and flows
    /// without addresses (NODATA) are unnamed and of no direction.
    #[tokio::test]
    async fn splits_by_network_and_direction_count_what_the_records_say() {
        let server = TestServer::start().await;
        let text = demo_text();
        let (status, report) = server.post("/api/ingest", text.clone()).await;
        assert_eq!((status, report["accepted"].as_u64()), (200, Some(4000)));
        let networks = Networks::parse(NETWORKS).unwrap();
        let (sources, directions) = expected_splits(&text, &networks);
        // The demo has inbound, outbound and internal traffic (external traffic passes by
        // no VPC of its) and several networks, or this proves little.
        assert!(directions.len() >= 3, "{directions:?}");
        assert!(sources.len() >= 3, "{sources:?}");
        let by_source = || BucketAgg::Network {
            field: "srcaddr".to_owned(),
        };
        let by_network = split_counts(&server, by_source(), &networks, true, &[]);
        assert_eq!(by_network.await, sources);
        // The partner inside the VPC is not ours: no pills can say "own" then.
        let by_direction = split_counts(&server, BucketAgg::Direction {}, &networks, false, &[]);
        assert_eq!(by_direction.await, directions);
        // Without it, they can, and they select each direction's flows.
        let uncarved = Networks::parse(&NETWORKS.replace(" (external)", "")).unwrap();
        let by_direction = split_counts(&server, BucketAgg::Direction {}, &uncarved, true, &[]);
        assert_eq!(
            by_direction.await.values().sum::<u64>(),
            directions.values().sum::<u64>()
        );
        // With no range named, every flow is unnamed, which no pill needs to select.
        let none = Networks::default();
        let unnamed = split_counts(&server, by_source(), &none, true, &[]);
        assert_eq!(unnamed.await, BTreeMap::from([(UNNAMED.to_owned(), 4000)]));
        // The VPC's name again inside the web subnet inside the VPC (one app server of the
        // three there): counted right, though pills cannot say it.
        let nested = Networks::parse(&format!("{NETWORKS}10.10.10.18/31 = prod-vpc\n")).unwrap();
        let (sources, _) = expected_splits(&text, &nested);
        for name in ["prod-vpc", "prod-web", "partner", "staging", "internet"] {
            assert!(
                sources.get(name).is_some_and(|n| *n > 0),
                "{name}: {sources:?}"
            );
        }
        let by_network = split_counts(&server, by_source(), &nested, true, &["prod-vpc"]);
        assert_eq!(by_network.await, sources);
    }

    /// A Sankey of source network → destination network → destination port on the embedded
    /// engine: every column holds every flow, what flows into a node flows out of it, the
    /// network-to-network links are the records' counts, a link's filters select just its
    /// flows, and the server's SVG names the nodes.
    #[tokio::test]
    async fn a_sankey_of_networks_and_ports_adds_up_to_the_records() {
        let server = TestServer::start().await;
        let text = demo_text();
        let (status, report) = server.post("/api/ingest", text.clone()).await;
        assert_eq!((status, report["accepted"].as_u64()), (200, Some(4000)));
        let (status, answer) = server
            .post_json(
                "/api/saved_objects/networks/networks",
                &json!({ "attributes": { "title": "Networks", "text": NETWORKS } }),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        let networks = Networks::parse(NETWORKS).unwrap();
        let mut vis = Visualization::example_action_port_pie();
        vis.title = "Who talks to whom".into();
        vis.kind = ChartKind::Sankey;
        vis.buckets = vec![
            Bucket {
                role: BucketRole::Nodes,
                agg: BucketAgg::Network {
                    field: "srcaddr".into(),
                },
            },
            Bucket {
                role: BucketRole::Nodes,
                agg: BucketAgg::Network {
                    field: "dstaddr".into(),
                },
            },
            app::model::visualization::terms_bucket(BucketRole::Nodes, "dstport", 5),
        ];
        vis.validate().unwrap();
        let range = app::model::time::TimeRange::absolute(END - 13 * 3_600_000, END);
        let inputs =
            app::panels::ViewInputs::resolve(&range, Default::default(), Vec::new(), END, 0, None)
                .unwrap();
        let data = crate::visualizations::chart_data(&server.state, &vis, &inputs)
            .await
            .unwrap();
        let app::result::ChartData::Sankey(sankey) = data else {
            panic!("not a Sankey: {data:?}");
        };
        assert_eq!(sankey.level_totals(), [4000.0; 3]);
        for (node, (inflow, outflow)) in sankey.nodes.iter().zip(sankey.flows()) {
            if node.level == 1 {
                assert_eq!(inflow, outflow, "{}", node.label);
            }
        }
        // Network to network, from the records.
        let mut pairs: BTreeMap<(String, String), f64> = BTreeMap::new();
        for line in text.lines().skip(1) {
            let columns: Vec<&str> = line.split(' ').collect();
            let name = |i: usize| {
                columns[i]
                    .parse::<IpAddr>()
                    .ok()
                    .and_then(|ip| networks.name_of(ip))
                    .unwrap_or(UNNAMED)
                    .to_owned()
            };
            *pairs.entry((name(3), name(4))).or_default() += 1.0;
        }
        let mut checked = 0;
        for link in sankey
            .links
            .iter()
            .filter(|l| sankey.nodes[l.source].level == 0)
        {
            let (from, to) = (&sankey.nodes[link.source], &sankey.nodes[link.target]);
            if from.other || to.other {
                continue;
            }
            let expected = pairs[&(from.label.clone(), to.label.clone())];
            assert_eq!(link.value, expected, "{} → {}", from.label, to.label);
            // Its filters select its flows, and only those.
            assert_eq!(
                selected(&server, &link.filters).await as f64,
                expected,
                "{} → {}: {:?}",
                from.label,
                to.label,
                link.filters
            );
            checked += 1;
        }
        assert!(checked >= 3, "{sankey:?}");
        // Drawn by the server, with the nodes named.
        let (status, answer) = server
            .post_json(
                "/api/saved_objects/visualization/who-talks",
                &json!({ "attributes": vis }),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        let svg = server
            .get_body_text(&format!(
                "/api/visualizations/who-talks/render.svg?from={}&to={}&width=900&height=500",
                range.from, range.to
            ))
            .await;
        for label in ["prod-vpc", "internet", "443 (https)"] {
            assert!(svg.contains(label), "{label} in the SVG");
        }
    }

    /// The newcomer's demo names its networks, each VPC of its traffic, and a user's own
    /// networks stay as they are.
    #[tokio::test]
    async fn the_demo_names_its_networks_unless_some_are_named() {
        use crate::ingest::demo::DEMO_NETWORKS;
        let server = TestServer::start_with(|c| c.demo_follow = Some(60)).await;
        let (status, object) = server.get("/api/saved_objects/networks/networks").await;
        assert_eq!(status, 200, "{object}");
        assert_eq!(object["attributes"]["text"], DEMO_NETWORKS);
        let networks = Networks::parse(DEMO_NETWORKS).unwrap();
        let mut named = std::collections::BTreeSet::new();
        for line in demo_text().lines().skip(1) {
            let Ok(IpAddr::V4(source)) = line.split(' ').nth(3).unwrap().parse::<IpAddr>() else {
                continue;
            };
            let name = networks.name_of(IpAddr::V4(source)).unwrap();
            assert_eq!(
                source.octets()[0] == 10,
                name.ends_with("-vpc"),
                "{source}: {name}"
            );
            named.insert(name);
        }
        assert_eq!(named.len(), 5, "{named:?}");
        // Named already: the demo leaves them be.
        let ours = json!({ "attributes": { "title": "Networks", "text": "10.0.0.0/8 = ours\n" }, "version": object["version"] });
        let (status, _) = server
            .put_json("/api/saved_objects/networks/networks", &ours)
            .await;
        assert_eq!(status, 200);
        crate::networks::name_demo_networks(server.state.store.as_ref())
            .await
            .unwrap();
        let (_, object) = server.get("/api/saved_objects/networks/networks").await;
        assert_eq!(object["attributes"]["text"], "10.0.0.0/8 = ours\n");
    }

    /// The flows of each source network and of each direction, from the records themselves.
    fn expected_splits(
        text: &str,
        networks: &Networks,
    ) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
        let mut sources: BTreeMap<String, u64> = BTreeMap::new();
        let mut directions: BTreeMap<String, u64> = BTreeMap::new();
        for line in text.lines().skip(1) {
            let columns: Vec<&str> = line.split(' ').collect();
            let address = |i: usize| columns[i].parse::<IpAddr>().ok();
            let name = address(3)
                .and_then(|ip| networks.name_of(ip))
                .unwrap_or(UNNAMED);
            *sources.entry(name.to_owned()).or_default() += 1;
            if let (Some(src), Some(dst)) = (address(3), address(4)) {
                *directions
                    .entry(direction_of(networks, src, dst).to_owned())
                    .or_default() += 1;
            }
        }
        (sources, directions)
    }

    /// `--networks FILE` is read at start, a bad line stops the start naming it, and a save
    /// through the API writes the file back.
    #[tokio::test]
    async fn the_networks_file_is_read_at_start_and_written_on_save() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("networks.txt");
        std::fs::write(&file, "# ours\n10.0.0.0/16 = prod-vpc\n").unwrap();
        let path = file.clone();
        let server = TestServer::start_with(move |c| c.networks_file = Some(path)).await;
        let (status, object) = server.get("/api/saved_objects/networks/networks").await;
        assert_eq!(status, 200, "{object}");
        assert_eq!(
            object["attributes"]["text"],
            "# ours\n10.0.0.0/16 = prod-vpc\n"
        );
        let write = |text: &str| json!({ "attributes": { "title": "Networks", "text": text }, "version": object["version"] });
        let (status, answer) = server
            .put_json(
                "/api/saved_objects/networks/networks",
                &write("10.0.0.0/16 = prod\n10.1.0.0/16 = staging\n"),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "10.0.0.0/16 = prod\n10.1.0.0/16 = staging\n"
        );
        // A bad line is refused, naming it, and the file stays as it was.
        let (status, answer) = server
            .put_json(
                "/api/saved_objects/networks/networks",
                &write("10.0.0.0/16 = prod\n10.0.0.0/99 = x\n"),
            )
            .await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer.to_string().contains("line 2"), "{answer}");
        assert!(std::fs::read_to_string(&file).unwrap().contains("staging"));
        // A change the store refuses after the file was staged (an old version) leaves the
        // file as it was, and no temporary file beside it.
        let (status, answer) = server
            .put_json(
                "/api/saved_objects/networks/networks",
                &write("10.0.0.0/16 = stale\n"),
            )
            .await;
        assert_eq!(status, 409, "{answer}");
        assert!(std::fs::read_to_string(&file).unwrap().contains("staging"));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .filter(|name| name != "networks.txt")
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        // An import writes what it stored; a delete empties the file.
        let ndjson = json!({ "type": "networks", "id": "networks", "attributes": { "title": "Networks", "text": "10.9.0.0/16 = imported\n" }, "references": [] });
        let (status, answer) = server
            .post(
                "/api/saved_objects/_import?overwrite=true",
                ndjson.to_string(),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "10.9.0.0/16 = imported\n"
        );
        let (status, answer) = server.delete("/api/saved_objects/networks/networks").await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "");
        // A file that cannot be written (its folder gone) fails the save before the store
        // changes.
        let folder = dir.path().join("folder");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("networks.txt"), "10.0.0.0/16 = a\n").unwrap();
        let path = folder.join("networks.txt");
        let blocked = TestServer::start_with(move |c| c.networks_file = Some(path)).await;
        let (_, object) = blocked.get("/api/saved_objects/networks/networks").await;
        std::fs::remove_dir_all(&folder).unwrap();
        let change = json!({ "attributes": { "title": "Networks", "text": "10.0.0.0/16 = b\n" }, "version": object["version"] });
        let (status, answer) = blocked
            .put_json("/api/saved_objects/networks/networks", &change)
            .await;
        assert_eq!(status, 500, "{answer}");
        let (_, kept) = blocked.get("/api/saved_objects/networks/networks").await;
        assert_eq!(kept["attributes"]["text"], "10.0.0.0/16 = a\n", "{kept}");

        std::fs::write(&file, "10.0.0.0/16 = a\nnonsense\n").unwrap();
        let mut config = TestServer::config(dir.path());
        config.networks_file = Some(file.clone());
        let error = crate::http::AppState::initialize(&config)
            .await
            .err()
            .unwrap();
        assert!(format!("{error:#}").contains("line 2"), "{error:#}");
    }
}
