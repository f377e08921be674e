//! The two HTTP calls the demo makes besides the stream: chaos POSTs and metrics polls.
//!
//! Plain `fetch` through `web-sys` rather than an HTTP crate: two calls do not justify a
//! dependency, and errors become display strings at once because the page only shows them.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// An HTTP answer: status and body text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// `POST path` with a JSON body.
pub async fn post_json(path: &str, body: &str) -> Result<Answer, String> {
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&body.into());
    let request = Request::new_with_str_and_init(path, &init).map_err(js_error)?;
    request
        .headers()
        .set("content-type", "application/json")
        .map_err(js_error)?;
    send(request).await
}

/// `GET path`.
pub async fn get(path: &str) -> Result<Answer, String> {
    let request = Request::new_with_str(path).map_err(js_error)?;
    send(request).await
}

async fn send(request: Request) -> Result<Answer, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(js_error)?
        .dyn_into()
        .map_err(|_| "fetch did not return a Response".to_owned())?;
    let text = JsFuture::from(response.text().map_err(js_error)?)
        .await
        .map_err(js_error)?;
    Ok(Answer {
        status: response.status(),
        body: text.as_string().unwrap_or_default(),
    })
}

/// A readable message from a thrown JS value (a `TypeError: Failed to fetch`, usually).
fn js_error(value: wasm_bindgen::JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "request failed".to_owned())
}
