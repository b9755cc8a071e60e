#!/usr/bin/env bash
# Schema-driven fuzzing of the HTTP API with schemathesis: starts `creditline serve` on a fresh data
# directory with an admin key and runs every check over every operation in /openapi.json, with the
# settings of scripts/schemathesis.toml (ADR 0008). Prints schemathesis's summary; exits non-zero
# on any mismatch. Without `st` on the PATH it installs schemathesis into target/api-fuzz-venv.
#
# Usage: scripts/api-fuzz.sh [creditline binary] [examples per operation, default 15] [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-}"
examples="${2:-15}"
seed="${3:-134823317120904976259459361401563834445}"
if [ -z "$binary" ]; then
    cargo build --release --quiet --bin creditline
    binary=./target/release/creditline
fi
st=st
if ! command -v st >/dev/null; then
    venv=target/api-fuzz-venv
    if [ ! -x "$venv/bin/st" ]; then
        python3 -m venv "$venv" 2>/dev/null || {
            apt-get update -q && apt-get install -y -q python3-venv && python3 -m venv "$venv"
        }
        "$venv/bin/pip" install -q schemathesis==4.32.5
    fi
    st="$venv/bin/st"
fi
source scripts/fresh-server.sh
fresh_server "$binary" --rate-limit-per-key 10000000
"$st" --config-file scripts/schemathesis.toml run "$base/openapi.json" \
    -H "Authorization: Bearer $(cat "$work/admin")" --max-examples "$examples" --checks all --seed "$seed"
