//! Console sign-in: sessions held in memory, the cookies that carry them, and the CSRF token
//! every form posts back.
//!
//! A session is opened by an API key (any role but a merchant's) and names the key's principal;
//! every request re-checks that the key is still live and charges its rate, so revoking a key
//! ends its sessions and a session is no way around the key's limit. The cookie is `HttpOnly`
//! and `SameSite=Strict` with a `Max-Age`; the server speaks plain HTTP, so `Secure` is the TLS
//! terminator's to add. Forms carry a per-session CSRF token (the login form, before a session
//! exists, a double-submit token in a short-lived cookie of its own).

use crate::auth::{Denied, Principal, random_hex};
use crate::routes::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session cookie.
pub const SESSION_COOKIE: &str = "creditline_session";
/// The login form's CSRF cookie, set with the form and checked with its post.
pub const LOGIN_COOKIE: &str = "creditline_login";
/// How long a session lasts unless signed out.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 60 * 60);
/// How long a login form may wait to be posted.
pub const LOGIN_TTL: Duration = Duration::from_secs(10 * 60);
/// Sessions held at once; opening one past it first drops the expired, then the soonest to
/// expire, so sign-ins cannot grow memory without bound.
const SESSIONS_MAX: usize = 10_000;

/// A signed-in key and the CSRF token its forms carry.
#[derive(Clone, Debug)]
pub struct Session {
    /// The key that signed in.
    pub principal: Principal,
    /// The token every state-changing form must post back.
    pub csrf: String,
    expires_at: Instant,
}

/// Every open session, by its cookie's token.
#[derive(Default)]
pub struct Sessions {
    open: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Opens a session for `principal`; returns its token (the cookie's value).
    pub fn open(&self, principal: Principal) -> Result<String, crate::auth::KeyError> {
        let token = random_hex(32)?;
        let session = Session { principal, csrf: random_hex(32)?, expires_at: Instant::now() + SESSION_TTL };
        let mut open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if open.len() >= SESSIONS_MAX {
            let now = Instant::now();
            open.retain(|_, session| session.expires_at > now);
        }
        if open.len() >= SESSIONS_MAX
            && let Some(soonest) = open.iter().min_by_key(|(_, session)| session.expires_at).map(|(key, _)| key.clone())
        {
            open.remove(&soonest);
        }
        open.insert(token.clone(), session);
        Ok(token)
    }

    /// The live session of a token; an expired one is closed.
    pub fn get(&self, token: &str) -> Option<Session> {
        let mut open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match open.get(token) {
            Some(session) if session.expires_at > Instant::now() => Some(session.clone()),
            Some(_) => {
                open.remove(token);
                None
            }
            None => None,
        }
    }

    /// Signs a session out.
    pub fn close(&self, token: &str) {
        self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(token);
    }
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, scoped to `path`, for `max_age`
/// (zero clears it).
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: Duration) -> HeaderValue {
    let cookie = format!("{name}={value}; Path={path}; Max-Age={}; HttpOnly; SameSite=Strict", max_age.as_secs());
    HeaderValue::from_str(&cookie).expect("cookie names and hex tokens are valid header text")
}

/// Compares two tokens in time that depends on their length only.
pub fn same_token(expected: &str, presented: &str) -> bool {
    let (expected, presented) = (expected.as_bytes(), presented.as_bytes());
    expected.len() == presented.len()
        && std::hint::black_box(expected.iter().zip(presented).fold(0u8, |difference, (a, b)| difference | (a ^ b)))
            == 0
}

/// A console request from a signed-in, still live key. Without one, a page answers with a
/// redirect to the sign-in form.
pub struct SignedIn {
    /// The session's token (to sign out).
    pub token: String,
    /// The session.
    pub session: Session,
}

impl SignedIn {
    /// Whether a form's CSRF token is the session's.
    pub fn csrf_ok(&self, presented: &str) -> bool {
        same_token(&self.session.csrf, presented)
    }
}

/// The answer to a form whose CSRF token is missing or stale (403).
pub fn csrf_refused() -> Response {
    let message = "the form's CSRF token is missing or stale: reload the page and submit it again";
    refused(StatusCode::FORBIDDEN, "csrf_mismatch", message)
}

/// A plain-text refusal with a stable code, for what a page cannot render.
pub fn refused(status: StatusCode, code: &str, message: &str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{code}: {message}\n")).into_response()
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let sign_in = || Redirect::to("/console/login").into_response();
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(sign_in)?.to_owned();
        let session = state.sessions.get(&token).ok_or_else(sign_in)?;
        match state.keys.recheck(&session.principal) {
            Ok(()) => Ok(SignedIn { token, session }),
            Err(Denied::Unauthenticated) => {
                state.sessions.close(&token);
                Err(sign_in())
            }
            Err(Denied::RateLimited(seconds) | Denied::FailuresThrottled(seconds)) => {
                let mut response = refused(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    &format!("this key exceeded its request rate; retry in {seconds} s"),
                );
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                Err(response)
            }
        }
    }
}
