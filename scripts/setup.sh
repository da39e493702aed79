# shellcheck shell=bash
# Installs what building, running and testing Sightline needs, on Debian, skipping every
# step that is already done. Sourced by run.sh and test.sh.
#
#   setup_build  the wasm32 target, cargo-leptos, wasm-bindgen-cli (the Cargo.lock version),
#                binaryen 132 from npm (Debian's breaks release WASM), ECharts from npm into
#                public/vendor/, PostgreSQL binaries
#   setup_test   Chromium, Prometheus (promtool), the Playwright packages in end2end/, and a Python virtual
#                environment in .tools/py with the real clients the integration tests drive
#                (OpenTelemetry SDK, openai, anthropic)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
CARGO_LEPTOS_VERSION="0.3.10"
BINARYEN_VERSION="132"
ECHARTS_VERSION="6.1.0"
export PATH="$TOOLS/node_modules/.bin:$HOME/.cargo/bin:$PATH"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Records one measured figure for scripts/bench.sh's goal table when BENCH_FIGURES names a
# file (the format server/examples/load/figures.rs reads: `name value`).
figure() {
  if [ -n "${BENCH_FIGURES:-}" ]; then echo "$1 $2" >>"$BENCH_FIGURES"; fi
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=""
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

have_pg_server() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null
}

wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

setup_build() {
  local pkgs=(ca-certificates curl)
  command -v npm >/dev/null || pkgs+=(nodejs npm)
  command -v cc >/dev/null || pkgs+=(gcc libc6-dev)
  have_pg_server || pkgs+=(postgresql)
  apt_install "${pkgs[@]}"

  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi

  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    # 0.3.11+ needs a newer rustc; no_downloads makes it use the tools on PATH.
    log "cargo install cargo-leptos $CARGO_LEPTOS_VERSION (takes 15-25 minutes once)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi

  local wbg
  wbg="$(wasm_bindgen_version)"
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbg\$"; then
    # Must equal the wasm-bindgen crate in Cargo.lock; --locked fails on this registry.
    log "cargo install wasm-bindgen-cli $wbg"
    cargo install wasm-bindgen-cli --version "$wbg" --force
  fi

  if ! "$TOOLS/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then
    log "npm install binaryen@$BINARYEN_VERSION into .tools/"
    mkdir -p "$TOOLS"
    npm install --silent --no-audit --no-fund --prefix "$TOOLS" "binaryen@$BINARYEN_VERSION"
  fi

  # The charts' JavaScript library, served from public/vendor/ (not committed).
  local echarts="$ROOT/public/vendor/echarts.min.js"
  if ! grep -qx "$ECHARTS_VERSION" "$TOOLS/echarts/.version" 2>/dev/null; then
    log "npm install echarts@$ECHARTS_VERSION into .tools/echarts"
    mkdir -p "$TOOLS/echarts"
    npm install --silent --no-audit --no-fund --prefix "$TOOLS/echarts" "echarts@$ECHARTS_VERSION"
    echo "$ECHARTS_VERSION" >"$TOOLS/echarts/.version"
    rm -f "$echarts"
  fi
  if [ ! -f "$echarts" ]; then
    mkdir -p "$ROOT/public/vendor"
    cp "$TOOLS/echarts/node_modules/echarts/dist/echarts.min.js" "$echarts"
  fi
}

setup_test() {
  local pkgs=()
  [ -x /usr/bin/chromium ] || pkgs+=(chromium)
  command -v pg_isready >/dev/null || pkgs+=(postgresql-client)
  command -v pgrep >/dev/null || pkgs+=(procps)
  # promtool checks /metrics in the integration tests; Prometheus scrapes it end to end.
  command -v promtool >/dev/null || pkgs+=(prometheus)
  # pdftotext and pdftoppm read the PDF reports back in the integration tests.
  command -v pdftotext >/dev/null || pkgs+=(poppler-utils)
  apt_install "${pkgs[@]}"
  setup_python
  local stamp="$ROOT/end2end/node_modules/.installed-lock"
  if [ ! -f "$stamp" ] || ! cmp -s "$ROOT/end2end/package-lock.json" "$stamp"; then
    log "npm ci in end2end/ (Playwright, using Debian's Chromium; no browser download)"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund)
    cp "$ROOT/end2end/package-lock.json" "$stamp"
  fi
}

