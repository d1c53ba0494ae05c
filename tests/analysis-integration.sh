#!/bin/sh
# `migbench report` and `migbench compare` end to end (TAP), on real
# campaigns made here: A and A' (the same pre-copy setting run twice) and B
# with half the bandwidth (64 MiB/s instead of 128 MiB/s), 5 runs each.
# The runs are interleaved (A, A', B, A, A', B, ...: one `migbench run` per
# run, gathered into three campaign folders) so that a change of load on a
# shared machine falls on all three alike instead of on one campaign.
# Checks that the report's files appear, that A/A comes out "no regression"
# (exit 0; or inconclusive, never a regression) and A/B "REGRESSION" on
# total time (exit 1) but "INCONCLUSIVE" from 3 runs a side (exit 4), that a
# candidate whose runs all failed regresses, that --junit writes valid JUnit
# XML (xmllint --schema) with the counts and failures right, and the exit
# statuses for a missing Rscript (3) and bad command lines (2), and that
# options repeated 200 times are taken rather than crash migbench. Where this
# host cannot migrate (`migbench run` exits 3) the checked-in trimmed real
# campaigns of analysis/tests/fixtures stand in. About two minutes under TCG.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${MIGBENCH_BIN:-$PWD/migbench}
fixtures=$here/../analysis/tests/fixtures
rscript=${MIGBENCH_RSCRIPT:-Rscript}

if ! command -v "$rscript" >/dev/null 2>&1; then
	echo "1..0 # SKIP $rscript not found (install r-base-core: sudo bash .ci/setup)"
	exit 77
