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
work="$(mktemp -d)"
./target/release/creditline keys create --role admin --data-dir "$work" > "$work/key" 2>/dev/null
./target/release/creditline serve --data-dir "$work" --listen 127.0.0.1:0 --rate-limit-per-key 10000000 \
    > "$work/out" 2> "$work/log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q listening "$work/out" && break; sleep 0.1; done
base="$(sed -n 's/^creditline listening on //p' "$work/out")"
st run "$base/openapi.json" -H "Authorization: Bearer $(cat "$work/key")" --max-examples "$examples" \
    --checks all --seed "$seed"
