//! `/api/chaos/*` (only with `--chaos`): on-demand faults for reconnect tests. Every body may
//! carry `"client": "<tag>"` to affect only streams opened with `?client=<tag>`.

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;

use crate::api::{json_error, JsonBody};
use crate::faults::{scope_matches, Reject, Window};
use crate::sse::{frame, is_field_safe};
use crate::streams::{Control, StreamKind};
use crate::writer::Frame;
use crate::{AppState, INJECT_BODY_LIMIT};

/// Longest fault window accepted, in seconds.
const MAX_SECS: f64 = 3600.0;

/// Every chaos route.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/chaos", get(status))
        .route("/api/chaos/drop", post(drop_streams))
        .route("/api/chaos/outage", post(outage))
        .route("/api/chaos/refuse", post(refuse))
        .route("/api/chaos/stall", post(stall))
        .route("/api/chaos/flap", post(flap))
        .route("/api/chaos/reject", post(reject))
        .route(
            "/api/chaos/inject",
            post(inject).layer(DefaultBodyLimit::max(INJECT_BODY_LIMIT)),
        )
        .route("/api/chaos/end", post(end))
        .route("/api/chaos/heal", post(heal))
        .route("/api/chaos/restart", post(restart))
}

/// `POST /api/chaos/restart`: answer, then shut down gracefully and exit with
/// `RESTART_EXIT_CODE` (the binary's shutdown future watches `AppState::restart_requested`
/// and exits; an in-process server keeps serving unless its own shutdown future does), losing the
/// state and the event log, as a crashed and restarted backend would.
async fn restart(State(state): State<AppState>) -> Response {
    state.request_restart();
    ok(json!({ "exit_code": crate::RESTART_EXIT_CODE }))
}

fn ok(extra: serde_json::Value) -> Response {
    let mut body = json!({ "ok": true });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    Json(body).into_response()
}

fn bad(message: impl Into<String>) -> Response {
    json_error(StatusCode::BAD_REQUEST, message)
}

/// A fault duration: finite, positive, at most an hour.
fn window(secs: f64) -> Result<Duration, Response> {
    if secs.is_finite() && secs > 0.0 && secs <= MAX_SECS {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err(bad(format!(
            "\"secs\" must be a number greater than 0 and at most {MAX_SECS}"
        )))
    }
}

/// Sends `make()` to every open stream of the given kinds that `client` scopes.
fn signal(
    state: &AppState,
    client: Option<&str>,
    kinds: &[StreamKind],
    make: impl Fn() -> Control,
) -> usize {
    state
        .registry()
        .broadcast(|c, k| kinds.contains(&k) && scope_matches(client, c), make)
}

const ALL_KINDS: [StreamKind; 3] = [
    StreamKind::Global,
    StreamKind::Mission,
    StreamKind::Firehose,
];

#[derive(Deserialize)]
struct Scope {
    client: Option<String>,
}

async fn status(State(state): State<AppState>) -> Response {
    let now = Instant::now();
    let refuse = *state.inner.refuse.borrow();
    let mut faults = state.faults();
    faults.prune(now);
    Json(faults.to_json(now, refuse)).into_response()
}

/// `POST /api/chaos/drop {"client"?}`: abruptly closes matching streams of every kind.
async fn drop_streams(State(state): State<AppState>, JsonBody(b): JsonBody<Scope>) -> Response {
    let dropped = signal(&state, b.client.as_deref(), &ALL_KINDS, || Control::Drop);
    ok(json!({ "dropped": dropped }))
}

#[derive(Deserialize)]
struct OutageBody {
    secs: f64,
    retry_after: Option<u64>,
    client: Option<String>,
}

/// `POST /api/chaos/outage {"secs", "retry_after"?, "client"?}`.
async fn outage(State(state): State<AppState>, JsonBody(b): JsonBody<OutageBody>) -> Response {
    let d = match window(b.secs) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let retry_after = b.retry_after.unwrap_or(b.secs.ceil() as u64);
    let now = Instant::now();
    {
        let mut f = state.faults();
        f.prune(now);
        let seq = f.next_seq();
        f.outages.push(Window {
            client: b.client.clone(),
            until: now + d,
            param: retry_after,
            seq,
        });
    }
    state.faults_changed();
    let dropped = signal(&state, b.client.as_deref(), &ALL_KINDS, || Control::Drop);
    ok(
        json!({ "secs": b.secs, "retry_after": retry_after, "client": b.client, "dropped": dropped }),
    )
}

#[derive(Deserialize)]
struct SecsBody {
    secs: f64,
    client: Option<String>,
}

