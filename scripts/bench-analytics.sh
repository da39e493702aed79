#!/usr/bin/env bash
# The analytics benchmarks of docs/BENCHMARKS.md: seeds CALLS synthetic calls over 90 days
# through the real ingest path (`sightline seed-demo`, kept in the `sightline_bench_analytics`
# database so later runs reuse it), then measures
#   - the overview API for 30 days (median of RUNS requests) against the same figures
#     computed by SQL over the raw rows (the peer: what a dashboard without rollups does);
#   - the aggregation by model per day, by user, and the sessions list (the raw-row reads);
#   - the Overview page in Chromium: hydrated and charts drawn, and a live update;
#   - the WASM bundle, raw and gzip.
#
#   ./scripts/bench-analytics.sh                # 10 million calls (seeding takes a while once)
#   CALLS=1000000 ./scripts/bench-analytics.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
setup_build
setup_test
cd "$ROOT"

CALLS="${CALLS:-10000000}"
RUNS="${RUNS:-21}"
ADMIN_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB_URL="${ADMIN_URL%/*}/sightline_bench_analytics"
PORT="${BENCH_PORT:-3298}"
URL="http://127.0.0.1:$PORT"
PASSWORD="bench-admin-password"

build_release
psql "$ADMIN_URL" -qtc "SELECT 1 FROM pg_database WHERE datname = 'sightline_bench_analytics'" | grep -q 1 \
  || psql "$ADMIN_URL" -qc "CREATE DATABASE sightline_bench_analytics"
DATA="$(mktemp -d /tmp/sightline-bench.XXXXXX)"
SIGHTLINE_ADMIN_PASSWORD="$PASSWORD" SIGHTLINE_LOG=warn SIGHTLINE_SITE_ROOT="$ROOT/target/site" \
  "$ROOT/target/release/sightline" serve --listen "127.0.0.1:$PORT" --database-url "$DB_URL" \
  --data-dir "$DATA" >"$DATA/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 300); do curl -fs "$URL/readyz" >/dev/null && break; sleep 0.2; done

HAVE="$(psql "$DB_URL" -qtAc "SELECT count(*) FROM llm_calls")"
if [ "$HAVE" -lt "$CALLS" ]; then
  log "seeding $((CALLS - HAVE)) calls over 90 days through the ingest API"
  SIGHTLINE_ADMIN_PASSWORD="$PASSWORD" "$ROOT/target/release/sightline" seed-demo \
    --server "$URL" --calls "$((CALLS - HAVE))" --days 90 --seed "$HAVE" --concurrency 4
fi
STORED="$(psql "$DB_URL" -qtAc "SELECT count(*) FROM llm_calls")"
echo "calls stored: $STORED; $(nproc) cores"
figure analytics_calls "$STORED"
psql "$DB_URL" -qc "VACUUM ANALYZE" >/dev/null

JAR="$DATA/cookies"
curl -fs -c "$JAR" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" "$URL/api/v1/auth/login" >/dev/null
KEY="$(curl -fs -b "$JAR" -H 'content-type: application/json' -d '{"name":"bench","scopes":["ingest","read"]}' \
  "$URL/api/v1/keys" | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"

median() { sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]}'; }
# Median time to last byte of RUNS requests for PATH, after one warm-up request (which fills
# the closed-day cache; the first request after a start pays the cold cost).
api_median() {
  curl -fs -o /dev/null -b "$JAR" "$URL$1"
  for _ in $(seq 1 "$RUNS"); do
    curl -fs -o /dev/null -w '%{time_total}\n' -b "$JAR" "$URL$1" | awk '{print $1*1000}'
  done | median
}

log "analytics API, $RUNS requests each (time to last byte, loopback)"
MS="$(api_median "/api/v1/analytics/overview?range=30d&tz=Europe/Berlin")"
echo "sightline overview, 30 days (rollups): median $MS ms"; figure overview_api_ms "$MS"
MS="$(api_median "/api/v1/analytics?range=30d&tz=Europe/Berlin&group_by=model&bucket=day")"
echo "sightline analytics by model per day, 30 days: median $MS ms"; figure by_model_api_ms "$MS"
MS="$(api_median "/api/v1/analytics?range=30d&tz=Europe/Berlin&group_by=user")"
echo "sightline analytics by user, 30 days: median $MS ms"; figure by_user_api_ms "$MS"
MS="$(api_median "/api/v1/sessions?range=7d")"
echo "sightline sessions list, 7 days: median $MS ms"; figure sessions_api_ms "$MS"

log "peer: the same figures by SQL over the raw rows, 5 runs"
RAW_SQL="SELECT model, count(*), sum(input_tokens + output_tokens), sum(cost_total_micros),
  avg(duration_ms), percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms),
  count(*) FILTER (WHERE status <> 'ok')
  FROM llm_calls WHERE time >= now() - interval '30 days' GROUP BY model"
for _ in $(seq 1 5); do
  s=$(date +%s%N); psql "$DB_URL" -qtAc "$RAW_SQL" >/dev/null; e=$(date +%s%N)
  echo $(( (e - s) / 1000000 ))
done | median | xargs -I{} echo "raw SQL per model over 30 days: median {} ms"

log "Overview page in Chromium"
(cd end2end && node bench/overview-perf.mjs "$URL" "$PASSWORD" "$KEY" 7)

log "WASM bundle"
# The pages are split chunks (see app's `lazy_pages!`); the Overview's first load is measured
# in Chromium above (overview_wasm_kb). Here: the main module alone and every file together.
gz_kb() { cat "$@" | gzip -9 -c | wc -c | awk '{printf "%.0f", $1/1024}'; }
PKG="$ROOT/target/site/pkg"
GZ_KB="$(gz_kb "$PKG/sightline.wasm")"
echo "wasm main module: $(stat -c %s "$PKG/sightline.wasm" | awk '{printf "%.0f KB", $1/1024}') raw, $GZ_KB KB gzip"
figure wasm_gzip_kb "$GZ_KB"
ALL_KB=0
for f in "$PKG"/*.wasm; do ALL_KB=$((ALL_KB + $(gz_kb "$f"))); done
echo "wasm, all $(ls "$PKG"/*.wasm | wc -l) files (each gzipped on its own): $ALL_KB KB gzip"
echo "echarts.min.js: $(stat -c %s public/vendor/echarts.min.js | awk '{printf "%.0f KB", $1/1024}') raw, $(gzip -9 -c public/vendor/echarts.min.js | wc -c | awk '{printf "%.0f KB", $1/1024}') gzip"
echo "server: $(ps -o rss=,time= -p $PID | awk '{printf "RSS %.0f MiB, CPU time %s", $1/1024, $2}')"
