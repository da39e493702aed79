#!/usr/bin/env bash
# Runs every benchmark of docs/BENCHMARKS.md in one go against a release build of Sightline on
# loopback, with PostgreSQL on 127.0.0.1:5432 (or BENCH_DATABASE_URL, a server where bench
# databases may be created), and ends with a table of each goal, the figure measured and
# whether it is met (also written to target/bench/goals.md; the raw figures are in
# target/bench/figures.txt).
#
#   ./scripts/bench.sh           # quick, about 15 minutes: COPY ceiling, ingest, OTLP,
#                                # nothing lost, proxy, budgets, memory a minute after the
#                                # load, the collector at 100 and 500 processes against
#                                # node_exporter, analytics, the Overview page and the WASM
#                                # over at least 1 M stored calls
#   ./scripts/bench.sh full      # 30 s runs, analytics over 10 M calls (seeded once into
#                                # sightline_bench_analytics, which takes a while) and a
#                                # 10-minute soak at 5,000 calls/s with the Overview open
#   SECONDS_PER_RUN=30 ./scripts/bench.sh
#   BENCH_PHOENIX=1 ./scripts/bench.sh   # also Arize Phoenix for the OTLP ratio (PyPI install)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

MODE="${1:-quick}"
case "$MODE" in
  quick) FULL="" ;;
  full) FULL=1 ;;
  *) echo "usage: $0 [quick|full]" >&2; exit 2 ;;
esac
ADMIN_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PORT="${BENCH_PORT:-3299}"
SECS="${SECONDS_PER_RUN:-${FULL:+30}}"
SECS="${SECS:-10}"
PASSWORD="bench-admin-password"
OUT="$ROOT/target/bench"
mkdir -p "$OUT"
export BENCH_FIGURES="$OUT/figures.txt"
: >"$BENCH_FIGURES"

# The server as the README runs it (cargo leptos bakes the site's settings into the binary;
# a plain `cargo build` of the binary would serve a page the WASM cannot hydrate), then the
# load generator.
setup_build
setup_test
build_release
log "cargo build --release (load generator)"
cargo build --release -p server --example load
LOAD="$ROOT/target/release/examples/load"

log "ingest, OTLP, nothing lost, proxy and budgets ($SECS s runs)"
DB_NAME=sightline_bench SCOPES='["ingest","read"]' start_bench_server
echo "server pid $PID; $(nproc) cores; PostgreSQL at ${DB_URL%%@*}@…"
# The ceiling first (PostgreSQL's own COPY of call-shaped rows into a table with the same key
# and indexes), then native ingest against it.
"$LOAD" copy-ceiling --database-url "$DB_URL" --rows "${COPY_ROWS:-1000000}"
"$LOAD" ingest --url "$URL" --key "$KEY" --batch 100 --concurrency 4 --seconds "$SECS" --server-pid "$PID"
# Small batches are bound by the clients' round trips as much as by the server: the same
# batches from 16 clients show what the server takes.
"$LOAD" ingest --url "$URL" --key "$KEY" --batch 100 --concurrency 16 --seconds "$SECS" --server-pid "$PID"
"$LOAD" ingest --url "$URL" --key "$KEY" --batch 1000 --concurrency 4 --seconds "$SECS" --server-pid "$PID"
"$LOAD" otlp --url "$URL" --key "$KEY" --batch 500 --concurrency 4 --seconds "$SECS"
"$LOAD" lost --url "$URL" --key "$KEY" --total 200000 --batch 500 --concurrency 8 --database-url "$DB_URL"
"$LOAD" proxy-records --url "$URL" --key "$KEY" --admin-password "$PASSWORD" --concurrency 8 --seconds "$SECS"
# Proxy latency without budgets, then with 10 hard budgets and rate limits on every call.
"$LOAD" proxy --url "$URL" --key "$KEY" --admin-password "$PASSWORD" --requests 5000 --hard-budgets 10
# 100 budgets over a million calls (BUDGET_CALLS to change): ingest with them, then status.
"$LOAD" budget-status --url "$URL" --key "$KEY" --admin-password "$PASSWORD" \
  --budgets 100 --calls "${BUDGET_CALLS:-1000000}"
if [ -n "$FULL" ]; then
  log "soak: 5,000 calls/s for ${SOAK_SECONDS:-600} s with the Overview open in Chromium"
  (cd end2end && node bench/hold-open.mjs "$URL" "$PASSWORD" "$((${SOAK_SECONDS:-600} + 20))") &
  HOLD=$!
  "$LOAD" soak --url "$URL" --key "$KEY" --rate 5000 --seconds "${SOAK_SECONDS:-600}" --server-pid "$PID"
  wait "$HOLD"
fi
rss() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$PID/status"; }
R="$(rss)"; echo "server RSS right after the load: $R MiB"; figure rss_after_load_mib "$R"
sleep 60
R="$(rss)"; echo "server RSS a minute later: $R MiB"; figure rss_after_idle_mib "$R"
echo "server: CPU time $(ps -o time= -p "$PID")"

if [ -n "${BENCH_PHOENIX:-}" ]; then
  log "Arize Phoenix: the same GenAI spans from the Python exporter"
  PHX="$TOOLS/phoenix"
  [ -x "$PHX/bin/phoenix" ] || {
    python3 -m venv "$PHX"
    "$PHX/bin/pip" install --quiet --disable-pip-version-check arize-phoenix \
      opentelemetry-sdk opentelemetry-exporter-otlp-proto-http
  }
  PHX_DIR="$(mktemp -d /tmp/sightline-phoenix.XXXXXX)"
  PHOENIX_WORKING_DIR="$PHX_DIR" PHOENIX_TELEMETRY_ENABLED=false PHOENIX_HOST=127.0.0.1 \
    "$PHX/bin/phoenix" serve >"$PHX_DIR/log" 2>&1 &
  PHX_PID=$!
  for _ in $(seq 1 120); do curl -fs http://127.0.0.1:6006/healthz >/dev/null && break; sleep 1; done
  "$PHX/bin/python" "$ROOT/../shared/tools/otlp_load.py" http://127.0.0.1:6006/v1/traces \
    "${PHOENIX_SPANS:-2000}" 100 4 bench phoenix "$PHX_PID" | tee "$PHX_DIR/out"
  RATE="$(sed -n 's/.*-> \([0-9.]*\) spans\/s end-to-end.*/\1/p' "$PHX_DIR/out" | tail -n1)"
  [ -n "$RATE" ] && figure phoenix_otlp_per_s "$RATE"
  kill "$PHX_PID"; wait "$PHX_PID" 2>/dev/null || true
  rm -rf "$PHX_DIR"
fi
kill "$PID"; wait "$PID" 2>/dev/null || true

log "the collector, idle, against node_exporter"
SECONDS_TO_RUN="${SECONDS_TO_RUN:-$([ -n "$FULL" ] && echo 60 || echo 30)}" "$ROOT/scripts/bench-system.sh"

log "analytics, the Overview page and the WASM"
CALLS="${CALLS:-$([ -n "$FULL" ] && echo 10000000 || echo 1000000)}" RUNS="${RUNS:-15}" \
  "$ROOT/scripts/bench-analytics.sh"

log "goals"
"$LOAD" table --figures "$BENCH_FIGURES" | tee "$OUT/goals.md"
