#!/usr/bin/env bash
# Runs every test of Quantscope (installs missing tools first):
#   formatting and lints, native unit/property/CLI tests, the core's tests on wasm32 in headless
#   Chromium, a release build of the app, the browser end-to-end tests against it, and a short run
#   of every fuzz target when a nightly toolchain is present.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
. scripts/setup.sh --browser --fuzz

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The browser glue (Web Workers) and the core's SIMD128 kernels compile only for wasm32.
cargo clippy -p quantscope --target wasm32-unknown-unknown --quiet -- -D warnings
cargo clippy -p quantscope-core --target wasm32-unknown-unknown --lib --tests --quiet -- -D warnings

step "native tests (core, app logic, CLI)"
cargo test --workspace

step "core tests on wasm32 in headless Chromium"
(cd crates/quant && CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown)

step "release build of the app"
trunk build --release

step "browser end-to-end tests"
QUANTSCOPE_BIN="$PWD/target/debug/quantscope" node --test tests/e2e/

step "fuzz smoke run (every target, 30 s, all at once)"
if cargo +nightly --version >/dev/null 2>&1 && cargo fuzz --version >/dev/null 2>&1; then
  scripts/fuzz.sh 30
else
  echo "skipped: no nightly toolchain (cargo +nightly), which cargo-fuzz needs"
fi

echo
echo "all tests passed in $(( $(date +%s) - start )) s"