fi
if [ ! -x "$bin" ]; then
	echo "1..0 # SKIP no migbench binary at $bin (set MIGBENCH_BIN)"
	exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mb-analysis.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # check NAME COMMAND...: ok when the command succeeds
	name=$1; shift
	if "$@"; then ok "$name"; else notok "$name"; fi
}
show() { sed 's/^/#   /' "$1"; }
# status_is NAME WANT [COMMAND...]: ok when $status, the exit status of what
# just ran, is one of WANT ("0 4") and COMMAND, if given, succeeds
status_is() {
	name=$1 want=$2
	shift 2
	for w in $want; do
		if [ "$status" -eq "$w" ] && { [ $# -eq 0 ] || "$@"; }; then
			ok "$name"
			return 0
		fi
	done
	notok "$name (got exit $status)"
	return 1
}

# ---- the campaigns -------------------------------------------------------
runs=5
real=1
i=1
while [ $i -le $runs ] && [ $real -eq 1 ]; do
	for c in a:128M a2:128M b:64M; do
		name=${c%%:*} bw=${c#*:}
		"$bin" run --mode=precopy --rate=8M --max_bandwidth="$bw" --repetitions=1 --settle=500ms -q \
			-o "$work/parts" -n "$name-$i" >"$work/run.log" 2>&1
		status=$?
		if [ $status -eq 3 ]; then
			echo "# migbench run cannot migrate here (exit 3): using the checked-in real campaigns"
			show "$work/run.log"
			real=0
			break
		elif [ $status -ne 0 ]; then
			notok "real run $name-$i (max_bandwidth=$bw): migbench run exit $status"
			show "$work/run.log"
			real=0
			break
		fi
		mkdir -p "$work/campaigns/$name/default"
		cp "$work/parts/$name-$i/default/1.json" "$work/campaigns/$name/default/$i.json"
	done
	i=$((i + 1))
done
A=$work/campaigns/a A2=$work/campaigns/a2 B=$work/campaigns/b
if [ $real -eq 1 ]; then
	ok "real runs: $runs x (A, A', B) interleaved"
else
	runs=4
	rm -rf "$work/campaigns" "$work/parts"
	mkdir -p "$work/campaigns" "$work/parts"
	cp -r "$fixtures/real-a1" "$A"
	cp -r "$fixtures/real-a2" "$A2"
	cp -r "$fixtures/real-b-64M" "$B"
	cp -r "$fixtures/real-a1" "$fixtures/real-b-64M" "$work/parts/"
fi

# ---- report ------------------------------------------------------------------
"$bin" report "$A" >"$work/report.out" 2>"$work/report.err"
status=$?
status_is "migbench report A exits 0" 0 || show "$work/report.err"
missing=
for f in report.md runs.csv summary.csv table.tex status.tex metrics.png metrics.pdf \
	metric-total-time-ms.png timeline-default.png timeline-default.pdf model.md model.csv model.png; do
	[ -s "$A/report/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then ok "report files in A/report"; else notok "report files in A/report: missing$missing"; fi
check "report prints the main table with $runs/$runs runs and CIs" \
	grep -Eq "^\\| default \\| precopy \\| $runs/$runs \\| [0-9.]+ \\[[0-9.]+, [0-9.]+\\]" "$work/report.out"
[ $real -eq 1 ] && show "$work/report.out"
check "runs.csv has one row per run" test "$(($(wc -l <"$A/report/runs.csv") - 1))" -eq $runs
check "table.tex is a booktabs table" grep -q 'toprule' "$A/report/table.tex"

"$bin" report -q "$work/parts" -o "$work/newest" >"$work/newest.out" 2>"$work/newest.err"
check "report of a folder of campaigns takes the newest" grep -q "using the newest campaign in .*: \(b-$runs\|real-b-64M\)" "$work/newest.err"
check "report -o writes elsewhere" test -s "$work/newest/report.md"

# ---- compare -------------------------------------------------------------------
# The exit status for "inconclusive", as `compare --help` gives it (from
# bench/command.h; analysis/compare.R must agree).
inconclusive=$("$bin" compare --help | sed -n 's/^ *\([0-9][0-9]*\) *inconclusive:.*/\1/p')
check "compare --help gives an exit status of its own for inconclusive" \
	test -n "$inconclusive" -a "$inconclusive" != 0 -a "$inconclusive" != 1

# A/A with 4 or 5 runs a side: the noisier metrics (downtime) may move by
# more than the threshold by chance, which compare must call inconclusive
# rather than pass; a regression would be a false alarm. At alpha 0.05 over
# the ~16 metrics judged, a false alarm is likely now and then (a fresh root
# once flagged QEMU's own downtime, 12 -> 14 ms, p = 0.043), so the A/A is
# judged at 0.01 as a CI gate would be (README, "CI regression gate"): 5
# runs a side still reach p = 0.0079 when the effect is real.
"$bin" compare "$A" "$A2" --alpha 0.01 --junit "$work/aa.xml" >"$work/aa.out" 2>"$work/aa.err"
status=$?
status_is "A/A (same setting twice): no regression, exit 0 (or $inconclusive: inconclusive)" "0 $inconclusive" \
	grep -Eq '(no regression|INCONCLUSIVE)' "$work/aa.out"
show "$work/aa.out"
check "A/A summary written to A2/report/compare-vs-a.md" test -s "$A2/report/compare-vs-a.md"
check "A/A JUnit report has test cases and no failure" \
	sh -c 'grep -q "<testcase " "$1" && ! grep -q "<failure" "$1"' sh "$work/aa.xml"

"$bin" compare "$A" "$B" -o "$work/ab.md" >"$work/ab.out" 2>"$work/ab.err"
status=$?
status_is "half bandwidth (128M -> 64M): REGRESSION, exit 1" 1 grep -q 'REGRESSION' "$work/ab.out"
show "$work/ab.out"
check "half bandwidth: total time flagged" grep -Eq '^\| Total time \(ms\) .*\*\*regression\*\*' "$work/ab.out"
check "half bandwidth: the differing setting is named" grep -q 'max_bandwidth 128 MiB/s → 64 MiB/s' "$work/ab.out"
check "compare -o writes the summary and a CSV" test -s "$work/ab.md" -a -s "$work/ab.csv"

# The same change seen in 3 runs a side (the main job's repetitions): no
# rank test can reach p < 0.05, so it is inconclusive, never a pass.
for c in a b; do
	mkdir -p "$work/three/$c/default"
	for k in 1 2 3; do cp "$work/campaigns/$c/default/$k.json" "$work/three/$c/default/"; done
done
"$bin" compare "$work/three/a" "$work/three/b" -o "$work/three.md" >"$work/three.out" 2>"$work/three.err"
status=$?
status_is "half bandwidth, 3 vs 3 runs: INCONCLUSIVE, exit $inconclusive" "$inconclusive" \
	grep -q 'INCONCLUSIVE.*3 vs 3 runs cannot reach p < 0.05' "$work/three.out"
show "$work/three.out"

# A candidate whose runs all failed never passes.
"$bin" compare "$fixtures/hand-a" "$fixtures/hand-failed" -o "$work/failed.md" >"$work/failed.out" 2>"$work/failed.err"
status=$?
status_is "candidate with every run failed: REGRESSION, exit 1" 1 \
	grep -q 'Runs completed .*regression.*no run of B completed' "$work/failed.out"

# ---- JUnit XML for CI systems ------------------------------------------------------
# On the checked-in campaigns, whatever this host can run, so that what is
# expected is fixed: real-a1 vs real-b-64M (half the bandwidth, 4 runs a
# side) regresses on total time; hand-a3 vs hand-double3 (3 a side) cannot
# be judged. Validated against analysis/tests/junit-ci.xsd (what both
# Jenkins' and Ant's JUnit schemas accept) and any schema in
# MIGBENCH_JUNIT_XSD (colon-separated: the real junit-10.xsd, say).
schemas=$here/../analysis/tests/junit-ci.xsd
[ -n "${MIGBENCH_JUNIT_XSD:-}" ] && schemas="$schemas:$MIGBENCH_JUNIT_XSD"
# xml_checks NAME FILE: the file validates against every schema, and the
# suite's counts are those of its elements
xml_checks() {
	name=$1 xml=$2
	if ! command -v xmllint >/dev/null 2>&1; then
		ok "$name: schema and counts # SKIP xmllint not found (libxml2-utils: sudo bash .ci/setup)"
		return
	fi
	bad=
	old_ifs=$IFS IFS=:
	for xsd in $schemas; do
		xmllint --noout --schema "$xsd" "$xml" >"$work/xmllint.out" 2>&1 ||
			{ bad="$bad invalid against $(basename "$xsd");"; show "$work/xmllint.out"; }
	done
	IFS=$old_ifs
	for c in tests:testcase failures:testcase/failure skipped:testcase/skipped; do
		attr=$(xmllint --xpath "string(/testsuite/@${c%%:*})" "$xml" 2>&1)
		count=$(xmllint --xpath "count(/testsuite/${c#*:})" "$xml" 2>&1)
		[ "$attr" = "$count" ] || bad="$bad ${c%%:*}=\"$attr\" but $count elements;"
	done
	if [ -z "$bad" ]; then ok "$name: valid JUnit, counts right"; else notok "$name:$bad"; fi
}
xpath_is() { # xpath_is NAME FILE EXPR WANT
	if ! command -v xmllint >/dev/null 2>&1; then
		ok "$1 # SKIP xmllint not found"
		return
	fi
	got=$(xmllint --xpath "$3" "$2" 2>&1)
	if [ "$got" = "$4" ]; then ok "$1"; else notok "$1 (got '$got', want '$4')"; fi
}

"$bin" compare -q "$fixtures/real-a1" "$fixtures/real-b-64M" -o "$work/junit-ab.md" \
	--junit "$work/junit-ab.xml" >"$work/junit.out" 2>"$work/junit.err"
status=$?
status_is "compare --junit, half bandwidth: exit 1, XML written" 1 test -s "$work/junit-ab.xml" ||
	show "$work/junit.err"
xml_checks "half bandwidth JUnit" "$work/junit-ab.xml"
xpath_is "half bandwidth JUnit: total time of scenario default is a failure" "$work/junit-ab.xml" \
	'count(/testsuite/testcase[@classname="default"][@name="total_time_ms"]/failure[@type="regression"])' 1
xpath_is "half bandwidth JUnit: the failure gives p and the CI" "$work/junit-ab.xml" \
	'boolean(/testsuite/testcase[@name="total_time_ms"]/failure[contains(@message, "p = 0.029") and contains(@message, "95 % CI")])' true
xpath_is "half bandwidth JUnit: the exit status is a property" "$work/junit-ab.xml" \
	'string(/testsuite/properties/property[@name="exit_status"]/@value)' 1

"$bin" compare -q "$fixtures/hand-a3" "$fixtures/hand-double3" -o "$work/junit-three.md" \
	--junit "$work/junit-three.xml" >"$work/junit.out" 2>"$work/junit.err"
status=$?
status_is "compare --junit, 3 vs 3 runs: exit $inconclusive, XML written" "$inconclusive" test -s "$work/junit-three.xml"
xml_checks "3 vs 3 JUnit" "$work/junit-three.xml"
xpath_is "3 vs 3 JUnit: total time skipped with the reason" "$work/junit-three.xml" \
	'boolean(/testsuite/testcase[@name="total_time_ms"]/skipped[contains(@message, "3 vs 3 runs cannot reach p")])' true
xpath_is "3 vs 3 JUnit: no failure" "$work/junit-three.xml" 'string(/testsuite/@failures)' 0

"$bin" compare -q "$fixtures/real-a1" "$fixtures/real-b-64M" -o "$work/junit-ab.md" \
	--junit "$work/nowhere/r.xml" >/dev/null 2>"$work/junit.err"
status=$?
status_is "compare --junit into a missing folder: exit 1, the file and why named" 1 \
	grep -q "cannot write the JUnit report '$work/nowhere/r.xml': folder '$work/nowhere' does not exist" "$work/junit.err" ||
	show "$work/junit.err"

# The gate's other options, through migbench's option table: rounds pooled
# per side, and only the metrics named (a misspelt one is refused).
mkdir -p "$work/pool/a" "$work/pool/b"
cp -r "$fixtures/real-a1" "$fixtures/real-a2" "$work/pool/a/"
cp -r "$fixtures/real-b-64M" "$work/pool/b/"
"$bin" compare -q --pool "$work/pool/a" "$work/pool/b" --metrics total_time_ms -o "$work/pool.md" \
	--junit "$work/pool.xml" >/dev/null 2>"$work/pool.err"
status=$?
status_is "compare --pool --metrics total_time_ms: 8 vs 4 runs, regression, exit 1" 1 \
	grep -q '^| Total time (ms) | 8/4 .*\*\*regression\*\*' "$work/pool.md" || show "$work/pool.err"
xpath_is "--metrics total_time_ms: run counts, total time and corrupted pages judged" "$work/pool.xml" \
	'count(/testsuite/testcase)' 3
"$bin" compare -q "$fixtures/real-a1" "$fixtures/real-b-64M" --metrics totl_time_ms -o "$work/typo.md" \
	>/dev/null 2>"$work/typo.err"
status=$?
status_is "compare --metrics with a misspelt name: exit 2, named" 2 grep -q "'totl_time_ms': no such metric" "$work/typo.err"

# ---- exit statuses ----------------------------------------------------------------
MIGBENCH_RSCRIPT=$work/no-such-Rscript "$bin" report "$A" >/dev/null 2>"$work/norscript.err"
status=$?
status_is "no Rscript: exit 3 with a clear message" 3 grep -q 'not found' "$work/norscript.err"
"$bin" report >/dev/null 2>&1
check "report without a folder: exit 2" test $? -eq 2
"$bin" compare "$A" >/dev/null 2>&1
check "compare with one campaign: exit 2" test $? -eq 2
"$bin" compare "$A" "$work/nowhere" >/dev/null 2>&1
check "compare with a missing campaign: exit 2" test $? -eq 2
"$bin" compare --threshold x "$A" "$B" >/dev/null 2>&1
check "compare --threshold x: exit 2" test $? -eq 2

# ---- many repeated options ----------------------------------------------------------
# A script that builds the command line in a loop may repeat an option many
# times: once that overflowed a fixed array in migbench (a segfault, exit
# 139). 200 of each option, separate and bundled (-qqq...), must reach R.
set --
qs=q
k=0
while [ $k -lt 200 ]; do
	set -- "$@" -q --quiet --threshold 0.05 -o "$work/many.md"
	qs=${qs}q
	k=$((k + 1))
done
"$bin" compare "$@" "-$qs" "$A" "$B" >"$work/many.out" 2>"$work/many.err"
status=$?
status_is "compare with 200 x each option: the usual verdict (exit 1), quiet, written to -o" 1 \
	test ! -s "$work/many.out" -a -n "$(grep 'REGRESSION' "$work/many.md")" || show "$work/many.err"
set --
k=0
while [ $k -lt 200 ]; do
	set -- "$@" -q --seed 1 --bootstrap 100 -o "$work/many-report"
	k=$((k + 1))
done
MIGBENCH_RSCRIPT=$work/no-such-Rscript "$bin" report "$@" "-$qs" "$A" >/dev/null 2>"$work/many.err"
status=$?
status_is "report with 200 x each option: parsed, then exit 3 for the missing Rscript" 3 \
	grep -q 'not found' "$work/many.err" || show "$work/many.err"

echo "1..$n"
[ $failed -eq 0 ]
