#!/usr/bin/env bash
# tests/bench/bench_byz_round.sh [BUILD_DIR] - the cost of a Byz-VR-MARINA round (a9a, n = 20
# with B = 5 attackers sending ALIE, CM + bucketing s = 2, batch 32, no compression) against a
# floor measured in the same run: the same method and data with the 5 attackers absent and the
# plain mean (attack=none, aggregator=mean: 15 honest workers). Both over tcp (processes) and
# inproc (threads). Prints rounds/s (median of 3) and ours / floor. Needs a9a in
# $MARINA_DATA_DIR (skips with a message otherwise). A benchmark, not a test: numbers only.
set -euo pipefail
build=${1:-build}
marina=$build/marina
data=${MARINA_DATA_DIR:-$(dirname "$0")/../../../shared/datasets}
[ -f "$data/a9a" ] || { echo "bench_byz_round: skipped: no $data/a9a (set MARINA_DATA_DIR)"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rounds=${ROUNDS:-1000}
common=(dataset="$data/a9a" method=byz-vr-marina n=20 byzantine=5 loss=logreg lambda=0.02
        normalize=l2 bias=false split=shuffle batch=32 gamma=0.05 compressor=identity
        rounds="$rounds" progress_s=0 fstar=off)

# rounds/s of one run, from its rows' wall time (round 0 to the last round).
rps() {
    local db=$tmp/$RANDOM.db
    "$marina" run "${common[@]}" "$@" db="$db" > "$tmp/out" 2>&1 || { cat "$tmp/out"; exit 1; }
    sqlite3 "$db" "SELECT (max(round)) / (max(wall_time_s) - min(wall_time_s)) FROM rounds"
}
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }

printf '%-8s %-28s %12s %12s %8s\n' transport case rounds/s floor ratio
for transport in tcp inproc; do
    for agg in cm rfa krum; do
        a=(); f=()
        for _ in 1 2 3; do
            a+=("$(rps transport=$transport attack=alie aggregator=$agg bucket=2)")
            f+=("$(rps transport=$transport attack=none aggregator=mean)")
        done
        ours=$(median3 "${a[@]}"); floor=$(median3 "${f[@]}")
        printf '%-8s %-28s %12.0f %12.0f %8.2f\n' "$transport" "alie, $agg + bucket 2" "$ours" "$floor" \
            "$(echo "$ours / $floor" | bc -l)"
    done
done
