//! Plain JSON endpoints: missions, state, metrics; error helpers shared by every handler.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use axum::extract::{FromRequest, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::metrics::{Metrics, REJECTION_KEYS};
use crate::streams;
use crate::AppState;

/// Largest mission accepted by `POST /api/missions`.
pub const MAX_MISSION_TASKS: u64 = 500;

/// `{"error": message}` with `status`.
pub fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// A JSON request body, parsed whatever the `Content-Type` (so `curl -d '{...}'` works) and
/// with errors reported as JSON: 400 for syntax, 422 for a wrong shape, 413 for too large. An
/// empty body reads as `{}` so parameterless POSTs need no body at all.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| json_error(e.status(), e.body_text()))?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(text).map(JsonBody).map_err(|e| {
            let status = match e.classify() {
                serde_json::error::Category::Data => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::BAD_REQUEST,
            };
            json_error(status, format!("invalid JSON body: {e}"))
        })
    }
}

/// Every non-chaos route.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/events",
            get(streams::global_events).post(streams::global_events),
        )
        .route("/api/missions", post(create_mission))
        .route(
            "/api/missions/{id}/events",
            get(streams::mission_events).post(streams::mission_events),
        )
        .route(
            "/api/firehose",
            get(streams::firehose).post(streams::firehose),
        )
        .route("/api/state", get(state))
        .route("/api/metrics", get(metrics))
        .route("/api/metrics/reset", post(reset_metrics))
}

/// Fallback: JSON 404 (also what `/api/chaos/*` answers without `--chaos`).
pub async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "not found")
}

/// `POST /api/missions {"tasks": n}` → 201 `{"mission_id", "task_ids"}`.
async fn create_mission(State(state): State<AppState>, body: Bytes) -> Response {
    // Parsed by hand so that every mistake, including a wrong type, is a 400 with a message.
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")),
    };
    let n = match value.get("tasks").and_then(Value::as_u64) {
        Some(n) if (1..=MAX_MISSION_TASKS).contains(&n) => n,
        _ => {
            return json_error(
                StatusCode::BAD_REQUEST,
                format!("\"tasks\" must be an integer from 1 to {MAX_MISSION_TASKS}"),
            )
        }
    };
    let (mission_id, task_ids) = state.world().create_mission(n as usize, false);
    (
        StatusCode::CREATED,
        Json(json!({ "mission_id": mission_id, "task_ids": task_ids })),
    )
        .into_response()
}

/// `GET /api/state` → `{"tasks": [...], "last_event_id": head}`.
async fn state(State(state): State<AppState>) -> Response {
    let (tasks, head) = {
        let world = state.world();
        (world.tasks(), world.head())
    };
    Json(StateBody {
        tasks,
        last_event_id: head,
    })
    .into_response()
}

/// `GET /api/state` body (a struct, so task fields keep their declaration order).
#[derive(Serialize)]
struct StateBody {
    tasks: Vec<task_stream_protocol::Task>,
    last_event_id: u64,
}

fn metrics_json(m: &Metrics, client: Option<&str>) -> Value {
    let mut rejected = serde_json::Map::new();
    for key in REJECTION_KEYS {
        rejected.insert(key.as_str().into(), json!(0));
    }
    for (k, v) in &m.rejected {
        rejected.insert((*k).into(), json!(v));
    }
    let log: Vec<&crate::metrics::Attempt> = m
        .attempt_log
        .iter()
        .filter(|a| client.is_none() || a.client.as_deref() == client)
        .collect();
    json!({
        "attempts_total": m.attempts_total,
        "accepted": m.accepted,
        "flapped": m.flapped,
        "rejected": rejected,
        "resumes": m.resumes,
        "snapshots": m.snapshots,
        "lagged": m.lagged,
        "buckets": m.buckets,
        "attempt_log": log,
    })
}

/// `GET /api/metrics[?client=tag]`.
async fn metrics(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let client = query.ok().and_then(|Query(mut q)| q.remove("client"));
    let mut body = metrics_json(&state.metrics(), client.as_deref());
    let (open, open_client) = {
        let reg = state.registry();
        (reg.len(), client.as_deref().map(|c| reg.count_client(c)))
    };
    if let Some(obj) = body.as_object_mut() {
        obj.insert("open_streams".into(), json!(open));
        obj.insert(
            "events_sent".into(),
            json!(state.inner.events_sent.load(Ordering::Relaxed)),
        );
        if let Some(n) = open_client {
            obj.insert("open_streams_client".into(), json!(n));
        }
    }
    Json(body).into_response()
}

/// `POST /api/metrics/reset`: zeroes counters and logs (open streams are a gauge and stay).
async fn reset_metrics(State(state): State<AppState>) -> Response {
    *state.metrics() = Metrics::default();
    state.inner.events_sent.store(0, Ordering::Relaxed);
    Json(json!({ "ok": true })).into_response()
}
