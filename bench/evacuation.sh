#!/usr/bin/env bash
# How far guests=K goes on this machine, and what grows with K.
#
#   bash bench/evacuation.sh [OUT] [K...]      (default OUT: evacuation-<date>,
#                                               K: 1 2 4 8 12)
#
# For each K: one campaign of bench/scenarios/evacuation.ini with guests=K
# (K guests migrated at once, 3 repetitions, back and forth), while
# migbench's threads, open file descriptors and resident memory are read
# from /proc every 100 ms. Then, per K, side by side:
#   - the evacuation: first `migrate` to last end (median over repetitions),
#     aggregate throughput, each guest's total time and downtime (median,
#     max), runs completed;
#   - migbench itself: peak threads, descriptors and RSS, each also per
#     guest (a count that grows faster than K shows a leak or a per-guest
#     cost that compounds), and the query-migrate samples' spacing
#     (asked every sample_interval) and reply wait: what one sample costs
#     as K grows;
# into OUT/scaling.md (and OUT/scaling.tsv). Each K's campaign stays in
# OUT/K<k>/ for `migbench report`.
#
# Needs what `migbench run` needs (bench/prepare.sh installs it) and about
# 2 x K x 192 MiB of memory. TCG here: every guest is emulated on the
# host's cores, so past a few guests per core the guests starve and the
# figures show it (downtime above the limit, migrations that take longer).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-evacuation-$(date +%Y%m%d-%H%M%S)}
shift || true
ks=("$@")
[ ${#ks[@]} -gt 0 ] || ks=(1 2 4 8 12)
migbench=${MIGBENCH:-$top/build/migbench}
scenario=$top/bench/scenarios/evacuation.ini

if [ ! -x "$migbench" ]; then
	echo "bench/evacuation.sh: no migbench at $migbench (build it: bash bench/build.sh, or set MIGBENCH)" >&2
	exit 2
fi
for k in "${ks[@]}"; do
	case $k in ''|*[!0-9]*|0) echo "bench/evacuation.sh: K must be a whole number >= 1, not '$k'" >&2; exit 2 ;; esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)

# migbench's own footprint while it runs: "unix-time threads fds rss_kib" lines.
watch_migbench() {
	local pid=$1 log=$2 threads rss fds
	while kill -0 "$pid" 2>/dev/null; do
		threads=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || break
		rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || break
		fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		[ -n "$threads" ] && echo "$(date +%s.%N) $threads $fds $rss" >>"$log"
		sleep 0.1
	done
}

for k in "${ks[@]}"; do
	dir=$out/K$k
	if [ -f "$dir/campaign.json" ] && grep -q '"state": "finished"' "$dir/campaign.json"; then
		echo "K=$k: kept ($dir)"
		continue
	fi
	rm -rf "$dir" "$out/K$k.footprint"
	echo "K=$k: migrating $k guest(s) at once, 3 times ..."
	start=$(date +%s)
	set +e
	"$migbench" run -q -o "$out" -n "K$k" --guests="$k" "$scenario" >"$out/K$k.out" 2>"$out/K$k.err" &
	pid=$!
	watch_migbench "$pid" "$out/K$k.footprint" &
	watcher=$!
	wait "$pid"
	rc=$?
	wait "$watcher"
	set -e
	echo "K=$k: exit $rc after $(($(date +%s) - start)) s"
	[ $rc -eq 0 ] || sed 's/^/    /' "$out/K$k.err" | tail -5
done

python3 - "$out" "${ks[@]}" <<'EOF'
import json, os, statistics, sys

out, ks = sys.argv[1], [int(k) for k in sys.argv[2:]]

def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None

def fmt(x, d=1):
    return "-" if x is None else f"{x:.{d}f}"

