#!/usr/bin/env bash
# The QEMU version comparison in one command: installs every QEMU version that
# bench/scenarios/versions.ini sweeps (`migbench qemu install`, each into its
# own Debian root; nothing to do when installed), runs the campaign with the
# versions interleaved, writes `migbench report` (tables and plots per
# scenario and version) and `migbench compare` verdicts between consecutive
# versions (5.2 -> 7.2 -> 10.0 -> 10.0.13 -> 11.1).
#
#   bash bench/versions.sh [CAMPAIGN_DIR [migbench run options...]]
#
# CAMPAIGN_DIR is the campaign folder to create (default
# results/versions-<date-time>); migbench never overwrites a campaign, so it
# must not exist yet. The shipped campaign is regenerated with
#   git rm -rq results/reference/versions && bash bench/versions.sh results/reference/versions
# Options after CAMPAIGN_DIR go to `migbench run` (--repetitions=2 for a quick
# look, --qemu=10.0,11.1 for fewer versions). Builds in $MIGBENCH_BUILD_DIR
# (default build/) when needed (bench/build.sh). Needs root: the QEMU
# roots, and the network namespace of the echo guest.
#
# Writes, besides the campaign (campaign.json, SCENARIO/REP.json):
#   CAMPAIGN_DIR/report/                 migbench report
#   CAMPAIGN_DIR/report/compare/A-vs-B.md and .csv    migbench compare, A then B
#   CAMPAIGN_DIR/report/versions.md      the versions, the wall time, every verdict
#
# `migbench compare` pairs scenarios by name, and in one campaign each
# version's scenarios carry the version in their name (precopy,qemu=7.2). So
# for the comparisons each version's runs are copied into a folder of their
# own under a temporary directory, with the qemu=V part taken out of the
# scenario name (precopy), and the copies are compared; the campaign itself
# stays as written. One campaign rather than one per version keeps the runs
# interleaved across versions, so that the host's drift and other users' load
# fall on every version alike.
#
# Exit status: 0 when the campaign, the report and every comparison were made
# (failed runs and regressions are findings: they are in the report); 1 when
# something could not be made; 2 bad command line or scenario; 3 this host
# cannot run it (as migbench).
set -euo pipefail
# No silent exits: a failing step names its line, command and status.
trap 'echo "versions.sh: failed at line $LINENO (exit $?): $BASH_COMMAND" >&2' ERR

say() { echo "versions.sh: $*" >&2; }

