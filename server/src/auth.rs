//! OAuth2 bearer JWTs: verification ([`Principal`], an extractor), scopes, and the
//! server's own client-credentials token issuing.
//!
//! A token is accepted when its signature verifies (RS256 or EdDSA) under a key of the
//! configured JWKS file or the server's own key, its `iss` and `aud` are the configured
//! ones, and the server's clock (not the system's) is within `exp` and `nbf`, give or take
//! `jwt.clock_skew_seconds`. Its claims: `org` (the tenant, required), `scope` (space
//! separated; `sp:scopes:all` grants every scope), `identity_id` (present on a user's
//! token, absent on a client-credentials token), `client_id`.
//!
//! Failures are 401 with `{"error": "JWT validation failed: ..."}` (and
//! `WWW-Authenticate: Bearer`); a missing scope is 403 with the API's error body. The
//! `Authorization` header and the token are never logged.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::config::{ConfigError, JwtSettings, OAuthClient};
use crate::error::ApiError;
use crate::keys::SigningKey;

/// The scopes of the API's operations.
pub mod scope {
    /// Every scope.
    pub const ALL: &str = "sp:scopes:all";
    /// Generate a digit token.
    pub const DIGIT_TOKEN_CREATE: &str = "idn:password-digit-token:create";
    /// Read the password org config.
    pub const ORG_CONFIG_READ: &str = "idn:password-org-config:read";
    /// Create and update the password org config.
    pub const ORG_CONFIG_WRITE: &str = "idn:password-org-config:write";
    /// Query password info.
    pub const PASSWORD_INFO_READ: &str = "idn:password-info:read";
    /// Set a password.
    pub const PASSWORD_SET: &str = "idn:password:set";
    /// Read a password change's status.
    pub const CHANGE_STATUS_READ: &str = "idn:password-change-status:read";
}

/// Who made the request, from a verified token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The tenant (`org`).
    pub tenant: String,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// The user's identity (`identity_id`); `None` for a client-credentials token.
    pub identity_id: Option<String>,
    /// The OAuth client (`client_id`).
    pub client_id: Option<String>,
}

impl Principal {
    /// Whether the token grants `scope` (directly or through `sp:scopes:all`).
    #[must_use]
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope || s == scope::ALL)
    }

    /// 403 unless the token grants `scope`.
    ///
    /// # Errors
    /// [`ApiError::Forbidden`] naming the scope.
    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "the token lacks the scope {scope}"
            )))
        }
    }

    /// 403 unless this principal may act for `identity_id`: a client-credentials token for
    /// any identity of its tenant, a user's token for its own identity only.
    ///
    /// # Errors
    /// [`ApiError::Forbidden`].
    pub fn may_act_for(&self, identity_id: &str) -> Result<(), ApiError> {
        match &self.identity_id {
            None => Ok(()),
            Some(own) if own == identity_id => Ok(()),
            Some(_) => Err(ApiError::Forbidden(
                "a user's token may act only for its own identity".into(),
            )),
        }
    }
}

/// The claims this server reads (and writes, when it issues tokens).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Audience (a string or an array of strings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
    /// Subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Expiry (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Not before (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Space-separated scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The user's identity, on a user's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_id: Option<String>,
    /// The OAuth client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// One key tokens may be signed with.
struct VerifyKey {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

/// Verifies bearer tokens and issues the server's own.
pub struct Authenticator {
    keys: Vec<VerifyKey>,
    issuer: String,
    audience: String,
    leeway: i64,
    lifetime: i64,
    signer: Option<SigningKey>,
    clients: HashMap<String, OAuthClient>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<_> = self.keys.iter().map(|k| (&k.kid, k.alg)).collect();
        let clients: Vec<_> = self.clients.keys().collect();
        f.debug_struct("Authenticator")
            .field("keys", &kids)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("signer", &self.signer)
            .field("clients", &clients)
            .finish_non_exhaustive()
    }
}

fn jwt_failed(reason: &str) -> ApiError {
    ApiError::Unauthorized(format!("JWT validation failed: {reason}"))
}

/// Reads a JWKS file: RSA keys (RS256) and Ed25519 keys (EdDSA).
fn read_jwks(path: &Path) -> Result<Vec<VerifyKey>, ConfigError> {
    let bad = |why: String| ConfigError::new(format!("jwt.jwks_file: {}: {why}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let set: JwkSet = serde_json::from_str(&text).map_err(|e| bad(format!("not a JWKS: {e}")))?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        let alg = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                Algorithm::EdDSA
            }
            _ => {
                return Err(bad(
                    "only RSA (RS256) and Ed25519 (EdDSA) keys are accepted".into(),
                ));
            }
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| bad(format!("unusable key: {e}")))?;
        keys.push(VerifyKey {
            kid: jwk.common.key_id.clone(),
            alg,
            key,
        });
    }
    Ok(keys)
}

