/* A probe collects one kind of evidence during a migration. One ops table
 * per probe; the registry is probes/registry.c. A probe that cannot run on
 * this host says why in its JSON and never fails the run. */
#ifndef MB_PROBE_H
#define MB_PROBE_H

#include <sys/types.h>

#include <jansson.h>

#include "bench/error.h"

struct mb_qmp;
struct mb_run_spec;
struct mb_mig_times;

/* What a probe may look at while a migration runs. */
struct mb_probe_ctx {
	const struct mb_run_spec *spec;
	struct mb_qmp *src_qmp, *dst_qmp;
	pid_t src_pid, dst_pid;
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
