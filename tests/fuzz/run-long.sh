#!/usr/bin/env bash
# Runs every fuzz target long, one after another (in parallel they would only
# share the same cores), and ends with one line per target.
#
#   bash tests/fuzz/run-long.sh [SECONDS] [BUILD_DIR]
#
# SECONDS per target, default 600. BUILD_DIR, default build-fuzz/ in the
# source tree, is configured with --enable-fuzzing when it has no Makefile
# yet; the targets are (re)built first. Each target keeps what it learns in
# BUILD_DIR/tests/fuzz/NAME.work/corpus/ from one run to the next; inputs
# that crash go to NAME.work/artifacts/ (see tests/fuzz/fuzz-test).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-600}
build=${2:-$top/build-fuzz}
case $seconds in
'' | *[!0-9]* | 0) echo "run-long.sh: SECONDS must be a whole number above 0, not '$seconds'" >&2; exit 2 ;;
esac

if [ ! -f "$build/Makefile" ]; then
	echo "run-long.sh: configuring $build with --enable-fuzzing"
	mkdir -p "$build"
	(cd "$build" && "$top/configure" --enable-fuzzing >configure.out) || {
		echo "run-long.sh: configure --enable-fuzzing failed in $build ($build/config.log says why)" >&2
		exit 1
	}
fi
if ! grep -q '^FUZZ_LDFLAGS = -fsanitize=fuzzer' "$build/Makefile"; then
	echo "run-long.sh: $build is not configured with --enable-fuzzing; give another BUILD_DIR" >&2
	exit 1
fi

# A target is a folder of seeds: tests/fuzz/fuzz-test insists on one.
targets=()
for d in "$top"/tests/fuzz/corpus/*/; do
	targets+=("tests/fuzz/$(basename "$d").fuzz")
done
make -C "$build" -j2 "${targets[@]}" >/dev/null || {
	echo "run-long.sh: building ${targets[*]} in $build failed" >&2
	exit 1
}

results=()
failed=0
for t in "${targets[@]}"; do
	echo "run-long.sh: $t for $seconds s"
	out=$(MB_FUZZ_SECONDS=$seconds sh "$top/tests/fuzz/fuzz-test" "$build/$t") || true
	printf '%s\n' "$out"
	line=$(grep -E '^(not )?ok ' <<<"$out") || true
	[[ $line == ok* ]] || failed=$((failed + 1))
	results+=("${line:-not ok - $t: no result}")
done
echo
printf '%s\n' "${results[@]}"
[ "$failed" -eq 0 ] || { echo "run-long.sh: $failed of ${#targets[@]} targets found something" >&2; exit 1; }
