#!/usr/bin/env bash
# Full test run: Rust tests (SQLite + PostgreSQL) and Playwright end-to-end tests.
#
#   scripts/test.sh
#
# If TESSERA_TEST_POSTGRES_URL is unset, a throwaway PostgreSQL cluster is started
# (and removed afterwards). Ends with one line "tests: N passed, M failed" and
# exits non-zero if anything failed (including build failures).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '\n==> %s\n' "$*"; }
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac; }

"$ROOT/scripts/setup.sh" test

export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export npm_config_update_notifier=false

TARGET_DIR="$(abspath "${CARGO_TARGET_DIR:-target}")"
# `cargo xtask build` writes the site to `site-root` from Cargo.toml ("target/site"),
# resolved against the workspace root -- NOT under $CARGO_TARGET_DIR -- unless
# LEPTOS_SITE_ROOT is set in the environment, which overrides it for the build as well.
SITE_ROOT="$(abspath "${LEPTOS_SITE_ROOT:-target/site}")"
LOG_DIR="$TARGET_DIR/tessera-test-logs"
mkdir -p "$LOG_DIR"

# shellcheck source=scripts/pg-test.sh
. "$ROOT/scripts/pg-test.sh"
trap pg_test_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${TESSERA_TEST_POSTGRES_URL:-}" ]; then
  log "using PostgreSQL from TESSERA_TEST_POSTGRES_URL"
else
  log "starting a throwaway PostgreSQL cluster"
  pg_test_start
fi
export TESSERA_TEST_POSTGRES_URL

passed=0
failed=0
notes=()

# --- Rust tests ------------------------------------------------------------------
log "cargo test --workspace --exclude tessera-frontend --exclude xtask"
rc=0
# Compiler flags (`--cfg erase_components`) and LEPTOS_OUTPUT_NAME come from
# .cargo/config.toml, as for every build, so the bench runner's debug build below shares
# every compiled crate.
# A hung test fails the run after 30 minutes instead of holding CI to its limit.
# `tessera-frontend` (the WASM entry point, built by `cargo xtask build` below) is left out:
# in one host build with it, feature unification would give the app both `ssr` and
# `hydrate`, and Leptos would pick the browser's executor on the server. `xtask` (the site
# builder) has no tests, and is built in release below.
# One test at a time within each test binary: with several Tessera servers rendering
# Leptos pages concurrently in one process, a first page request now and then never got
# an answer (3 of 16 suite runs under CPU load, and once in CI); one server per process
# at a time, as in production, never did (0 of 24), and costs a few seconds.
timeout --kill-after=30 1800 cargo test --workspace --exclude tessera-frontend --exclude xtask --no-fail-fast \
  -- --test-threads=1 2>&1 | tee "$LOG_DIR/cargo-test.log" || rc=$?
read -r c_pass c_fail < <(
  grep -E '^test result: ' "$LOG_DIR/cargo-test.log" |
    sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/' |
    awk '{ p += $1; f += $2 } END { print p + 0, f + 0 }'
)
passed=$((passed + c_pass))
failed=$((failed + c_fail))
if [ "$rc" -ne 0 ] && [ "$c_fail" -eq 0 ]; then
  # compile error or a crashed test binary: no "failed" count, but still a failure
  failed=$((failed + 1))
  notes+=("cargo test exited with status $rc")
fi

# --- build what `make run` builds -------------------------------------------------------
# The release server and the release WASM bundle through wasm-opt, by the very command
# `scripts/run.sh` runs: a debug-only check once hid a release build that did not compile.
log "cargo xtask build --release (what make run builds)"
rc=0
build_started=$SECONDS
cargo xtask build --release 2>&1 | tee "$LOG_DIR/site-build.log" || rc=$?
echo "    release site build: $((SECONDS - build_started)) s"
TESSERA_RELEASE_BIN="$TARGET_DIR/release/tessera"
if [ "$rc" -ne 0 ]; then
  failed=$((failed + 1))
  notes+=("cargo xtask build --release failed (status $rc); end-to-end tests skipped")
elif [ ! -x "$TESSERA_RELEASE_BIN" ] || [ ! -f "$SITE_ROOT/pkg/tessera.wasm" ] || [ ! -f "$SITE_ROOT/pkg/tessera.js" ]; then
  failed=$((failed + 1))
  notes+=("build output missing ($TESSERA_RELEASE_BIN or $SITE_ROOT/pkg/tessera.{wasm,js}); end-to-end tests skipped")
