#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS from its seed corpus (copied, so
# the tree's seeds stay as they are) and prints what was tried. A crash,
# a sanitizer report or a failed check exits non-zero and keeps the input.
#   scripts/run-fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
build=$1
seconds=${2:-60}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/chatd-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT
status=0
for target in datagram control_request manifest path job_params; do
    mkdir -p "$work/$target"
    cp "$here/tests/fuzz/corpus/$target/"* "$work/$target/"
    log="$work/$target.log"
    if "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$build/fuzz-$target-" "$work/$target" >"$log" 2>&1; then
        runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
        echo "fuzz_$target: ${runs:-?} inputs in ${seconds} s, no crash, corpus $(ls "$work/$target" | wc -l) inputs"
    else
        echo "fuzz_$target: FAILED; input kept under $build/fuzz-$target-*" >&2
        tail -40 "$log" >&2
        status=1
    fi
done
exit $status
