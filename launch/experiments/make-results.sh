#!/usr/bin/env bash
# launch/experiments/make-results.sh - runs the experiments behind docs/results.md and writes it.
# Every table in docs/results.md comes from this script; nothing there is typed by hand.
#   launch/experiments/make-results.sh [--tables-only] [--keep-slides]
#   (needs build/marina, sqlite3 and the data, docs/cli.md)
#   --tables-only: rewrite docs/results.md from the databases in results/ without running again.
#   --keep-slides: do not run the slides' (SEGA) sweep; copy that section from the current
#                  docs/results.md as it is, and say so in the file.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
marina=${MARINA:-$root/build/marina}
out=$root/docs/results.md
mkdir -p "$root/results"
tables_only=0 keep_slides=0
for a in "$@"; do
    case "$a" in
        --tables-only) tables_only=1 ;;
        --keep-slides) keep_slides=1 ;;
        *) echo "usage: make-results.sh [--tables-only] [--keep-slides]" >&2; exit 2 ;;
    esac
done

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
q() {  # q NAME SQL: one value from results/NAME.db
    sqlite3 "$root/results/$1.db" "$2"
}

if [ "$tables_only" = 0 ]; then
    run mushrooms results-mushrooms.ini transport=inproc
    run stepsize results-stepsize.ini transport=inproc
    [ "$keep_slides" = 1 ] || run slides results-slides.ini
    run sega-panels results-sega-panels.ini
    # Rounds to 1e-6 for sega, cd, acd, asega in process (sega needs ~2e7 rounds: minutes).
    for problem in spread rankdef; do
        "$root/build/tests/bench_accel_rounds" "$problem" > "$root/results/accel-$problem.md"
    done
fi
slides_old=
if [ "$keep_slides" = 1 ]; then
    slides_old=$(awk '/^## The slides. experiments/ {on = 1} /^## Full figures/ {on = 0} on' "$out")
    if ! grep -q '^> This section was not regenerated' <<< "$slides_old"; then
        from=$(git -C "$root" log -1 --format=%h -- docs/results.md)
        slides_old=$(awk -v c="$from" 'NR == 1 { print; print ""
            print "> This section was not regenerated with the rest of this file (make-results.sh"
            print "> --keep-slides): it is as of commit " c ", whose `marina report` counted round 0 and"
            print "> had no per-worker or gamma columns."; next } { print }' <<< "$slides_old")
    fi
fi

# The headline: MARINA's uplink bits per worker to reach the ||grad f||^2 DIANA has after 5000
# rounds, both with their theory stepsizes. bits_to NAME TARGET FIRST: bits per worker from round
# FIRST to the first round at or below TARGET.
hl_target=$(q mushrooms "SELECT printf('%!.17g', grad_norm_sq) FROM rounds WHERE round = 5000
    AND run_id = (SELECT id FROM runs WHERE name = 'headline-diana')")
bits_to() {
    q mushrooms "SELECT printf('%.6g', sum(w.bits_paper_up) * 1.0 / r.n) FROM runs r
        JOIN rounds w ON w.run_id = r.id WHERE r.name = '$1' AND w.round >= $3
        AND w.round <= (SELECT min(round) FROM rounds WHERE run_id = r.id AND grad_norm_sq <= $2)"
}
gamma_of() {
    q mushrooms "SELECT printf('%.4g', CAST(substr(config, instr(config, '; resolved: gamma = ')
        + 20, 24) AS REAL)) FROM runs WHERE name = '$1'"
}
m_bits=$(bits_to headline-marina "$hl_target" 1)
d_bits=$(bits_to headline-diana "$hl_target" 1)
m_bits0=$(bits_to headline-marina "$hl_target" 0)
d_bits0=$(bits_to headline-diana "$hl_target" 0)
ratio=$(awk -v a="$d_bits" -v b="$m_bits" 'BEGIN { printf "%.1f", a / b }')
ratio0=$(awk -v a="$d_bits0" -v b="$m_bits0" 'BEGIN { printf "%.1f", a / b }')

