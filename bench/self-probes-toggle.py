#!/usr/bin/env python3
"""Probe overhead on ONE running QEMU (issue 13), run by bench/self-probes.sh.

Migrating between on and off runs measures the QEMUs as much as the probes:
under TCG one destination QEMU runs the same guest 14-20 % faster or slower
than the next. Here the guest never moves. `migbench boot` runs a guest
dirtying memory unpaced (1 vCPU) and prints, once a second, the pages it
wrote per second of guest time; meanwhile this script runs migbench's probes
against that QEMU (`migbench host-probes`: the same probe code a run uses,
in a process of its own, on the QEMU's pid and vCPU threads) for PHASE
seconds, then nothing for PHASE seconds, CYCLES times, the order of on and
off drawn at random in each cycle. Each one-second window that lies wholly
inside an on or an off phase is kept; each cycle gives one on/off ratio
(mean of its on windows over mean of its off windows). Also the probes' own
CPU time per second on (wait4 of each host-probes process).
"""
import argparse
import os
import pty
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import json

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from self_common import run, write_table  # noqa: E402

LINE = re.compile(r"^\s*([0-9.]+) s\s+heartbeats\s+([0-9.]+)/s\s+dirty\s+([0-9.]+) pages/s")


def say(msg):
    print(f"self-probes-toggle.py: {msg}", file=sys.stderr, flush=True)


