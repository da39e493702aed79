#!/usr/bin/env bash
# Native ingest of two server builds, measured alternately in one run (A B B A …) so that the
# machine's drift falls on both, then the same run's COPY ceiling. Each build has its own
# database, so both grow alike. For a change's before and after:
#
#   ./scripts/bench-ingest-ab.sh OLD_BINARY NEW_BINARY [--batch 1000] [--rounds 3] [--seconds 10]
#
# Needs the load generator (`cargo build --release -p server --example load`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

[ $# -ge 2 ] || { echo "usage: $0 OLD_BINARY NEW_BINARY [--batch N] [--rounds N] [--seconds N]" >&2; exit 2; }
BIN_A="$(realpath "$1")" BIN_B="$(realpath "$2")"
shift 2
BATCH=1000 ROUNDS=3 SECONDS_PER_RUN=10
while [ $# -gt 0 ]; do
  case "$1" in
    --batch) BATCH="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --seconds) SECONDS_PER_RUN="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
LOAD="$ROOT/target/release/examples/load"
[ -x "$LOAD" ] || { echo "build the load generator first: cargo build --release -p server --example load" >&2; exit 1; }

ADMIN_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PASSWORD="bench-admin-password"
WORK="$(mktemp -d /tmp/sightline_ab.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for s in a b; do psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS sightline_ab_$s WITH (FORCE)" || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# start NAME BINARY PORT: a server on its own database; sets URL_<NAME>, KEY_<NAME>, PID_<NAME>.
start() {
  local name="$1" bin="$2" port="$3" db="sightline_ab_$1"
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  mkdir -p "$WORK/$name"
  SIGHTLINE_ADMIN_PASSWORD="$PASSWORD" SIGHTLINE_LOG=warn "$bin" serve \
    --listen "127.0.0.1:$port" --database-url "${ADMIN_URL%/*}/$db" --data-dir "$WORK/$name" \
    --system-interval off >"$WORK/$name/server.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  local url="http://127.0.0.1:$port"
  for _ in $(seq 1 150); do curl -fs "$url/readyz" >/dev/null && break; sleep 0.1; done
  curl -fs -c "$WORK/$name/jar" -H 'content-type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" "$url/api/v1/auth/login" >/dev/null
  local key
  key="$(curl -fs -b "$WORK/$name/jar" -H 'content-type: application/json' \
    -d '{"name":"ab","scopes":["ingest"]}' "$url/api/v1/keys" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"
  printf -v "URL_$name" '%s' "$url"
  printf -v "KEY_$name" '%s' "$key"
  printf -v "PID_$name" '%s' "$pid"
}
start a "$BIN_A" 3311
start b "$BIN_B" 3312

# run NAME: one load run against that server; appends its calls/s to $WORK/NAME.rates.
run() {
  local url_var="URL_$1" key_var="KEY_$1" pid_var="PID_$1"
  local out
  out="$(env -u BENCH_FIGURES "$LOAD" ingest --url "${!url_var}" --key "${!key_var}" \
    --batch "$BATCH" --concurrency 4 --seconds "$SECONDS_PER_RUN" --server-pid "${!pid_var}")"
  echo "$1: $out" | sed 's/^/  /'
  echo "$out" | grep -oE '= [0-9]+/s' | head -1 | tr -dc '0-9' >>"$WORK/$1.rates"
  echo >>"$WORK/$1.rates"
}
echo "== batches of $BATCH from 4 clients, $SECONDS_PER_RUN s each, A = $BIN_A, B = $BIN_B"
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then run a; run b; else run b; run a; fi
done
"$LOAD" copy-ceiling --database-url "${ADMIN_URL%/*}/sightline_ab_a" --rows 1000000 | sed 's/^/  /'
CEILING="$("$LOAD" copy-ceiling --database-url "${ADMIN_URL%/*}/sightline_ab_b" --rows 1000000 |
  grep -oE '= [0-9]+ rows/s' | tr -dc '0-9')"
echo "  copy ceiling (second run): $CEILING rows/s"
for s in a b; do
  python3 - "$WORK/$s.rates" "$CEILING" "$s" <<'EOF'
import statistics, sys
rates = [int(l) for l in open(sys.argv[1]) if l.strip()]
ceiling = int(sys.argv[2])
m = statistics.median(rates)
print(f"{sys.argv[3].upper()}: calls/s {', '.join(f'{r:,}' for r in rates)}; median {m:,.0f} = {100 * m / ceiling:.1f} % of the ceiling")
EOF
done
