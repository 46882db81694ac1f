//! Extractors whose rejections answer in the API's own error shape.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, Request};

use super::AppError;

/// `axum::Json`, but a bad body is an [`AppError`] naming what is wrong.
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(AppJson(value)),
            Err(JsonRejection::BytesRejection(rejection)) => Err(body_error(rejection)),
            Err(rejection) => Err(AppError::BadRequest {
                kind: "parse_exception",
                reason: rejection.body_text(),
            }),
        }
    }
}

/// The raw body, with the size limit reported as a 413 in our shape.
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(request, state)
            .await
            .map(Body)
            .map_err(body_error)
    }
}

fn body_error(rejection: BytesRejection) -> AppError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge(format!("request body too large: {}", rejection.body_text()))
    } else {
        AppError::bad_request(rejection.body_text())
    }
}
