# Sourced by the bench jobs that run campaigns from a checkout
# (bench/versions.sh, bench/reference.sh, bench/self-*.sh, ...): the set-up
# and the command-line handling they share. Sourcing only defines functions.
#
#   . bench/prepare.sh
#   mb_build_dir                      # $build
#   mb_one_out_dir DEFAULT "$@"       # $out (the self-* jobs' one argument)
#   mb_prepare BUILD_DIR "why root is needed"
#
# Needs root (says why, exit 3), installs what is missing (.ci/setup), builds
# in BUILD_DIR (bench/build.sh), exports MIGBENCH_AGENT, sets $migbench to the
# built binary, stops with migbench doctor's status when this host cannot
# run migrations, and builds the guest image. Run from the top of the tree.
mb_prepare() {
	local build=$1 why=$2 status=0
	echo "== set-up (.ci/setup)"
	if [ "$(id -u)" -ne 0 ]; then
		echo "${0##*/}: needs root: $why; run it with sudo" >&2
		exit 3
	fi
	bash .ci/setup
	echo "== build (in $build)"
	bash bench/build.sh "$build"
	export MIGBENCH_AGENT=$build/workloads/migbench-agent
	migbench=$build/migbench
	"$migbench" doctor >/dev/null || status=$?
	if [ "$status" -ne 0 ]; then
		echo "${0##*/}: migbench cannot run on this host (migbench doctor exit $status; run it for the reason)" >&2
		exit "$status"
	fi
	"$migbench" image
}

# $build: $MIGBENCH_BUILD_DIR (default build/) as an absolute path. Run from
# the top of the tree.
mb_build_dir() {
	build=${MIGBENCH_BUILD_DIR:-build}
	case $build in /*) ;; *) build=$PWD/$build ;; esac
}

# $out: a job's only argument, the folder to write (DEFAULT without one), as
# an absolute path from the top of the tree; a second argument or an option
# is a usage error (exit 2).
mb_one_out_dir() {
	local default=$1 usage="usage: bash bench/${0##*/} [OUT_DIR]"
	shift
	if [ $# -gt 1 ]; then
		echo "${0##*/}: one argument at most (the folder to write); $usage" >&2
		exit 2
	fi
	out=${1:-$default}
	case $out in -*)
		echo "${0##*/}: the argument is the folder to write, not an option ('$out'); $usage" >&2
		exit 2 ;;
	esac
	case $out in /*) ;; *) out=$PWD/$out ;; esac
}
