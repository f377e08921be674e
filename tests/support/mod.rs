//! A fake driver for the connection state machine: executes its commands against a virtual
//! clock and checks the machine's invariants after every input.

#![allow(dead_code)]

use std::time::Duration;

use leptos_task_stream::{
    Backoff, Command, ConnId, ConnectionError, ConnectionMachine, ConnectionStatus, Input,
    JitterRng, MachineConfig, RefreshId, TimerId, Timestamp,
};

/// One transport the machine asked to open.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    pub at: Timestamp,
    pub conn: ConnId,
    pub last_event_id: Option<String>,
    pub attempt: u32,
}

pub struct Harness {
    pub m: ConnectionMachine,
    pub now: Timestamp,
    pub open: Option<ConnId>,
    pub retry_timer: Option<(TimerId, Timestamp)>,
    pub stale_timer: Option<(TimerId, Timestamp)>,
    /// Every timer id ever started (to replay stale ones).
    pub all_timers: Vec<TimerId>,
    pub all_conns: Vec<ConnId>,
    pub opens: Vec<Opened>,
    pub statuses: Vec<ConnectionStatus>,
    pub errors: Vec<ConnectionError>,
    /// Every credential refresh asked for.
    pub refreshes: Vec<RefreshId>,
    /// `(attempt, delay)` of every backoff wait caused by a failure (read from the retry timers
    /// started while the status is `Reconnecting` after a failure).
    pub waits: Vec<(u32, Duration)>,
}

impl Harness {
    pub fn new(config: MachineConfig, seed: u64) -> Self {
        let m = ConnectionMachine::new(config, JitterRng::from_seed(seed)).expect("valid config");
        Self::from_machine(m)
    }

    pub fn with_backoff(backoff: Backoff) -> Self {
        Self::new(MachineConfig::new(backoff), 1)
    }

    pub fn from_machine(m: ConnectionMachine) -> Self {
        Self {
            m,
            now: Timestamp::from_millis(1_000_000),
            open: None,
            retry_timer: None,
            stale_timer: None,
            all_timers: Vec::new(),
            all_conns: Vec::new(),
            opens: Vec::new(),
            statuses: Vec::new(),
            errors: Vec::new(),
            refreshes: Vec::new(),
            waits: Vec::new(),
        }
    }

    pub fn status(&self) -> ConnectionStatus {
        self.m.status()
    }

    /// Feeds `input` now, executes the commands, checks invariants.
    pub fn feed(&mut self, input: Input) -> Vec<Command> {
        let online_wait = matches!(input, Input::WentOnline);
        let cmds = self.m.handle(self.now, input);
        // A retry timer started by anything but `online` is a backoff wait.
        if !online_wait {
            for c in &cmds {
                if let (
                    Command::StartRetryTimer { delay, .. },
                    ConnectionStatus::Reconnecting { attempt, .. },
                ) = (c, self.m.status())
                {
                    self.waits.push((attempt, *delay));
                }
            }
        }
        for c in &cmds {
            self.execute(c);
        }
        self.check_invariants(&cmds);
        cmds
    }

    fn execute(&mut self, c: &Command) {
        match c {
            Command::OpenTransport {
                conn,
                last_event_id,
                attempt,
            } => {
                assert!(
                    self.open.is_none(),
                    "opened {conn} while {:?} is still open",
                    self.open
                );
                assert!(!self.all_conns.contains(conn), "conn id {conn} reused");
                self.all_conns.push(*conn);
                self.open = Some(*conn);
                self.opens.push(Opened {
                    at: self.now,
                    conn: *conn,
                    last_event_id: last_event_id.clone(),
                    attempt: *attempt,
                });
            }
            Command::CloseTransport { conn } => {
                assert_eq!(
                    self.open,
                    Some(*conn),
                    "closed a transport that is not open"
                );
                self.open = None;
            }
            Command::StartRetryTimer { timer, delay } => {
                assert!(
                    self.retry_timer.is_none(),
                    "second retry timer while {:?} pending",
                    self.retry_timer
                );
                self.all_timers.push(*timer);
                self.retry_timer = Some((*timer, self.now + *delay));
            }
            Command::CancelRetryTimer { timer } => {
                assert_eq!(
                    self.retry_timer.map(|t| t.0),
                    Some(*timer),
                    "cancel unknown retry timer"
                );
                self.retry_timer = None;
            }
            Command::StartStaleTimer { timer, delay } => {
                self.all_timers.push(*timer);
                self.stale_timer = Some((*timer, self.now + *delay));
            }
            Command::CancelStaleTimer { timer } => {
                assert_eq!(
                    self.stale_timer.map(|t| t.0),
                    Some(*timer),
                    "cancel unknown stale timer"
                );
                self.stale_timer = None;
            }
            Command::PublishStatus(s) => {
                assert_ne!(
                    self.statuses.last(),
                    Some(s),
                    "published an unchanged status"
                );
                self.statuses.push(s.clone());
            }
            Command::ReportError(e) => self.errors.push(e.clone()),
            Command::RefreshCredentials { refresh } => {
                assert!(self.open.is_none(), "refresh while a transport is open");
                assert!(!self.refreshes.contains(refresh), "refresh id reused");
                self.refreshes.push(*refresh);
            }
            other => panic!("unexpected command {other:?}"),
        }
    }

