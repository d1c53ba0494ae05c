#!/usr/bin/env bash
# migbench's own memory over one long run (issue 14): one small guest
# (256 MiB, dirtying 8 MiB/s) sending heartbeats every 1 ms, held in its
# baseline for DURATION before one pre-copy migration, while this script
# reads migbench's VmRSS and VmHWM (/proc/PID/status) every INTERVAL.
#
#   bench/long-run.sh [-d DURATION_S] [-i INTERVAL_S] [-o OUTDIR] [-b MIGBENCH]
#                     [-c OLD_MIGBENCH]
#
#   -d  the baseline's length in seconds (default 3600: one hour)
#   -i  seconds between two readings (default 10)
#   -o  where the campaign(s) and the readings go (default /tmp/migbench-long-run)
#   -b  the migbench to measure (default: ./migbench, else migbench on PATH)
#   -c  another migbench (e.g. one built before the heartbeat spool) run
#       side by side with the same scenario: both series, and each one's
#       RSS growth per minute over the baseline, as a ratio
#
# Prints "t_s<TAB>label<TAB>vmrss_kib<TAB>vmhwm_kib" lines as it goes (also
# in OUTDIR/rss.tsv), then per migbench: the growth of VmRSS per minute
# (least squares over the baseline's readings), the peak (VmHWM) and what
# the result says of itself (self.peak_rss_kib, heartbeats, side file).
# Exit status: the measured migbench's.
set -euo pipefail

duration=3600 interval=10 out=/tmp/migbench-long-run bin= old=
while getopts "d:i:o:b:c:h" opt; do
	case $opt in
	d) duration=$OPTARG ;;
	i) interval=$OPTARG ;;
	o) out=$OPTARG ;;
	b) bin=$OPTARG ;;
	c) old=$OPTARG ;;
	*) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done
if [ -z "$bin" ]; then
	if [ -x ./migbench ]; then bin=./migbench; else bin=$(command -v migbench || true); fi
fi
for b in "$bin" ${old:+"$old"}; do
	[ -x "$b" ] || { echo "long-run: no executable migbench at '$b' (-b, -c)" >&2; exit 2; }
done
case $duration$interval in *[!0-9]*) echo "long-run: -d and -i take whole seconds" >&2; exit 2 ;; esac
mkdir -p "$out"
stamp=$(date -u +%Y%m%d-%H%M%S)

# (Not GNU time's maximum RSS: a process's includes its waited children's,
# here the QEMUs.)
labels=() pids=()
start_one() { # LABEL BINARY
	local label=$1 b=$2
	"$b" run -q -o "$out" -n "$stamp-$label" --mode=precopy --memory=256M --rate=8M \
		--heartbeat_period=1ms --baseline="${duration}s" --repetitions=1 \
		>"$out/$stamp-$label.log" 2>&1 &
	labels+=("$label")
	pids+=($!)
}
start_one new "$bin"
[ -n "$old" ] && start_one old "$old"
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' INT TERM

# /proc/PID/status: "VmRSS:   1234 kB"
field() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$2/status" 2>/dev/null || true; }

# Read every second (the peak of the last seconds, when the result is
# built, is kept in OUTDIR/STAMP-LABEL.hwm), printed every INTERVAL.
rss=$out/$stamp-rss.tsv
printf 't_s\tlabel\tvmrss_kib\tvmhwm_kib\n' | tee "$rss"
t0=$(date +%s) next=0
while :; do
	alive=0 now=$(($(date +%s) - t0))
	for i in "${!pids[@]}"; do
		r=$(field VmRSS "${pids[$i]}") h=$(field VmHWM "${pids[$i]}")
		[ -n "$r" ] || continue
		alive=1
		echo "$h" >"$out/$stamp-${labels[$i]}.hwm"
		[ "$now" -ge "$next" ] && printf '%d\t%s\t%s\t%s\n' "$now" "${labels[$i]}" "$r" "$h" | tee -a "$rss"
	done
	[ "$now" -ge "$next" ] && next=$((now + interval))
	[ $alive = 1 ] || break
	sleep 1
done
status=0
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || { s=$?; [ "${labels[$i]}" = new ] && status=$s; }
done

echo
from=$((duration / 4 < 60 ? duration / 4 : 60))
for label in "${labels[@]}"; do
	# Growth over the baseline: the readings from `from` s in (the guest
	# has booted) to the baseline's end (the migration and the result after).
	awk -F'\t' -v l="$label" -v from="$from" -v to="$duration" '
		$2 == l && $1 >= from && $1 <= to { n++; x += $1; y += $3; xx += $1 * $1; xy += $1 * $3 }
		$2 == l && $4 > peak { peak = $4 }
		END {
			slope = n > 2 && n * xx != x * x ? (n * xy - x * y) / (n * xx - x * x) : 0
			printf "%s: VmRSS grows %.1f KiB/min over the baseline (%d readings); peak VmHWM %d KiB (%.1f MiB)\n",
				l, slope * 60, n, peak, peak / 1024
		}' "$rss"
	[ -s "$out/$stamp-$label.hwm" ] &&
		echo "$label: last VmHWM read before it exited (the result written): $(cat "$out/$stamp-$label.hwm") KiB"
	res=$(ls "$out/$stamp-$label"/*/1.json 2>/dev/null | head -1)
	if [ -n "$res" ] && command -v python3 >/dev/null; then
		python3 - "$res" "$label" <<-'EOF'
			import json, sys
			d = json.load(open(sys.argv[1]))
			s, hb = d.get("self") or {}, d.get("heartbeats", {})
			n = hb.get("count", len(hb.get("host_us", [])))
			print("%s: result %s: %s, %d heartbeats%s; self: peak %s KiB since %s, cpu %.0f ms user %.0f ms sys" % (
			    sys.argv[2], sys.argv[1], d["run"]["status"], n,
			    " in side file %s (%d bytes)" % (hb["file"], hb["bytes"]) if "file" in hb else " inline",
			    s.get("peak_rss_kib", "?"), s.get("peak_rss_since", "?"),
			    s.get("cpu_user_ms", 0), s.get("cpu_sys_ms", 0)))
		EOF
	fi
done
if [ -n "$old" ]; then
	awk -F'\t' -v from="$from" -v to="$duration" '
		$1 >= from && $1 <= to { n[$2]++; x[$2] += $1; y[$2] += $3; xx[$2] += $1 * $1; xy[$2] += $1 * $3 }
		END {
			for (l in n) s[l] = (n[l] * xy[l] - x[l] * y[l]) / (n[l] * xx[l] - x[l] * x[l]) * 60
			if (s["new"] > 0)
				printf "growth per minute, old / new: %.1f / %.1f KiB/min = %.0fx\n", s["old"], s["new"], s["old"] / s["new"]
			else
				printf "growth per minute, old / new: %.1f / %.1f KiB/min (new does not grow)\n", s["old"], s["new"]
		}' "$rss"
fi
echo "readings: $rss"
exit $status
