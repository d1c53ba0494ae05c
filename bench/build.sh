#!/usr/bin/env bash
# Builds migbench in BUILD_DIR (default build/) when needed, for the jobs
# that start from a checkout (bench/main-job.sh, bench/versions.sh):
# regenerates configure when it is missing or older than its sources (it is
# generated, not versioned), configures BUILD_DIR once, then make -j2, which
# does nothing when the build is up to date.
#
#   bash bench/build.sh [BUILD_DIR]
set -euo pipefail
# No silent exits: a failing step names its line, command and status.
trap 'echo "build.sh: failed at line $LINENO (exit $?): $BASH_COMMAND" >&2' ERR

cd "$(dirname "$0")/.."
top=$PWD
build=${1:-build}
case $build in /*) ;; *) build=$top/$build ;; esac

if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	./autogen.sh
fi
mkdir -p "$build"
if [ ! -f "$build/Makefile" ]; then
	(cd "$build" && "$top/configure")
fi
make -C "$build" -j2
