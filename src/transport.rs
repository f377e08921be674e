//! Which browser API carries the stream: [`Transport::EventSource`] (the default) or
//! [`Transport::Fetch`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use leptos::prelude::*;

/// How the hook connects. Switching is one option; the hook's signals, controls and backoff
/// behave the same with either.
///
/// | | `EventSource` (default) | `Fetch` |
/// | --- | --- | --- |
/// | custom headers (`Authorization`) | no (cookies only) | yes, re-read on every attempt |
/// | method and body | `GET` only | any |
/// | HTTP status visible | no: every failure looks alike | yes: 204/205 stop, 429/502/503/504 honour `Retry-After`, 408/425/other 5xx back off, other 4xx stop without retrying (401/407 after one credential refresh with [`on_unauthorized`](FetchOptions::on_unauthorized)) |
/// | server `retry:` hint | hidden from scripts | raises the backoff floor |
/// | resume | `?lastEventId=` query parameter | `Last-Event-ID` header |
/// | parsing | the browser's | [`crate::sse`], in wasm |
///
/// ```
/// use leptos_task_stream::{FetchOptions, TaskStreamOptions, Transport};
///
/// let options = TaskStreamOptions::default()
///     .transport(Transport::Fetch(FetchOptions::default().header("X-Team", "ops")));
/// assert!(matches!(options.stream_options().transport_kind(), Transport::Fetch(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum Transport {
    /// The browser's `EventSource`: no headers, no status codes, the least code. Its own 3 s
    /// retry is disabled; the hook's backoff runs instead.
    #[default]
    EventSource,
    /// `fetch` with a streamed response body, parsed by the crate's spec-conformant
    /// [`SseParser`](crate::sse::SseParser): headers, methods, bodies, HTTP status codes,
    /// `Retry-After` and `retry:` all reach the state machine.
    ///
    /// Cross-origin, the browser shows `Retry-After` to scripts only if the response also
    /// carries `Access-Control-Expose-Headers: Retry-After` (the dev server sends it); without
    /// it the header is invisible and the hook waits on its own backoff schedule.
    Fetch(FetchOptions),
}

impl Transport {
    /// `"eventsource"` or `"fetch"`, for logs and UI.
    pub fn name(&self) -> &'static str {
        match self {
            Transport::EventSource => "eventsource",
            Transport::Fetch(_) => "fetch",
        }
    }
}

/// A credential refresh: called after an HTTP 401 (or 407); resolves to `true` once fresh
/// credentials are in place (the next attempt re-reads the headers), `false` if it failed.
type RefreshFn = dyn Fn() -> Pin<Box<dyn Future<Output = bool>>> + Send + Sync;

/// Options of [`Transport::Fetch`], with chainable setters.
///
/// Every request sends `Accept: text/event-stream`, `Cache-Control: no-cache`, and, when
/// resuming, `Last-Event-ID`. Headers are read **on every attempt**, so a token kept in a signal
/// and refreshed by the app is picked up by the next reconnect.
///
/// ```
/// use leptos::prelude::*;
/// use leptos_task_stream::FetchOptions;
///
/// let token = RwSignal::new(Some("secret".to_string()));
/// let fetch = FetchOptions::default()
///     .bearer_token(token)
///     .header("X-Client", "dashboard")
///     .method("POST")
///     .body(r#"{"board":"ops"}"#)
///     .on_unauthorized(move || async move {
///         // e.g. call the auth endpoint, then `token.set(Some(new_token))`
///         token.set(Some("refreshed".into()));
///         true
///     });
/// assert_eq!(fetch.request_headers()[0], ("Authorization".to_string(), "Bearer secret".to_string()));
/// ```
#[derive(Clone, Default)]
pub struct FetchOptions {
    pub(crate) method: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) dynamic_headers: Option<Signal<Vec<(String, String)>>>,
    pub(crate) bearer: Option<Signal<Option<String>>>,
    pub(crate) body: Option<String>,
    pub(crate) on_unauthorized: Option<Arc<RefreshFn>>,
    /// The browser's fetch transport, set by `Default`: the driver opens fetches only through
    /// it, so apps that never build `FetchOptions` do not carry the fetch code.
    #[cfg(target_arch = "wasm32")]
    pub(crate) open: crate::use_event_stream::driver::FetchOpen,
}

