//! What a new flowdash has out of the box: the `cwl-*` index pattern (as the AWS Lambda names
//! its indices), the seed's visualizations, and the VPC flow overview dashboard. Created when
//! missing, never over a user's changes.

use app::model::index_pattern::{FieldSpec, IndexPattern, DEFAULT_INDEX_PATTERN_ID};
use app::model::saved_object::{ObjectType, Reference};
use serde_json::json;

use crate::backend::SearchBackend;
use crate::store::{NewObject, SavedObjectStore, StoreError};

/// The fields of an index pattern, as the backend reports them.
pub async fn fields(backend: &dyn SearchBackend, pattern: &str) -> Vec<FieldSpec> {
    match backend.field_caps(pattern).await {
        Ok(caps) => caps
            .into_iter()
            .map(|c| FieldSpec {
                name: c.name,
                field_type: c.field_type,
                aggregatable: c.aggregatable,
                searchable: c.searchable,
            })
            .collect(),
        Err(error) => {
            tracing::warn!(%error, pattern, "cannot read the fields of the index pattern");
            Vec::new()
        }
    }
}

/// Creates the default objects that do not exist yet.
pub async fn install(
    store: &dyn SavedObjectStore,
    backend: &dyn SearchBackend,
    geo: crate::overview::GeoPanels,
) -> Result<(), StoreError> {
    let index_pattern = IndexPattern {
        title: "cwl-*".into(),
        time_field: "@timestamp".into(),
        fields: fields(backend, "cwl-*").await,
        field_formats: Default::default(),
    };
    let index_ref = || {
        vec![Reference {
            name: "index_pattern".into(),
            object_type: ObjectType::IndexPattern,
            id: DEFAULT_INDEX_PATTERN_ID.into(),
        }]
    };
    let mut objects = vec![NewObject {
        object_type: ObjectType::IndexPattern,
        id: Some(DEFAULT_INDEX_PATTERN_ID.into()),
        attributes: json!(index_pattern),
        references: vec![],
    }];
    for (id, vis) in crate::overview::visualizations(geo) {
        objects.push(NewObject {
            object_type: ObjectType::Visualization,
            id: Some(id.into()),
            attributes: json!(vis),
            references: index_ref(),
        });
    }
    let dashboard = crate::overview::dashboard(geo);
    let references = dashboard
        .panels
        .iter()
        .filter_map(|p| match &p.source {
            app::model::dashboard::PanelSource::Saved(id) => Some(Reference {
                name: format!("panel_{}", p.id),
                object_type: ObjectType::Visualization,
                id: id.clone(),
            }),
            _ => None,
        })
        .collect();
    objects.push(NewObject {
        object_type: ObjectType::Dashboard,
        id: Some(crate::overview::DASHBOARD_ID.into()),
        attributes: json!(dashboard),
        references,
    });
    for object in objects {
        match store.create(object, false).await {
            Ok(created) => {
                tracing::info!(object_type = created.object_type.as_str(), id = %created.id, "installed a default object")
            }
            Err(StoreError::Conflict(_)) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(())
}
