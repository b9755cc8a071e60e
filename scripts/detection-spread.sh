#!/usr/bin/env bash
# Prints docs/rules.md's detection table: the default pack (or RULES) over seeds 1-5, two sizes,
# 30 days and doubled abuse, each a `creditline simulate --json` run in process.
# Usage: scripts/detection-spread.sh [RULES]   (needs a release build and python3)
set -euo pipefail
cd "$(dirname "$0")/.."
rules=${1:-rules/default.toml}
bin=./target/release/creditline
row() {
  local name=$1; shift
  "$bin" simulate --rules "$rules" --json "$@" 2>/dev/null | python3 -c '
import json, sys
name = sys.argv[1]
report = json.load(sys.stdin)
labels = report["labels"]
order = ["refund_cycling", "colluding_merchant", "proxy_purchase", "self_recharge", "account_takeover", "ring"]
fmt = lambda value, digits: "—" if value is None else "%.*f" % (digits, value)
cells = [fmt(labels[k]["recall"], 3) + " / " + fmt(labels[k]["precision"], 2) if k in labels else "—" for k in order]
overall = report["overall"]
print("| %s | {:,} | %s | %s | %.2f %% | %s |".format(report["events"]) % (
    name, fmt(overall["precision"], 3), fmt(overall["recall"], 3), report["honest_friction_share"] * 100, " | ".join(cells)))
' "$name"
}
echo "| run | events | precision | recall | honest friction | a cycling | b colluding | c proxy | d recharge | e takeover | f ring |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for seed in 1 2 3 4 5; do row "seed $seed" --seed "$seed"; done
row "5,000 users" --users 5000
row "20,000 users, 1,000 merchants" --users 20000 --merchants 1000
row "30 days" --days 30
row "abuse doubled" --abuse-mix "refund_cycling=0.01,colluding_merchant=0.01,proxy_purchase=0.01,self_recharge=0.01,account_takeover=0.01,ring=0.02"
