//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers; 503
//! otherwise).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;

/// Liveness: 200 while the process serves requests.
pub async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: 200 when the database answers, 503 with the API's body otherwise.
///
/// # Errors
/// [`ApiError::Unavailable`].
pub async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state
        .store()
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(Json(json!({ "status": "ready" })))
}
