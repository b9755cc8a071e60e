#!/usr/bin/env bash
# End-to-end HTTP throughput and latency of `creditline serve` with wrk on the same machine.
# Two runs of 15 s, 64 connections: single payments (POST /v1/payments), then batches of 100
# payments (POST /v1/batch). Each request carries fresh command ids, so every command is applied,
# journaled and fsynced before its reply. Prints wrk's summaries.
#
# Usage: scripts/http-bench.sh [seconds=15]   Needs: wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-15}"
cargo build --release --quiet --bin creditline
source scripts/fresh-server.sh
# shellcheck disable=SC2086 # SERVE_FLAGS is a list of flags
fresh_server ./target/release/creditline --rate-limit-per-key 10000000 ${SERVE_FLAGS:-}
key="$(cat "$work/admin")"
post() { curl -sf -XPOST "$base$1" -H "authorization: Bearer $key" -H 'content-type: application/json' -d "$2" > /dev/null; }
post /v1/users '{"command_id":1,"user_id":1,"currency":"CNY","identity":"full"}'
post /v1/merchants '{"command_id":2,"merchant_id":1,"currency":"CNY","category":"physical_goods","verification":"certified"}'
post /v1/credit-limits '{"command_id":3,"user_id":1,"limit_minor":9000000000000000000}'

cat > "$work/payments.lua" <<LUA
local counter = 0
local thread_id = 0
function setup(thread) thread_id = thread_id + 1; thread:set("id", thread_id) end
function init(args) counter = id * 1000000000000 end
wrk.method = "POST"
wrk.headers["authorization"] = "Bearer $key"
wrk.headers["content-type"] = "application/json"
request = function()
  counter = counter + 1
  if BATCH == 1 then
    return wrk.format(nil, "/v1/payments", nil, '{"command_id":' .. counter .. ',"user_id":1,"merchant_id":1,"credit_minor":1}')
  end
  local parts = {}
  for i = 1, BATCH do
    counter = counter + 1
    parts[i] = '{"type":"pay","command_id":' .. counter .. ',"user_id":1,"merchant_id":1,"credit_minor":1}'
  end
  return wrk.format(nil, "/v1/batch", nil, '{"commands":[' .. table.concat(parts, ",") .. ']}')
end
LUA
for batch in 1 100; do
  sed "s/BATCH/$batch/g" "$work/payments.lua" > "$work/run.lua"
  echo "== $batch payment(s) per request"
  wrk -t 2 -c 64 -d "${seconds}s" --latency -s "$work/run.lua" "$base" | sed -n '/Latency Distribution/,/Requests\/sec/p'
done
curl -sf "$base/healthz"; echo
echo "== writer: batch apply and journal append time (seconds, cumulative buckets)"
curl -sf "$base/metrics" -H "authorization: Bearer $key" | grep -E '^creditline_(batch_apply|journal_append)_seconds_(bucket|count)' | grep -E 'le="(0.001|0.01|0.1|0.5|1|\+Inf)"'