cd "$(dirname "$0")/.."
top=$PWD
scenario=$top/bench/scenarios/versions.ini
build=${MIGBENCH_BUILD_DIR:-build}
case $build in /*) ;; *) build=$top/$build ;; esac

campaign=${1:-results/versions-$(date +%Y%m%d-%H%M%S)}
if [ $# -gt 0 ]; then shift; fi
case $campaign in -*)
	say "the first argument is the campaign folder to create, not an option ('$campaign'); usage: bash bench/versions.sh [CAMPAIGN_DIR [migbench run options...]]"
	exit 2 ;;
esac
case $campaign in /*) ;; *) campaign=$top/$campaign ;; esac
if [ -e "$campaign" ]; then
	say "$campaign exists already, and migbench never overwrites a campaign: move it away or name another folder"
	exit 2
fi

. bench/prepare.sh
mb_prepare "$build" "QEMU versions are installed into Debian roots and run chrooted, and the echo guest gets a network namespace"

# The versions are whatever the scenario sweeps once the options are applied:
# migbench's own dry run expands it, so this script holds no list of its own.
plan=$("$migbench" run "$scenario" --dry-run -o "$(dirname "$campaign")" -n "$(basename "$campaign")" "$@")
mapfile -t versions < <(awk '/^  / { print $1 }' <<<"$plan" | tr ',' '\n' |
	sed -n 's/^qemu=//p' | awk '!seen[$0]++')
if [ ${#versions[@]} -lt 2 ]; then
	say "$scenario (with options: ${*:-none}) sweeps ${#versions[@]} QEMU version(s) (${versions[*]:-none}): a comparison needs at least two, e.g. --qemu=10.0,11.1"
	exit 2
fi
for v in "${versions[@]}"; do
	case $v in /*)
		say "qemu=$v is a binary, not a version \`migbench qemu\` installs: this script compares installed versions (\`migbench qemu list\`)"
		exit 2 ;;
	esac
done
# A version that migbench knows and the campaign leaves out is said, not
# added: the scenario file decides what runs.
mapfile -t known < <("$migbench" qemu list | awk 'NR > 1 { print $1 }')
for k in "${known[@]}"; do
	[[ " ${versions[*]} " == *" $k "* ]] || say "note: migbench also knows QEMU $k, which this campaign does not run"
done

echo "== QEMU versions (migbench qemu install ${versions[*]})"
"$migbench" qemu install "${versions[@]}"

echo "== campaign ($scenario: ${versions[*]}, interleaved)"
start=$(date +%s)
status=0
"$migbench" run "$scenario" -o "$(dirname "$campaign")" -n "$(basename "$campaign")" "$@" || status=$?
end=$(date +%s)
# 1 = some run failed or did not converge: a finding (QEMU 5.2 and 7.2 lose
# guest pages under TCG); anything else means there is no campaign to report.
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
	say "migbench run stopped with exit $status; no report"
	exit "$status"
fi

echo "== report (migbench report $campaign)"
report=$campaign/report
rc=0
"$migbench" report "$campaign" -q || { say "migbench report failed (exit $?)"; rc=1; }

echo "== comparisons between consecutive versions (migbench compare)"
split=$(mktemp -d "${TMPDIR:-/tmp}/mbversions-XXXXXX")
trap 'rm -rf "$split"' EXIT
for dir in "$campaign"/*/; do
	name=$(basename "$dir")
	if [ "$name" = report ]; then continue; fi
	v=$(tr ',' '\n' <<<"$name" | sed -n 's/^qemu=//p')
	if [ -z "$v" ]; then
		say "$dir: scenario '$name' names no qemu=VERSION; left out of the comparisons"
		continue
	fi
	base=$(tr ',' '\n' <<<"$name" | grep -v '^qemu=' | paste -sd, -)
	mkdir -p "$split/qemu=$v/$base"
	for f in "$dir"*.json; do
		[ -e "$f" ] || continue
		out=$split/qemu=$v/$base/$(basename "$f")
		# The scenario's "name" member, and only it, is "<scenario>"; dots
		# in a version are literal.
		sed "s/\"name\": \"${name//./\\.}\"/\"name\": \"$base\"/" "$f" >"$out"
		if ! grep -q "\"name\": \"$base\"" "$out"; then
			say "$f: no \"name\": \"$name\" member to rename to '$base' for the comparison (has the result format changed?)"
			exit 1
		fi
	done
done

mkdir -p "$report/compare"
verdicts=()
prev=
for v in "${versions[@]}"; do
	if [ -n "$prev" ]; then
		md=$report/compare/$prev-vs-$v.md
		cs=0
		"$migbench" compare "$split/qemu=$prev" "$split/qemu=$v" -q -o "$md" || cs=$?
		case $cs in
		0) what="no regression" ;;
		1) what="regression" ;;
		4) what="inconclusive" ;;
		*) what="not compared (exit $cs)" ;;
		esac
		line=
		if [ -f "$md" ] && [ "$cs" -ne 2 ] && [ "$cs" -ne 3 ]; then
			line=$(sed -n 's/^Verdict: //p' "$md" | head -n 1)
		else
			say "migbench compare $prev $v made no summary (exit $cs)"
			rc=1
		fi
		echo "$prev -> $v: $what"
		verdicts+=("| $prev | $v | $cs | $what | [$prev-vs-$v.md](compare/$prev-vs-$v.md) | ${line//|/\\|} |")
	fi
	prev=$v
done

{
	echo "# QEMU versions on this host: $(basename "$campaign")"
	echo
	echo "Made by \`bash bench/versions.sh\` from \`bench/scenarios/versions.ini\`${*:+ with \`$*\`};"
	echo "campaign wall time $(( (end - start) / 60 )) min $(( (end - start) % 60 )) s; migbench run exit $status"
	echo "(1: some runs failed, see [report.md](report.md))."
	echo
	echo '```'
	"$migbench" qemu list
	echo '```'
	echo
	echo "## migbench compare between consecutive versions"
	echo
	echo "Each version's runs against the previous version's; exit 0 no regression,"
	echo "1 regression, 4 inconclusive (not a pass: too few completed runs, or a"
	echo "worsening without significance). compare read copies of the campaign's runs,"
	echo "one folder per version (qemu=V, in a temporary folder since removed) with"
	echo "qemu=V taken out of the scenario names, so that scenarios pair across versions."
	echo
	echo "| A (baseline) | B (candidate) | exit | verdict | summary | compare's verdict line |"
	echo "| --- | --- | ---: | --- | --- | --- |"
	printf '%s\n' "${verdicts[@]}"
} >"$report/versions.md"
echo "== done: $report/versions.md, $report/report.md"
exit "$rc"
