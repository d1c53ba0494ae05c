# Sourced by the bench jobs that run campaigns from a checkout
# (bench/versions.sh, bench/reference.sh): the set-up they share.
#
#   . bench/prepare.sh
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
