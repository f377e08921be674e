#!/usr/bin/env bash
# Headless-Chromium browser tests (tests/browser.rs: the hook; tests/components.rs: the
# components) against a real strug-dev-server.
# Starts the server on an ephemeral 127.0.0.1 port with chaos enabled, runs
# `wasm-pack test --headless --chrome`, and stops the server on exit (also on failure).
set -euo pipefail
cd "$(dirname "$0")/.."

out_dir="${TEST_OUTPUT:-test-output}"
mkdir -p "$out_dir"
log="$out_dir/dev-server.log"

cargo build -p strug-dev-server --locked --quiet
./target/debug/strug-dev-server --chaos --port 0 --heartbeat-secs 0.5 --tick-ms 100 --no-ambient \
  >"$log" 2>&1 &
server_pid=$!
cleanup() { kill -INT "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
trap cleanup EXIT

url=""
for _ in $(seq 1 100); do
  url="$(sed -n 's/^strug-dev-server listening on \(http:[^ ]*\)$/\1/p' "$log" | head -n1)"
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; echo "dev server exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$log" >&2; echo "dev server did not report its address" >&2; exit 1; }
echo "dev server at $url"

export STRUG_SERVER_URL="$url"
# The runner's default budget (20 s for a whole test binary) is shorter than the suite, which
# waits out real backoff delays, outages and stalls; each test bounds its own waits.
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-300}"
export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
# wasm-pack reads webdriver.json (Chromium flags for running headless as root) from the crate root.
wasm-pack test --headless --chrome -- --locked --test browser --test components --test hostile
