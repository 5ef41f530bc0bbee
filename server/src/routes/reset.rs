//! Redeeming a digit token: the endpoint the API leaves to the product's own reset page.
//! No bearer token: the code is the proof. A user who has only the code sends it with the
//! new password, encrypted under the key `GET /reset-password/v1/public-key` publishes.
//!
//! `POST /reset-password/v1/digit-token`, body
//! `{"tenant", "userId", "digitToken", "publicKeyId", "encryptedPassword"}` (all strings).
//! Under `oaep-sha256-bound` keys, the identity the ciphertext is bound to is the `userId`.
//! The new password is set on every account the user has on a source with the PASSWORD
//! feature, and must satisfy every such source's policy.
//!
//! # The order of things, and what each outcome says
//! 1. One read of the user's state and the address's limiter, whatever the request (the
//!    same round trips for a known or unknown user, a good or a bad password); the
//!    address's redemption limit (`limits.redeem_per_address`): 429.
//! 2. The password is decrypted and checked (UTF-8, every policy) off the async runtime.
//!    Its verdict is kept, not yet answered.
//! 3. The code is verified against the user's state (an unknown user has the fresh state:
//!    no token, and the same answer as a wrong code). When the password was refused, the
//!    code is checked *without being used* ([`UserState::verify_without_using`](password_mgmt::UserState::verify_without_using)): a right
//!    code is then answered with the password's refusal and stays live, and a wrong one
//!    is counted and answered as wrong, so that a wrong code never says whether the
//!    password would have passed. A right code with a good password is hashed (Argon2id)
//!    first and then used, in one transaction with the credentials and the change records
//!    (`FINISHED` at once for the server's own credentials table). The look that decides
//!    whether to hash reads the state of step 1; should the transaction accept a code that
//!    look refused (an unlock in between), nothing is written and the route looks again,
//!    once (then 503).
//!
//! | status | body | when |
//! |---|---|---|
//! | 200 | `{"requestIds": [...], "state": "FINISHED"}` | the code was right and the password set |
//! | 400 | the API's error body, cause `the code is wrong or has expired` | a wrong, malformed, expired, used or locked code, no code issued, an unknown user or tenant |
//! | 400 | cause `the encrypted password could not be decrypted` | the code is right, the password did not decrypt (the code stays live) |
//! | 400 | one cause per broken policy rule | the code is right, the password breaks a policy (the code stays live) |
//! | 400 | one cause per missing or invalid field | a field missing, a `digitToken` over 64 bytes (refused before anything is counted), a `publicKeyId` this server does not hold |
//! | 400 | cause: no account to set | the code is right (and stays live), but the user has no account on a source with the PASSWORD feature |
//! | 403 | cause: locked out | the cap on failed codes in a row (`limits.user`, 100 by default): only the help desk can unlock (`password-mgmt-server unlock`) |
//! | 429 | `{"message": "Rate Limit Exceeded"}`, `Retry-After` | the address's limit, or the user's guess budget |
//! | 500 / 503 | the API's error body, no cause | internal fault / database unavailable |
//!
//! The log has the rest: the outcome (`outcome=mismatch`, `expired`, ...), the request id,
//! never the code or the password.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use password_mgmt::zeroize::Zeroizing;
use password_mgmt::{
    Candidate, Error as CrateError, Outcome, PasswordPolicy, PasswordSubmission, PolicyContext,
    Purpose, Subject, wire,
};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::clock::to_millis;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::routes::password_info::required;
use crate::routes::set_password::{apply_soon, decrypt_and_check, new_change};
use crate::rows;
use crate::store::{Batch, Kind, NewChange, StateKey, read_modify_write};

/// The cause of every refusal that must not say which it was.
pub const WRONG_CODE: &str = "the code is wrong or has expired";

/// The body of `POST /reset-password/v1/digit-token`.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedeemRequest {
    /// The org.
    #[serde(default)]
    pub tenant: Option<String>,
    /// The user the code was issued to (the API's `userId`).
    #[serde(default)]
    pub user_id: Option<String>,
    /// The code, as typed.
    #[serde(default)]
    pub digit_token: Option<String>,
    /// The key the password is encrypted under.
    #[serde(default)]
    pub public_key_id: Option<String>,
    /// The new password, encrypted (standard base64).
    #[serde(default)]
    pub encrypted_password: Option<String>,
}

