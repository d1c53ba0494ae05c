#!/usr/bin/env bash
# Why stop-and-copy is slow when it carries pages the destination never
# held: the experiment behind the pre-copy model's note (analysis/model.R).
# The same pre-copy migration (256 MiB guest, 256 MiB/s cap, so that it
# stops during the first pass) to a destination QEMU as migbench starts it
# ("plain") and to one started with -mem-prealloc ("prealloc": its memory
# is touched before the migration), interleaved. If the host's first touch
# of the destination's memory is what limits those pages, preallocation
# takes it out of the downtime and out of the pre-copy.
#
#   bash bench/prealloc.sh [CAMPAIGN_DIR [migbench run options...]]
#
# Default CAMPAIGN_DIR: results/prealloc-<date-time>; the shipped one is
#   git rm -rq results/reference/prealloc && bash bench/prealloc.sh results/reference/prealloc
# Writes the campaign, its migbench report, and CAMPAIGN_DIR/prealloc.md
# (medians per side, the destination's CPU time while the guest was
# stopped, from the counters probe). About 2 minutes.
set -euo pipefail
trap 'echo "prealloc.sh: failed at line $LINENO (exit $?): $BASH_COMMAND" >&2' ERR
say() { echo "prealloc.sh: $*" >&2; }

cd "$(dirname "$0")/.."
top=$PWD
. bench/prepare.sh
mb_build_dir
campaign=${1:-results/prealloc-$(date +%Y%m%d-%H%M%S)}
if [ $# -gt 0 ]; then shift; fi
case $campaign in -*) say "usage: bash bench/prealloc.sh [CAMPAIGN_DIR [migbench run options...]]"; exit 2 ;; esac
case $campaign in /*) ;; *) campaign=$top/$campaign ;; esac
if [ -e "$campaign" ]; then
	say "$campaign exists already, and migbench never overwrites a campaign: move it away or name another folder"
	exit 2
fi
bash bench/build.sh "$build" >/dev/null
export MIGBENCH_AGENT=$build/workloads/migbench-agent
migbench=$build/migbench
qemu=$(command -v qemu-system-x86_64) || { say "no qemu-system-x86_64 on PATH (sudo bash .ci/setup)"; exit 3; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mbprealloc-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# The destination QEMU with its memory preallocated: migbench's command
# line, plus -mem-prealloc.
printf '#!/bin/sh\nexec %s -mem-prealloc "$@"\n' "$qemu" >"$tmp/qemu-prealloc"
chmod +x "$tmp/qemu-prealloc"
cat >"$tmp/prealloc.ini" <<INI
# bench/prealloc.sh: stop-and-copy onto memory the destination never touched
[global]
memory=256M
workload=dirty
wss=64M
pattern=sequential
mode=precopy
rate=8M
max_bandwidth=256M
downtime_limit=300ms
timeout=1min
repetitions=6

[plain]

[prealloc]
qemu_dst=$tmp/qemu-prealloc
INI
mkdir -p "$(dirname "$campaign")"
st=0
"$migbench" run "$tmp/prealloc.ini" -o "$(dirname "$campaign")" -n "$(basename "$campaign")" "$@" || st=$?
if [ "$st" -ne 0 ] && [ "$st" -ne 1 ]; then say "migbench run stopped with exit $st"; exit "$st"; fi
"$migbench" report "$campaign" -q || say "migbench report failed (exit $?)"
MIGBENCH_BIN=$migbench Rscript bench/prealloc.R "$campaign"
