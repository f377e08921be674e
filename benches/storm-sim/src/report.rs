//! Figures from an [`Outcome`], the Markdown fragment and the hand-written SVG chart.

use std::fmt::Write as _;

use crate::sim::{percentile, Outcome, Scenario, MS_PER_S};

/// How a row's steady outage load is predicted.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    /// Each client retries once per `E[delay at cap] + attempt`: rate `N / (mean_ms + attempt)`.
    MeanDelay {
        /// `E[delay at cap]`, in milliseconds.
        mean_ms: f64,
        /// How that mean was obtained, e.g. `C/2`.
        formula: String,
    },
    /// No prediction, and why.
    NotApplicable(&'static str),
}

/// One simulated policy and what it was measured to do.
#[derive(Debug, Clone)]
pub struct Row {
    /// Name in the table and legend.
    pub name: String,
    /// The steady-state prediction.
    pub model: Model,
    /// The longest wait the policy can choose (its cap, or its fixed interval), if it has one.
    pub cap_ms: Option<u64>,
    /// The run.
    pub outcome: Outcome,
}

/// The figures of one row.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Mean attempts per second over the second half of the outage.
    pub steady_rate: f64,
    /// The model's rate, if any.
    pub model_rate: Option<f64>,
    /// Most attempts in one 1-second bucket, and that bucket's start (s).
    pub peak_attempts: (u64, u64),
    /// Most successful connects in one 1-second bucket.
    pub peak_connects: u64,
    /// Recovery time percentiles (ms) over the clients that recovered.
    pub p50_ms: Option<u64>,
    /// 99th percentile.
    pub p99_ms: Option<u64>,
    /// Maximum.
    pub max_ms: Option<u64>,
}

impl Row {
    /// Computes the figures for this row.
    pub fn figures(&self, scn: &Scenario) -> Figures {
        let o = &self.outcome;
        let (from, to) = steady_window(scn);
        let steady: u64 = o.attempts_per_s[from as usize..to as usize].iter().sum();
        let peak_attempts = o
            .attempts_per_s
            .iter()
            .enumerate()
            .map(|(s, &n)| (n, s as u64))
            .max_by_key(|&(n, s)| (n, std::cmp::Reverse(s)))
            .unwrap_or((0, 0));
        Figures {
            steady_rate: steady as f64 / (to - from) as f64,
            model_rate: match &self.model {
                Model::MeanDelay { mean_ms, .. } => Some(
                    f64::from(scn.clients) * MS_PER_S as f64 / (mean_ms + scn.attempt_ms as f64),
                ),
                Model::NotApplicable(_) => None,
            },
            peak_attempts,
            peak_connects: o.connects_per_s.iter().copied().max().unwrap_or(0),
            p50_ms: percentile(&o.recovery_ms, 0.5),
            p99_ms: percentile(&o.recovery_ms, 0.99),
            max_ms: o.recovery_ms.last().copied(),
        }
    }
}

/// The seconds `[from, to)` averaged for the steady outage load: the outage's second half, when
/// every backoff has reached its cap.
pub fn steady_window(scn: &Scenario) -> (u64, u64) {
    let to = (scn.outage_ms / MS_PER_S).max(1);
    (to / 2, to)
}

/// `12345` → `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn secs(ms: Option<u64>) -> String {
    ms.map_or("—".into(), |ms| format!("{:.2} s", ms as f64 / 1e3))
}

fn rate(r: f64) -> String {
    if r >= 100.0 {
        thousands(r.round() as u64)
    } else {
        format!("{r:.1}")
    }
}

