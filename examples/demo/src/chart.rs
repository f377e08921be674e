//! A live bar chart of connection attempts per second over the last minute, from
//! `GET /api/metrics`: during an outage a naive client fleet would draw a wall of bars; this
//! one draws a few bars that thin out as the backoff grows.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;

use crate::api;

/// Seconds shown.
pub const WINDOW_SECS: usize = 60;
/// How often the chart polls the metrics.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// A tag no stream uses: `?client=` filters the metrics' `attempt_log` (up to 10 000 entries)
/// down to nothing, so a poll stays small. `buckets` and the counters stay global.
const METRICS_PATH: &str = "/api/metrics?client=strug-demo-chart";

/// One 100 ms bucket of `GET /api/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Bucket {
    /// Start of the bucket, unix ms (a multiple of 100).
    pub start_ms: u64,
    /// Stream connection attempts in it, whatever their outcome.
    pub attempts: u64,
}

/// The parts of `GET /api/metrics` the chart shows. Missing fields read as zero, so a server
/// that adds or drops a field cannot break the page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Metrics {
    pub attempts_total: u64,
    pub accepted: u64,
    pub open_streams: u64,
    pub buckets: Vec<Bucket>,
}

/// Attempts per whole second for the `WINDOW_SECS` seconds ending with the second that holds
/// `now_ms`, oldest first. Buckets outside the window are ignored.
pub fn per_second(buckets: &[Bucket], now_ms: u64) -> [u64; WINDOW_SECS] {
    let mut out = [0u64; WINDOW_SECS];
    let last = now_ms / 1000;
    let first = last.saturating_sub(WINDOW_SECS as u64 - 1);
    for b in buckets {
        let sec = b.start_ms / 1000;
        if (first..=last).contains(&sec) {
            // `sec - first` < WINDOW_SECS by the range check (also when `first` saturated).
            let slot = &mut out[(sec - first) as usize];
            *slot = slot.saturating_add(b.attempts);
        }
    }
    out
}

/// The y-axis top: the peak rounded up to 1, 2 or 5 × 10ⁿ, at least 5, so that a quiet
/// minute does not blow one attempt up to full height.
pub fn axis_max(peak: u64) -> u64 {
    let mut scale = 1u64;
    loop {
        for step in [1u64, 2, 5] {
            let Some(top) = step.checked_mul(scale) else {
                return u64::MAX;
            };
            if top >= peak.max(5) {
                return top;
            }
        }
        scale = match scale.checked_mul(10) {
            Some(s) => s,
            None => return u64::MAX,
        };
    }
}

/// What the chart shows: the last poll's figures, or why there are none.
#[derive(Debug, Clone, PartialEq)]
enum Data {
    Loading,
    Ready { metrics: Metrics, now_ms: u64 },
    Failed(String),
}

// Plot geometry in SVG user units (the SVG scales to its box).
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 100.0;
const TOP: f64 = 4.0;
const BOTTOM: f64 = 100.0;
const SLOT: f64 = WIDTH / WINDOW_SECS as f64;

