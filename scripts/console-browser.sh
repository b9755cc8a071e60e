#!/usr/bin/env bash
# Drives the analyst console in a real headless Chromium (Debian's chromium + chromium-driver):
# the browser test in crates/server/tests/console.rs, which starts its own server and
# chromedriver. With a directory argument it also saves a screenshot of each page there
# (docs/console/ holds the committed ones).
# Usage: scripts/console-browser.sh [screenshot directory]   (installs the packages if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt-get update -q && apt-get install -y -q chromium chromium-driver
fi
if [[ $# -gt 0 ]]; then
    mkdir -p "$1"
    export CONSOLE_SCREENSHOTS="$(cd "$1" && pwd)"
fi
export CHROMEDRIVER="$(command -v chromedriver)" CHROMIUM="$(command -v chromium)"
cargo test --locked -p server --test console -- --ignored --test-threads 1
