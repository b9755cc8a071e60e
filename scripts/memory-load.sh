#!/usr/bin/env bash
# Memory under sustained load: starts `creditline serve` (release) on a fresh data directory and
# sends N million top-ups (default 3) in /v1/batch requests of 5,000, to 10,000 users, printing
# the server's resident memory (VmRSS) and its data files' sizes after every million commands.
# Top-ups keep the ledger state flat (10,000 users), so what grows is what each command leaves
# behind: its remembered id (the idempotency window), the read model, and the allocator.
#
# Usage: scripts/memory-load.sh [millions=3]
set -euo pipefail
cd "$(dirname "$0")/.."
millions="${1:-3}"
cargo build --release --quiet --bin creditline
source scripts/fresh-server.sh
fresh_server ./target/release/creditline --rate-limit-per-key 10000000
python3 - "$base" "$(cat "$work/admin")" "$server" "$work" "$millions" <<'PY'
import json, os, sys, time, urllib.request
base, key, pid, work, millions = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
def post(path, body):
    request = urllib.request.Request(base + path, json.dumps(body).encode(), method="POST",
        headers={"authorization": "Bearer " + key, "content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)
def rss_mib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
def size_mib(path):
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, name)) for name in files)
    return total / 2**20
users = 10_000
post("/v1/batch", {"commands": [{"type": "open_user", "command_id": u + 1, "user_id": u, "currency": "CNY",
    "identity": "full"} for u in range(users)]})
print(f"{'commands':>10} {'rss MiB':>9} {'journal MiB':>12} {'read model MiB':>15} {'cmds/s':>8}")
print(f"{0:>10} {rss_mib():>9.0f} {size_mib(work + '/journal'):>12.0f} {0:>15.0f}")
next_id, started = users + 1, time.time()
for million in range(1, millions + 1):
    for _ in range(200):
        commands = [{"type": "top_up", "command_id": next_id + i, "user_id": (next_id + i) % users,
            "amount_minor": 1} for i in range(5_000)]
        post("/v1/batch", {"commands": commands})
        next_id += 5_000
    rate = million * 1e6 / (time.time() - started)
    read_model = sum(os.path.getsize(os.path.join(work, name)) for name in os.listdir(work) if name.startswith("read.sqlite")) / 2**20
    print(f"{million * 1_000_000:>10} {rss_mib():>9.0f} {size_mib(work + '/journal'):>12.0f} {read_model:>15.0f} {rate:>8.0f}", flush=True)
PY
