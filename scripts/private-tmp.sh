# Sourced by the scripts that start Chromium (browser-tests.sh, e2e.sh).
#
# chromedriver gives each browser a profile directory in $TMPDIR (org.chromium.Chromium.scoped_dir.*,
# 50-70 MB each) and leaves it behind when the browser is stopped rather than closed, which is how
# wasm-pack's runner and a killed test end it. Run after run they filled the disk until a CI build
# failed with "No space left on device". So TMPDIR points at a private directory for the script's
# lifetime, and the caller's EXIT trap calls remove_private_tmp.
private_tmp="$(mktemp -d "${TMPDIR:-/tmp}/strug-tmp.XXXXXX")"
export TMPDIR="$private_tmp"
remove_private_tmp() { rm -rf "$private_tmp"; }
