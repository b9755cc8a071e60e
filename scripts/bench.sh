#!/usr/bin/env bash
# Runs `creditline bench --json` and the PostgreSQL double-entry baseline on this machine, one
# after the other, and prints both with the ratio. Figures go to docs/PERFORMANCE.md.
#
# Usage: scripts/bench.sh [extra creditline bench flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin creditline
creditline="$(./target/release/creditline bench --json "$@")"
postgres="$(scripts/pg-baseline.sh 20)"
python3 - "$creditline" "$postgres" <<'PY'
import json, sys
bench, pg = json.loads(sys.argv[1]), json.loads(sys.argv[2])
tps = pg["postgres_transfers_per_sec"]
print(json.dumps({
    "creditline": bench,
    "postgres": pg,
    "durable_vs_postgres": round(bench["durable_events_per_sec"] / tps, 1),
    "engine_vs_postgres": round(bench["engine_events_per_sec"] / tps, 1),
}, indent=2))
PY