/// Connection attempts per second over the last minute, polled from the dev server.
#[component]
pub fn AttemptsChart() -> impl IntoView {
    let data = RwSignal::new(Data::Loading);
    // One poll at a time: a slow server must not pile requests up.
    let in_flight = StoredValue::new(false);

    let poll = move || {
        if in_flight.get_value() {
            return;
        }
        in_flight.set_value(true);
        spawn_local(async move {
            let result = api::get(METRICS_PATH).await.and_then(|a| {
                if a.is_success() {
                    serde_json::from_str::<Metrics>(&a.body)
                        .map_err(|e| format!("bad metrics: {e}"))
                } else {
                    Err(format!("metrics: HTTP {}", a.status))
                }
            });
            let next = match result {
                // The buckets are in server unix ms; on one machine the browser clock agrees.
                Ok(metrics) => Data::Ready {
                    metrics,
                    now_ms: js_sys::Date::now().max(0.0) as u64,
                },
                Err(e) => Data::Failed(e),
            };
            // try_: the chart may have been unmounted while the request was out.
            data.try_set(next);
            in_flight.try_set_value(false);
        });
    };
    poll();
    let interval = set_interval_with_handle(poll, POLL_EVERY).ok();
    on_cleanup(move || {
        if let Some(handle) = interval {
            handle.clear();
        }
    });

    let series = Memo::new(move |_| match data.get() {
        Data::Ready { metrics, now_ms } => per_second(&metrics.buckets, now_ms),
        _ => [0; WINDOW_SECS],
    });
    let top = Memo::new(move |_| axis_max(series.get().iter().copied().max().unwrap_or(0)));

    let bars = move || {
        let values = series.get();
        let top = top.get() as f64;
        values
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, &n)| {
                let h = (n as f64 / top).min(1.0) * (BOTTOM - TOP);
                view! {
                    <rect
                        class="lts-demo-chart-bar"
                        x=format!("{:.1}", i as f64 * SLOT + 1.0)
                        y=format!("{:.1}", BOTTOM - h)
                        width=format!("{:.1}", SLOT - 2.0)
                        height=format!("{h:.1}")
                    >
                        <title>{format!("{n} attempts, {} s ago", WINDOW_SECS - 1 - i)}</title>
                    </rect>
                }
            })
            .collect_view()
    };

    let caption = move || match data.get() {
        Data::Loading => "Loading metrics…".to_owned(),
        Data::Failed(e) => format!("Metrics unavailable: {e}"),
        Data::Ready { metrics, .. } => format!(
            "Now {}/s · {} attempts in total, {} accepted · {} open stream(s)",
            series.get()[WINDOW_SECS - 1],
            metrics.attempts_total,
            metrics.accepted,
            metrics.open_streams
        ),
    };

    view! {
        <figure class="lts-demo-chart">
            <figcaption>"Connection attempts per second, last 60 s"</figcaption>
            <div class="lts-demo-chart-plot">
                <span class="lts-demo-chart-ymax">{move || format!("{}/s", top.get())}</span>
                // Stretched to the box (preserveAspectRatio="none"); text lives outside the SVG
                // so it is not stretched with it.
                <svg
                    viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                    preserveAspectRatio="none"
                    role="img"
                    aria-label="Connection attempts per second over the last 60 seconds"
                >
                    <line
                        class="lts-demo-chart-grid"
                        vector-effect="non-scaling-stroke"
                        x1="0"
                        x2=WIDTH.to_string()
                        y1=TOP.to_string()
                        y2=TOP.to_string()
                    />
                    <line
                        class="lts-demo-chart-axis"
                        vector-effect="non-scaling-stroke"
                        x1="0"
                        x2=WIDTH.to_string()
                        y1=BOTTOM.to_string()
                        y2=BOTTOM.to_string()
                    />
                    {bars}
                </svg>
                <div class="lts-demo-chart-xaxis" aria-hidden="true">
                    <span>"60 s ago"</span>
                    <span>"now"</span>
                </div>
            </div>
            <p class="lts-demo-chart-caption">{caption}</p>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(start_ms: u64, attempts: u64) -> Bucket {
        Bucket { start_ms, attempts }
    }

    #[test]
    fn per_second_sums_ten_buckets_into_one_second_and_drops_old_ones() {
        // Pins the 100 ms → 1 s aggregation and the 60 s window edges.
        let now = 100_000_500; // inside second 100_000
        let buckets = [
            b(100_000_000, 2),
            b(100_000_900, 3),   // same second as above
            b(99_999_900, 1),    // the second before
            b(99_941_000, 7),    // oldest second still in the window (100_000 - 59)
            b(99_940_900, 100),  // one second too old
            b(100_001_000, 100), // in the future (clock skew): ignored
        ];
        let s = per_second(&buckets, now);
        assert_eq!(s[WINDOW_SECS - 1], 5);
        assert_eq!(s[WINDOW_SECS - 2], 1);
        assert_eq!(s[0], 7);
        assert_eq!(s.iter().sum::<u64>(), 13);
    }

    #[test]
    fn per_second_near_the_epoch_does_not_underflow() {
        // Pins saturating window arithmetic for a clock that reads almost zero.
        let s = per_second(&[b(0, 4), b(2_000, 1)], 2_500);
        assert_eq!(s[0], 4);
        assert_eq!(s[2], 1);
    }

    #[test]
    fn metrics_parse_ignores_unknown_fields_and_defaults_missing_ones() {
        // Pins tolerant decoding: the chart never fails on extra or absent metrics fields.
        let m: Metrics = serde_json::from_str(
            r#"{"attempts_total":5,"rejected":{"outage":1},"buckets":[{"start_ms":100,"attempts":2}]}"#,
        )
        .unwrap();
        assert_eq!(m.attempts_total, 5);
        assert_eq!(m.open_streams, 0);
        assert_eq!(m.buckets, vec![b(100, 2)]);
    }

    #[test]
    fn axis_max_rounds_up_to_a_readable_number() {
        // Pins the y-axis scale: at least 5, then 1-2-5 steps.
        assert_eq!(axis_max(0), 5);
        assert_eq!(axis_max(5), 5);
        assert_eq!(axis_max(6), 10);
        assert_eq!(axis_max(11), 20);
        assert_eq!(axis_max(21), 50);
        assert_eq!(axis_max(501), 1000);
        assert_eq!(axis_max(u64::MAX), u64::MAX);
    }
}