/// The code is a secret: `Debug` shows which fields are present, nothing more.
impl std::fmt::Debug for RedeemRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedeemRequest")
            .field("tenant", &self.tenant)
            .field("digit_token", &self.digit_token.as_ref().map(|_| ".."))
            .finish_non_exhaustive()
    }
}

/// The 200 body.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedeemResponse {
    /// One password change per account set, all `FINISHED` (or `IN_PROGRESS` with a
    /// remote sink; ask `GET /password-change-status/{id}`).
    pub request_ids: Vec<String>,
    /// `FINISHED`, or `IN_PROGRESS` with a remote sink.
    pub state: wire::PasswordState,
}

/// `GET /reset-password/v1/public-key`: the key a reset page encrypts the new password
/// under (no bearer token: a public key), as `publicKeyId` and `publicKey`.
///
/// # Errors
/// 500 when the served scheme has no key (a configuration fault caught at start).
pub async fn public_key(
    State(state): State<AppState>,
) -> Result<Json<wire::PasswordInfo>, ApiError> {
    let key = state
        .password_keys()
        .current(state.scheme())
        .ok_or_else(|| ApiError::internal("no key for the served scheme"))?;
    Ok(Json(wire::PasswordInfo {
        public_key_id: Some(key.public_key_id().to_string()),
        public_key: Some(key.public_key_base64()),
        ..wire::PasswordInfo::default()
    }))
}

/// What decrypting and checking the password concluded, kept until the code is checked.
enum Password {
    /// It decrypted and every policy accepts it.
    Good(Zeroizing<String>),
    /// It did not decrypt, or broke a policy: answered only if the code is right.
    Refused(CrateError),
}

/// The accounts the new password goes to: `(source id, account id)`, and their policies
/// with their context.
struct Targets<'a> {
    accounts: Vec<(String, String)>,
    policies: Vec<(&'a PasswordPolicy, PolicyContext<'a>)>,
}

