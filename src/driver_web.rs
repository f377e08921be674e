//! The browser driver: executes the state machine's commands with `EventSource` or `fetch`,
//! `gloo-timers` and window events, and writes the hook's signals.
//!
//! Ownership rules (see `shared/PITFALLS.md` for the faults they avoid):
//! * every JS closure is owned by the connection or listener it belongs to and dropped with it —
//!   never `forget()`-ed; drops that could happen inside the closure's own invocation are
//!   deferred to a microtask;
//! * the browser's own 3 s retry never runs: on `error` the `EventSource` is closed at once;
//! * an `EventSource`'s events reach wasm in batches (see [`crate::es_batch`]), in the order
//!   the browser dispatched them, its `open` and `error` included;
//! * a fetch is aborted (`AbortController`) when its connection closes; its reading task holds
//!   only a weak reference to the driver and stops at the next chunk once it is not current;
//! * exactly one path schedules a reconnect (the machine), with at most one timer pending;
//! * cleanup is registered on the hook's owner, and after it nothing touches a signal.
//!
//! Problems go to the `last_error` and `status` signals, typed. They are also logged to the
//! console in debug builds only (`debug_warn!`): formatting them in release builds would link
//! every error text into every app, whether or not it shows them.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use std::time::Duration;

use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, EventSource, EventSourceInit, Headers, ReadableStream,
    ReadableStreamDefaultReader, Request, RequestCache, RequestCredentials, RequestInit, Response,
};

use super::{Deliver, Signals};
use crate::backoff::JitterRng;
use crate::error::{StreamError, StreamStats};
use crate::es_batch::Record;
use crate::machine::{Command, ConnId, ConnectionMachine, Input, RefreshId, TimerId};
use crate::options::EventStreamOptions;
use crate::sse::{SseError, SseItem, SseParser, MAX_EVENT_ID_BYTES};
use crate::transport::{FetchOptions, Transport};

/// A handle that feeds inputs to a running driver (weak: it never keeps the driver alive).
#[derive(Clone)]
pub(crate) struct Control(Weak<Driver>);

impl Control {
    pub fn send(&self, input: Input) {
        if let Some(d) = self.0.upgrade() {
            d.dispatch(input);
        }
    }
}

/// The entry point of the fetch transport, held by every [`FetchOptions`] (its `Default` sets
/// it). The driver reaches the fetch code only through it, so an app that never builds a
/// `FetchOptions` does not link that code (the fetch driver, the SSE parser, the HTTP header
/// parsers): the linker drops what nothing points to.
#[derive(Clone, Copy)]
pub(crate) struct FetchOpen(fn(&Driver, ConnId, Option<&str>, &FetchOptions) -> Option<Handle>);

impl Default for FetchOpen {
    fn default() -> Self {
        FetchOpen(open_fetch)
    }
}

/// Every closure the driver hands the browser: one type, since each costs code in every app.
/// Only the `EventSource` batch sink's result means something (see [`lts_listen`]).
type Listener = Closure<dyn FnMut(JsValue) -> bool>;

#[wasm_bindgen::prelude::wasm_bindgen(
    inline_js = r#"export function lts_listen(src, names, max, sink) {
let b = "", live = 1, more = false;
const ch = new MessageChannel(), ls = [];
const flush = () => { if (live && (b || more)) { const x = b; b = ""; more = sink(x); if (more) ch.port2.postMessage(0); } };
const on = (n, f) => { src.addEventListener(n, f); ls.push([n, f]); };
const own = (k) => (e) => { if (!(e instanceof MessageEvent)) { if (k === "e") src.close(); b += k + "\r"; flush(); } };
const msg = (e) => { if (e instanceof MessageEvent) { if (!b && !more) ch.port2.postMessage(0); const d = e.data; b += (d.length > max ? "x" + e.type + "\r" + e.lastEventId + "\r" + new Blob([d]).size : "m" + e.type + "\r" + e.lastEventId + "\r" + d) + "\r"; } };
ch.port1.onmessage = flush;
on("open", own("o"));
on("error", own("e"));
if (names) for (const n of names.split("\r")) on(n, msg);
return () => { live = 0; b = ""; ch.port1.onmessage = null; ch.port1.close(); for (const [n, f] of ls) src.removeEventListener(n, f); };
}
export function lts_yield() {
return new Promise((r) => { const ch = new MessageChannel(); ch.port1.onmessage = () => { ch.port1.close(); r(); }; ch.port2.postMessage(0); });
}"#
)]
extern "C" {
    /// Listens to `source`'s `open` and `error` and to the events named in `names` (joined by
    /// CR, see [`crate::es_batch::joined_names`]), handing them to `sink` in batches (see
    /// [`crate::es_batch`]): the events of one browser task in one call, on a posted message;
    /// `open` and `error` at once, after the events before them. While `sink` returns `true`
    /// (it has records left to apply), it is called again on a posted message, with the events
    /// that arrived meanwhile or with an empty batch. An event whose data has more than `max`
    /// UTF-16 code units is handed over without its data, as its UTF-8 size. On `error` the
    /// listener also closes the
    /// `EventSource` at once, so that the browser's own retry never starts, even while the
    /// driver is still applying what came before. Returns the function that removes the
    /// listeners and discards what was not handed over.
    fn lts_listen(
        source: &EventSource,
        names: &str,
        max: f64,
        sink: &js_sys::Function,
    ) -> js_sys::Function;

    /// A promise resolved by a posted message: awaiting it ends the current browser task and
    /// lets the page render and handle input. Unlike a 0 ms timer, it is not throttled in a
    /// background tab.
    fn lts_yield() -> js_sys::Promise;
}

