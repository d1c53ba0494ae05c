#!/usr/bin/env bash
# The house's layers, checked on the sources: each file includes only files
# of its own layer or below, and no header includes itself through others.
#
#   4 commands      bench/cmd_*.c, commands.c, command.h, main.c
#   3 run loop      the rest of bench/ (run_loop, migration, result, ...)
#   2 plug-ins      runners/, probes/ (and bench/remote_probes: probes of
#                   other hosts)
#   1 guest         workloads/ (the agent, the image builder)
#   0 base          bench/{error,clock,units,ini,atomic_file,owner,host,
#                   scenario,scenario_keys,metrics,metric_catalog,qemu_releases,
#                   exit},
#                   workloads/proto, svc_proto
#
# TAP output; exit 1 on a violation, naming the file, the include and both
# layers.
set -euo pipefail
cd "${srcdir:-$(dirname "$0")/..}"

layer_of() {
	local f=$1 base
	base=${f##*/}
	base=${base%.*}
	case $f in
	bench/cmd_* | bench/commands.c | bench/command.h | bench/main.c) echo 4 ;;
	bench/error.* | bench/clock.h | bench/units.* | bench/ini.* | bench/atomic_file.* | bench/owner.* | \
		bench/host.[ch] | bench/scenario.* | bench/scenario_keys.c | bench/metrics.* | bench/metric_catalog.* | bench/qemu_releases.* | \
		bench/exit.h) echo 0 ;;
	bench/remote_probes.*) echo 2 ;;
	bench/*) echo 3 ;;
	runners/* | probes/*) echo 2 ;;
	workloads/proto.* | workloads/svc_proto.h | workloads/workload_list.h) echo 0 ;;
	workloads/*) echo 1 ;;
	*) echo "" ;;
	esac
}

echo "1..2"
mapfile -t files < <(git ls-files 'bench/*.[ch]' 'runners/*.[ch]' 'probes/*.[ch]' 'workloads/*.[ch]' 2>/dev/null ||
	find bench runners probes workloads -name '*.[ch]')
n=0
bad=0
declare -A edges
for f in "${files[@]}"; do
	[ -f "$f" ] || continue
	lf=$(layer_of "$f")
	[ -n "$lf" ] || continue
	while read -r inc; do
		[ -f "$inc" ] || continue
		li=$(layer_of "$inc")
		[ -n "$li" ] || continue
		case $f in *.h) edges[$f]+=" $inc" ;; esac
		if [ "$li" -gt "$lf" ]; then
			echo "# $f (layer $lf) includes $inc (layer $li): a lower layer must not include a higher one"
			bad=$((bad + 1))
		fi
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done
n=$((n + 1))
if [ "$bad" -eq 0 ]; then
	echo "ok $n - every include goes to the same layer or below (${#files[@]} files)"
else
	echo "not ok $n - $bad includes go up a layer"
fi

# Header cycles: depth-first search over header -> header edges.
declare -A state
cycle=""
visit() {
	local h=$1 next
	state[$h]=1
	for next in ${edges[$h]:-}; do
		[[ $next == *.h ]] || continue
		if [ "${state[$next]:-0}" = 1 ]; then
			cycle="$h -> $next"
			return 1
		fi
		if [ "${state[$next]:-0}" = 0 ]; then
			visit "$next" || return 1
		fi
	done
	state[$h]=2
}
n=$((n + 1))
ok=1
for h in "${!edges[@]}"; do
	if [ "${state[$h]:-0}" = 0 ] && ! visit "$h"; then
		ok=0
		break
	fi
done
if [ "$ok" = 1 ]; then
	echo "ok $n - no header includes itself through others"
else
	echo "# include cycle through $cycle"
	echo "not ok $n - headers include each other in a circle"
fi

[ "$bad" -eq 0 ] && [ "$ok" = 1 ]
