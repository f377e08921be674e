//! The three stream endpoints and the per-stream task that writes SSE bytes.
//!
//! Each accepted stream is a spawned task feeding a small channel that is the response body.
//! The task owns a [`StreamGuard`] (its registry entry), so `open_streams` drops as soon as the
//! client goes away or the stream ends.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use task_stream_protocol::{End, Heartbeat, Task, TaskEvent, TaskStatus, RESUME_QUERY_PARAM};
use tokio::sync::{broadcast, mpsc};
use tokio::time::{sleep_until, Instant, MissedTickBehavior};

use crate::api::json_error;
use crate::clock::{now_rfc3339, unix_ms};
use crate::metrics::{Attempt, Outcome};
use crate::sse::event_frame;
use crate::world::{LogEntry, Start};
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
    /// Write these bytes as they are.
    Inject(Bytes),
    /// Send `end` with this reason, then close cleanly.
    End(String),
}

#[derive(Debug)]
struct Entry {
    client: Option<String>,
    kind: StreamKind,
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

/// What the request asked for, as far as admission and metrics care.
struct Request {
    path: String,
    client: Option<String>,
    resume_raw: Option<String>,
}

impl Request {
    fn record(&self, state: &AppState, outcome: Outcome) {
        state.metrics().record(Attempt {
            at_ms: unix_ms(),
            path: self.path.clone(),
            client: self.client.clone(),
            last_event_id: self
                .resume_raw
                .as_deref()
                .map(|s| task_stream_protocol::truncate_for_display(s, 64)),
            outcome,
        });
    }
}

/// The resume id: the `Last-Event-ID` header if present and non-empty, else the
/// `lastEventId` query parameter. The header wins because a browser's automatic reconnect sends
/// the newest id it saw there, while a query parameter baked into the URL may be older.
fn resume_token(headers: &HeaderMap, query: &HashMap<String, String>) -> Option<String> {
    let header = headers.get("last-event-id").map(|v| {
        v.to_str()
            .map(str::to_owned)
            .unwrap_or_else(|_| String::from_utf8_lossy(v.as_bytes()).into_owned())
    });
    header
        .filter(|h| !h.trim().is_empty())
        .or_else(|| query.get(RESUME_QUERY_PARAM).cloned())
}

/// Validates the `client` tag and builds the [`Request`]; a bad tag is a recorded 400.
fn request(
    state: &AppState,
    path: String,
    headers: &HeaderMap,
    query: &Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<(Request, HashMap<String, String>), Response> {
    let query = match query {
        Ok(Query(q)) => q.clone(),
        Err(e) => {
            let req = Request {
                path,
                client: None,
                resume_raw: headers
                    .get("last-event-id")
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            };
            req.record(state, Outcome::BadRequest);
            return Err(json_error(StatusCode::BAD_REQUEST, e.body_text()));
        }
    };
    let req = Request {
        path,
        client: query.get("client").cloned(),
        resume_raw: resume_token(headers, &query),
    };
    if req
        .client
        .as_deref()
        .is_some_and(|c| c.chars().count() > MAX_CLIENT_TAG)
    {
        req.record(state, Outcome::BadRequest);
        return Err(json_error(
            StatusCode::BAD_REQUEST,
            format!("client tag longer than {MAX_CLIENT_TAG} characters"),
        ));
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

/// Outage, then max-streams, then flap; records the attempt either way.
fn admit(state: &AppState, req: &Request, kind: StreamKind) -> Result<Admitted, Response> {
    let now = Instant::now();
    let client = req.client.as_deref();
    let (outage, flap) = {
        let faults = state.faults();
        (
            faults.outage(now, client),
            faults.flap_after_ms(now, client),
        )
    };
    if let Some(retry_after) = outage {
        req.record(state, Outcome::Outage);
        return Err(unavailable(
            retry_after,
            "service unavailable (injected outage)".into(),
        ));
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let id = {
        // Check and insert under one lock so concurrent requests cannot overshoot the limit.
        let mut reg = state.registry();
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

/// `GET /api/events`.
pub async fn global_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (req, _) = match request(&state, "/api/events".into(), &headers, &query) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    open(state, req, None)
}

/// `GET /api/missions/{id}/events`.
pub async fn mission_events(
    State(state): State<AppState>,
    Path(mission): Path<String>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let path = format!("/api/missions/{mission}/events");
    let (req, _) = match request(&state, path, &headers, &query) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
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
    let mut pending = VecDeque::new();
    let last = match conn.start {
        Start::Snapshot { frame, head } => {
            state.metrics().snapshots += 1;
            pending.push_back(frame);
            head
        }
        Start::Replay { frames, last } => {
            state.metrics().resumes += 1;
            pending.extend(frames);
            last
        }
    };
    let mut ending = false;
    if mission.is_some() && conn.mission_complete {
        pending.push_back(end_frame("mission complete"));
        ending = true;
    }
    let (tx, rx) = mpsc::channel(BODY_CHANNEL);
    let task = StreamTask {
        state: state.clone(),
        tx,
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

/// One global or mission stream.
struct StreamTask {
    state: AppState,
    tx: mpsc::Sender<io::Result<Bytes>>,
    client: Option<String>,
    mission: Option<Arc<str>>,
    /// Frames waiting to be written (held back while a stall covers this stream).
    pending: VecDeque<Bytes>,
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
                    if !self.write(frame).await {
                        return;
                    }
                }
                if self.ending {
                    return;
                }
            }
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                _ = self.tx.closed() => return,
                ctrl = control.recv(), if control_open => match ctrl {
                    Some(Control::Drop) => return self.abort().await,
                    Some(Control::Inject(bytes)) => self.pending.push_back(bytes),
                    Some(Control::End(reason)) => {
                        self.pending.push_back(end_frame(&reason));
                        self.ending = true;
                    }
                    None => control_open = false,
                },
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
                    self.pending.push_back(event_frame(&ev, None));
                },
            }
        }
    }

    fn relay(&mut self, entry: &LogEntry) {
        if entry.id <= self.last {
            return;
        }
        self.last = entry.id;
        match &self.mission {
            None => self.pending.push_back(entry.frame.clone()),
            Some(m) if entry.mission.as_deref() == Some(&**m) => {
                self.pending.push_back(entry.frame.clone());
                if entry.completes_mission {
                    self.pending.push_back(end_frame("mission complete"));
                    self.ending = true;
                }
            }
            Some(_) => {}
        }
    }

    /// Writes one frame; `false` when the stream must stop (client gone or shutting down).
    async fn write(&self, frame: Bytes) -> bool {
        let ok = tokio::select! {
            biased;
            _ = self.state.inner.shutdown.cancelled() => false,
            r = self.tx.send(Ok(frame)) => r.is_ok(),
        };
        if ok {
            self.state.inner.events_sent.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    /// Ends the body with an error: hyper then closes the connection without the final chunk.
    async fn abort(self) {
        abort(&self.tx).await;
    }
}

async fn abort(tx: &mpsc::Sender<io::Result<Bytes>>) {
    let err = io::Error::new(io::ErrorKind::ConnectionAborted, "stream dropped");
    // Bounded wait: a client that reads nothing cannot keep the task alive.
    let _ = tokio::time::timeout(Duration::from_secs(1), tx.send(Err(err))).await;
}

/// `GET /api/firehose?n=N`: N `task` events with private ids 1..=N, then `end`.
pub async fn firehose(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (req, q) = match request(&state, "/api/firehose".into(), &headers, &query) {
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
        req.record(&state, Outcome::BadRequest);
        return json_error(
            StatusCode::BAD_REQUEST,
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
                req.record(&state, Outcome::BadRequest);
                return json_error(
                    StatusCode::BAD_REQUEST,
                    format!("rate must be an integer from 1 to {FIREHOSE_MAX} (events per second)"),
                );
            }
        },
    };
    let admitted = match admit(&state, &req, StreamKind::Firehose) {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    let (tx, rx) = mpsc::channel(BODY_CHANNEL);
    tokio::spawn(run_firehose(state, tx, admitted, n, rate));
    sse_response(rx)
}

async fn run_firehose(
    state: AppState,
    tx: mpsc::Sender<io::Result<Bytes>>,
    admitted: Admitted,
    n: u64,
    rate: Option<u64>,
) {
    let started = tokio::time::Instant::now();
    let Admitted {
        guard: _guard,
        mut control,
        ..
    } = admitted;
    let shutdown = state.inner.shutdown.clone();
    let mut control_open = true;
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
        let until = (next + FIREHOSE_BATCH - 1).min(n);
        let updated_at = now_rfc3339();
        let mut chunk = Vec::with_capacity(FIREHOSE_BATCH as usize * 200);
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
        let chunk = Bytes::from(chunk);
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                ctrl = control.recv(), if control_open => match ctrl {
                    Some(Control::Drop) => return abort(&tx).await,
                    // Injected events and `end` are for the global and mission streams only.
                    Some(_) => {}
                    None => control_open = false,
                },
                r = tx.send(Ok(chunk.clone())) => {
                    if r.is_err() {
                        return;
                    }
                    state.inner.events_sent.fetch_add(count, Ordering::Relaxed);
                    break;
                }
            }
        }
        if let Some(rate) = rate {
            // Pace: event `next - 1` is due at started + (next - 1) / rate.
            let due = started + Duration::from_secs_f64((next - 1) as f64 / rate as f64);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(due) => {}
            }
        }
    }
    if tx.send(Ok(end_frame("firehose complete"))).await.is_ok() {
        state.inner.events_sent.fetch_add(1, Ordering::Relaxed);
    }
}
