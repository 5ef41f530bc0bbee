//! `POST /generate-password-reset-token/digit` (scope `idn:password-digit-token:create`):
//! a digit token for a user of the caller's org.
//!
//! The org must have digit tokens enabled (403 otherwise); `length` and
//! `durationMinutes` default to the org's. The org config, the user's state (live token,
//! guess budget, consecutive failures, per-user request limiter) and the calling client's
//! request limiter are read in one round trip, and the two states written in one
//! transaction: a compare-and-set on each, retried on a conflict with a fresh clock. The
//! new token replaces the user's live one and keeps the budget. The token is answered once
//! and never stored or logged.
//!
//! | status | when |
//! |---|---|
//! | 200 | `digitToken` (a string) and `requestId` |
//! | 400 | invalid `userId`, `length` or `durationMinutes` (every problem at once), or `userId` names no user of the org |
//! | 401 / 403 | bearer token missing or invalid / scope missing, digit tokens disabled, or the user locked out at the cap on failed codes in a row (`limits.user`, 100 by default) |
//! | 429 | the user's or the client's request limit (`Retry-After`) |
//! | 500 / 503 | internal fault / database unavailable or contention |

use axum::Json;
use axum::extract::State;
use password_mgmt::{Purpose, Subject, wire};

use crate::AppState;
use crate::auth::{Principal, scope};
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::rows;
use crate::store::{Batch, Kind, StateKey, read_modify_write_reading};

/// `POST /generate-password-reset-token/digit`.
///
/// # Errors
/// 400, 401, 403, 429, 500, 503.
pub async fn generate(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<wire::DigitTokenRequest>,
) -> Result<Json<wire::DigitTokenResponse>, ApiError> {
    principal.require(scope::DIGIT_TOKEN_CREATE)?;
    let tenant = principal.tenant.as_str();
    let known_user = state
        .directory()
        .tenant(tenant)
        .and_then(|t| t.identity_by_user_name(&body.user_id))
        .is_some();
    let subject = Subject {
        tenant,
        user: &body.user_id,
        purpose: Purpose::PASSWORD_RESET,
    };
    // A client-credentials token is limited by its client id; a user's token by its
    // identity (a user may have several clients).
    let caller = match (&principal.client_id, &principal.identity_id) {
        (_, Some(identity)) => format!("identity:{identity}"),
        (Some(client), None) => format!("client:{client}"),
        (None, None) => "client:".to_owned(),
    };
    let user_key = rows::user_key(tenant, &body.user_id);
    let client_key = StateKey::new(tenant, Kind::Client, caller);
    let keys = [user_key.clone(), client_key.clone()];
    let org_key = [super::org_config::key(tenant)];
    let limits = *state.limits();
    let issued = read_modify_write_reading(
        &**state.store(),
        state.key_locks(),
        &keys,
        &org_key,
        |values| {
            let now = state.now();
            let [user, client, org] = values else {
                return Err(ApiError::internal(
                    "the store read a different number of keys",
                ));
            };
            let (user, client) = (user.as_deref(), client.as_deref());
            let mut batch = Batch::default();
            // Refusals before the client's limit count nothing: digit tokens disabled (403),
            // invalid parameters, an unknown user (400).
            let org = super::org_config::decode_or_default(org.as_deref())?;
            let params = match body.resolve(&org) {
                Ok(params) => params,
                Err(e) => return Ok((batch, Err(e.into()))),
            };
            if !known_user {
                return Ok((
                    batch,
                    Err(ApiError::bad_request(
                        "userId does not name a user of this org",
                    )),
                ));
            }
            let check = rows::limiter(client)?.check(&limits.per_client, now);
            if let Some(update) = check.update() {
                batch
                    .writes
                    .push(rows::limiter_write(client_key.clone(), client, update)?);
            }
            if let Some(retry_after) = check.limited() {
                tracing::info!(
                    lead_ms = check.clock_lead().whole_milliseconds(),
                    "digit token: the client's request limit"
                );
                return Ok((batch, Err(ApiError::TooManyRequests { retry_after })));
            }
            let issuance = match rows::user_state(user)?.issue(
                &mut state.rng(),
                state.token_keys(),
                &subject,
                &params,
                &limits.user,
                now,
            ) {
                Ok(issuance) => issuance,
                // A refusal (a user locked out) still counts against the client's limit.
                Err(e) => return Ok((batch, Err(e.into()))),
            };
            if let Some(update) = issuance.update() {
                batch
                    .writes
                    .push(rows::user_write(user_key.clone(), user, update)?);
            }
            Ok::<_, ApiError>((batch, Ok(issuance)))
        },
    )
    .await?
    .ok_or_else(|| ApiError::Unavailable("digit token: too much contention".into()))??;
    // Stored: now the token may leave.
    let issued = issued.stored().inspect_err(|_| {
        tracing::info!("digit token: the user's request limit");
    })?;
    tracing::info!(request_id = %issued.request_id, expires_at = %issued.expires_at, "digit token issued");
    Ok(Json(wire::DigitTokenResponse::from(&issued)))
}
