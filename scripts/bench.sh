#!/usr/bin/env bash
# Runs the ingest, OTLP, nothing-lost and proxy benchmarks of docs/BENCHMARKS.md against a
# release build of Sightline on loopback, with PostgreSQL on 127.0.0.1:5432 (or
# BENCH_DATABASE_URL, a server where a `sightline_bench` database may be created).
#
#   ./scripts/bench.sh                 # all of them, about four minutes
#   SECONDS_PER_RUN=30 ./scripts/bench.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

ADMIN_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PORT="${BENCH_PORT:-3299}"
SECS="${SECONDS_PER_RUN:-10}"
PASSWORD="bench-admin-password"

# The server as the README runs it (cargo leptos bakes the site's settings into the binary;
# a plain `cargo build` of the binary would serve a page the WASM cannot hydrate), then the
# load generator.
build_release
log "cargo build --release (load generator)"
cargo build --release -p server --example load
LOAD="$ROOT/target/release/examples/load"

DB_NAME=sightline_bench SCOPES='["ingest","read"]' start_bench_server
echo "server pid $PID; $(nproc) cores; PostgreSQL at ${DB_URL%%@*}@…"

# The ceiling first (PostgreSQL's own COPY of call-shaped rows into a table with the same key
# and indexes), then native ingest against it.
"$LOAD" copy-ceiling --database-url "$DB_URL" --rows "${COPY_ROWS:-1000000}"
"$LOAD" ingest --url "$URL" --key "$KEY" --batch 100 --concurrency 4 --seconds "$SECS" --server-pid "$PID"
"$LOAD" ingest --url "$URL" --key "$KEY" --batch 1000 --concurrency 4 --seconds "$SECS" --server-pid "$PID"
"$LOAD" otlp --url "$URL" --key "$KEY" --batch 500 --concurrency 4 --seconds "$SECS"
"$LOAD" lost --url "$URL" --key "$KEY" --total 200000 --batch 500 --concurrency 8 --database-url "$DB_URL"
"$LOAD" proxy-records --url "$URL" --key "$KEY" --admin-password "$PASSWORD" --concurrency 8 --seconds "$SECS"
# Proxy latency without budgets, then with 10 hard budgets and rate limits on every call.
"$LOAD" proxy --url "$URL" --key "$KEY" --admin-password "$PASSWORD" --requests 5000 --hard-budgets 10
# 100 budgets over a million calls (BUDGET_CALLS to change): ingest with them, then status.
"$LOAD" budget-status --url "$URL" --key "$KEY" --admin-password "$PASSWORD" \
  --budgets 100 --calls "${BUDGET_CALLS:-1000000}"
echo "server: $(ps -o rss=,time= -p $PID | awk '{printf "RSS %.0f MiB, CPU time %s", $1/1024, $2}')"
# For the OTLP comparison with Arize Phoenix (same spans, same client), see BENCHMARKS.md.
echo "BENCH_KEY=$KEY (valid while this server runs)"
if [ -n "${BENCH_OTLP_PY:-}" ]; then
  LOAD_HEADERS="authorization=Bearer $KEY" "$BENCH_OTLP_PY" "${BENCH_OTLP_TOOL:-../shared/tools/otlp_load.py}" \
    "$URL/v1/traces" "${BENCH_OTLP_N:-5000}" 100 4 bench none "$PID"
fi
