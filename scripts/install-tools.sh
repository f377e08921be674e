#!/usr/bin/env bash
# Installs what the test command needs on a fresh machine, skipping what is already there at the
# right version. Everything comes from crates.io or Debian; nothing is downloaded from elsewhere.
#
#   scripts/install-tools.sh            # wasm target, wasm-bindgen-cli (pinned by Cargo.lock), wasm-pack, chromium
#   scripts/install-tools.sh --trunk    # also Trunk (for the demo and its e2e test)
#   scripts/install-tools.sh --demo     # only what scripts/demo.sh needs: wasm target, wasm-bindgen-cli, Trunk
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_PACK_VERSION=0.15.1
TRUNK_VERSION=0.21.14

log() { printf '\033[1;34m[install]\033[0m %s\n' "$*" >&2; }

want_trunk=0
want_test_tools=1
for arg in "$@"; do
  case "$arg" in
    --trunk) want_trunk=1 ;;
    --demo) want_trunk=1; want_test_tools=0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

# The wasm-bindgen CLI must match the library version in Cargo.lock exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; sub(/^version = "/, ""); sub(/"$/, ""); print; exit }' Cargo.lock
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rustup target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

WB_VERSION="$(wasm_bindgen_version)"
if [ -z "$WB_VERSION" ]; then
  echo "could not read the wasm-bindgen version from Cargo.lock" >&2
  exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  log "installing wasm-bindgen-cli $WB_VERSION (matches Cargo.lock)"
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
fi

if [ "$want_test_tools" = 1 ] && [ "$(wasm-pack --version 2>/dev/null | awk '{print $2}')" != "$WASM_PACK_VERSION" ]; then
  log "installing wasm-pack $WASM_PACK_VERSION"
  cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked --force
fi

if [ "$want_test_tools" = 1 ] && { ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; }; then
  log "installing Debian chromium and chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if [ "$want_trunk" = 1 ] && [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "$TRUNK_VERSION" ]; then
  log "installing trunk $TRUNK_VERSION"
  cargo install trunk --version "$TRUNK_VERSION" --locked --force
fi

if [ "$want_test_tools" = 1 ]; then
  log "tools ready: $(wasm-bindgen --version), $(wasm-pack --version), $(chromium --version 2>/dev/null | head -1)"
else
  log "tools ready: $(wasm-bindgen --version), $(trunk --version)"
fi
