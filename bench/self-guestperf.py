#!/usr/bin/env python3
"""The instrument's own performance (issue 13), the guestperf part.

    python3 bench/self-guestperf.py sources OUT.list
    python3 bench/self-guestperf.py patch MIGRATION_STRESS_DIR
    python3 bench/self-guestperf.py table OUT_DIR

Helpers of bench/self-guestperf.sh, which runs QEMU's guestperf and migbench
on the same scenarios:
  sources  writes a private apt sources list with a deb-src line for every
           Debian `deb` entry of the host's /etc/apt/sources.list(.d), so
           that `apt-get source qemu` works where deb-src is not configured.
  patch    adapts a private copy of QEMU's tests/migration-stress/ to this
           host: TCG instead of `-accel kvm`, no `-cpu host`, stress.c built
           against glib instead of QEMU's osdep.h, and the guest's RAM and
           stress's working set in MiB (guestperf only knows whole GiB: 1 GiB
           of stress in a 1.5 GiB guest at the least) so that it runs the
           main job's 256 MiB guest. Every edit must match the source
           exactly, or it stops and says which one did not.
  table    reads OUT_DIR/runs.tsv (one line per run of either tool, with its
           wall time) and the outputs it names, prints the comparison table
           (figure, guestperf, migbench, ratio, target, verdict) and what
           each tool measures that the other does not, and writes both to
           OUT_DIR/self-guestperf.md.
Exit 0 when done (whatever the verdicts), 1 when something cannot be read or
patched, 2 for a bad command line. Nothing of guestperf is in migbench.
"""
import glob
import importlib.util
import json
import math
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from self_common import write_table  # noqa: E402

RUNS_GAIN = 10           # issue 13: >= 10x the runs per hour of guestperf
RESOLUTION_GAIN = 100    # issue 13: >= 100x finer guest-side downtime resolution


def fail(msg):
    print(f"self-guestperf.py: {msg}", file=sys.stderr)
    sys.exit(1)


# self-heartbeat.py's result reader and beat statistics (baseline window),
# loaded from beside this file: one definition of the heartbeat figures.
def _heartbeat_module():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "self-heartbeat.py")
    spec = importlib.util.spec_from_file_location("self_heartbeat", path)
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except OSError as e:
        fail(f"cannot load {path} (its heartbeat statistics are used here): {e}")
    return mod


# ---------------------------------------------------------------- sources

def deb_entries():
    """(uri, suite, components, signed_by) of every enabled `deb` entry."""
    out = []
    one_line = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
    for path in one_line:
        try:
            lines = open(path).read().splitlines()
        except OSError:
            continue
        for line in lines:
            line = line.split("#", 1)[0].split()
            if len(line) < 3 or line[0] != "deb":
                continue
            opts = ""
            rest = line[1:]
            if rest[0].startswith("["):
                while not rest[0].endswith("]"):
                    opts += rest.pop(0) + " "
                opts += rest.pop(0)
            m = re.search(r"signed-by=(\S+?)\]?(\s|$)", opts)
            out.append((rest[0], rest[1], rest[2:], m.group(1) if m else None))
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        try:
            text = open(path).read()
        except OSError:
            continue
        for stanza in re.split(r"\n\s*\n", text):
            f = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                k, v = line.split(":", 1)
                f[k.strip().lower()] = v.split()
            if "deb" not in f.get("types", []) or f.get("enabled", ["yes"])[0] == "no":
                continue
            for uri in f.get("uris", []):
                for suite in f.get("suites", []):
                    out.append((uri, suite, f.get("components", []), (f.get("signed-by") or [None])[0]))
    return out


def cmd_sources(path):
    lines = []
    for uri, suite, comps, signed in deb_entries():
        if "debian" not in uri:
            continue
        opt = f"[signed-by={signed}] " if signed and signed.startswith("/") else ""
        lines.append(f"deb-src {opt}{uri} {suite} {' '.join(comps)}")
    if not lines:
        fail("no Debian `deb` entry in /etc/apt/sources.list or sources.list.d: no archive to get qemu's source from")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


