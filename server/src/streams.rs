//! The three stream endpoints and the per-stream task that writes SSE bytes.
//!
//! Each accepted stream is a spawned task feeding a small channel that is the response body
//! (through a [`BodyWriter`], which applies `?chunking=` and `?bom=`). The task owns a
//! [`StreamGuard`] (its registry entry), so `open_streams` drops as soon as the client goes away
//! or the stream ends.
//!
//! Every stream endpoint answers GET and POST alike. A request is checked in this order: the
//! query and the body (400, or 413 beyond the body limit), the bearer token when `?auth=bearer`
//! (401/403), the mission (404), the injected faults (outage 503 or reject, the most recently
//! created matching window winning), `--max-streams` (503); then the stream opens.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use task_stream_protocol::{End, Heartbeat, Task, TaskEvent, TaskStatus, RESUME_QUERY_PARAM};
use tokio::sync::{broadcast, mpsc};
use tokio::time::{sleep_until, Instant, MissedTickBehavior};

use crate::api::json_error;
use crate::auth::{self, Denied};
use crate::clock::{now_rfc3339, unix_ms};
use crate::faults::{Refusal, Reject};
use crate::metrics::{Attempt, Outcome};
use crate::sse::event_frame;
use crate::world::{LogEntry, Start, BROADCAST_CAPACITY};
use crate::writer::{BodyWriter, Chunking, Frame};
use crate::AppState;

/// Longest accepted `client` tag, in characters.
pub const MAX_CLIENT_TAG: usize = 64;
/// Upper bound of `GET /api/firehose?n=`.
pub const FIREHOSE_MAX: u64 = 1_000_000;
/// `n` when the firehose query omits it.
pub const FIREHOSE_DEFAULT: u64 = 100_000;
/// Body chunks buffered per stream before the writer waits for the socket.
const BODY_CHANNEL: usize = 16;
/// Firehose events per body chunk: big writes make "as fast as possible" fast.
const FIREHOSE_BATCH: u64 = 256;
/// `Retry-After` for `max_streams` refusals.
const MAX_STREAMS_RETRY_AFTER: u64 = 1;
/// Longest accepted `?retry=` value (ASCII digits).
pub const MAX_RETRY_DIGITS: usize = 20;
/// Characters of the bearer token and of a POST body kept in `attempt_log`.
const LOGGED_CHARS: usize = 64;
/// Body of an injected answer whose `content_type` mentions `html`.
const INJECTED_HTML: &str = "<!doctype html><title>login</title>";
/// Body of an injected answer with any other `content_type`.
const INJECTED_TEXT: &str = "not an event stream";

/// Which endpoint a stream came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// `/api/events`.
    Global,
    /// `/api/missions/{id}/events`.
    Mission,
    /// `/api/firehose`.
    Firehose,
}

/// Out-of-band orders from the chaos endpoints to one stream.
#[derive(Debug)]
pub enum Control {
    /// Close the body abruptly (no terminating chunk), like a network failure.
    Drop,
    /// Write this (an injected event, or raw bytes as they are).
    Inject(Frame),
    /// Send `end` with this reason, then close cleanly.
    End(String),
}

#[derive(Debug)]
struct Entry {
    client: Option<String>,
    kind: StreamKind,
    /// The bearer token a `?auth=bearer` stream was opened with.
    token: Option<String>,
    control: mpsc::UnboundedSender<Control>,
}

/// Open streams.
#[derive(Debug, Default)]
pub struct Registry {
    next_id: u64,
    streams: HashMap<u64, Entry>,
}

impl Registry {
    /// Number of open streams.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// Open streams with this tag.
    pub fn count_client(&self, client: &str) -> usize {
        self.streams
            .values()
            .filter(|e| e.client.as_deref() == Some(client))
            .count()
    }

    /// Sends `make()` to every open stream that `filter` selects; returns how many got it.
    pub fn broadcast(
        &self,
        filter: impl Fn(Option<&str>, StreamKind) -> bool,
        make: impl Fn() -> Control,
    ) -> usize {
        self.streams
            .values()
            .filter(|e| filter(e.client.as_deref(), e.kind))
            .filter(|e| e.control.send(make()).is_ok())
            .count()
    }

