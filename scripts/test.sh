#!/usr/bin/env bash
# Runs every check: formatting, clippy (server build and wasm32 hydrate build), unit and
# integration tests against a real PostgreSQL, and the Playwright end-to-end tests in
# Debian's Chromium against the release build. Installs what is missing first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
setup_build
setup_test
cd "$ROOT"

CLEANUP=()
cleanup() {
  local c
  for c in "${CLEANUP[@]}"; do eval "$c" || true; done
}
trap cleanup EXIT

log "cargo fmt --check"
cargo fmt --all -- --check

log "clippy: server build (ssr)"
cargo clippy -p server -p app --features app/ssr --all-targets -- -D warnings
log "clippy: browser build (hydrate, wasm32)"
cargo clippy -p frontend -p app --features app/hydrate --target wasm32-unknown-unknown -- -D warnings

# A PostgreSQL for the integration tests: the one on 127.0.0.1:5432 when it answers,
# otherwise a private throwaway cluster.
if [ -z "${SIGHTLINE_TEST_DATABASE_URL:-}" ]; then
  if pg_isready -q -h 127.0.0.1 -p 5432 && psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
    export SIGHTLINE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
  else
    PGBIN="$(dirname "$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n1)")"
    PGDIR="$(mktemp -d /tmp/sightline-test-pg.XXXXXX)"
    chmod 755 "$PGDIR"
    PGPORT="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null || echo 54329)"
    RUN=()
    if [ "$(id -u)" = 0 ]; then chown postgres "$PGDIR"; RUN=(runuser -u postgres --); fi
    log "starting a private PostgreSQL for the tests on port $PGPORT"
    "${RUN[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
    "${RUN[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
      -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1" start >/dev/null
    CLEANUP+=("${RUN[*]} $PGBIN/pg_ctl -D $PGDIR/data -m fast -w stop >/dev/null; rm -rf $PGDIR")
    export SIGHTLINE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
  fi
fi

log "unit and integration tests"
cargo test -p server -p app --features app/ssr

log "end-to-end tests (release build, Chromium)"
build_release
E2E_DIR="$(mktemp -d /tmp/sightline-e2e.XXXXXX)"
chmod 755 "$E2E_DIR"
E2E_PORT="${E2E_PORT:-3199}"
SIGHTLINE_ADMIN_PASSWORD="e2e-admin-password" \
SIGHTLINE_LOGIN_ATTEMPTS_PER_MINUTE=1000 \
SIGHTLINE_ALERT_INTERVAL=1s \
SIGHTLINE_ALERT_GROUP_WINDOW=2s \
SIGHTLINE_WORKER_LOST_AFTER=3s \
SIGHTLINE_DB_SLOW_QUERY_MS=5 \
SIGHTLINE_BROWSER_ORIGINS="http://127.0.0.1:${E2E_SHOP_PORT:-3198}" \
SIGHTLINE_SITE_ROOT="$ROOT/target/site" \
SIGHTLINE_LOG=warn \
  env -u DATABASE_URL "$ROOT/target/release/sightline" serve \
    --listen "127.0.0.1:$E2E_PORT" --data-dir "$E2E_DIR/data" >"$E2E_DIR/server.log" 2>&1 &
SERVER_PID=$!
CLEANUP+=("kill $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null; rm -rf $E2E_DIR")
for _ in $(seq 1 300); do
  curl -fs "http://127.0.0.1:$E2E_PORT/readyz" >/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$E2E_DIR/server.log"; exit 1; }
  sleep 0.2
done
# A populated dashboard, through the real ingest path (and a test of seed-demo itself).
SIGHTLINE_ADMIN_PASSWORD="e2e-admin-password" "$ROOT/target/release/sightline" seed-demo \
  --server "http://127.0.0.1:$E2E_PORT" --calls 3000 --days 7
# A real Prometheus scrapes /metrics (up == 1) and answers a query over it.
"$ROOT/scripts/prometheus.sh" "127.0.0.1:$E2E_PORT"
(cd end2end && SIGHTLINE_URL="http://127.0.0.1:$E2E_PORT" SIGHTLINE_ADMIN_PASSWORD="e2e-admin-password" npx playwright test)

# The embedded database must go when Sightline does.
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || { echo "sightline exited with an error:"; cat "$E2E_DIR/server.log"; exit 1; }
if pgrep -f "postgres.*$E2E_DIR" >/dev/null; then
  echo "a postgres process outlived sightline:"; pgrep -af "postgres.*$E2E_DIR"; exit 1
fi
log "all checks passed"