class Boot:
    """`migbench boot`, its per-second lines stamped with this script's clock."""

    def __init__(self, migbench, extra):
        cmd = [migbench, "boot", "--duration", "0", "--rate", "0", "--wss", "64M", "--vcpus", "1"] + extra
        # On a terminal `migbench boot` reports every second (else every 5 s).
        self.master, slave = pty.openpty()
        self.p = subprocess.Popen(cmd, stdout=slave, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        os.close(slave)
        self.windows = []          # (end time on our clock, pages/s, vCPU CPU share)
        self.vcpu_stat = None      # /proc path of the vCPU thread, once known
        self.last_cpu = None
        self.up = threading.Event()
        self.head = []
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            now = time.monotonic()
            buf += chunk
            *lines, buf = re.split(rb"[\r\n]", buf)
            for raw in lines:
                line = raw.replace(b"\x1b[K", b"").decode(errors="replace")
                m = LINE.match(line)
                if m:
                    self.windows.append((now, float(m.group(3)), self.cpu_share(now)))
                    self.up.set()
                elif line.strip():
                    self.head.append(line.rstrip())
        self.up.set()

    def cpu_share(self, now):
        """The vCPU thread's share of a core since the last line, or None."""
        if not self.vcpu_stat:
            return None
        try:
            with open(self.vcpu_stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        last, self.last_cpu = self.last_cpu, (now, cpu)
        if not last or now <= last[0]:
            return None
        return (cpu - last[1]) / (now - last[0])

    def qemu(self):
        """The QEMU's pid and its vCPU threads."""
        for task in os.listdir(f"/proc/{self.p.pid}/task"):
            with open(f"/proc/{self.p.pid}/task/{task}/children") as f:
                for child in f.read().split():
                    if "qemu" in open(f"/proc/{child}/comm").read():
                        vcpus = []
                        for t in sorted(os.listdir(f"/proc/{child}/task"), key=int):
                            comm = open(f"/proc/{child}/task/{t}/comm").read().strip()
                            m = re.match(r"CPU (\d+)/", comm)
                            if m:
                                vcpus.append({"tid": int(t), "index": int(m.group(1))})
                        self.vcpu_stat = f"/proc/{child}/task/{vcpus[0]['tid']}/stat" if vcpus else None
                        return int(child), vcpus
        raise RuntimeError("no QEMU child of migbench boot")

    def stop(self):
        self.p.send_signal(2)
        try:
            self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def probes_on(migbench, pid, vcpus, seconds):
    """Runs host-probes on the QEMU; (on interval, CPU seconds it used)."""
    p = subprocess.Popen([migbench, "host-probes"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         bufsize=1)
    side = {"role": "source", "host": os.uname().nodename, "pid": pid, "vcpus": vcpus, "vcpu_error": ""}
    p.stdin.write(json.dumps({"params": {}, "side": side}) + "\n")
    reply = json.loads(p.stdout.readline())
    if not reply.get("started"):
        raise RuntimeError(f"migbench host-probes did not start: {reply}")
    t0 = time.monotonic()
    time.sleep(seconds)
    t1 = time.monotonic()
    p.stdin.write(json.dumps({"stop": {"times": {}}}) + "\n")
    p.stdin.close()
    p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    if status:
        raise RuntimeError(f"migbench host-probes exited with status {status}")
    return (t0, t1), ru.ru_utime + ru.ru_stime, reply.get("failures", {})


def inside(t_end, iv):
    return iv[0] <= t_end - 1.0 and t_end <= iv[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--migbench", required=True)
    ap.add_argument("--phase", type=float, default=3.0)
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--table", required=True)
    ap.add_argument("--start", default="snapshot", help="guest_start of the boot")
    a = ap.parse_args()

    boot = Boot(a.migbench, ["--set", f"guest_start={a.start}"])
    try:
        if not boot.up.wait(180) or boot.p.poll() is not None:
            raise RuntimeError("migbench boot did not come up: " + " | ".join(boot.head[-5:]))
        pid, vcpus = boot.qemu()
        say(f"QEMU {pid}, vCPU threads {[v['tid'] for v in vcpus]}; warming up")
        time.sleep(3)
        cycles, per_cpu, shares, cpu, failures = [], [], [], [], {}
        for c in range(a.cycles):
            order = ["on", "off"] if random.random() < 0.5 else ["off", "on"]
            ivs = {}
            for what in order:
                if what == "on":
                    ivs["on"], used, failures = probes_on(a.migbench, pid, vcpus, a.phase)
                    cpu.append(used / (ivs["on"][1] - ivs["on"][0]))
                else:
                    t0 = time.monotonic()
                    time.sleep(a.phase)
                    ivs["off"] = (t0, time.monotonic())
            time.sleep(1.1)             # the last window's line
            on = [(r, c) for t, r, c in boot.windows if inside(t, ivs["on"]) and c]
            off = [(r, c) for t, r, c in boot.windows if inside(t, ivs["off"]) and c]
            if on and off:
                cycles.append((statistics.mean(r for r, _ in on), statistics.mean(r for r, _ in off)))
                per_cpu.append((statistics.mean(r / c for r, c in on), statistics.mean(r / c for r, c in off)))
                shares.append((statistics.mean(c for _, c in on), statistics.mean(c for _, c in off)))
                on_rate, off_rate = cycles[-1]
                say(f"cycle {c + 1}/{a.cycles} ({'-'.join(order)}): on {on_rate:.0f}, off {off_rate:.0f} pages/s "
                    f"({100 * (on_rate / off_rate - 1):+.2f} %)")
            else:
                say(f"cycle {c + 1}: no whole window on and off; skipped")
    finally:
        boot.stop()

    if len(cycles) < 3:
        raise RuntimeError(f"only {len(cycles)} usable cycles")
    def slowdown(pairs):
        """Median slowdown on vs off and a distribution-free 95 % interval
        of it (order statistics)."""
        ratios = sorted(on / off - 1 for on, off in pairs)
        n = len(ratios)
        k = max(0, int(n / 2 - 0.98 * n ** 0.5))
        return -statistics.median(ratios), -ratios[n - 1 - k], -ratios[k]

    n = len(cycles)
    slow, lo, hi = slowdown(cycles)
    cslow, clo, chi = slowdown(per_cpu)
    with open("/proc/loadavg") as f:
        loadavg = " ".join(f.read().split()[:3])
    rows = [
        "| figure | measured | target | verdict |",
        "|---|---|---|---|",
        f"| guest slowdown with every probe on (median of {n} on/off cycles, one QEMU, {a.phase:.0f} s phases) | "
        f"{100 * slow:+.2f} % (95 % CI {100 * lo:+.2f} to {100 * hi:+.2f} %) | <= 1 % | "
        f"{'PASS' if hi <= 0.01 else 'PASS (median; CI wider than the target)' if slow <= 0.01 else 'MISS'} |",
        f"| ... per second of the vCPU thread's CPU time (the host's other load cancels out) | "
        f"{100 * cslow:+.2f} % (95 % CI {100 * clo:+.2f} to {100 * chi:+.2f} %) | <= 1 % | "
        f"{'PASS' if chi <= 0.01 else 'PASS (median; CI wider than the target)' if cslow <= 0.01 else 'MISS'} |",
        f"| the vCPU thread's share of a core, on / off (medians) | "
        f"{100 * statistics.median(s for s, _ in shares):.1f} % / {100 * statistics.median(s for _, s in shares):.1f} % | - | INFO |",
        f"| off-to-off spread: stdev of the off windows' means across cycles | "
        f"{100 * statistics.stdev([off for _, off in cycles]) / statistics.mean([off for _, off in cycles]):.2f} % | "
        f"- | INFO |",
        f"| the probes' own CPU while on (host-probes process) | {100 * statistics.median(cpu):.2f} % of a core | - | INFO |",
    ]
    text = ("# Probe overhead on one QEMU\n\n"
            f"`bench/self-probes-toggle.py` (load average at the end: {loadavg}); the guest dirties memory "
            "unpaced on 1 vCPU, the rate is pages per second of guest time; probes that could not run here: "
            f"{', '.join(sorted(failures)) or 'none'}.\n\n" + "\n".join(rows) + "\n")
    print(text)
    write_table(a.table, text)
    return 0


if __name__ == "__main__":
    run(main, say)
