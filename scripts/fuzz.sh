#!/usr/bin/env bash
# Runs the property tests of server/tests/properties.rs with many cases (outside CI, which
# runs 512 per property): every parser at the edge gets CASES arbitrary inputs, in a release
# build. Prints the time taken; a failure prints the shrunk input that broke it.
#
#   ./scripts/fuzz.sh                  # 1,000,000 cases per property (hours on 2 cores)
#   CASES=100000 ./scripts/fuzz.sh     # a shorter run
#   CASES=100000 ./scripts/fuzz.sh otlp   # one property (a name filter)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
CASES="${CASES:-1000000}"
log "cargo test --release --test properties (PROPTEST_CASES=$CASES per property)"
cargo test --release -p server -p app --features app/ssr --test properties --no-run
start=$(date +%s)
PROPTEST_CASES="$CASES" cargo test --release -p server -p app --features app/ssr \
  --test properties -- "${@}"
log "$CASES cases per property in $(( $(date +%s) - start )) s"
