#!/usr/bin/env python3
"""Guest start and campaign share (issue 13), measured side by side.

Run by bench/self-campaign.sh (which sets up and builds first). Runs
`migbench boot` cold and restored, interleaved, then the main job's
campaign with guest_start=boot and guest_start=snapshot, interleaved, and
once with the measurement windows at their least; times every command
itself; prints the tables with target and PASS/MISS and writes them as
Markdown.
"""
import argparse
import datetime
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from self_common import run, write_table  # noqa: E402

START_TARGET_S = 0.5
SHARE_TARGET = 0.60
# The main job's guest (bench/scenarios/main.ini [global]): the boots use
# it too, so they restore the very snapshot the campaigns do.
MAIN_GUEST = ["--memory", "256M", "--wss", "64M", "--rate", "48M", "--pattern", "sequential"]
SHORT_WINDOWS = ["--baseline=200ms", "--settle=0"]


def say(msg):
    print(f"self-campaign.py: {msg}", file=sys.stderr, flush=True)


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def boot_once(migbench, start):
    """launch -> first heartbeat (s) of one `migbench boot`, and how it started."""
    cmd = [migbench, "boot", "--duration", "1", "--set", f"guest_start={start}"] + MAIN_GUEST
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()[-400:]}")
    m = re.search(r"first heartbeat ([0-9.]+) s after launch", p.stdout)
    how = re.search(r"^start: (.*)$", p.stdout, re.M)
    if not m:
        raise RuntimeError(f"no 'first heartbeat' line from {' '.join(cmd)}:\n{p.stdout}")
    return float(m.group(1)), how.group(1) if how else ""


def campaign(migbench, scenario, runs_dir, name, extra):
    """Runs one campaign; its wall time (s) as this script saw it, and its results."""
    shutil.rmtree(os.path.join(runs_dir, name), ignore_errors=True)
    cmd = [migbench, "run", "-q", "-o", runs_dir, "-n", name, scenario] + extra
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        say(f"{name}: migbench run exited {p.returncode} ({p.stderr.strip()[-300:]}); counted as it is")
    docs = []
    for f in sorted(glob.glob(os.path.join(runs_dir, name, "*", "*.json"))):
        with open(f) as fh:
            d = json.load(fh)
        if "run" in d:
            docs.append(d)
    return wall, docs


