#!/usr/bin/env bash
# Several Tessera instances on one PostgreSQL, benchmarked (README "Several instances").
#
#   scripts/bench-cluster.sh                  # release builds; one instance, then two, back to back
#   scripts/bench-cluster.sh --instances 2    # only two
#
# A throwaway PostgreSQL cluster (scripts/pg-test.sh) with a fresh database per run; N
# `tessera serve` processes on it, on 127.0.0.1:28091.., all with the first one's address as
# --issuer (as behind a load balancer). `tessera-bench run` with one --base per instance:
# every worker alternates between the instances request by request. The refresh scenario
# first checks that a refresh token rotated on one instance is refused as reused on the
# other (the run fails otherwise). Prints a markdown table: requests/s, p50, p99, errors.
#
# Options:
#   --instances "1 2"      instance counts to run, in order (default "1 2"; each 1 to 8; repeats
#                          allowed, e.g. "1 2 1 2", each on a fresh database)
#   --scenarios a,b,...    default client_credentials_es256,introspection,refresh
#   --duration SECONDS     measured window per scenario (default 10)
#   --warmup SECONDS       warm-up before each window (default 3)
#   --concurrency N        workers in all, whatever the instance count (default 32)
#   --no-build             use the binaries already built (target/release)
#   --tessera-bin PATH     this Tessera binary        --bench-bin PATH   this tessera-bench
#   --out FILE             also write the table (markdown) and FILE.json (every run's result)
#
# Servers listen on 127.0.0.1 only, every process is bounded by `timeout`, and all of them
# (and the PostgreSQL cluster) are stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '==> [bench-cluster] %s\n' "$*" >&2; }
die() { printf 'bench-cluster: %s\n' "$*" >&2; exit 1; }
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac; }

INSTANCES="1 2"
SCENARIOS="client_credentials_es256 introspection refresh"
DURATION=10
WARMUP=3
CONCURRENCY=32
BUILD=true
TESSERA_BIN=""
BENCH_BIN=""
OUT=""

while [ $# -gt 0 ]; do
  case "$1" in
    --instances) INSTANCES="${2//,/ }"; shift 2 ;;
    --scenarios) SCENARIOS="${2//,/ }"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --no-build) BUILD=false; shift ;;
    --tessera-bin) TESSERA_BIN="$(abspath "$2")"; shift 2 ;;
    --bench-bin) BENCH_BIN="$(abspath "$2")"; shift 2 ;;
    --out) OUT="$(abspath "$2")"; shift 2 ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "bench-cluster: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$DURATION" "$WARMUP" "$CONCURRENCY"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "--duration, --warmup and --concurrency take whole numbers"
done
[ "$CONCURRENCY" -ge 1 ] || die "--concurrency must be at least 1"
for n in $INSTANCES; do
  [[ "$n" =~ ^[1-8]$ ]] || die "--instances takes counts from 1 to 8, e.g. \"1 2\""
done
for s in $SCENARIOS; do
  case "$s" in
    discovery | client_credentials_es256 | client_credentials_rs256 | introspection | resource | refresh) ;;
    *) die "unknown or multi-step scenario $s (this script runs the single-request ones)" ;;
  esac
done
command -v jq >/dev/null || die "jq is needed (apt-get install jq)"

export PATH="$HOME/.cargo/bin:$PATH"
TARGET_DIR="$(abspath "${CARGO_TARGET_DIR:-target}")"
if $BUILD && { [ -z "$TESSERA_BIN" ] || [ -z "$BENCH_BIN" ]; }; then
  log "cargo build --release -p tessera -p tessera-bench"
  cargo build --release -p tessera -p tessera-bench
fi
[ -n "$TESSERA_BIN" ] || TESSERA_BIN="$TARGET_DIR/release/tessera"
[ -n "$BENCH_BIN" ] || BENCH_BIN="$TARGET_DIR/release/tessera-bench"
[ -x "$TESSERA_BIN" ] || die "no Tessera binary at $TESSERA_BIN"
[ -x "$BENCH_BIN" ] || die "no tessera-bench at $BENCH_BIN"

FIRST_PORT="${BENCH_CLUSTER_PORT:-28091}"
REDIRECT_URI="http://127.0.0.1:9/cb"
BENCH_USER=bench
BENCH_PASSWORD=bench-password-0123
RUN_TIMEOUT=$((WARMUP + DURATION + 120))
SERVER_TIMEOUT=$((RUN_TIMEOUT * 8 + 300))

