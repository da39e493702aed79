#!/usr/bin/env bash
# The report-export benchmarks of docs/BENCHMARKS.md: seeds CALLS synthetic calls over the
# last 30 days through the real ingest path (`sightline seed-demo`, kept in the
# `sightline_bench_export` database so later runs reuse it), then measures, median of RUNS
# requests each, time to first byte and to last byte on loopback of
#   - the calls export of the month as CSV and as JSON (every call, streamed);
#   - the aggregates export by model per day as CSV, and the PDF report of the month;
# against the peer: PostgreSQL's own `COPY ... TO STDOUT WITH CSV` of the same rows and
# order through psql (the floor for any exporter over this table).
#
#   ./scripts/bench-export.sh                   # a month of 1 million calls
#   CALLS=200000 ./scripts/bench-export.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
setup_build
cd "$ROOT"

CALLS="${CALLS:-1000000}"
RUNS="${RUNS:-5}"
ADMIN_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB_URL="${ADMIN_URL%/*}/sightline_bench_export"
PORT="${BENCH_PORT:-3296}"
URL="http://127.0.0.1:$PORT"
PASSWORD="bench-admin-password"

build_release
psql "$ADMIN_URL" -qtc "SELECT 1 FROM pg_database WHERE datname = 'sightline_bench_export'" | grep -q 1 \
  || psql "$ADMIN_URL" -qc "CREATE DATABASE sightline_bench_export"
DATA="$(mktemp -d /tmp/sightline-bench.XXXXXX)"
SIGHTLINE_ADMIN_PASSWORD="$PASSWORD" SIGHTLINE_LOG=warn SIGHTLINE_SITE_ROOT="$ROOT/target/site" \
  "$ROOT/target/release/sightline" serve --listen "127.0.0.1:$PORT" --database-url "$DB_URL" \
  --data-dir "$DATA" >"$DATA/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 300); do curl -fs "$URL/readyz" >/dev/null && break; sleep 0.2; done

HAVE="$(psql "$DB_URL" -qtAc "SELECT count(*) FROM llm_calls WHERE time >= now() - interval '30 days'")"
if [ "$HAVE" -lt "$CALLS" ]; then
  log "seeding $((CALLS - HAVE)) calls over 30 days through the ingest API"
  SIGHTLINE_ADMIN_PASSWORD="$PASSWORD" "$ROOT/target/release/sightline" seed-demo \
    --server "$URL" --calls "$((CALLS - HAVE))" --days 30 --seed "$HAVE" --concurrency 4
fi
psql "$DB_URL" -qc "VACUUM ANALYZE" >/dev/null
# The month ends now: the export and the peer read the same rows.
TO="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
FROM="$(date -u -d '30 days ago' +%Y-%m-%dT%H:%M:%SZ)"
MONTH="$(psql "$DB_URL" -qtAc "SELECT count(*) FROM llm_calls WHERE time >= '$FROM' AND time < '$TO'")"
echo "calls in the month: $MONTH; $(nproc) cores"
figure export_month_calls "$MONTH"

JAR="$DATA/cookies"
curl -fs -c "$JAR" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" "$URL/api/v1/auth/login" >/dev/null

median() { sort -n | awk '{a[NR]=$1} END {printf "%.0f", a[int((NR+1)/2)]}'; }
# "first last" ms medians of RUNS downloads of PATH, after one warm-up.
export_times() {
  curl -fs -o /dev/null -b "$JAR" "$URL$1"
  for _ in $(seq 1 "$RUNS"); do
    curl -fs -o /dev/null -b "$JAR" -w '%{time_starttransfer} %{time_total} %{size_download}\n' "$URL$1"
  done >"$DATA/times"
  echo "$(awk '{print $1*1000}' "$DATA/times" | median) $(awk '{print $2*1000}' "$DATA/times" | median) $(awk '{print $3}' "$DATA/times" | median)"
}
RANGE="from=$FROM&to=$TO"

log "exports of the month, $RUNS downloads each (loopback)"
read -r F L B < <(export_times "/api/v1/reports/export?kind=calls&format=csv&$RANGE")
echo "sightline calls CSV: first byte $F ms, whole $L ms, $((B / 1048576)) MiB"
figure export_calls_csv_first_ms "$F"; figure export_calls_csv_ms "$L"
read -r F L B < <(export_times "/api/v1/reports/export?kind=calls&format=json&$RANGE")
echo "sightline calls JSON: first byte $F ms, whole $L ms, $((B / 1048576)) MiB"
figure export_calls_json_ms "$L"
read -r F L B < <(export_times "/api/v1/reports/export?kind=aggregates&format=csv&group_by=model&bucket=day&$RANGE")
echo "sightline aggregates CSV by model per day: first byte $F ms, whole $L ms"
figure export_aggregates_csv_ms "$L"
read -r F L B < <(export_times "/api/v1/reports/export?kind=aggregates&format=pdf&$RANGE")
echo "sightline PDF report of the month: whole $L ms, $((B / 1024)) KiB"
figure export_pdf_ms "$L"

log "peer: psql COPY of the same rows and order as CSV, $RUNS runs"
COPY_SQL="COPY (SELECT time, id, provider, model, status, http_status, error_type, duration_ms,
  ttft_ms, input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_total_micros,
  session_id, user_id, feature, trace_id, tool_calls, quality_score FROM llm_calls
  WHERE time >= '$FROM' AND time < '$TO' ORDER BY time DESC, id DESC) TO STDOUT WITH CSV HEADER"
for _ in $(seq 1 "$RUNS"); do
  s=$(date +%s%N); psql "$DB_URL" -qc "$COPY_SQL" >/dev/null; e=$(date +%s%N)
  echo $(( (e - s) / 1000000 ))
done | median | xargs -I{} echo "psql COPY to CSV: median {} ms"
echo "server: $(ps -o rss=,time= -p $PID | awk '{printf "RSS %.0f MiB, CPU time %s", $1/1024, $2}')"
