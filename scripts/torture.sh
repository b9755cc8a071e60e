#!/usr/bin/env bash
# The long fault runs CI only samples: the journal simulation over many seeds, then the SIGKILL
# crash test over many rounds, each with a fresh random seed that is printed (rerun one with
# JOURNAL_SIMULATION_SEED=N or CRASH_SEED=N).
#   scripts/torture.sh [simulation seeds, default 20000] [crash rounds, default 1000]
set -euo pipefail
cd "$(dirname "$0")/.."
seeds="${1:-20000}"
rounds="${2:-1000}"
crash_seed="${CRASH_SEED:-$RANDOM$RANDOM}"
echo "journal simulation: $seeds seeds"
JOURNAL_SIMULATION_SEEDS="$seeds" cargo test --release -p journal --test journal simulation -- --nocapture
echo "crash test: $rounds rounds, seed $crash_seed"
CRASH_SEED="$crash_seed" CRASH_ROUNDS="$rounds" \
    cargo test --release -p cli --test cli acknowledged_commands_survive_sigkill -- --nocapture
