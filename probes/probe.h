/* A probe collects one kind of evidence during a migration. One ops table
 * per probe; the registry is probes/registry.c. A probe that cannot run on
 * this host says why in its JSON and never fails the run. */
#ifndef MB_PROBE_H
#define MB_PROBE_H

#include <sys/types.h>

#include <jansson.h>
#include <stddef.h>

#include "bench/error.h"

struct mb_run_spec;
struct mb_mig_times;

#define MB_PROBE_MAX_VCPUS 256

enum { MB_SIDE_SOURCE, MB_SIDE_DESTINATION, MB_SIDES };

/* One side of the migration as the runner describes it: where it runs and
 * which processes and threads are its hypervisor. Probes need nothing else
 * of the runner (no QMP, no libvirt). */
struct mb_probe_side {
	const char *role;        /* "source", "destination" */
	const char *host;        /* the host it runs on, as the result names it */
	int local;               /* its processes are this host's: /proc,
	                          * perf and powercap here see them */
	const char *exec;        /* how to run a program on that host, e.g.
	                          * `ssh -o BatchMode=yes root@host`; NULL = this host */
	pid_t pid;               /* the hypervisor process; 0 = none (yet) */
	size_t nvcpus;           /* vCPU threads known (0 with vcpu_error) */
	pid_t vcpu_tid[MB_PROBE_MAX_VCPUS];
	int vcpu_index[MB_PROBE_MAX_VCPUS];
	char vcpu_error[160];    /* why the vCPU threads are not known; "" */
};

/* What a probe may look at while a migration runs. */
struct mb_probe_ctx {
	const struct mb_run_spec *spec;
	struct mb_probe_side side[MB_SIDES];
	const char *netns;       /* the run's network namespace (/run/netns/NAME)
	                          * when the guest runs a network service; else NULL */
};

struct mb_probe_ops {
	const char *name;        /* key of its output in the result */
	const char *summary;
	/* Starts collecting once the destination is up, a baseline window
	 * (the runner's idle wait) before `migrate` is sent. */
	int (*start)(void **state, const struct mb_probe_ctx *ctx, struct mb_err *err);
	/* Stops collecting once the migration is over. */
	int (*stop)(void *state, struct mb_err *err);
	/* What it collected (new reference), split by the migration's
	 * phases where that means something; `times` may have zeros (a
	 * migration that did not complete). */
	json_t *(*to_json)(void *state, const struct mb_mig_times *times);
	void (*free)(void *state);
};

/* The probes run around every migration; their output goes into the
 * result under each probe's name. Adding a probe: one file with its ops
 * table, one line in probes/registry.c. */
extern const struct mb_probe_ops *const mb_probes[];

#endif
