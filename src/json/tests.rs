//! The reader must give serde_json's verdict on every input: the same events, the same errors.

use proptest::prelude::*;

use super::corpus::{agree, hand_picked};
use crate::protocol::DecodeError;

#[test]
fn agrees_with_serde_on_hand_picked_inputs() {
    for (name, data) in hand_picked() {
        agree(name, &data);
    }
}

#[test]
fn messages_name_the_problem_and_its_place() {
    let message = |name: &str, data: &str| match super::decode_lite(name, data) {
        Err(DecodeError::Malformed { message, .. }) => message,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        message("task_removed", "{}"),
        "missing field `id` at line 1 column 3"
    );
    assert_eq!(
        message("task_removed", "{\"id\":\"a\",\n\"id\":\"b\"}"),
        "duplicate field `id` at line 2 column 6"
    );
    assert_eq!(
        message("task_removed", "{\"id\":1}"),
        "invalid type: a number, expected a string at line 1 column 7"
    );
    assert_eq!(
        message("task", "{not json"),
        "key must be a string at line 1 column 2"
    );
}

/// A JSON value of the protocol's shapes, often valid, sometimes slightly wrong.
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        "-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,4})?",
        "\"([a-z ]|\\\\[\"\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4}|é|😀){0,8}\"",
        prop_oneof![
            Just("queued"),
            Just("running"),
            Just("blocked"),
            Just("done"),
            Just("failed"),
            Just("info"),
            Just("warn"),
            Just("error")
        ]
        .prop_map(|s| format!("\"{s}\"")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key(), inner), 0..8).prop_map(|v| {
                let fields: Vec<String> =
                    v.into_iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("id".to_string()),
        Just("title".to_string()),
        Just("status".to_string()),
        Just("agent".to_string()),
        Just("progress".to_string()),
        Just("version".to_string()),
        Just("updated_at".to_string()),
        Just("tasks".to_string()),
        Just("task_id".to_string()),
        Just("level".to_string()),
        Just("message".to_string()),
        Just("at".to_string()),
        Just("reason".to_string()),
        "[a-z_]{1,6}",
    ]
}

/// A payload near the protocol's: a task with some fields changed, dropped or added, or any value.
fn payload() -> impl Strategy<Value = String> {
    let field = |k: &'static str, good: BoxedStrategy<String>| {
        prop_oneof![
            6 => good.prop_map(move |v| Some(format!("\"{k}\":{v}"))),
            1 => value().prop_map(move |v| Some(format!("\"{k}\":{v}"))),
            1 => Just(None),
        ]
    };
    let s = || "\"[a-z0-9]{0,6}\"".prop_map(String::from).boxed();
    let status = prop_oneof![
        Just("\"queued\"".to_string()),
        Just("\"done\"".to_string()),
        Just("{\"running\":null}".to_string())
    ]
    .boxed();
    let progress = prop_oneof![
        Just("null".to_string()),
        (0.0f64..=1.0).prop_map(|f| f.to_string())
    ]
    .boxed();
    let task = (
        field("id", s()),
        field("title", s()),
        field("status", status),
        field("agent", s()),
        field("progress", progress),
        field("version", any::<u32>().prop_map(|n| n.to_string()).boxed()),
        field("updated_at", s()),
        prop::collection::vec((key(), value()), 0..3),
    )
        .prop_map(|(a, b, c, d, e, f, g, extra)| {
            let mut fields: Vec<String> = [a, b, c, d, e, f, g].into_iter().flatten().collect();
            fields.extend(extra.into_iter().map(|(k, v)| format!("\"{k}\":{v}")));
            format!("{{{}}}", fields.join(","))
        })
        .boxed();
    prop_oneof![
        4 => task.clone(),
        1 => prop::collection::vec(task, 0..4).prop_map(|v| format!("{{\"tasks\":[{}]}}", v.join(","))),
        2 => value(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn agrees_with_serde_on_generated_payloads(
        name in prop_oneof![
            Just("task"), Just("snapshot"), Just("task_removed"), Just("activity"),
            Just("heartbeat"), Just("end"), Just("message")
        ],
        data in payload(),
    ) {
        agree(name, &data);
    }

    #[test]
    fn agrees_with_serde_on_damaged_payloads(
        name in prop_oneof![Just("task"), Just("snapshot"), Just("activity")],
        data in payload(),
        cut in any::<prop::sample::Index>(),
        byte in prop_oneof![Just(b'"'), Just(b','), Just(b'}'), Just(b']'), Just(b'\\'), Just(b'1'), Just(b' '), Just(b'n')],
        mode in 0..3u8,
    ) {
        let mut bytes = data.into_bytes();
        let at = cut.index(bytes.len() + 1);
        match mode {
            0 => bytes.truncate(at),
            1 => bytes.insert(at, byte),
            _ => { if at < bytes.len() { bytes.remove(at); } }
        }
        if let Ok(data) = String::from_utf8(bytes) {
            agree(name, &data);
        }
    }
}

proptest! {
    /// The fast path of `parse_f64` is exact: bit for bit the correctly rounded value.
    #[test]
    fn numbers_are_correctly_rounded(text in "-?(0|[1-9][0-9]{0,18})(\\.[0-9]{1,19})?([eE][+-]?[0-9]{1,3})?") {
        let want: f64 = text.parse().unwrap();
        prop_assert_eq!(super::parse_f64(&text).to_bits(), want.to_bits(), "{}", text);
    }
}
