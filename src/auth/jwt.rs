//! Access tokens: short-lived HS256 JWTs naming the user, the session and the role.
//!
//! Only HS256 is accepted (so `alg: none` and algorithm confusion fail); a previous key is
//! still accepted during rotation; `exp` is required and a token issued in the future is
//! refused.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::{
    config::AuthConfig,
    error::{AppError, AppResult, INVALID_TOKEN},
};

/// Clock skew tolerated between instances, in seconds.
const LEEWAY_S: i64 = 5;

/// What an access token says.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Session id.
    pub sid: String,
    /// Role at issue time (the session check re-reads the current one).
    pub role: String,
    pub exp: i64,
    pub iat: i64,
    /// Token id.
    pub jti: String,
}

/// Signing and verifying keys.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: Vec<DecodingKey>,
    validation: Validation,
    ttl: chrono::Duration,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys").finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Keys from the configured secrets.
    pub fn new(config: &AuthConfig) -> Self {
        let current = config.jwt_secret.expose_secret().as_bytes();
        let mut decoding = vec![DecodingKey::from_secret(current)];
        if let Some(previous) = &config.jwt_previous_secret {
            decoding.push(DecodingKey::from_secret(
                previous.expose_secret().as_bytes(),
            ));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_S.unsigned_abs();
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(current),
            decoding,
            validation,
            ttl: chrono::Duration::from_std(config.access_ttl)
                .unwrap_or_else(|_| chrono::Duration::minutes(15)),
        }
    }

    /// Signs a token for `user_id` in session `sid`; returns it with its expiry.
    pub fn issue(&self, user_id: i64, sid: &str, role: &str) -> AppResult<(String, DateTime<Utc>)> {
        let now = Utc::now();
        let expires = now + self.ttl;
        let claims = Claims {
            sub: user_id.to_string(),
            sid: sid.to_owned(),
            role: role.to_owned(),
            exp: expires.timestamp(),
            iat: now.timestamp(),
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("signing a token: {e}")))?;
        Ok((token, expires))
    }

    /// Checks signature, algorithm and times; any failure is `UNAUTHENTICATED`.
    pub fn verify(&self, token: &str) -> AppResult<Claims> {
        if token.len() > 4096 {
            return Err(AppError::Unauthenticated(INVALID_TOKEN));
        }
        let claims = self
            .decoding
            .iter()
            .find_map(|key| decode::<Claims>(token, key, &self.validation).ok())
            .map(|data| data.claims)
            .ok_or(AppError::Unauthenticated(INVALID_TOKEN))?;
        if claims.iat > Utc::now().timestamp() + LEEWAY_S {
            return Err(AppError::Unauthenticated(INVALID_TOKEN));
        }
        Ok(claims)
    }
}
