//! [`ApiJson`]: the request-body extractor of every JSON route. Bad JSON, wrong types, a
//! wrong or missing content type, a missing or oversized body each become the API's error
//! body with one cause naming the problem (and the field, once), never axum's plain-text
//! rejection. Unknown fields are ignored, as the crate's wire types do.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body, parsed into `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

/// Whether a `Content-Type` value is JSON (`application/json`, with parameters, or a
/// `+json` type).
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Reads the whole body, mapping the limit and the body timeout to 413 and 408.
///
/// # Errors
/// [`ApiError::PayloadTooLarge`], [`ApiError::RequestTimeout`], or a 400.
pub async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                return ApiError::PayloadTooLarge;
            }
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&rejection);
            while let Some(e) = cause {
                if e.is::<tower_http::timeout::TimeoutError>() {
                    return ApiError::RequestTimeout;
                }
                cause = e.source();
            }
            ApiError::bad_request("the request body could not be read")
        })
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        match content_type {
            None => {
                return Err(ApiError::bad_request(
                    "Content-Type is missing; send the body as application/json",
                ));
            }
            Some(ct) if !is_json(&ct) => {
                return Err(ApiError::bad_request(
                    "Content-Type must be application/json",
                ));
            }
            Some(_) => {}
        }
        let bytes = read_body(request, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request(
                "the request body is missing; expected a JSON object",
            ));
        }
        serde_json::from_slice(&bytes)
            .map(Self)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("Application/JSON"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert!(!is_json(""));
    }
}
