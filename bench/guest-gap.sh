#!/usr/bin/env bash
# Where the guest-seen gap goes after RESUME under TCG, by experiment.
#
#   bash bench/guest-gap.sh [OUT_DIR [migbench run options...]]
#
# One campaign of pre-copy and post-copy migrations of the main comparison's
# guest (bench/scenarios/main.ini's settings: 256M, 64M working set dirtied
# at 48M/s, 128M/s), REPS repetitions (default 6) of each variant, run
# interleaved (repetition 1 of every variant, then 2, ...). The variants
# differ only in the destination QEMU, through a wrapper that adds options
# when it is started with -incoming:
#   precopy, postcopy      as migbench starts it
#   -trace                 logs every translated block (TB), the virtio
#                          kicks and the post-copy page requests and
#                          placements with host timestamps (QEMU trace events
#                          translate_block, virtio_queue_notify,
#                          postcopy_ram_fault_thread_request,
#                          postcopy_place_page): what the destination did
#                          until the first heartbeat
#   -inasm, -disas         traced too, and each translation made dearer:
#                          -d in_asm disassembles the guest code of every TB,
#                          -d in_asm,op,op_opt,out_asm also dumps its TCG ops
#                          and the host code (to /dev/null); code once
#                          translated runs as fast as before
#   postcopy-preempt       traced, postcopy_preempt=yes
# then analysis/guest-gap.R writes OUT_DIR/guest-gap.tsv (one row per run)
# and OUT_DIR/guest-gap.md (medians, tests), and the results go to
# OUT_DIR/runs/ with their heartbeats cut to the switchover (the metrics
# were computed from the full series) so that they stay small. The trace
# logs (1.5 MB a run, 50 MB with -disas) are removed unless KEEP_TRACES=1.
#
# OUT_DIR defaults to results/reference/guest-gap, whose runs/, guest-gap.tsv
# and guest-gap.md are replaced. Set-up as the other bench jobs
# (bench/prepare.sh: root, .ci/setup, build in $MIGBENCH_BUILD_DIR, default
# build/, doctor, image). About 10 minutes on a 2-core TCG host (48
# migrations). Needs jq and R (jsonlite).
#
# Exit status: 0 when the campaign and the summary were made; 1 when not;
# 2 bad command line; 3 this host cannot run it.
set -euo pipefail
# No silent exits: a failing step names its line, command and status.
trap 'echo "guest-gap.sh: failed at line $LINENO (exit $?): $BASH_COMMAND" >&2' ERR

say() { echo "guest-gap.sh: $*" >&2; }

cd "$(dirname "$0")/.."
top=$PWD
. bench/prepare.sh
mb_build_dir
reps=${REPS:-6}

out=${1:-results/reference/guest-gap}
if [ $# -gt 0 ]; then shift; fi
case $out in -*)
	say "the first argument is the folder to write, not an option ('$out'); usage: bash bench/guest-gap.sh [OUT_DIR [migbench run options...]]"
	exit 2 ;;
