#!/usr/bin/env bash
# Schema-driven fuzzing of the HTTP API with schemathesis (installed from PyPI if missing): starts
# `creditline serve` on a fresh data directory with an admin key and runs every check over every
# operation in /openapi.json. Prints schemathesis's summary; exits non-zero on any mismatch.
#
# Usage: scripts/api-fuzz.sh [examples per operation, default 15] [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-15}"
seed="${2:-134823317120904976259459361401563834445}"
command -v st >/dev/null || pip install -q schemathesis
cargo build --release --quiet --bin creditline
source scripts/fresh-server.sh
fresh_server ./target/release/creditline --rate-limit-per-key 10000000
st run "$base/openapi.json" -H "Authorization: Bearer $(cat "$work/admin")" --max-examples "$examples" \
    --checks all --seed "$seed"
