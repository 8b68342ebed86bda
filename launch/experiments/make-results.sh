#!/usr/bin/env bash
# launch/experiments/make-results.sh - runs the experiments behind docs/results.md and writes it.
# Every table in docs/results.md comes from this script; nothing there is typed by hand.
#   launch/experiments/make-results.sh [--tables-only]   (needs build/marina and $MARINA_DATA_DIR)
#   --tables-only: rewrite docs/results.md from the databases in results/ without running again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
marina=${MARINA:-$root/build/marina}
export MARINA_DATA_DIR=${MARINA_DATA_DIR:-$root/../shared/datasets}
out=$root/docs/results.md
mkdir -p "$root/results"

run() {  # run NAME FILE.ini [key=value ...]: a fresh database results/NAME.db
    local name=$1 file=$2
    shift 2
    rm -f "$root/results/$name.db"*
    "$marina" sweep "$here/$file" db="$root/results/$name.db" "$@" >&2
}
table() {  # table NAME [report args]
    local name=$1
    shift
    "$marina" report --db "$root/results/$name.db" "$@"
}

if [ "${1:-}" != "--tables-only" ]; then
    run mushrooms results-mushrooms.ini
    run slides results-slides.ini
    run sega-panels results-sega-panels.ini
    # Rounds to 1e-6 for sega, cd, acd, asega in process (sega needs ~2e7 rounds: minutes).
    for problem in spread rankdef; do
        "$root/build/tests/bench_accel_rounds" "$problem" > "$root/results/accel-$problem.md"
    done
fi

{
    echo "# Measured results"
    echo
    echo "Produced by \`launch/experiments/make-results.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores,"
    echo "marina $("$marina" --version | cut -d' ' -f2)). Every number below is read from the result"
    echo "databases by \`marina report\`; rerun the script to regenerate this file. Round 0 (every"
    echo "worker sends its full gradient at x^0) is included in the bits and oracle calls."
    echo
    echo "## MARINA vs DIANA, VR-MARINA vs VR-DIANA (mushrooms, n = 5, RandK K = 10, theory parameters)"
    echo
    echo "Target: \`||grad f(x^k)||^2 <= eps * ||grad f(x^0)||^2\` (relative to the start;"
    echo "||grad f(x^0)||^2 = 7.998e-02 at x^0 = 0). MARINA and DIANA with eps = 1e-4:"
    echo
    table mushrooms --eps 1e-4 --where "r.method IN ('marina', 'diana')"
    echo
    echo "VR-MARINA and VR-DIANA (minibatch b' = max(1, m/100) = 16) with eps = 1e-3; a run that did"
    echo "not reach it within its round budget shows what it spent (a lower bound):"
    echo
    table mushrooms --eps 1e-3 --where "r.method IN ('vr-marina', 'vr-diana')"
    echo
    echo "As the MARINA paper claims: MARINA needs fewer uplink bits than DIANA to the same accuracy,"
    echo "and VR-MARINA fewer oracle calls than VR-DIANA. The stepsizes are the theory ones"
    echo "(\`runs.config\` holds each resolved value); DIANA's and VR-DIANA's are much smaller, which is"
    echo "the point of the comparison."
    echo
    bash "$here/results-slides.sh" "$marina" "$root/results"
    echo
    bash "$here/results-sega-panels.sh" "$marina" "$root/results"
    echo
    echo "## Full figures"
    echo
    echo "The MARINA paper's Figures 1/3 (MARINA vs DIANA), 4 (VR-MARINA vs VR-DIANA) and 5 (n = 20)"
    echo "over four data sets and K in {1, 5, 10} are \`launch/experiments/run.sh fig1|fig4|fig5\`,"
    echo "each into one database (results/FIG.db), theory parameters, at most 100000 rounds, ending at"
    echo "||grad f||^2 <= 1e-4 * the start. The tables below are from the databases present when this"
    echo "file was made (a figure not run yet is missing)."
    for fig in fig1 fig5 fig4; do
        db=$root/results/$fig.db
        [ -f "$db" ] || continue
        echo
        echo "### $fig (\`launch/experiments/run.sh $fig\`)"
        echo
        "$marina" report --db "$db" --eps 1e-4
    done
} > "$out"
echo "wrote $out" >&2
