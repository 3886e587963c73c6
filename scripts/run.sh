#!/usr/bin/env bash
# Build (release) and run Tessera locally with a demo admin user and client.
#
#   scripts/run.sh                      # http://127.0.0.1:3000
#   scripts/run.sh --addr 0.0.0.0:8080  # extra args go to `tessera serve`
#
# A second run rebuilds nothing that has not changed and starts in seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac; }

started=$SECONDS
"$ROOT/scripts/setup.sh" run

export PATH="$HOME/.cargo/bin:$PATH"
TARGET_DIR="$(abspath "${CARGO_TARGET_DIR:-target}")"

# Server + WASM bundle (wasm-bindgen, wasm-opt), stylesheet and assets: xtask/src/main.rs.
# The release binary embeds the site it built (target/site unless LEPTOS_SITE_ROOT says
# otherwise), so the server needs no site root: it runs from any directory.
printf '==> cargo xtask build --release\n'
cargo xtask build --release

if [ -z "${TESSERA_DATABASE_URL:-}" ]; then
  mkdir -p "$ROOT/data" # default database: sqlite://data/tessera.db?mode=rwc
fi

printf '==> ready to start after %d s; starting %s serve --demo %s\n' "$((SECONDS - started))" "$TARGET_DIR/release/tessera" "$*"
exec "$TARGET_DIR/release/tessera" serve --demo "$@"
