//! `POST /set-password` (scope `idn:password:set`): decrypt the password under the key
//! `publicKeyId` names, check the source's policy, hash it with Argon2id, record the
//! change `IN_PROGRESS` and answer 202; the change is applied asynchronously
//! ([`crate::worker`]).
//!
//! A client-credentials token may set any identity's password in its tenant, a user's
//! token only its own (403). An unknown or retired `publicKeyId` is the API's 400 naming
//! it. Decryption, UTF-8 and the policy are the crate's one call
//! ([`PasswordKeyRing::open_password`]): every failure to decrypt (a forged or truncated
//! ciphertext, a plaintext that is not UTF-8, empty or holds a control character, a bound
//! ciphertext sent for another identity) is the **same** 400, "the encrypted password could
//! not be decrypted"; a password that decrypts but breaks the policy is a 400 listing the
//! broken rules by counts (never characters). Under PKCS#1 v1.5 that distinction is one
//! bit about a forged ciphertext's plaintext (see the crate's `encryption` docs); serve an
//! OAEP scheme where clients allow it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use password_mgmt::zeroize::Zeroizing;
use password_mgmt::{
    Error as CrateError, PasswordKeyRing, PasswordPolicy, PasswordSubmission, PolicyContext,
    RequestId, wire,
};
use tracing::Instrument as _;

use crate::AppState;
use crate::auth::{Principal, scope};
use crate::clock::{plus_seconds, to_millis};
use crate::entropy::Entropy;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::routes::password_info::required;
use crate::store::{Batch, Committed, NewChange};

/// Decrypts the submission with the key it names and checks the password against every
/// policy in `policies` (with its context): the crate's one call, with the outcome logged.
/// Blocking (RSA): call it from `spawn_blocking`.
///
/// # Errors
/// [`ApiError::Crate`]: a 400 naming `publicKeyId` (unknown or retired key),
/// `encryptedPassword` or `identityId`, the uniform decryption error, a policy refusal
/// (every broken rule of every policy), or a 500 when the RNG fails.
pub fn decrypt_and_check(
    keys: &PasswordKeyRing,
    rng: &mut Entropy,
    submission: &PasswordSubmission<'_>,
    policies: &[(&PasswordPolicy, PolicyContext<'_>)],
) -> Result<Zeroizing<String>, ApiError> {
    let Some(((first, first_context), rest)) = policies.split_first() else {
        return Err(ApiError::internal(
            "no policy to check the password against",
        ));
    };
    let password = keys
        .open_password(rng, submission, first, first_context)
        .inspect_err(log_refusal)?;
    for (policy, context) in rest {
        policy
            .enforce(&password, context)
            .inspect_err(log_refusal)?;
    }
    Ok(password)
}

fn log_refusal(e: &CrateError) {
    match e {
        CrateError::Decryption => {
            tracing::info!("new password: the ciphertext did not decrypt to a password");
        }
        CrateError::PolicyRefused(rules) => {
            let rules: Vec<&str> = rules.as_slice().iter().map(|b| b.rule()).collect();
            tracing::info!(?rules, "new password: it breaks the policy");
        }
        _ => {}
    }
}

/// `POST /set-password`.
///
/// # Errors
/// 400, 401, 403, 500, 503.
pub async fn set_password(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<wire::PasswordChangeRequest>,
) -> Result<(StatusCode, Json<wire::PasswordChangeResponse>), ApiError> {
    principal.require(scope::PASSWORD_SET)?;
    let mut missing = Vec::new();
    let identity_id = required(body.identity_id.as_deref(), "identityId", &mut missing);
    required(
        body.encrypted_password.as_deref(),
        "encryptedPassword",
        &mut missing,
    );
    let public_key_id = required(body.public_key_id.as_deref(), "publicKeyId", &mut missing);
    let account_id = required(body.account_id.as_deref(), "accountId", &mut missing);
    let source_id = required(body.source_id.as_deref(), "sourceId", &mut missing);
    if !missing.is_empty() {
        return Err(ApiError::BadRequest(missing));
    }
    principal.may_act_for(identity_id)?;
    let tenant = state
        .directory()
        .tenant(&principal.tenant)
        .ok_or_else(|| ApiError::bad_request("identityId does not name an identity of this org"))?;
    let identity = tenant
        .identity(identity_id)
        .ok_or_else(|| ApiError::bad_request("identityId does not name an identity of this org"))?;
    let source = tenant
        .source(source_id)
        .ok_or_else(|| ApiError::bad_request("sourceId does not name a source of this org"))?;
    if !source.source.password_enabled {
        return Err(ApiError::bad_request(
            "the source does not have the PASSWORD feature enabled",
        ));
    }
    if !tenant
        .accounts(&identity.id, &source.source.id)
        .any(|a| a.account_id == account_id)
    {
        return Err(ApiError::bad_request(
            "accountId does not name an account of this identity on that source",
        ));
    }
    state.password_keys().get(public_key_id)?;

    let password = {
        let state = state.clone();
        let (identity_id, public_key_id) = (identity.id.clone(), public_key_id.to_owned());
        let encrypted = body.encrypted_password.clone().unwrap_or_default();
        let policy = source.policy.clone();
        let account = account_id.to_owned();
        let display_name = identity.display_name.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            span.in_scope(|| {
                let context = PolicyContext {
                    account_id: Some(&account),
                    display_name: Some(&display_name),
                };
                let submission = PasswordSubmission {
                    identity_id: &identity_id,
                    public_key_id: &public_key_id,
                    encrypted_password: &encrypted,
                };
                decrypt_and_check(
                    state.password_keys(),
                    &mut state.rng(),
                    &submission,
                    &[(&policy, context)],
                )
            })
        })
        .await
        .map_err(ApiError::internal)??
    };
    let phc = state.hasher().hash(password, state.rng()).await?;

    let change = new_change(
        &state,
        &principal.tenant,
        &identity.id,
        &source.source.id,
        account_id,
        Some(phc),
    )?;
    let id = change.id.clone();
    let batch = Batch {
        changes: vec![change],
        ..Batch::default()
    };
    if state.store().commit(&batch).await? == Committed::Conflict {
        return Err(ApiError::internal("recording a password change conflicted"));
    }
    tracing::info!(change = %id, "password change recorded");
    apply_soon(state, principal.tenant, id.clone());
    Ok((
        StatusCode::ACCEPTED,
        Json(wire::PasswordChangeResponse {
            request_id: Some(id),
            state: Some(wire::PasswordState::InProgress),
        }),
    ))
}