/// How long the driver applies events before it yields to the page: the fetch reader between
/// chunks (see [`lts_yield`]), an `EventSource` batch between records (see [`lts_listen`]).
const SLICE: Duration = Duration::from_millis(10);

/// Records of an `EventSource` batch applied between two looks at the clock.
const RECORDS_PER_CLOCK_READ: u32 = 32;

/// One open transport.
struct Connection {
    id: ConnId,
    handle: Handle,
}

pub(crate) enum Handle {
    /// An `EventSource`, the function that removes its listeners, and the closure they hand
    /// their batches to.
    EventSource {
        source: EventSource,
        stop: js_sys::Function,
        _sink: Listener,
    },
    /// A fetch whose reading task runs on its own (see [`read_fetch`]); aborting it ends both.
    Fetch { abort: AbortController },
}

impl Connection {
    fn close(self) {
        match &self.handle {
            Handle::EventSource { source, stop, .. } => {
                source.close();
                let _ = stop.call0(&JsValue::NULL);
            }
            Handle::Fetch { abort } => abort.abort(),
        }
        defer_drop(self);
    }
}

/// A browser exception as text.
fn js_message(e: &JsValue) -> Option<String> {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
}

/// A listener registered on `window` or `document`.
struct WindowListener {
    target: web_sys::EventTarget,
    name: &'static str,
    callback: Listener,
}

impl Drop for WindowListener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.name, self.callback.as_ref().unchecked_ref());
    }
}

/// Drops `value` on a later microtask, so that a closure is never freed while it is running.
///
/// Boxed, so that `spawn_local` is compiled once rather than once per type dropped.
fn defer_drop<T: 'static>(value: T) {
    defer_drop_boxed(Box::new(value));
}

fn defer_drop_boxed(value: Box<dyn std::any::Any>) {
    wasm_bindgen_futures::spawn_local(async move {
        drop(value);
    });
}

struct State {
    machine: ConnectionMachine,
    conn: Option<Connection>,
    retry: Option<(TimerId, Timeout)>,
    stale: Option<(TimerId, Timeout)>,
}

pub(crate) struct Driver {
    this: Weak<Driver>,
    url: String,
    options: EventStreamOptions,
    /// [`listened_names`] of the options, computed once: the fetch transport checks every event
    /// against them.
    names: Vec<String>,
    deliver: Deliver,
    signals: Signals,
    state: RefCell<State>,
    window_listeners: RefCell<Vec<WindowListener>>,
    queue: RefCell<VecDeque<Input>>,
    busy: Cell<bool>,
    disposed: Cell<bool>,
    frame_scheduled: Cell<bool>,
    stats_dirty: Cell<bool>,
    id_dirty: Cell<bool>,
    /// The connection that has carried a non-empty event id, if the current one has.
    id_seen_on: Cell<Option<ConnId>>,
    /// The connection and length of the last over-long `EventSource` id reported: the browser
    /// repeats it on every later event until the server sends another id.
    long_id_reported: Cell<Option<(ConnId, usize)>>,
}

/// Every event name delivered: the configured ones, the heartbeat and the end event. A
/// handful of names: a linear de-duplication (a sort would add code to every app).
fn listened_names(options: &EventStreamOptions) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in options
        .events
        .iter()
        .chain(&options.heartbeat_event)
        .chain(&options.end_event)
    {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

fn random_seed() -> u64 {
    let hi = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    let lo = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    (hi << 32) ^ lo
}

fn navigator_online() -> bool {
    web_sys::window()
        .map(|w| w.navigator().on_line())
        .unwrap_or(true)
}

fn document_hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .map(|d| d.hidden())
        .unwrap_or(false)
}