# ---------------------------------------------------------------- patch

# (file, what guestperf has, what the private copy gets, why)
PATCHES = [
    ("guestperf/engine.py", '            "-cpu", "host",\n', "",
     "TCG has no `-cpu host`; the default CPU, as migbench's guests"),
    ("guestperf/engine.py", 'argv.extend(["-accel", "kvm"])', 'argv.extend(["-accel", "tcg"])',
     "no usable KVM here"),
    ("guestperf/engine.py", '"-m", str((hardware._mem * 1024) + 512),',
     '"-m", os.environ.get("GUESTPERF_MEM_MIB", str((hardware._mem * 1024) + 512)),',
     "guest RAM in MiB (GUESTPERF_MEM_MIB): the main job's guest has 256 MiB"),
    ("guestperf/engine.py", 'args.append("ramsize=%s" % hardware._mem)',
     'args.append("ramsize=%s" % os.environ.get("GUESTPERF_WSS_MIB", hardware._mem * 1024))',
     "stress's working set in MiB (GUESTPERF_WSS_MIB)"),
    ("stress.c", '#include "qemu/osdep.h"\n',
     "#include <glib.h>\n#include <errno.h>\n#include <fcntl.h>\n#include <stdio.h>\n#include <stdlib.h>\n"
     "#include <string.h>\n#include <unistd.h>\n#include <sys/stat.h>\n#include <sys/sysmacros.h>\n"
     "#include <sys/time.h>\n",
     "built against glib alone, not QEMU's osdep.h"),
    ("stress.c", "unsigned long long ramsizeMB = ramsizeGB * 1024 / ncpus;",
     "unsigned long long ramsizeMB = ramsizeGB / ncpus; /* private copy: ramsize= is in MiB */",
     "ramsize= counts MiB (the progress record stays one per GiB written per thread)"),
    ("stress.c", '"%s (%05d): INFO: RAM %llu GiB across %d CPUs\\n"',
     '"%s (%05d): INFO: RAM %llu MiB across %d CPUs\\n"', "the message says MiB"),
]


def cmd_patch(root):
    for rel, old, new, why in PATCHES:
        path = os.path.join(root, rel)
        try:
            text = open(path).read()
        except OSError as e:
            fail(f"patch: cannot read {path}: {e}")
        n = text.count(old)
        if n != 1:
            fail(f"patch: {path}: expected the text {old.strip()!r} once, found it {n} times "
                 f"(this guestperf differs from QEMU 10.0's; the edit was: {why})")
        write_table(path, text.replace(old, new))
        print(f"patched {rel}: {why}")


# ---------------------------------------------------------------- table

def fmt(x, nd=1):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{nd}f}"


def span(xs, nd=1, unit=""):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    return f"{fmt(statistics.median(xs), nd)}{unit} ({fmt(min(xs), nd)}-{fmt(max(xs), nd)})"


def read_runs(out):
    path = os.path.join(out, "runs.tsv")
    try:
        with open(path) as f:
            head = f.readline().rstrip("\n").split("\t")
            rows = [dict(zip(head, line.rstrip("\n").split("\t"))) for line in f if line.strip()]
    except OSError as e:
        fail(f"cannot read {path}: {e}")
    for r in rows:
        r["wall_s"] = float(r["wall_s"])
        r["runs"] = int(r["runs"])
    return rows


def gp_report(out, row):
    path = os.path.join(out, row["output"])
    if row["status"] != "0" or not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail(f"guestperf output {path}: {e}")


def gp_spacing(rep):
    """Seconds between consecutive progress records of each stress thread."""
    by_tid = {}
    for t in rep.get("guest_timings", []):
        by_tid.setdefault(t["tid"], []).append(t["timestamp"])
    gaps = []
    for ts in by_tid.values():
        ts.sort()
        gaps += [b - a for a, b in zip(ts, ts[1:])]
    return gaps


def gp_poll_spacing(rep):
    """Seconds between the progress_history records (one per pass + the last)."""
    ts = [p["now"] for p in rep.get("progress_history", [])]
    return [b - a for a, b in zip(ts, ts[1:])]