impl Authenticator {
    /// From the `[jwt]` settings and the OAuth clients.
    ///
    /// # Errors
    /// [`ConfigError`] for an unreadable JWKS or signing key, or when neither is set.
    pub fn new(settings: &JwtSettings, clients: &[OAuthClient]) -> Result<Self, ConfigError> {
        let mut keys = match &settings.jwks_file {
            Some(path) => read_jwks(path)?,
            None => Vec::new(),
        };
        let signer = settings
            .signing_key
            .as_deref()
            .map(SigningKey::load)
            .transpose()?;
        if let Some(signer) = &signer {
            let key = DecodingKey::from_jwk(signer.jwk())
                .map_err(|e| ConfigError::new(format!("jwt.signing_key: {e}")))?;
            keys.push(VerifyKey {
                kid: Some(signer.kid().to_owned()),
                alg: Algorithm::EdDSA,
                key,
            });
        }
        if keys.is_empty() {
            return Err(ConfigError::new(
                "no bearer token could ever verify: set jwt.jwks_file (PASSWORD_MGMT__JWT__JWKS_FILE) \
                 and/or jwt.signing_key (PASSWORD_MGMT__JWT__SIGNING_KEY)",
            ));
        }
        if !clients.is_empty() && signer.is_none() {
            return Err(ConfigError::new(
                "oauth.clients are configured but jwt.signing_key is not: the server cannot sign their tokens",
            ));
        }
        let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        Ok(Self {
            keys,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            leeway: to_i64(settings.clock_skew_seconds),
            lifetime: to_i64(settings.token_lifetime_seconds),
            signer,
            clients: clients
                .iter()
                .map(|c| (c.client_id.clone(), c.clone()))
                .collect(),
        })
    }

    /// The server's own signing key, if any.
    #[must_use]
    pub const fn signer(&self) -> Option<&SigningKey> {
        self.signer.as_ref()
    }

    /// The configured client `client_id`.
    #[must_use]
    pub fn client(&self, client_id: &str) -> Option<&OAuthClient> {
        self.clients.get(client_id)
    }

    /// Verifies a bearer token at `now` (seconds since the epoch).
    ///
    /// # Errors
    /// [`ApiError::Unauthorized`] saying what failed.
    pub fn verify(&self, token: &str, now: i64) -> Result<Principal, ApiError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| jwt_failed("JWT is malformed"))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::EdDSA) {
            return Err(jwt_failed("JWT algorithm is not accepted (RS256 or EdDSA)"));
        }
        let candidates = self
            .keys
            .iter()
            .filter(|k| k.alg == header.alg)
            .filter(|k| header.kid.is_none() || k.kid.is_none() || k.kid == header.kid);
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        let mut outcome = Err(jwt_failed("JWT signature does not match any accepted key"));
        for key in candidates {
            match jsonwebtoken::decode::<Claims>(token, &key.key, &validation) {
                Ok(data) => {
                    outcome = Ok(data.claims);
                    break;
                }
                Err(e) => {
                    use jsonwebtoken::errors::ErrorKind as K;
                    let reason = match e.kind() {
                        K::InvalidSignature | K::InvalidEddsaKey | K::InvalidRsaKey(_) => continue,
                        K::InvalidIssuer => "JWT issuer is not accepted".to_owned(),
                        K::InvalidAudience => "JWT audience is not accepted".to_owned(),
                        K::MissingRequiredClaim(c) => format!("JWT has no {c} claim"),
                        K::InvalidClaimFormat(c) => format!("JWT claim {c} is malformed"),
                        _ => "JWT is malformed".to_owned(),
                    };
                    return Err(jwt_failed(&reason));
                }
            }
        }
        let claims = outcome?;
        let exp = claims
            .exp
            .ok_or_else(|| jwt_failed("JWT has no exp claim"))?;
        if now > exp.saturating_add(self.leeway) {
            return Err(jwt_failed("JWT is expired"));
        }
        if claims
            .nbf
            .is_some_and(|nbf| now.saturating_add(self.leeway) < nbf)
        {
            return Err(jwt_failed("JWT is not yet valid"));
        }
        let tenant = claims
            .org
            .filter(|o| !o.is_empty())
            .ok_or_else(|| jwt_failed("JWT has no org claim"))?;
        Ok(Principal {
            tenant,
            scopes: claims
                .scope
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            identity_id: claims.identity_id.filter(|i| !i.is_empty()),
            client_id: claims.client_id,
        })
    }

    /// Signs a client-credentials token for `client` with `scopes`, at `now` (seconds
    /// since the epoch); returns the token and its lifetime in seconds.
    ///
    /// # Errors
    /// [`ApiError::Internal`] when no signing key is configured or signing fails.
    pub fn issue(
        &self,
        client: &OAuthClient,
        scopes: &[String],
        now: i64,
        jti: String,
    ) -> Result<(String, i64), ApiError> {
        let signer = self
            .signer
            .as_ref()
            .ok_or_else(|| ApiError::internal("no jwt.signing_key to sign with"))?;
        let claims = Claims {
            iss: Some(self.issuer.clone()),
            aud: Some(serde_json::Value::String(self.audience.clone())),
            sub: Some(client.client_id.clone()),
            exp: Some(now.saturating_add(self.lifetime)),
            nbf: Some(now),
            iat: Some(now),
            jti: Some(jti),
            org: Some(client.tenant.clone()),
            scope: Some(scopes.join(" ")),
            identity_id: None,
            client_id: Some(client.client_id.clone()),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(signer.kid().to_owned());
        let token = jsonwebtoken::encode(&header, &claims, signer.encoding_key())
            .map_err(|e| ApiError::internal(format!("signing a token: {e}")))?;
        Ok((token, self.lifetime))
    }
}

/// The bearer token of a request.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("Authorization header is missing".into()))?;
    let value = value
        .to_str()
        .map_err(|_| jwt_failed("the Authorization header is not a Bearer token"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| jwt_failed("the Authorization header is not a Bearer token"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(jwt_failed("the Authorization header is not a Bearer token"));
    }
    Ok(token.trim())
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        let now = state.now().unix_timestamp();
        let principal = state.auth().verify(token, now)?;
        tracing::Span::current().record("tenant", principal.tenant.as_str());
        Ok(principal)
    }
}
