#!/usr/bin/env bash
# tests/interop/run.sh MARINA_BIN - the Python worker (worker.py, written from docs/protocol.md)
# joins a real run beside C workers, started by hand on loopback, and the recorder's rows must be
# those of an all-C run with the same seed, to the last bit (f and ||grad f||^2 included), for gd
# and for marina with RandK, the latter also with security=curve (when python3-zmq has CURVE).
# Exits 77 (skip) when no python3 with zmq and msgpack is found.
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
py=""
for cand in /usr/bin/python3 python3; do
    if command -v "$cand" >/dev/null && "$cand" -c "import zmq, msgpack" 2>/dev/null; then
        py=$cand
        break
    fi
done
if [ -z "$py" ]; then
    echo "SKIP: no python3 with the zmq and msgpack modules (Debian: python3-zmq python3-msgpack)"
    exit 77
fi
command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3 command"; exit 77; }
dir=$(mktemp -d /tmp/marina-interop-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

# Waits for pid with a deadline; sets rc to its exit status (124: killed at the deadline).
wait_for() {
    local pid=$1 deadline=$((SECONDS + $2))
    while kill -0 "$pid" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then
            kill "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.05
    done
    rc=0
    wait "$pid" || rc=$?
}

# One scenario: name, then key=value arguments.
scenario() {
    local name=$1
    shift
    local cfg=$dir/$name.ini
    printf 'n = 3\nrounds = 60\nseed = 5\nsynth_rows = 300\nsynth_d = 12\nprogress_s = 0\ntimeout_s = 20\n' >"$cfg"
    "$bin" run "$cfg" "$@" db="$dir/$name-c.db" >"$dir/$name-c.out" 2>&1 ||
        { cat "$dir/$name-c.out"; echo "FAIL: $name: the all-C run failed"; exit 1; }
    "$bin" server --config "$cfg" "$@" --bind tcp://127.0.0.1:* tcp://127.0.0.1:* \
        tcp://127.0.0.1:* >"$dir/$name-server.out" 2>"$dir/$name-server.err" &
    local server=$!
    pids+=("$server")
    local ep=()
    for _ in $(seq 200); do
        read -r -a ep <"$dir/$name-server.out" || true
        [ "${#ep[@]}" -eq 3 ] && break
        sleep 0.05
    done
    [ "${#ep[@]}" -eq 3 ] || { echo "FAIL: $name: the server printed no endpoints"; exit 1; }
    "$bin" recorder --connect "${ep[2]}" "${ep[1]}" --db "$dir/$name-py.db" "$@" \
        2>"$dir/$name-rec.err" &
    local rec=$!
    pids+=("$rec")
    "$bin" worker --config "$cfg" "$@" --id 0 --connect "${ep[0]}" "${ep[1]}" 2>/dev/null &
    local w0=$!
    "$py" "$here/worker.py" --config "$cfg" "$@" --id 1 --connect "${ep[0]}" "${ep[1]}" \
        2>"$dir/$name-py.err" &
    local w1=$!
    "$bin" worker --config "$cfg" "$@" --id 2 --connect "${ep[0]}" "${ep[1]}" 2>/dev/null &
    local w2=$!
    pids+=("$w0" "$w1" "$w2")
    local rs rp
    wait_for "$server" 120
    rs=$rc
    wait_for "$w1" 30
    rp=$rc
    wait_for "$w0" 30
    wait_for "$w2" 30
    wait_for "$rec" 30
    if [ "$rs" != 0 ] || [ "$rp" != 0 ]; then
        cat "$dir/$name-server.err" "$dir/$name-py.err"
        echo "FAIL: $name: server exited $rs, the Python worker $rp"
        exit 1
    fi
    local cols="round, c_k, f, grad_norm_sq, bits_paper_up, bits_model_up, bytes_wire_up,"
    cols="$cols bits_paper_down, bits_model_down, bytes_wire_down, nnz_up, oracle_calls, participants, gap"
    local wcols="round, worker, sent, bits_paper_up, bits_model_up, bytes_wire_up, nnz_up, oracle_calls"
    local diff
    diff=$(sqlite3 "$dir/$name-py.db" "ATTACH '$dir/$name-c.db' AS c;
        SELECT (SELECT count(*) FROM rounds), (SELECT count(*) FROM c.rounds),
        (SELECT count(*) FROM (SELECT $cols FROM rounds EXCEPT SELECT $cols FROM c.rounds)),
        (SELECT count(*) FROM (SELECT $cols FROM c.rounds EXCEPT SELECT $cols FROM rounds)),
        (SELECT count(*) FROM (SELECT $wcols FROM round_workers EXCEPT SELECT $wcols FROM c.round_workers)),
        (SELECT count(*) FROM round_workers), (SELECT status FROM runs),
        (SELECT sum(c_k = 0) FROM rounds);")
    IFS='|' read -r n_py n_c d1 d2 d3 nw status compressed <<<"$diff"
    echo "$name: rows python+C $n_py, all-C $n_c, differing $d1/$d2, worker rows $nw differing $d3, status $status, compressed rounds $compressed"
    if [ "$n_py" != 61 ] || [ "$n_c" != 61 ] || [ "$d1" != 0 ] || [ "$d2" != 0 ] || [ "$d3" != 0 ] ||
        [ "$nw" != 183 ] || [ "$status" != completed ]; then
        echo "FAIL: $name: the rows differ from the all-C run"
        exit 1
    fi
    sqlite3 "$dir/$name-py.db" "SELECT round, quote(f), quote(grad_norm_sq) FROM rounds WHERE round IN (0, 60)"
}

scenario gd method=gd gamma=0.5 loss=logreg
scenario marina method=marina compressor=randk k=4 gamma=0.25 p=0.3
# k = 1: a compressed round changes at most n = 3 coordinates of g, so its ROUND carries a patch
# (docs/protocol.md, "ROUND"), which the Python worker applies and checks against the digest;
# metrics_every = 7: METRICS only in the rounds the server asks for.
scenario marina-patch method=marina compressor=randk k=1 gamma=0.25 p=0.3 metrics_every=7
# Sparse data (10 rows of ~6 of 600 columns a worker): each C worker's metrics gradient is +0.0
# off ~50 columns and travels sparse (docs/protocol.md, METRICS), the Python worker's dense: the
# server's rows must not depend on the form.
scenario marina-sparse-metrics method=marina compressor=randk k=4 gamma=0.25 p=0.3 synth_rows=30 \
    synth_d=600 synth_density=0.01
# ROUND k carries g^{k-1}: a patch whenever round k-1 was a compressed one.
after="FROM rounds r JOIN rounds q ON q.round = r.round - 1 WHERE r.round > 1 AND q.c_k = 0"
patched=$(sqlite3 "$dir/marina-patch-py.db" "SELECT count(*) $after AND r.bits_paper_down < 32 * 12 * 3")
compressed=$(sqlite3 "$dir/marina-patch-py.db" "SELECT count(*) $after")
echo "marina-patch: $patched of the $compressed ROUNDs after a compressed round went down as a patch"
if [ "$patched" = 0 ] || [ "$patched" != "$compressed" ]; then
    echo "FAIL: marina-patch: every ROUND after a compressed round should carry a patch"
    exit 1
fi
# The same with CURVE on every socket (the Python worker reads the CZMQ certificates itself),
# where python3-zmq's libzmq has CURVE.
if "$py" -c "import sys, zmq; sys.exit(0 if zmq.has('curve') else 1)"; then
    "$bin" keys "$dir/keys" >/dev/null
    scenario marina-curve method=marina compressor=randk k=4 gamma=0.25 p=0.3 security=curve \
        keys_dir="$dir/keys"
else
    echo "marina-curve: skipped (python3-zmq's libzmq has no CURVE)"
fi

# A Python worker started with another k is refused at HELLO, naming the key, and exits 1.
cfg=$dir/gd.ini
"$bin" server --config "$cfg" method=gd gamma=0.5 timeout_s=3 --no-recorder --bind \
    tcp://127.0.0.1:* tcp://127.0.0.1:* tcp://127.0.0.1:* >"$dir/refuse.out" 2>&1 &
server=$!
pids+=("$server")
ep=()
for _ in $(seq 200); do
    read -r -a ep <"$dir/refuse.out" || true
    [ "${#ep[@]}" -ge 3 ] && break
    sleep 0.05
done
"$py" "$here/worker.py" --config "$cfg" method=gd gamma=0.5 k=5 --id 0 --connect "${ep[0]}" \
    "${ep[1]}" 2>"$dir/refuse-py.err" &
w=$!
pids+=("$w")
wait_for "$w" 20
prc=$rc
wait_for "$server" 20
if [ "$prc" != 1 ] || ! grep -q "k = 5 (server: 10)" "$dir/refuse-py.err"; then
    cat "$dir/refuse-py.err"
    echo "FAIL: the Python worker with k=5 was not refused naming k (exit $prc)"
    exit 1
fi
echo "refused: $(grep -o 'refused: .*' "$dir/refuse-py.err" | head -1)"
echo "PASS"