/// `POST /api/chaos/refuse {"secs"}`: drops every stream and closes the listening socket for
/// `secs` (global: `client` is ignored, a closed port cannot tell clients apart).
async fn refuse(State(state): State<AppState>, JsonBody(b): JsonBody<SecsBody>) -> Response {
    let d = match window(b.secs) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let dropped = signal(&state, None, &ALL_KINDS, || Control::Drop);
    state.inner.refuse.send_replace(Some(Instant::now() + d));
    ok(json!({ "secs": b.secs, "dropped": dropped }))
}

/// `POST /api/chaos/stall {"secs", "client"?}`: matching streams, open and new, write nothing
/// until the window ends; what was held back is then delivered.
async fn stall(State(state): State<AppState>, JsonBody(b): JsonBody<SecsBody>) -> Response {
    let d = match window(b.secs) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let now = Instant::now();
    {
        let mut f = state.faults();
        f.prune(now);
        let seq = f.next_seq();
        f.stalls.push(Window {
            client: b.client.clone(),
            until: now + d,
            param: 0,
            seq,
        });
    }
    state.faults_changed();
    ok(json!({ "secs": b.secs, "client": b.client }))
}

#[derive(Deserialize)]
struct FlapBody {
    secs: f64,
    after_ms: u64,
    client: Option<String>,
}

/// `POST /api/chaos/flap {"secs", "after_ms", "client"?}`: new matching streams are accepted,
/// then dropped `after_ms` later.
async fn flap(State(state): State<AppState>, JsonBody(b): JsonBody<FlapBody>) -> Response {
    let d = match window(b.secs) {
        Ok(d) => d,
        Err(r) => return r,
    };
    if b.after_ms > 3_600_000 {
        return bad("\"after_ms\" must be at most 3600000");
    }
    let now = Instant::now();
    {
        let mut f = state.faults();
        f.prune(now);
        let seq = f.next_seq();
        f.flaps.push(Window {
            client: b.client.clone(),
            until: now + d,
            param: b.after_ms,
            seq,
        });
    }
    state.faults_changed();
    ok(json!({ "secs": b.secs, "after_ms": b.after_ms, "client": b.client }))
}

/// `retry_after` of a reject: seconds, or a header value written verbatim.
#[derive(Deserialize)]
#[serde(untagged)]
enum RetryAfterField {
    Secs(f64),
    Text(String),
}

#[derive(Deserialize)]
struct RejectBody {
    status: i64,
    secs: f64,
    retry_after: Option<RetryAfterField>,
    content_type: Option<String>,
    client: Option<String>,
    drop: Option<bool>,
}

/// Longest `retry_after` string / `content_type` accepted by `reject`, in characters.
const MAX_HEADER_TEXT: usize = 128;

/// A header value given as text: at most 128 characters, no CR, LF, NUL or other control
/// character (tab aside).
fn header_text(name: &str, s: &str) -> Result<String, Response> {
    if s.chars().count() > MAX_HEADER_TEXT {
        return Err(bad(format!(
            "\"{name}\" must be at most {MAX_HEADER_TEXT} characters"
        )));
    }
    if axum::http::HeaderValue::from_bytes(s.as_bytes()).is_err() {
        return Err(bad(format!(
            "\"{name}\" must not contain CR, LF, NUL or other control characters"
        )));
    }
    Ok(s.to_owned())
}

/// `POST /api/chaos/reject {"status", "secs", "retry_after"?, "content_type"?, "client"?,
/// "drop"?}`: for `secs`, matching stream requests are answered with `status` instead of a
/// stream.
async fn reject(State(state): State<AppState>, JsonBody(b): JsonBody<RejectBody>) -> Response {
    let d = match window(b.secs) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let status = match u16::try_from(b.status) {
        Ok(s) if (200..=599).contains(&s) => s,
        _ => return bad("\"status\" must be an integer from 200 to 599"),
    };
    let (retry_after, retry_after_json) = match &b.retry_after {
        None => (None, serde_json::Value::Null),
        Some(RetryAfterField::Secs(n)) => {
            if !(n.is_finite() && *n >= 0.0) {
                return bad("\"retry_after\" must be a non-negative number of seconds or a string");
            }
            let secs = n.ceil() as u64;
            (Some(secs.to_string()), json!(secs))
        }
        Some(RetryAfterField::Text(t)) => match header_text("retry_after", t) {
            Ok(t) => (Some(t.clone()), json!(t)),
            Err(r) => return r,
        },
    };
    let content_type = match b
        .content_type
        .as_deref()
        .map(|c| header_text("content_type", c))
    {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(r)) => return r,
    };
    let drop = b.drop.unwrap_or(false);
    let now = Instant::now();
    {
        let mut f = state.faults();
        f.prune(now);
        let seq = f.next_seq();
        f.rejects.push(Reject {
            window: Window {
                client: b.client.clone(),
                until: now + d,
                param: status.into(),
                seq,
            },
            status,
            retry_after,
            retry_after_json: retry_after_json.clone(),
            content_type: content_type.clone(),
            drop,
        });
    }
    state.faults_changed();
    let dropped = if drop {
        signal(&state, b.client.as_deref(), &ALL_KINDS, || Control::Drop)
    } else {
        0
    };
    ok(json!({
        "secs": b.secs,
        "status": status,
        "retry_after": retry_after_json,
        "content_type": content_type,
        "client": b.client,
        "drop": drop,
        "dropped": dropped,
    }))
}

