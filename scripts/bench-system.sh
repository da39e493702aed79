#!/usr/bin/env bash
# The system-collector benchmark of docs/BENCHMARKS.md: Sightline idle with its collector at
# 1 s next to Debian's prometheus-node-exporter scraped every second, both for the same
# SECONDS (default 60): CPU as % of one core (from /proc/PID/stat ticks) and RSS (median and
# peak of VmRSS read every second). Sightline stores into a database of the PostgreSQL on
# 127.0.0.1:5432 (or BENCH_DATABASE_URL); the database server's own CPU is reported too.
# It measures once per host size in PROCESSES (default "100 500"): idle `sleep`s are started
# until the host runs that many processes, since both collectors' cost grows with them.
#
#   ./scripts/bench-system.sh
#   SECONDS_TO_RUN=120 PROCESSES="100 300 500" ./scripts/bench-system.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
setup_build
cd "$ROOT"
apt_install prometheus-node-exporter

RUN_S="${SECONDS_TO_RUN:-60}"
ADMIN_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB_URL="${ADMIN_URL%/*}/sightline_bench_system"
PORT="${BENCH_PORT:-3297}"
NE_PORT=19100

build_release
psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS sightline_bench_system" 
psql "$ADMIN_URL" -qc "CREATE DATABASE sightline_bench_system"
DATA="$(mktemp -d /tmp/sightline-bench.XXXXXX)"
SIGHTLINE_ADMIN_PASSWORD="bench-admin-password" SIGHTLINE_LOG=warn SIGHTLINE_SITE_ROOT="$ROOT/target/site" \
  "${SERVER_BIN:-$ROOT/target/release/sightline}" serve --listen "127.0.0.1:$PORT" --database-url "$DB_URL" \
  --data-dir "$DATA" --system-interval 1s >"$DATA/server.log" 2>&1 &
SL=$!
prometheus-node-exporter --web.listen-address="127.0.0.1:$NE_PORT" >"$DATA/ne.log" 2>&1 &
NE=$!
SLEEPERS=()
trap 'kill $SL $NE "${SLEEPERS[@]}" 2>/dev/null; wait $SL $NE 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$NE_PORT/metrics" >/dev/null && break; sleep 0.1; done
# Let both settle (first samples, connection pools) before measuring.
sleep 5

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
pg_ticks() { # every postgres process serving the bench database
  local t=0 p
  for p in $(pgrep -f "postgres: .*sightline_bench_system" || true); do
    t=$((t + $(ticks "$p" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
HZ="$(getconf CLK_TCK)"
processes() { find /proc -maxdepth 1 -name '[0-9]*' | wc -l; }
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
peak() { printf '%s\n' "$@" | sort -n | tail -n1; }

measure() {
  STORED0=$(psql "$DB_URL" -qtAc "SELECT count(*) FROM system_samples")
  SL0=$(ticks $SL); NE0=$(ticks $NE); PG0=$(pg_ticks)
  SL_RSS=(); NE_RSS=()
  START=$(date +%s.%N)
  for _ in $(seq 1 "$RUN_S"); do
    curl -fs "http://127.0.0.1:$NE_PORT/metrics" >/dev/null # the scrape node_exporter needs to work
    SL_RSS+=("$(rss_kib $SL)"); NE_RSS+=("$(rss_kib $NE)")
    sleep 1
  done
  END=$(date +%s.%N)
  SL1=$(ticks $SL); NE1=$(ticks $NE); PG1=$(pg_ticks)
  STORED=$(( $(psql "$DB_URL" -qtAc "SELECT count(*) FROM system_samples") - STORED0 ))
  python3 - "$SL0" "$SL1" "$NE0" "$NE1" "$PG0" "$PG1" "$START" "$END" "$HZ" \
    "$(median "${SL_RSS[@]}")" "$(peak "${SL_RSS[@]}")" "$(median "${NE_RSS[@]}")" "$(peak "${NE_RSS[@]}")" "$STORED" "$(processes)" "$WANT" <<'PY'
import os, sys
sl0, sl1, ne0, ne1, pg0, pg1 = map(int, sys.argv[1:7])
start, end, hz = float(sys.argv[7]), float(sys.argv[8]), int(sys.argv[9])
slm, slp, nem, nep, stored = map(int, sys.argv[10:15])
wall = end - start
pct = lambda a, b: (b - a) / hz / wall * 100
print(f"{sys.argv[15]} processes on the host; measured for {wall:.0f} s; samples stored by Sightline: {stored}")
print("| process | CPU, % of one core | RSS median | RSS peak |")
print("|---|---|---|---|")
print(f"| sightline (collector at 1 s, storing every sample) | {pct(sl0, sl1):.2f} % | {slm/1024:.1f} MiB | {slp/1024:.1f} MiB |")
print(f"| prometheus-node-exporter (scraped every 1 s) | {pct(ne0, ne1):.2f} % | {nem/1024:.1f} MiB | {nep/1024:.1f} MiB |")
print(f"| PostgreSQL backends of Sightline's database | {pct(pg0, pg1):.2f} % | | |")
if os.environ.get("BENCH_FIGURES"):
    with open(os.environ["BENCH_FIGURES"], "a") as f:
        want = sys.argv[16]
        f.write(f"idle_cpu_pct_{want} {pct(sl0, sl1)}\nnode_exporter_cpu_pct_{want} {pct(ne0, ne1)}\n")
        f.write(f"idle_rss_mib_{want} {slm / 1024}\n")
PY
}

for WANT in ${PROCESSES:-100 500}; do
  while [ "$(processes)" -lt "$WANT" ]; do sleep 100000 & SLEEPERS+=($!); done
  sleep 3 # a full process-table read sees the new ones before measuring
  measure
done
