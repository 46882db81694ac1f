//! The saved-object store as the Leptos renderer reads it while rendering pages on the server
//! (the browser reads the same objects over HTTP).

use std::sync::Arc;

use app::api::{ApiError, ObjectSource};
use app::model::saved_object::{FindResult, ObjectType, SavedObject};

use crate::store::{FindQuery, SavedObjectStore, StoreError};

pub struct StoreSource(pub Arc<dyn SavedObjectStore>);

fn api_error(error: StoreError) -> ApiError {
    let status = match error {
        StoreError::NotFound(..) => 404,
        StoreError::Conflict(_) => 409,
        StoreError::Invalid(_) => 400,
        StoreError::Storage(_) => 500,
    };
    ApiError::Server {
        status,
        kind: "saved_objects".into(),
        reason: error.to_string(),
    }
}

impl ObjectSource for StoreSource {
    fn find(
        &self,
        types: Vec<ObjectType>,
        search: Option<String>,
        page: usize,
        per_page: usize,
    ) -> app::api::BoxFuture<'_, Result<FindResult, ApiError>> {
        Box::pin(async move {
            self.0
                .find(FindQuery {
                    types,
                    search,
                    page,
                    per_page,
                })
                .await
                .map_err(api_error)
        })
    }

    fn get(
        &self,
        object_type: ObjectType,
        id: String,
    ) -> app::api::BoxFuture<'_, Result<SavedObject, ApiError>> {
        Box::pin(async move { self.0.get(object_type, &id).await.map_err(api_error) })
    }
}
