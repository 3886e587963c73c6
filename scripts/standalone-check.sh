#!/usr/bin/env bash
# The release binary is self-contained: copied alone into an empty directory, it serves the
# site (WASM, JS, CSS) it embeds, byte for byte what `cargo xtask build --release` put in
# the site root, with the right types; an explicit --site-root still wins.
#
#   scripts/standalone-check.sh [BIN] [SITE_ROOT]
#       BIN        default $CARGO_TARGET_DIR/release/tessera (or target/release/tessera)
#       SITE_ROOT  default $LEPTOS_SITE_ROOT (or target/site): what the binary must serve
#
# Prints one "ok:" or "FAIL:" line per check, then "standalone: N passed, M failed"; exits
# non-zero if any check failed. Uses ports 3941 and 3942 (STANDALONE_PORT to move them).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac; }
BIN="$(abspath "${1:-${CARGO_TARGET_DIR:-target}/release/tessera}")"
SITE_ROOT="$(abspath "${2:-${LEPTOS_SITE_ROOT:-target/site}}")"
PORT="${STANDALONE_PORT:-3941}"
SECRET='tessera-standalone-check-secret-0123456789abcdef'

passed=0
failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}

[ -x "$BIN" ] || { echo "FAIL: no binary at $BIN"; echo "standalone: 0 passed, 1 failed"; exit 1; }
for f in pkg/tessera.wasm pkg/tessera.js pkg/tessera.css; do
  [ -f "$SITE_ROOT/$f" ] || { echo "FAIL: no $SITE_ROOT/$f"; echo "standalone: 0 passed, 1 failed"; exit 1; }
done

DIR="$(mktemp -d "${TMPDIR:-/tmp}/tessera-standalone.XXXXXX")"
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap 'stop_server; rm -rf "$DIR"' EXIT

# The binary alone, in a directory with no site; nothing of the developer's environment
# that would point it at one.
cp "$BIN" "$DIR/tessera"
cd "$DIR"
unset LEPTOS_SITE_ROOT LEPTOS_SITE_ADDR TESSERA_DATABASE_URL TESSERA_ADDR TESSERA_ISSUER

# start PORT LOG [ARGS...]: the server in the background, waiting until it is ready.
start() {
  local port=$1 log=$2
  shift 2
  TESSERA_SECRET="$SECRET" RUST_LOG=info ./tessera serve --demo --addr "127.0.0.1:$port" "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "server did not become ready; its log:"
  cat "$log"
  return 1
}

check "--version says the site is embedded" grep -q "site embedded" <(./tessera --version)

if start "$PORT" server.log; then
  base="http://127.0.0.1:$PORT"
  check "the startup log says the site is embedded" grep -q "serving the site embedded in the binary" server.log
  for spec in "pkg/tessera.wasm application/wasm" "pkg/tessera.js text/javascript" "pkg/tessera.css text/css"; do
    read -r file type <<<"$spec"
    headers="$(curl -s -D - -o body "$base/$file" | tr -d '\r')"
    check "/$file: 200" grep -q '^HTTP/1.1 200' <<<"$headers"
    check "/$file: Content-Type $type" grep -qi "^content-type: $type" <<<"$headers"
    check "/$file: the bytes of $SITE_ROOT/$file" cmp -s body "$SITE_ROOT/$file"
    etag="$(sed -n 's/^etag: //Ip' <<<"$headers")"
    check "/$file: an ETag and Cache-Control: no-cache" \
      test -n "$etag" -a "$(grep -ci '^cache-control: no-cache$' <<<"$headers")" = 1
    code="$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$base/$file")"
    check "/$file: 304 on If-None-Match" test "$code" = 304
  done
  code="$(curl -s -o /dev/null -w '%{http_code}' "$base/pkg/no-such-file.js")"
  check "an unknown file: 404" test "$code" = 404
  login="$(curl -s "$base/login")"
  for file in /pkg/tessera.js /pkg/tessera.wasm /pkg/tessera.css; do
    check "the login page references $file" grep -qF "$file" <<<"$login"
  done
  stop_server
else
  fail "the binary starts and becomes ready in an empty directory"
fi

# A developer's explicit --site-root wins over the embedded copy.
mkdir -p dev-site/pkg
printf '/* from --site-root */\n' >dev-site/pkg/tessera.css
if start "$((PORT + 1))" server-site-root.log --site-root "$DIR/dev-site"; then
  body="$(curl -s "http://127.0.0.1:$((PORT + 1))/pkg/tessera.css")"
  check "--site-root wins over the embedded site" test "$body" = "/* from --site-root */"
  stop_server
else
  fail "the binary starts with --site-root"
fi

echo "standalone: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
