//! One module per API resource. Every operation is mounted three ways, as the vendor does:
//! under `/v2025` and `/beta` with the seeds' paths, and at the root with the vendor's
//! per-API layout (`/query-password-info/v1`, ...).
//!
//! # Adding the digit-token routes
//! * Generate: a module `digit_token` with an [`Operation`] in [`operations`]
//!   (`/generate-password-reset-token/digit`, `/generate-password-reset-token/v1/digit`);
//!   the handler takes `State<AppState>`, [`Principal`](crate::auth::Principal)
//!   (`require(scope::DIGIT_TOKEN_CREATE)`) and [`ApiJson`](crate::json::ApiJson)`<wire::DigitTokenRequest>`;
//!   the org config comes from [`org_config::load`]; keys from
//!   [`AppState::token_keys`], time from [`AppState::now`], randomness from
//!   [`AppState::rng`]; the per-user state, the per-client limiter and the per-address
//!   limiter are [`Kind::User`](crate::store::Kind), `Kind::Client`, `Kind::Address`
//!   values written through [`read_modify_write`](crate::store::read_modify_write) in one
//!   [`Batch`](crate::store::Batch); limits are the text of `state.settings().limits`;
//!   a limit hit is [`ApiError::TooManyRequests`](crate::error::ApiError).
//! * Redeem: a module `reset` routed in [`routes`] (no bearer token); the client address
//!   is `ConnectInfo<SocketAddr>` (the harness supplies one to `oneshot` requests); the
//!   password goes through
//!   [`set_password::decrypt_and_check`] and is recorded like set-password's (a
//!   [`NewChange`](crate::store::NewChange) in the same batch as the per-user state).

pub mod health;
pub mod oauth;
pub mod org_config;
pub mod password_info;
pub mod set_password;
pub mod status;

use axum::Router;
use axum::routing::{MethodRouter, get, post};

use crate::AppState;

/// One API operation: its path under `/v2025` and `/beta`, its path in the per-API layout
/// at the root, and its handlers.
#[derive(Debug)]
pub struct Operation {
    /// The seeds' path, e.g. `/query-password-info`.
    pub versioned: &'static str,
    /// The per-API path at the root, e.g. `/query-password-info/v1`.
    pub per_api: &'static str,
    /// The handlers.
    pub handlers: MethodRouter<AppState>,
}

/// The API operations this server implements.
///
/// The digit-token operations (`POST /generate-password-reset-token/digit`, at the root
/// `/generate-password-reset-token/v1/digit`) and the redemption endpoint are added here
/// by their own modules.
#[must_use]
pub fn operations() -> Vec<Operation> {
    vec![
        Operation {
            versioned: "/password-org-config",
            per_api: "/password-org-config/v1",
            handlers: get(org_config::get_config)
                .post(org_config::create_config)
                .put(org_config::update_config),
        },
        Operation {
            versioned: "/query-password-info",
            per_api: "/query-password-info/v1",
            handlers: post(password_info::query),
        },
        Operation {
            versioned: "/set-password",
            per_api: "/set-password/v1",
            handlers: post(set_password::set_password),
        },
        Operation {
            versioned: "/password-change-status/{id}",
            per_api: "/password-change-status/v1/{id}",
            handlers: get(status::get_status),
        },
    ]
}

/// The API's routes, each operation at its three paths, and the server's own endpoints.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for op in operations() {
        router = router
            .route(&format!("/v2025{}", op.versioned), op.handlers.clone())
            .route(&format!("/beta{}", op.versioned), op.handlers.clone())
            .route(op.per_api, op.handlers);
    }
    router
        .route("/oauth/token", post(oauth::token))
        .route("/.well-known/jwks.json", get(oauth::jwks))
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
}
