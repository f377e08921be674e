#!/usr/bin/env bash
# End-to-end test of the demo: builds it with Trunk (dev profile: much faster to compile than
# the size-optimised release profile, and the test does not measure size), then runs
# server/tests/demo_e2e.rs, which serves dist/ with `strug-dev-server --static-dir` and drives
# headless Chromium through chromedriver. Screenshots land in test-output/ (demo-e2e.png).
#
# Needs trunk (scripts/install-tools.sh --trunk), wasm-bindgen-cli matching Cargo.lock,
# chromium and chromedriver.
set -euo pipefail
cd "$(dirname "$0")/.."

# Trunk.toml pins the wasm-bindgen CLI version and Trunk runs offline: a drift would only show
# up as an obscure Trunk error, so say it plainly here.
lock_version="$(awk '/^name = "wasm-bindgen"$/ { getline; sub(/^version = "/, ""); sub(/"$/, ""); print; exit }' Cargo.lock)"
trunk_version="$(sed -n 's/^wasm_bindgen = "\(.*\)"$/\1/p' Trunk.toml)"
if [ "$lock_version" != "$trunk_version" ]; then
  echo "Trunk.toml [tools] wasm_bindgen = \"$trunk_version\" but Cargo.lock has $lock_version" >&2
  exit 1
fi
command -v trunk >/dev/null || { echo "trunk not found: run scripts/install-tools.sh --trunk" >&2; exit 1; }

# shellcheck source=scripts/private-tmp.sh
. scripts/private-tmp.sh
trap remove_private_tmp EXIT
trunk build --locked
DEMO_DIST="$PWD/dist" cargo test -p strug-dev-server --locked --test demo_e2e -- --ignored --nocapture
