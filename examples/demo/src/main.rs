//! Strug Central: the `leptos-task-stream` demo. Built and served by Trunk (`scripts/demo.sh`);
//! `/api` is proxied to `strug-dev-server --chaos`.

mod api;
mod app;
mod chaos;
mod chart;

fn main() {
    leptos::mount::mount_to_body(app::App);
}