#[derive(Deserialize)]
struct InjectBody {
    event: Option<String>,
    data: Option<String>,
    id: Option<String>,
    raw: Option<String>,
    raw_base64: Option<String>,
    client: Option<String>,
    /// Write the frame in pieces spread over this many seconds (0 < secs ≤ 60).
    trickle_secs: Option<f64>,
    /// `data` repeated this many times (1 ≤ n, at most [`MAX_REPEATED_DATA`] bytes in all): an
    /// event far larger than the body limit allows, for clients' size limits.
    repeat: Option<u64>,
}

/// The largest `data` that `repeat` may build (bytes).
const MAX_REPEATED_DATA: u64 = 256 * 1024 * 1024;

/// The longest `trickle_secs` accepted by `inject`.
const MAX_TRICKLE_SECS: f64 = 60.0;

/// `POST /api/chaos/inject`: writes one hand-made event (or raw bytes) to matching open
/// global streams; with `trickle_secs`, slowly, in pieces, as over a slow link.
async fn inject(State(state): State<AppState>, JsonBody(b): JsonBody<InjectBody>) -> Response {
    let out = if let Some(encoded) = &b.raw_base64 {
        match base64::engine::general_purpose::STANDARD.decode(encoded.trim()) {
            Ok(v) => Frame::Raw(Bytes::from(v)),
            Err(e) => return bad(format!("\"raw_base64\" is not valid base64: {e}")),
        }
    } else if let Some(raw) = b.raw {
        Frame::Raw(Bytes::from(raw))
    } else {
        if b.event.is_none() && b.data.is_none() {
            return bad("give \"event\"/\"data\", \"raw\" or \"raw_base64\"");
        }
        for (name, v) in [("event", &b.event), ("id", &b.id)] {
            if v.as_deref().is_some_and(|s| !is_field_safe(s)) {
                return bad(format!("\"{name}\" must not contain CR, LF or NUL"));
            }
        }
        let data = b.data.as_deref().unwrap_or("");
        let data = match b.repeat {
            None => std::borrow::Cow::Borrowed(data),
            Some(n)
                if n >= 1
                    && (data.len() as u64)
                        .checked_mul(n)
                        .is_some_and(|total| total <= MAX_REPEATED_DATA) =>
            {
                std::borrow::Cow::Owned(data.repeat(n as usize))
            }
            Some(_) => {
                return bad(format!(
                    "\"repeat\" must be at least 1, and \"data\" repeated at most \
                     {MAX_REPEATED_DATA} bytes"
                ))
            }
        };
        Frame::Event(frame(b.event.as_deref(), b.id.as_deref(), &data))
    };
    let out = match b.trickle_secs {
        None => out,
        Some(secs) if secs > 0.0 && secs <= MAX_TRICKLE_SECS => match out {
            Frame::Raw(bytes) | Frame::Event(bytes) => Frame::Trickle {
                bytes,
                over: Duration::from_secs_f64(secs),
            },
            other => other,
        },
        Some(_) => {
            return bad(format!(
            "\"trickle_secs\" must be a number of seconds above 0 and at most {MAX_TRICKLE_SECS}"
        ))
        }
    };
    let len = match &out {
        Frame::Raw(b) | Frame::Event(b) | Frame::Retry(b) | Frame::Trickle { bytes: b, .. } => {
            b.len()
        }
        Frame::Bom => crate::writer::BOM.len(),
    };
    let delivered = signal(&state, b.client.as_deref(), &[StreamKind::Global], || {
        Control::Inject(out.clone())
    });
    ok(json!({ "delivered": delivered, "bytes": len }))
}

#[derive(Deserialize)]
struct EndBody {
    reason: Option<String>,
    client: Option<String>,
}

/// `POST /api/chaos/end {"reason"?, "client"?}`: sends `end` to matching open global streams
/// and closes them.
async fn end(State(state): State<AppState>, JsonBody(b): JsonBody<EndBody>) -> Response {
    let reason = b.reason.unwrap_or_else(|| "ended by chaos".into());
    let ended = signal(&state, b.client.as_deref(), &[StreamKind::Global], || {
        Control::End(reason.clone())
    });
    ok(json!({ "ended": ended, "reason": reason }))
}

/// `POST /api/chaos/heal`: clears every fault and reopens the listener.
async fn heal(State(state): State<AppState>) -> Response {
    *state.faults() = Default::default();
    state.inner.refuse.send_replace(None);
    state.faults_changed();
    ok(json!({}))
}
