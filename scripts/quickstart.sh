#!/usr/bin/env bash
# The README's quick start, run for real: a month (and more) of a credit line in a sandbox.
# Starts `creditline serve --sandbox` on a fresh data directory and, over HTTP, installs the
# product, opens a user and a merchant, moves the sandbox clock past the 180 days the default
# product wants before an official withdrawal, then: a withdrawal with its step-up, a purchase,
# a refund, a statement, its repayment, an instalment plan, a risk decision held for review, the
# user's appeal and the analyst's decision. Every step prints what the API answered and stops the
# script (exit 1) if an answer is not what the README says.
#
# Usage: scripts/quickstart.sh [path to the creditline binary; default: builds the release one]
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-}"
if [ -z "$binary" ]; then
    cargo build --release --quiet --bin creditline
    binary=target/release/creditline
fi
source scripts/fresh-server.sh
fresh_server "$binary" --sandbox
# Keys created while the server runs work at once.
"$binary" keys create --role platform --data-dir "$work" > "$work/platform" 2>/dev/null
"$binary" keys create --role analyst --data-dir "$work" > "$work/analyst" 2>/dev/null
"$binary" product install products/huabei.toml --url "$base" --key "$(cat "$work/admin")" --command-id 1
python3 scripts/quickstart.py "$base" "$work" "$binary"
