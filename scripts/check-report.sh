#!/usr/bin/env bash
# Renders the evaluation's HTML report in a real headless browser (Debian's chromium) and checks
# that the page rendered and its charts have data: the page's script marks <body data-rendered=N>
# with the number of chart bars it drew from the embedded evaluation.
# Usage: scripts/check-report.sh [creditline binary]   (installs chromium with apt-get if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-target/debug/creditline}"
if ! command -v chromium >/dev/null; then
    apt-get update -q && apt-get install -y -q chromium
fi
report="$(mktemp -d)"
profile="$(mktemp -d)"
trap 'rm -rf "$report" "$profile"' EXIT
"$binary" simulate --users 2000 --merchants 100 --days 30 --seed 1 --report "$report" --json > "$report/evaluation.json"
dom="$(timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$profile" --virtual-time-budget=5000 --dump-dom "file://$report/index.html" 2>/dev/null)"
bars="$(grep -o 'data-rendered="[0-9]*"' <<<"$dom" | grep -o '[0-9]*' || true)"
rows="$(grep -o '<tr>' <<<"$dom" | wc -l)"
drawn="$(grep -o '<rect class="bar"' <<<"$dom" | wc -l)"
echo "report rendered: $bars bars counted by the page, $drawn bars in the DOM, $rows table rows"
if [[ -z "$bars" || "$bars" -lt 10 || "$drawn" -lt 10 || "$rows" -lt 3 ]]; then
    echo "the report did not render its charts" >&2
    exit 1
fi
