//! Inputs on which the reader must give serde_json's verdict, and the comparison itself: shared
//! by the native tests (`tests.rs`) and the browser ones (`tests_browser.rs`, where numbers go
//! through the browser's `parseFloat`).

use super::decode_lite;
use crate::protocol::{DecodeError, TaskEvent};

/// `decode_lite` and `TaskEvent::decode` (serde) agree: both decode to the same event (floats
/// within rounding of each other: serde_json's default conversion is not always correctly
/// rounded), or both fail with the same kind of error for the same event.
pub(super) fn agree(name: &str, data: &str) {
    let ours = decode_lite(name, data);
    let serde = TaskEvent::decode(name, data);
    match (&ours, &serde) {
        (Ok(a), Ok(b)) => assert!(same_event(a, b), "{name} {data:?}: {a:?} vs {b:?}"),
        (
            Err(DecodeError::Malformed { event: a, message }),
            Err(DecodeError::Malformed { event: b, .. }),
        ) => {
            assert_eq!(a, b, "{name} {data:?}");
            assert!(message.contains(" at line "), "{message}");
        }
        (
            Err(DecodeError::UnknownEvent { name: a }),
            Err(DecodeError::UnknownEvent { name: b }),
        ) => {
            assert_eq!(a, b)
        }
        _ => panic!("{name} {data:?}: ours {ours:?}, serde {serde:?}"),
    }
}

fn same_event(a: &TaskEvent, b: &TaskEvent) -> bool {
    /// To the bit: both sides round correctly (serde_json with `float_roundtrip`).
    fn close(a: Option<f64>, b: Option<f64>) -> bool {
        a.map(f64::to_bits) == b.map(f64::to_bits)
    }
    fn same_task(a: &crate::protocol::Task, b: &crate::protocol::Task) -> bool {
        close(a.progress, b.progress)
            && crate::protocol::Task {
                progress: None,
                ..a.clone()
            } == crate::protocol::Task {
                progress: None,
                ..b.clone()
            }
    }
    match (a, b) {
        (TaskEvent::Task(x), TaskEvent::Task(y)) => same_task(x, y),
        (TaskEvent::Snapshot(x), TaskEvent::Snapshot(y)) => {
            x.tasks.len() == y.tasks.len()
                && x.tasks.iter().zip(&y.tasks).all(|(x, y)| same_task(x, y))
        }
        _ => a == b,
    }
}

pub(super) const TASK: &str = r#"{"id":"t1","title":"Index repo","status":"running","agent":"scout","progress":0.5,"version":3,"updated_at":"2026-11-25T14:00:00Z"}"#;