    /// Drops abruptly every open stream opened with `token`; returns how many.
    pub fn drop_token(&self, token: &str) -> usize {
        self.streams
            .values()
            .filter(|e| e.token.as_deref() == Some(token))
            .filter(|e| e.control.send(Control::Drop).is_ok())
            .count()
    }
}

/// Removes its stream from the registry when the stream task ends, however it ends.
struct StreamGuard {
    state: AppState,
    id: u64,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.state.registry().streams.remove(&self.id);
    }
}

/// An admitted stream, before its task starts.
struct Admitted {
    guard: StreamGuard,
    control: mpsc::UnboundedReceiver<Control>,
    flap_after: Option<Duration>,
}

/// How the body of a stream is written: `?chunking=`, `?bom=`, `?retry=`.
#[derive(Debug, Clone, Default)]
struct Shape {
    chunking: Option<Chunking>,
    bom: bool,
    retry: Option<String>,
}

impl Shape {
    /// What comes before the first event: the BOM, then the `retry:` line.
    fn preamble(&self) -> impl Iterator<Item = Frame> {
        let bom = self.bom.then_some(Frame::Bom);
        let retry = self
            .retry
            .as_ref()
            .map(|r| Frame::Retry(Bytes::from(format!("retry: {r}\n\n"))));
        bom.into_iter().chain(retry)
    }
}

/// What the request asked for, as far as admission and metrics care.
struct Request {
    method: String,
    path: String,
    client: Option<String>,
    resume_raw: Option<String>,
    resume_via: Option<&'static str>,
    accept: Option<String>,
    x_headers: std::collections::BTreeMap<String, String>,
    cookies: Vec<String>,
    /// The bearer token presented, whether or not the stream asks for one.
    bearer: Option<String>,
    /// The first characters of a non-empty POST body.
    body: Option<String>,
    /// `?auth=bearer`.
    auth: bool,
    shape: Shape,
}

impl Request {
    fn record(&self, state: &AppState, outcome: Outcome) {
        self.record_status(state, outcome, outcome.status());
    }

    fn record_status(&self, state: &AppState, outcome: Outcome, status: u16) {
        state.metrics().record(Attempt {
            at_ms: unix_ms(),
            method: self.method.clone(),
            // Cut like every other logged field: a request may carry a path or `client` of
            // tens of kilobytes (a refused one is logged too), and the log keeps 10,000 entries.
            path: task_stream_protocol::truncate_for_display(&self.path, 2 * LOGGED_CHARS),
            client: self
                .client
                .as_deref()
                .map(|c| task_stream_protocol::truncate_for_display(c, LOGGED_CHARS)),
            last_event_id: self
                .resume_raw
                .as_deref()
                .map(|s| task_stream_protocol::truncate_for_display(s, 64)),
            resume_via: self.resume_via,
            accept: self.accept.clone(),
            x_headers: self.x_headers.clone(),
            cookies: self.cookies.clone(),
            auth: self
                .bearer
                .as_deref()
                .map(|t| t.chars().take(LOGGED_CHARS).collect()),
            body: self.body.clone(),
            outcome,
            status,
        });
    }

    /// A recorded 400.
    fn bad(&self, state: &AppState, message: impl Into<String>) -> Response {
        self.record(state, Outcome::BadRequest);
        json_error(StatusCode::BAD_REQUEST, message)
    }

    /// Refuses with 401/403 unless `?auth=bearer` is absent or a valid read token came with it.
    fn authorize(&self, state: &AppState) -> Result<(), Response> {
        if !self.auth {
            return Ok(());
        }
        let checked = auth::check(&state.tokens(), self.bearer.as_deref());
        checked.map_err(|denied| self.deny(state, denied))
    }

