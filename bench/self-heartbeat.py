#!/usr/bin/env python3
"""The instrument's own performance (issue 13), heartbeat and dirty-rate parts.

    python3 bench/self-heartbeat.py HEARTBEAT_CAMPAIGN DIRTY_RATE_CAMPAIGN OUT.md

Reads the results of bench/scenarios/self/heartbeat.ini and
bench/scenarios/self/dirty-rate.ini (run by bench/self-heartbeat.sh), prints
one table per figure with its target and PASS/MISS, and writes the same
tables to OUT.md. Exit 0 when the tables were made (whatever they say), 1
when a result cannot be read.

Every figure is measured over each run's baseline window: the `baseline`
before `migrate` (the source's first MIGRATION event), on the heartbeats the
result carries (inline columns, or the side file heartbeats.file:
REP.heartbeats.tsv, header then one line per beat, as analysis/migbench.R
reads them).
"""
import glob
import json
import math
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from self_common import write_table  # noqa: E402

# Targets. The issue names the figures; where it gives no number the target
# is the one a user of the figure needs, said in the table.
PERIOD_TOLERANCE = 0.05    # a period is sustained: median within +-5 % ...
P99_FACTOR = 2.0           # ... p99 at most twice the period ...
MAX_LOST = 0               # ... and no beat lost (sequence gap)
RATE_TOLERANCE = 0.05      # dirty rate: achieved within +-5 % of the target
GUESTPERF_SAMPLE_S = 0.46  # guestperf's finest progress sample here (issue 13)
RESOLUTION_GAIN = 100      # issue 13: >= 100x finer guest-side downtime resolution


def fail(msg):
    print(f"self-heartbeat.py: {msg}", file=sys.stderr)
    sys.exit(1)


def load(path):
    """A result with its heartbeats' columns inline, wherever they were."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read result {path}: {e}")
    hb = doc.get("heartbeats") or {}
    side = hb.get("file") if isinstance(hb, dict) else None
    if side:
        tsv = os.path.join(os.path.dirname(path), side)
        try:
            with open(tsv) as f:
                names = f.readline().rstrip("\n").split("\t")
                cols = {n: [] for n in names}
                for line in f:
                    for n, v in zip(names, line.rstrip("\n").split("\t")):
                        cols[n].append(float(v))
        except (OSError, ValueError) as e:
            fail(f"{path}: cannot read its heartbeats' side file {tsv}: {e}")
        if isinstance(hb.get("count"), int) and len(cols.get("seq", [])) != hb["count"]:
            fail(f"{path}: side file {tsv} has {len(cols.get('seq', []))} beats, the result says {hb['count']}")
        hb.update(cols)
    doc["heartbeats"] = hb
    return doc


def results(campaign):
    paths = sorted(glob.glob(os.path.join(campaign, "*", "*.json")))
    paths = [p for p in paths if not p.endswith("campaign.json")]
    if not paths:
        fail(f"no results in {campaign}")
    return [(p, load(p)) for p in paths]


def migrate_ms(doc):
    """host ms (from run.start_time, the heartbeats' origin) of `migrate`."""
    origin = doc["heartbeats"]["origin_real_us"]
    src = [e["host_real_us"] for e in doc.get("events", []) if e.get("side") == "source"]
    if not src:
        return None
    return (min(src) - origin) / 1000.0


def window(doc):
    """Indexes of the heartbeats inside the baseline window."""
    hb = doc["heartbeats"]
    m = migrate_ms(doc)
    if m is None or not hb.get("host_us"):
        return None
    lo = (m - doc["scenario"]["baseline"]) * 1000.0
    hi = m * 1000.0
    return [i for i, t in enumerate(hb["host_us"]) if lo <= t <= hi]


def quantile(xs, q):
    xs = sorted(xs)
    if not xs:
        return math.nan
    pos = (len(xs) - 1) * q
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def med(xs):
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return statistics.median(xs) if xs else math.nan


def fmt(x, nd=1):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{nd}f}"


def verdict(ok):
    return "PASS" if ok else "MISS"


