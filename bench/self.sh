#!/usr/bin/env bash
# The instrument's own performance (issue 13), every part in one command:
#
#   bash bench/self.sh [OUT_DIR]        (default self-<date>)
#
# Runs, one after the other, into OUT_DIR/<part>/:
#   heartbeat  bench/self-heartbeat.sh: heartbeat period and jitter at 1 ms
#              and below, downtime from QMP, heartbeats and the network
#              client on the same migrations, dirty-rate target vs achieved
#   probes     bench/self-probes.sh: the guest's work with every probe on vs
#              off (interleaved, same boot; then toggled on one QEMU),
#              migbench's CPU time and peak RSS per run and per record
#   campaign   bench/self-campaign.sh: guest start, cold boot vs restored
#              from the post-boot snapshot (guest_start=snapshot), and the
#              share of the main job's campaign spent migrating, with where
#              the rest of its wall time goes
#   guestperf  bench/self-guestperf.sh: QEMU's guestperf (from Debian's qemu
#              source, adapted to TCG in a private copy) and migbench on the
#              main job's scenarios: runs per hour, the resolution of each
#              downtime figure, what each measures that the other does not
# and prints each part's table (figure, measured, target, PASS/MISS), then
# every verdict of every part together. About 19 minutes here (idle host).
# MIGBENCH_BUILD_DIR (default build/) is passed on to the parts.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-self-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd)
status=0

for part in heartbeat probes campaign guestperf; do
	echo "==== $part: bash bench/self-$part.sh $out/$part ===="
	if ! bash "$top/bench/self-$part.sh" "$out/$part"; then
		echo "bench/self.sh: the $part part failed (its output above; what it finished is in $out/$part)" >&2
		status=1
	fi
	echo
done

echo "==== every figure with a verdict (the tables in $out/*/*.md) ===="
for md in "$out"/*/*.md; do
	[ -f "$md" ] || continue
	grep -hE '\| (PASS|MISS|UNRESOLVED)' "$md" | sed "s|^|${md#"$out"/}: |"
done
echo "results: $out"
exit $status
