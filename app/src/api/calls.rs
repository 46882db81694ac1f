//! The browser's calls of the contract API, over `http`. Outside the browser `http` is a
//! twin that answers an error, so pages call these without `cfg`.

use serde_json::{json, Value};

use super::{encode, http, ApiError, ObjectWrite, SearchRequest};
use crate::model::index_pattern::FieldSpec;
use crate::model::saved_object::{ObjectType, SavedObject};

/// `POST /api/search`: one search, answered as Elasticsearch answers it.
pub async fn search(request: &SearchRequest) -> Result<Value, ApiError> {
    http::post_json("/api/search", request).await
}

/// One multi-search; `on_answer(i, answer)` is called for each search as its answer
/// arrives (in any order). Searches the stream did not answer get an error.
pub async fn msearch(
    searches: &[SearchRequest],
    mut on_answer: impl FnMut(usize, Result<Value, ApiError>),
) -> Result<(), ApiError> {
    let mut answered = vec![false; searches.len()];
    http::post_json_lines("/api/msearch", &json!({ "searches": searches }), |line| {
        if line.is_empty() {
            return;
        }
        let Ok(mut entry) = serde_json::from_str::<Value>(line) else {
            return;
        };
        let Some(index) = entry["index"]
            .as_u64()
            .map(|i| i as usize)
            .filter(|&i| i < searches.len())
        else {
            return;
        };
        let response = entry["response"].take();
        answered[index] = true;
        on_answer(
            index,
            match ApiError::from_response(&response) {
                Some(error) => Err(error),
                None => Ok(response),
            },
        );
    })
    .await?;
    for (index, done) in answered.into_iter().enumerate() {
        if !done {
            on_answer(
                index,
                Err(ApiError::Decode(
                    "the server sent no answer for this search".into(),
                )),
            );
        }
    }
    Ok(())
}

/// The fields of the indices a pattern matches, with their types.
pub async fn fields(index: &str) -> Result<Vec<FieldSpec>, ApiError> {
    #[derive(serde::Deserialize)]
    struct Fields {
        fields: Vec<FieldCapsRow>,
    }
    #[derive(serde::Deserialize)]
    struct FieldCapsRow {
        name: String,
        field_type: String,
        aggregatable: bool,
        searchable: bool,
    }
    let answer: Fields = http::get_json(&format!("/api/fields?index={}", encode(index))).await?;
    Ok(answer
        .fields
        .into_iter()
        .map(|f| FieldSpec {
            name: f.name,
            field_type: f.field_type,
            aggregatable: f.aggregatable,
            searchable: f.searchable,
        })
        .collect())
}

/// Creates a saved object and answers it as stored.
pub async fn create(
    object_type: ObjectType,
    id: Option<&str>,
    attributes: &Value,
) -> Result<SavedObject, ApiError> {
    let url = match id {
        Some(id) => format!("/api/saved_objects/{}/{}", object_type.as_str(), encode(id)),
        None => format!("/api/saved_objects/{}", object_type.as_str()),
    };
    http::post_json(
        &url,
        &ObjectWrite {
            attributes,
            version: None,
        },
    )
    .await
}

/// Updates a saved object; the version it started from guards against lost updates (409).
pub async fn update(
    object_type: ObjectType,
    id: &str,
    version: u64,
    attributes: &Value,
) -> Result<SavedObject, ApiError> {
    http::put_json(
        &format!("/api/saved_objects/{}/{}", object_type.as_str(), encode(id)),
        &ObjectWrite {
            attributes,
            version: Some(version),
        },
    )
    .await
}

/// Deletes a saved object.
pub async fn delete(object_type: ObjectType, id: &str) -> Result<(), ApiError> {
    http::delete(&format!(
        "/api/saved_objects/{}/{}",
        object_type.as_str(),
        encode(id)
    ))
    .await
}

/// NDJSON of objects and, with `deep`, everything they reference.
pub async fn export(objects: &[(ObjectType, String)], deep: bool) -> Result<String, ApiError> {
    let objects: Vec<Value> = objects
        .iter()
        .map(|(t, id)| json!({ "type": t.as_str(), "id": id }))
        .collect();
    http::post_text(
        "/api/saved_objects/_export",
        &json!({ "objects": objects, "includeReferencesDeep": deep }).to_string(),
        "application/json",
    )
    .await
}

/// Imports saved objects from NDJSON (Kibana's export format); answers the per-object report.
pub async fn import(ndjson: &str, overwrite: bool, new_copies: bool) -> Result<Value, ApiError> {
    let text = http::post_text(
        &format!("/api/saved_objects/_import?overwrite={overwrite}&createNewCopies={new_copies}"),
        ndjson,
        "application/ndjson",
    )
    .await?;
    serde_json::from_str(&text).map_err(|e| ApiError::Decode(e.to_string()))
}

/// Stores a long dashboard state and answers its short id.
pub async fn shorten(url: &str) -> Result<String, ApiError> {
    let answer: Value = http::post_json("/api/short_urls", &json!({ "url": url })).await?;
    answer
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::Decode("no id".into()))
}

/// Re-reads an index pattern's fields from the indices it matches.
pub async fn refresh_fields(id: &str) -> Result<SavedObject, ApiError> {
    http::post_json(
        &format!("/api/index_patterns/{}/_refresh", encode(id)),
        &json!({}),
    )
    .await
}
