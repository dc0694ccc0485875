#!/usr/bin/env bash
# Builds Quantscope and serves it on http://127.0.0.1:8080 (installs missing tools first).
#   scripts/serve.sh [--port N]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
port=8080
if [ "${1:-}" = "--port" ] && [ -n "${2:-}" ]; then port="$2"; fi
echo "Quantscope: building (release) and serving at http://127.0.0.1:$port/ — Ctrl-C to stop"
exec trunk serve --release --address 127.0.0.1 --port "$port"
