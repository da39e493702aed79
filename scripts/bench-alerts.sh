#!/usr/bin/env bash
# The alerts benchmark of docs/BENCHMARKS.md: one evaluation cycle over 1,000 rules with a
# million calls and 7 days of samples from 10 hosts, then the time from a threshold crossing
# to the webhook request. PostgreSQL on 127.0.0.1:5432 (or BENCH_DATABASE_URL).
#
#   ./scripts/bench-alerts.sh            # about three minutes
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
ADMIN_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB_URL="${ADMIN_URL%/*}/sightline_bench_alerts"
log "cargo build --release (alert benchmark)"
cargo build --release -p server --example alert_bench
psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS sightline_bench_alerts WITH (FORCE)" -c "CREATE DATABASE sightline_bench_alerts"
echo "$(nproc) cores; PostgreSQL at ${DB_URL%%@*}@…"
"$ROOT/target/release/examples/alert_bench" --database-url "$DB_URL" "$@"
