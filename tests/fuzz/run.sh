#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] - builds the libFuzzer targets with clang in build-fuzz/ and runs
# them side by side, each for SECONDS (default 60) under nice, starting from the committed seed
# corpus (tests/fuzz/corpus/<target>/) plus what earlier runs found (build-fuzz/corpus/).
# Exits 1 on a finding (the crashing input is kept as build-fuzz/findings/<target>-*) and prints
# each target's executions. FUZZ_TARGETS="fuzz_msg ..." picks the targets; FUZZ_BUILD_DIR the
# build directory; FUZZ_BUILD_ONLY=1 builds and stops.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
build=${FUZZ_BUILD_DIR:-build-fuzz}
targets=${FUZZ_TARGETS:-fuzz_msg fuzz_libsvm fuzz_cfg}

if ! command -v clang >/dev/null; then
    echo "run.sh: clang is missing (launch/setup.sh installs it)" >&2
    exit 2
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S . -B "$build" -DMARINA_FUZZ=ON -DMARINA_WERROR=ON -DCMAKE_C_COMPILER=clang \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
mkdir -p "$build/findings"
if ! cmake --build "$build" -j2 --target $targets >"$build/findings/build.log" 2>&1; then
    tail -n 40 "$build/findings/build.log" >&2
    echo "run.sh: the fuzz targets do not build" >&2
    exit 2
fi

[ "${FUZZ_BUILD_ONLY:-0}" = 1 ] && exit 0

# One libFuzzer process per target, all at once (each is single-threaded).
declare -A pids
for t in $targets; do
    name=${t#fuzz_}
    work="$build/corpus/$name"
    mkdir -p "$work"
    # The working corpus first (new inputs go there), the committed seeds read only.
    nice -n 19 "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$build/findings/$t-" "$work" \
        "tests/fuzz/corpus/$name" >"$build/findings/$t.log" 2>&1 &
    pids[$t]=$!
done
found=0
for t in $targets; do
    log="$build/findings/$t.log"
    if ! wait "${pids[$t]}"; then
        tail -n 40 "$log" >&2
        echo "run.sh: $t found a bug; the input is $build/findings/$t-*" >&2
        found=1
        continue
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "$t: ${seconds} s, ${runs:-?} executions, no finding"
done
exit $found