def breakdown(wall, docs):
    """Where a campaign's wall time went (s)."""
    mig = sum((d["metrics"].get("total_time_ms") or 0) for d in docs) / 1000
    started = [d["run"]["guest_start"] for d in docs if "guest_start" in d["run"]]
    start = sum(g["launch_to_first_heartbeat_ms"] for g in started) / 1000
    # The baseline before the first migrate of each started guest; the
    # later ones lie inside the settle after the migration before them.
    windows = sum(d["scenario"]["settle"] for d in docs) / 1000
    windows += sum(d["scenario"]["baseline"] for d in docs if "guest_start" in d["run"]) / 1000
    completed = sum(1 for d in docs if d["run"]["status"] == "completed")
    return {
        "wall": wall, "migrations": mig, "start": start, "windows": windows,
        "rest": wall - mig - start - windows, "runs": len(docs), "completed": completed,
        "how": "; ".join(g["how"].split(" (")[0] for g in started),
    }


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--migbench", required=True)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--boots", type=int, default=5)
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--table", required=True)
    a = ap.parse_args()
    loads = [load()]

    # 1. guest start. The first snapshot start saves the snapshot when
    # there is none: a warm-up, not a sample.
    t, how = boot_once(a.migbench, "snapshot")
    say(f"warm-up snapshot start: {t:.3f} s ({how})")
    boots = {"boot": [], "snapshot": []}
    for i in range(a.boots):
        for start in ("boot", "snapshot"):
            t, how = boot_once(a.migbench, start)
            boots[start].append(t)
            say(f"boot {i + 1}/{a.boots} guest_start={start}: first heartbeat {t:.3f} s after launch")
            if start == "snapshot" and not how.startswith("restored"):
                say(f"  not restored: {how}")
    loads.append(load())

    # 2. campaign share
    rows = {"boot": [], "snapshot": [], "snapshot, windows at least": []}
    for i in range(a.pairs):
        for start in ("boot", "snapshot"):
            name = f"campaign-{start}-{i + 1}"
            wall, docs = campaign(a.migbench, a.scenario, a.runs, name, [f"--guest_start={start}"])
            b = breakdown(wall, docs)
            rows[start].append(b)
            say(f"{name}: {wall:.1f} s, {b['migrations']:.1f} s migrating ({100 * b['migrations'] / wall:.0f} %)")
    wall, docs = campaign(a.migbench, a.scenario, a.runs, "campaign-short-windows",
                          ["--guest_start=snapshot"] + SHORT_WINDOWS)
    rows["snapshot, windows at least"].append(breakdown(wall, docs))
    loads.append(load())

    out = []
    out.append(f"# Guest start and campaign share ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC)")
    out.append("")
    out.append(f"`bash bench/self-campaign.sh`; load average before, between and after: {' / '.join(loads)} "
               f"(2-core TCG host). The guest is the main job's (256 MiB, 64 MiB set dirtied at 48 MiB/s).")
    out.append("")
    out.append(f"## Guest start: launch -> first heartbeat (`migbench boot`, {a.boots} each, interleaved)")
    out.append("")
    out.append("| start | median s | min s | max s | target | verdict |")
    out.append("|---|---|---|---|---|---|")
    for start in ("boot", "snapshot"):
        xs = boots[start]
        target = f"<= {START_TARGET_S} s" if start == "snapshot" else "(kept: the reference)"
        verdict = ("PASS" if statistics.median(xs) <= START_TARGET_S else "MISS") if start == "snapshot" else "-"
        out.append(f"| guest_start={start} | {statistics.median(xs):.3f} | {min(xs):.3f} | {max(xs):.3f} | "
                   f"{target} | {verdict} |")
    out.append("")
    out.append(f"Restored is {statistics.median(boots['boot']) / statistics.median(boots['snapshot']):.1f}x "
               "faster (medians).")
    out.append("")
    out.append(f"## Campaign share: bench/scenarios/main.ini ({a.pairs} campaigns each way, interleaved; medians)")
    out.append("")
    out.append("| campaign | runs completed | wall s | migrating s | share | guest start s | windows s | "
               "migbench's own s | target | verdict |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for label, rs in rows.items():
        if not rs:
            continue
        share = med(rs, "migrations") / med(rs, "wall")
        shares = [r["migrations"] / r["wall"] for r in rs]
        out.append(f"| guest_start={label} | {min(r['completed'] for r in rs)}/{rs[0]['runs']} | "
                   f"{med(rs, 'wall'):.1f} | {med(rs, 'migrations'):.1f} | {100 * share:.0f} % "
                   f"({100 * min(shares):.0f}-{100 * max(shares):.0f}) | {med(rs, 'start'):.2f} | "
                   f"{med(rs, 'windows'):.1f} | {med(rs, 'rest'):.1f} | >= {100 * SHARE_TARGET:.0f} % | "
                   f"{'PASS' if share >= SHARE_TARGET else 'MISS'} |")
    snap = rows["snapshot"]
    ceiling = med(snap, "migrations") / (med(snap, "migrations") + med(snap, "windows"))
    out.append("")
    out.append("- *windows*: the baseline before each started guest's first `migrate` plus every run's settle "
               "(each later baseline lies inside the settle before it). *migbench's own*: the rest of the wall "
               "time (host probes, preflight QEMUs, destination launches, capabilities, verify, results, "
               "teardown).")
    out.append(f"- With the default windows (baseline 2 s, settle 2 s) and these migrations "
               f"(~{med(snap, 'migrations') / max(1, snap[0]['runs']):.2f} s each), even a campaign with no start "
               f"and no work of migbench's own would spend at most **{100 * ceiling:.0f} %** of its wall time "
               "migrating: the windows, not the instrument, bound the share.")
    text = "\n".join(out) + "\n"
    print(text)
    write_table(a.table, text)
    return 0


if __name__ == "__main__":
    run(main, say)
