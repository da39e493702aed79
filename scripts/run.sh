#!/usr/bin/env bash
# Installs what is missing, builds in release mode and serves Sightline on
# http://127.0.0.1:3000. Without DATABASE_URL it runs its own PostgreSQL in ./.sightline/.
# Extra arguments go to `sightline serve` (see `--help`), e.g. --listen 0.0.0.0:8080.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
setup_build
build_release
cd "$ROOT"
export SIGHTLINE_SITE_ROOT="${SIGHTLINE_SITE_ROOT:-$ROOT/target/site}"
exec "$ROOT/target/release/sightline" serve "$@"
