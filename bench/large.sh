#!/usr/bin/env bash
# How large a guest this machine migrates (issue 14, "Large guests").
#
#   bash bench/large.sh [OUT_DIR [migbench run options...]]
#
# One campaign per step, each with memory verify on (as every run):
#   g4, g8, g12  bench/scenarios/large/sizes.ini with --memory=N G and a
#                working set of N/4 (4G/1G and 8G/2G are issue 14's first
#                tries), pre-copy at 8 MiB/s and post-copy at 64 MiB/s
#   gmax         the same for the largest guest that fits, when it is none
#                of those
#   full4        bench/scenarios/large/full.ini: a 4 GiB guest dirtying a
#                3.5 GiB working set
#   fullmax      the largest guest that fits with 85 % of it as working set
# "Fits": source and destination could each touch all of the guest, so two
# copies of it plus HOST_MARGIN_MIB (default 2048) must be below
# MemAvailable. The largest is sized once, from MemAvailable at the start;
# before each step the script waits (up to WAIT_S, default 600 s) until
# MemAvailable has room again (other guests on the machine) and records the
# step as not run, and why, when it never does. A step that fails is
# recorded with migbench's error, and the next one runs.
#
# While a step runs, a sampler (every 0.5 s) records the peak RSS (VmHWM)
# of each of our QEMUs (found by the private $XDG_RUNTIME_DIR in their
# command lines), the peak of their sum, migbench's own peak RSS, and the
# lowest MemAvailable.
#
# Writes OUT_DIR/STEP/ (the campaign, and its `migbench report` in
# STEP/report/), OUT_DIR/steps.tsv (one row per step: exit status, the
# memory figures, why not run), OUT_DIR/runs.tsv (one row per run) and
# OUT_DIR/large.md (both as tables). Default OUT_DIR:
# results/large-<date-time>. Build: $MIGBENCH_BUILD_DIR (default build/).
# Needs jq. About 10-15 minutes here (2 cores, TCG, 24 GiB).
#
# Exit status: 0 when every step that ran completed every run; 1 when a run
# failed or a step could not run; 2 bad command line; 3 this host cannot
# (no jq, no QEMU, not even a 4 GiB guest fits).
set -euo pipefail
trap 'echo "large.sh: failed at line $LINENO (exit $?): $BASH_COMMAND" >&2' ERR
say() { echo "large.sh: $*" >&2; }

