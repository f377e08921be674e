#!/usr/bin/env bash
# Smoke test of the demo command (README "Demo"): `scripts/demo.sh` starts, Trunk serves the
# page on http://127.0.0.1:8080, its [[proxy]] carries /api to the dev server (a live SSE
# snapshot arrives through it), and Ctrl-C (SIGINT) stops everything cleanly with status 0.
# Part of scripts/test.sh, after the end-to-end test (whose Trunk build it reuses).
set -euo pipefail
cd "$(dirname "$0")/.."

WEB_URL=http://127.0.0.1:8080
log_dir="${TEST_OUTPUT:-test-output}"
mkdir -p "$log_dir"
log="$log_dir/demo-smoke.log"

fail() {
  printf '\033[1;31m[demo-smoke]\033[0m %s (log: %s)\n' "$*" "$log" >&2
  tail -n 40 "$log" >&2 || true
  exit 1
}

for port in 8080 8787; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "port $port is already in use"
  fi
done

# Job control on: without it bash starts background jobs with SIGINT ignored, and the demo's
# Ctrl-C trap could never run.
set -m
scripts/demo.sh >"$log" 2>&1 &
pid=$!
set +m
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT

# The first build can take minutes on a fresh machine; after scripts/e2e.sh it is cached.
for _ in $(seq 1 1200); do
  curl -fsS -o /dev/null "$WEB_URL/" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || fail "scripts/demo.sh exited before serving the page"
  sleep 0.5
done
page="$(curl -fsS "$WEB_URL/")" || fail "no page on $WEB_URL"
grep -q '\.wasm' <<<"$page" || fail "the page does not load the demo's wasm"

# Through Trunk's proxy: the stream answers as SSE and starts with a snapshot. (curl stops at
# --max-time on the endless stream; what it read so far is what counts.)
stream="$(curl -s -N --max-time 3 -D - "$WEB_URL/api/events?client=demo-smoke" || true)"
grep -qi '^content-type: text/event-stream' <<<"$stream" || fail "/api/events through the proxy is not an event stream"
grep -q '^event: snapshot' <<<"$stream" || fail "no snapshot through the proxy"

kill -INT "$pid"
set +e
wait "$pid"
status=$?
set -e
trap - EXIT
[ "$status" -eq 0 ] || fail "scripts/demo.sh exited with $status on Ctrl-C"
for port in 8080 8787; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "port $port still in use after Ctrl-C"
  fi
done
echo "demo smoke: page, proxied event stream and clean Ctrl-C: ok"
