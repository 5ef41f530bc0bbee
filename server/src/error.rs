//! One error type for every route, [`ApiError`], and the one place that turns it into the
//! API's bodies.
//!
//! A handler returns `Err(ApiError)`; its `IntoResponse` sets only the status and leaves
//! the error in the response's extensions. The [`finalize`] middleware (mounted by
//! [`router`](crate::router)) then draws the `trackingId` from the server's RNG, writes
//! the body, and logs the error once, inside the request span (which carries the request
//! id): 4xx precise to the client, 5xx opaque (`500.0 Internal Fault`, the detail only in
//! the log). It also rewrites every other error response without a JSON body (unknown
//! route, wrong method, timeouts, a caught panic, the body limit) into the API's shape.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use password_mgmt::wire::{self, TrackingId};
use password_mgmt::{DetailCode, Error as CrateError, RetryAfter};

use crate::AppState;
use crate::entropy::Entropy;
use crate::store::StoreError;

/// Everything a request can fail with.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// A crate error: its detail code gives the status and body (400, 403 or 500).
    Crate(CrateError),
    /// 400 with the API's body, one cause per problem.
    BadRequest(Vec<String>),
    /// 401 with `{"error": ...}`: missing, malformed, badly signed or expired token.
    Unauthorized(String),
    /// 403 with the API's body; the cause says what was missing.
    Forbidden(String),
    /// 404 with the API's body.
    NotFound(String),
    /// 405 with the API's body.
    MethodNotAllowed,
    /// 408: the client did not send its body in time.
    RequestTimeout,
    /// 413: the body is larger than `server.body_limit_bytes`.
    PayloadTooLarge,
    /// 429 with `{"message": ...}` and `Retry-After` (seconds).
    TooManyRequests {
        /// How long to wait.
        retry_after: RetryAfter,
    },
    /// 503 with the API's body: the database is unavailable, or contention outlasted the
    /// retries. The detail is logged, not sent.
    Unavailable(String),
    /// 500 `500.0 Internal Fault`: the detail is logged, not sent.
    Internal(String),
    /// An RFC 6749 section 5.2 error of `POST /oauth/token`.
    OAuth(OAuthError),
}

/// An RFC 6749 section 5.2 error response.
#[derive(Debug, Clone)]
pub struct OAuthError {
    /// `error`: `invalid_request`, `invalid_client`, `unsupported_grant_type`...
    pub error: &'static str,
    /// `error_description`.
    pub description: String,
    /// Whether the client authenticated with HTTP Basic (then a 401 carries
    /// `WWW-Authenticate: Basic`).
    pub basic: bool,
}

impl ApiError {
    /// A 400 with one cause.
    #[must_use]
    pub fn bad_request(cause: impl Into<String>) -> Self {
        Self::BadRequest(vec![cause.into()])
    }

    /// A 500 whose detail is only logged.
    #[must_use]
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal(detail.to_string())
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Crate(e) => StatusCode::from_u16(e.detail_code().http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::OAuth(e) if e.error == "invalid_client" => StatusCode::UNAUTHORIZED,
            Self::OAuth(_) => StatusCode::BAD_REQUEST,
        }
    }
}

