//! One module per API resource. Every operation is mounted three ways, as the vendor does:
//! under `/v2025` and `/beta` with the seeds' paths, and at the root with the vendor's
//! per-API layout (`/query-password-info/v1`, ...).
//!
//! The redemption of digit tokens is not in the API: [`reset`] serves it at
//! `/reset-password/v1/...`, without a bearer token.

pub mod digit_token;
pub mod health;
pub mod oauth;
pub mod org_config;
pub mod password_info;
pub mod reset;
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
#[must_use]
pub fn operations() -> Vec<Operation> {
    vec![
        Operation {
            versioned: "/generate-password-reset-token/digit",
            per_api: "/generate-password-reset-token/v1/digit",
            handlers: post(digit_token::generate),
        },
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
        .route("/reset-password/v1/digit-token", post(reset::redeem))
        .route("/reset-password/v1/public-key", get(reset::public_key))
        .route("/oauth/token", post(oauth::token))
        .route("/.well-known/jwks.json", get(oauth::jwks))
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
}
