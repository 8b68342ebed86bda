#!/usr/bin/env bash
# launch/experiments/byz-report.sh FIG1.db FIG2.db FIG3.db - the Markdown tables of
# docs/results.md's Byzantine section from the sweeps of byz-fig{1,2,3}.ini: for every attack,
# aggregator and method the stepsize whose final optimality gap is lowest ("best in hindsight",
# as the paper's top rows), that gap, and SGD's best gap over Byz-VR-MARINA's. Runs whose name
# holds 'byz-vr-marina-authors' (estimator = local, epoch_full = true) are their own column.
set -euo pipefail
q() { sqlite3 -separator '|' "$1" "$2"; }

# best(db): method|attack|aggregator|compressor|gamma|final gap|gap0|runs rows, the gaps averaged
# over the seeds of each stepsize, and the stepsize of the lowest mean for each group.
best() {
    q "$1" "
WITH last AS (
  SELECT r.id,
         r.method || CASE WHEN r.name LIKE '%byz-vr-marina-authors%' THEN '-authors' ELSE '' END
           AS method,
         r.attack, r.aggregator, r.compressor,
         CAST(substr(r.name, instr(r.name, 'gamma=') + 6) AS REAL) AS gamma,
         (SELECT gap FROM rounds WHERE run_id = r.id ORDER BY round DESC LIMIT 1) AS gap,
         (SELECT gap FROM rounds WHERE run_id = r.id AND round = 0) AS gap0
  FROM runs r WHERE r.status = 'completed'),
seeds AS (
  SELECT method, attack, aggregator, compressor, gamma, avg(gap) AS gap, avg(gap0) AS gap0,
         count(*) AS runs FROM last GROUP BY method, attack, aggregator, compressor, gamma),
ranked AS (
  SELECT *, row_number() OVER (PARTITION BY method, attack, aggregator, compressor
                               ORDER BY gap) AS k FROM seeds)
SELECT method, attack, aggregator, compressor, gamma, gap, gap0, runs FROM ranked WHERE k = 1
ORDER BY compressor, attack, aggregator, method;"
}

table() {  # db title compressor
    local db=$1 comp=$3
    echo "**$2**"
    echo
    echo "| attack | aggregator | SGD | BR-SGDm | Byz-VR-MARINA (Alg. 1) | Byz-VR-MARINA (authors' code) | SGD / Alg. 1 | SGD / authors' |"
    echo "|---|---|---|---|---|---|---|---|"
    best "$db" | awk -F'|' -v comp="$comp" '
        $4 == comp { key = $2 "|" $3; g[key, $1] = sprintf("%.2e (γ %g)", $6, $5); v[key, $1] = $6;
                     if (!(key in seen)) { seen[key] = 1; order[++n] = key } }
        END {
            for (i = 1; i <= n; i++) {
                split(order[i], p, "|"); k = order[i]
                r = (v[k, "byz-vr-marina"] > 0) ? sprintf("%.1f", v[k, "sgd"] / v[k, "byz-vr-marina"]) : "inf"
                a = (v[k, "byz-vr-marina-authors"] > 0) ? sprintf("%.1f", v[k, "sgd"] / v[k, "byz-vr-marina-authors"]) : "inf"
                printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", p[1], p[2], g[k, "sgd"], g[k, "br-sgdm"], g[k, "byz-vr-marina"], g[k, "byz-vr-marina-authors"], r, a
            }
        }'
    echo
}

fig3() {  # db: linear convergence, the gap relative to its start
    echo "| compressor | attack | SGD gap / start | BR-SGDm gap / start | Byz-VR-MARINA (Alg. 1) gap / start | Byz-VR-MARINA (authors' code) gap / start |"
    echo "|---|---|---|---|---|---|"
    best "$1" | awk -F'|' '
        { key = $4 "|" $2; rel[key, $1] = ($7 > 0) ? $6 / $7 : 0; gm[key, $1] = $5;
          if (!(key in seen)) { seen[key] = 1; order[++n] = key } }
        END {
            for (i = 1; i <= n; i++) {
                split(order[i], p, "|"); k = order[i]
                printf "| %s | %s | %.1e (γ %g) | %.1e (γ %g) | %.1e (γ %g) | %.1e (γ %g) |\n", p[1], p[2],
                    rel[k, "sgd"], gm[k, "sgd"], rel[k, "br-sgdm"], gm[k, "br-sgdm"],
                    rel[k, "byz-vr-marina"], gm[k, "byz-vr-marina"],
                    rel[k, "byz-vr-marina-authors"], gm[k, "byz-vr-marina-authors"]
            }
        }'
    echo
}

[ $# -ge 1 ] && [ -f "$1" ] && table "$1" "Figure 1: a9a, 15 good + 5 Byzantine, no compression, 20 epochs" identity
[ $# -ge 2 ] && [ -f "$2" ] && table "$2" "Figure 2: RandK K = 12 (0.1 d), 40 epochs" randk
[ $# -ge 3 ] && [ -f "$3" ] && { echo "**Figure 3: every worker holds all of a9a, 4 good + 1 Byzantine, CM + bucketing, 2 epochs**"; echo; fig3 "$3"; }
true
