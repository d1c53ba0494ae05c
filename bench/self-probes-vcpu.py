#!/usr/bin/env python3
"""The CPU time of the guests' vCPU threads, for bench/self-probes.sh.

  python3 bench/self-probes-vcpu.py MIGBENCH_PID OUT.tsv

Every 20 ms until MIGBENCH_PID exits: one line "real_us pid vcpu_ns" per
QEMU that MIGBENCH_PID started, vcpu_ns the run time of its vCPU threads
(debug-threads=on names them "CPU N/TCG" or "CPU N/KVM"; their
/proc/PID/task/TID/schedstat, ns). bench/self-probes.py divides the guest's
work counter by it: work per vCPU second, which the host's other load (how
much of a core the vCPU gets) does not move, while what the probes do to
the vCPU's own speed would.
"""
import os
import sys
import time


def children(parent):
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # comm may hold spaces: the fields after it start past the last ')'
        if stat[stat.rfind(")") + 2:].split()[1] == parent:
            yield pid


def vcpu_ns(pid):
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if not f.read().startswith("CPU "):
                    continue
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
    except (OSError, ValueError):
        return None
    return total


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: self-probes-vcpu.py MIGBENCH_PID OUT.tsv")
    parent, out = argv[1], argv[2]
    with open(out, "w") as f:
        while os.path.exists(f"/proc/{parent}"):
            now = time.time_ns() // 1000
            for pid in children(parent):
                ns = vcpu_ns(pid)
                if ns:
                    f.write(f"{now}\t{pid}\t{ns}\n")
            f.flush()
            time.sleep(0.02)


if __name__ == "__main__":
    main(sys.argv)
