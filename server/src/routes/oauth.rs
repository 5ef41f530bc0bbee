//! `POST /oauth/token`: the client credentials grant (RFC 6749 section 4.4), and
//! `GET /.well-known/jwks.json`: the public key its tokens verify under.
//!
//! The request is `application/x-www-form-urlencoded` with `grant_type=client_credentials`,
//! an optional `scope`, and the client's credentials either in HTTP Basic (preferred by
//! RFC 6749 section 2.3.1) or as `client_id` and `client_secret` parameters (not both).
//! The answer is RFC 6749 section 5.1 (`access_token`, `token_type`, `expires_in`, `scope`)
//! or a section 5.2 error (`invalid_request`, `invalid_client` with 401,
//! `unsupported_grant_type`, `invalid_scope`). A wrong secret for a known client and any
//! secret for an unknown client cost one Argon2id verification each (a dummy hash for
//! the unknown), so timing does not tell them apart.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64ct::{Base64, Encoding};
use password_mgmt::zeroize::Zeroizing;
use serde_json::json;

use crate::AppState;
use crate::auth::scope;
use crate::error::{ApiError, OAuthError};
use crate::json::read_body;

fn oauth(error: &'static str, description: impl Into<String>, basic: bool) -> ApiError {
    ApiError::OAuth(OAuthError {
        error,
        description: description.into(),
        basic,
    })
}

/// Percent-decodes one `application/x-www-form-urlencoded` component (`+` is a space).
fn form_decode(text: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={text}"))
        .ok()?
        .into_iter()
        .next()
        .map(|(_, v)| v)
}

/// The client's credentials from an `Authorization: Basic` header.
fn basic_credentials(value: &HeaderValue) -> Result<(String, Zeroizing<String>), ApiError> {
    let bad = || {
        oauth(
            "invalid_client",
            "the Basic credentials are malformed",
            true,
        )
    };
    let text = value.to_str().map_err(|_| bad())?;
    let (scheme, encoded) = text.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(oauth(
            "invalid_client",
            "client authentication must be HTTP Basic or client_id and client_secret",
            false,
        ));
    }
    let decoded = Zeroizing::new(Base64::decode_vec(encoded.trim()).map_err(|_| bad())?);
    let decoded = std::str::from_utf8(&decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    // RFC 6749 section 2.3.1: both are form-encoded before they are joined.
    Ok((
        form_decode(id).ok_or_else(bad)?,
        Zeroizing::new(form_decode(secret).ok_or_else(bad)?),
    ))
}

/// `POST /oauth/token`.
///
/// # Errors
/// RFC 6749 section 5.2 errors; 413, 500.
pub async fn token(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let basic = request.headers().get(header::AUTHORIZATION).cloned();
    let form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|e| {
                e.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !form {
        return Err(oauth(
            "invalid_request",
            "the request must be application/x-www-form-urlencoded",
            false,
        ));
    }
    let body = Zeroizing::new(read_body(request, &state).await?.to_vec());
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|_| oauth("invalid_request", "the form body is malformed", false))?;
    let mut params = std::collections::HashMap::new();
    for (name, value) in pairs {
        if params.insert(name.clone(), Zeroizing::new(value)).is_some() {
            return Err(oauth(
                "invalid_request",
                format!("the parameter {name} is given more than once"),
                false,
            ));
        }
    }
    let param = |name: &str| params.get(name).map(|v| v.as_str());

    let (client_id, secret, is_basic) = match (&basic, param("client_id"), param("client_secret")) {
        (Some(value), None, None) => {
            let (id, secret) = basic_credentials(value)?;
            (id, secret, true)
        }
        (Some(_), _, _) => {
            return Err(oauth(
                "invalid_request",
                "use one client authentication method, not both",
                true,
            ));
        }
        (None, Some(id), Some(secret)) => (id.to_owned(), Zeroizing::new(secret.to_owned()), false),
        (None, _, _) => {
            return Err(oauth(
                "invalid_client",
                "client authentication is required (HTTP Basic, or client_id and client_secret)",
                false,
            ));
        }
    };
    match param("grant_type") {
        Some("client_credentials") => {}
        Some(_) => {
            return Err(oauth(
                "unsupported_grant_type",
                "only the client_credentials grant is supported",
                is_basic,
            ));
        }
        None => return Err(oauth("invalid_request", "grant_type is required", is_basic)),
    }

    // Both paths pay for one Argon2id verification.
    let client = state.auth().client(&client_id).cloned();
    let verified = state
        .hasher()
        .verify(secret, client.as_ref().map(|c| c.secret_hash.clone()))
        .await;
    let Some(client) = client.filter(|_| verified) else {
        return Err(oauth(
            "invalid_client",
            "client authentication failed",
            is_basic,
        ));
    };

    let granted: Vec<String> = match param("scope") {
        None => client.scopes.clone(),
        Some(requested) => {
            let all = client.scopes.iter().any(|s| s == scope::ALL);
            let requested: Vec<String> = requested.split_whitespace().map(str::to_owned).collect();
            if requested.is_empty() || !requested.iter().all(|r| all || client.scopes.contains(r)) {
                return Err(oauth(
                    "invalid_scope",
                    "the requested scope exceeds what the client may be granted",
                    is_basic,
                ));
            }
            requested
        }
    };
    let now = state.now().unix_timestamp();
    let jti = state.rng().hex::<16>()?;
    let (access_token, lifetime) = state.auth().issue(&client, &granted, now, jti)?;
    tracing::info!(client_id = %client.client_id, tenant = %client.tenant, "token issued");
    let mut response = Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": granted.join(" "),
    }))
    .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// `GET /.well-known/jwks.json`: the server's own public signing key (none when the
/// server issues no tokens).
pub async fn jwks(State(state): State<AppState>) -> Json<serde_json::Value> {
    let keys: Vec<_> = state
        .auth()
        .signer()
        .map(|s| s.jwk().clone())
        .into_iter()
        .collect();
    Json(json!({ "keys": keys }))
}
