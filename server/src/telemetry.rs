//! Logs: `tracing` with one span per request (method, path, request id, tenant, status,
//! latency, and the tracking id of an error). Nothing secret is ever recorded: no header
//! is logged (the `Authorization` header is also marked sensitive), no body, no query.

use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{Request, Response};
use tracing::Span;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The span of one request.
pub fn request_span<B>(request: &Request<B>) -> Span {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| request.uri().path(), MatchedPath::as_str);
    let request_id = request
        .headers()
        .get(crate::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %path,
        request_id = %request_id,
        tenant = tracing::field::Empty,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
        tracking_id = tracing::field::Empty,
    )
}

/// Records the status and latency, and logs the request's end.
pub fn on_response<B>(response: &Response<B>, latency: Duration, span: &Span) {
    let status = response.status().as_u16();
    let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    span.record("status", status);
    span.record("latency_ms", latency_ms);
    tracing::info!(parent: span, status, latency_ms, "request finished");
}

/// Installs the global subscriber: `filter` (e.g. `info`), written to `writer`.
///
/// # Errors
/// When the filter does not parse or a subscriber is installed already.
pub fn init<W>(filter: &str, writer: W) -> Result<(), String>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).map_err(|e| format!("log.filter: {e}"))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false)
        .try_init()
        .map_err(|e| e.to_string())
}