    fn deny(&self, state: &AppState, denied: Denied) -> Response {
        let outcome = match denied {
            Denied::Forbidden => Outcome::Forbidden,
            Denied::Missing | Denied::Invalid => Outcome::Unauthorized,
        };
        self.record(state, outcome);
        denied.response()
    }
}

/// The resume id: the `Last-Event-ID` header if present and non-empty, else the
/// `lastEventId` query parameter. The header wins because a browser's automatic reconnect sends
/// the newest id it saw there, while a query parameter baked into the URL may be older.
/// The resume id and where it came from (`"header"` or `"query"`).
fn resume_token(
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Option<(String, &'static str)> {
    let header = headers.get("last-event-id").map(|v| {
        v.to_str()
            .map(str::to_owned)
            .unwrap_or_else(|_| String::from_utf8_lossy(v.as_bytes()).into_owned())
    });
    header
        .filter(|h| !h.trim().is_empty())
        .map(|h| (h, "header"))
        .or_else(|| query.get(RESUME_QUERY_PARAM).map(|q| (q.clone(), "query")))
}

/// The names of the cookies in the request's `Cookie` headers, for the attempt log (at most 8,
/// each cut to [`LOGGED_CHARS`]); the values are never logged.
fn cookie_names(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("cookie")
        .iter()
        .flat_map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split(';')
                .filter_map(|pair| pair.split('=').next())
                .map(|name| name.trim().to_owned())
                .filter(|name| !name.is_empty())
                .collect::<Vec<_>>()
        })
        .take(8)
        .map(|name| task_stream_protocol::truncate_for_display(&name, LOGGED_CHARS))
        .collect()
}

/// A header's value for the attempt log: lossy UTF-8, cut to [`LOGGED_CHARS`].
fn logged_header(value: &axum::http::HeaderValue) -> String {
    task_stream_protocol::truncate_for_display(
        &String::from_utf8_lossy(value.as_bytes()),
        LOGGED_CHARS,
    )
}

type QueryResult = Result<Query<HashMap<String, String>>, QueryRejection>;
type BodyResult = Result<Bytes, BytesRejection>;

/// Reads the parts every stream endpoint shares and validates them (body size, query, `client`,
/// `retry`, `chunking`, `bom`, `auth`); every refusal is a recorded attempt.
fn request(
    state: &AppState,
    method: &Method,
    path: String,
    headers: &HeaderMap,
    query: &QueryResult,
    body: &BodyResult,
) -> Result<(Request, HashMap<String, String>), Response> {
    let excerpt = match body {
        Ok(b) if *method != Method::GET && !b.is_empty() => {
            // 64 characters never take more than 256 bytes, even lossily decoded.
            let head = &b[..b.len().min(4 * LOGGED_CHARS)];
            Some(
                String::from_utf8_lossy(head)
                    .chars()
                    .take(LOGGED_CHARS)
                    .collect(),
            )
        }
        _ => None,
    };
    let mut req = Request {
        method: method.as_str().to_owned(),
        path,
        client: None,
        resume_raw: headers
            .get("last-event-id")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        resume_via: None,
        accept: headers.get("accept").map(logged_header),
        x_headers: headers
            .iter()
            .filter(|(name, _)| name.as_str().starts_with("x-"))
            .take(8)
            .map(|(name, value)| (name.as_str().to_owned(), logged_header(value)))
            .collect(),
        cookies: cookie_names(headers),
        bearer: auth::bearer(headers),
        body: excerpt,
        auth: false,
        shape: Shape::default(),
    };
    let query = match query {
        Ok(Query(q)) => q.clone(),
        Err(e) => {
            req.record(state, Outcome::BadRequest);
            return Err(json_error(StatusCode::BAD_REQUEST, e.body_text()));
        }
    };
    req.client = query.get("client").cloned();
    let resume = resume_token(headers, &query);
    req.resume_via = resume.as_ref().map(|(_, via)| *via);
    req.resume_raw = resume.map(|(id, _)| id);
    if let Err(e) = body {
        // 413 beyond the body limit (or 400 for a body that failed to arrive).
        req.record_status(state, Outcome::BadRequest, e.status().as_u16());
        return Err(json_error(e.status(), e.body_text()));
    }
    if req
        .client
        .as_deref()
        .is_some_and(|c| c.chars().count() > MAX_CLIENT_TAG)
    {
        return Err(req.bad(
            state,
            format!("client tag longer than {MAX_CLIENT_TAG} characters"),
        ));
    }
    if let Some(r) = query.get("retry") {
        if r.is_empty() || r.len() > MAX_RETRY_DIGITS || !r.bytes().all(|b| b.is_ascii_digit()) {
            return Err(req.bad(
                state,
                format!("retry must be 1 to {MAX_RETRY_DIGITS} ASCII digits (milliseconds)"),
            ));
        }
        req.shape.retry = Some(r.clone());
    }
    if let Some(c) = query.get("chunking") {
        match Chunking::parse(c) {
            Some(c) => req.shape.chunking = Some(c),
            None => return Err(req.bad(state, "chunking must be bytes, crlf or utf8")),
        }
    }
    match query.get("bom").map(String::as_str) {
        None | Some("0") => {}
        Some("1") => req.shape.bom = true,
        Some(_) => return Err(req.bad(state, "bom must be 1 or 0")),
    }
    match query.get("auth").map(String::as_str) {
        None => {}
        Some("bearer") => req.auth = true,
        Some(_) => return Err(req.bad(state, "auth must be bearer")),
    }
    Ok((req, query))
}