/// `POST /reset-password/v1/digit-token`.
///
/// # Errors
/// 400, 403, 429, 500, 503 as the [module docs](self) say.
pub async fn redeem(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<RedeemRequest>,
) -> Result<Json<RedeemResponse>, ApiError> {
    let mut missing = Vec::new();
    let tenant = required(body.tenant.as_deref(), "tenant", &mut missing);
    let user_id = required(body.user_id.as_deref(), "userId", &mut missing);
    let code = required(body.digit_token.as_deref(), "digitToken", &mut missing);
    let public_key_id = required(body.public_key_id.as_deref(), "publicKeyId", &mut missing);
    let encrypted = required(
        body.encrypted_password.as_deref(),
        "encryptedPassword",
        &mut missing,
    );
    if !missing.is_empty() {
        return Err(ApiError::BadRequest(missing));
    }
    let candidate = Candidate::new(code)?;
    let subject = Subject {
        tenant,
        user: user_id,
        purpose: Purpose::PASSWORD_RESET,
    };
    let limits = *state.limits();
    let user_key = rows::user_key(tenant, user_id);
    let address_key = StateKey::new(tenant, Kind::Address, peer.ip().to_string());
    let keys = [user_key.clone(), address_key.clone()];

    // 1. One read of the user's state and the address's limiter, for every request: the
    //    same round trips whatever the user or the password. The address's limit comes
    //    before any expensive work (checked again, and counted, in the final transaction).
    let mut values = state.store().read(&keys).await?;
    let address = values.get(1).cloned().flatten();
    if let Some(retry_after) = rows::limiter(address.as_deref())?
        .peek(&limits.per_address, state.now())
        .retry_after()
    {
        tracing::info!("redeem: the address's limit");
        return Err(ApiError::TooManyRequests { retry_after });
    }

    // 2. The password's verdict (RSA off the runtime), for every account it would set.
    let directory_tenant = state.directory().tenant(tenant);
    let identity = directory_tenant.and_then(|t| t.identity_by_user_name(user_id));
    let verdict = {
        let state = state.clone();
        let submission_fields = (
            user_id.to_owned(),
            public_key_id.to_owned(),
            encrypted.to_owned(),
        );
        let (tenant_name, identity_id) = (tenant.to_owned(), identity.map(|i| i.id.clone()));
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            span.in_scope(|| {
                let (user, key_id, encrypted) = &submission_fields;
                let targets = targets(&state, &tenant_name, identity_id.as_deref());
                let submission = PasswordSubmission {
                    identity_id: user,
                    public_key_id: key_id,
                    encrypted_password: encrypted,
                };
                let no_rule = PasswordPolicy::default();
                let policies = if targets.policies.is_empty() {
                    // An unknown user, or one without a password account: decrypt all the
                    // same (the same work, the same answers), against no rule.
                    vec![(&no_rule, PolicyContext::default())]
                } else {
                    targets.policies
                };
                match decrypt_and_check(
                    state.password_keys(),
                    &mut state.rng(),
                    &submission,
                    &policies,
                ) {
                    Ok(password) => Ok(Password::Good(password)),
                    Err(ApiError::Crate(
                        e @ (CrateError::Decryption | CrateError::PolicyRefused(_)),
                    )) => Ok(Password::Refused(e)),
                    Err(e) => Err(e),
                }
            })
        })
        .await
        .map_err(ApiError::internal)??
    };
    let accounts = targets(&state, tenant, identity.map(|i| i.id.as_str())).accounts;
    let use_code = matches!(verdict, Password::Good(_)) && !accounts.is_empty();

    // 3. The code. First a look at the state read in step 1 that changes nothing, so that
    //    Argon2id runs only for a right code; then the real verification in the one
    //    transaction. Should the state change in between so that the look missed a code
    //    the transaction accepts (an unlock, a budget refilling), look again, once.
    let mut looked_again = false;
    let result = loop {
        let probe = rows::user_state(values.first().and_then(Option::as_deref))?
            .verify_without_using(
                state.token_keys(),
                &subject,
                &candidate,
                &limits.user,
                state.now(),
            )?;
        let hashes = match &verdict {
            Password::Good(password) if use_code && probe.stored() == Outcome::Accepted => {
                let mut hashes = Vec::with_capacity(accounts.len());
                for _ in &accounts {
                    hashes.push(state.hasher().hash(password.clone(), state.rng()).await?);
                }
                Some(hashes)
            }
            _ => None,
        };
        let step = read_modify_write(&**state.store(), state.key_locks(), &keys, |values| {
            let now = state.now();
            let [user, address] = values else {
                return Err(ApiError::internal(
                    "the store read a different number of keys",
                ));
            };
            let (user, address) = (user.as_deref(), address.as_deref());
            let mut batch = Batch::default();
            let check = rows::limiter(address)?.check(&limits.per_address, now);
            if let Some(update) = check.update() {
                batch
                    .writes
                    .push(rows::limiter_write(address_key.clone(), address, update)?);
            }
            if let Some(retry_after) = check.limited() {
                return Ok((batch, Err(ApiError::TooManyRequests { retry_after })));
            }
            let user_state = rows::user_state(user)?;
            let verification = match &hashes {
                Some(_) => user_state.verify(
                    state.token_keys(),
                    &subject,
                    &candidate,
                    &limits.user,
                    now,
                )?,
                None => user_state.verify_without_using(
                    state.token_keys(),
                    &subject,
                    &candidate,
                    &limits.user,
                    now,
                )?,
            };
            if let Some(update) = verification.update() {
                batch
                    .writes
                    .push(rows::user_write(user_key.clone(), user, update)?);
            }
            let lead = verification.clock_lead();
            // The update is in this batch, and nothing is acted on unless the batch commits
            // (`read_modify_write` hands the result over only then): the changes below join
            // the same transaction.
            let outcome = verification.stored();
            if use_code && hashes.is_none() && outcome == Outcome::Accepted {
                // The look missed a right code (`verify_without_using` accepted it, so
                // there is no update to lose): write nothing, and look again.
                return Ok((Batch::default(), Ok(Step::LookAgain)));
            }
            let mut changes = Vec::new();
            if outcome == Outcome::Accepted
                && let Some(hashes) = &hashes
            {
                let identity_id = identity.map_or("", |i| i.id.as_str());
                for ((source_id, account_id), phc) in accounts.iter().zip(hashes) {
                    let mut change =
                        new_change(&state, tenant, identity_id, source_id, account_id, None)?;
                    match state
                        .sink()
                        .transactional_write(&change, phc, to_millis(now))
                    {
                        Some(write) => batch.credentials.push(write),
                        None => change.pending_hash = Some(phc.clone()),
                    }
                    changes.push(change.clone());
                    batch.changes.push(change);
                }
            }
            Ok((batch, Ok(Step::Done(outcome, lead, changes))))
        })
        .await?
        .ok_or_else(|| ApiError::Unavailable("redeem: too much contention".into()))??;
        match step {
            Step::Done(outcome, lead, changes) => break (outcome, lead, changes),
            Step::LookAgain if !looked_again => {
                looked_again = true;
                values = state.store().read(&keys).await?;
            }
            Step::LookAgain => {
                return Err(ApiError::Unavailable(
                    "redeem: the user's state kept changing".into(),
                ));
            }
        }
    };

    let (outcome, lead, changes) = result;
    tracing::info!(outcome = outcome.as_str(), "redeem: code verified");
    if lead.is_positive() {
        tracing::warn!(
            lead_ms = lead.whole_milliseconds(),
            "redeem: the user's state is ahead of this node's clock"
        );
    }
    answer(&state, outcome, verdict, changes, use_code)
}