cd "$(dirname "$0")/.."
top=$PWD
. bench/prepare.sh
mb_build_dir
margin=${HOST_MARGIN_MIB:-2048}
wait_s=${WAIT_S:-600}
out=${1:-results/large-$(date +%Y%m%d-%H%M%S)}
if [ $# -gt 0 ]; then shift; fi
case $out in -*) say "usage: bash bench/large.sh [OUT_DIR [migbench run options...]]"; exit 2 ;; esac
case $out in /*) ;; *) out=$top/$out ;; esac
if [ -e "$out" ]; then
	say "$out exists already, and migbench never overwrites a campaign: move it away or name another folder"
	exit 2
fi
command -v jq >/dev/null || { say "jq is not installed (Debian: apt-get install jq); the tables need it"; exit 3; }
command -v qemu-system-x86_64 >/dev/null || { say "no qemu-system-x86_64 on the PATH (sudo bash .ci/setup)"; exit 3; }
bash bench/build.sh "$build" >/dev/null
export MIGBENCH_AGENT=$build/workloads/migbench-agent
migbench=$build/migbench

mem_mib() { awk -v k="$1:" '$1 == k { print int($2 / 1024) }' /proc/meminfo; }

# Our QEMUs make their run directories here, and name it on their command
# lines: that is how the sampler tells them from other people's.
rt=$(mktemp -d "${TMPDIR:-/tmp}/mblarge-XXXXXX")
sampler='' running=''
cleanup() {
	# migbench stops its guests and writes what it has on SIGTERM
	if [ -n "$running" ]; then kill -TERM "$running" 2>/dev/null && wait "$running" || true; fi
	if [ -n "$sampler" ]; then kill "$sampler" 2>/dev/null || true; fi
	rm -rf "$rt"
}
trap cleanup EXIT
export XDG_RUNTIME_DIR=$rt

total_mib=$(mem_mib MemTotal)
start_avail=$(mem_mib MemAvailable)
largest=$(((start_avail - margin) / 2 / 1024))
if [ "$largest" -lt 4 ]; then
	say "MemAvailable is $start_avail MiB: two 4 GiB guests and $margin MiB for the host do not fit"
	exit 3
fi
mkdir -p "$out"
say "MemTotal $total_mib MiB, MemAvailable $start_avail MiB: the largest guest that fits twice with $margin MiB to spare is $largest GiB"
printf 'step\tguest_mib\twss_mib\texit\tavail_before_mib\tavail_min_mib\tqemu_peak_rss_mib\tqemus_peak_rss_sum_mib\tmigbench_peak_rss_mib\tseconds\tnote\n' >"$out/steps.tsv"

# Until migbench `pid` exits: every 0.5 s the VmHWM of each of our QEMUs,
# the sum of their VmRSS, migbench's VmHWM, MemAvailable; the peaks (MiB)
# go to `file` at the end.
sample() {
	local pid=$1 file=$2 q hwm rss sum mb=0 qpeak=0 speak=0 amin
	amin=$(mem_mib MemAvailable)
	while kill -0 "$pid" 2>/dev/null; do
		sum=0
		for q in $(pgrep -f -- "$rt/" || true); do
			read -r hwm rss < <(awk '/^VmHWM:/ { h = $2 } /^VmRSS:/ { r = $2 } END { print h + 0, r + 0 }' \
				"/proc/$q/status" 2>/dev/null || echo 0 0) || true
			[ "${hwm:-0}" -gt "$qpeak" ] && qpeak=$hwm
			sum=$((sum + ${rss:-0}))
		done
		[ "$sum" -gt "$speak" ] && speak=$sum
		hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
		[ "${hwm:-0}" -gt "$mb" ] && mb=$hwm
		rss=$(mem_mib MemAvailable)
		[ "$rss" -lt "$amin" ] && amin=$rss
		sleep 0.5
	done
	echo "$amin $((qpeak / 1024)) $((speak / 1024)) $((mb / 1024))" >"$file"
}

failed=0
# run_step NAME INI GUEST_MIB WSS_MIB [migbench run options...]
run_step() {
	local name=$1 ini=$2 guest=$3 wss=$4 need avail waited=0 st=0 t0 amin qpeak qsum mbpeak
	shift 4
	need=$((2 * guest + margin))
	avail=$(mem_mib MemAvailable)
	while [ "$avail" -lt "$need" ] && [ "$waited" -lt "$wait_s" ]; do
		say "$name: MemAvailable $avail MiB < $need MiB (two $guest MiB guests and $margin MiB); waiting"
		sleep 10
		waited=$((waited + 10))
		avail=$(mem_mib MemAvailable)
	done
	if [ "$avail" -lt "$need" ]; then
		printf '%s\t%s\t%s\t-\t%s\t-\t-\t-\t-\t-\tnot run: MemAvailable %s MiB < %s MiB after waiting %s s\n' \
			"$name" "$guest" "$wss" "$avail" "$avail" "$need" "$waited" >>"$out/steps.tsv"
		failed=1
		return
	fi
	say "$name: a $guest MiB guest, $wss MiB working set ($ini); MemAvailable $avail MiB"
	t0=$(date +%s)
	"$migbench" run "$ini" -o "$out" -n "$name" --memory="${guest}M" --wss="${wss}M" -q "$@" &
	running=$!
	sample "$running" "$rt/$name.peaks" &
	sampler=$!
	wait "$running" || st=$?
	running=
	wait "$sampler" || true
	sampler=
	read -r amin qpeak qsum mbpeak <"$rt/$name.peaks"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$guest" "$wss" "$st" "$avail" \
		"$amin" "$qpeak" "$qsum" "$mbpeak" "$(($(date +%s) - t0))" "" >>"$out/steps.tsv"
	if [ "$st" -ne 0 ]; then
		say "$name: migbench run exited $st"
		failed=1
	fi
	if [ -f "$out/$name/campaign.json" ]; then
		"$migbench" report "$out/$name" -q >/dev/null || say "$name: migbench report failed (exit $?)"
	fi
}

not_fitting() {
	printf '%s\t%s\t%s\t-\t%s\t-\t-\t-\t-\t-\tnot run: two copies and %s MiB need %s MiB, MemAvailable was %s MiB\n' \
		"$1" "$2" "$3" "$start_avail" "$margin" "$((2 * $2 + margin))" "$start_avail" >>"$out/steps.tsv"
}

sizes=bench/scenarios/large/sizes.ini
full=bench/scenarios/large/full.ini
for g in 4 8 12; do
	if [ "$g" -le "$largest" ]; then
		run_step "g$g" "$sizes" $((g * 1024)) $((g * 256)) "$@"
	else
		not_fitting "g$g" $((g * 1024)) $((g * 256))
	fi
done
case $largest in 4 | 8 | 12) ;; *) run_step gmax "$sizes" $((largest * 1024)) $((largest * 256)) "$@" ;; esac
run_step full4 "$full" 4096 3584 "$@"
if [ "$largest" -gt 4 ]; then
	run_step fullmax "$full" $((largest * 1024)) $((largest * 1024 * 85 / 100)) "$@"
fi

# One row per run, from the result files.
printf 'step\tscenario\trep\tguest_mib\twss_mib\tstatus\tcompleted_as\ttotal_ms\tdowntime_ms\tresume_ms\tsent_mib\tpages_checked\tpages_corrupted\terror\n' >"$out/runs.tsv"
steps=$(awk -F'\t' 'NR > 1 { print $1 }' "$out/steps.tsv")
for step in $steps; do for f in "$out/$step"/*/[0-9]*.json; do
	[ -f "$f" ] || continue
	jq -r --arg step "$step" '
		def n(x): if x == null then "-" else x end;
		[$step, .run.scenario, .run.repetition, .scenario.memory / 1048576, .scenario.wss / 1048576,
		 .run.status, n(.run.completed_as), n(.metrics.total_time_ms), n(.metrics.downtime_ms),
		 n(.metrics.resume_time_ms),
		 (if .metrics.pages_transferred.bytes.total == null then "-"
		  else (.metrics.pages_transferred.bytes.total / 1048576 | floor) end),
		 n(.metrics.memory_verify.pages_checked), n(.metrics.memory_verify.pages_corrupted),
		 n(.run.error)] | @tsv' "$f" >>"$out/runs.tsv"