esac
case $out in /*) ;; *) out=$top/$out ;; esac

for tool in jq Rscript; do
	if ! command -v "$tool" >/dev/null; then
		say "$tool is not installed (Debian: apt-get install ${tool/Rscript/r-base-core r-cran-jsonlite}); it is needed for the summary"
		exit 3
	fi
done
qemu=$(command -v qemu-system-x86_64) || { say "no qemu-system-x86_64 on the PATH"; exit 3; }

mb_prepare "$build" "it installs what is missing (.ci/setup), and post-copy needs userfaultfd"

work=$(mktemp -d /tmp/guest-gap.XXXXXX)
cleanup() { if [ "${KEEP_TRACES:-0}" = 1 ]; then say "trace logs kept in $work/traces"; else rm -rf "$work"; fi; }
trap cleanup EXIT
mkdir -p "$work/traces"

# A QEMU that adds $extra to the destination's command line only (the one
# migbench starts with -incoming); exec keeps QEMU's PID, which names the log.
wrapper() {
	local name=$1 extra=$2
	cat >"$work/$name" <<EOF
#!/bin/sh
for a in "\$@"; do
	if [ "\$a" = "-incoming" ]; then
		exec "$qemu" "\$@" $extra
	fi
done
exec "$qemu" "\$@"
EOF
	chmod +x "$work/$name"
}
trace="-msg timestamp=on -D $work/traces/trace-\$\$.log -d trace:translate_block,trace:virtio_queue_notify,trace:postcopy_ram_fault_thread_request,trace:postcopy_place_page,trace:runstate_set"
wrapper qemu-trace "$trace"
wrapper qemu-inasm "$trace,in_asm"
wrapper qemu-disas "$trace,in_asm,op,op_opt,out_asm"

cat >"$work/guest-gap.ini" <<EOF
# bench/guest-gap.sh: the variants of the destination QEMU (see there)
[global]
memory=256M
workload=dirty
wss=64M
rate=48M
pattern=sequential
max_bandwidth=128M
downtime_limit=300ms
timeout=2min
repetitions=$reps
# short windows: the switchover is what is looked at, and results stay small
baseline=500ms
baseline_margin=100ms
settle=1s

[precopy]
mode=precopy

[precopy-trace]
mode=precopy
qemu=$work/qemu-trace

[precopy-inasm]
mode=precopy
qemu=$work/qemu-inasm

[precopy-disas]
mode=precopy
qemu=$work/qemu-disas

[postcopy]
mode=postcopy

[postcopy-trace]
mode=postcopy
qemu=$work/qemu-trace

[postcopy-disas]
mode=postcopy
qemu=$work/qemu-disas

[postcopy-preempt]
mode=postcopy
postcopy_preempt=yes
qemu=$work/qemu-trace
EOF

say "$((8 * reps)) migrations, interleaved; results in $out"
status=0
"$migbench" run "$work/guest-gap.ini" -o "$work/raw" -n guest-gap --order=interleaved "$@" || status=$?
if [ ! -f "$work/raw/guest-gap/campaign.json" ]; then
	say "migbench run made no campaign (exit $status)"
	exit "$((status ? status : 1))"
fi
[ "$status" -eq 0 ] || say "migbench run exited $status: some runs did not complete (the summary leaves them out and says so)"

mkdir -p "$out"
Rscript analysis/guest-gap.R "$work/raw/guest-gap" "$work/traces" "$out" >/dev/null

# The results, heartbeats cut to 100 before the switchover's silence and the
# second after it (what guest_gap_* used), every column alike.
rm -rf "$out/runs"
mkdir -p "$out/runs"
cp "$work/raw/guest-gap/campaign.json" "$out/runs/"
for f in "$work"/raw/guest-gap/*/*.json; do
	rel=${f#"$work/raw/guest-gap/"}
	mkdir -p "$out/runs/$(dirname "$rel")"
	jq -c '(.heartbeats.origin_real_us) as $o
	  | ([.events[] | select(.event == "RESUME" and .side == "destination") | .qemu_us][0]) as $r
	  | if $r == null then . else
	    (.heartbeats.host_us | map(. + $o > $r) | index(true)) as $first
	    | if $first == null then . else
	      ([($first - 101), 0] | max) as $a | ($first + 1100) as $b
	      | .heartbeats |= (.host_us |= .[$a:$b] | .guest_us |= .[$a:$b] | .seq |= .[$a:$b]
	                        | .written |= .[$a:$b] | .ops |= .[$a:$b]
	                        | .trimmed = "bench/guest-gap.sh: 100 heartbeats before the first after RESUME and 1100 from it; metrics are of the full series")
	      end
	    end' "$f" >"$out/runs/$rel"
done
say "summary: $out/guest-gap.md"
cat "$out/guest-gap.md"
