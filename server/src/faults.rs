//! Active fault-injection windows (`--chaos`). Each fault may be scoped to one `client` tag;
//! an unscoped fault applies to everyone.

use serde_json::{json, Value};
use tokio::time::Instant;

/// A time-limited fault, optionally scoped to a client tag.
#[derive(Debug, Clone)]
pub struct Window {
    /// Only streams with this tag (`None` = all).
    pub client: Option<String>,
    /// When the fault ends.
    pub until: Instant,
    /// `Retry-After` seconds for outages; flap delay in ms for flaps; status for rejects;
    /// unused for stalls.
    pub param: u64,
    /// Creation order (from [`Faults::next_seq`]): when an outage and a reject both cover a
    /// request, the most recently created wins.
    pub seq: u64,
}

impl Window {
    /// `true` if the fault is active at `now` and its scope covers `client`.
    pub fn applies(&self, now: Instant, client: Option<&str>) -> bool {
        now < self.until && scope_matches(self.client.as_deref(), client)
    }

    fn to_json(&self, now: Instant, param_name: Option<&str>) -> Value {
        let mut v = json!({
            "client": self.client,
            "remaining_secs": self.until.saturating_duration_since(now).as_secs_f64(),
        });
        if let (Some(name), Some(obj)) = (param_name, v.as_object_mut()) {
            obj.insert(name.to_owned(), json!(self.param));
        }
        v
    }
}

/// `true` if a fault scoped to `scope` covers a stream tagged `client`.
pub fn scope_matches(scope: Option<&str>, client: Option<&str>) -> bool {
    match scope {
        None => true,
        Some(s) => client == Some(s),
    }
}

/// An injected HTTP answer (`POST /api/chaos/reject`).
#[derive(Debug, Clone)]
pub struct Reject {
    /// Scope and duration; `param` is the status.
    pub window: Window,
    /// The status answered (200..=599).
    pub status: u16,
    /// The `Retry-After` header, verbatim.
    pub retry_after: Option<String>,
    /// `retry_after` as it was given (number or string), for `GET /api/chaos`.
    pub retry_after_json: Value,
    /// The `Content-Type` (the body is then a short fixed text); `None`: a JSON error body.
    pub content_type: Option<String>,
    /// Whether matching open streams were dropped when the window was created.
    pub drop: bool,
}

/// How an attempt is refused by the faults in force.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// 503 with this `Retry-After` (the largest of the matching outages).
    Outage(u64),
    /// The injected answer of the most recent matching reject window.
    Reject(Reject),
}

/// Every active fault.
#[derive(Debug, Default)]
pub struct Faults {
    /// 503 windows (`param` = Retry-After secs).
    pub outages: Vec<Window>,
    /// Silence windows.
    pub stalls: Vec<Window>,
    /// Accept-then-drop windows (`param` = after_ms).
    pub flaps: Vec<Window>,
    /// Injected-answer windows.
    pub rejects: Vec<Reject>,
    /// Last creation number handed out.
    pub seq: u64,
}

impl Faults {
    /// Forgets expired windows.
    pub fn prune(&mut self, now: Instant) {
        for list in [&mut self.outages, &mut self.stalls, &mut self.flaps] {
            list.retain(|w| now < w.until);
        }
        self.rejects.retain(|r| now < r.window.until);
    }

    /// The creation number of a new window.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The outage or reject answer for an attempt tagged `client`, if one covers it: the most
    /// recently created matching window decides which of the two it is.
    pub fn refusal(&self, now: Instant, client: Option<&str>) -> Option<Refusal> {
        let outage = self
            .outages
            .iter()
            .filter(|w| w.applies(now, client))
            .map(|w| w.seq)
            .max();
        let reject = self
            .rejects
            .iter()
            .filter(|r| r.window.applies(now, client))
            .max_by_key(|r| r.window.seq);
        match (outage, reject) {
            (Some(o), Some(r)) if r.window.seq > o => Some(Refusal::Reject(r.clone())),
            (Some(_), _) => self.outage(now, client).map(Refusal::Outage),
            (None, Some(r)) => Some(Refusal::Reject(r.clone())),
            (None, None) => None,
        }
    }

    /// The outage covering `client`, if any: its Retry-After seconds.
    pub fn outage(&self, now: Instant, client: Option<&str>) -> Option<u64> {
        self.outages
            .iter()
            .filter(|w| w.applies(now, client))
            .map(|w| w.param)
            .max()
    }

    /// When the latest stall covering `client` ends, if one is active.
    pub fn stall_until(&self, now: Instant, client: Option<&str>) -> Option<Instant> {
        self.stalls
            .iter()
            .filter(|w| w.applies(now, client))
            .map(|w| w.until)
            .max()
    }

    /// The flap delay for a new stream tagged `client`, if a flap window covers it.
    pub fn flap_after_ms(&self, now: Instant, client: Option<&str>) -> Option<u64> {
        self.flaps
            .iter()
            .filter(|w| w.applies(now, client))
            .map(|w| w.param)
            .min()
    }

    /// The state as reported by `GET /api/chaos`.
    pub fn to_json(&self, now: Instant, refuse_until: Option<Instant>) -> Value {
        let list = |ws: &[Window], p: Option<&str>| -> Vec<Value> {
            ws.iter()
                .filter(|w| now < w.until)
                .map(|w| w.to_json(now, p))
                .collect()
        };
        json!({
            "outages": list(&self.outages, Some("retry_after")),
            "stalls": list(&self.stalls, None),
            "flaps": list(&self.flaps, Some("after_ms")),
            "rejects": self
                .rejects
                .iter()
                .filter(|r| now < r.window.until)
                .map(|r| {
                    let mut v = r.window.to_json(now, None);
                    if let Some(obj) = v.as_object_mut() {
                        obj.insert("status".into(), json!(r.status));
                        obj.insert("retry_after".into(), r.retry_after_json.clone());
                        obj.insert("content_type".into(), json!(r.content_type));
                        obj.insert("drop".into(), json!(r.drop));
                    }
                    v
                })
                .collect::<Vec<_>>(),
            "refuse_remaining_secs": refuse_until
                .filter(|u| now < *u)
                .map(|u| u.saturating_duration_since(now).as_secs_f64()),
        })
    }
}
