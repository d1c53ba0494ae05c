#!/usr/bin/env python3
"""Probe overhead and migbench's own cost (issue 13), from the campaigns
bench/self-probes.sh runs: bench/scenarios/self/probes-*.ini, each two
scenarios, [on] probes=all and [off] probes=none, interleaved on one booted
guest.

  python3 bench/self-probes.py OUT.md CAMPAIGN_DIR...

Probe overhead: on the same guest, interleaved (off_{i-1}, on_i, off_i ran
back to back); the slowdown of repetition i is (ref - on_i) / ref, ref the
mean of off_{i-1} and off_i, of the guest's work counter rate (metrics.degradation: `ops` for compute, `written` for dirty),
over the baseline window (5 s before `migrate`, every probe already running)
and over the pre-copy phase. The figure is the median over pairs; target
<= 1 %. migbench's own cost: each result's `self` (CPU time and peak RSS of
the run, CPU per record), medians for probes on and off.
"""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from self_common import write_table  # noqa: E402

TARGET_PCT = 1.0


def load(campaign):
    """The completed runs of a campaign in the order they ran."""
    with open(os.path.join(campaign, "campaign.json")) as f:
        manifest = json.load(f)
    runs = []
    for entry in manifest["runs"]:
        if entry.get("status") != "completed" or not entry.get("file"):
            continue
        with open(os.path.join(campaign, entry["file"])) as f:
            runs.append(json.load(f))
    return manifest, runs


def boots(runs):
    """Guests booted: a run whose first heartbeat is the guest's first
    (seq 0) started a new guest; an adopted one carries on counting."""
    return sum(1 for r in runs if r["heartbeats"]["seq"] and r["heartbeats"]["seq"][0] == 0)


def quartiles(xs):
    if len(xs) < 2:
        return (xs[0], xs[0]) if xs else (float("nan"), float("nan"))
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], q[2]


def slowdowns(runs, rate_of):
    """Per-repetition slowdown, %: (ref - on_i) / ref, ref the mean of the
    off runs either side of on_i (off_{i-1}, off_i: interleaved, they ran
    just before and just after it). Bracketing cancels a drift of the
    guest's speed (it runs ~2x faster after a few runs than just after boot:
    TCG translating, the kernel settling), which would otherwise count
    against [on], always the first of a pair; so repetition 1's on run, the
    first after boot with no off before it, is left out."""
    by = {}
    for r in runs:
        by[(r["run"]["scenario"], r["run"]["repetition"])] = rate_of(r)
    out = []
    for (scen, rep), on in sorted(by.items()):
        before, after = by.get(("off", rep - 1)), by.get(("off", rep))
        if scen == "on" and on and before and after:
            ref = (before + after) / 2
            out.append(100.0 * (ref - on) / ref)
    return out


def aa_noise(runs, rate_of):
    """The resolution of the slowdown: the same figure for off against the
    off runs either side of it (nothing differs but time), as the median
    absolute value, %. A slowdown below it cannot be told from no change."""
    off = {r["run"]["repetition"]: rate_of(r) for r in runs if r["run"]["scenario"] == "off"}
    d = []
    for rep in sorted(off):
        before, mid, after = off.get(rep - 1), off.get(rep), off.get(rep + 1)
        if before and mid and after:
            ref = (before + after) / 2
            d.append(abs(100.0 * (ref - mid) / ref))
    return statistics.median(d) if d else float("nan")


def verdict(slowdown, noise):
    """PASS/MISS against the target; UNRESOLVED when the off-vs-off noise is
    larger than the target, so that neither can be shown on this host now."""
    if not noise <= TARGET_PCT:
        return "UNRESOLVED"
    return "PASS" if slowdown <= TARGET_PCT else "MISS"


def baseline_rate(r):
    return r["metrics"].get("degradation", {}).get("baseline_per_s")


def precopy_rate(r):
    phase = r["metrics"].get("degradation", {}).get("phases", {}).get("precopy", {})
    return phase.get("throughput_per_s")


def load_vcpu(campaign):
    """bench/self-probes-vcpu.py's samples: {pid: [(real_us, vcpu_ns)]}, or
    None when the campaign has none."""
    path = os.path.join(campaign, "vcpu.tsv")
    if not os.path.exists(path):
        return None
    series = {}
    with open(path) as f:
        for line in f:
            t, pid, ns = line.split()
            series.setdefault(pid, []).append((int(t), int(ns)))
    return series


def at(points, t):
    """The last value at or before t of [(t, v)] in time order; the first
    value when t is before them all."""
    best = points[0][1]
    for pt, v in points:
        if pt > t:
            break
        best = v
    return best


def window_of(r, which):
    """The window in host realtime us: the baseline (its length, up to the
    source's first MIGRATION event, i.e. `migrate`) or the pre-copy phase
    (from there to the source's STOP)."""
    src = [e for e in r["events"] if e.get("side") == "source"]
    start = next((e["qemu_us"] for e in src if e["event"] == "MIGRATION"), None)
    if start is None:
        return None
    if which == "baseline":
        return start - 1000 * r["metrics"]["degradation"]["baseline_window_ms"], start
    stop = next((e["qemu_us"] for e in src if e["event"] == "STOP" and e["qemu_us"] > start), None)
    return (start, stop) if stop else None


def per_vcpu_second(vcpu, which):
    """The guest's work counter per second of its vCPU threads' run time
    over the window: what the host's other load does not move."""
    def rate(r):
        hb, w = r["heartbeats"], window_of(r, which)
        counter = r["metrics"].get("degradation", {}).get("counter")
        if not w or counter not in hb or not hb["host_us"]:
            return None
        pts = [(hb["origin_real_us"] + t, v) for t, v in zip(hb["host_us"], hb[counter])]
        work = at(pts, w[1]) - at(pts, w[0])
        ns = sum(at(s, w[1]) - at(s, w[0]) for s in vcpu.values() if s[0][0] <= w[1] and s[-1][0] >= w[0])
        return work / (ns / 1e9) if ns > 0 else None
    return rate


