#!/usr/bin/env bash
# migbench's main job on a fresh Debian 12 machine, set-up included:
# install what is needed (.ci/setup), build in build/, say what this host can
# measure (doctor), build the guest image, then migrate a dirtying guest with
# pre-copy, post-copy and hybrid, 3 repetitions each (bench/scenarios/main.ini),
# print the table of medians, then write the R report (Markdown and LaTeX
# tables, plots, the pre-copy model) beside the results in results/<date-time>/report/.
# What it runs grows with the project; the command stays
#   bash bench/main-job.sh
set -euo pipefail
# No silent exits: a failing step names its line, command and status.
trap 'echo "main-job: failed at line $LINENO (exit $?): $BASH_COMMAND" >&2' ERR

cd "$(dirname "$0")/.."
top=$PWD
build=$top/build

echo "== set-up (.ci/setup)"
if [ "$(id -u)" -eq 0 ]; then
	bash .ci/setup
else
	sudo bash .ci/setup
fi

echo "== build (in build/)"
bash bench/build.sh "$build"

# Not installed: point migbench at the agent it just built.
export MIGBENCH_AGENT=$build/workloads/migbench-agent
migbench=$build/migbench

echo "== what this host can measure (migbench doctor)"
status=0
"$migbench" doctor || status=$?
if [ "$status" -ne 0 ]; then
	echo "main-job: migbench cannot run on this host (doctor exit $status); stopping" >&2
	exit "$status"
fi

echo "== guest image (migbench image)"
"$migbench" image

echo "== pre-copy vs post-copy vs hybrid (migbench run bench/scenarios/main.ini)"
status=0
"$migbench" run bench/scenarios/main.ini -o "$top/results" "$@" || status=$?

echo "== report (migbench report results): tables, plots, model, in the campaign's report/"
"$migbench" report "$top/results" || echo "main-job: the report could not be made (exit $?)" >&2
exit "$status"
