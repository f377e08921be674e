#!/usr/bin/env bash
# Headless-Chromium browser tests against a real strug-dev-server:
#   src/ (--lib)         the browser build's JSON reader and float text against serde / Rust
#   tests/browser.rs     the hook (connect, resume, backoff timing, stale, end, offline, cleanup)
#   tests/fetch.rs       the fetch transport (tokens, status codes, Retry-After, retry:, chunkings)
#   tests/components.rs  the components (DOM, counts, moves, feed scrolling, badge, sharing, XSS)
#   tests/hostile.rs     hostile and broken input, 1,000 mount cycles
#   tests/soak.rs        seeded chaos soak with real server restarts (SOAK_SEED / SOAK_SECS)
#
# The server runs with chaos enabled on an ephemeral 127.0.0.1 port under a small supervisor
# that restarts it on the same port when it exits with status 75 (POST /api/chaos/restart), so
# the soak exercises a real process restart that loses the event log. Both are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/private-tmp.sh
. scripts/private-tmp.sh

out_dir="${TEST_OUTPUT:-test-output}"
mkdir -p "$out_dir"
log="$out_dir/dev-server.log"
: >"$log"
pid_file="$out_dir/dev-server.pid"
: >"$pid_file"

# DEV_SERVER_PROFILE=release (the benchmarks) builds the server optimised: a debug build spends
# about 0.5 s of CPU on a 100,000-event firehose, on a machine whose two cores also run the
# browser, so it would be measured with the client.
profile="${DEV_SERVER_PROFILE:-debug}"
case "$profile" in
  debug) cargo build -p strug-dev-server --locked --quiet ;;
  release) cargo build -p strug-dev-server --release --locked --quiet ;;
  *) echo "DEV_SERVER_PROFILE must be debug or release, not '$profile'" >&2; exit 2 ;;
esac
server=("./target/$profile/strug-dev-server" --chaos --heartbeat-secs 0.5 --tick-ms 100 --no-ambient)

address() { sed -n 's/^strug-dev-server listening on \(http:[^ ]*\)$/\1/p' "$log" | head -n1; }

# Owns the server process (only the shell that started a process can `wait` for its status).
supervise() {
  local port=0 pid code
  while true; do
    "${server[@]}" --port "$port" >>"$log" 2>&1 &
    pid=$!
    echo "$pid" >"$pid_file"
    if [ "$port" = 0 ]; then
      for _ in $(seq 1 100); do
        [ -n "$(address)" ] && break
        sleep 0.1
      done
      port="$(address)"
      port="${port##*:}"
    fi
    code=0
    wait "$pid" || code=$?
    [ "$code" = 75 ] || exit "$code"
    echo "supervisor: restarting the dev server on port $port" >>"$log"
  done
}
supervise &
supervisor_pid=$!
cleanup() {
  [ -s "$pid_file" ] && kill -INT "$(cat "$pid_file")" 2>/dev/null || true
  wait "$supervisor_pid" 2>/dev/null || true
  remove_private_tmp
}
trap cleanup EXIT

url=""
for _ in $(seq 1 100); do
  url="$(address)"
  [ -n "$url" ] && break
  kill -0 "$supervisor_pid" 2>/dev/null || { cat "$log" >&2; echo "dev server exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$log" >&2; echo "dev server did not report its address" >&2; exit 1; }
echo "dev server at $url"

export STRUG_SERVER_URL="$url"
export SOAK_SEED="${SOAK_SEED:-$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')}"
export SOAK_SECS="${SOAK_SECS:-40}"
echo "chaos soak: SOAK_SEED=$SOAK_SEED SOAK_SECS=$SOAK_SECS (replay: SOAK_SEED=$SOAK_SEED $0)"
# The runner's default budget (20 s for a whole test binary) is shorter than the suite, which
# waits out real backoff delays, outages and stalls; each test bounds its own waits.
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-300}"
export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
# wasm-pack reads webdriver.json (Chromium flags for running headless as root) from the crate root.
# BROWSER_TESTS overrides the suites to run and WASM_PACK_FLAGS adds wasm-pack flags such as
# --release (scripts/bench.sh runs tests/bench.rs and a long soak this way).
# shellcheck disable=SC2086
wasm-pack test ${WASM_PACK_FLAGS:-} --headless --chrome -- --locked \
  ${BROWSER_TESTS:---lib --test browser --test fetch --test components --test hostile --test soak}
