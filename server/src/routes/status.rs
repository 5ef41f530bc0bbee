//! `GET /password-change-status/{id}` (scope `idn:password-change-status:read`): the
//! state of a password change. An id unknown in the caller's tenant is 404 with the API's
//! body; a user's token may read its own identity's changes only (403).

use axum::Json;
use axum::extract::{Path, State};
use password_mgmt::wire;

use crate::AppState;
use crate::auth::{Principal, scope};
use crate::error::ApiError;
use crate::store::ChangeState;

/// `GET /password-change-status/{id}`.
///
/// # Errors
/// 401, 403, 404, 500, 503.
pub async fn get_status(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<wire::PasswordStatus>, ApiError> {
    principal.require(scope::CHANGE_STATUS_READ)?;
    let change = state
        .store()
        .change(&principal.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no password change request has this id".into()))?;
    principal.may_act_for(&change.identity_id)?;
    let state = match change.state {
        ChangeState::InProgress => wire::PasswordState::InProgress,
        ChangeState::Finished => wire::PasswordState::Finished,
        ChangeState::Failed => wire::PasswordState::Failed,
    };
    Ok(Json(wire::PasswordStatus {
        request_id: Some(change.id),
        state: Some(state),
        errors: Some(change.errors),
        source_ids: Some(vec![change.source_id]),
    }))
}