/// The Markdown fragment. `advice` is the closing recommendation paragraph.
pub fn markdown(scn: &Scenario, rows: &[Row], advice: &str) -> String {
    let (from, to) = steady_window(scn);
    let mut md = String::new();
    let n = thousands(u64::from(scn.clients));
    let outage = scn.outage_ms as f64 / 1e3;
    let _ = writeln!(md, "## Reconnect storm (simulated)\n");
    let _ = writeln!(
        md,
        "![Connection attempts per second during and after a {outage:.0} s outage, \
         log scale](storm.svg)\n"
    );
    let _ = writeln!(
        md,
        "**Setup.** {n} clients are connected when, at t = 0, the server drops every one of them \
         and stays down for {outage:.0} s. Each connection attempt takes {a} ms to resolve: one \
         started during the outage fails (the client gets `TransportFailed` {a} ms after \
         `OpenTransport`), one started after it succeeds and the client stays connected. The \
         simulation is an event queue on a virtual millisecond clock (no sleeps) and runs until \
         every client is connected again or has given up (limit {max:.0} s). Seed {seed}: client \
         *i*'s jitter generator is `JitterRng::from_seed({seed} ^ i)`.\n",
        a = scn.attempt_ms,
        max = scn.max_ms as f64 / 1e3,
        seed = scn.seed,
    );
    let default_jitter = leptos_task_stream::Backoff::default().jitter_mode();
    let _ = writeln!(
        md,
        "The *ours* rows drive the crate's real `ConnectionMachine` and `Backoff`: 1 s initial \
         delay, ×2, cap C = 30 s, no attempt limit, each jitter mode in turn; \
         `Backoff::default()` is {default_jitter} jitter, so its row repeats *ours, \
         {default_jitter}*. The baselines are \
         modelled directly: *naive* reopens the moment an attempt fails; *EventSource* is the \
         browser's own retry, a fixed 3 s after each network error, forever; *leptos-use* is \
         `use_event_source` with its defaults, 3 s fixed and `ReconnectLimit::Limited(3)`, which \
         gives up at the third error counted from the drop (two retries) and is reset only by a \
         manual `open()`. leptos-use retries by itself only when the browser has closed the \
         `EventSource` (an HTTP error such as a 503 from a proxy); on a plain network error it \
         leaves the retry to the browser and behaves like the *EventSource* row.\n"
    );
    let _ = writeln!(
        md,
        "| policy | attempts/s in outage ({from}–{to} s) | model | ÷ model | peak attempts in 1 s | \
         peak connects/s after recovery | recovery p50 | p99 | max | max ÷ C | total attempts | \
         gave up |"
    );
    let _ = writeln!(md, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for row in rows {
        let f = row.figures(scn);
        let model = match (&row.model, f.model_rate) {
            (Model::MeanDelay { formula, .. }, Some(r)) => format!("{} ({formula})", rate(r)),
            (Model::NotApplicable(why), _) => format!("n/a ({why})"),
            _ => "n/a".into(),
        };
        let ratio = match f.model_rate {
            Some(m) if m > 0.0 => format!("{:.2}", f.steady_rate / m),
            _ => "—".into(),
        };
        let over_cap = match (f.max_ms, row.cap_ms) {
            (Some(max), Some(cap)) => format!("{:.2}", max as f64 / cap as f64),
            _ => "—".into(),
        };
        let gave_up = if row.outcome.stranded > 0 {
            format!(
                "{} (+{} still waiting at {:.0} s)",
                thousands(u64::from(row.outcome.gave_up)),
                thousands(u64::from(row.outcome.stranded)),
                scn.max_ms as f64 / 1e3
            )
        } else {
            thousands(u64::from(row.outcome.gave_up))
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} (at {} s) | {} | {} | {} | {} | {} | {} | {} |",
            row.name,
            rate(f.steady_rate),
            model,
            ratio,
            thousands(f.peak_attempts.0),
            f.peak_attempts.1,
            thousands(f.peak_connects),
            secs(f.p50_ms),
            secs(f.p99_ms),
            secs(f.max_ms),
            over_cap,
            thousands(row.outcome.total_attempts),
            gave_up,
        );
    }
    let _ = writeln!(
        md,
        "\n*Attempts/s in outage* is the mean over t ∈ [{from} s, {to} s). *Model* is N / \
         (E[delay at cap] + {a} ms attempt): N clients each retrying once per mean delay, in \
         parentheses the mean delay (for decorrelated jitter the mean of the stationary chain \
         d′ ~ U[1 s, min(C, 3d)], computed numerically from that definition); the lockstep rows \
         reach it only on average, in bursts of all N at once. *Peak attempts* is the busiest \
         1-second bucket anywhere in the run. *Recovery* is the time from the end of the outage \
         until a client is connected again (at least one {a} ms attempt); *max ÷ C* divides its \
         maximum by the longest wait the policy can choose (the cap, or the fixed interval).\n",
        a = scn.attempt_ms,
    );
    let _ = writeln!(md, "{advice}");
    md
}

