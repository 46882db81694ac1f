//! `/api/saved_objects`: create, get, update (with optimistic concurrency), delete and find
//! index patterns, visualizations and dashboards; `_export` as NDJSON, `_import` from flowdash
//! or Kibana 7.x NDJSON.

use app::model::network::{NetworksObject, NETWORKS_ID};
use app::model::saved_object::{FindResult, ObjectType, Reference, SavedObject};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::extract::Body;
use super::{AppError, AppJson, AppState};
use crate::networks::Staged;
use crate::store::transfer::{self, implied_references, ImportMode};
use crate::store::{FindQuery, NewObject, StoreError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/saved_objects/_find", get(find))
        .route("/saved_objects/_export", post(export))
        .route("/saved_objects/_import", post(import))
        .route("/saved_objects/{type}", post(create))
        .route(
            "/saved_objects/{type}/{id}",
            get(fetch).post(create_with_id).put(update).delete(delete),
        )
        .route("/index_patterns/{id}/_refresh", post(refresh_fields))
}

/// Reads an index pattern's fields from the backend again.
async fn refresh_fields(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SavedObject>, AppError> {
    let object = state.store.get(ObjectType::IndexPattern, &id).await?;
    let mut pattern: app::model::index_pattern::IndexPattern =
        serde_json::from_value(object.attributes).map_err(|e| AppError::Internal(e.into()))?;
    state.allowed_indices.check(&pattern.title)?;
    pattern.fields = crate::defaults::fields(state.backend.as_ref(), &pattern.title).await;
    let attributes = serde_json::to_value(&pattern).map_err(|e| AppError::Internal(e.into()))?;
    Ok(Json(
        state
            .store
            .update(
                ObjectType::IndexPattern,
                &id,
                Some(object.version),
                attributes,
                object.references,
            )
            .await?,
    ))
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> AppError {
        match error {
            StoreError::NotFound(..) => AppError::NotFound(error.to_string()),
            StoreError::Conflict(reason) => AppError::Conflict(reason),
            StoreError::Invalid(reason) => AppError::BadRequest {
                kind: "validation_exception",
                reason,
            },
            StoreError::Storage(reason) => AppError::Internal(anyhow::anyhow!(reason)),
        }
    }
}

fn object_type(text: &str) -> Result<ObjectType, AppError> {
    ObjectType::parse(text).ok_or_else(|| {
        AppError::bad_request(format!(
            "unknown saved object type [{text}] (index-pattern, visualization, dashboard)"
        ))
    })
}

#[derive(Debug, Deserialize)]
struct Write {
    attributes: Value,
    #[serde(default)]
    references: Option<Vec<Reference>>,
    /// For updates: the version the change is based on.
    #[serde(default)]
    version: Option<u64>,
}

/// References the client gave, else the ones the attributes imply.
async fn references(
    state: &AppState,
    object_type: ObjectType,
    write: &Write,
) -> Result<Vec<Reference>, AppError> {
    if let Some(references) = &write.references {
        return Ok(references.clone());
    }
    let patterns = state
        .store
        .find(FindQuery {
            types: vec![ObjectType::IndexPattern],
            per_page: 1000,
            ..Default::default()
        })
        .await?
        .saved_objects;
    Ok(implied_references(
        object_type,
        &write.attributes,
        &patterns,
    ))
}

#[derive(Debug, Deserialize, Default)]
struct CreateParams {
    #[serde(default)]
    overwrite: bool,
}

async fn create(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    AppJson(write): AppJson<Write>,
) -> Result<Json<SavedObject>, AppError> {
    create_object(&state, &kind, None, write, false).await
}

async fn create_with_id(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    Query(params): Query<CreateParams>,
    AppJson(write): AppJson<Write>,
) -> Result<Json<SavedObject>, AppError> {
    create_object(&state, &kind, Some(id), write, params.overwrite).await
}

/// Creates an object (with a generated id when `id` is `None`), its references checked.
async fn create_object(
    state: &AppState,
    kind: &str,
    id: Option<String>,
    write: Write,
    overwrite: bool,
) -> Result<Json<SavedObject>, AppError> {
    let object_type = object_type(kind)?;
    let references = references(state, object_type, &write).await?;
    let staged =
        stage_networks_file(state, object_type, id.as_deref(), Some(&write.attributes)).await?;
    let store = state.store.clone();
    let change = async move {
        let new = NewObject {
            object_type,
            id,
            attributes: write.attributes,
            references,
        };
        store.create(new, overwrite).await
    };
    Ok(Json(change_with_networks_file(staged, change).await?))
}

async fn fetch(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Json<SavedObject>, AppError> {
    Ok(Json(state.store.get(object_type(&kind)?, &id).await?))
}

async fn update(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    AppJson(write): AppJson<Write>,
) -> Result<Json<SavedObject>, AppError> {
    let object_type = object_type(&kind)?;
    let references = references(&state, object_type, &write).await?;
    let staged =
        stage_networks_file(&state, object_type, Some(&id), Some(&write.attributes)).await?;
    let store = state.store.clone();
    let change = async move {
        let (version, attributes) = (write.version, write.attributes);
        store
            .update(object_type, &id, version, attributes, references)
            .await
    };
    Ok(Json(change_with_networks_file(staged, change).await?))
}

/// With `--networks FILE`, a write of the networks object stages the file's next text
/// (`None`, a delete: empty) before the store changes, so the file cannot fail after it.
/// Ranges that do not read are left to the store, which refuses them naming the line.
async fn stage_networks_file(
    state: &AppState,
    object_type: ObjectType,
    id: Option<&str>,
    attributes: Option<&Value>,
) -> Result<Option<Staged>, AppError> {
    let Some(file) = &state.networks_file else {
        return Ok(None);
    };
    if object_type != ObjectType::Networks || id != Some(NETWORKS_ID) {
        return Ok(None);
    }
    let text = match attributes.map(|a| NetworksObject::from_value(a.clone())) {
        Some(Ok((object, _))) => object.text,
        Some(Err(_)) => return Ok(None),
        None => String::new(),
    };
    Ok(Some(file.stage(&text).await.map_err(AppError::Internal)?))
}

/// Makes a store `change` and then puts a staged networks file in place, in a task of its
/// own: a client that goes away mid-request drops the handler, which must not leave the
/// store changed and the file not.
async fn change_with_networks_file<T: Send + 'static>(
    staged: Option<Staged>,
    change: impl std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
) -> Result<T, AppError> {
    let task = tokio::spawn(async move {
        let changed = change.await?;
        if let Some(staged) = staged {
            staged.commit().map_err(AppError::Internal)?;
        }
        Ok(changed)
    });
    task.await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("a saved object change failed: {e}")))?
}

