#!/usr/bin/env bash
# The instrument's own performance (issue 13): QEMU's guestperf and migbench
# on the same scenarios, side by side.
#
#   bash bench/self-guestperf.sh [OUT_DIR]      (default self-guestperf-<date>)
#
# 1. Gets guestperf at run time, never into the repo: the source of the
#    QEMU package that provides the host's qemu-system-x86_64 (`apt-get
#    source --download-only qemu=VERSION`, through a private apt sources
#    list with deb-src lines made from the host's Debian entries and private
#    package lists), cached under ~/.cache/migbench/guestperf/VERSION/ so a
#    second run downloads nothing. Only tests/migration-stress/ (older trees:
#    tests/migration/) and python/qemu/ (its QEMUMachine) are unpacked.
# 2. Adapts a private copy in OUT_DIR/guestperf/src to this host
#    (bench/self-guestperf.py patch: `-accel tcg`, no `-cpu host`, stress.c
#    against glib instead of QEMU's osdep.h, guest RAM and stress's working
#    set in MiB), builds stress.c static against glib (as QEMU's meson does)
#    and its initrd with guestperf's own initrd-stress.sh (stress as /init),
#    and boots migbench's guest kernel (`migbench image`).
# 3. Runs both on the main job's scenarios (bench/scenarios/main.ini: 256
#    MiB guest, 1 vCPU, 64 MiB working set, 128 MiB/s, 300 ms downtime
#    limit; pre-copy, post-copy, hybrid after one pass) with the workload as
#    close as the two allow: guestperf's stress rewrites 64 MiB as fast as it
#    can, migbench runs bench/scenarios/self/guestperf.ini (rate=0, the same
#    64 MiB, sequential). guestperf post-copy and hybrid both switch at
#    dirty-sync-count 2 (--post-copy-iters 2), where migbench's postcopy and
#    hybrid_passes=1 switch. Both give up after 30 passes and 2 min. REPS
#    (default 3) repetitions each: guestperf's first round (3 runs), then
#    migbench's whole campaign (3 x REPS runs, one command, as a user runs
#    it), then guestperf's other rounds, so the two share the host's load.
#    Each tool's wall time is measured around its own runs.
# 4. bench/self-guestperf.py table prints runs per hour of each, the
#    resolution of each downtime figure, their ratios against issue 13's
#    targets (>= 10x runs per hour, >= 100x finer guest-side downtime
#    resolution) with PASS/MISS, and what each measures that the other does
#    not; OUT_DIR/self-guestperf.md holds the same. Raw outputs: OUT_DIR/
#    guestperf/runs/ (each run's JSON report, stdout, stderr) and OUT_DIR/
#    migbench/campaign/; OUT_DIR/runs.tsv lists every run with its wall time
#    and the load average at its start.
#
# Set-up as the other bench jobs (bench/prepare.sh: root, .ci/setup, build
# in $MIGBENCH_BUILD_DIR, default build/, doctor, image); installs
# libglib2.0-dev when missing (stress.c). About 7 minutes here with REPS=3.
# Needs python3, gcc, cpio, gzip and network access to the Debian archive on
# the first run.
#
# Exit status: 0 when both tools ran and the table was made (whatever the
# verdicts); 1 when not (guestperf could not be obtained or built, no run of
# a tool gave output); 2 bad command line; 3 this host cannot run it.
set -euo pipefail
trap 'echo "self-guestperf.sh: failed at line $LINENO (exit $?): $BASH_COMMAND" >&2' ERR

say() { echo "self-guestperf.sh: $*" >&2; }

caller=$PWD
cd "$(dirname "$0")/.."
top=$PWD
. bench/prepare.sh
mb_build_dir
reps=${REPS:-3}
usage="usage: bash bench/self-guestperf.sh [OUT_DIR]"

if [ $# -gt 1 ]; then
	say "one argument at most (the folder to write); $usage"
	exit 2
fi
out=${1:-self-guestperf-$(date +%Y%m%d-%H%M%S)}
case $out in -*)
	say "the argument is the folder to write, not an option ('$out'); $usage"
	exit 2 ;;