{
    echo "# Measured results"
    echo
    echo "Produced by \`launch/experiments/make-results.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores,"
    echo "marina $("$marina" --version | cut -d' ' -f2), commit $(git -C "$root" rev-parse --short HEAD))."
    echo "Every number below is read from the result databases by \`marina report\` (or, for the"
    echo "headline ratio, by \`sqlite3\` from the same rows); rerun the script to regenerate this"
    echo "file. Unless a table says otherwise, round 0 (every worker sends its full gradient at x^0;"
    echo "the MARINA authors' code forms g^0 on the server and counts nothing) is left out of the"
    echo "bits and oracle calls, as in the papers' plots, and bits are also given per worker (the"
    echo "papers' x-axis #bits/n). \"theory\" stepsizes are those of docs/cli.md: MARINA's Theorem"
    echo "2.1 / 3.1, and for DIANA and VR-DIANA the non-convex VR-DIANA theorem of Horváth et al."
    echo "(2019), gamma = 1/(10 L_max sqrt(1 + omega/n) (m^(2/3) + omega + 1)) with m = 1 for DIANA"
    echo "and m = (samples per worker)/b' for VR-DIANA (p = b'/m), the formula of the MARINA authors'"
    echo "code."
    echo
    echo "## Headline: MARINA vs DIANA, uplink bits per worker (mushrooms, n = 5, RandK K = 10, theory stepsizes)"
    echo
    echo "DIANA (gamma = $(gamma_of headline-diana), theory) runs 5000 rounds and ends at"
    echo "||grad f(x^k)||^2 = $(printf '%.4e' "$hl_target"). MARINA (gamma = $(gamma_of headline-marina),"
    echo "theory, p = zeta/d) reaches that level after **$m_bits uplink bits per worker**, DIANA after"
    echo "**$d_bits**: MARINA needs **${ratio}x fewer bits per worker** (counting round 0 too:"
    echo "$m_bits0 vs $d_bits0, ${ratio0}x). The MARINA paper (Fig. 1/3) claims an order of magnitude."
    echo
    table mushrooms --absolute --eps "$hl_target" --where "r.name LIKE 'headline-%'"
    echo
    echo "## MARINA vs DIANA, VR-MARINA vs VR-DIANA to a relative target (mushrooms, n = 5, RandK K = 10)"
    echo
    echo "Target: \`||grad f(x^k)||^2 <= eps * ||grad f(x^0)||^2\` (relative to the start;"
    echo "||grad f(x^0)||^2 = 7.998e-02 at x^0 = 0). MARINA and DIANA (theory; DIANA also with"
    echo "\`gamma=ours\`, our constants 1/(L (1 + (1+omega) sqrt(omega/n))), 12.5x the theorem's) with"
    echo "eps = 1e-4; a run that did not reach it within its round budget shows what it spent (a lower"
    echo "bound):"
    echo
    table mushrooms --eps 1e-4 --where "r.method IN ('marina', 'diana') AND r.name NOT LIKE 'headline-%'"
    echo
    echo "VR-MARINA and VR-DIANA (minibatch b' = max(1, floor(m/100)) = 16 of m = 1624; VR-DIANA's"
    echo "reference point refreshed with probability b'/m) with eps = 1e-3:"
    echo
    table mushrooms --eps 1e-3 --where "r.method IN ('vr-marina', 'vr-diana')"
    echo
    echo "## Stepsize search, best in hindsight (mushrooms, n = 5, RandK K = 10, 5000 rounds)"
    echo
    echo "Each method with gamma in {0.5, 0.05, 0.005} and its theory stepsize"
    echo "(\`launch/experiments/results-stepsize.ini\`); \`marina report\` picks, per method, the gamma"
    echo "with the lowest final ||grad f||^2 (the Byzantine VR-MARINA paper's tuning). Target for"
    echo "the first table: 1e-3 of the start."
    echo
    table stepsize --eps 1e-3
    echo
    echo "Every method picks the largest gamma of the grid, 0.5 (above 1/L = 0.295 here), so the grid's"
    echo "edge, not the method, decides. Tuned this way DIANA reaches the target with fewer bits per"
    echo "worker than MARINA on this problem; with the theory stepsizes (the papers' setting, the"
    echo "headline) MARINA needs far fewer."
    echo
    if [ "$keep_slides" = 1 ]; then
        echo "$slides_old"
        echo
    else
        bash "$here/results-slides.sh" "$marina" "$root/results"
        echo
    fi
    bash "$here/results-sega-panels.sh" "$marina" "$root/results"
    echo
    if [ "$tables_only" = 1 ]; then
        bash "$here/sega-paper-panels.sh" --plot-only "$marina" "$root/results"
    else
        bash "$here/sega-paper-panels.sh" "$marina" "$root/results"
    fi
    echo
    # The figure (docs/figures/), drawn by `marina plot`; its section says how.
    if [ "$tables_only" = 1 ]; then
        bash "$here/plot-fig1.sh" --plot-only "$marina" "$root/results"
    else
        bash "$here/plot-fig1.sh" "$marina" "$root/results"
    fi
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
        echo
        echo "### $fig (\`launch/experiments/run.sh $fig\`)"
        echo
        if [ -f "$db" ] && [ -z "$(q "$fig" "SELECT 1 FROM runs WHERE status = 'running' LIMIT 1")" ]; then
            "$marina" report --db "$db" --eps 1e-4
        else
            echo "Not run (to the end) for this file: results/$fig.db was missing or unfinished. The"
            echo "last table, with the DIANA/VR-DIANA stepsizes from before issue 16, is in the git"
            echo "history of this file (commit 2aa7111)."
        fi
    done
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out" >&2
