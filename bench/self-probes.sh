#!/usr/bin/env bash
# The instrument's own performance (issue 13): probe overhead and
# migbench's own cost.
#
#   bash bench/self-probes.sh [OUT_DIR]
#
# 1. Probe overhead: the guest's own work counter with every probe on
#    (probes=all) vs every probe off (probes=none), interleaved, same boot:
#    <= 1 % slowdown. Two campaigns, bench/scenarios/self/probes-compute.ini
#    (CPU-bound guest, counter `ops`) and probes-dirty.ini (a guest writing
#    memory unpaced, counter `written`), each REPS repetitions (default 10)
#    of [on] and [off]. probes= is not a guest key, so each campaign boots
#    ONE guest and migrates it back and forth alternating on and off. The
#    rate is metrics.degradation's, over the baseline window (5 s before
#    `migrate`, the probes running) and over the pre-copy phase; each on run
#    is compared with the mean of the off runs just before and after it.
#    Also per second of the vCPU threads' run time over the same windows
#    (bench/self-probes-vcpu.py samples /proc while the campaign runs): the
#    host's other load, which sets how much of a core the vCPU gets, then
#    cancels out, and what the probes do to the vCPU's own speed remains.
#    Then on ONE QEMU, which takes the QEMU-to-QEMU speed difference out
#    (bench/self-probes-toggle.py): a guest dirtying unpaced under `migbench
#    boot`, the probes (`migbench host-probes` on its pid and vCPU threads)
#    on for 3 s and off for 3 s, CYCLES times (default 20), in random order;
#    OUT_DIR/self-probes-toggle.md.
# 2. migbench's own CPU time and peak RSS per run and CPU per sample
#    (record): each result's `self`, medians for probes on and off.
#
# bench/self-probes.py prints the table (figure, measured, target,
# PASS/MISS/INFO) and writes OUT_DIR/self-probes.md; the campaigns go to
# OUT_DIR/runs/probes-compute and OUT_DIR/runs/probes-dirty (replaced; not
# meant to be committed: ~4 MB each). OUT_DIR defaults to
# results/reference/self. REUSE=1 only re-reads the campaigns already there.
# Set-up as the other bench jobs (bench/prepare.sh: root, .ci/setup, build
# in $MIGBENCH_BUILD_DIR, default build/, doctor, image). About 6 minutes
# on a 2-core TCG host (2 boots, 4 x REPS migrations). Needs python3.
#
# Exit status: 0 when the campaigns and the table were made (whatever the
# verdicts); 1 when not; 2 bad command line; 3 this host cannot run it.
set -euo pipefail
trap 'echo "self-probes.sh: failed at line $LINENO (exit $?): $BASH_COMMAND" >&2' ERR

say() { echo "self-probes.sh: $*" >&2; }

cd "$(dirname "$0")/.."
top=$PWD
. bench/prepare.sh
mb_build_dir
reps=${REPS:-10}

mb_one_out_dir results/reference/self "$@"
case $reps in ''|*[!0-9]*|0|1)
	say "REPS must be a whole number >= 2 (each on run is compared with the off runs either side), not '$reps'"
	exit 2 ;;
esac
command -v python3 >/dev/null || { say "python3 is not installed (Debian: apt-get install python3); it makes the table"; exit 3; }

campaigns=(probes-compute probes-dirty)
if [ "${REUSE:-0}" != 1 ]; then
	mb_prepare "$build" "it installs what is missing (.ci/setup) and boots guests"
	mkdir -p "$out/runs"
	for c in "${campaigns[@]}"; do
		rm -rf "${out:?}/runs/$c"
		say "campaign $c (bench/scenarios/self/$c.ini, $reps repetitions of on and off, one guest)"
		# a failed run still leaves the others' results to summarize
		"$migbench" run -q -o "$out/runs" -n "$c" --repetitions="$reps" "bench/scenarios/self/$c.ini" &
		mb=$!
		# the vCPU threads' run time, sampled until that migbench exits
		python3 bench/self-probes-vcpu.py "$mb" "$out/runs/$c.vcpu.tsv" ||
			say "campaign $c: sampling the vCPU threads failed; no per-vCPU-second rows"
		wait "$mb" || say "campaign $c: migbench run exited $?; the table uses the runs that completed"
		if [ -d "$out/runs/$c" ] && [ -f "$out/runs/$c.vcpu.tsv" ]; then
			mv "$out/runs/$c.vcpu.tsv" "$out/runs/$c/vcpu.tsv"
		fi
	done
fi
dirs=()
for c in "${campaigns[@]}"; do
	if [ ! -f "$out/runs/$c/campaign.json" ]; then
		say "no campaign in $out/runs/$c"
		exit 1
	fi
	dirs+=("$out/runs/$c")
done
python3 bench/self-probes.py "$out/self-probes.md" "${dirs[@]}"
say "table: $out/self-probes.md"
if [ "${REUSE:-0}" != 1 ]; then
	# The same question on ONE QEMU: the probes (migbench host-probes)
	# toggled on and off beside a running guest, which never migrates.
	say "probes toggled on one QEMU (bench/self-probes-toggle.py, ${CYCLES:-20} cycles of 3 s on and 3 s off)"
	python3 bench/self-probes-toggle.py --migbench "$migbench" --cycles "${CYCLES:-20}" --phase 3 \
		--table "$out/self-probes-toggle.md"
	say "table: $out/self-probes-toggle.md"
fi
