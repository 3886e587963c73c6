#!/usr/bin/env bash
# Idempotent installer for everything Tessera needs to build, run and test.
#
#   scripts/setup.sh run    # Rust wasm target, npm deps (binaryen's wasm-opt)
#   scripts/setup.sh test   # the above + chromium (Playwright) + PostgreSQL server binaries + jq
#   scripts/setup.sh bench  # run's + jq (scripts/bench.sh)
#
# Anything already present is detected and skipped; nothing is ever reinstalled.
# Only package registries are used (crates.io, npm, Debian apt); no browser downloads.
set -euo pipefail

MODE="${1:-run}"
case "$MODE" in
  run | test | bench) ;;
  *)
    echo "usage: $0 [run|test|bench]" >&2
    exit 2
    ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BINARYEN_BIN="$ROOT/end2end/node_modules/.bin"
export PATH="$HOME/.cargo/bin:$BINARYEN_BIN:$PATH"
# Never let npm packages try to download browsers: we use Debian's chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export npm_config_update_notifier=false

log() { printf '==> %s\n' "$*"; }
ok() { printf '    ok: %s\n' "$*"; }
die() {
  printf 'setup.sh: error: %s\n' "$*" >&2
  exit 1
}

# --- privilege helper for apt -------------------------------------------------
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  fi
fi

APT_UPDATED=0
apt_install() {
  # apt_install PKG... : installs Debian packages (apt-get update once per run).
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; please install manually: $*"
  if [ "$(id -u)" -ne 0 ] && [ ${#SUDO[@]} -eq 0 ]; then
    die "need root or sudo to install: $*"
  fi
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

dpkg_missing() {
  # prints the packages (of the arguments) that are not installed
  local p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      printf '%s ' "$p"
    fi
  done
}

# --- Rust toolchain -------------------------------------------------------------
log "checking Rust toolchain"
command -v cargo >/dev/null 2>&1 || die "cargo not found. Install Rust via rustup (https://rustup.rs) first."
command -v rustup >/dev/null 2>&1 || die "rustup not found (needed to add the wasm32 target)."
ok "$(cargo --version)"

# Native build prerequisites (C compiler, pkg-config, OpenSSL headers for cargo installs).
if command -v dpkg-query >/dev/null 2>&1; then
  missing="$(dpkg_missing build-essential pkg-config libssl-dev)"
  if [ -n "$missing" ]; then
    # shellcheck disable=SC2086
    apt_install $missing
  else
    ok "build-essential, pkg-config, libssl-dev"
  fi
fi

if rustup target list --installed | grep -qx 'wasm32-unknown-unknown'; then
  ok "rust target wasm32-unknown-unknown"
else
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# The site is built by `cargo xtask build` (xtask/): wasm-bindgen runs as a library at
# Cargo.lock's version, so neither cargo-leptos nor wasm-bindgen-cli is needed. (cargo-leptos
# stays an optional tool for `cargo leptos watch`; see the README.)

# --- Node.js + npm deps (Playwright, binaryen's wasm-opt) --------------------------
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi
ok "node $(node --version), npm $(npm --version 2>/dev/null)"

E2E="$ROOT/end2end"
stamp="$E2E/node_modules/.package-lock.json"
if [ ! -d "$E2E/node_modules" ] || [ ! -f "$stamp" ] || [ "$E2E/package-lock.json" -nt "$stamp" ]; then
  log "installing npm packages in end2end/ (npm ci)"
  (cd "$E2E" && npm ci --no-audit --no-fund)
else
  ok "end2end/node_modules up to date"
fi
if wasm_opt="$(command -v wasm-opt)" && [ "$wasm_opt" = "$BINARYEN_BIN/wasm-opt" ]; then
  ok "$(wasm-opt --version) ($wasm_opt)"
else
  die "wasm-opt from npm binaryen not found in $BINARYEN_BIN"
fi

# --- test-only system packages --------------------------------------------------
if [ "$MODE" = "test" ]; then
  if [ -x /usr/bin/chromium ]; then
    ok "chromium at /usr/bin/chromium"
  else
    apt_install chromium fonts-liberation
  fi

  if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    ok "PostgreSQL server binaries ($(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n1))"
  else
    apt_install postgresql
  fi
  command -v psql >/dev/null 2>&1 || apt_install postgresql-client
  # The MCP end-to-end test makes a throwaway CA and a certificate for 127.0.0.1 with it
  # (end2end/tests/mcp.spec.ts: the SDK wants an https client metadata URL).
  if command -v openssl >/dev/null 2>&1; then
    ok "openssl"
  else
    apt_install openssl
  fi
fi

# --- jq: the benchmark script reads and writes its results with it --------------------
if [ "$MODE" = "test" ] || [ "$MODE" = "bench" ]; then
  if command -v jq >/dev/null 2>&1; then
    ok "jq"
  else
    apt_install jq
  fi
fi

log "setup ($MODE) complete"
