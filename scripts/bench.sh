#!/usr/bin/env bash
# The benchmark command (not part of the test command; takes several minutes). Regenerates
# target/bench/benchmarks.md and copies it to docs/benchmarks.md (with docs/storm.svg):
#   1. reconnect-storm simulation, native, on the crate's real state machine (benches/storm-sim)
#   2. bundle sizes of a bare counter, + use_task_stream, + use_text_stream, + leptos-use
#      undecoded and typed
#      (scripts/bench-bundle.sh)
#   3. browser benchmarks in headless Chromium, release builds of the tests and of the dev
#      server (tests/bench.rs): ingest
#      throughput vs a bare EventSource, a real-browser storm vs naive clients, connections per
#      origin, memory over 1,000 mount cycles
#   4. a long chaos soak (tests/soak.rs, SOAK_SECS, default 180 s) with its figures
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/bench
mkdir -p "$out"
step() { printf '\n\033[1;32m==> %s\033[0m\n' "$*"; }

scripts/install-tools.sh

step "reconnect-storm simulation"
cargo run --release --locked -p storm-sim -- --out "$out/storm.md" --svg docs/storm.svg

step "bundle sizes"
scripts/bench-bundle.sh "$out/bundle.md"

step "browser benchmarks (release build)"
# One browser session per benchmark: run after the 1,000 mount cycles of the memory benchmark,
# the first ingest rounds were up to a third slower, whatever the code.
: >"$out/browser.log"
for bench in ingest_throughput real_browser_storm connections_per_origin memory_over_mount_cycles; do
  DEV_SERVER_PROFILE=release WASM_PACK_FLAGS=--release \
    BROWSER_TESTS="--test bench -- $bench --nocapture" \
    scripts/browser-tests.sh 2>&1 | tee -a "$out/browser.log"
done

step "long chaos soak"
SOAK_SECS="${SOAK_SECS:-180}" BROWSER_TESTS="--test soak -- --nocapture" \
  scripts/browser-tests.sh 2>&1 | tee "$out/soak.log"

step "report"
python3 scripts/bench_report.py "$out" >"$out/benchmarks.md"
cp "$out/benchmarks.md" docs/benchmarks.md
echo "wrote docs/benchmarks.md"