pub(crate) fn start(
    url: String,
    options: EventStreamOptions,
    deliver: Deliver,
    signals: Signals,
) -> Option<Control> {
    let machine = match ConnectionMachine::new(
        super::machine_config(&options),
        JitterRng::from_seed(random_seed()),
    ) {
        Ok(m) => m.with_online(navigator_online()),
        Err(e) => {
            leptos::logging::debug_warn!("leptos-task-stream: {e}; not connecting to {url}");
            signals.misconfigured(e);
            return None;
        }
    };
    let immediate = options.immediate;
    let pause_when_hidden = options.pause_when_hidden;
    let driver: Rc<Driver> = Rc::new_cyclic(|this| Driver {
        this: this.clone(),
        url,
        names: listened_names(&options),
        options,
        deliver,
        signals,
        state: RefCell::new(State {
            machine,
            conn: None,
            retry: None,
            stale: None,
        }),
        window_listeners: RefCell::new(Vec::new()),
        queue: RefCell::new(VecDeque::new()),
        busy: Cell::new(false),
        disposed: Cell::new(false),
        frame_scheduled: Cell::new(false),
        stats_dirty: Cell::new(false),
        id_dirty: Cell::new(false),
        id_seen_on: Cell::new(None),
        long_id_reported: Cell::new(None),
    });
    // Started on a microtask, after the pass that creates the hook: while a server-rendered
    // page hydrates, the view must render what the server rendered (`Connecting…`, see
    // `use_stream_with`); an `Offline` or `Paused` published during that pass would leave the
    // server's text in place or break hydration. Then the status changes like any other.
    let kick_off = driver.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let driver = kick_off;
        if driver.disposed.get() {
            return;
        }
        driver.listen_to_window(pause_when_hidden);
        if pause_when_hidden && document_hidden() {
            driver.dispatch(Input::Hidden);
        }
        if immediate {
            driver.dispatch(Input::Open);
        }
    });
    // Cleanup runs on the hook's owner: unmounting closes the connection and cancels timers.
    if Owner::current().is_none() {
        leptos::logging::debug_warn!(
            "leptos-task-stream: use_event_stream called outside a reactive owner; the stream \
             closes immediately. Call it inside a component."
        );
    }
    let keep = SendWrapper::new(driver.clone());
    on_cleanup(move || keep.take().dispose());
    Some(Control(Rc::downgrade(&driver)))
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Without an owner (or if cleanup never ran), still close the EventSource: an unclosed
        // one would keep reconnecting on the browser's own 3 s schedule.
        self.dispose();
    }
}

impl Driver {
    fn dispatch(&self, input: Input) {
        if self.disposed.get() {
            return;
        }
        self.queue.borrow_mut().push_back(input);
        // Re-entrant calls (a command whose execution produces another input, or a user
        // callback calling `close()`) are queued and drained by the outer call, in order.
        if self.busy.replace(true) {
            return;
        }
        loop {
            let next = self.queue.borrow_mut().pop_front();
            let Some(input) = next else { break };
            if self.disposed.get() {
                break;
            }
            let commands = self
                .state
                .borrow_mut()
                .machine
                .handle(crate::clock::now(), input);
            for command in commands {
                self.execute(command);
            }
        }
        self.busy.set(false);
    }

    fn weak(&self) -> Weak<Driver> {
        self.this.clone()
    }