done; done

# Markdown tables of both files.
md_table() {
	awk -F'\t' 'NR == 1 { h = "|"; s = "|"; for (i = 1; i <= NF; i++) { h = h " " $i " |"; s = s " --- |" }
		print h; print s; next }
		{ l = "|"; for (i = 1; i <= NF; i++) l = l " " $i " |"; print l }' "$1"
}
{
	echo "# Large guests on $(hostname) ($(date -u +%Y-%m-%dT%H:%MZ))"
	echo
	echo "MemTotal $total_mib MiB, MemAvailable $start_avail MiB at the start: the largest guest"
	echo "that fits twice with $margin MiB for the host is $largest GiB. $(qemu-system-x86_64 --version | head -1)."
	echo
	echo "## Runs"
	echo
	md_table "$out/runs.tsv"
	echo
	echo "## Steps (memory in MiB; RSS peaks from /proc every 0.5 s)"
	echo
	md_table "$out/steps.tsv"
	echo
	echo "## Main tables (migbench report: medians over completed runs)"
	for step in $steps; do
		[ -f "$out/$step/report/report.md" ] || continue
		echo
		echo "### $step"
		echo
		awk '/^## Main table/ { on = 1; next } on && /^## / { exit } on && /^\|/' "$out/$step/report/report.md"
	done
} >"$out/large.md"
cat "$out/large.md"
exit "$failed"