esac
case $reps in ''|*[!0-9]*|0)
	say "REPS must be a whole number >= 1, not '$reps'"
	exit 2 ;;
esac
for tool in python3 gcc cpio gzip tar; do
	command -v "$tool" >/dev/null || { say "$tool is not installed (Debian: apt-get install $tool)"; exit 3; }
done
case $out in /*) ;; *) out=$caller/$out ;; esac # relative to where it was started
mkdir -p "$out"
out=$(cd "$out" && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/migbench/guestperf
qemu=/usr/bin/qemu-system-x86_64
# the main job's scenario, in guestperf's units (MiB, MiB/s, ms)
mem_mib=256 wss_mib=64 bandwidth_mib=128 downtime_ms=300 max_iters=30 max_time_s=120

mb_prepare "$build" "it installs what is missing (.ci/setup) and boots guests"
kernel=$("$migbench" image | sed -n 's/^kernel: *//p')
[ -r "$kernel" ] || { say "migbench image named no readable kernel ('$kernel')"; exit 1; }
[ -x "$qemu" ] || { say "$qemu is not installed: guestperf runs the host's QEMU"; exit 3; }

# ---- 1. guestperf's source, cached per QEMU package version
pkg=$(dpkg-query -S "$qemu" 2>/dev/null | cut -d: -f1) || true
ver=$(dpkg-query -W -f='${source:Version}' "${pkg:-qemu-system-x86}" 2>/dev/null) || true
if [ -z "$ver" ]; then
	say "cannot tell which Debian package provides $qemu (dpkg-query -S): guestperf is taken from that package's source"
	exit 1
fi
src=$cache/$ver/src
if [ ! -f "$src/.complete" ]; then
	say "getting QEMU $ver's source (apt-get source qemu=$ver) into $cache/$ver"
	apt=$out/apt
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$cache/$ver/dl"
	python3 bench/self-guestperf.py sources "$apt/sources.list" >/dev/null
	aopt=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
	      -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache")
	# apt-get update exits 0 when a fetch failed: the Sources lists tell
	if ! apt-get "${aopt[@]}" update >"$apt/update.log" 2>&1 ||
	   ! ls "$apt/lists/"*_Sources* >/dev/null 2>&1; then
		say "apt-get update got no deb-src list from $(cut -d' ' -f3 "$apt/sources.list" | sort -u | tr '\n' ' ')(no Debian archive reachable?): $(grep -E '^(E|W|Err):' "$apt/update.log" | head -2 | tr '\n' ' ')"
		say "guestperf could not be obtained: no figure of guestperf is made"
		exit 1
	fi
	# The .dsc and Debian's diff may be gone from the archive while the
	# upstream tarball is still there; the tarball is all guestperf needs.
	(cd "$cache/$ver/dl" && apt-get "${aopt[@]}" source --download-only "qemu=$ver") >"$apt/source.log" 2>&1 ||
		say "apt-get source qemu=$ver did not get every file: $(grep -E '^(E|W):' "$apt/source.log" | head -3 | tr '\n' ' ')"
	orig=$(ls "$cache/$ver/dl"/qemu_*.orig.tar.* 2>/dev/null | head -1) || true
	if [ -z "$orig" ]; then
		say "QEMU $ver's upstream tarball is not in the archive (apt-get source log: $apt/source.log)"
		say "guestperf could not be obtained: no figure of guestperf is made"
		exit 1
	fi
	rm -rf "$src" && mkdir -p "$src"
	tar -tf "$orig" | grep -E '^[^/]+/(tests/migration(-stress)?|python/qemu)/.*[^/]$' >"$cache/$ver/members" || true
	if [ ! -s "$cache/$ver/members" ] ||
	   ! tar -xf "$orig" -C "$src" --strip-components=1 -T "$cache/$ver/members"; then
		say "unpacking guestperf (tests/migration-stress or tests/migration, python/qemu) from $orig failed"
		exit 1
	fi
	touch "$src/.complete"
