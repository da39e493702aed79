#!/usr/bin/env bash
# The benchmark-run figures of docs/BENCHMARKS.md (issue 17): 3 models × 10 prompts run by
# Sightline's runner (`sightline bench`, through the proxy's path, every call recorded),
# against a local upstream with known speeds (server/examples/llm_upstream.rs: model
# speed-N sends its first byte after 50·N ms and 20 chunks 10·N ms apart). The peer is the
# slowest model on its own: the same requests sent straight to the upstream at the same
# concurrency, no Sightline in between. The runner's overhead is the run's wall time over
# that. Median of RUNS runs each.
#
#   ./scripts/bench-runs.sh
#   RUNS=5 CONCURRENCY=1 ./scripts/bench-runs.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
setup_build
cd "$ROOT"

RUNS="${RUNS:-3}"
PROMPTS=10
CONCURRENCY="${CONCURRENCY:-2}"
ADMIN_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB_URL="${ADMIN_URL%/*}/sightline_bench_runs"
PORT="${BENCH_PORT:-3297}"
UP_PORT="${BENCH_UPSTREAM_PORT:-3298}"
URL="http://127.0.0.1:$PORT"
UP="http://127.0.0.1:$UP_PORT"
PASSWORD="bench-admin-password"

build_release
cargo build --release -p server --example llm_upstream
psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS sightline_bench_runs" -qc "CREATE DATABASE sightline_bench_runs"
DATA="$(mktemp -d /tmp/sightline-bench.XXXXXX)"
"$ROOT/target/release/examples/llm_upstream" serve "$UP_PORT" &
UPID=$!
SIGHTLINE_ADMIN_PASSWORD="$PASSWORD" SIGHTLINE_LOG=warn SIGHTLINE_SITE_ROOT="$ROOT/target/site" \
  "$ROOT/target/release/sightline" serve --listen "127.0.0.1:$PORT" --database-url "$DB_URL" \
  --data-dir "$DATA" >"$DATA/server.log" 2>&1 &
PID=$!
trap 'kill $PID $UPID 2>/dev/null; wait $PID $UPID 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 300); do curl -fs "$URL/readyz" >/dev/null && break; sleep 0.2; done

JAR="$DATA/cookies"
curl -fs -c "$JAR" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" "$URL/api/v1/auth/login" >/dev/null
curl -fs -b "$JAR" -X PUT -H 'content-type: application/json' \
  -d "{\"kind\":\"openai\",\"base_url\":\"$UP\",\"api_key\":\"sk-bench\"}" "$URL/api/v1/providers/lab" >/dev/null
KEY="$(curl -fs -b "$JAR" -H 'content-type: application/json' \
  -d '{"name":"bench","scopes":["ingest","read"]}' "$URL/api/v1/keys" | sed -E 's/.*"secret":"([^"]+)".*/\1/')"
for i in $(seq 1 $PROMPTS); do echo "{\"prompt\": \"prompt $i\", \"expected\": \"word\"}"; done >"$DATA/prompts.jsonl"

median() { sort -n | awk '{a[NR]=$1} END {printf "%.0f", a[int((NR+1)/2)]}'; }
log "3 models × $PROMPTS prompts at concurrency $CONCURRENCY per model, $RUNS runs"
for _ in $(seq 1 "$RUNS"); do
  "$ROOT/target/release/sightline" bench --server "$URL" --api-key "$KEY" --json \
    --models lab/speed-1,lab/speed-2,lab/speed-3 --prompts "$DATA/prompts.jsonl" \
    --scoring contains --concurrency "$CONCURRENCY" >"$DATA/run.json"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["run"]["wall_ms"])' "$DATA/run.json"
done | tee "$DATA/walls" | median >"$DATA/wall"
log "peer: the slowest model alone, straight to the upstream, $RUNS runs"
for _ in $(seq 1 "$RUNS"); do
  "$ROOT/target/release/examples/llm_upstream" direct "$UP" speed-3 "$PROMPTS" "$CONCURRENCY"
done | tee "$DATA/alones" | median >"$DATA/alone"
WALL="$(cat "$DATA/wall")"; ALONE="$(cat "$DATA/alone")"
echo "run of 3 models × $PROMPTS prompts: median wall $WALL ms (runs: $(xargs printf '%.0f ' <"$DATA/walls"))"
echo "slowest model alone (direct): median $ALONE ms (runs: $(xargs printf '%.0f ' <"$DATA/alones"))"
echo "runner overhead: $((WALL - ALONE)) ms ($(awk -v w="$WALL" -v a="$ALONE" 'BEGIN {printf "%.1f", (w - a) / a * 100}') %)"
figure bench_run_wall_ms "$WALL"; figure bench_run_alone_ms "$ALONE"
echo "calls recorded: $(psql "$DB_URL" -qtAc "SELECT count(*) FROM llm_calls WHERE feature = 'benchmark'")"
echo "server: $(ps -o rss=,time= -p $PID | awk '{printf "RSS %.0f MiB, CPU time %s", $1/1024, $2}')"
