#!/usr/bin/env bash
# The project's one test command (README "Testing"). On a fresh machine it first installs what is
# missing (wasm target, wasm-bindgen-cli matching Cargo.lock, wasm-pack, Trunk, Debian chromium
# + chromedriver), then runs, failing loudly on the first error:
#   1. cargo fmt --check
#   2. cargo clippy -D warnings, host (all targets) and wasm32-unknown-unknown
#   3. cargo test --workspace (pure core, protocol, dev-server integration tests, doctests)
#   4. headless-Chromium browser tests (wasm-pack) against a real dev server, incl. a chaos soak
#   5. the demo built by Trunk, driven end to end through chromedriver
#   6. the demo command itself: scripts/demo.sh serves the page, proxies the stream, stops on Ctrl-C
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1;32m==> %s\033[0m\n' "$*"; }

# CI builds from scratch: incremental caches would only take disk space.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi
# A full run builds about 2.5 GB into target/; say up front when the disk may not hold it.
free_kb="$(df -Pk . | awk 'NR == 2 { print $4 }')"
echo "disk: $((free_kb / 1024 / 1024)) GiB free for $PWD"
if [ "$free_kb" -lt $((6 * 1024 * 1024)) ]; then
  printf '\033[1;33mwarning: under 6 GiB free; the build may fail with "No space left on device"\033[0m\n' >&2
fi

step "install missing tools"
scripts/install-tools.sh --trunk

step "cargo fmt --check"
cargo fmt --all -- --check

# The demo (strug-demo) enables leptos/csr; building it for the host inside the workspace would
# unify that feature into the library's host tests, so it is checked for wasm32 only.
step "cargo clippy (host, all targets)"
cargo clippy --workspace --exclude strug-demo --all-targets --locked -- -D warnings

step "cargo clippy (wasm32-unknown-unknown)"
cargo clippy -p leptos-task-stream -p task-stream-protocol --all-targets --target wasm32-unknown-unknown --locked -- -D warnings
cargo clippy -p strug-demo --target wasm32-unknown-unknown --locked -- -D warnings

step "cargo check: the library under leptos/ssr (host) and leptos/hydrate (wasm32)"
cargo check -p leptos-task-stream --features leptos/ssr --locked
cargo check -p leptos-task-stream --target wasm32-unknown-unknown --features leptos/hydrate --locked

step "cargo doc (no warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p leptos-task-stream -p task-stream-protocol --locked

step "cargo test (workspace, host)"
cargo test --workspace --exclude strug-demo --locked

step "cargo test -p strug-demo (the demo's pure helpers, host; built on its own so csr stays out of the library's tests)"
cargo test -p strug-demo --locked

step "browser tests: hook, components, hostile input, chaos soak (headless Chromium)"
scripts/browser-tests.sh

step "end-to-end: the Trunk-built demo in headless Chromium (WebDriver)"
scripts/e2e.sh

step "the demo command: page, Trunk proxy, Ctrl-C (scripts/demo-smoke.sh)"
scripts/demo-smoke.sh

du -sh target 2>/dev/null | sed 's/^/disk: target\/ holds /' || true
step "all checks passed"