async fn delete(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Json<Value>, AppError> {
    let object_type = object_type(&kind)?;
    let staged = stage_networks_file(&state, object_type, Some(&id), None).await?;
    let store = state.store.clone();
    let change = async move { store.delete(object_type, &id).await };
    change_with_networks_file(staged, change).await?;
    Ok(Json(serde_json::json!({})))
}

#[derive(Debug, Deserialize)]
struct FindParams {
    #[serde(default, rename = "type")]
    object_type: Option<String>,
    #[serde(default)]
    search: Option<String>,
    #[serde(default)]
    page: Option<usize>,
    #[serde(default)]
    per_page: Option<usize>,
}

async fn find(
    State(state): State<AppState>,
    Query(params): Query<FindParams>,
) -> Result<Json<FindResult>, AppError> {
    let types = params
        .object_type
        .as_deref()
        .map(|t| t.split(',').map(object_type).collect::<Result<Vec<_>, _>>())
        .transpose()?
        .unwrap_or_default();
    let result = state
        .store
        .find(FindQuery {
            types,
            search: params.search,
            page: params.page.unwrap_or(1),
            per_page: params.per_page.unwrap_or(100),
        })
        .await?;
    Ok(Json(result))
}

#[derive(Debug, Deserialize)]
struct ExportRequest {
    /// Every object of these types.
    #[serde(default, rename = "type")]
    types: Option<Vec<String>>,
    /// These objects.
    #[serde(default)]
    objects: Option<Vec<ExportObject>>,
    #[serde(default, rename = "includeReferencesDeep")]
    include_references_deep: bool,
}

#[derive(Debug, Deserialize)]
struct ExportObject {
    #[serde(rename = "type")]
    object_type: String,
    id: String,
}

async fn export(
    State(state): State<AppState>,
    AppJson(request): AppJson<ExportRequest>,
) -> Result<impl IntoResponse, AppError> {
    let mut roots = Vec::new();
    if let Some(objects) = request.objects {
        for object in objects {
            roots.push((object_type(&object.object_type)?, object.id));
        }
    }
    if let Some(types) = request.types {
        let types = types
            .iter()
            .map(|t| object_type(t))
            .collect::<Result<Vec<_>, _>>()?;
        let all = state
            .store
            .find(FindQuery {
                types,
                per_page: 10_000,
                ..Default::default()
            })
            .await?;
        roots.extend(all.saved_objects.into_iter().map(|o| (o.object_type, o.id)));
    }
    if roots.is_empty() {
        return Err(AppError::bad_request("name [type] or [objects] to export"));
    }
    // Exported in a stable order: roots as asked.
    roots.reverse();
    let ndjson =
        transfer::export(state.store.as_ref(), roots, request.include_references_deep).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/ndjson"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"export.ndjson\"",
            ),
        ],
        ndjson,
    ))
}

async fn import(
    State(state): State<AppState>,
    Query(mode): Query<ImportMode>,
    Body(body): Body,
) -> Result<Json<transfer::ImportReport>, AppError> {
    if mode.overwrite && mode.create_new_copies {
        return Err(AppError::bad_request(
            "[overwrite] and [createNewCopies] cannot be used together",
        ));
    }
    let text = String::from_utf8(body.into())
        .map_err(|_| AppError::bad_request("the import is not UTF-8 NDJSON"))?;
    let (store, networks_file) = (state.store.clone(), state.networks_file.clone());
    // In a task of its own, as a change with the networks file is (see
    // `change_with_networks_file`): the file follows the store even if the client goes.
    let task = tokio::spawn(async move {
        let report = transfer::import(store.as_ref(), &text, mode).await;
        // Even a failed import may have stored some objects, the networks among them.
        if let Some(file) = networks_file {
            match (file.rewrite_from(store.as_ref()).await, &report) {
                (Ok(()), _) => {}
                (Err(error), Ok(_)) => {
                    return Err(AppError::Internal(
                        error.context("the import took effect, but"),
                    ))
                }
                // The import's own error says more; the file's is logged.
                (Err(error), Err(_)) => {
                    tracing::error!(error = format!("{error:#}"), "rewriting --networks")
                }
            }
        }
        Ok(Json(report?))
    });
    task.await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("an import failed: {e}")))?
}
