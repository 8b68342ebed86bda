#!/usr/bin/env bash
# tests/cluster/down.sh - stops what tests/cluster/up.sh started (same MARINA_CLUSTER_* settings):
# cancels every job, stops slurmd and slurmctld by their pid files (SIGKILL after 5 s), removes
# the namespaces and the bridge, and deletes the state folder. munged stays (machine-wide).
# Safe to run twice, or after a half-finished up.sh.
set -u
DIR=${MARINA_CLUSTER_DIR:-${TMPDIR:-/tmp}/marina-cluster}
TAG=${MARINA_CLUSTER_TAG:-mc}
export SLURM_CONF=$DIR/slurm.conf
[ -e "$DIR/up" ] || [ -e "$SLURM_CONF" ] || exit 0
[ -f "$SLURM_CONF" ] && timeout 10 scancel --full --quiet --user="$(id -un)" 2>/dev/null
for pidfile in "$DIR"/slurmd-*.pid "$DIR"/slurmctld.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
done
# Anything still running in a node's namespace (a task slurmd left behind) goes too.
for ns in $(ip netns list 2>/dev/null | awk -v t="$TAG" '$1 ~ ("^" t "[0-9]+$") {print $1}'); do
    pids=$(ip netns pids "$ns" 2>/dev/null)
    [ -n "$pids" ] && kill -9 $pids 2>/dev/null
    ip netns del "$ns"
done
ip link del "${TAG}br" 2>/dev/null
rm -rf "$DIR"
exit 0
