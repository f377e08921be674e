//! One connection per URL, shared by every component that asks for it.

use std::cell::RefCell;
use std::collections::HashMap;

use leptos::prelude::*;

use crate::options::TaskStreamOptions;
use crate::use_task_stream::{use_task_stream, UseTaskStream};

struct Entry {
    owner: Owner,
    stream: UseTaskStream,
    users: usize,
    /// The first caller's options, to tell a later caller that its own are not used.
    #[cfg(debug_assertions)]
    options: TaskStreamOptions,
}

thread_local! {
    // Streams by URL. Browsers allow six HTTP/1.1 connections per origin: a page that opened one
    // EventSource per component would exhaust them, so every shared user of a URL gets the same
    // stream, and the last one to unmount closes it.
    static REGISTRY: RefCell<HashMap<String, Entry>> = RefCell::new(HashMap::new());
}

/// An owner with no parent, so the shared stream outlives the component that created it (it is
/// closed when its last user unmounts, not when its first one does).
fn detached_owner() -> Owner {
    let current = Owner::current();
    if let Some(c) = current.clone() {
        c.unset();
    }
    let owner = Owner::new();
    if let Some(c) = current {
        c.set();
    }
    owner
}

/// Like [`use_task_stream`], but every caller with the same `url` shares one connection. The
/// first caller's `options` are used (debug builds warn on the console when a later caller's
/// differ); the connection closes when the last caller's component unmounts.
///
/// Call it in a component (under a reactive owner), like [`use_task_stream`]: the owner's
/// cleanup is what releases the caller's share. Outside an owner nothing could ever release
/// it, so it is not shared: the caller gets [`use_task_stream`]'s unowned stream, which closes
/// at once, and debug builds warn.
///
/// Sharing happens in the browser only. On the server (SSR) each caller gets its own inert
/// stream, as [`use_task_stream`] gives: nothing is opened there, and a registry shared by
/// concurrent requests, living outside each request's reactive arena, would be wrong.
///
/// ```no_run
/// use leptos::prelude::*;
/// use leptos_task_stream::{use_shared_task_stream, TaskStreamOptions};
///
/// #[component]
/// fn Counter() -> impl IntoView {
///     // Any number of these on a page open exactly one EventSource.
///     let stream = use_shared_task_stream("/api/events", TaskStreamOptions::default());
///     view! { <span>{move || stream.tasks.len()}</span> }
/// }
/// ```
pub fn use_shared_task_stream(url: impl Into<String>, options: TaskStreamOptions) -> UseTaskStream {
    if cfg!(not(target_arch = "wasm32")) {
        return use_task_stream(url, options);
    }
    let url = url.into();
    if Owner::current().is_none() {
        leptos::logging::debug_warn!(
            "leptos-task-stream: use_shared_task_stream({url:?}) called outside a reactive \
             owner; nothing could release it, so it is not shared. Call it inside a component."
        );
        return use_task_stream(url, options);
    }
    let existing = REGISTRY.with_borrow_mut(|r| {
        r.get_mut(&url).map(|e| {
            #[cfg(debug_assertions)]
            if e.options != options {
                leptos::logging::debug_warn!(
                    "leptos-task-stream: the shared stream for {url:?} is already open with \
                     other options; these are not used (the first caller's are)."
                );
            }
            e.users += 1;
            e.stream
        })
    });
    let stream = match existing {
        Some(stream) => stream,
        None => {
            let owner = detached_owner();
            #[cfg(debug_assertions)]
            let first = options.clone();
            let stream = owner.with(|| use_task_stream(url.clone(), options));
            REGISTRY.with_borrow_mut(|r| {
                r.insert(
                    url.clone(),
                    Entry {
                        owner,
                        stream,
                        users: 1,
                        #[cfg(debug_assertions)]
                        options: first,
                    },
                )
            });
            stream
        }
    };
    on_cleanup(move || release(&url));
    stream
}

fn release(url: &str) {
    let finished = REGISTRY.with_borrow_mut(|r| {
        let entry = r.get_mut(url)?;
        entry.users = entry.users.saturating_sub(1);
        if entry.users == 0 {
            r.remove(url).map(|e| e.owner)
        } else {
            None
        }
    });
    if let Some(owner) = finished {
        owner.cleanup();
    }
}

/// Number of shared streams currently open (for tests and diagnostics); always 0 on the server.
pub fn shared_stream_count() -> usize {
    REGISTRY.with_borrow(|r| r.len())
}

/// Provides the shared stream for `url` to every descendant, for the components
/// ([`TaskBoard`](crate::TaskBoard), [`StrugStream`](crate::StrugStream),
/// [`ConnectionBadge`](crate::ConnectionBadge)) and for [`use_task_stream_context`].
pub fn provide_task_stream(url: impl Into<String>, options: TaskStreamOptions) -> UseTaskStream {
    let stream = use_shared_task_stream(url, options);
    provide_context(stream);
    stream
}

/// The stream provided by the nearest [`TaskStreamProvider`] or [`provide_task_stream`].
///
/// # Panics
/// When no stream was provided: that is a programming error in the page, reported with a
/// message naming the fix.
pub fn use_task_stream_context() -> UseTaskStream {
    use_context::<UseTaskStream>().expect(
        "no task stream in context: wrap the component in <TaskStreamProvider url=…> or pass \
         its `stream` prop",
    )
}

/// Opens (or joins) the shared stream for `url` and provides it to its children.
///
/// ```no_run
/// use leptos::prelude::*;
/// use leptos_task_stream::{ConnectionBadge, StrugStream, TaskBoard, TaskStreamProvider};
///
/// #[component]
/// fn Page() -> impl IntoView {
///     view! {
///         // One EventSource for all three components.
///         <TaskStreamProvider url="/api/events">
///             <ConnectionBadge/>
///             <TaskBoard/>
///             <StrugStream/>
///         </TaskStreamProvider>
///     }
/// }
/// ```
#[component]
pub fn TaskStreamProvider(
    /// The SSE endpoint, e.g. `"/api/events"`.
    #[prop(into)]
    url: String,
    /// Stream options (backoff, stale timeout, activity capacity…). Defaults to
    /// [`TaskStreamOptions::default`]. When the URL is already open elsewhere on the page, the
    /// first opener's options apply.
    #[prop(optional)]
    options: Option<TaskStreamOptions>,
    /// The components that use the stream.
    children: Children,
) -> impl IntoView {
    provide_task_stream(url, options.unwrap_or_default());
    children()
}
