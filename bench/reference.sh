#!/usr/bin/env bash
# The classic migration results, reproduced with migbench on this host, in
# one command: runs every campaign in bench/scenarios/classic/ (each file's
# header says the question it answers), writes `migbench report` for each,
# then the classic report (analysis/classic.R): each question with
# migbench's numbers, the pre-copy model's error on total time, data and
# downtime, and the environment the figures come from.
#
#   bash bench/reference.sh [OUT_DIR [migbench run options...]]
#
# OUT_DIR (default results/classic-<date-time>) gets one campaign folder per
# scenario file (OUT_DIR/dirty-rate, OUT_DIR/pattern, ...), the
# destination-preallocation experiment (OUT_DIR/prealloc, bench/prealloc.sh)
# and report.md. (The guest-gap experiment has a command of its own:
# bench/guest-gap.sh.)
# The shipped reference is regenerated with
#   git rm -rq results/reference/classic && bash bench/reference.sh results/reference/classic
# Options after OUT_DIR go to every `migbench run` (--repetitions=1 for a
# quick look). A campaign already complete in OUT_DIR is kept, one left
# interrupted is finished (--resume), so the command can be run again after
# a stop. Builds in $MIGBENCH_BUILD_DIR (default build/) when needed. The
# R analysis checks the checked-in result's shapes in
# analysis/tests/test-reference.R.
#
# Exit status: 0 when every campaign and report was made (runs that fail or
# do not converge are findings: pre-copy at lambda >= 1 must not converge);
# 1 when something could not be made; 2 bad command line; 3 this host cannot
# run it (as migbench).
set -euo pipefail
# No silent exits: a failing step names its line, command and status.
trap 'echo "reference.sh: failed at line $LINENO (exit $?): $BASH_COMMAND" >&2' ERR

say() { echo "reference.sh: $*" >&2; }

cd "$(dirname "$0")/.."
top=$PWD
. bench/prepare.sh
mb_build_dir

out=${1:-results/classic-$(date +%Y%m%d-%H%M%S)}
if [ $# -gt 0 ]; then shift; fi
case $out in -*)
	say "the first argument is the folder to write, not an option ('$out'); usage: bash bench/reference.sh [OUT_DIR [migbench run options...]]"
	exit 2 ;;
esac
case $out in /*) ;; *) out=$top/$out ;; esac

mb_prepare "$build" "QEMU's post-copy needs userfaultfd, .ci/setup installs packages, and QEMU versions go into Debian roots"
# The QEMU versions the campaigns name (qemu=11.1 for the post-copy fault
# latencies): installed into their own Debian roots, nothing to do when
# they are there.
mapfile -t versions < <(sed -n 's/^qemu=\([0-9][0-9.]*\)$/\1/p' bench/scenarios/classic/*.ini | sort -u)
if [ ${#versions[@]} -gt 0 ]; then
	echo "== QEMU versions (migbench qemu install ${versions[*]})"
	"$migbench" qemu install "${versions[@]}"
fi
mkdir -p "$out"
# what made these results, beside them (the results carry migbench's own
# git describe too)
{
	echo "commit $(git rev-parse HEAD 2>/dev/null || echo unknown) ($(git describe --always --dirty --tags 2>/dev/null || echo 'not a git tree'))"
	echo "started $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n), $(uname -sr), $(nproc) CPUs"
} >>"$out/provenance.txt"

rc=0
start=$(date +%s)
for ini in bench/scenarios/classic/*.ini; do
	name=$(basename "$ini" .ini)
	dir=$out/$name
	echo "== $name ($ini)"
	s=$(date +%s)
	st=0
	if [ -f "$dir/campaign.json" ] && grep -Eq '"state": *"finished"' "$dir/campaign.json"; then
		echo "   finished already: kept"
		continue
	elif [ -d "$dir" ]; then
		"$migbench" run --resume "$dir" "$@" || st=$?
	else
		"$migbench" run "$ini" -o "$out" -n "$name" "$@" || st=$?
	fi
	# 1 = a run failed or did not converge: a finding, reported.
	if [ "$st" -ne 0 ] && [ "$st" -ne 1 ]; then
		say "$name: migbench run stopped with exit $st; its report is left out"
		rc=1
		continue
	fi
	echo "   $name: $(( $(date +%s) - s )) s, migbench run exit $st"
	"$migbench" report "$dir" -q || { say "$name: migbench report failed (exit $?)"; rc=1; }
done
end=$(date +%s)
echo "== campaigns: $(( (end - start) / 60 )) min $(( (end - start) % 60 )) s"

# The experiment behind the model's note on stop-and-copy (about 2 min).
if [ ! -e "$out/prealloc" ]; then
	echo "== experiment: bench/prealloc.sh $out/prealloc"
	bash bench/prealloc.sh "$out/prealloc" "$@" || { say "bench/prealloc.sh failed (exit $?)"; rc=1; }
fi

echo "== classic report (analysis/classic.R $out)"
MIGBENCH_BIN=$migbench Rscript analysis/classic.R "$out" --wall-s "$(( end - start ))" ||
	{ say "analysis/classic.R failed (exit $?)"; rc=1; }
echo "== done: $out/report.md"
exit "$rc"