    fn execute(&self, command: Command) {
        match command {
            Command::OpenTransport {
                conn,
                last_event_id,
                ..
            } => self.open(conn, last_event_id),
            Command::CloseTransport { conn } => {
                let taken = {
                    let mut st = self.state.borrow_mut();
                    if st.conn.as_ref().map(|c| c.id) == Some(conn) {
                        st.conn.take()
                    } else {
                        None
                    }
                };
                if let Some(c) = taken {
                    c.close();
                }
            }
            Command::StartRetryTimer { timer, delay } => {
                let t = self.timer(delay, timer, true);
                let old = self.state.borrow_mut().retry.replace((timer, t));
                drop(old);
            }
            Command::CancelRetryTimer { timer } => {
                let mut st = self.state.borrow_mut();
                if st.retry.as_ref().map(|t| t.0) == Some(timer) {
                    st.retry = None;
                }
            }
            Command::StartStaleTimer { timer, delay } => {
                let t = self.timer(delay, timer, false);
                let old = self.state.borrow_mut().stale.replace((timer, t));
                drop(old);
            }
            Command::CancelStaleTimer { timer } => {
                let mut st = self.state.borrow_mut();
                if st.stale.as_ref().map(|t| t.0) == Some(timer) {
                    st.stale = None;
                }
            }
            Command::RefreshCredentials { refresh } => self.refresh_credentials(refresh),
            Command::PublishStatus(status) => {
                leptos::logging::debug_warn!("leptos-task-stream: {} -> {}", self.url, status);
                self.signals.status.set(status);
            }
            Command::ReportError(e) => {
                leptos::logging::debug_warn!("leptos-task-stream: {}: {e}", self.url);
                self.signals
                    .last_error
                    .set(Some(StreamError::Connection(e)));
            }
            // `Command` is non-exhaustive for users; this driver handles every variant above.
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    /// A retry (`retry`) or stale timer that feeds its firing back to the machine. Not generic
    /// over a callback: one timer closure type per app.
    fn timer(&self, delay: Duration, timer: TimerId, retry: bool) -> Timeout {
        let weak = self.weak();
        // gloo hands `setTimeout` a signed 32-bit count: anything larger would fire at once.
        // (The machine refuses delays over 24 h; this only keeps a bug from becoming a storm.)
        let ms =
            u32::try_from(delay.as_millis()).map_or(i32::MAX as u32, |ms| ms.min(i32::MAX as u32));
        Timeout::new(ms, move || {
            if let Some(d) = weak.upgrade() {
                d.timer_fired(timer, retry);
            }
        })
    }

    fn timer_fired(&self, timer: TimerId, retry: bool) {
        // Take the fired timer out of its slot; it is dropped later, not inside its own callback.
        let fired = {
            let mut st = self.state.borrow_mut();
            let slot = if retry { &mut st.retry } else { &mut st.stale };
            if slot.as_ref().map(|t| t.0) == Some(timer) {
                slot.take()
            } else {
                None
            }
        };
        if let Some((_, t)) = fired {
            defer_drop(t);
        }
        self.dispatch(if retry {
            Input::RetryTimerFired { timer }
        } else {
            Input::StaleTimerFired { timer }
        });
    }

    /// Counts into the stats signal at once (untracked reads are current); subscribers hear of
    /// it at most once per animation frame.
    ///
    /// A plain function, not a generic closure: one copy of the signal update per app.
    fn update_stats(&self, f: fn(&mut StreamStats)) {
        self.signals.stats.update_untracked(f);
        self.publish_next_frame(true, false);
    }

    /// Notifies the subscribers of the stats and last-event-id signals, whose values were
    /// updated untracked, before the next frame: at 100,000 events/s a notification per event
    /// would re-run every dependent view on every event.
    fn publish_next_frame(&self, stats: bool, id: bool) {
        if stats {
            self.stats_dirty.set(true);
        }
        if id {
            self.id_dirty.set(true);
        }
        if self.frame_scheduled.replace(true) {
            return;
        }
        let weak = self.weak();
        crate::frame::on_next_frame(move || {
            let Some(d) = weak.upgrade() else { return };
            d.frame_scheduled.set(false);
            if d.disposed.get() {
                return;
            }
            if d.stats_dirty.replace(false) {
                d.signals.stats.notify();
            }
            if d.id_dirty.replace(false) {
                d.signals.last_event_id.notify();
            }
        });
    }

    fn open(&self, conn: ConnId, last_event_id: Option<String>) {
        let handle = match &self.options.transport {
            Transport::Fetch(fetch) => (fetch.open.0)(self, conn, last_event_id.as_deref(), fetch),
            _ => self.open_event_source(conn, last_event_id.as_deref()),
        };
        let Some(handle) = handle else { return };
        let previous = self
            .state
            .borrow_mut()
            .conn
            .replace(Connection { id: conn, handle });
        if let Some(p) = previous {
            // Unreachable by the machine's invariant (it closes before it opens); kept safe.
            p.close();
        }
        self.update_stats(|s| {
            s.connects += 1;
            if s.connects > 1 {
                s.reconnects += 1;
            }
        });
        if last_event_id.is_some() && self.options.resume.is_some() {
            self.update_stats(|s| {
                if s.connects > 1 {
                    s.resumes += 1;
                }
            });
        }
    }

    /// The browser refused to create the transport: report it and stop (retrying the same
    /// request cannot succeed; `reconnect()` tries again).
    fn refused(&self, conn: ConnId, url: String, message: String) {
        leptos::logging::debug_warn!("leptos-task-stream: cannot open {url}: {message}");
        self.signals.last_error.set(Some(StreamError::InvalidUrl {
            url,
            message: message.clone(),
        }));
        self.dispatch(Input::TransportRefused { conn, message });
    }

    fn open_event_source(&self, conn: ConnId, last_event_id: Option<&str>) -> Option<Handle> {
        let url = match (&self.options.resume, last_event_id) {
            (Some(param), Some(id)) => crate::url::with_query_param(&self.url, param, id),
            _ => self.url.clone(),
        };
        let init = EventSourceInit::new();
        init.set_with_credentials(self.options.with_credentials);
        let source = match EventSource::new_with_event_source_init_dict(&url, &init) {
            Ok(s) => s,
            Err(e) => {
                let message = js_message(&e)
                    .unwrap_or_else(|| "the browser refused to create the EventSource".into());
                self.refused(conn, url, message);
                return None;
            }
        };
        // The connection's own `open` and `error` are plain `Event`s, the stream's events
        // `MessageEvent`s: a server event *named* `open` or `error` is data (delivered when
        // listened to), never mistaken for the connection opening or failing.
        let weak = self.weak();
        // What the connection was handed and has not applied yet, from byte `at` on.
        let mut pending = String::new();
        let mut at = 0;
        let sink: Listener = Closure::new(move |batch: JsValue| {
            let Some(d) = weak.upgrade() else {
                return false;
            };
            let batch = batch.as_string().unwrap_or_default();
            if pending.is_empty() {
                pending = batch;
            } else if !batch.is_empty() {
                pending = [pending.get(at..).unwrap_or_default(), &batch].concat();
                at = 0;
            }
            at = d.apply_batch(conn, &pending, at);
            if at < pending.len() {
                return true;
            }
            // Not kept until the next batch: one burst may have been megabytes.
            pending = String::new();
            at = 0;
            false
        });
        let names = crate::es_batch::joined_names(self.names.iter().map(String::as_str));
        // A limit over 2^53 is no limit in practice; `as` saturates.
        let max = self.options.max_event_bytes as f64;
        let stop = lts_listen(&source, &names, max, sink.as_ref().unchecked_ref());
        Some(Handle::EventSource {
            source,
            stop,
            _sink: sink,
        })
    }

    /// Applies the records of an `EventSource` batch (see [`crate::es_batch`]) from byte `at`
    /// on, in order, for up to [`SLICE`]. Returns where it stopped: the batch's length once
    /// everything is applied or the connection is no longer current. The listener calls again
    /// for the rest after the page had its turn, so a burst (a replay after a reconnect, a
    /// backlog the browser dispatched in one task) does not hold the page for its length.
    fn apply_batch(&self, conn: ConnId, batch: &str, mut at: usize) -> usize {
        let start = crate::clock::now();
        let mut applied = 0u32;
        while let Some((record, next)) = crate::es_batch::next_record(batch, at) {
            if !self.is_current(conn) {
                break;
            }
            at = next;
            match record {
                Record::Message { name, id, data } => {
                    self.on_event(conn, name, id.to_owned(), data, data.len())
                }
                Record::TooLarge { name, id, bytes } => {
                    self.on_event(conn, name, id.to_owned(), "", bytes)
                }
                Record::Opened => self.dispatch(Input::TransportOpened { conn }),
                Record::Failed => self.dispatch(Input::TransportFailed { conn }),
            }
            applied += 1;
            if applied % RECORDS_PER_CLOCK_READ == 0
                && crate::clock::now().saturating_duration_since(start) >= SLICE
            {
                return at;
            }
        }
        batch.len()
    }

    /// `true` while `conn` is the transport the machine listens to.
    fn is_current(&self, conn: ConnId) -> bool {
        !self.disposed.get() && self.state.borrow().machine.current_conn() == Some(conn)
    }

    /// A fetch response's head arrived: open, or tell the machine why not. Returns the body
    /// reader when the response is a stream.
    fn on_response(
        &self,
        conn: ConnId,
        response: &Response,
    ) -> Option<ReadableStreamDefaultReader> {
        let status = response.status();
        let header = |name: &str| response.headers().get(name).ok().flatten();
        if !response.ok() || status == 204 || status == 205 {
            let retry_after = header("retry-after")
                .and_then(|v| crate::http::parse_retry_after(&v, js_sys::Date::now() as u64));
            self.dispatch(Input::HttpStatus {
                conn,
                status,
                retry_after,
            });
            return None;
        }
        let content_type = header("content-type").unwrap_or_default();
        if !crate::http::is_event_stream(&content_type) {
            self.dispatch(Input::NotAStream { conn, content_type });
            return None;
        }
        let Some(body) = response.body() else {
            self.dispatch(Input::TransportFailed { conn });
            return None;
        };
        self.dispatch(Input::TransportOpened { conn });
        Some(ReadableStream::get_reader(&body).unchecked_into())
    }

    /// Feeds one chunk of the body to the parser and delivers what it yields. Returns `false`
    /// once `conn` is no longer current (an `end` event, a callback that closed the stream).
    fn on_chunk(&self, conn: ConnId, parser: &mut SseParser, chunk: &[u8]) -> bool {
        let mut items = Vec::new();
        parser.feed_into(chunk, &mut items);
        for item in items {
            if !self.is_current(conn) {
                return false;
            }
            match item {
                Ok(SseItem::Event(e)) => {
                    // As with `EventSource`, names nobody listens to are not delivered (unless
                    // the hook asked for every name, to report unknown ones); unlike with it,
                    // their ids are seen, and resuming after them replays nothing.
                    if self.options.every_event || self.names.contains(&e.event) {
                        self.on_event(conn, &e.event, e.id, &e.data, e.data.len());
                    } else {
                        self.on_id(conn, e.id);
                    }
                }
                // A block without data (a server's id checkpoint) moved the last event id.
                Ok(SseItem::LastEventId(id)) => {
                    self.on_id(conn, id);
                }
                Ok(SseItem::Retry(delay)) => self.dispatch(Input::RetryHint { conn, delay }),
                Err(e) => {
                    self.update_stats(|s| s.decode_errors += 1);
                    leptos::logging::debug_warn!("leptos-task-stream: {}: {e}", self.url);
                    self.signals.last_error.set(Some(StreamError::Stream(e)));
                }
                // `SseItem` is non-exhaustive; nothing else exists today.
                #[allow(unreachable_patterns)]
                Ok(_) => {}
            }
        }
        self.is_current(conn)
    }

    fn refresh_credentials(&self, refresh: RefreshId) {
        let future = match &self.options.transport {
            Transport::Fetch(fetch) => fetch.refresh(),
            _ => None,
        };
        let Some(future) = future else {
            self.dispatch(Input::CredentialsRefreshed { refresh, ok: false });
            return;
        };
        let weak = self.weak();
        wasm_bindgen_futures::spawn_local(async move {
            let ok = future.await;
            if let Some(d) = weak.upgrade() {
                d.dispatch(Input::CredentialsRefreshed { refresh, ok });
            }
        });
    }

    /// One event from either transport: `raw_id` is the stream's last event id (empty when
    /// none), `data` the joined `data:` lines, `bytes` their size (UTF-8). An `EventSource`
    /// event over the limit comes without its data (see [`crate::es_batch`]): `data` is empty,
    /// `bytes` is the size it had.
    fn on_event(&self, conn: ConnId, name: &str, raw_id: String, data: &str, bytes: usize) {
        if !self.is_current(conn) {
            return;
        }
        let id = self.on_id(conn, raw_id);
        let is = |opt: &Option<String>| opt.as_deref() == Some(name);
        if is(&self.options.heartbeat_event) {
            self.update_stats(|s| {
                s.events += 1;
                s.heartbeats += 1;
            });
            return;
        }
        if is(&self.options.end_event) {
            self.update_stats(|s| s.events += 1);
            // Shown to people (the badge): cut, whether a reason or the payload as it came.
            let reason = end_reason(data);
            let reason =
                crate::protocol::truncate_for_display(reason.as_deref().unwrap_or(data), 200);
            self.dispatch(Input::ServerEnded { conn, reason });
            return;
        }
        if bytes > self.options.max_event_bytes {
            self.update_stats(|s| {
                s.events += 1;
                s.decode_errors += 1;
            });
            self.signals.last_error.set(Some(StreamError::TooLarge {
                event: crate::protocol::truncate_for_display(name, 64),
                bytes,
                limit: self.options.max_event_bytes,
            }));
            return;
        }
        match (self.deliver)(name, id, data) {
            Ok(true) => self.update_stats(|s| s.events += 1),
            Ok(false) => {
                self.update_stats(|s| {
                    s.events += 1;
                    s.stale_ignored += 1;
                });
            }
            Err(e) => {
                self.update_stats(|s| {
                    s.events += 1;
                    s.decode_errors += 1;
                });
                leptos::logging::debug_warn!("leptos-task-stream: {}: {e}", self.url);
                self.signals.last_error.set(Some(e));
            }
        }
    }

    /// The stream's last event id after an event (delivered or not) or a block without data:
    /// kept for the next resume, and the event proves the connection alive. Returns the id,
    /// `None` when empty.
    fn on_id(&self, conn: ConnId, raw: String) -> Option<String> {
        // The fetch parser drops such ids itself; an `EventSource` hands them over.
        if raw.len() > MAX_EVENT_ID_BYTES {
            if self.long_id_reported.replace(Some((conn, raw.len()))) != Some((conn, raw.len())) {
                self.update_stats(|s| s.decode_errors += 1);
                self.signals
                    .last_error
                    .set(Some(StreamError::Stream(SseError::IdTooLong {
                        bytes: raw.len(),
                        limit: MAX_EVENT_ID_BYTES,
                    })));
            }
            self.dispatch(Input::Event { conn, id: None });
            return None;
        }
        // A new `EventSource` starts with an empty last event id: until this connection has
        // carried an id of its own, an empty one means "no news", not "reset", or a heartbeat
        // after a quiet reconnect would erase the id the next resume needs.
        if !raw.is_empty() {
            self.id_seen_on.set(Some(conn));
        }
        let id_known = self.id_seen_on.get() == Some(conn);
        // Compared in place, not cloned out of the signal: this runs for every event.
        let changed = id_known
            && self
                .signals
                .last_event_id
                .with_untracked(|held| held.as_deref().unwrap_or("") != raw);
        let id = (!raw.is_empty()).then(|| raw.clone());
        if changed {
            self.signals
                .last_event_id
                .update_untracked(|held| held.clone_from(&id));
            self.publish_next_frame(false, true);
        }
        self.dispatch(Input::Event {
            conn,
            id: id_known.then_some(raw),
        });
        id
    }

    fn listen_to_window(&self, visibility: bool) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let mut listeners = self.window_listeners.borrow_mut();
        let mut add = |target: web_sys::EventTarget, name: &'static str, input: fn() -> Input| {
            let weak = self.weak();
            let callback: Listener = Closure::new(move |_: JsValue| {
                if let Some(d) = weak.upgrade() {
                    d.dispatch(input());
                }
                false
            });
            if target
                .add_event_listener_with_callback(name, callback.as_ref().unchecked_ref())
                .is_ok()
            {
                listeners.push(WindowListener {
                    target,
                    name,
                    callback,
                });
            }
        };
        add(window.clone().into(), "online", || Input::WentOnline);
        add(window.clone().into(), "offline", || Input::WentOffline);
        // Navigating away must close the connection even if the browser keeps the page (and its
        // EventSource) alive in the back/forward cache; a restored page reconnects and resumes.
        add(window.clone().into(), "pagehide", || Input::Hidden);
        add(window.clone().into(), "pageshow", || Input::Visible);
        if visibility {
            if let Some(document) = window.document() {
                add(document.into(), "visibilitychange", || {
                    if document_hidden() {
                        Input::Hidden
                    } else {
                        Input::Visible
                    }
                });
            }
        }
    }