/// A new password change of `account_id` to the Argon2id hash `pending_hash` (`None`:
/// the credential is written in the same batch, and the change is recorded `FINISHED`): a
/// fresh `requestId` from the server's RNG, recorded now (the server's clock), leased to
/// this node for `worker.lease_seconds`. Put it in the batch that records it; for a
/// pending hash, then call [`apply_soon`].
///
/// # Errors
/// A 500 when the RNG fails.
pub fn new_change(
    state: &AppState,
    tenant: &str,
    identity_id: &str,
    source_id: &str,
    account_id: &str,
    pending_hash: Option<String>,
) -> Result<NewChange, ApiError> {
    let now = state.now();
    Ok(NewChange {
        tenant: tenant.to_owned(),
        id: RequestId::generate(&mut state.rng())?.to_string(),
        identity_id: identity_id.to_owned(),
        source_id: source_id.to_owned(),
        account_id: account_id.to_owned(),
        pending_hash,
        created_at: to_millis(now),
        lease_until: to_millis(plus_seconds(now, state.settings().worker.lease_seconds)),
    })
}

/// Applies a just-recorded change in the background (the fast path; the worker of any
/// node picks it up after its lease if this node dies first).
pub fn apply_soon(state: AppState, tenant: String, id: String) {
    let span = tracing::info_span!("apply_password_change", change = %id);
    tokio::spawn(
        async move {
            match state.store().change(&tenant, &id).await {
                Ok(Some(change)) => {
                    if let Err(e) = crate::worker::apply(&state, change).await {
                        tracing::warn!(error = %e, "password change left for the worker");
                    }
                }
                Ok(None) => tracing::error!("a recorded password change vanished"),
                Err(e) => tracing::warn!(error = %e, "password change left for the worker"),
            }
        }
        .instrument(span),
    );
}