def mb_results(out, rows, hb):
    docs = []
    for r in rows:
        for p in sorted(glob.glob(os.path.join(out, r["output"], "*", "*.json"))):
            if not p.endswith("campaign.json"):
                docs.append(hb.load(p))
    return docs


def table(out):
    hb = _heartbeat_module()
    rows = read_runs(out)
    gp_rows = [r for r in rows if r["tool"] == "guestperf"]
    mb_rows = [r for r in rows if r["tool"] == "migbench"]
    if not gp_rows or not mb_rows:
        fail(f"{out}/runs.tsv: needs runs of both tools (guestperf {len(gp_rows)}, migbench {len(mb_rows)})")
    gp_reps = [(r, gp_report(out, r)) for r in gp_rows]
    mb_docs = mb_results(out, mb_rows, hb)

    gp_n = sum(r["runs"] for r in gp_rows)
    gp_wall = sum(r["wall_s"] for r in gp_rows)
    mb_n = sum(r["runs"] for r in mb_rows)
    mb_wall = sum(r["wall_s"] for r in mb_rows)
    if not mb_docs or not mb_n:
        fail(f"migbench's campaign ({', '.join(r['output'] for r in mb_rows)}) gave no result: nothing to compare")
    gp_rph = 3600.0 * gp_n / gp_wall
    mb_rph = 3600.0 * mb_n / mb_wall

    # guest side: guestperf's per-GiB progress records vs migbench's beats
    gp_gaps = [g for _, rep in gp_reps if rep for g in gp_spacing(rep)]
    gp_res_ms = hb.quantile(gp_gaps, 0.5) * 1000 if gp_gaps else math.nan
    stats = [s for s in (hb.beat_stats(d) for d in mb_docs) if s]
    mb_med_us = statistics.median([s["g_med"] for s in stats]) if stats else math.nan
    mb_p99_us = statistics.median([s["g_p99"] for s in stats]) if stats else math.nan
    mb_res_ms = mb_p99_us / 1000.0
    period_ms = sorted({d["scenario"].get("heartbeat_period") for d in mb_docs})
    # the per-run sample interval of each tool's query-migrate poll
    gp_poll = [g for _, rep in gp_reps if rep for g in gp_poll_spacing(rep)]
    mb_sample_ms = sorted({d["scenario"].get("sample_interval") for d in mb_docs if d["scenario"].get("sample_interval")})

    def ratio(a, b):
        return a / b if a and b and not math.isnan(a) and not math.isnan(b) else math.nan

    rph_ratio = ratio(mb_rph, gp_rph)
    res_ratio = ratio(gp_res_ms, mb_res_ms)
    mb_med_ms = mb_med_us / 1000.0
    med_ratio = ratio(gp_res_ms, mb_med_ms)
    gp_finest_ms = min(gp_gaps) * 1000 if gp_gaps else math.nan
    finest_ratio = ratio(gp_finest_ms, mb_res_ms)
    gp_sleep = next((rep.get("sleep") for _, rep in gp_reps if rep and rep.get("sleep") is not None), None)
    # Each run's settle; the next run's baseline is counted from the guest's
    # last resume, so it lies inside that settle: only a started guest's
    # first baseline adds (bench/self-campaign.py splits them the same way).
    mb_waits = (sum(d["scenario"].get("settle", 0) + (d["scenario"].get("baseline", 0) if "guest_start" in d["run"] else 0)
                    for d in mb_docs) / 1000.0 / len(mb_docs)) if mb_docs else None
    # time inside the migration (`migrate` to completed) of the completed runs
    gp_mig = [rep["progress_history"][-1]["duration"] / 1000.0 for _, rep in gp_reps
              if rep and rep.get("progress_history") and rep["progress_history"][-1].get("status") == "completed"]
    mb_mig = [d["metrics"]["total_time_ms"] / 1000.0 for d in mb_docs
              if d["run"].get("status") == "completed" and d["metrics"].get("total_time_ms") is not None]

    def verdict(x, target):
        return "-" if math.isnan(x) else ("PASS" if x >= target else "MISS")

    # downtime figures, per mode
    def gp_dt(rep):
        last = (rep.get("progress_history") or [{}])[-1]
        return last.get("downtime") if last.get("status") == "completed" else None

    gp_by_mode, mb_by_mode = {}, {}
    for r, rep in gp_reps:
        gp_by_mode.setdefault(r["mode"], []).append((r, rep))
    for d in mb_docs:
        mb_by_mode.setdefault(d["scenario"]["mode"], []).append(d)

    lines = ["# The instrument's own performance: guestperf and migbench on the same scenarios", ""]
    meta_path = os.path.join(out, "meta.txt")
    if os.path.exists(meta_path):
        lines += ["```", open(meta_path).read().rstrip("\n"), "```", ""]
    lines += ["| figure | guestperf | migbench | ratio | target | verdict |",
              "| --- | ---: | ---: | ---: | --- | --- |",
              f"| runs per hour (runs / campaign wall time) | {fmt(gp_rph, 0)} ({gp_n} runs in {fmt(gp_wall, 0)} s) "
              f"| {fmt(mb_rph, 0)} ({mb_n} runs in {fmt(mb_wall, 0)} s) | {fmt(rph_ratio, 2)}× "
              f"| ≥ {RUNS_GAIN}× | {verdict(rph_ratio, RUNS_GAIN)} |",
              f"| wall time per run, s | {fmt(gp_wall / gp_n)} | {fmt(mb_wall / mb_n)} | | | |",
              f"| fixed waits per run by design, s (guestperf: --sleep N waits N-1 s before `migrate` and again after a completed one; "
              f"migbench: each run's settle, the next baseline inside it, plus a started guest's first baseline) | {fmt(2 * (gp_sleep - 1), 0) if gp_sleep is not None else '-'} "
              f"| {fmt(mb_waits, 1) if mb_waits is not None else '-'} | | reported | |",
              f"| time inside the migration per completed run, s (`migrate` → completed; median) "
              f"| {span(gp_mig, 2)} | {span(mb_mig, 2)} | | reported | |",
              f"| guest-side downtime resolution, ms: median spacing of the guest's records (guestperf: stress's "
              f"per-GiB progress lines, {len(gp_gaps)} spacings; migbench: heartbeats, baseline window, "
              f"heartbeat_period {'/'.join(fmt(p, 3) for p in period_ms)} ms) | {fmt(gp_res_ms, 0)} "
              f"({fmt(gp_finest_ms, 0)}-{fmt(max(gp_gaps) * 1000 if gp_gaps else None, 0)}) | {fmt(mb_med_ms, 3)} | {fmt(med_ratio, 0)}× finer | ≥ {RESOLUTION_GAIN}× finer "
              f"| {verdict(med_ratio, RESOLUTION_GAIN)} |",
              f"| the same, migbench at its p99 beat period (its tail under the host's load) | {fmt(gp_res_ms, 0)} "
              f"| {fmt(mb_res_ms, 3)} | {fmt(res_ratio, 0)}× finer | ≥ {RESOLUTION_GAIN}× finer "
              f"| {verdict(res_ratio, RESOLUTION_GAIN)} |",
              f"| the same, guestperf at its finest spacing against migbench's p99 (the strictest pairing) "
              f"| {fmt(gp_finest_ms, 0)} | {fmt(mb_res_ms, 3)} | {fmt(finest_ratio, 0)}× finer "
              f"| ≥ {RESOLUTION_GAIN}× finer | {verdict(finest_ratio, RESOLUTION_GAIN)} |",
              "| QEMU's own `downtime` (query-migrate), resolution | 1 ms (integer) | 1 ms (integer, `qemu_reported.downtime`) "
              "| 1× | reported | |",
              "| STOP→RESUME from QMP events (`downtime_ms`), resolution | not measured | 0.001 ms (µs event timestamps) | | reported | |",
              f"| query-migrate polling period, ms | {fmt(hb.quantile(gp_poll, 0.0) * 1000 if gp_poll else None, 0)}-"
              f"{fmt(max(gp_poll) * 1000 if gp_poll else None, 0)} between kept records (polled every 50, one record kept per pass) "
              f"| {'/'.join(fmt(s, 0) for s in mb_sample_ms) or '-'} (every sample kept) | | reported | |",
              ""]

    lines += ["Per mode (median, min-max over the runs; `-` where no run gave the figure):", "",
              "| mode | tool | runs | completed | wall s / run | QEMU downtime ms | STOP→RESUME ms | guest gap ms "
              "| guest-side samples / run | sample spacing ms (median) |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for mode in ("precopy", "postcopy", "hybrid"):
        g = gp_by_mode.get(mode, [])
        if g:
            reps = [rep for _, rep in g if rep]
            done = [rep for rep in reps if gp_dt(rep) is not None]
            gaps = [x for rep in reps for x in gp_spacing(rep)]
            lines.append(f"| {mode} | guestperf | {len(g)} | {len(done)} | {span([r['wall_s'] for r, _ in g])} "
                         f"| {span([gp_dt(rep) for rep in done], 0)} | not measured | not measured "
                         f"| {span([len(rep.get('guest_timings', [])) for rep in reps], 0)} "
                         f"| {fmt(hb.quantile(gaps, 0.5) * 1000 if gaps else None, 0)} |")
        m = mb_by_mode.get(mode, [])
        if m:
            done = [d for d in m if d["run"].get("status") == "completed"]
            mb_wall_per = [r["wall_s"] / r["runs"] for r in mb_rows]
            hbst = [s for s in (hb.beat_stats(d) for d in m) if s]
            lines.append(f"| {mode} | migbench | {len(m)} | {len(done)} | {span(mb_wall_per)} (campaign mean) "
                         f"| {span([(d.get('qemu_reported') or {}).get('downtime') for d in done], 0)} "
                         f"| {span([d['metrics'].get('downtime_ms') for d in done])} "
                         f"| {span([d['metrics'].get('guest_downtime_ms') for d in done])} "
                         f"| {span([len((d.get('heartbeats') or {}).get('seq') or []) for d in m], 0)} "
                         f"| {fmt(statistics.median([s['g_med'] for s in hbst]) / 1000 if hbst else None, 3)} |")
    lines.append("")
    statuses = {}
    for d in mb_docs:
        statuses.setdefault(d["scenario"]["mode"], []).append(d["run"].get("status"))
    for r, rep in gp_reps:
        if rep is None:
            lines.append(f"guestperf {r['mode']} run {r['rep']}: no output (exit {r['status']}): "
                         f"{r.get('error', '') or 'see ' + r['output'] + '.stderr'}")
    for mode, st in statuses.items():
        bad = [s for s in st if s != "completed"]
        if bad:
            lines.append(f"migbench {mode}: {len(bad)} of {len(st)} runs {', '.join(sorted(set(bad)))}")
    lines.append("")
    lines += measures(gp_reps, mb_docs)
    text = "\n".join(lines) + "\n"
    write_table(os.path.join(out, "self-guestperf.md"), text)
    sys.stdout.write(text)


# guestperf's scenario and hardware knobs, and migbench's key for each (None:
# migbench has no such key); checked against the keys migbench's results echo.
GP_KNOBS = [
    ("pause", "stop the guest after N passes (--pause)", None),
    ("dirty_limit", "dirty-limit throttling with the dirty ring (--dirty-limit, --dirty-ring-size)", None),
    ("src_mem_bind", "NUMA memory binding of each side (--src-mem-bind, --dst-mem-bind)", None),
    ("auto_converge", "auto-converge", "auto_converge"),
    ("compression_xbzrle", "xbzrle", "xbzrle_cache"),
    ("multifd", "multifd", "multifd"),
]


def measures(gp_reps, mb_docs):
    """What each tool's output holds that the other's does not, checked on these outputs."""
    reps = [rep for _, rep in gp_reps if rep]
    m = lambda d: d.get("metrics") or {}

    def gp_has(key):
        return any(rep.get(key) for rep in reps)

    def mb_has(f):
        return any(f(d) for d in mb_docs)

    def note(ok):
        return "" if ok or ok is None else " (not in these outputs)"

    mb_keys = set().union(*[set(d["scenario"]) for d in mb_docs]) if mb_docs else set()
    gp_keys = set().union(*[set(rep.get("scenario", {})) | set(rep.get("hardware", {})) for rep in reps]) if reps else set()
    knobs = [what for key, what, mb_key in GP_KNOBS if key in gp_keys and (mb_key is None or mb_key not in mb_keys)]
    before = [rep.get("sleep") for rep in reps if rep.get("sleep") is not None]
    lines = ["### What each measures that the other does not", "",
             "guestperf only:",
             f"- the guest's work for {before[0] if before else '?'} s before and after the migration (`guest_timings`: ms per "
             f"GiB written, per stress thread){note(gp_has('guest_timings'))}; migbench's baseline and settle are 2 s each",
             f"- CPU time of the source QEMU process and of each vCPU thread once a second, including the "
             f"{before[0] if before else '?'} s before `migrate` (`qemu_timings`, `vcpu_timings`)"
             f"{note(gp_has('qemu_timings') and gp_has('vcpu_timings'))}; migbench's counters probe has CPU time and "
             f"software events per thread of both QEMUs, but by migration phase, from `migrate` on",
             f"- scenario knobs migbench has no key for: {'; '.join(knobs) if knobs else 'none'}",
             "", "migbench only:"]
    only_mb = [
        ("guest-observed downtime from 1 ms heartbeats (`guest_downtime_ms`), split at STOP and RESUME (`guest_gap_*`)",
         mb_has(lambda d: m(d).get("guest_downtime_ms") is not None)),
        ("downtime from QMP events STOP→RESUME in µs (`downtime_ms`)", mb_has(lambda d: m(d).get("downtime_ms") is not None)),
        ("preparation and resume time (`preparation_time_ms`, `resume_time_ms`)",
         mb_has(lambda d: m(d).get("preparation_time_ms") is not None and m(d).get("resume_time_ms") is not None)),
        ("pages by phase: pre-copy, downtime, post-copy (`pages_transferred`)", mb_has(lambda d: m(d).get("pages_transferred") is not None)),
        ("the workload's rate by phase against its baseline, time back to 95 % (`degradation`)",
         mb_has(lambda d: m(d).get("degradation") is not None)),
        ("post-copy page faults: blocktime and latency (`postcopy_faults`)", mb_has(lambda d: m(d).get("postcopy_faults"))),
        ("every page of the working set verified on the destination (`memory_verify`), heartbeats and console checked "
         "through settle (`run.health`)", mb_has(lambda d: m(d).get("memory_verify") and d["run"].get("health"))),
        ("the destination QEMU's threads too (`counters.destination`)", mb_has(lambda d: (d.get("counters") or {}).get("destination"))),
        ("energy per RAPL domain, or why not (`energy`)", mb_has(lambda d: d.get("energy") is not None)),
        ("every query-migrate sample, not one per pass (`samples`); QEMU's figures verbatim (`qemu_reported`)",
         mb_has(lambda d: d.get("samples") and d.get("qemu_reported"))),
        ("a result with status and reason for a run that did not converge (guestperf raised "
         "'Could not perform graceful shutdown' and wrote nothing)",
         mb_has(lambda d: d["run"].get("status") == "did-not-converge")),
        ("migbench's own CPU time and peak RSS per run (`self`)", mb_has(lambda d: d.get("self"))),
        ("a network client's downtime with workload=echo/kv (`client_downtime_ms`; not used here: "
         "the scenario is guestperf's memory-only stress)", None),
    ]
    lines += [f"- {t}{note(ok)}" for t, ok in only_mb]
    lines.append("")
    return lines


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("sources", "patch", "table"):
        print("usage: self-guestperf.py sources OUT.list | patch MIGRATION_STRESS_DIR | table OUT_DIR", file=sys.stderr)
        sys.exit(2)
    {"sources": cmd_sources, "patch": cmd_patch, "table": table}[sys.argv[1]](sys.argv[2])


if __name__ == "__main__":
    main()