rows = []
for k in ks:
    d = os.path.join(out, f"K{k}")
    try:
        m = json.load(open(os.path.join(d, "campaign.json")))
    except OSError:
        continue
    runs = m.get("runs", [])
    done = sum(r["status"] == "completed" for r in runs)
    totals, downs, spacing, waits, cpu = [], [], [], [], []
    for r in runs:
        doc = json.load(open(os.path.join(d, r["file"])))
        met = doc.get("metrics", {})
        if r["status"] == "completed":
            totals.append(met.get("total_time_ms"))
            downs.append(met.get("downtime_ms"))
        s = doc.get("samples") or []
        t = [x["host_real_us"] for x in s]
        spacing += [(b - a) / 1e3 for a, b in zip(t, t[1:])]
        waits += [x.get("reply_wait_us", 0) / 1e3 for x in s]
        self_cost = doc.get("self") or {}
        if "cpu_per_record_us" in self_cost:
            cpu.append(self_cost["cpu_per_record_us"])
    ev = m.get("evacuations", [])
    if k == 1:
        # one guest: its own total time is the evacuation
        span = med(totals)
        agg = None
    else:
        span = med([e.get("span_ms") for e in ev])
        agg = med([e.get("aggregate_MiB_s") for e in ev])
    fp = []
    try:
        fp = [list(map(float, l.split())) for l in open(os.path.join(out, f"K{k}.footprint"))]
    except OSError:
        pass
    threads = max((f[1] for f in fp), default=None)
    fds = max((f[2] for f in fp), default=None)
    rss = max((f[3] for f in fp), default=None)
    rows.append(dict(k=k, runs=len(runs), done=done, span=span, agg=agg, total=med(totals),
                     total_max=max([x for x in totals if x is not None], default=None),
                     down=med(downs), down_max=max([x for x in downs if x is not None], default=None),
                     threads=threads, fds=fds, rss=rss, spacing=med(spacing),
                     spacing_p99=sorted(spacing)[int(0.99 * (len(spacing) - 1))] if spacing else None,
                     wait=med(waits), cpu=med(cpu)))

head = ("| K | runs completed | evacuation ms | aggregate MiB/s | guest total ms (median / max) | "
        "downtime ms (median / max) | migbench threads (per guest) | fds (per guest) | "
        "peak RSS MiB (per guest) | sample spacing ms (median / p99) | query-migrate wait ms |")
lines = [head, "|" + "---|" * (head.count("|") - 1)]
for r in rows:
    k = r["k"]
    per = lambda x, d=1: "-" if x is None else f"{fmt(x, 0)} ({x / k:.{d}f})"
    rss = None if r["rss"] is None else r["rss"] / 1024
    lines.append(f"| {k} | {r['done']}/{r['runs']} | {fmt(r['span'], 0)} | {fmt(r['agg'])} | "
                 f"{fmt(r['total'], 0)} / {fmt(r['total_max'], 0)} | {fmt(r['down'])} / {fmt(r['down_max'])} | "
                 f"{per(r['threads'])} | {per(r['fds'])} | {per(rss)} | "
                 f"{fmt(r['spacing'])} / {fmt(r['spacing_p99'])} | {fmt(r['wait'], 2)} |")
text = "\n".join(lines) + "\n"
if len(rows) > 1:
    a, b = rows[0], rows[-1]
    def ratio(key):
        return "-" if not a[key] or b[key] is None else f"{b[key] / a[key]:.2f}"
    text += (f"\nK {a['k']} -> {b['k']} ({b['k'] / a['k']:.0f}x guests): threads x{ratio('threads')}, "
             f"fds x{ratio('fds')}, peak RSS x{ratio('rss')}, median sample spacing x{ratio('spacing')}, "
             f"query-migrate wait x{ratio('wait')}, evacuation time x{ratio('span')}\n")
open(os.path.join(out, "scaling.md"), "w").write(text)
with open(os.path.join(out, "scaling.tsv"), "w") as f:
    cols = list(rows[0].keys()) if rows else []
    f.write("\t".join(cols) + "\n")
    for r in rows:
        f.write("\t".join("" if r[c] is None else str(r[c]) for c in cols) + "\n")
print(text, end="")
print(f"\nwritten: {out}/scaling.md, {out}/scaling.tsv")
EOF
