#!/usr/bin/env bash
# Where ingest time goes (docs/BENCHMARKS.md, "Ingest profile"): a release server on
# loopback takes native batches of 1000 from the load generator while `perf` samples every
# process on the machine; then the split by process and the hottest symbols of Sightline and
# PostgreSQL. Needs perf (Debian's linux-perf) and root or perf_event_paranoid <= 1.
#
#   ./scripts/profile-ingest.sh            # about a minute after the build
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
command -v perf >/dev/null || apt_install linux-perf

ADMIN_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PORT="${BENCH_PORT:-3298}"
PASSWORD="bench-admin-password"
build_release
cargo build --release -p server --example load
DB_NAME=sightline_profile SCOPES='["ingest"]' start_bench_server --system-interval off

OUT="${PROFILE_OUT:-$DATA/perf.data}"
"$ROOT/target/release/examples/load" ingest --url "$URL" --key "$KEY" --batch "${BATCH:-1000}" \
  --concurrency 4 --seconds 15 --server-pid "$PID" &
LOADPID=$!
sleep 3
perf record -F 499 -a -g -o "$OUT" -- sleep 10 2>/dev/null
wait $LOADPID
echo "== CPU by process"
perf report -i "$OUT" --sort comm --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -8 || true  # head closing the pipe is not a failure
echo "== hottest symbols in Sightline (self time, share of all samples)"
perf report -i "$OUT" --pid "$PID" --no-children --sort dso,symbol --stdio 2>/dev/null |
  grep -E '^ +[0-9]' | head -15 || true  # head closing the pipe is not a failure
echo "== hottest symbols in PostgreSQL"
perf report -i "$OUT" --comm postgres --no-children --sort dso,symbol --stdio 2>/dev/null |
  grep -E '^ +[0-9]' | head -15 || true  # head closing the pipe is not a failure
