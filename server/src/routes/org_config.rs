//! `GET`, `POST` and `PUT /password-org-config`.
//!
//! * `GET` (scope `idn:password-org-config:read`): the stored config; before any is
//!   created, the API's defaults (what the digit-token route applies), so the answer is
//!   always 200.
//! * `POST` (scope `:write`): creates it; unspecified fields take the defaults. When one
//!   exists already: 400 with the API's body (the seeds document 400, not 409).
//! * `PUT` (scope `:write`): a partial update of the stored config (or of the defaults,
//!   when none is stored). Every violation in one 400. Concurrent updates do not lose one
//!   another: each is a compare-and-set on the stored bytes, retried on conflict.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use password_mgmt::{PasswordOrgConfig, PasswordOrgConfigInput, wire};

use crate::AppState;
use crate::auth::{Principal, scope};
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::store::{Batch, CasWrite, Committed, Kind, ORG_CONFIG_KEY, StateKey, read_modify_write};

/// The stored bytes of a config (the crate's encoding).
fn encode(config: &PasswordOrgConfig) -> Vec<u8> {
    config.encode().to_vec()
}

/// A stored config, checked again by the crate.
///
/// # Errors
/// [`ApiError::Internal`] for bytes the crate refuses.
fn decode(bytes: &[u8]) -> Result<PasswordOrgConfig, ApiError> {
    PasswordOrgConfig::decode(bytes)
        .map_err(|e| ApiError::internal(format!("stored org config: {e}")))
}

/// The key of the tenant's config.
pub(crate) fn key(tenant: &str) -> StateKey {
    StateKey::new(tenant, Kind::OrgConfig, ORG_CONFIG_KEY)
}

/// The config in `stored` (as read with other keys), or the API's defaults when there is
/// none.
///
/// # Errors
/// A 500 for stored bytes the crate refuses.
pub(crate) fn decode_or_default(stored: Option<&[u8]>) -> Result<PasswordOrgConfig, ApiError> {
    stored.map_or(Ok(PasswordOrgConfig::DEFAULT), decode)
}

/// The tenant's config: the stored one, or the API's defaults.
///
/// # Errors
/// As the store, or a 500 for stored bytes the crate refuses.
pub async fn load(state: &AppState, tenant: &str) -> Result<PasswordOrgConfig, ApiError> {
    let values = state.store().read(&[key(tenant)]).await?;
    decode_or_default(values.into_iter().next().flatten().as_deref())
}

/// `GET /password-org-config`.
///
/// # Errors
/// 401, 403 (scope), 500, 503.
pub async fn get_config(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<wire::PasswordOrgConfig>, ApiError> {
    principal.require(scope::ORG_CONFIG_READ)?;
    let config = load(&state, &principal.tenant).await?;
    Ok(Json((&config).into()))
}

/// `POST /password-org-config`.
///
/// # Errors
/// 400 (invalid values, or a config exists), 401, 403, 500, 503.
pub async fn create_config(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<wire::PasswordOrgConfig>,
) -> Result<Json<wire::PasswordOrgConfig>, ApiError> {
    principal.require(scope::ORG_CONFIG_WRITE)?;
    let config = PasswordOrgConfig::new(&body.into())?;
    let batch = Batch {
        writes: vec![CasWrite {
            key: key(&principal.tenant),
            expected: None,
            new: encode(&config),
        }],
        ..Batch::default()
    };
    match state.store().commit(&batch).await? {
        Committed::Applied => Ok(Json((&config).into())),
        Committed::Conflict => Err(ApiError::bad_request(
            "a password org config exists already for this org; update it with PUT",
        )),
    }
}

/// `PUT /password-org-config`.
///
/// # Errors
/// 400 (every violation), 401, 403, 500, 503 (contention outlasted the retries).
pub async fn update_config(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<wire::PasswordOrgConfig>,
) -> Result<(StatusCode, Json<wire::PasswordOrgConfig>), ApiError> {
    principal.require(scope::ORG_CONFIG_WRITE)?;
    let input: PasswordOrgConfigInput = body.into();
    let keys = [key(&principal.tenant)];
    let updated = read_modify_write(&**state.store(), state.key_locks(), &keys, |values| {
        let expected = values.first().cloned().flatten();
        let current = match &expected {
            Some(bytes) => decode(bytes)?,
            None => PasswordOrgConfig::DEFAULT,
        };
        let next = current.update(&input)?;
        let write = CasWrite {
            key: key(&principal.tenant),
            expected,
            new: encode(&next),
        };
        let batch = Batch {
            writes: vec![write],
            ..Batch::default()
        };
        Ok::<_, ApiError>((batch, next))
    })
    .await?
    .ok_or_else(|| ApiError::Unavailable("org config update: too much contention".into()))?;
    Ok((StatusCode::OK, Json((&updated).into())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn encoding_round_trips_and_is_strict() {
        let config = PasswordOrgConfig::new(&PasswordOrgConfigInput {
            custom_instructions_enabled: Some(true),
            digit_token_enabled: Some(true),
            digit_token_duration_minutes: Some(60),
            digit_token_length: Some(18),
        })
        .unwrap();
        assert_eq!(decode(&encode(&config)).unwrap(), config);
        assert_eq!(
            decode(&encode(&PasswordOrgConfig::DEFAULT)).unwrap(),
            PasswordOrgConfig::DEFAULT
        );
        for bad in [
            &[][..],
            &[1, 0, 5],
            &[2, 0, 5, 6],
            &[1, 4, 5, 6],
            &[1, 0, 0, 6],
            &[1, 0, 5, 19],
            &[1, 0, 5, 6, 0],
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
    }
}