def fmt(x, unit=""):
    return "-" if x is None else f"{x:.2f}{unit}" if isinstance(x, float) else f"{x}{unit}"


def main(argv):
    if len(argv) < 3:
        sys.exit("usage: self-probes.py OUT.md CAMPAIGN_DIR...")
    rows, notes = [], []
    cost = {"on": [], "off": []}
    for campaign in argv[2:]:
        manifest, runs = load(campaign)
        name = os.path.basename(campaign.rstrip("/"))
        if not runs:
            notes.append(f"{name}: no completed run")
            continue
        counter = runs[0]["metrics"].get("degradation", {}).get("counter", "?")
        notes.append(f"{name}: {len(runs)}/{len(manifest['runs'])} runs completed, "
                     f"{boots(runs)} guest boot(s), counter `{counter}`")
        windows = [("baseline", baseline_rate), ("pre-copy", precopy_rate)]
        vcpu = load_vcpu(campaign)
        if vcpu:
            windows += [("baseline, per vCPU second", per_vcpu_second(vcpu, "baseline")),
                        ("pre-copy, per vCPU second", per_vcpu_second(vcpu, "pre-copy"))]
        for window, rate_of in windows:
            d = slowdowns(runs, rate_of)
            if not d:
                rows.append((f"probe slowdown, {name}, {window}", "no on run with off runs either side", "<= 1 %", "UNRESOLVED"))
                continue
            med = statistics.median(d)
            lo, hi = quartiles(d)
            slower = sum(1 for x in d if x > 0)
            noise = aa_noise(runs, rate_of)
            rows.append((f"probe slowdown, {name} (`{counter}`), {window} window",
                         f"{med:+.2f} % (IQR {lo:+.1f}..{hi:+.1f}, on slower in {slower}/{len(d)}; "
                         f"off vs off noise {noise:.1f} %)",
                         f"<= {TARGET_PCT:g} %", verdict(med, noise)))
        for r in runs:
            s = r.get("self")
            if s and r["run"]["scenario"] in cost:
                cost[r["run"]["scenario"]].append(s)
    if cost["on"] and cost["off"]:
        per_s = {k: statistics.median((s["cpu_user_ms"] + s["cpu_sys_ms"]) / s["wall_ms"] for s in v)
                 for k, v in cost.items()}
        extra = 100.0 * (per_s["on"] - per_s["off"])
        rows.append(("CPU the probes take (migbench CPU/s, on - off; a bound, see below)",
                     f"{extra:+.2f} % of one core ({100 * per_s['on']:.2f} - {100 * per_s['off']:.2f})",
                     f"<= {TARGET_PCT:g} %", "PASS" if extra <= TARGET_PCT else "MISS"))
    for scen in ("on", "off"):
        ss = cost[scen]
        if not ss:
            continue
        med = lambda f: statistics.median(f(s) for s in ss)  # noqa: E731
        cpu = med(lambda s: s["cpu_user_ms"] + s["cpu_sys_ms"])
        share = med(lambda s: 100.0 * (s["cpu_user_ms"] + s["cpu_sys_ms"]) / s["wall_ms"])
        rows.append((f"migbench CPU per run, probes {scen}",
                     f"{cpu:.1f} ms ({share:.1f} % of the run's {med(lambda s: s['wall_ms']) / 1000:.1f} s)",
                     "reported", "INFO"))
        rows.append((f"migbench CPU per sample (record), probes {scen}",
                     f"{med(lambda s: s['cpu_us_per_record']):.1f} us over "
                     f"{med(lambda s: s['records']):.0f} records", "reported", "INFO"))
        rows.append((f"migbench peak RSS per run, probes {scen}",
                     f"{med(lambda s: s['peak_rss_kib']) / 1024:.1f} MiB "
                     f"({ss[0].get('peak_rss_since', '?')})", "reported", "INFO"))
    width = [max(len(str(r[i])) for r in rows + [("figure", "measured", "target", "verdict")])
             for i in range(4)]
    lines = ["| figure | measured | target | verdict |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    text = ("# Probe overhead and migbench's own cost (bench/self-probes.sh)\n\n"
            + "\n".join(lines) + "\n\n"
            + "".join(f"- {n}\n" for n in notes)
            + "\nSlowdown of repetition i = (ref - on_i) / ref of the guest's work-counter "
              "rate (metrics.degradation), ref = the mean of the off runs just before and "
              "just after on_i (interleaved on one booted guest: this cancels the guest's "
              "drift in speed; repetition 1's on run, first after boot, has no off before "
              "it and is left out); median over repetitions; negative = faster with probes "
              "on. IQR: of the per-repetition slowdowns. Off vs off noise: the same figure for "
              "each off run against the off runs either side (median of its absolute value): "
              "UNRESOLVED when it exceeds the target, i.e. the host's own variation hides a "
              "1 % effect. The CPU row counts what the probes cost migbench's process: it bounds the slowdown of a vCPU that has to share a core with them (a busy host); perf "
              "counting's own cost in the kernel on QEMU's threads is not in it. "
              "CPU and RSS: the results' `self` (migbench's process), medians.\n")
    write_table(argv[1], text)
    for a, b, c, d in [("figure", "measured", "target", "verdict")] + rows:
        print(f"{a:<{width[0]}}  {b:<{width[1]}}  {c:<{width[2]}}  {d}")
    for n in notes:
        print(n)


if __name__ == "__main__":
    main(sys.argv)