/// Hand-picked inputs: every rule of the module docs, each edge of the grammar.
pub(super) fn hand_picked() -> Vec<(&'static str, String)> {
    let cases: &[(&str, &str)] = &[
        ("task", TASK),
        ("task", &format!(" \n\t{TASK}\r\n ")),
        ("task", &format!("{TASK} x")),
        ("task", &format!("{TASK},")),
        ("task", &format!("\u{a0}{TASK}")),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":null,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":1,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":-0,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":1e400,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":-1e400,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":1e-400,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":0e99999999999999999999,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":123456789012345678901234567890,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":0.1234567890123456789,"version":1,"updated_at":"u"}"#),
        // The edges of f64, where a conversion that is not correctly rounded decides otherwise:
        // just below and just above the midpoint between f64::MAX and overflow, the smallest
        // subnormal's rounding, and a 13-digit mantissa with an exponent.
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":1.7976931348623158e308,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":1.79769313486231585e308,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":-179769313486231570806898e285,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":2.4703282292062328e-324,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":2.4703282292062327e-324,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":3333864018437E74,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":"0.5","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":1.,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":.5,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":01,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":1e,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":1E+2,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","progress":nul,"version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":18446744073709551615,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":18446744073709551616,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":1.0,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":1e2,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":-1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":-0,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":00,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":0012,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":0,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":"1","updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":null,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":true,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","id":"t2","title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"i\u0064":"t1","title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","\ud800":1,"title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","x":"\ud800","title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","x":"\uZZZZ","title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","x":"\q","title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"\ud83d\ude00 \u00e9 \" \\ \/ \b \f \n \r \t","title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"\ud83d","title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"\ud83d\u0041","title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"\ud83dx","title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"\udfff","title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"\udbff\udfff \ud800\udc00 \ud7ff \ue000","title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"\ud800\ue000","title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"\ud800\ud800","title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","x":"\ud800\ud800","title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"\ude00","title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"\u12","title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", "{\"id\":\"a\tb\",\"title\":\"x\",\"status\":\"done\",\"agent\":\"a\",\"version\":1,\"updated_at\":\"u\"}"),
        ("task", "{\"id\":\"t1\",\"x\":\"a\u{1}b\",\"title\":\"x\",\"status\":\"done\",\"agent\":\"a\",\"version\":1,\"updated_at\":\"u\"}"),
        ("task", r#"{"id":"t1","title":"x","status":{"done":null},"agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":{"done":1},"agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":{"done":null,"x":1},"agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":{"nope":null},"agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":{},"agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"Done","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"d\u006fne","agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"{"id":"t1","title":"x","status":0,"agent":"a","version":1,"updated_at":"u"}"#),
        ("task", r#"["t1","x","done","a",0.5,1,"u"]"#),
        ("task", r#"["t1","x","done","a",null,1,"u"]"#),
        ("task", r#"["t1","x","done","a"]"#),
        ("task", r#"["t1","x","done","a",0.5,1,"u",7]"#),
        ("task", r#"["t1","x","done","a",0.5,1,"u",]"#),
        ("task", r#"["t1","x","done","a",0.5,1,]"#),
        ("task", r#"[]"#),
        ("task", r#"{}"#),
        ("task", r#"{"id":"t1",}"#),
        ("task", r#"{,}"#),
        ("task", r#"{"id" "t1"}"#),
        ("task", r#"{"id":"t1" "title":"x"}"#),
        ("task", r#"{1:2}"#),
        ("task", r#""#),
        ("task", r#"   "#),
        ("task", r#"null"#),
        ("task", r#"{"id":"t1""#),
        ("task", r#"{"id":"t1"#),
        ("task", r#"{"id":"#),
        ("task", r#"{"#),
        ("task", r#"{not json"#),
        ("task", r#"[1,2,3]"#),
        ("task", r#"{"id":"t1","title":"x","status":"exploded","agent":"a","version":1,"updated_at":"x"}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":1,"updated_at":"u","surprise":{"nested":[1,2,3,{"a":[true,false,null,-1.5e-3,"s\"\\"]},[],{}]}}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":1,"updated_at":"u","s":[1,]}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":1,"updated_at":"u","s":{"a":1,}}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":1,"updated_at":"u","s":{"a" 1}}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":1,"updated_at":"u","s":[1 2]}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":1,"updated_at":"u","s":[}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":1,"updated_at":"u","s":tru}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":1,"updated_at":"u","s":01}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":1,"updated_at":"u","s":-}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":1,"updated_at":"u","s":{"a":1}"#),
        ("task", r#"{"id":"t1","title":"x","status":"done","agent":"a","version":1,"updated_at":"u","s":1,"s":2}"#),
        ("snapshot", &format!(r#"{{"tasks":[{TASK},{TASK}]}}"#)),
        ("snapshot", &format!(r#"{{"tasks":[{TASK},]}}"#)),
        ("snapshot", &format!(r#"{{"tasks":[{TASK} {TASK}]}}"#)),
        ("snapshot", r#"{"tasks":[]}"#),
        ("snapshot", r#"{"tasks":{}}"#),
        ("snapshot", r#"{"tasks":null}"#),
        ("snapshot", r#"[[]]"#),
        ("snapshot", r#"{"tasks":[],"tasks":[]}"#),
        ("snapshot", r#"{"tasks":[1]}"#),
        ("task_removed", r#"{"id":"t9","extra":[1,{"a":null}]}"#),
        ("task_removed", r#"["t9"]"#),
        ("task_removed", r#"42"#),
        ("activity", r#"{"id":"a1","task_id":"t1","agent":"scout","level":"warn","message":"<b>hi</b>","at":"2026"}"#),
        ("activity", r#"{"id":"a1","task_id":null,"agent":"scout","level":"info","message":"m","at":"2026"}"#),
        ("activity", r#"{"id":"a1","agent":"scout","level":"error","message":"m","at":"2026"}"#),
        ("activity", r#"{"id":"a1","agent":"scout","level":"fatal","message":"m","at":"2026"}"#),
        ("activity", r#"{"id":"a1","task_id":5,"agent":"scout","level":"info","message":"m","at":"2026"}"#),
        ("activity", r#"["a1",null,"scout","info","m","2026"]"#),
        ("activity", r#"["a1"]"#),
        ("activity", "null"),
        ("heartbeat", ""),
        ("heartbeat", " \n "),
        ("heartbeat", "\u{2003}"),
        ("heartbeat", "{}"),
        ("heartbeat", r#"{"at":"2026"}"#),
        ("heartbeat", r#"{"at":null}"#),
        ("heartbeat", r#"[]"#),
        ("heartbeat", r#"["2026"]"#),
        ("heartbeat", r#"[null,1]"#),
        ("heartbeat", r#"1"#),
        ("end", r#"{"reason":"mission complete"}"#),
        ("end", r#"{}"#),
        ("end", ""),
        ("message", "{}"),
        ("bogus", "{}"),
    ];
    let mut cases: Vec<(&'static str, String)> =
        cases.iter().map(|(n, d)| (*n, d.to_string())).collect();
    let deep = format!(
        r#"{{"id":"t1","d":{}{},"title":"x","status":"done","agent":"a","version":1,"updated_at":"u"}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    cases.push(("task", deep[..deep.len() / 2].to_string()));
    cases.push(("task", deep));
    cases
}
