#!/usr/bin/env bash
# Points Debian's Prometheus at a running Sightline: it scrapes /metrics every second,
# waits until `up{job="sightline"} == 1`, and prints what two queries answer (Sightline's
# request rate by route, and its stored calls by source).
#
#   ./scripts/prometheus.sh                    # Sightline on 127.0.0.1:3000, then stop
#   ./scripts/prometheus.sh 127.0.0.1:3199     # another address
#   ./scripts/prometheus.sh --serve            # keep Prometheus running (UI on PROM_PORT)
#
# SIGHTLINE_METRICS_TOKEN, when set, is sent as the bearer token. Prometheus listens on
# 127.0.0.1:PROM_PORT (default 19090) and keeps its data in a temporary directory.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

SERVE=""
TARGET="127.0.0.1:3000"
for arg in "$@"; do
  case "$arg" in
    --serve) SERVE=1 ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    *) TARGET="$arg" ;;
  esac
done
PROM_PORT="${PROM_PORT:-19090}"
apt_install prometheus curl python3

DIR="$(mktemp -d /tmp/sightline-prometheus.XXXXXX)"
AUTH=""
if [ -n "${SIGHTLINE_METRICS_TOKEN:-}" ]; then
  printf '%s' "$SIGHTLINE_METRICS_TOKEN" >"$DIR/token"
  chmod 600 "$DIR/token"
  AUTH="    authorization:
      credentials_file: $DIR/token"
fi
cat >"$DIR/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: sightline
    metrics_path: /metrics
$AUTH
    static_configs:
      - targets: ["$TARGET"]
EOF
promtool check config "$DIR/prometheus.yml" >/dev/null

prometheus --config.file="$DIR/prometheus.yml" --storage.tsdb.path="$DIR/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$DIR/prometheus.log" 2>&1 &
PROM=$!
trap 'kill $PROM 2>/dev/null; wait $PROM 2>/dev/null || true; rm -rf "$DIR"' EXIT

API="http://127.0.0.1:$PROM_PORT/api/v1"
# One instant query; prints `labels value` per series.
query() {
  curl -fsS --get "$API/query" --data-urlencode "query=$1" | python3 -c '
import json, sys
answer = json.load(sys.stdin)["data"]["result"]
for s in answer:
    labels = ",".join(f"{k}=\"{v}\"" for k, v in sorted(s["metric"].items()))
    value = s["value"][1]
    print(f"  {{{labels}}} {value}")
if not answer:
    print("  (no series)")
'
}

log "Prometheus on 127.0.0.1:$PROM_PORT scraping http://$TARGET/metrics"
up=""
for _ in $(seq 1 60); do
  if curl -fs "$API/query?query=up" >/dev/null 2>&1; then
    up="$(query 'up{job="sightline"}' | awk '{print $2}')"
    [ "$up" = "1" ] && break
  fi
  kill -0 "$PROM" 2>/dev/null || { cat "$DIR/prometheus.log"; exit 1; }
  sleep 0.5
done
if [ "$up" != "1" ]; then
  echo "Prometheus never scraped Sightline (up = ${up:-none}); its targets say:" >&2
  curl -fsS "$API/targets" >&2 || true
  exit 1
fi
echo 'up{job="sightline"}'
query 'up{job="sightline"}'
# A rate needs two scrapes after traffic; give it a few.
sleep 3
echo 'sum by (route, status) (rate(sightline_http_requests_total[30s]))'
query 'sum by (route, status) (rate(sightline_http_requests_total[30s]))'
echo 'sightline_llm_calls_stored_total'
query 'sightline_llm_calls_stored_total'

if [ -n "$SERVE" ]; then
  log "Prometheus keeps running on http://127.0.0.1:$PROM_PORT (Ctrl-C stops it)"
  wait "$PROM"
fi