impl FetchOptions {
    /// The HTTP method. Defaults to `GET`.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Adds a fixed header to every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Headers computed from a signal, read (untracked) on every attempt: a changed value is
    /// used from the next reconnect on; it does not by itself reconnect.
    pub fn headers(mut self, headers: impl Into<Signal<Vec<(String, String)>>>) -> Self {
        self.dynamic_headers = Some(headers.into());
        self
    }

    /// Sends `Authorization: Bearer <token>` with the signal's current token on every attempt
    /// (nothing while it is `None`).
    pub fn bearer_token(mut self, token: impl Into<Signal<Option<String>>>) -> Self {
        self.bearer = Some(token.into());
        self
    }

    /// The request body (e.g. a JSON filter for a `POST` stream). Sent on every attempt.
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Called once after an HTTP 401 (or 407) to refresh credentials, e.g. fetch a new token and
    /// set the [`bearer_token`](Self::bearer_token) signal. If it resolves to `true`, the hook
    /// retries at once with the new headers; if that is refused again, or it resolves to
    /// `false`, or it takes longer than `stale_after` (45 s when that is `None`), the status becomes
    /// [`OfflineReason::Rejected`](crate::OfflineReason::Rejected) with no further retries.
    /// Without it, a 401 stops at once: retrying with the same credentials would only be a
    /// storm of refusals.
    pub fn on_unauthorized<F, Fut>(mut self, refresh: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + 'static,
    {
        self.on_unauthorized = Some(Arc::new(move || Box::pin(refresh())));
        self
    }

    /// The headers the next request would carry (the bearer token, then the fixed ones, then
    /// the signal's), read untracked. Each is appended: a name given twice is sent twice (the
    /// browser joins the values with a comma). `Accept`, `Cache-Control` and `Last-Event-ID` are
    /// added by the transport.
    pub fn request_headers(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(token) = self.bearer.and_then(|t| t.try_get_untracked().flatten()) {
            out.push(("Authorization".to_owned(), format!("Bearer {token}")));
        }
        out.extend(self.headers.iter().cloned());
        if let Some(dynamic) = self.dynamic_headers.and_then(|h| h.try_get_untracked()) {
            out.extend(dynamic);
        }
        out
    }

    /// The HTTP method (`GET` unless set).
    pub fn request_method(&self) -> &str {
        self.method.as_deref().unwrap_or("GET")
    }

    /// The request body, if any.
    pub fn request_body(&self) -> Option<&str> {
        self.body.as_deref()
    }

    /// Whether a credential refresh is configured.
    pub fn refreshes_credentials(&self) -> bool {
        self.on_unauthorized.is_some()
    }

    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn refresh(&self) -> Option<Pin<Box<dyn Future<Output = bool>>>> {
        self.on_unauthorized.as_ref().map(|f| f())
    }
}

impl fmt::Debug for FetchOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values may be secrets: show names only.
        f.debug_struct("FetchOptions")
            .field("method", &self.request_method())
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("dynamic_headers", &self.dynamic_headers.is_some())
            .field("bearer_token", &self.bearer.is_some())
            .field("body", &self.body.as_ref().map(String::len))
            .field("on_unauthorized", &self.on_unauthorized.is_some())
            .finish()
    }
}

impl PartialEq for FetchOptions {
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method
            && self.headers == other.headers
            && self.dynamic_headers == other.dynamic_headers
            && self.bearer == other.bearer
            && self.body == other.body
            && match (&self.on_unauthorized, &other.on_unauthorized) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}