fn unavailable(retry_after: u64, message: String) -> Response {
    let mut resp = (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(serde_json::json!({ "error": message, "retry_after": retry_after })),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    resp
}

/// The answer of a `POST /api/chaos/reject` window.
fn injected(r: &Reject) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut resp = if matches!(r.status, 204 | 304) {
        // No body and no content type, as these statuses require.
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = status;
        resp
    } else if let Some(ct) = &r.content_type {
        let text = if ct.to_ascii_lowercase().contains("html") {
            INJECTED_HTML
        } else {
            INJECTED_TEXT
        };
        let mut resp = (status, text).into_response();
        if let Ok(v) = HeaderValue::from_bytes(ct.as_bytes()) {
            resp.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        resp
    } else {
        json_error(status, format!("injected {}", r.status))
    };
    if let Some(v) = r
        .retry_after
        .as_deref()
        .and_then(|ra| HeaderValue::from_bytes(ra.as_bytes()).ok())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// Injected faults (outage or reject), then the token again, then max-streams, then flap;
/// records the attempt either way.
fn admit(state: &AppState, req: &Request, kind: StreamKind) -> Result<Admitted, Response> {
    let now = Instant::now();
    let client = req.client.as_deref();
    let (refusal, flap) = {
        let faults = state.faults();
        (
            faults.refusal(now, client),
            faults.flap_after_ms(now, client),
        )
    };
    match refusal {
        Some(Refusal::Outage(retry_after)) => {
            req.record(state, Outcome::Outage);
            return Err(unavailable(
                retry_after,
                "service unavailable (injected outage)".into(),
            ));
        }
        Some(Refusal::Reject(r)) => {
            req.record_status(state, Outcome::Injected, r.status);
            return Err(injected(&r));
        }
        None => {}
    }
    let token = if req.auth { req.bearer.clone() } else { None };
    let (tx, rx) = mpsc::unbounded_channel();
    let id = {
        // Check and insert under one lock so concurrent requests cannot overshoot the limit.
        let mut reg = state.registry();
        // A revoke forgets the token before it drops the streams (under this lock): checking
        // again here means no stream can slip in between with a revoked token.
        if let Some(t) = &token {
            if let Err(denied) = auth::check(&state.tokens(), Some(t)) {
                drop(reg);
                return Err(req.deny(state, denied));
            }
        }
        if let Some(max) = state.config().max_streams {
            if reg.len() >= max {
                drop(reg);
                req.record(state, Outcome::MaxStreams);
                return Err(unavailable(
                    MAX_STREAMS_RETRY_AFTER,
                    format!("too many open streams (max {max})"),
                ));
            }
        }
        reg.next_id += 1;
        let id = reg.next_id;
        reg.streams.insert(
            id,
            Entry {
                client: req.client.clone(),
                kind,
                token,
                control: tx,
            },
        );
        id
    };
    req.record(
        state,
        if flap.is_some() {
            Outcome::Flap
        } else {
            Outcome::Accepted
        },
    );
    Ok(Admitted {
        guard: StreamGuard {
            state: state.clone(),
            id,
        },
        control: rx,
        flap_after: flap.map(Duration::from_millis),
    })
}

/// The 200 response whose body is fed by `rx`.
fn sse_response(mut rx: mpsc::Receiver<io::Result<Bytes>>) -> Response {
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells nginx-style proxies not to buffer the stream.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

/// `GET|POST /api/events`.
pub async fn global_events(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    query: QueryResult,
    body: BodyResult,
) -> Response {
    let path = "/api/events".to_owned();
    let (req, _) = match request(&state, &method, path, &headers, &query, &body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    if let Err(resp) = req.authorize(&state) {
        return resp;
    }
    open(state, req, None)
}

/// `GET|POST /api/missions/{id}/events`.
pub async fn mission_events(
    State(state): State<AppState>,
    method: Method,
    Path(mission): Path<String>,
    headers: HeaderMap,
    query: QueryResult,
    body: BodyResult,
) -> Response {
    let path = format!("/api/missions/{mission}/events");
    let (req, _) = match request(&state, &method, path, &headers, &query, &body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    if let Err(resp) = req.authorize(&state) {
        return resp;
    }
    if !state.world().has_mission(&mission) {
        req.record(&state, Outcome::NotFound);
        return json_error(
            StatusCode::NOT_FOUND,
            format!(
                "unknown mission {:?}",
                task_stream_protocol::truncate_for_display(&mission, 64)
            ),
        );
    }
    open(state, req, Some(Arc::from(mission.as_str())))
}

fn open(state: AppState, req: Request, mission: Option<Arc<str>>) -> Response {
    let kind = if mission.is_some() {
        StreamKind::Mission
    } else {
        StreamKind::Global
    };
    let admitted = match admit(&state, &req, kind) {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    let resume = req
        .resume_raw
        .as_deref()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let conn = state.world().connect(resume, mission.as_deref());
    let mut pending: VecDeque<Frame> = req.shape.preamble().collect();
    let last = match conn.start {
        Start::Snapshot { frame, head } => {
            state.metrics().snapshots += 1;
            pending.push_back(Frame::Event(frame));
            head
        }
        Start::Replay { frames, last } => {
            state.metrics().resumes += 1;
            pending.extend(frames.into_iter().map(Frame::Event));
            last
        }
    };
    let mut ending = false;
    if mission.is_some() && conn.mission_complete {
        pending.push_back(Frame::Event(end_frame("mission complete")));
        ending = true;
    }
    let (tx, rx) = mpsc::channel(BODY_CHANNEL);
    let task = StreamTask {
        state: state.clone(),
        out: BodyWriter::new(tx, req.shape.chunking),
        client: req.client,
        mission,
        pending,
        ending,
        last,
    };
    tokio::spawn(task.run(admitted, conn.live));
    sse_response(rx)
}

fn end_frame(reason: &str) -> Bytes {
    event_frame(
        &TaskEvent::End(End {
            reason: reason.to_owned(),
        }),
        None,
    )
}

/// How a [`StreamTask::write`] ended.
enum Written {
    /// The frame is out.
    Done,
    /// Stop: the client went away, fell too far behind, or the server shuts down.
    Stop,
    /// A chaos drop arrived while the client was not reading: abort the body.
    Dropped,
}

/// How often a blocked write checks whether its stream fell too far behind.
const LAG_CHECK: Duration = Duration::from_millis(100);

/// One global or mission stream.
struct StreamTask {
    state: AppState,
    out: BodyWriter,
    client: Option<String>,
    mission: Option<Arc<str>>,
    /// Frames waiting to be written (held back while a stall covers this stream).
    pending: VecDeque<Frame>,
    /// Close cleanly once `pending` is written.
    ending: bool,
    /// Highest id already covered by the snapshot/replay/live events sent.
    last: u64,
}

impl StreamTask {
    async fn run(mut self, admitted: Admitted, mut live: broadcast::Receiver<Arc<LogEntry>>) {
        let Admitted {
            guard: _guard,
            mut control,
            flap_after,
        } = admitted;
        let shutdown = self.state.inner.shutdown.clone();
        let mut faults = self.state.inner.fault_gen.subscribe();
        let mut faults_alive = true;
        let flap_at = flap_after.map(|d| Instant::now() + d);
        let period = self.state.config().heartbeat;
        let mut heartbeat = tokio::time::interval_at(Instant::now() + period, period);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut control_open = true;
        loop {
            faults.borrow_and_update();
            let stall = self
                .state
                .faults()
                .stall_until(Instant::now(), self.client.as_deref());
            if stall.is_none() {
                while let Some(frame) = self.pending.pop_front() {
                    match self
                        .write(frame, &mut control, &mut control_open, &live)
                        .await
                    {
                        Written::Done => {}
                        Written::Stop => return,
                        Written::Dropped => return self.abort().await,
                    }
                }
                if self.ending {
                    return;
                }
            }
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                _ = self.out.tx().closed() => return,
                ctrl = control.recv(), if control_open => {
                    if self.on_control(ctrl, &mut control_open) {
                        return self.abort().await;
                    }
                }
                _ = sleep_until(flap_at.unwrap_or_else(Instant::now)), if flap_at.is_some() => {
                    return self.abort().await;
                }
                _ = sleep_until(stall.unwrap_or_else(Instant::now)), if stall.is_some() => {}
                changed = faults.changed(), if faults_alive => faults_alive = changed.is_ok(),
                msg = live.recv(), if stall.is_none() && !self.ending => match msg {
                    Ok(entry) => self.relay(&entry),
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Skipping would lose events; closing makes the client resume exactly.
                        self.state.metrics().lagged += 1;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = heartbeat.tick() => if stall.is_none() && !self.ending {
                    let ev = TaskEvent::Heartbeat(Heartbeat { at: Some(now_rfc3339()) });
                    self.pending.push_back(Frame::Event(event_frame(&ev, None)));
                },
            }
        }
    }

    /// Applies one message of the control channel (`None`: the channel closed); `true` for a
    /// drop, which the caller carries out by aborting the body.
    fn on_control(&mut self, ctrl: Option<Control>, control_open: &mut bool) -> bool {
        match ctrl {
            Some(Control::Drop) => return true,
            Some(Control::Inject(bytes)) => self.pending.push_back(bytes),
            Some(Control::End(reason)) => {
                self.pending.push_back(Frame::Event(end_frame(&reason)));
                self.ending = true;
            }
            None => *control_open = false,
        }
        false
    }

    fn relay(&mut self, entry: &LogEntry) {
        if entry.id <= self.last {
            return;
        }
        self.last = entry.id;
        match &self.mission {
            None => self.pending.push_back(Frame::Event(entry.frame.clone())),
            Some(m) if entry.mission.as_deref() == Some(&**m) => {
                self.pending.push_back(Frame::Event(entry.frame.clone()));
                if entry.completes_mission {
                    self.pending
                        .push_back(Frame::Event(end_frame("mission complete")));
                    self.ending = true;
                }
            }
            Some(_) => {}
        }
    }

    /// Writes one frame. A client that stops reading blocks the flush, so the wait also
    /// follows the control channel (a drop closes the stream at once; injections and `end` are
    /// queued) and the live feed (falling more than [`BROADCAST_CAPACITY`] events behind
    /// closes it, counted in `lagged`, as when the stream is idle).
    async fn write(
        &mut self,
        frame: Frame,
        control: &mut mpsc::UnboundedReceiver<Control>,
        control_open: &mut bool,
        live: &broadcast::Receiver<Arc<LogEntry>>,
    ) -> Written {
        let counted = frame.is_event();
        self.out.push(frame);
        let mut lag_check = tokio::time::interval(LAG_CHECK);
        loop {
            tokio::select! {
                biased;
                _ = self.state.inner.shutdown.cancelled() => return Written::Stop,
                // Cancellation-safe: an interrupted flush resumes where it stopped.
                ok = self.out.flush() => {
                    if !ok {
                        return Written::Stop;
                    }
                    if counted {
                        self.state.inner.events_sent.fetch_add(1, Ordering::Relaxed);
                    }
                    return Written::Done;
                }
                ctrl = control.recv(), if *control_open => {
                    if self.on_control(ctrl, control_open) {
                        return Written::Dropped;
                    }
                }
                _ = lag_check.tick() => if live.len() > BROADCAST_CAPACITY {
                    self.state.metrics().lagged += 1;
                    return Written::Stop;
                },
            }
        }
    }

    /// Ends the body with an error: hyper then closes the connection without the final chunk.
    async fn abort(self) {
        abort(self.out.tx()).await;
    }
}

async fn abort(tx: &mpsc::Sender<io::Result<Bytes>>) {
    let err = io::Error::new(io::ErrorKind::ConnectionAborted, "stream dropped");
    // Bounded wait: a client that reads nothing cannot keep the task alive.
    let _ = tokio::time::timeout(Duration::from_secs(1), tx.send(Err(err))).await;
}

/// `GET|POST /api/firehose?n=N`: N `task` events with private ids 1..=N, then `end` (or, with
/// `&then=close`, the close alone).
pub async fn firehose(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    query: QueryResult,
    body: BodyResult,
) -> Response {
    let path = "/api/firehose".to_owned();
    let (req, q) = match request(&state, &method, path, &headers, &query, &body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let n = match q.get("n") {
        None => Some(FIREHOSE_DEFAULT),
        Some(s) => s
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=FIREHOSE_MAX).contains(n)),
    };
    let Some(n) = n else {
        return req.bad(
            &state,
            format!("n must be an integer from 1 to {FIREHOSE_MAX}"),
        );
    };
    // Optional pacing, events per second (for "sustained rate" measurements).
    let rate = match q.get("rate") {
        None => None,
        Some(s) => match s
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|r| (1..=FIREHOSE_MAX).contains(r))
        {
            Some(r) => Some(r),
            None => {
                return req.bad(
                    &state,
                    format!("rate must be an integer from 1 to {FIREHOSE_MAX} (events per second)"),
                );
            }
        },
    };
    // What follows the events: `end` (the default), or the close alone, which a client must
    // take as a lost connection after applying every event before it.
    let end = match q.get("then").map(|s| s.trim()) {
        None | Some("end") => FirehoseEnd::End,
        Some("close") => FirehoseEnd::Close,
        Some(_) => return req.bad(&state, "then must be end or close".to_owned()),
    };
    if let Err(resp) = req.authorize(&state) {
        return resp;
    }
    let admitted = match admit(&state, &req, StreamKind::Firehose) {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    let (tx, rx) = mpsc::channel(BODY_CHANNEL);
    tokio::spawn(run_firehose(state, tx, admitted, n, rate, req.shape, end));
    sse_response(rx)
}

/// The firehose's side of its control channel, which only ever asks it to drop the stream
/// (injected events and `end` are for the global and mission streams).
struct FirehoseControl {
    control: mpsc::UnboundedReceiver<Control>,
    open: bool,
    shutdown: tokio_util::sync::CancellationToken,
    tx: mpsc::Sender<io::Result<Bytes>>,
}

impl FirehoseControl {
    /// Awaits `work` while serving the channel. `None` when the stream must stop: on shutdown,
    /// when the client went away (a paced firehose would otherwise sleep on, counted open), or on
    /// a drop (after aborting the body).
    async fn serve<T>(&mut self, work: impl std::future::Future<Output = T>) -> Option<T> {
        tokio::pin!(work);
        loop {
            tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return None,
                _ = self.tx.closed() => return None,
                ctrl = self.control.recv(), if self.open => match ctrl {
                    Some(Control::Drop) => {
                        abort(&self.tx).await;
                        return None;
                    }
                    Some(_) => {}
                    None => self.open = false,
                },
                done = &mut work => return Some(done),
            }
        }
    }
}

/// What the firehose sends after its events.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FirehoseEnd {
    /// `end {"reason":"firehose complete"}`, then the close.
    End,
    /// Nothing: the body ends there, cleanly, as a server that lost its upstream might.
    Close,
}

async fn run_firehose(
    state: AppState,
    tx: mpsc::Sender<io::Result<Bytes>>,
    admitted: Admitted,
    n: u64,
    rate: Option<u64>,
    shape: Shape,
    end: FirehoseEnd,
) {
    let started = tokio::time::Instant::now();
    let Admitted {
        guard: _guard,
        control,
        ..
    } = admitted;
    // A chunking applies per event frame, so each event is then its own frame.
    let batch = if shape.chunking.is_some() {
        1
    } else {
        FIREHOSE_BATCH
    };
    let mut ctl = FirehoseControl {
        control,
        open: true,
        shutdown: state.inner.shutdown.clone(),
        tx: tx.clone(),
    };
    let mut out = BodyWriter::new(tx, shape.chunking);
    for frame in shape.preamble() {
        out.push(frame);
    }
    // One reusable task per firehose slot: only version, progress and time change, so each
    // event is serialised straight into the chunk without fresh allocations.
    let mut slots: Vec<Task> = (0..1000)
        .map(|k| Task {
            id: format!("f-{k}"),
            title: format!("Firehose task {k}"),
            status: TaskStatus::Running,
            agent: "firehose".into(),
            progress: None,
            version: 0,
            updated_at: String::new(),
        })
        .collect();
    let mut next = 1u64;
    while next <= n {
        let until = (next + batch - 1).min(n);
        let updated_at = now_rfc3339();
        let mut chunk = Vec::with_capacity(batch as usize * 200);
        for i in next..=until {
            let round = (i - 1) / 1000;
            let Some(task) = slots.get_mut(((i - 1) % 1000) as usize) else {
                continue;
            };
            task.version = round + 1;
            task.progress = Some((round % 100) as f64 / 100.0);
            if task.updated_at != updated_at {
                task.updated_at.clone_from(&updated_at);
            }
            // serde_json output never contains a raw newline, so one `data:` line is exact.
            chunk.extend_from_slice(format!("id: {i}\nevent: task\ndata: ").as_bytes());
            if serde_json::to_writer(&mut chunk, &*task).is_err() {
                chunk.extend_from_slice(b"{}");
            }
            chunk.extend_from_slice(b"\n\n");
        }
        let count = until - next + 1;
        next = until + 1;
        out.push(Frame::Event(Bytes::from(chunk)));
        // Cancellation-safe: an interrupted flush resumes where it stopped.
        if ctl.serve(out.flush()).await != Some(true) {
            return;
        }
        state.inner.events_sent.fetch_add(count, Ordering::Relaxed);
        if let Some(rate) = rate {
            // Pace: event `next - 1` is due at started + (next - 1) / rate. A drop (chaos or a
            // revoked token) does not wait for the pacing.
            let due = started + Duration::from_secs_f64((next - 1) as f64 / rate as f64);
            if ctl.serve(sleep_until(due)).await.is_none() {
                return;
            }
        }
    }
    if end == FirehoseEnd::Close {
        // Dropping the sender ends the body cleanly, after everything queued before.
        return;
    }
    out.push(Frame::Event(end_frame("firehose complete")));
    if out.flush().await {
        state.inner.events_sent.fetch_add(1, Ordering::Relaxed);
    }
}