    /// Tears everything down. Runs on owner cleanup; touches no signal (they are being disposed).
    fn dispose(&self) {
        if self.disposed.replace(true) {
            return;
        }
        self.queue.borrow_mut().clear();
        let (conn, retry, stale) = {
            let mut st = self.state.borrow_mut();
            (st.conn.take(), st.retry.take(), st.stale.take())
        };
        if let Some(c) = conn {
            c.close();
        }
        // Dropping a gloo Timeout clears it.
        drop(retry);
        drop(stale);
        let listeners = std::mem::take(&mut *self.window_listeners.borrow_mut());
        defer_drop(listeners);
    }
}

/// Opens a fetch transport (see [`FetchOpen`]).
fn open_fetch(
    d: &Driver,
    conn: ConnId,
    last_event_id: Option<&str>,
    fetch: &FetchOptions,
) -> Option<Handle> {
    let url = d.url.clone();
    let Some(window) = web_sys::window() else {
        d.refused(conn, url, "fetch needs a browser window".into());
        return None;
    };
    let built = (|| -> Result<(Request, AbortController), JsValue> {
        let headers = Headers::new()?;
        headers.set("Accept", "text/event-stream")?;
        headers.set("Cache-Control", "no-cache")?;
        for (name, value) in fetch.request_headers() {
            headers.append(&name, &value)?;
        }
        if let (Some(_), Some(id)) = (&d.options.resume, last_event_id) {
            // A header value is a byte string: send the id's UTF-8 bytes, as `EventSource`
            // does. (Given as text, an id beyond Latin-1 made the browser refuse the request.)
            let bytes: String = id.bytes().map(char::from).collect();
            headers.set("Last-Event-ID", &bytes)?;
        }
        let abort = AbortController::new()?;
        let init = RequestInit::new();
        init.set_method(fetch.request_method());
        init.set_headers(&headers);
        if let Some(body) = fetch.request_body() {
            init.set_body(&JsValue::from_str(body));
        }
        init.set_signal(Some(&abort.signal()));
        init.set_cache(RequestCache::NoStore);
        init.set_credentials(if d.options.with_credentials {
            RequestCredentials::Include
        } else {
            RequestCredentials::SameOrigin
        });
        Ok((Request::new_with_str_and_init(&url, &init)?, abort))
    })();
    let (request, abort) = match built {
        Ok(r) => r,
        Err(e) => {
            let message =
                js_message(&e).unwrap_or_else(|| "the browser refused to build the request".into());
            d.refused(conn, url, message);
            return None;
        }
    };
    let response = window.fetch_with_request(&request);
    let parser = SseParser::with_max_event_bytes(d.options.max_event_bytes)
        .with_last_event_id(last_event_id.unwrap_or_default());
    // The parser starts from the resumed id, so every id this connection reports is the real
    // one, and an empty one is a reset (for `EventSource`, whose id starts empty, it is no news).
    d.id_seen_on.set(Some(conn));
    wasm_bindgen_futures::spawn_local(read_fetch(d.weak(), conn, response, parser));
    Some(Handle::Fetch { abort })
}