    fn check_invariants(&self, cmds: &[Command]) {
        let status = self.m.status();
        // The published status is the machine's status.
        if let Some(last) = self.statuses.last() {
            assert_eq!(last, &status);
        }
        // The driver's view agrees with the machine's.
        assert_eq!(
            self.open,
            self.m.current_conn(),
            "open transport mismatch after {cmds:?}"
        );
        assert_eq!(self.retry_timer.map(|t| t.0), self.m.pending_retry());
        assert_eq!(self.stale_timer.map(|t| t.0), self.m.pending_stale_check());
        match &status {
            ConnectionStatus::Connecting => {
                // Connecting means a transport in flight, or a credential refresh (no transport).
                assert!(self.open.is_some() != self.m.pending_refresh().is_some());
                assert!(self.retry_timer.is_none());
            }
            ConnectionStatus::Connected => {
                assert!(self.open.is_some() && self.retry_timer.is_none());
                assert!(self.m.pending_refresh().is_none());
            }
            ConnectionStatus::Reconnecting {
                delay, retry_at, ..
            } => {
                assert!(self.open.is_none() && self.stale_timer.is_none());
                let (_, due) = self.retry_timer.expect("reconnecting without a timer");
                assert_eq!(due, *retry_at);
                // The policy's cap, unless the server imposed more (Retry-After, retry:), which is
                // capped in turn and spread by at most a tenth.
                let server_cap = self.m.config().retry_after_cap();
                let bound = self
                    .m
                    .config()
                    .backoff()
                    .cap()
                    .max(Duration::from_secs(1))
                    .max(server_cap + server_cap / 10);
                assert!(*delay <= bound, "delay {delay:?} above {bound:?}");
            }
            ConnectionStatus::Offline { .. } | ConnectionStatus::Closed { .. } => {
                assert!(self.open.is_none(), "transport open while {status:?}");
                assert!(self.retry_timer.is_none(), "retry pending while {status:?}");
                assert!(
                    self.stale_timer.is_none(),
                    "stale timer pending while {status:?}"
                );
            }
        }
    }

    pub fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            let next = [self.retry_timer, self.stale_timer]
                .into_iter()
                .flatten()
                .filter(|(_, due)| *due <= end)
                .min_by_key(|(_, due)| *due);
            let Some((timer, due)) = next else { break };
            self.now = self.now.max(due);
            if self.retry_timer.map(|t| t.0) == Some(timer) {
                self.retry_timer = None;
                self.feed(Input::RetryTimerFired { timer });
            } else {
                self.stale_timer = None;
                self.feed(Input::StaleTimerFired { timer });
            }
        }
        self.now = end;
    }

    /// Fires the pending retry timer at its due time.
    pub fn fire_retry(&mut self) {
        let (_, due) = self.retry_timer.expect("no retry timer");
        let d = due.saturating_duration_since(self.now);
        self.advance(d);
    }

    pub fn conn(&self) -> ConnId {
        self.open.expect("no open transport")
    }

    pub fn open_and_connect(&mut self) -> ConnId {
        if self.open.is_none() {
            self.feed(Input::Open);
        }
        let conn = self.conn();
        self.feed(Input::TransportOpened { conn });
        assert_eq!(self.status(), ConnectionStatus::Connected);
        conn
    }

    pub fn fail_current(&mut self) {
        let conn = self.conn();
        self.feed(Input::TransportFailed { conn });
    }

    /// The current transport got HTTP `status` (with a `Retry-After` of `retry_after` seconds).
    pub fn http(&mut self, status: u16, retry_after: Option<u64>) -> Vec<Command> {
        let conn = self.conn();
        self.feed(Input::HttpStatus {
            conn,
            status,
            retry_after: retry_after.map(Duration::from_secs),
        })
    }

    pub fn event(&mut self, id: Option<&str>) {
        let conn = self.conn();
        self.feed(Input::Event {
            conn,
            id: id.map(str::to_owned),
        });
    }

    pub fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }
}
