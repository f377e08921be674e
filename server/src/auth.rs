//! Bearer tokens for `?auth=bearer` streams (always available, not only with `--chaos`):
//! `POST /api/auth/token` issues one, `POST /api/auth/revoke` invalidates it and drops the
//! streams opened with it.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::{json_error, JsonBody};
use crate::streams::MAX_CLIENT_TAG;
use crate::AppState;

/// Tokens kept at most; beyond, the oldest are forgotten (and so become invalid).
pub const MAX_TOKENS: usize = 10_000;

/// What a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// May open streams.
    #[default]
    Read,
    /// Valid, but may not open streams (403).
    None,
}

#[derive(Debug)]
struct Info {
    seq: u64,
    scope: Scope,
}

/// Issued, not yet revoked tokens (bounded, oldest evicted).
#[derive(Debug, Default)]
pub struct Tokens {
    next: u64,
    by_token: HashMap<String, Info>,
    order: BTreeMap<u64, String>,
}

impl Tokens {
    /// Issues a new token `tok-<n>-<16 hex>`.
    pub fn issue(&mut self, scope: Scope) -> String {
        self.next += 1;
        let seq = self.next;
        // RandomState is randomly keyed per instance: a dependency-free source of entropy.
        let mut h = RandomState::new().build_hasher();
        h.write_u64(seq);
        h.write_u64(crate::clock::unix_ms());
        let token = format!("tok-{seq}-{:016x}", h.finish());
        self.by_token.insert(token.clone(), Info { seq, scope });
        self.order.insert(seq, token.clone());
        while self.by_token.len() > MAX_TOKENS {
            match self.order.pop_first() {
                Some((_, old)) => {
                    self.by_token.remove(&old);
                }
                None => break,
            }
        }
        token
    }

    /// Forgets `token`; `true` if it was valid.
    pub fn revoke(&mut self, token: &str) -> bool {
        match self.by_token.remove(token) {
            Some(info) => {
                self.order.remove(&info.seq);
                true
            }
            None => false,
        }
    }

    /// The scope of a valid token.
    pub fn scope(&self, token: &str) -> Option<Scope> {
        self.by_token.get(token).map(|i| i.scope)
    }

    /// Valid tokens.
    pub fn len(&self) -> usize {
        self.by_token.len()
    }

    /// `true` when no token is valid.
    pub fn is_empty(&self) -> bool {
        self.by_token.is_empty()
    }
}

/// The token of an `Authorization: Bearer <token>` header: `None` if the header is missing or
/// is not a well-formed bearer credential (scheme case-insensitive, one token without spaces).
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer")
        && !token.is_empty()
        && !token.contains(|c: char| c.is_ascii_whitespace()))
    .then(|| token.to_owned())
}

/// Why a `?auth=bearer` request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// 401: no (well-formed) bearer credential.
    Missing,
    /// 401: unknown, evicted or revoked token.
    Invalid,
    /// 403: the token's scope is `none`.
    Forbidden,
}

impl Denied {
    /// The HTTP answer.
    pub fn response(self) -> Response {
        let (status, challenge, message) = match self {
            Denied::Missing => (
                StatusCode::UNAUTHORIZED,
                Some("Bearer"),
                "missing bearer token",
            ),
            Denied::Invalid => (
                StatusCode::UNAUTHORIZED,
                Some("Bearer error=\"invalid_token\""),
                "invalid or revoked token",
            ),
            Denied::Forbidden => (StatusCode::FORBIDDEN, None, "token lacks the read scope"),
        };
        let mut resp = json_error(status, message);
        if let Some(c) = challenge {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
        resp
    }
}

/// Checks a presented token (`None`: no well-formed header).
pub fn check(tokens: &Tokens, token: Option<&str>) -> Result<(), Denied> {
    match token.map(|t| tokens.scope(t)) {
        None => Err(Denied::Missing),
        Some(None) => Err(Denied::Invalid),
        Some(Some(Scope::None)) => Err(Denied::Forbidden),
        Some(Some(Scope::Read)) => Ok(()),
    }
}

/// The auth routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/token", post(issue))
        .route("/api/auth/revoke", post(revoke))
}

#[derive(Deserialize)]
struct TokenBody {
    #[serde(default)]
    scope: Scope,
    client: Option<String>,
}

/// `POST /api/auth/token {"scope"?, "client"?}` → `{"token", "scope", "client"}`.
async fn issue(State(state): State<AppState>, JsonBody(b): JsonBody<TokenBody>) -> Response {
    if b.client
        .as_deref()
        .is_some_and(|c| c.chars().count() > MAX_CLIENT_TAG)
    {
        return json_error(
            StatusCode::BAD_REQUEST,
            format!("client tag longer than {MAX_CLIENT_TAG} characters"),
        );
    }
    let token = state.tokens().issue(b.scope);
    Json(json!({ "token": token, "scope": b.scope, "client": b.client })).into_response()
}

#[derive(Deserialize)]
struct RevokeBody {
    token: String,
}

/// `POST /api/auth/revoke {"token"}` → `{"ok": true, "revoked", "dropped"}`: idempotent.
async fn revoke(State(state): State<AppState>, JsonBody(b): JsonBody<RevokeBody>) -> Response {
    // Forget it first: a stream admitted concurrently re-checks the token under the registry
    // lock, so it either sees the revocation or is registered in time to be dropped here.
    let revoked = state.tokens().revoke(&b.token);
    let dropped = state.registry().drop_token(&b.token);
    Json(json!({ "ok": true, "revoked": revoked, "dropped": dropped })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_tokens_are_evicted_beyond_the_bound() {
        let mut t = Tokens::default();
        let first = t.issue(Scope::Read);
        for _ in 0..MAX_TOKENS {
            t.issue(Scope::Read);
        }
        assert_eq!(t.len(), MAX_TOKENS);
        assert_eq!(t.scope(&first), None);
        assert!(!t.revoke(&first));
    }

    #[test]
    fn bearer_header_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        for (v, want) in [
            ("Bearer abc", Some("abc")),
            ("bearer  abc", Some("abc")),
            ("Bearer", None),
            ("Bearer ", None),
            ("Basic abc", None),
            ("Bearer a b", None),
        ] {
            h.insert(header::AUTHORIZATION, HeaderValue::from_static(v));
            assert_eq!(bearer(&h).as_deref(), want, "{v:?}");
        }
    }
}
