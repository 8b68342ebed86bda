#!/usr/bin/env bash
# launch/experiments/run.sh FIGURE [key=value ...]
#   Runs one figure's sweep into results/FIGURE.db and prints its table (Markdown) to stdout.
#   FIGURE: fig1 (MARINA vs DIANA), fig4 (VR-MARINA vs VR-DIANA), fig5 (n = 20), or a path.
# Needs the LibSVM data in $MARINA_DATA_DIR (default: the build's ../shared/datasets next to the
# source tree, docs/cli.md) and a built marina.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
marina=${MARINA:-$root/build/marina}
fig=${1:?usage: run.sh FIGURE [key=value ...]}
shift
case "$fig" in
    fig1) file=$here/fig1-marina-vs-diana.ini ;;
    fig4) file=$here/fig4-vr-marina-vs-vr-diana.ini ;;
    fig5) file=$here/fig5-n20.ini ;;
    *) file=$fig; fig=$(basename "$fig" .ini) ;;
esac
mkdir -p "$root/results"
db=$root/results/$fig.db
rm -f "$db" "$db-wal" "$db-shm"
"$marina" sweep "$file" db="$db" "$@" >&2
"$marina" report --db "$db" --eps 1e-4