impl From<CrateError> for ApiError {
    fn from(e: CrateError) -> Self {
        match e {
            CrateError::RateLimited { retry_after } => Self::TooManyRequests { retry_after },
            e => Self::Crate(e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(detail) => Self::Unavailable(detail),
            StoreError::Fault(detail) => Self::Internal(detail),
        }
    }
}

impl From<crate::entropy::EntropyError> for ApiError {
    fn from(e: crate::entropy::EntropyError) -> Self {
        Self::internal(e)
    }
}

/// The error a response carries until [`finalize`] writes its body.
#[derive(Clone, Debug)]
struct PendingError(Arc<ApiError>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        if let Self::TooManyRequests { retry_after } = &self
            && let Ok(v) = HeaderValue::from_str(&retry_after.seconds().to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
            .extensions_mut()
            .insert(PendingError(Arc::new(self)));
        response
    }
}

// The server's own codes for statuses the API does not document (its detail codes and
// messages come from the crate's `DetailCode`).
const METHOD_NOT_ALLOWED: (&str, &str) = (
    "405 Method Not Allowed",
    "The method is not allowed on this resource.",
);
const REQUEST_TIMEOUT: (&str, &str) = (
    "408 Request Timeout",
    "The server did not receive the whole request in time.",
);
const PAYLOAD_TOO_LARGE: (&str, &str) = (
    "413 Payload Too Large",
    "The request body is larger than the server accepts.",
);

/// The API's error body for one of the API's detail codes.
fn api_body(code: DetailCode, causes: Vec<String>, tracking_id: TrackingId) -> wire::ErrorResponse {
    wire::ErrorResponse::new(code, tracking_id, causes)
}

/// The API's error body for one of the server's own codes (the shape of the API's body,
/// with the server's code and message).
fn own_body((code, message): (&str, &str), tracking_id: TrackingId) -> wire::ErrorResponse {
    let mut body = api_body(DetailCode::BadRequestContent, Vec::new(), tracking_id);
    body.detail_code = Some(code.into());
    for m in body.messages.iter_mut().flatten() {
        m.text = Some(message.into());
    }
    body
}

fn json(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Writes the body of `error` and logs it once.
fn render(error: &ApiError, rng: &mut Entropy, headers: &mut axum::http::HeaderMap) -> Response {
    let status = error.status();
    let tracking_id = TrackingId::try_generate(rng).unwrap_or(TrackingId::from_bytes([0; 16]));
    tracing::Span::current().record("tracking_id", tracking_id.to_string().as_str());
    match error {
        ApiError::Crate(e) => {
            let body = wire::ErrorResponse::from_error(e, tracking_id);
            if e.detail_code() == DetailCode::InternalFault {
                tracing::error!(%tracking_id, detail = %e, "internal fault");
            } else {
                tracing::info!(%tracking_id, %status, reason = %e, "request refused");
            }
            json(status, &body)
        }
        ApiError::BadRequest(causes) => {
            tracing::info!(%tracking_id, %status, reason = ?causes, "request refused");
            json(
                status,
                &api_body(DetailCode::BadRequestContent, causes.clone(), tracking_id),
            )
        }
        ApiError::Unauthorized(reason) => {
            tracing::info!(%status, %reason, "unauthenticated");
            let value = if reason.starts_with("Authorization header is missing") {
                "Bearer realm=\"password-mgmt\""
            } else {
                "Bearer realm=\"password-mgmt\", error=\"invalid_token\""
            };
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
            json(
                status,
                &wire::Unauthorized {
                    error: Some(reason.clone()),
                },
            )
        }
        ApiError::Forbidden(cause) => {
            tracing::info!(%tracking_id, %status, reason = %cause, "forbidden");
            json(
                status,
                &api_body(DetailCode::Forbidden, vec![cause.clone()], tracking_id),
            )
        }
        ApiError::NotFound(cause) => {
            tracing::info!(%tracking_id, %status, reason = %cause, "not found");
            json(
                status,
                &api_body(DetailCode::NotFound, vec![cause.clone()], tracking_id),
            )
        }
        ApiError::MethodNotAllowed => json(status, &own_body(METHOD_NOT_ALLOWED, tracking_id)),
        ApiError::RequestTimeout => {
            tracing::info!(%tracking_id, %status, "request body timed out");
            json(status, &own_body(REQUEST_TIMEOUT, tracking_id))
        }
        ApiError::PayloadTooLarge => {
            tracing::info!(%tracking_id, %status, "request body too large");
            json(status, &own_body(PAYLOAD_TOO_LARGE, tracking_id))
        }
        ApiError::TooManyRequests { retry_after } => {
            tracing::info!(%status, retry_after = retry_after.seconds(), "rate limited");
            json(status, &wire::TooManyRequests::new())
        }
        ApiError::Unavailable(detail) => {
            tracing::warn!(%tracking_id, %detail, "service unavailable");
            json(
                status,
                &api_body(DetailCode::ServiceUnavailable, Vec::new(), tracking_id),
            )
        }
        ApiError::Internal(detail) => {
            tracing::error!(%tracking_id, %detail, "internal fault");
            json(
                status,
                &api_body(DetailCode::InternalFault, Vec::new(), tracking_id),
            )
        }
        ApiError::OAuth(e) => {
            tracing::info!(%status, error = e.error, reason = %e.description, "token request refused");
            if e.basic && status == StatusCode::UNAUTHORIZED {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"password-mgmt\""),
                );
            }
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            json(
                status,
                &serde_json::json!({ "error": e.error, "error_description": e.description }),
            )
        }
    }
}

/// The error for a response that left the routes as a bare status (axum's own 404 and
/// 405, tower-http's timeouts and body limit, a caught panic).
fn bare(status: StatusCode) -> ApiError {
    match status {
        StatusCode::NOT_FOUND => ApiError::NotFound("no such endpoint".into()),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::REQUEST_TIMEOUT => ApiError::RequestTimeout,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable("the request timed out".into()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::bad_request("Content-Type must be application/json")
        }
        s if s.is_client_error() => ApiError::bad_request(format!("the request was refused ({s})")),
        s => ApiError::Internal(format!("a layer answered {s} without a body (a panic?)")),
    }
}

/// Middleware: writes the API's body for every error response and logs it once.
pub async fn finalize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let pending = response.extensions_mut().remove::<PendingError>();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let error = match pending {
        Some(PendingError(error)) => error,
        None if (response.status().is_client_error() || response.status().is_server_error())
            && !is_json =>
        {
            Arc::new(bare(response.status()))
        }
        None => return response,
    };
    let mut rng = state.rng();
    let mut headers = std::mem::take(response.headers_mut());
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(header::CONTENT_TYPE);
    let mut rendered = render(&error, &mut rng, &mut headers);
    for (name, value) in &headers {
        if !rendered.headers().contains_key(name) {
            rendered.headers_mut().insert(name.clone(), value.clone());
        }
    }
    *rendered.status_mut() = error.status();
    rendered
}
