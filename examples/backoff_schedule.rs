//! Prints the reconnect schedule of a policy for a server that stays down, for each jitter mode.
//!
//! ```sh
//! cargo run --example backoff_schedule
//! ```
//!
//! It drives the real [`ConnectionMachine`] on a virtual clock: every connection attempt fails at
//! once, and the machine decides when the next one runs.

use std::time::Duration;

use leptos_task_stream::{
    Backoff, Command, ConnectionMachine, Input, Jitter, JitterRng, MachineConfig, Timestamp,
};

fn main() {
    for jitter in Jitter::ALL {
        let policy = Backoff::default().jitter(jitter);
        let mut machine =
            ConnectionMachine::new(MachineConfig::new(policy), JitterRng::from_seed(2026))
                .expect("the default policy is valid");
        let mut now = Timestamp::from_millis(0);
        let mut schedule = Vec::new();
        let mut commands = machine.handle(now, Input::Open);
        while schedule.len() < 10 {
            let conn = commands.iter().find_map(|c| match c {
                Command::OpenTransport { conn, .. } => Some(*conn),
                _ => None,
            });
            let Some(conn) = conn else { break };
            // The server is down: the attempt fails at once.
            commands = machine.handle(now, Input::TransportFailed { conn });
            let Some((timer, delay)) = commands.iter().find_map(|c| match c {
                Command::StartRetryTimer { timer, delay } => Some((*timer, *delay)),
                _ => None,
            }) else {
                break;
            };
            schedule.push(delay);
            now = now + delay;
            commands = machine.handle(now, Input::RetryTimerFired { timer });
        }
        let shown: Vec<String> = schedule
            .iter()
            .map(|d| format!("{:.1}", secs(*d)))
            .collect();
        println!("{:>12}: {} s", jitter.name(), shown.join(", "));
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}
