/* Probes on the other hosts of a migration: for each side whose QEMU runs
 * on another host (struct mb_probe_side: local == 0, exec set), migbench
 * starts `migbench host-probes` there through that side's exec prefix (the
 * ssh that libvirt's qemu+ssh:// URI uses) and talks line-delimited JSON
 * over its stdin/stdout (bench/cmd_host_probes.c has the protocol):
 *
 *   -> {"params": {KEY: TEXT...}, "side": {role, host, pid, vcpus, vcpu_error}}
 *   <- {"started": true, "failures": {...}, "clock_real_us": T}
 *   -> {"ping": N}          <- {"pong": N, "clock_real_us": T}     (5 times)
 *   -> {"stop": {}}         <- {"stopped": true, "clock_real_us": T}
 *   -> {"collect": {"times": {...on its clock}}}   <- {"probes": {...}}
 *
 * The remote clock's offset is measured NTP-style over that channel: offset
 * = remote - (t_send + t_recv) / 2 of the ping with the smallest round trip;
 * the migration's instants are shifted by it before they are sent, so the
 * remote probes split their series into the same phases.
 *
 * A host that cannot be reached or whose host-probes fails is recorded with
 * the reason and never fails the run. The child is always reaped (by PID,
 * SIGKILL to its own process group after a timeout); it also exits on EOF
 * of its stdin, and when migbench dies (PR_SET_PDEATHSIG). */
#ifndef MB_REMOTE_PROBES_H
#define MB_REMOTE_PROBES_H

#include <jansson.h>
#include <stdint.h>

#include "bench/metrics.h"
#include "probes/probe.h"

struct mb_remote_probes;

/* How long an answer of a remote host-probes may take (ms; the first one
 * includes the ssh connection). Tests shorten it. */
extern int mb_remote_probes_timeout_ms;

/* Starts host-probes for every remote side with an exec prefix; NULL when
 * there is none (nothing to do). Never fails: what went wrong is in the
 * output of mb_remote_probes_collect. The remote binary is
 * $MIGBENCH_REMOTE_BIN, else "migbench" (found by the remote PATH). */
struct mb_remote_probes *mb_remote_probes_start(const struct mb_probe_ctx *ctx);

/* Stops the remote probes (once the migration is over). NULL is a no-op. */
void mb_remote_probes_stop(struct mb_remote_probes *rp);

/* {"HOST": {"role", "clock_offset_us", "clock_rtt_us", "clock", "probes"}
 * or {"role", "available": false, "reason"}} for each remote side, with
 * `times` (this host's clock) converted to each host's clock. Reaps every
 * child and frees `rp`. */
json_t *mb_remote_probes_collect(struct mb_remote_probes *rp, const struct mb_mig_times *times);

/* The migration's instants as JSON {start_us, src_stop_us, ...}, each
 * non-zero one shifted by offset_us (zeros stay 0: "did not happen"). */
json_t *mb_remote_times_to_json(const struct mb_mig_times *t, int64_t offset_us);
/* And back; keys missing are 0. -1 with `err` when a value is not an integer. */
int mb_remote_times_from_json(const json_t *o, struct mb_mig_times *t, struct mb_err *err);

#endif
