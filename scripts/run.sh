#!/usr/bin/env bash
# Build (release) and run Tessera locally with a demo admin user and client.
#
#   scripts/run.sh                      # http://127.0.0.1:3000
#   scripts/run.sh --addr 0.0.0.0:8080  # extra args go to `tessera serve`
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac; }

"$ROOT/scripts/setup.sh" run

# wasm-opt (npm binaryen) is needed by `cargo leptos build --release`.
export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"

TARGET_DIR="$(abspath "${CARGO_TARGET_DIR:-target}")"
# cargo-leptos puts the site at `site-root` from Cargo.toml (target/site, relative to the
# workspace root, independent of CARGO_TARGET_DIR) unless LEPTOS_SITE_ROOT overrides it.
SITE_ROOT="$(abspath "${LEPTOS_SITE_ROOT:-target/site}")"

printf '==> cargo leptos build --release\n'
cargo leptos build --release

export LEPTOS_SITE_ROOT="$SITE_ROOT"
if [ -z "${TESSERA_DATABASE_URL:-}" ]; then
  mkdir -p "$ROOT/data" # default database: sqlite://data/tessera.db?mode=rwc
fi

printf '==> starting %s serve --demo %s\n' "$TARGET_DIR/release/tessera" "$*"
exec "$TARGET_DIR/release/tessera" serve --demo "$@"
