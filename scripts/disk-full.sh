#!/usr/bin/env bash
# Disk full on the real binary: serves from a small tmpfs, writes until the disk is full, and
# checks what ADR 0007 promises — the request in flight when the journal cannot be written gets
# 503 (nothing acknowledged), the server exits 70, a restart on the still-full disk refuses, and
# once space is freed every acknowledged command is there.
#
# Needs root (it mounts a tmpfs); prints "skipped" and exits 0 where mounting is not allowed.
# Usage: scripts/disk-full.sh [creditline binary; default: builds the release one]
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-}"
if [ -z "$binary" ]; then
    cargo build --release --quiet --bin creditline
    binary=target/release/creditline
fi
binary="$(realpath "$binary")"
disk="$(mktemp -d)"
if ! mount -t tmpfs -o size=16m tmpfs "$disk" 2>/dev/null; then
    echo "disk-full: skipped (mounting a tmpfs needs root)"
    rmdir "$disk"
    exit 0
fi
trap 'pkill -f "data-dir $disk/data" 2>/dev/null || true; umount "$disk"; rmdir "$disk"' EXIT
"$binary" keys create --role admin --data-dir "$disk/data" > "$disk/key" 2>/dev/null
python3 - "$binary" "$disk" <<'PY'
import json, subprocess, sys, time, urllib.error, urllib.request
binary, disk = sys.argv[1], sys.argv[2]
key = open(f"{disk}/key").read().strip()

def serve():
    server = subprocess.Popen([binary, "serve", "--data-dir", f"{disk}/data", "--listen", "127.0.0.1:0",
        "--free-bytes-min", "1048576"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    return server, line.strip().removeprefix("creditline listening on ")

def post(base, path, body):
    request = urllib.request.Request(base + path, json.dumps(body).encode(), method="POST",
        headers={"authorization": "Bearer " + key, "content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)

server, base = serve()
assert post(base, "/v1/users", {"command_id": 1, "user_id": 1, "currency": "CNY", "identity": "full"})[0] == 200
acknowledged, next_id = 0, 2
while True:
    batch = [{"type": "top_up", "command_id": next_id + i, "user_id": 1, "amount_minor": 1} for i in range(2_000)]
    try:
        status, answer = post(base, "/v1/batch", {"commands": batch})
    except (urllib.error.URLError, ConnectionError) as error:
        sys.exit(f"disk-full: a request in flight got no answer ({error}) after {acknowledged} acknowledged")
    if status != 200:
        break
    acknowledged += len(batch)
    next_id += len(batch)
assert (status, answer["code"]) == (503, "unavailable"), (status, answer)
code = server.wait(timeout=60)
assert code == 70, f"the server exited {code}, not 70: {server.stderr.read()[-2000:]}"
print(f"disk-full: {acknowledged} commands acknowledged, then 503 unavailable and exit 70")
refused = subprocess.run([binary, "serve", "--data-dir", f"{disk}/data", "--listen", "127.0.0.1:0",
    "--free-bytes-min", "1048576"], capture_output=True, text=True, timeout=60)
assert refused.returncode != 0 and "bytes free" in refused.stderr, refused.stderr
print("disk-full: a restart on the full disk refuses:", refused.stderr.strip().splitlines()[-1][:160])
subprocess.run(["mount", "-o", "remount,size=64m", disk], check=True)
server, base = serve()
request = urllib.request.Request(base + "/v1/users/1", headers={"authorization": "Bearer " + key})
with urllib.request.urlopen(request, timeout=60) as response:
    balance = json.load(response)["balance_minor"]
server.terminate()
server.wait(timeout=60)
# The refused batch was never acknowledged: it is either wholly absent or wholly there.
assert balance in (acknowledged, acknowledged + len(batch)), f"balance {balance}, {acknowledged} acknowledged"
print(f"disk-full: after freeing space the balance is {balance} ({acknowledged} acknowledged)")
PY
