#!/usr/bin/env bash
# The QMP runner and the libvirt runner on the same migrations, side by side:
# rounds of `migbench run --runner qmp` and `--runner libvirt` alternate
# (qmp, libvirt, qmp, libvirt, ...) so that the host's drift and other load
# fall on both, then `migbench compare --pool` judges libvirt against qmp and
# a table sets each scenario's median downtime through both runners against
# the bound the libvirt issue asks for: 2 ms plus one heartbeat period.
#
#   bash bench/runners.sh [OUT_DIR [migbench run options...]]
#
# OUT_DIR (default results/runners-<date-time>) must not exist. Without
# --libvirt_src among the options, two libvirt hosts are started on this
# machine (tests/integration/libvirt-hosts.sh: each libvirtd in its own
# network and mount namespace, joined by veth links through a bridge,
# stopped at the end);
# with them, the libvirt runs go where you say, e.g.
#   bash bench/runners.sh out --libvirt_src=qemu+ssh://a/system \
#       --libvirt_dst=qemu+ssh://b/system --libvirt_migrate_uri=tcp://b \
#       --libvirt_migrate_uri_back=tcp://a
# ROUNDS (default 3) rounds per runner, each bench/scenarios/runners.ini's
# repetitions (2). Builds in $MIGBENCH_BUILD_DIR (default build/).
#
# Writes OUT_DIR/qmp/round-N, OUT_DIR/libvirt/round-N (campaigns),
# OUT_DIR/compare.md (migbench compare --pool qmp libvirt) and
# OUT_DIR/runners.md (the downtime table and the verdicts).
# Exit status: 0 when everything was made (differences are findings, in
# runners.md); 1 when something could not be made; 2 bad usage; 3 this
# host cannot (no libvirtd: the message names the package).
set -euo pipefail
trap 'echo "runners.sh: failed at line $LINENO (exit $?): $BASH_COMMAND" >&2' ERR

say() { echo "runners.sh: $*" >&2; }

cd "$(dirname "$0")/.."
top=$PWD
scenario=$top/bench/scenarios/runners.ini
build=${MIGBENCH_BUILD_DIR:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
rounds=${ROUNDS:-3}
case $rounds in '' | *[!0-9]* | 0) say "ROUNDS='$rounds': a whole number of rounds, at least 1"; exit 2 ;; esac