fi
gpdir=
for d in "$src/tests/migration-stress" "$src/tests/migration"; do
	[ -f "$d/guestperf.py" ] && [ -f "$d/stress.c" ] && { gpdir=$d; break; }
done
if [ -z "$gpdir" ]; then
	say "no guestperf.py and stress.c in QEMU $ver's source ($src/tests/migration-stress or tests/migration)"
	exit 1
fi
debian_diff=$(ls "$cache/$ver/dl"/qemu_*.debian.tar.* 2>/dev/null | head -1 || true)
if [ -n "$debian_diff" ]; then
	if tar -tf "$debian_diff" | grep -q 'patches/' &&
	   tar -xOf "$debian_diff" --wildcards '*/patches/*' 2>/dev/null | grep -qE '^\+\+\+ .*tests/migration'; then
		debian_note="Debian's patches touch tests/migration*: not applied here (upstream files)"
	else
		debian_note="Debian's patches do not touch guestperf"
	fi
else
	debian_note="Debian's diff not in the archive any more: upstream files (Debian's patches not checked)"
fi

# ---- 2. private TCG copy, stress and its initrd
work=$out/guestperf
rm -rf "$work/src" && mkdir -p "$work/src" "$work/runs"
cp -r "$src/." "$work/src/"
rel=${gpdir#"$src"/}
gp=$work/src/$rel
python3 bench/self-guestperf.py patch "$gp" >"$work/patch.log"
if ! pkg-config --exists glib-2.0 || [ ! -f "$(pkg-config --variable=libdir glib-2.0)/libglib-2.0.a" ]; then
	say "installing libglib2.0-dev (stress.c is built static against glib)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q libglib2.0-dev >"$work/apt-install.log" 2>&1 ||
		{ say "apt-get install libglib2.0-dev failed: $(tail -2 "$work/apt-install.log" | tr '\n' ' ')"; exit 1; }
fi
# shellcheck disable=SC2046 # pkg-config's flags are words
gcc -O2 -static -D_GNU_SOURCE -DCONFIG_GETTID -o "$gp/stress" "$gp/stress.c" \
	$(pkg-config --cflags glib-2.0) $(pkg-config --static --libs glib-2.0) 2>"$work/stress-build.log" ||
	{ say "building guestperf's stress.c failed: $(grep -m3 error "$work/stress-build.log" | tr '\n' ' ')"; exit 1; }
initrd=$work/initrd-stress.img
sh "$gp/initrd-stress.sh" "$initrd" "$gp/stress"

# ---- 3. the runs
load() { cut -d' ' -f1 </proc/loadavg; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
printf 'tool\tmode\trep\truns\twall_s\tstatus\tload\toutput\terror\n' >"$out/runs.tsv"
gp_pid=
cleanup_gp() {
	# guestperf's QEMUs run in its own session: nothing of it outlives it
	if [ -n "$gp_pid" ]; then
		kill -KILL -- "-$gp_pid" 2>/dev/null || true
		rm -f /var/tmp/qemu-src-"$gp_pid"-monitor.sock /var/tmp/qemu-dst-"$gp_pid"-monitor.sock \
			/var/tmp/qemu-migrate-"$gp_pid".migrate
		gp_pid=
	fi
}
trap 'cleanup_gp' EXIT
trap 'cleanup_gp; exit 130' INT TERM

gp_run() { # MODE REP
	local mode=$1 rep=$2 name=$1-$2 t0 t1 l status=0 err=
	local args=(--binary "$qemu" --kernel "$kernel" --initrd "$initrd" --cpus 1 --mem 1
		--bandwidth "$bandwidth_mib" --downtime "$downtime_ms" --max-iters "$max_iters"
		--max-time "$max_time_s" --output "$work/runs/$name.json")
	case $mode in
		postcopy|hybrid) args+=(--post-copy --post-copy-iters 2) ;;
	esac
	l=$(load)
	say "guestperf $mode, repetition $rep"
	rm -f "$work/runs/$name.json"
	t0=$(now)
	(cd "$gp" && GUESTPERF_MEM_MIB=$mem_mib GUESTPERF_WSS_MIB=$wss_mib \
		exec setsid python3 guestperf.py "${args[@]}" >"$work/runs/$name.stdout" 2>"$work/runs/$name.stderr") &
	gp_pid=$!
	wait "$gp_pid" || status=$?
	t1=$(now)
	cleanup_gp
	if [ "$status" -ne 0 ] || [ ! -s "$work/runs/$name.json" ]; then
		err=$(grep -m1 '^Error' "$work/runs/$name.stderr" || tail -1 "$work/runs/$name.stderr")
		say "guestperf $mode $rep: exit $status, no report: $err"
	fi
	printf 'guestperf\t%s\t%s\t1\t%s\t%s\t%s\tguestperf/runs/%s.json\t%s\n' "$mode" "$rep" \
		"$(secs "$t0" "$t1")" "$status" "$l" "$name" "${err//$'\t'/ }" >>"$out/runs.tsv"
}

mb_campaign() {
	local t0 t1 l status=0 n
	l=$(load)
	say "migbench campaign (bench/scenarios/self/guestperf.ini, 3 scenarios x $reps repetitions)"
	rm -rf "$out/migbench/campaign"
	mkdir -p "$out/migbench"
	t0=$(now)
	"$migbench" run -q -o "$out/migbench" -n campaign --repetitions="$reps" \
		bench/scenarios/self/guestperf.ini >"$out/migbench/stdout" 2>"$out/migbench/stderr" || status=$?
	t1=$(now)
	# exit 1 = a run did not complete (pre-copy that does not converge is one)
	n=$(find "$out/migbench/campaign" -mindepth 2 -name '[0-9]*.json' 2>/dev/null | wc -l)
	[ "$status" -eq 0 ] || say "migbench run exited $status ($n results; its summary: $out/migbench/stdout)"
	printf 'migbench\tall\t1-%s\t%s\t%s\t%s\t%s\tmigbench/campaign\t\n' "$reps" "$n" \
		"$(secs "$t0" "$t1")" "$status" "$l" >>"$out/runs.tsv"
}

{
	echo "date:       $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "host:       $(nproc) cores, $(uname -r), accel tcg; load average at start $(cut -d' ' -f1-3 </proc/loadavg)"
	echo "qemu:       $($qemu --version | head -1)"
	echo "guestperf:  QEMU $ver source (${rel}), private TCG copy; $debian_note"
	echo "kernel:     $kernel"
	echo "scenario:   ${mem_mib} MiB guest, 1 vCPU, ${wss_mib} MiB rewritten unpaced, ${bandwidth_mib} MiB/s, ${downtime_ms} ms limit, give up after ${max_iters} passes / ${max_time_s} s"
	echo "guestperf:  guestperf.py --cpus 1 --bandwidth $bandwidth_mib --downtime $downtime_ms --max-iters $max_iters --max-time $max_time_s [--post-copy --post-copy-iters 2], GUESTPERF_MEM_MIB=$mem_mib GUESTPERF_WSS_MIB=$wss_mib, its default --sleep 15"
	echo "migbench:   migbench run --repetitions=$reps bench/scenarios/self/guestperf.ini (rate=0 wss=64M sequential, max_passes=30, timeout=2min; defaults baseline 2s, settle 2s, heartbeat 1ms)"
	echo "order:      guestperf round 1 (precopy, postcopy, hybrid), migbench's campaign$([ "$reps" -eq 1 ] || echo ", guestperf rounds 2-$reps")"
} >"$out/meta.txt"

for rep in $(seq 1 "$reps"); do
	for mode in precopy postcopy hybrid; do
		gp_run "$mode" "$rep"
	done
	[ "$rep" -ne 1 ] || mb_campaign
done
echo "load:       load average at end $(cut -d' ' -f1-3 </proc/loadavg)" >>"$out/meta.txt"

if ! ls "$work"/runs/*.json >/dev/null 2>&1; then
	say "no guestperf run gave a report (their stderr: $work/runs/*.stderr): no figure of guestperf is made"
	exit 1
fi
python3 bench/self-guestperf.py table "$out"
say "table: $out/self-guestperf.md"