WORK="$(mktemp -d /tmp/tessera-bench-cluster.XXXXXX)"
SERVER_PIDS=()
# shellcheck source=scripts/pg-test.sh
. "$ROOT/scripts/pg-test.sh"
stop_servers() {
  local p
  for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
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
wait_ready() {
  local i
  for i in $(seq 3000); do
    curl -sf -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.02
  done
  return 1
}

# The server secret all instances share (they read each other's signing keys with it).
export TESSERA_SECRET
TESSERA_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export RUST_LOG="${BENCH_RUST_LOG:-warn}"
[ -d "$TARGET_DIR/site" ] && export LEPTOS_SITE_ROOT="$TARGET_DIR/site"

pg_test_start
PG_ADMIN_URL="$TESSERA_TEST_POSTGRES_URL"
PSQL="$(_pg_test_bindir)/psql"
echo '[]' >"$WORK/all.json"

run=0
for n in $INSTANCES; do
  run=$((run + 1))
  db="bench_${run}_${n}_instances"
  "$PSQL" "$PG_ADMIN_URL" -v ON_ERROR_STOP=1 -qAt -c "CREATE DATABASE $db" >/dev/null
  export TESSERA_DATABASE_URL="${PG_ADMIN_URL%/*}/$db"
  tb() { timeout 120 "$TESSERA_BIN" "$@"; }
  tb migrate >/dev/null
  printf '%s\n' "$BENCH_PASSWORD" | tb user add "$BENCH_USER" --password-stdin >/dev/null
  client="$(tb client add --name bench --redirect-uri "$REDIRECT_URI" --access-token-alg ES256)"
  id="$(jq -r .client_id <<<"$client")"
  secret="$(jq -r .client_secret <<<"$client")"

  issuer="http://127.0.0.1:$FIRST_PORT"
  bases=()
  for ((i = 0; i < n; i++)); do
    port=$((FIRST_PORT + i))
    port_free "$port" || die "127.0.0.1:$port is in use (BENCH_CLUSTER_PORT=...)"
    timeout "$SERVER_TIMEOUT" "$TESSERA_BIN" serve --addr "127.0.0.1:$port" --issuer "$issuer" \
      >>"$WORK/tessera-$n-$i.log" 2>&1 &
    SERVER_PIDS+=("$!")
    # One at a time: the first creates the signing keys, the others load them.
    wait_ready "http://127.0.0.1:$port/readyz" ||
      { tail -n 20 "$WORK/tessera-$n-$i.log" >&2; die "instance $i did not become ready"; }
    bases+=(--base "http://127.0.0.1:$port")
  done
  log "$n instance(s) on one PostgreSQL database: ${bases[*]//--base /}"

  for s in $SCENARIOS; do
    out="$WORK/$n-$s.json"
    rc=0
    timeout "$RUN_TIMEOUT" "$BENCH_BIN" run --target "tessera x$n" "${bases[@]}" --scenario "$s" \
      --duration "${DURATION}s" --warmup "${WARMUP}s" --concurrency "$CONCURRENCY" \
      --client-id="$id" --client-secret="$secret" --redirect-uri "$REDIRECT_URI" \
      --username "$BENCH_USER" --password "$BENCH_PASSWORD" --out "$out" >/dev/null 2>"$WORK/$n-$s.err" || rc=$?
    if [ "$rc" -ne 0 ]; then
      why="$(tail -n1 "$WORK/$n-$s.err" | cut -c1-300)"
      [ "$rc" -eq 124 ] && why="timed out after ${RUN_TIMEOUT}s"
      die "$n instance(s), $s FAILED: $why"
    fi
    jq -r '"==> [bench-cluster] \(.instances) instance(s) \(.scenario): \(.rps|floor) req/s, p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, errors \(.errors)"
           + (if .reuse_check then "\n==> [bench-cluster]   reuse check: \(.reuse_check)" else "" end)' "$out" >&2
    jq -s '.[0] + [.[1]]' "$WORK/all.json" "$out" >"$WORK/all.next" && mv "$WORK/all.next" "$WORK/all.json"
  done
  stop_servers
done

table="$(jq -r --arg cpu "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
  --arg c "$CONCURRENCY" --arg d "$DURATION" '
  "| scenario | instances | requests/s | p50 ms | p99 ms | errors |",
  "| --- | ---: | ---: | ---: | ---: | ---: |",
  (sort_by(.scenario, .instances)[] |
    "| \(.scenario) | \(.instances) | \(.rps|floor) | \(.p50_ms) | \(.p99_ms) | \(.errors) |"),
  "",
  "\($c) workers in all, \($d) s measured per row; one PostgreSQL; \($cpu)."' "$WORK/all.json")"
echo
echo "$table"
if [ -n "$OUT" ]; then
  printf '%s\n' "$table" >"$OUT"
  cp "$WORK/all.json" "$OUT.json"
fi
errors="$(jq '[.[].errors] | add // 0' "$WORK/all.json")"
[ "$errors" -eq 0 ] || die "$errors errors (see above)"