/// What the transaction of step 3 concluded.
enum Step {
    /// The outcome (stored), the clock lead, and the changes recorded with it.
    Done(Outcome, password_mgmt::time::Duration, Vec<NewChange>),
    /// The transaction would accept a code the look before it refused: nothing was
    /// written; look again (and hash) first.
    LookAgain,
}

/// The response for an outcome, as the [module docs](self) list them.
fn answer(
    state: &AppState,
    outcome: Outcome,
    verdict: Password,
    changes: Vec<NewChange>,
    use_code: bool,
) -> Result<Json<RedeemResponse>, ApiError> {
    match outcome {
        Outcome::Accepted if !changes.is_empty() => {
            let pending = changes.iter().any(|c| c.pending_hash.is_some());
            let request_ids = changes.iter().map(|c| c.id.clone()).collect();
            for change in changes.iter().filter(|c| c.pending_hash.is_some()) {
                apply_soon(state.clone(), change.tenant.clone(), change.id.clone());
            }
            tracing::info!(?request_ids, "redeem: password set");
            Ok(Json(RedeemResponse {
                request_ids,
                state: if pending {
                    wire::PasswordState::InProgress
                } else {
                    wire::PasswordState::Finished
                },
            }))
        }
        Outcome::Accepted => match verdict {
            // The code is right and stays live: the password's refusal may be told.
            Password::Refused(e) => Err(e.into()),
            // A right code (still live) for a user with nowhere to set a password.
            Password::Good(_) if !use_code => {
                tracing::warn!("redeem: the user has no account with the PASSWORD feature");
                Err(ApiError::bad_request(
                    "there is no account to set a password on; ask the help desk",
                ))
            }
            Password::Good(_) => Err(ApiError::internal("accepted without changes")),
        },
        Outcome::BudgetExhausted { retry_after } => Err(ApiError::TooManyRequests { retry_after }),
        Outcome::UserLockedOut => Err(ApiError::Forbidden(
            "too many wrong codes in a row: ask the help desk to unlock the account".into(),
        )),
        _ => Err(ApiError::bad_request(WRONG_CODE)),
    }
}

/// The user's accounts on sources with the PASSWORD feature, and their policies.
fn targets<'a>(state: &'a AppState, tenant: &str, identity_id: Option<&str>) -> Targets<'a> {
    let mut targets = Targets {
        accounts: Vec::new(),
        policies: Vec::new(),
    };
    let (Some(tenant), Some(identity_id)) = (state.directory().tenant(tenant), identity_id) else {
        return targets;
    };
    let Some(identity) = tenant.identity(identity_id) else {
        return targets;
    };
    for account in tenant.accounts_of(&identity.id) {
        let Some(source) = tenant.source(&account.source) else {
            continue;
        };
        if !source.source.password_enabled {
            continue;
        }
        targets
            .accounts
            .push((source.source.id.clone(), account.account_id.clone()));
        targets.policies.push((
            &source.policy,
            PolicyContext {
                account_id: Some(&account.account_id),
                display_name: Some(&identity.display_name),
            },
        ));
    }
    targets
}
