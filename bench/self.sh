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
#              off (interleaved, same boot), migbench's CPU time and peak RSS
#              per run and per record
#   guestperf  bench/self-guestperf.sh: QEMU's guestperf (from Debian's qemu
#              source, adapted to TCG in a private copy) and migbench on the
#              main job's scenarios: runs per hour, the resolution of each
#              downtime figure, what each measures that the other does not
# and prints each part's table (figure, measured, target, PASS/MISS), then
# the figures of issue 13 that no part measures yet. About 27 minutes here.
# MIGBENCH (default build/migbench) is passed on to the parts.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-self-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd)
status=0

for part in heartbeat probes guestperf; do
	echo "==== $part: bash bench/self-$part.sh $out/$part ===="
	if ! bash "$top/bench/self-$part.sh" "$out/$part"; then
		echo "bench/self.sh: the $part part failed (its output above; what it finished is in $out/$part)" >&2
		status=1
	fi
	echo
done

cat <<'TODO'
==== not measured yet (issue 13 is open) ====
- share of a campaign's wall time spent migrating (target >= 60 %)
- guest start restored from a cached post-boot snapshot (target <= 0.5 s; cold boot kept)
TODO
echo "results: $out"
exit $status
