#!/usr/bin/env bash
# Installs what Quantscope's build and tests need and is missing; skips what is present.
# Only package registries are used (crates.io, npm, Debian); nothing else is downloaded.
#   scripts/setup.sh            toolchain for building and serving the app
#   scripts/setup.sh --browser  also Chromium and ChromeDriver for the browser tests
#   scripts/setup.sh --fuzz     also cargo-fuzz, when a nightly toolchain is installed
# Source it (`. scripts/setup.sh`) to get the tools on PATH in the calling shell.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want_browser=false
want_fuzz=false
for arg in "$@"; do
  [ "$arg" = "--browser" ] && want_browser=true
  [ "$arg" = "--fuzz" ] && want_fuzz=true
done

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$root/node_modules/.bin:$PATH"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=false
apt_install() {
  if ! $apt_updated; then
    say "apt-get update"
    as_root apt-get update -qq
    apt_updated=true
  fi
  say "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

command -v cargo >/dev/null || { say "Rust is missing: install it with rustup first"; exit 1; }

# 1. The wasm32 target.
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# 2. wasm-bindgen CLI (and its test runner) of exactly the version in Cargo.lock. Installed without
#    --locked: its lock file names a crate version the registry no longer has.
wbg_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$root/Cargo.lock")"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg_version" ]; then
  say "installing wasm-bindgen-cli $wbg_version (about 2 minutes)"
  cargo install wasm-bindgen-cli --version "$wbg_version" --force
fi
if ! grep -q "wasm_bindgen = \"$wbg_version\"" "$root/Trunk.toml"; then
  say "Trunk.toml pins a different wasm-bindgen than Cargo.lock ($wbg_version): fix [tools] in Trunk.toml"
  exit 1
fi

# 3. Trunk (this version builds with the machine's rustc).
if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "0.21.14" ]; then
  say "installing trunk 0.21.14 (about 7 minutes)"
  cargo install trunk --version 0.21.14 --locked --force
fi

# 4. Node.js for the npm tools (wasm-opt from binaryen 132, playwright-core).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi
if [ ! -x "$root/node_modules/.bin/wasm-opt" ] || [ ! -d "$root/node_modules/playwright-core" ] \
  || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
  say "npm ci (binaryen 132, playwright-core)"
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
fi

# 5. Chromium and its driver from Debian, for the browser tests only.
if $want_browser && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; }; then
  apt_install chromium chromium-driver
fi

# 6. cargo-fuzz, for the fuzz smoke run, only where a nightly toolchain exists (libFuzzer's
#    sanitizer flags need it; none is downloaded).
if $want_fuzz && cargo +nightly --version >/dev/null 2>&1 && ! cargo fuzz --version >/dev/null 2>&1; then
  say "installing cargo-fuzz (about 2 minutes)"
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