else
  # --- the release binary on its own ---------------------------------------------------
  # Copied alone into an empty directory, it serves the site it embeds: the right types,
  # the bytes of $SITE_ROOT, pages that reference them (scripts/standalone-check.sh).
  log "standalone release binary (scripts/standalone-check.sh)"
  rc=0
  "$ROOT/scripts/standalone-check.sh" "$TESSERA_RELEASE_BIN" "$SITE_ROOT" 2>&1 | tee "$LOG_DIR/standalone.log" || rc=$?
  s_pass=$(grep -c '^ok: ' "$LOG_DIR/standalone.log" || true)
  s_fail=$(grep -c '^FAIL: ' "$LOG_DIR/standalone.log" || true)
  passed=$((passed + s_pass))
  failed=$((failed + s_fail))
  if [ "$rc" -ne 0 ] && [ "$s_fail" -eq 0 ]; then
    failed=$((failed + 1))
    notes+=("standalone-check.sh exited with status $rc")
  fi

  # --- Playwright, against the release build ---------------------------------------------
  # The binary again alone in a directory without the site (and no LEPTOS_SITE_ROOT): the
  # pages hydrate from the embedded copy, as for anyone who copies the binary to a server.
  log "playwright end-to-end tests (release build, embedded site)"
  E2E_BIN_DIR="$LOG_DIR/e2e-bin"
  rm -rf "$E2E_BIN_DIR"
  mkdir -p "$E2E_BIN_DIR"
  cp "$TESSERA_RELEASE_BIN" "$E2E_BIN_DIR/tessera"
  export TESSERA_BIN="$E2E_BIN_DIR/tessera"
  export TESSERA_E2E_EMBEDDED_SITE=1
  unset LEPTOS_SITE_ROOT
  export TESSERA_E2E_JSON="$LOG_DIR/playwright.json"
  # fresh SQLite database for the e2e server; kept after the run for debugging
  export TESSERA_E2E_DATA_DIR="$LOG_DIR/e2e-data"
  rm -rf "$TESSERA_E2E_DATA_DIR" "$TESSERA_E2E_JSON"
  mkdir -p "$TESSERA_E2E_DATA_DIR"
  rc=0
  (cd "$ROOT/end2end" && npx --no-install playwright test) || rc=$?
  read -r e_pass e_fail < <(
    node -e '
      const fs = require("fs");
      let p = 0, f = 0;
      try {
        const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
        const s = r.stats || {};
        p = (s.expected || 0) + (s.flaky || 0);
        f = s.unexpected || 0;
      } catch (e) { /* no report: counted below from the exit status */ }
      console.log(p, f);
    ' "$TESSERA_E2E_JSON"
  )
  passed=$((passed + e_pass))
  failed=$((failed + e_fail))
  if [ "$rc" -ne 0 ] && [ "$e_fail" -eq 0 ]; then
    failed=$((failed + 1))
    notes+=("playwright exited with status $rc (server start / global setup / config error?)")
  fi
fi

# --- benchmark smoke run ---------------------------------------------------------------
# The benchmark harness (README "Benchmark") against the release server, Tessera only,
# short windows, a debug bench runner: every scenario must complete iterations with no
# errors. Figures from this run mean nothing; it shows that `make bench` still drives every
# flow end to end.
if [ -x "$TESSERA_RELEASE_BIN" ] && [ -d "$SITE_ROOT/pkg" ]; then
  log "benchmark smoke run (scripts/bench.sh --quick --debug --targets tessera --tessera-bin release)"
  SMOKE_DIR="$LOG_DIR/bench-smoke"
  rm -rf "$SMOKE_DIR"
  rc=0
  timeout --kill-after=30 900 "$ROOT/scripts/bench.sh" --quick --debug --targets tessera \
    --tessera-bin "$TESSERA_RELEASE_BIN" --out-dir "$SMOKE_DIR" \
    >"$LOG_DIR/bench-smoke.log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ] || [ ! -f "$SMOKE_DIR/latest.json" ]; then
    failed=$((failed + 1))
    notes+=("benchmark smoke run failed (status $rc): see $LOG_DIR/bench-smoke.log")
  else
    # One test per scenario: it ran, completed iterations, and had no errors.
    read -r b_pass b_fail < <(
      jq -r '[.scenarios[] | .tessera | select(. != null)
              | (.failed == null and .errors == 0 and (.rps // 0) > 0)]
             | "\(map(select(.)) | length) \(map(select(. | not)) | length)"' "$SMOKE_DIR/latest.json"
    )
    passed=$((passed + b_pass))
    failed=$((failed + b_fail))
    [ "$b_fail" -eq 0 ] || notes+=("benchmark smoke: $b_fail scenario(s) failed: see $SMOKE_DIR/latest.md")
    [ "$b_pass" -ge 11 ] || { failed=$((failed + 1)); notes+=("benchmark smoke: only $b_pass scenarios ran"); }
  fi
fi

pg_test_stop # before the summary, so that the summary is the last line

echo
for n in "${notes[@]+"${notes[@]}"}"; do
  echo "note: $n"
done
echo "logs: $LOG_DIR"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