/// Reads one fetch: waits for the response head, then streams its body through `parser` until
/// the body ends, fails, or the connection stops being current (closed, aborted, replaced,
/// driver dropped). Holds the driver only between awaits, never across one.
async fn read_fetch(
    weak: Weak<Driver>,
    conn: ConnId,
    response: js_sys::Promise,
    mut parser: SseParser,
) {
    let response = JsFuture::from(response).await;
    let reader = {
        let Some(d) = weak.upgrade() else { return };
        if !d.is_current(conn) {
            return;
        }
        match response {
            Ok(r) => match r.dyn_into::<Response>() {
                Ok(r) => d.on_response(conn, &r),
                Err(_) => {
                    d.dispatch(Input::TransportFailed { conn });
                    None
                }
            },
            Err(e) => {
                // A network error, CORS refusal or DNS failure: fetch does not say which.
                leptos::logging::debug_warn!(
                    "leptos-task-stream: {}: fetch failed: {}",
                    d.url,
                    js_message(&e).unwrap_or_default()
                );
                d.dispatch(Input::TransportFailed { conn });
                None
            }
        }
    };
    let Some(reader) = reader else { return };
    // Whenever this loop stops reading, the connection was closed, and closing aborted the
    // fetch, which also ends its body. No `reader.cancel()`: on an aborted body it returns a
    // rejected promise, an "Uncaught (in promise) AbortError" on every reconnect.
    let mut slice_start = crate::clock::now();
    loop {
        // Chunks already received resolve at once, on microtasks: without a break, a burst (a
        // replay after a reconnect, a backlog) would be read and applied in one long task.
        if crate::clock::now().saturating_duration_since(slice_start) >= SLICE {
            let _ = JsFuture::from(lts_yield()).await;
            slice_start = crate::clock::now();
        }
        let chunk = JsFuture::from(reader.read()).await;
        let Some(d) = weak.upgrade() else { return };
        if !d.is_current(conn) {
            return;
        }
        let Ok(chunk) = chunk else {
            d.dispatch(Input::TransportFailed { conn });
            return;
        };
        let done = js_sys::Reflect::get(&chunk, &JsValue::from_str("done"))
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(true);
        if done {
            // The server closed the body: an unterminated last event is discarded, and the
            // machine reconnects as `EventSource` would.
            parser.end_of_stream();
            d.dispatch(Input::TransportFailed { conn });
            return;
        }
        let bytes = js_sys::Reflect::get(&chunk, &JsValue::from_str("value"))
            .ok()
            .and_then(|v| v.dyn_into::<js_sys::Uint8Array>().ok())
            .map(|a| a.to_vec())
            .unwrap_or_default();
        // Proof of life even while one large event streams in over a slow link: its heartbeats
        // wait behind it, and the stale check must not cut it off, again and again.
        if !bytes.is_empty() {
            d.dispatch(Input::Progress { conn });
        }
        if !d.on_chunk(conn, &mut parser, &bytes) {
            return;
        }
    }
}

