#!/usr/bin/env bash
# The demo in one command: installs what is missing (wasm target, wasm-bindgen-cli matching
# Cargo.lock, Trunk), builds, starts `strug-dev-server --chaos` on 127.0.0.1:8787 and
# `trunk serve` on http://127.0.0.1:8080 (which proxies /api to the server), and stops both on
# Ctrl-C. Exits non-zero if either fails to start or dies.
#
#   scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

API_PORT=8787 # must match the [[proxy]] backend in Trunk.toml
WEB_URL=http://127.0.0.1:8080
log_dir="${TEST_OUTPUT:-test-output}"
mkdir -p "$log_dir"
server_log="$log_dir/demo-server.log"

say() { printf '\033[1;34m[demo]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[demo]\033[0m %s\n' "$*" >&2; exit 1; }

scripts/install-tools.sh --demo

lock_version="$(awk '/^name = "wasm-bindgen"$/ { getline; sub(/^version = "/, ""); sub(/"$/, ""); print; exit }' Cargo.lock)"
trunk_version="$(sed -n 's/^wasm_bindgen = "\(.*\)"$/\1/p' Trunk.toml)"
[ "$lock_version" = "$trunk_version" ] ||
  die "Trunk.toml [tools] wasm_bindgen = \"$trunk_version\" but Cargo.lock has $lock_version"

say "building the dev server and the demo (the first build takes a few minutes)"
cargo build -p strug-dev-server --locked
# Built once up front: `trunk serve` keeps running on a failed build, so failures show here.
trunk build --locked

server_pid=""
trunk_pid=""
cleanup() {
  trap - EXIT INT TERM
  # SIGTERM: both shut down gracefully on it (the server ends its streams cleanly).
  for pid in $trunk_pid $server_pid; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $trunk_pid $server_pid; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'say "stopping"; cleanup; exit 0' INT TERM

# Each child gets its own session (setsid): Ctrl-C then reaches only this script, whose trap
# stops both in order, instead of racing the children's own SIGINT handling.
setsid "${CARGO_TARGET_DIR:-target}/debug/strug-dev-server" --chaos --port "$API_PORT" >"$server_log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q '^strug-dev-server listening on ' "$server_log" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$server_log" >&2; die "strug-dev-server failed to start (is port $API_PORT free?)"; }
  sleep 0.1
done
grep -q '^strug-dev-server listening on ' "$server_log" || die "strug-dev-server did not start; see $server_log"
say "dev server on http://127.0.0.1:$API_PORT (log: $server_log)"

setsid trunk serve --locked &
trunk_pid=$!
for _ in $(seq 1 600); do
  curl -fsS -o /dev/null "$WEB_URL/" 2>/dev/null && break
  kill -0 "$trunk_pid" 2>/dev/null || die "trunk serve failed to start (is port 8080 free?)"
  sleep 0.2
done
curl -fsS -o /dev/null "$WEB_URL/" || die "trunk serve did not answer on $WEB_URL"

printf '\n  \033[1mStrug Central is running at %s\033[0m  (Ctrl-C stops it)\n\n' "$WEB_URL"

# Whichever stops first ends the demo: a dead server or Trunk is a failure.
set +e
wait -n "$server_pid" "$trunk_pid"
status=$?
set -e
die "a demo process exited unexpectedly (status $status); server log: $server_log"
