#!/usr/bin/env bash
# Server memory through the heaviest load of the bench, for one or more server builds, one
# after the other, each on a fresh database: RSS idle at start, right after 300,000 calls
# spread over 30 days with 100 budgets (then their status read 60 times), 45 and 75 s later,
# with what of it is anonymous (heap) memory; the rest is the binary's own pages.
#
#   ./scripts/bench-memory.sh target/release/sightline [OTHER_BINARY …] [--calls N]
#
# Needs the load generator (`cargo build --release -p server --example load`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

BINS=() CALLS=300000
while [ $# -gt 0 ]; do
  case "$1" in
    --calls) CALLS="$2"; shift 2 ;;
    *) BINS+=("$(realpath "$1")"); shift ;;
  esac
done
[ ${#BINS[@]} -ge 1 ] || { echo "usage: $0 BINARY [BINARY …] [--calls N]" >&2; exit 2; }
LOAD="$ROOT/target/release/examples/load"
[ -x "$LOAD" ] || { echo "build the load generator first: cargo build --release -p server --example load" >&2; exit 1; }

ADMIN_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PORT=3296
PASSWORD="bench-admin-password"
DB_NAME=sightline_bench_memory
SCOPES='["ingest","read"]'
mib() { awk "/^$1:/ { printf \"%.1f\", \$2 / 1024 }" "$2"; }
sample() { echo "$1: RSS $(mib VmRSS "/proc/$PID/status") MiB, anonymous $(mib Anonymous "/proc/$PID/smaps_rollup") MiB"; }

for bin in "${BINS[@]}"; do
  log "$bin: $CALLS calls with 100 budgets"
  # start_bench_server runs SERVER_BIN (target/release/sightline when unset).
  SERVER_BIN="$bin" DB_NAME="$DB_NAME" start_bench_server
  sample "  idle at start"
  "$LOAD" budget-status --url "$URL" --key "$KEY" --admin-password "$PASSWORD" \
    --budgets 100 --calls "$CALLS" | sed 's/^/  /'
  sample "  right after"
  sleep 45
  sample "  45 s later"
  # bench.sh's figure: idle connections close 30-60 s after their last use.
  sleep 30
  sample "  75 s later"
  kill "$PID"; wait "$PID" 2>/dev/null || true
  trap - EXIT
  rm -rf "$DATA"
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)"
done