out=${1:-results/runners-$(date +%Y%m%d-%H%M%S)}
if [ $# -gt 0 ]; then shift; fi
case $out in -*) say "the first argument is the folder to create, not an option ('$out')"; exit 2 ;; esac
case $out in /*) ;; *) out=$top/$out ;; esac
if [ -e "$out" ]; then
	say "$out exists already: move it away or name another folder"
	exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
	say "needs root: the libvirt hosts get network and mount namespaces; run it with sudo"
	exit 3
fi

echo "== build (in $build)"
bash bench/build.sh "$build"
export MIGBENCH_AGENT=$build/workloads/migbench-agent
migbench=$build/migbench
# (not `| grep -q`: under pipefail, migbench's SIGPIPE would fail the test)
runners=$("$migbench" run --help | sed -n 's/.*available: \(.*\))$/\1/p')
if [[ " $runners " != *" libvirt "* ]]; then
	say "this migbench has no libvirt runner: configure found no libvirt (install libvirt-dev, then rebuild)"
	exit 3
fi

virt_opts=()
state=
cleanup() {
	if [ -n "$state" ]; then
		bash tests/integration/libvirt-hosts.sh stop "$state" || say "stopping the libvirt hosts in $state failed"
		rm -rf "$state"
	fi
}
trap cleanup EXIT
if [[ " $* " != *" --libvirt_src="* && " $* " != *" --libvirt-src="* ]]; then
	echo "== two libvirt hosts on this machine (tests/integration/libvirt-hosts.sh)"
	state=$(mktemp -d "${TMPDIR:-/tmp}/mbrunners-XXXXXX")
	rc=0
	bash tests/integration/libvirt-hosts.sh start "$state" || rc=$?
	if [ "$rc" -ne 0 ]; then
		[ "$rc" -eq 77 ] && exit 3
		exit 1
	fi
	# shellcheck disable=SC1091
	. "$state/env"
	virt_opts=(--libvirt_src="$MB_VIRT_A_URI" --libvirt_dst="$MB_VIRT_B_URI"
		--libvirt_migrate_uri="tcp://$MB_VIRT_B_ADDR" --libvirt_migrate_uri_back="tcp://$MB_VIRT_A_ADDR")
fi

mkdir -p "$out/qmp" "$out/libvirt"
start=$(date +%s)
for i in $(seq 1 "$rounds"); do
	for runner in qmp libvirt; do
		echo "== round $i of $rounds: --runner $runner"
		opts=("$@")
		[ "$runner" = libvirt ] && opts+=("${virt_opts[@]}")
		rc=0
		"$migbench" run "$scenario" --runner "$runner" -q -o "$out/$runner" -n "round-$i" "${opts[@]}" || rc=$?
		# 1: a run failed: a finding, kept in the campaign
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
			say "migbench run --runner $runner stopped with exit $rc"
			exit "$rc"
		fi
	done
done
end=$(date +%s)

echo "== migbench compare --pool qmp libvirt"
cs=0
"$migbench" compare --pool "$out/qmp" "$out/libvirt" -q -o "$out/compare.md" || cs=$?
case $cs in 0 | 1 | 4) ;; *) say "migbench compare made no verdict (exit $cs)"; exit 1 ;; esac

echo "== downtime through both runners"
table=$(Rscript --vanilla - "$out" <<'EOF'
args <- commandArgs(trailingOnly = TRUE)
suppressMessages(library(jsonlite))
num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)
# The destination's resume lag: from the destination's own "ready" event
# (MIGRATION completed in pre-copy, postcopy-active after a switch) to its
# RESUME. QEMU resumes at once when it runs without -S (the qmp runner);
# libvirt starts the destination paused and sends `cont` when it has seen
# that event, so its lag is the daemon's reaction time.
resume_lag <- function(ev) {
	t <- function(e) num(e$qemu_us)
	res <- Filter(function(e) e$side == "destination" && e$event == "RESUME", ev)
	if (!length(res)) return(NA_real_)
	r <- t(res[[1]])
	ready <- Filter(function(e) e$side == "destination" && e$event == "MIGRATION" &&
	                !is.null(e$data$status) && e$data$status %in% c("completed", "postcopy-active"), ev)
	if (!length(ready)) return(NA_real_)
	before <- Filter(function(e) t(e) <= r, ready)
	# A QEMU without -S resumes before it reports completed: no lag.
	if (!length(before)) return(0)
	(r - max(sapply(before, t))) / 1000
}
runs <- function(runner) {
	files <- list.files(file.path(args[1], runner), pattern = "^[0-9]+\\.json$", recursive = TRUE, full.names = TRUE)
	do.call(rbind, lapply(files, function(f) {
		d <- fromJSON(f, simplifyVector = FALSE)
		m <- d$metrics
		data.frame(runner = runner, scenario = d$scenario$name, status = d$run$status,
		           downtime = num(m$downtime_ms), guest = num(m$guest_downtime_ms),
		           lag = resume_lag(d$events),
		           period_ms = num(d$scenario$heartbeat_period),
		           libvirt_downtime = num(d$libvirt_reported$downtime))
	}))
}
r <- rbind(runs("qmp"), runs("libvirt"))
r <- r[r$status == "completed", ]
cat("| scenario | runs qmp/libvirt | downtime qmp (ms) | downtime libvirt (ms) | difference (ms) | bound (ms) | within | resume lag qmp / libvirt (ms) | downtime - lag: difference (ms) | within | guest gap qmp / libvirt (ms) | libvirt's own downtime (ms) |\n")
cat("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- | ---: | ---: |\n")
for (s in unique(r$scenario)) {
	q <- r[r$scenario == s & r$runner == "qmp", ]
	l <- r[r$scenario == s & r$runner == "libvirt", ]
	if (!nrow(q) || !nrow(l)) next
	d <- median(l$downtime) - median(q$downtime)
	d2 <- median(l$downtime - l$lag, na.rm = TRUE) - median(q$downtime - q$lag, na.rm = TRUE)
	period <- if (all(is.na(q$period_ms))) 1 else median(q$period_ms, na.rm = TRUE)
	bound <- 2 + period
	yes <- function(x) if (!is.na(x) && abs(x) <= bound) "yes" else "**no**"
	cat(sprintf("| %s | %d/%d | %.2f | %.2f | %+.2f | %.1f | %s | %.2f / %.2f | %+.2f | %s | %.1f / %.1f | %.1f |\n", s, nrow(q), nrow(l),
	            median(q$downtime), median(l$downtime), d, bound, yes(d),
	            median(q$lag, na.rm = TRUE), median(l$lag, na.rm = TRUE), d2, yes(d2),
	            median(q$guest, na.rm = TRUE), median(l$guest, na.rm = TRUE), median(l$libvirt_downtime, na.rm = TRUE)))
}
EOF
)
{
	echo "# The QMP runner and the libvirt runner on the same migrations"
	echo
	echo "Made by \`bash bench/runners.sh\` from \`bench/scenarios/runners.ini\`${*:+ with \`$*\`}:"
	echo "$rounds rounds per runner, alternating (qmp, libvirt, ...), $(( (end - start) / 60 )) min $(( (end - start) % 60 )) s."
	echo "Medians over completed runs. Downtime is source STOP -> destination RESUME"
	echo "from QEMU's own event timestamps in both runners; the bound is 2 ms plus one"
	echo "heartbeat period. The resume lag is the destination's RESUME minus its own"
	echo "'ready' event (MIGRATION completed, or postcopy-active after a switch): QEMU"
	echo "resumes by itself under the qmp runner, while libvirt starts the destination"
	echo "paused (-S) and sends 'cont' once it has seen that event, so under libvirt the"
	echo "lag is the daemon's reaction time, and it is part of the guest's real downtime."
	echo "'downtime - lag' is the part both runners leave to QEMU alone. libvirt's own"
	echo "downtime (its job statistics) is shown beside."
	echo
	echo "$table"
	echo
	echo "migbench compare --pool qmp libvirt: exit $cs (0 no regression, 1 regression, 4 inconclusive);"
	echo "the full table is [compare.md](compare.md)."
	echo
	sed -n 's/^Verdict: /Verdict: /p' "$out/compare.md" | head -n 1
} >"$out/runners.md"
cat "$out/runners.md"
