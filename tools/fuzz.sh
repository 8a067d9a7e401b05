#!/usr/bin/env bash
# make fuzz: runs the fuzz binaries of build-fuzz/ for FUZZ_SECONDS each,
# FUZZ_JOBS at a time, and prints each target's executions. A crash stops
# with the input's path; keep it under tests/regressions/<target>/ once fixed,
# where make test replays it.
#   tools/fuzz.sh TARGET...
set -uo pipefail
seconds=${FUZZ_SECONDS:-20}
jobs=${FUZZ_JOBS:-2}
mkdir -p build-fuzz/artifacts
run() {
    local t=$1
    mkdir -p "build-fuzz/corpus_$t"
    local seeds=()
    for d in "tests/fuzz/corpus/$t" "build-fuzz/seeds/$t"; do [ -d "$d" ] && seeds+=("$d"); done
    build-fuzz/fuzz_"$t" -max_total_time="$seconds" -rss_limit_mb=2560 -malloc_limit_mb=2048 -timeout=20 \
        -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t-" \
        "build-fuzz/corpus_$t" "${seeds[@]}" >"build-fuzz/fuzz_$t.log" 2>&1
    local status=$?
    local execs
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build-fuzz/fuzz_$t.log" | tail -1)
    if [ $status -ne 0 ]; then
        echo "fuzz_$t: FAILED after ${execs:-?} executions (log: build-fuzz/fuzz_$t.log)"
        grep -E "^==[0-9]+==ERROR|SUMMARY|Test unit written" "build-fuzz/fuzz_$t.log" | head -5
        return 1
    fi
    echo "fuzz_$t: ${execs:-0} executions in ${seconds} s, no failure"
}
export -f run
export seconds
printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'run {}'