PY_PACKAGES=(opentelemetry-sdk==1.45.2 opentelemetry-exporter-otlp-proto-http==1.45.2
  openai==3.54.0 anthropic==2.12.0)

setup_python() {
  local venv="$TOOLS/py" stamp="$TOOLS/py/.installed"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${PY_PACKAGES[*]}" ]; then return 0; fi
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then apt_install python3 python3-venv; fi
  log "python venv in .tools/py: ${PY_PACKAGES[*]}"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
  echo "${PY_PACKAGES[*]}" >"$stamp"
}

# Builds the release binary and site unless nothing changed since the last build.
build_release() {
  local bin="$ROOT/target/release/sightline" wasm="$ROOT/target/site/pkg/sightline.wasm"
  # Up to date only if both the binary and the site are newer than every source (a plain
  # `cargo build --release` refreshes the binary but not the WASM).
  if [ -x "$bin" ] && [ -f "$wasm" ] &&
     [ -z "$(find "$ROOT/app" "$ROOT/frontend" "$ROOT/server" "$ROOT/style" "$ROOT/public" \
            "$ROOT/Cargo.toml" "$ROOT/Cargo.lock" \( -newer "$bin" -o -newer "$wasm" \) -print -quit)" ]; then
    log "release build is up to date"
    return 0
  fi
  log "cargo leptos build --release --split --precompress"
  # --split: the pages are lazy routes (app's `lazy_pages!`), each its own WASM chunk; without
  # it the WASM imports a placeholder module no browser can load. --precompress: .br and .gz
  # beside every file of the site, which the server sends to browsers that accept them
  # (nothing is compressed per request).
  # cargo-leptos runs wasm-opt on every chunk at once; one build here failed in that step
  # without a message and passed when run again, so a failure is retried once (a real
  # compile error fails twice). A failed or interrupted build must not be stamped up to date.
  (cd "$ROOT" && { cargo leptos build --release --split --precompress ||
    { log "cargo leptos build failed; retrying once"; cargo leptos build --release --split --precompress; }; }) || return 1
  touch "$bin" "$wasm"
}

# For the benchmark scripts: a fresh database DB_NAME on ADMIN_URL's server, the release
# server on 127.0.0.1:PORT against it (extra arguments go to `serve`), a logged-in admin and
# an API key with SCOPES (a JSON list). Sets DB_URL, URL, DATA, PID and KEY, and stops the
# server on exit. Reads ADMIN_URL, DB_NAME, PORT, PASSWORD and SCOPES.
start_bench_server() {
  DB_URL="${ADMIN_URL%/*}/$DB_NAME"
  URL="http://127.0.0.1:$PORT"
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME"
  DATA="$(mktemp -d "/tmp/$DB_NAME.XXXXXX")"
  SIGHTLINE_ADMIN_PASSWORD="$PASSWORD" SIGHTLINE_LOG=warn \
    "${SERVER_BIN:-$ROOT/target/release/sightline}" serve --listen "127.0.0.1:$PORT" --database-url "$DB_URL" \
    --data-dir "$DATA" "$@" >"$DATA/server.log" 2>&1 &
  PID=$!
  trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT
  for _ in $(seq 1 100); do curl -fs "$URL/readyz" >/dev/null && break; sleep 0.1; done
  local jar="$DATA/cookies"
  curl -fs -c "$jar" -H 'content-type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" "$URL/api/v1/auth/login" >/dev/null
  KEY="$(curl -fs -b "$jar" -H 'content-type: application/json' \
    -d "{\"name\":\"$DB_NAME\",\"scopes\":$SCOPES}" "$URL/api/v1/keys" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"
}
