#!/usr/bin/env bash
# tests/bench/bench_worker_memory.sh [N] [DATASET] - the memory of a tcp run's worker processes:
# starts `marina run` with N workers (default 200) on DATASET (default $MARINA_DATA_DIR/a9a),
# waits until 50 rounds are recorded, then sums the proportional set size (PSS, shared pages
# split among the processes that map them) of every `marina worker` process and of the server,
# and prints them with the data file's size. Each worker keeps only its own shard after start-up
# (experiment_keep_shard()). Not a ctest test: it reports, it does not judge.
set -euo pipefail
n=${1:-200}
data=${2:-${MARINA_DATA_DIR:-$(dirname "$0")/../../../shared/datasets}/a9a}
bin=${MARINA_BIN:-$(dirname "$0")/../../build/marina}
[ -f "$data" ] || { echo "bench_worker_memory: no data set at $data (set MARINA_DATA_DIR)"; exit 77; }
dir=$(mktemp -d /tmp/marina-bench-mem-XXXXXX)
trap 'kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
"$bin" run dataset="$data" n="$n" loss=logreg lambda=0.01 compressor=randk k=10 rounds=100000000 \
    db="$dir/mem.db" progress_s=0 timeout_s=120 >"$dir/run.log" 2>&1 &
pid=$!
for _ in $(seq 300); do
    rows=$(sqlite3 "$dir/mem.db" "SELECT count(*) FROM rounds" 2>/dev/null || echo 0)
    [ "${rows:-0}" -ge 50 ] && break
    sleep 1
done
[ "${rows:-0}" -ge 50 ] || { cat "$dir/run.log"; echo "bench_worker_memory: the run did not start"; exit 1; }
total=0 count=0
for p in $(pgrep -P "$pid" -f "marina worker"); do
    v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
    total=$((total + v)) count=$((count + 1))
done
server=$(pgrep -P "$pid" -f "marina server" | head -1)
spss=$(awk '/^Pss:/ {print $2}' "/proc/$server/smaps_rollup")
size=$(( $(stat -c %s "$data") / 1024 ))
echo "workers $count (n = $n), data file $size KiB"
echo "sum of the workers' PSS: $total KiB, $((total / count)) KiB per worker"
echo "server PSS: $spss KiB"
