//! `POST /query-password-info` (scope `idn:password-info:read`): `userName` and
//! `sourceName` in; `identityId`, `sourceId`, the current `publicKeyId` and `publicKey`,
//! the identity's `accounts` on that source and the source's `policies` out.
//!
//! An unknown user and an unknown source get the same 400, so the answer does not tell
//! which of the two exists. A user's token may query its own identity only (403).

use axum::Json;
use axum::extract::State;
use password_mgmt::wire;

use crate::AppState;
use crate::auth::{Principal, scope};
use crate::error::ApiError;
use crate::json::ApiJson;

/// The cause of the 400 for an unknown user or source.
pub const UNKNOWN_USER_OR_SOURCE: &str =
    "userName and sourceName do not name an identity and a source of this org";

/// Requires a non-empty string field, or names it.
pub fn required<'a>(value: Option<&'a str>, field: &str, missing: &mut Vec<String>) -> &'a str {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => v,
        _ => {
            missing.push(format!("{field} is required"));
            ""
        }
    }
}

/// `POST /query-password-info`.
///
/// # Errors
/// 400 (missing fields, unknown user or source), 401, 403 (scope, another identity), 500.
pub async fn query(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<wire::PasswordInfoQuery>,
) -> Result<Json<wire::PasswordInfo>, ApiError> {
    principal.require(scope::PASSWORD_INFO_READ)?;
    let mut missing = Vec::new();
    let user_name = required(body.user_name.as_deref(), "userName", &mut missing);
    let source_name = required(body.source_name.as_deref(), "sourceName", &mut missing);
    if !missing.is_empty() {
        return Err(ApiError::BadRequest(missing));
    }
    let tenant = state.directory().tenant(&principal.tenant);
    if let Some(own) = &principal.identity_id {
        // A user's token: only its own user name, whether or not another one exists.
        let own_name = tenant
            .and_then(|t| t.identity(own))
            .map(|i| i.user_name.as_str());
        if own_name != Some(user_name) {
            return Err(ApiError::Forbidden(
                "a user's token may act only for its own identity".into(),
            ));
        }
    }
    let found = tenant.and_then(|t| {
        Some((
            t,
            t.identity_by_user_name(user_name)?,
            t.source_by_name(source_name)?,
        ))
    });
    let Some((tenant, identity, source)) = found else {
        return Err(ApiError::bad_request(UNKNOWN_USER_OR_SOURCE));
    };
    let key = state
        .password_keys()
        .current(state.scheme())
        .ok_or_else(|| ApiError::internal("no key for the served scheme"))?;
    let accounts = tenant
        .accounts(&identity.id, &source.source.id)
        .map(|a| wire::PasswordInfoAccount {
            account_id: Some(a.account_id.clone()),
            account_name: Some(a.account_name.clone()),
        })
        .collect();
    Ok(Json(wire::PasswordInfo {
        identity_id: Some(identity.id.clone()),
        source_id: Some(source.source.id.clone()),
        public_key_id: Some(key.public_key_id().to_string()),
        public_key: Some(key.public_key_base64()),
        accounts: Some(accounts),
        policies: Some(source.source.policies.clone()),
    }))
}