/// A series on the chart.
pub struct Series<'a> {
    /// Legend text.
    pub name: &'a str,
    /// Attempts per second.
    pub values: &'a [u64],
    /// Stroke colour.
    pub color: &'a str,
    /// Stroke width.
    pub width: f64,
    /// `stroke-dasharray`, if dashed.
    pub dash: Option<&'a str>,
}

const W: f64 = 900.0;
const H: f64 = 470.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 130.0;
/// Gap between the zero line and the `1` line on the log axis.
const ZERO_GAP: f64 = 18.0;

/// An SVG step chart of attempts per second, log y axis (zero drawn on its own baseline), the
/// outage shaded. Series are drawn in order (the last on top).
pub fn svg(scn: &Scenario, until_s: u64, series: &[Series<'_>]) -> String {
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let bottom = TOP + plot_h;
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().take(until_s as usize))
        .copied()
        .max()
        .unwrap_or(1)
        .max(10);
    let decades = (max as f64).log10().ceil() as u32;
    let x = |s: f64| LEFT + s / until_s as f64 * plot_w;
    let y = |v: u64| {
        if v == 0 {
            bottom
        } else {
            bottom - ZERO_GAP - (v as f64).log10() / f64::from(decades) * (plot_h - ZERO_GAP)
        }
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="13">"##
    );
    let _ = writeln!(out, r##"<rect width="{W}" height="{H}" fill="#ffffff"/>"##);
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="24" text-anchor="middle" font-size="15" font-weight="600">Connection attempts per second: {} clients, server down for {:.0} s (simulated)</text>"##,
        W / 2.0,
        thousands(u64::from(scn.clients)),
        scn.outage_ms as f64 / 1e3
    );
    // The outage.
    let outage_end = (scn.outage_ms as f64 / 1e3).min(until_s as f64);
    let _ = writeln!(
        out,
        r##"<rect x="{:.1}" y="{TOP:.1}" width="{:.1}" height="{plot_h:.1}" fill="#f6d8d8" fill-opacity="0.55"/>"##,
        x(0.0),
        x(outage_end) - x(0.0)
    );
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#9b3b3b">server down</text>"##,
        x(outage_end / 2.0),
        TOP + 16.0
    );
    // Horizontal grid and y ticks.
    let mut ticks = vec![(0u64, "0".to_string())];
    for d in 0..=decades {
        let v = 10u64.pow(d);
        let label = match d {
            0..=2 => v.to_string(),
            3..=5 => format!("{}k", v / 1_000),
            _ => format!("{}M", v / 1_000_000),
        };
        ticks.push((v, label));
    }
    for (v, label) in &ticks {
        let yy = y(*v);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT:.1}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}" stroke="#d0d0d0" stroke-width="1"/>"##,
            LEFT + plot_w
        );
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#444">{label}</text>"##,
            LEFT - 8.0,
            yy + 4.0
        );
    }
    // x ticks every 20 s.
    let mut s = 0;
    while s <= until_s {
        let xx = x(s as f64);
        let _ = writeln!(
            out,
            r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{bottom:.1}" y2="{:.1}" stroke="#444"/>"##,
            bottom + 5.0
        );
        let _ = writeln!(
            out,
            r##"<text x="{xx:.1}" y="{:.1}" text-anchor="middle" fill="#444">{s}</text>"##,
            bottom + 20.0
        );
        s += 20;
    }
    let _ = writeln!(
        out,
        r##"<line x1="{LEFT:.1}" x2="{LEFT:.1}" y1="{TOP:.1}" y2="{bottom:.1}" stroke="#444"/>"##
    );
    let _ = writeln!(
        out,
        r##"<line x1="{LEFT:.1}" x2="{:.1}" y1="{bottom:.1}" y2="{bottom:.1}" stroke="#444"/>"##,
        LEFT + plot_w
    );
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">time since the server dropped every client (s)</text>"##,
        LEFT + plot_w / 2.0,
        bottom + 40.0
    );
    let _ = writeln!(
        out,
        r##"<text transform="translate(20 {:.1}) rotate(-90)" text-anchor="middle">attempts per second (1 s buckets, log scale)</text>"##,
        TOP + plot_h / 2.0
    );
    // The series, as steps.
    for s in series {
        let mut d = String::new();
        for sec in 0..until_s {
            let v = s.values.get(sec as usize).copied().unwrap_or(0);
            if sec == 0 {
                let _ = write!(d, "M{:.1} {:.1}", x(0.0), y(v));
            } else {
                let _ = write!(d, " V{:.1}", y(v));
            }
            let _ = write!(d, " H{:.1}", x((sec + 1) as f64));
        }
        let dash = s
            .dash
            .map(|d| format!(r##" stroke-dasharray="{d}""##))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            r##"<path d="{d}" fill="none" stroke="{}" stroke-width="{}" stroke-linejoin="round"{dash}><title>{}</title></path>"##,
            s.color,
            s.width,
            escape(s.name)
        );
    }
    // Legend, under the axis title, two columns.
    let legend_top = bottom + 62.0;
    for (i, s) in series.iter().rev().enumerate() {
        let col = (i % 2) as f64;
        let row = (i / 2) as f64;
        let lx = LEFT + col * plot_w / 2.0;
        let ly = legend_top + row * 20.0;
        let dash = s
            .dash
            .map(|d| format!(r##" stroke-dasharray="{d}""##))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            r##"<line x1="{lx:.1}" x2="{:.1}" y1="{ly:.1}" y2="{ly:.1}" stroke="{}" stroke-width="{}"{dash}/>"##,
            lx + 28.0,
            s.color,
            s.width.max(2.0)
        );
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}">{}</text>"##,
            lx + 36.0,
            ly + 4.0,
            escape(s.name)
        );
    }
    let _ = writeln!(out, "</svg>");
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        // Table figures read as 12,345, not 12345.
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(24_010_000), "24,010,000");
    }

    #[test]
    fn fragment_heading_link_and_rows() {
        // The fragment drops into docs/benchmarks.md as is: its heading, the chart beside it,
        // one table row per policy.
        let scn = Scenario {
            clients: 10,
            outage_ms: 4_000,
            max_ms: 60_000,
            ..Scenario::default()
        };
        let rows: Vec<Row> = [
            ("ours", crate::sim::Policy::Machine(Default::default())),
            ("naive", crate::sim::Policy::Naive),
        ]
        .into_iter()
        .map(|(name, policy)| Row {
            name: name.into(),
            model: Model::NotApplicable("test"),
            cap_ms: Some(30_000),
            outcome: crate::sim::run(&scn, &policy),
        })
        .collect();
        let md = markdown(&scn, &rows, "advice");
        assert!(md.starts_with("## Reconnect storm (simulated)\n"));
        assert!(md.contains("](storm.svg)"));
        assert!(md.contains("\n| ours | ") && md.contains("\n| naive | "));
        assert!(md.trim_end().ends_with("advice"));
    }

    #[test]
    fn svg_is_one_well_formed_document() {
        // The chart opens and closes one <svg>, has one path per series and names each.
        let scn = Scenario::default();
        let a = [0, 5, 200_000, 0];
        let b = [10_000, 0, 0, 1];
        let chart = svg(
            &scn,
            160,
            &[
                Series {
                    name: "a & b",
                    values: &a,
                    color: "#000",
                    width: 1.0,
                    dash: None,
                },
                Series {
                    name: "b",
                    values: &b,
                    color: "#f00",
                    width: 2.0,
                    dash: Some("4 3"),
                },
            ],
        );
        assert!(chart.starts_with("<svg"));
        assert!(chart.trim_end().ends_with("</svg>"));
        assert_eq!(chart.matches("<path").count(), 2);
        assert!(chart.contains("a &amp; b"));
        assert!(chart.contains(">1M<"));
    }
}
