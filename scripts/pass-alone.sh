#!/usr/bin/env bash
# Builds a profiling binary whose `bench` times only the rules-on engine pass, the figure
# docs/PERFORMANCE.md calls "the pass alone": with PROF_ONLY set, `bench` runs the workload once
# to warm the allocator (PROF_WARM set) or not, then once through a fresh engine with the rules
# (without them if PROF_OFF is set), prints `PROF <events/s>` on stderr and exits. With PERF_CTL
# naming a `perf --control` fifo it enables perf around that pass only.
#
#   scripts/pass-alone.sh /tmp/cl-pass                    # build from the working tree
#   PROF_ONLY=1 PROF_WARM=1 taskset -c 1 /tmp/cl-pass bench
#
# The build happens in a scratch copy of the working tree (uncommitted changes included), so the
# checkout is never modified.
set -euo pipefail
out=${1:?usage: scripts/pass-alone.sh OUTPUT_BINARY}
root=$(git rev-parse --show-toplevel)
scratch=${PASS_ALONE_DIR:-/tmp/creditline-pass-alone}
mkdir -p "$scratch"
git -C "$root" ls-files -z --cached --others --exclude-standard \
  | (cd "$root" && xargs -0 cp --parents -t "$scratch")
python3 - "$scratch/crates/cli/src/bench.rs" <<'PY'
import sys
path = sys.argv[1]
source = open(path).read()
def patch(anchor, before="", after=""):
    global source
    assert source.count(anchor) == 1, f"bench.rs changed: {anchor!r} not found once"
    source = source.replace(anchor, before + anchor + after)
patch("    let (cold_busy, _, cold) = engine_pass(config, true, \"cold\");", before="""    if std::env::var_os("PROF_ONLY").is_some() {
        if std::env::var_os("PROF_WARM").is_some() {
            drop(engine_pass(config, true, "cold"));
        }
        let (busy, _, _) = engine_pass(config, std::env::var_os("PROF_OFF").is_none(), "on");
        eprintln!("PROF {:.0}", config.events as f64 / busy.as_secs_f64());
        std::process::exit(0);
    }
""")
patch("    let progress = bar(config, label);", after="""
    let ctl = |word: &str| {
        if let Some(path) = std::env::var_os("PERF_CTL").filter(|_| label == "on") {
            std::fs::write(path, word).expect("the perf control fifo takes a word");
        }
    };
    ctl("enable\\n");""")
patch("    progress.finish_and_clear();", after="""
    ctl("disable\\n");""")
open(path, "w").write(source)
PY
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$scratch/target} cargo build --release --bin creditline \
  --manifest-path "$scratch/Cargo.toml"
cp "${CARGO_TARGET_DIR:-$scratch/target}/release/creditline" "$out"
echo "built $out"
