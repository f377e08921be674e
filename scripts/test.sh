#!/usr/bin/env bash
# The project's one test command (README "Testing"). On a fresh machine it first installs what is
# missing (wasm target, wasm-bindgen-cli matching Cargo.lock, wasm-pack, Debian chromium +
# chromedriver), then runs, failing loudly on the first error:
#   1. cargo fmt --check
#   2. cargo clippy -D warnings, host (all targets) and wasm32-unknown-unknown
#   3. cargo test --workspace (pure core, protocol, dev-server integration tests, doctests)
#   4. headless-Chromium browser tests (wasm-pack) against a real dev server
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1;32m==> %s\033[0m\n' "$*"; }

step "install missing tools"
scripts/install-tools.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (host, all targets)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo clippy (wasm32-unknown-unknown)"
cargo clippy -p leptos-task-stream -p task-stream-protocol --all-targets --target wasm32-unknown-unknown --locked -- -D warnings

step "cargo check: the library under leptos/ssr (host) and leptos/hydrate (wasm32)"
cargo check -p leptos-task-stream --features leptos/ssr --locked
cargo check -p leptos-task-stream --target wasm32-unknown-unknown --features leptos/hydrate --locked

step "cargo doc (no warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p leptos-task-stream -p task-stream-protocol --locked

step "cargo test (workspace, host)"
cargo test --workspace --locked

if [ -x scripts/browser-tests.sh ]; then
  step "browser tests (headless Chromium)"
  scripts/browser-tests.sh
fi

step "all checks passed"
