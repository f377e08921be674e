//! Property test over request inputs: whatever method, path, query, headers and body a client
//! sends, the server answers (no panic), never with a 5xx other than the deliberate 503s, and
//! keeps serving afterwards.

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use proptest::prelude::*;
use strug_dev_server::{app, AppState, Config};
use tower::ServiceExt;

mod common;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

fn state() -> &'static AppState {
    static STATE: OnceLock<AppState> = OnceLock::new();
    STATE.get_or_init(|| {
        let _guard = runtime().enter();
        AppState::new(Config {
            max_streams: Some(1_000),
            ..common::config()
        })
    })
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::GET),
        Just(Method::POST),
        Just(Method::PUT),
        Just(Method::DELETE),
        Just(Method::PATCH),
        Just(Method::OPTIONS),
        Just(Method::HEAD),
    ]
}

/// Any string, percent-encoded so it can sit in a URI.
fn encoded(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(|bytes| {
        bytes
            .iter()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (*b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    })
}

fn path() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just("/api/events".to_owned()),
            Just("/api/missions".to_owned()),
            encoded(24).prop_map(|x| format!("/api/missions/{x}/events")),
            Just("/api/firehose".to_owned()),
            Just("/api/state".to_owned()),
            Just("/api/metrics".to_owned()),
            Just("/api/metrics/reset".to_owned()),
            Just("/api/chaos".to_owned()),
            prop_oneof![
                Just("drop"),
                Just("outage"),
                Just("stall"),
                Just("flap"),
                Just("inject"),
                Just("end"),
                Just("heal"),
                Just("nope"),
            ]
            .prop_map(|x| format!("/api/chaos/{x}")),
            encoded(24).prop_map(|x| format!("/{x}")),
        ],
        proptest::collection::vec(
            (
                prop_oneof![
                    Just("lastEventId".to_owned()),
                    Just("client".to_owned()),
                    Just("n".to_owned()),
                    encoded(8)
                ],
                prop_oneof![
                    encoded(80),
                    any::<i64>().prop_map(|n| n.to_string()),
                    Just("18446744073709551616".to_owned()),
                ],
            ),
            0..4,
        ),
    )
        .prop_map(|(path, query)| {
            if query.is_empty() {
                path
            } else {
                let q: Vec<String> = query.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{path}?{}", q.join("&"))
            }
        })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        Just(Vec::new()),
        Just(b"{}".to_vec()),
        Just(b"null".to_vec()),
        (any::<i64>(), any::<f64>(), ".{0,40}").prop_map(|(n, f, s)| {
            serde_json::json!({ "tasks": n, "secs": f, "after_ms": n, "client": s, "event": s,
                "data": s, "raw_base64": s, "retry_after": n, "reason": s })
            .to_string()
            .into_bytes()
        }),
    ]
}

/// Header values a real client can send (visible ASCII and spaces).
fn header_value() -> impl Strategy<Value = String> {
    "[ -~]{0,64}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Pins: no request input makes the server panic or answer 5xx (other than the deliberate
    /// 503 of an injected outage or admission control).
    #[test]
    fn any_request_gets_a_non_5xx_answer(
        method in method(),
        uri in path(),
        last_event_id in proptest::option::of(header_value()),
        content_type in proptest::option::of(prop_oneof![
            Just("application/json".to_owned()), Just("text/plain".to_owned()), header_value()
        ]),
        origin in proptest::option::of(prop_oneof![
            Just("http://127.0.0.1:8080".to_owned()), Just("https://evil.example".to_owned()), header_value()
        ]),
        body in body(),
    ) {
        let mut request = Request::builder().method(method.clone()).uri(&uri);
        if let Some(v) = &last_event_id {
            request = request.header("last-event-id", v);
        }
        if let Some(v) = &content_type {
            request = request.header("content-type", v);
        }
        if let Some(v) = &origin {
            request = request.header("origin", v);
        }
        let request = request.body(Body::from(body)).expect("valid request");
        let (status, after) = runtime().block_on(async {
            let response = app(state().clone()).oneshot(request).await.expect("infallible");
            // Heal at once: a fuzzed outage or stall must not shadow later cases.
            let heal = Request::post("/api/chaos/heal").body(Body::empty()).unwrap();
            let _ = app(state().clone()).oneshot(heal).await;
            // And the server still serves.
            let check = Request::get("/api/state").body(Body::empty()).unwrap();
            let after = app(state().clone()).oneshot(check).await.expect("infallible").status();
            (response.status(), after)
        });
        prop_assert!(
            !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
            "{method} {uri} -> {status}"
        );
        prop_assert_eq!(after, StatusCode::OK, "state unavailable after {} {}", method, uri);
    }
}