def beat_stats(doc):
    """Period (guest clock) and arrival (host clock) statistics in µs."""
    idx = window(doc)
    if not idx or len(idx) < 3:
        return None
    hb = doc["heartbeats"]
    g = [hb["guest_us"][i] for i in idx]
    h = [hb["host_us"][i] for i in idx]
    s = [hb["seq"][i] for i in idx]
    gp = [b - a for a, b in zip(g, g[1:])]
    hp = [b - a for a, b in zip(h, h[1:])]
    lost = sum(max(0, int(b - a) - 1) for a, b in zip(s, s[1:]))
    span_s = (g[-1] - g[0]) / 1e6
    return {
        "beats": len(idx), "lost": lost, "expected": int(s[-1] - s[0]) + 1,
        "g_med": quantile(gp, 0.5), "g_p99": quantile(gp, 0.99), "g_p1": quantile(gp, 0.01),
        "g_max": max(gp), "g_sd": statistics.pstdev(gp),
        "h_med": quantile(hp, 0.5), "h_p99": quantile(hp, 0.99), "h_p1": quantile(hp, 0.01),
        "h_sd": statistics.pstdev(hp), "per_s": (len(idx) - 1) / span_s if span_s > 0 else math.nan,
    }


def heartbeat_tables(runs):
    by_period = {}
    for path, doc in runs:
        by_period.setdefault(doc["scenario"]["heartbeat_period"], []).append((path, doc))
    lines = ["### Heartbeat resolution (baseline window before `migrate`)", "",
             "Period and jitter from the guest's own clock (`guest_us`: when the agent sent each beat) "
             "and from the host's (`host_us`: when migbench received it); medians over the runs of each period. "
             f"Sustained = median within ±{PERIOD_TOLERANCE:.0%} of the period, p99 ≤ {P99_FACTOR:g}× the period, "
             f"{MAX_LOST} beats lost (sequence gaps).", "",
             "| period | runs | beats/s | guest median µs | guest p99 µs | guest p99-p1 µs | guest stdev µs | guest max µs "
             "| host median µs | host p99-p1 µs | host stdev µs | lost beats | target | verdict |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    sustained = []
    median_ok = []
    summary = {}
    for period_ms in sorted(by_period, reverse=True):
        st = [beat_stats(d) for _, d in by_period[period_ms]]
        st = [x for x in st if x]
        if not st:
            continue
        p_us = period_ms * 1000.0
        m = {k: med([x[k] for x in st]) for k in st[0]}
        lost = sum(x["lost"] for x in st)
        ok = (abs(m["g_med"] - p_us) <= PERIOD_TOLERANCE * p_us and m["g_p99"] <= P99_FACTOR * p_us
              and lost <= MAX_LOST)
        if ok:
            sustained.append(period_ms)
        if abs(m["g_med"] - p_us) <= PERIOD_TOLERANCE * p_us:
            median_ok.append(period_ms)
        summary[period_ms] = m
        target = f"{p_us * (1 - PERIOD_TOLERANCE):.0f}-{p_us * (1 + PERIOD_TOLERANCE):.0f} µs, p99 ≤ {P99_FACTOR * p_us:.0f}, 0 lost"
        lines.append(f"| {fmt(p_us, 0)} µs | {len(st)} | {fmt(m['per_s'], 0)} | {fmt(m['g_med'])} | {fmt(m['g_p99'])} "
                     f"| {fmt(m['g_p99'] - m['g_p1'])} | {fmt(m['g_sd'])} | {fmt(m['g_max'])} | {fmt(m['h_med'])} "
                     f"| {fmt(m['h_p99'] - m['h_p1'])} | {fmt(m['h_sd'])} | {lost} | {target} | {verdict(ok)} |")
    lines.append("")
    smallest = min(sustained) if sustained else None
    lines.append(f"Median period within ±{PERIOD_TOLERANCE:.0%} (the tail aside): "
                 f"{', '.join(fmt(p * 1000, 0) + ' µs' for p in sorted(median_ok)) or 'none'}.")
    lines.append(f"Smallest period the guest sustains here: "
                 f"{fmt(smallest * 1000, 0) + ' µs' if smallest else 'none of those tried'}"
                 f" (tried {', '.join(fmt(p * 1000, 0) + ' µs' for p in sorted(by_period))}).")
    if summary:
        finest = min(summary)
        beats_per_s = summary[finest]["per_s"]
        lines.append(f"At {fmt(finest * 1000, 0)} µs the guest sent {fmt(beats_per_s, 0)} beats/s "
                     f"(one every {fmt(1e6 / beats_per_s, 0)} µs on average).")
    if 1.0 in summary:
        res_ms = summary[1.0]["g_p99"] / 1000.0
        limit_ms = GUESTPERF_SAMPLE_S * 1000.0 / RESOLUTION_GAIN
        lines += ["", "| figure | value | target | verdict |", "| --- | ---: | --- | --- |",
                  f"| guest-side downtime resolution at 1 ms (p99 beat period) | {fmt(res_ms, 3)} ms "
                  f"| ≤ {fmt(limit_ms, 1)} ms ({RESOLUTION_GAIN}× finer than guestperf's {GUESTPERF_SAMPLE_S} s samples) "
                  f"| {verdict(res_ms <= limit_ms)} |"]
    lines.append("")
    return lines, by_period


DOWNTIMES = [
    ("QEMU `downtime` (query-migrate)", lambda d: (d.get("qemu_reported") or {}).get("downtime")),
    ("QMP STOP→RESUME (`downtime_ms`)", lambda d: d["metrics"].get("downtime_ms")),
    ("heartbeats: guest gap (`guest_downtime_ms`)", lambda d: d["metrics"].get("guest_downtime_ms")),
    ("client: outage at switch-over (`client_switchover_outage_ms`)",
     lambda d: d["metrics"].get("client_switchover_outage_ms")),
    ("client: longest outage (`client_downtime_ms`)", lambda d: d["metrics"].get("client_downtime_ms")),
]
DIFFERENCES = [
    ("guest gap − STOP→RESUME", 2, 1),
    ("client switch-over outage − STOP→RESUME", 3, 1),
    ("client switch-over outage − guest gap", 3, 2),
    ("STOP→RESUME − QEMU `downtime`", 1, 0),
]


def downtime_tables(by_period):
    lines = ["### Downtime three ways, on the same migrations (pre-copy, kv service in the guest)", ""]
    complete = True
    for period_ms in sorted(by_period, reverse=True):
        runs = [d for _, d in by_period[period_ms] if d["run"].get("status") == "completed"]
        if not runs:
            continue
        vals = [[f(d) for f in (g for _, g in DOWNTIMES)] for d in runs]
        complete &= all(v[1] is not None and v[2] is not None and v[3] is not None for v in vals)
        lines += [f"heartbeat_period {fmt(period_ms * 1000, 0)} µs, {len(runs)} runs (median, min-max):", "",
                  "| figure | median ms | min ms | max ms |", "| --- | ---: | ---: | ---: |"]
        for k, (name, _) in enumerate(DOWNTIMES):
            col = [v[k] for v in vals if v[k] is not None]
            lines.append(f"| {name} | {fmt(med(col))} | {fmt(min(col) if col else None)} | {fmt(max(col) if col else None)} |")
        for name, a, b in DIFFERENCES:
            col = [v[a] - v[b] for v in vals if v[a] is not None and v[b] is not None]
            lines.append(f"| {name} | {fmt(med(col))} | {fmt(min(col) if col else None)} | {fmt(max(col) if col else None)} |")
        lines.append("")
    lines += ["| figure | target | verdict |", "| --- | --- | --- |",
              f"| QMP, heartbeat and client downtime on every completed migration | all three present | {verdict(complete)} |", ""]
    return lines


def dirty_tables(runs):
    lines = ["### Dirty-rate generator: target vs achieved (baseline window, `written` counter)", "",
             f"Achieved = pages written in the baseline window / its length on the guest's clock; target ±{RATE_TOLERANCE:.0%}. "
             "migbench's own `degradation.baseline_per_s` (same window, host clock) beside it, and the longest gap "
             "between two beats in the window: a guest that was not scheduled that long (the pacer forgives a debt "
             "older than PACER_MAX_DEBT_US rather than burst, workloads/agent/pacer.c) falls short by about that much.", "",
             "| pattern | target pages/s | target MiB/s | achieved pages/s | achieved MiB/s | error | migbench baseline_per_s "
             "| longest beat gap ms | verdict |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    unpaced = []
    memset = []     # the plain memset loop's pages/s (workload=memset)
    paced_ok = paced_n = 0
    order = {"sequential": 0, "random": 1, "hotcold": 2}
    rows = []
    for path, doc in runs:
        sc = doc["scenario"]
        idx = window(doc)
        if not idx or len(idx) < 2:
            if sc["workload"] != "memset":
                rows.append((order.get(sc["pattern"], 9), sc["rate"] or 1e18, sc["pattern"], sc["rate"], None, None, None))
            continue
        hb = doc["heartbeats"]
        i, j = idx[0], idx[-1]
        span = (hb["guest_us"][j] - hb["guest_us"][i]) / 1e6
        ach = (hb["written"][j] - hb["written"][i]) / span if span > 0 else math.nan
        if sc["workload"] == "memset":
            memset.append(ach)
            continue
        bps = ((doc["metrics"].get("degradation") or {}).get("baseline_per_s"))
        gap = max(hb["guest_us"][b] - hb["guest_us"][a] for a, b in zip(idx, idx[1:])) / 1000.0
        rows.append((order.get(sc["pattern"], 9), sc["rate"] or 1e18, sc["pattern"], sc["rate"], ach, bps, gap))
    page = 4096.0
    for _, _, pattern, rate, ach, bps, gap in sorted(rows, key=lambda r: r[:2]):
        mib = (lambda p: p * page / 2**20)
        if not rate:
            unpaced.append((pattern, ach))
            lines.append(f"| {pattern} | 0 (unpaced) | - | {fmt(ach, 0)} | {fmt(mib(ach) if ach else None)} | - | {fmt(bps, 0)} | {fmt(gap)} | - |")
            continue
        err = (ach - rate) / rate if ach is not None else math.nan
        ok = ach is not None and abs(err) <= RATE_TOLERANCE
        paced_n += 1
        paced_ok += ok
        lines.append(f"| {pattern} | {rate} | {fmt(mib(rate))} | {fmt(ach, 0)} | {fmt(mib(ach) if ach else None)} "
                     f"| {fmt(100 * err, 2)} % | {fmt(bps, 0)} | {fmt(gap)} | {verdict(ok)} |")
    lines += ["", "| figure | value | target | verdict |", "| --- | ---: | --- | --- |",
              f"| paced rates within ±{RATE_TOLERANCE:.0%} | {paced_ok}/{paced_n} | all | {verdict(paced_n and paced_ok == paced_n)} |"]
    ref = med(memset) if memset else None
    if ref:
        lines.append(f"| plain memset loop (workload=memset, same guest and set) | {fmt(ref, 0)} pages/s "
                     f"({fmt(ref * page / 2**20)} MiB/s written) | the reference | - |")
    for pattern, ach in unpaced:
        frac = ach / ref if ach and ref else None
        lines.append(f"| highest rate the guest sustains, {pattern} (rate=0) | {fmt(ach, 0)} pages/s = "
                     f"{fmt(100 * frac, 0) if frac else '-'} % of memset's | a fraction of a plain memset loop "
                     f"in the same guest | {'reported' if frac else 'MISS (no memset run)'} |")
    if unpaced:
        lines += ["", "Pages dirtied per second: the dirty loop stores a stamp at both ends of a page "
                  "(workloads/agent/stamp.h), memset writes all 4 KiB (and stamps it again), so the dirty loop "
                  "can dirty pages faster than memset fills them; the fraction says how the generator's ceiling "
                  "compares with the guest's memory bandwidth, in pages."]
    lines.append("")
    return lines


def main():
    if len(sys.argv) != 4:
        print("usage: self-heartbeat.py HEARTBEAT_CAMPAIGN DIRTY_RATE_CAMPAIGN OUT.md", file=sys.stderr)
        sys.exit(2)
    hb_runs = results(sys.argv[1])
    dr_runs = results(sys.argv[2])
    lines = ["# The instrument's own performance: heartbeats and the dirty-rate generator", ""]
    hl, by_period = heartbeat_tables(hb_runs)
    lines += hl + downtime_tables(by_period) + dirty_tables(dr_runs)
    text = "\n".join(lines) + "\n"
    write_table(sys.argv[3], text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
