#!/usr/bin/env bash
# The instrument's own performance (issue 13): where a campaign's wall time
# goes, and how fast a guest starts.
#
#   bash bench/self-campaign.sh [OUT_DIR]      (default results/reference/self)
#
# 1. Guest start: launch -> first heartbeat of `migbench boot`, cold boot
#    (guest_start=boot) against restored from the post-boot snapshot
#    (guest_start=snapshot), interleaved, BOOTS pairs (default 5), the main
#    job's guest (256 MiB, 64 MiB set); target <= 0.5 s restored.
# 2. Campaign share: the main job's campaign (bench/scenarios/main.ini,
#    9 migrations) run PAIRS times (default 2) each with guest_start=boot and
#    guest_start=snapshot, interleaved; for each, the share of its wall time
#    spent inside migrations (target >= 60 %), and where the rest goes: the
#    guest's start, the measurement windows (baseline before the first
#    migrate, settle after each), and migbench's own work (preflight,
#    destinations, verify, results). Once more with the windows at their
#    least (baseline=200ms, settle=0) to show what migbench itself allows.
#
# bench/self-campaign.py runs them (it times each campaign itself), prints
# the tables with target and PASS/MISS and writes OUT_DIR/self-campaign.md;
# the campaigns go to OUT_DIR/runs/campaign-* (replaced). Set-up as the other
# bench jobs (bench/prepare.sh). About 6 minutes on a 2-core TCG host.
#
# Exit status: 0 when the tables were made (whatever the verdicts); 1 when
# not; 2 bad command line; 3 this host cannot run it.
set -euo pipefail
trap 'echo "self-campaign.sh: failed at line $LINENO (exit $?): $BASH_COMMAND" >&2' ERR

say() { echo "self-campaign.sh: $*" >&2; }

cd "$(dirname "$0")/.."
top=$PWD
. bench/prepare.sh
mb_build_dir

mb_one_out_dir results/reference/self "$@"
command -v python3 >/dev/null || { say "python3 is not installed (Debian: apt-get install python3); it runs and tabulates"; exit 3; }

mb_prepare "$build" "the guests run in QEMU started as root (post-copy needs userfaultfd)"
mkdir -p "$out/runs"
exec python3 bench/self-campaign.py --migbench "$migbench" --scenario bench/scenarios/main.ini \
	--boots "${BOOTS:-5}" --pairs "${PAIRS:-2}" --runs "$out/runs" --table "$out/self-campaign.md"
