#!/usr/bin/env bash
# launch/experiments/plot-fig1.sh - the figure of docs/results.md ("A figure"): MARINA vs DIANA
# on mushrooms (the MARINA paper's Fig. 1, RandK K = 10), 3 seeds each, drawn by `marina plot`
# into docs/figures/fig1-marina-vs-diana-mushrooms.svg (and .png with rsvg-convert). Prints the
# Markdown section (make-results.sh calls it).
#   launch/experiments/plot-fig1.sh [--plot-only] [MARINA [RESULTS_DIR]]
#   --plot-only: draw from RESULTS_DIR/plot-fig1.db without running the sweep again.
# About 1 minute on 2 cores (6 runs of 3000 rounds, transport = inproc).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
plot_only=0
if [ "${1:-}" = "--plot-only" ]; then
    plot_only=1
    shift
fi
marina=${1:-$root/build/marina}
results=${2:-$root/results}
db=$results/plot-fig1.db
svg=$root/docs/figures/fig1-marina-vs-diana-mushrooms.svg
mkdir -p "$results" "$root/docs/figures"
if [ "$plot_only" = 0 ] || [ ! -f "$db" ]; then
    rm -f "$db"*
    "$marina" sweep "$here/plot-fig1-mushrooms.ini" seed=1..3 method=marina,diana db="$db" >&2
fi
title="MARINA vs DIANA, mushrooms, RandK K = 10, n = 5, theory stepsizes (3 seeds)"
"$marina" plot "$db" --y grad_norm_sq --x bits --by method --round0 exclude \
    --title "$title" --out "$svg" >&2
runs=$(sqlite3 "$db" "SELECT count(*) FROM runs WHERE status = 'completed'")
# DIANA's mean final ||grad f||^2 and bits per worker, and MARINA's mean ||grad f||^2 at the first
# round where it had spent as many bits (rounds 1.., per worker: the figure's x).
IFS='|' read -r diana_bits diana_g marina_g ratio < <(sqlite3 "$db" "
    WITH c AS (SELECT w.run_id, r.method, w.round, w.grad_norm_sq AS g,
                 sum(CASE WHEN w.round = 0 THEN 0 ELSE w.bits_paper_up END)
                   OVER (PARTITION BY w.run_id ORDER BY w.round) * 1.0 / r.n AS bits
               FROM rounds w JOIN runs r ON r.id = w.run_id),
         d AS (SELECT avg(bits) AS b, avg(g) AS g FROM c WHERE method = 'diana'
               AND round = (SELECT max(round) FROM c c2 WHERE c2.run_id = c.run_id)),
         m AS (SELECT run_id, min(round) AS k FROM c, d WHERE method = 'marina' AND c.bits >= d.b
               GROUP BY run_id)
    SELECT printf('%.3g', d.b), printf('%.3e', d.g), printf('%.3e', avg(c.g)),
           printf('%.0f', d.g / avg(c.g))
    FROM d, m JOIN c ON c.run_id = m.run_id AND c.round = m.k")
# The widest band: the largest standard error over the seeds relative to the mean, any round.
band=$(sqlite3 "$db" "
    WITH s AS (SELECT w.round, r.method, avg(w.grad_norm_sq) AS m, count(*) AS c,
                 (avg(w.grad_norm_sq * w.grad_norm_sq) - avg(w.grad_norm_sq) * avg(w.grad_norm_sq))
                   * count(*) / (count(*) - 1.0) AS var
               FROM rounds w JOIN runs r ON r.id = w.run_id GROUP BY r.method, w.round)
    SELECT printf('%.2g', 100 * max(sqrt(max(var, 0) / c) / m)) FROM s WHERE c > 1")
cat <<MD
## A figure: MARINA vs DIANA, ||grad f||^2 against uplink bits per worker (mushrooms, K = 10)

![MARINA vs DIANA on mushrooms](figures/fig1-marina-vs-diana-mushrooms.svg)

Made by \`launch/experiments/plot-fig1.sh\`, that is:

    marina sweep launch/experiments/plot-fig1-mushrooms.ini seed=1..3 method=marina,diana db=results/plot-fig1.db
    marina plot results/plot-fig1.db --y grad_norm_sq --x bits --by method --round0 exclude \\
        --title "$title" \\
        --out docs/figures/fig1-marina-vs-diana-mushrooms.svg

$runs completed runs (3000 rounds each, theory stepsizes and p, the non-convex loss, n = 5 workers).
Each line is a method's mean over its 3 seeds at each round, the band one standard error of
||grad f(x^k)||^2 over the seeds; x is the running total of uplink bits per worker in the paper's
convention (32 bits per value sent), counted from round 1 as in the paper's plots. DIANA ends
at ||grad f||^2 = $diana_g after $diana_bits bits per worker; at the same bits MARINA is at
$marina_g, ${ratio}x lower. The bands are too narrow to see: the standard error over the seeds
is at most ${band}% of the mean at any round.
MD
