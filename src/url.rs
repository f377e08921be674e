//! URL helpers for resuming (pure, tested natively).

/// Returns `url` with `param=value` set in its query string, replacing an existing `param`,
/// keeping any `#fragment` last. `value` is percent-encoded (everything but RFC 3986 unreserved
/// characters), so hostile ids cannot inject further parameters.
///
/// ```
/// use leptos_task_stream::url::with_query_param;
/// assert_eq!(with_query_param("/api/events", "lastEventId", "42"), "/api/events?lastEventId=42");
/// assert_eq!(
///     with_query_param("/e?client=a&lastEventId=1#x", "lastEventId", "7&x=1"),
///     "/e?client=a&lastEventId=7%26x%3D1#x"
/// );
/// ```
pub fn with_query_param(url: &str, param: &str, value: &str) -> String {
    // No `&s[..i]` here, nor in the rest of the browser build: slicing brings the code and the
    // text of its panic message into every app.
    let (base, fragment) = url
        .find('#')
        .and_then(|i| url.split_at_checked(i))
        .unwrap_or((url, ""));
    let (path, query) = base.split_once('?').unwrap_or((base, ""));
    let key = encode(param);
    let mut parts: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| p.split('=').next() != Some(key.as_str()))
        .map(str::to_owned)
        .collect();
    parts.push(format!("{key}={}", encode(value)));
    format!("{path}?{}{fragment}", parts.join("&"))
}

fn encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_replaces_and_encodes() {
        assert_eq!(
            with_query_param("/a?x=1", "lastEventId", "5"),
            "/a?x=1&lastEventId=5"
        );
        assert_eq!(
            with_query_param("/a?lastEventId=4&x=1", "lastEventId", "5"),
            "/a?x=1&lastEventId=5"
        );
        assert_eq!(with_query_param("/a?", "p", "é /"), "/a?p=%C3%A9%20%2F");
        assert_eq!(
            with_query_param("http://127.0.0.1:8787/api/events#top", "lastEventId", "9"),
            "http://127.0.0.1:8787/api/events?lastEventId=9#top"
        );
    }
}
