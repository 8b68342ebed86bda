#!/usr/bin/env bash
# tests/cluster/up.sh [N] - starts a real Slurm cluster of N (default 3) compute nodes on this
# machine for the tests: every node is its own network namespace with its own address, so that
# actors Slurm places on different nodes talk over real TCP. Needs root; installs Debian's
# slurmd, slurmctld, slurm-client and munge if missing. Prints `export SLURM_CONF=...` (eval it).
# Stop it with tests/cluster/down.sh (same environment).
#
# Names and ports are chosen so that it does not clash with another cluster on the machine:
#   MARINA_CLUSTER_DIR   config, state and logs   (default ${TMPDIR:-/tmp}/marina-cluster)
#   MARINA_CLUSTER_TAG   prefix of namespaces (TAG1..TAGN) and bridge (TAGbr)   (default mc)
#   MARINA_CLUSTER_NET   first three octets of the /24            (default 10.77.0)
#   MARINA_CLUSTER_PORT  slurmctld's port; slurmd uses PORT+1      (default 6917)
# What it relies on (Slurm 22.05, Debian 12):
#  - several slurmd on one host: `slurmd -N NAME` with %n in the spool, pid and log paths;
#  - a slurmd enters its namespace with `nsenter --net=/run/netns/NAME`; `ip netns exec` would
#    remount /sys, the cgroup tree would vanish and slurmd would not start;
#  - proctrack/linuxproc and task/none need no systemd or cgroup set-up, and tasks inherit
#    their slurmd's namespace;
#  - munged runs once for the machine (its socket is a file every namespace sees).
set -euo pipefail

N=${1:-3}
DIR=${MARINA_CLUSTER_DIR:-${TMPDIR:-/tmp}/marina-cluster}
TAG=${MARINA_CLUSTER_TAG:-mc}
NET=${MARINA_CLUSTER_NET:-10.77.0}
PORT=${MARINA_CLUSTER_PORT:-6917}
CONF=$DIR/slurm.conf
say() { echo "cluster/up.sh: $*" >&2; }

[ "$(id -u)" = 0 ] || { say "needs root (network namespaces)"; exit 77; }
need=()
for tool in slurmctld slurmd srun sbatch munged nsenter ip; do
    command -v "$tool" >/dev/null || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
    say "missing ${need[*]}: installing slurmd slurmctld slurm-client munge iproute2 util-linux"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && \
        apt-get install -y -qq slurmd slurmctld slurm-client munge iproute2 util-linux >/dev/null \
        || { say "cannot install Slurm"; exit 1; }
fi
[ -e "$DIR/up" ] && { say "already up in $DIR; run down.sh first"; exit 1; }

# Can this machine make a namespace at all? (Not inside some containers: then skip.)
probe=${TAG}probe$$
if ! ip netns add "$probe" 2>/dev/null; then
    say "cannot create network namespaces here"; exit 77
fi
ip netns del "$probe"

# munge: one daemon for the machine.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    if [ ! -s /etc/munge/munge.key ]; then
        mungekey --create --force 2>/dev/null ||
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=128 status=none
    fi
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    su -s /bin/sh munge -c /usr/sbin/munged
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    munge -n | unmunge >/dev/null 2>&1 || { say "munged does not answer"; exit 1; }
fi

mkdir -p "$DIR/ctld" "$DIR/log"
touch "$DIR/up"  # from here on, down.sh undoes whatever was made

# The network: a bridge for the controller, a namespace with a veth pair per node.
ip link add "${TAG}br" type bridge
ip addr add "$NET.1/24" dev "${TAG}br"
ip link set "${TAG}br" up
for i in $(seq "$N"); do
    ip netns add "$TAG$i"
    ip link add "${TAG}v$i" type veth peer name eth0 netns "$TAG$i"
    ip link set "${TAG}v$i" master "${TAG}br" up
    ip -n "$TAG$i" addr add "$NET.$((10 + i))/24" dev eth0
    ip -n "$TAG$i" link set eth0 up
    ip -n "$TAG$i" link set lo up
done

cat > "$CONF" <<CONF
ClusterName=marina-test
SlurmctldHost=$(hostname)($NET.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
KillWait=10
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
StateSaveLocation=$DIR/ctld
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdSpoolDir=$DIR/spool-%n
SlurmdPidFile=$DIR/slurmd-%n.pid
SlurmdLogFile=$DIR/log/slurmd-%n.log
CONF
for i in $(seq "$N"); do
    echo "NodeName=n$i NodeAddr=$NET.$((10 + i)) CPUs=2 RealMemory=1000 State=UNKNOWN" >> "$CONF"
done
echo "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8" \
    >> "$CONF"

slurmctld -f "$CONF"
for i in $(seq "$N"); do
    mkdir -p "$DIR/spool-n$i"
    nsenter --net="/run/netns/$TAG$i" slurmd -f "$CONF" -N "n$i"
done

export SLURM_CONF=$CONF
for _ in $(seq 150); do
    idle=$(sinfo -h -N -o '%t' 2>/dev/null | grep -c '^idle' || true)
    if [ "$idle" = "$N" ]; then
        say "$N nodes idle ($DIR)"
        echo "export SLURM_CONF=$CONF"
        exit 0
    fi
    sleep 0.2
done
say "the nodes did not come up; logs in $DIR/log"
sinfo -N >&2 || true
exit 1
