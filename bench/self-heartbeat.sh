#!/usr/bin/env bash
# The instrument's own performance (issue 13), two of its figures:
#
#   bash bench/self-heartbeat.sh [OUT_DIR]
#
# 1. Heartbeat resolution: the achieved heartbeat period and jitter (median,
#    p99, p99-p1, stdev on the guest's and on the host's clock, beats lost by
#    sequence gap) over each run's baseline window, at heartbeat_period 1 ms,
#    500, 200 and 100 us (the key's minimum), and the smallest period the
#    guest sustains; and, on the same pre-copy migrations (a kv service in
#    the guest), the downtime from QMP events (STOP -> RESUME), from the
#    heartbeats (guest gap) and from the network client (outage at
#    switch-over), with their differences: bench/scenarios/self/heartbeat.ini,
#    11 runs (5 at 1 ms).
# 2. Dirty-rate generator: target vs achieved rate (the heartbeats' `written`
#    counter over the baseline window) for every pattern at 4, 16 and 48
#    MiB/s, +-5 %, and the highest rate the guest reaches unpaced (rate=0):
#    bench/scenarios/self/dirty-rate.ini, 12 runs.
#
# bench/self-heartbeat.py prints one table per figure with its target and
# PASS/MISS and writes them to OUT_DIR/self-heartbeat.md; the campaigns go to
# OUT_DIR/runs/heartbeat and OUT_DIR/runs/dirty-rate (replaced). OUT_DIR
# defaults to results/reference/self. REUSE=1 only re-reads the campaigns
# already in OUT_DIR/runs. Set-up as the other bench jobs (bench/prepare.sh:
# root, .ci/setup, build in $MIGBENCH_BUILD_DIR, default build/, doctor,
# image). About 6-8 minutes on a 2-core TCG host. Needs python3.
#
# Exit status: 0 when the campaigns and the tables were made (whatever the
# verdicts); 1 when not; 2 bad command line; 3 this host cannot run it.
set -euo pipefail
trap 'echo "self-heartbeat.sh: failed at line $LINENO (exit $?): $BASH_COMMAND" >&2' ERR

say() { echo "self-heartbeat.sh: $*" >&2; }

cd "$(dirname "$0")/.."
top=$PWD
. bench/prepare.sh
mb_build_dir

mb_one_out_dir results/reference/self "$@"
command -v python3 >/dev/null || { say "python3 is not installed (Debian: apt-get install python3); it makes the tables"; exit 3; }

if [ "${REUSE:-0}" != 1 ]; then
	mb_prepare "$build" "it installs what is missing (.ci/setup) and the kv runs need a network namespace"
	mkdir -p "$out/runs"
	for c in heartbeat dirty-rate; do
		rm -rf "${out:?}/runs/$c"
		say "campaign $c (bench/scenarios/self/$c.ini)"
		# a failed run still leaves the others' results to summarize
		"$migbench" run -q -o "$out/runs" -n "$c" "bench/scenarios/self/$c.ini" ||
			say "campaign $c: migbench run exited $?; the tables use the runs that completed"
	done
fi
python3 bench/self-heartbeat.py "$out/runs/heartbeat" "$out/runs/dirty-rate" "$out/self-heartbeat.md"