/// The `reason` of an `end` payload (`{"reason":"…"}`, the protocol's); `None` for any other
/// payload, which is then shown as it came. Read by the browser's `JSON.parse`: this runs at
/// most once per stream, and the crate's JSON reader stays out of apps that decode nothing
/// (`use_text_stream`) or decode with serde (`use_event_stream`).
fn end_reason(data: &str) -> Option<String> {
    let value = js_sys::JSON::parse(data).ok()?;
    if !value.is_object() {
        return None;
    }
    js_sys::Reflect::get(&value, &JsValue::from_str("reason"))
        .ok()?
        .as_string()
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn end_reason_is_read_from_end_payloads_only() {
        let reason = |data: &str| super::end_reason(data);
        assert_eq!(reason(r#"{"reason":"done"}"#).as_deref(), Some("done"));
        assert_eq!(
            reason(r#" {"at":1, "reason":"line\nbreak \u00e9 <b>"} "#).as_deref(),
            Some("line\nbreak é <b>")
        );
        for other in [
            "done",
            "",
            r#""done""#,
            "null",
            "17",
            r#"["done"]"#,
            "{}",
            r#"{"reason":1}"#,
            r#"{"reason":null}"#,
            r#"{"reason":"cut"#,
            r#"{"Reason":"done"}"#,
        ] {
            assert_eq!(reason(other), None, "{other:?}");
        }
    }
}
