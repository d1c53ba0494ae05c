/* A probe collects one kind of evidence during a migration. One file with
 * its ops table (its own scenario keys, help and headline metrics included),
 * one line in probes/registry.c. A probe that cannot run on this host says
 * why in its JSON and never fails the run. */
#ifndef MB_PROBE_H
#define MB_PROBE_H

#include <sys/types.h>

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "bench/error.h"
#include "bench/scenario.h"   /* struct mb_key: a probe's own scenario keys */

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
	const void *options;     /* this probe's own options struct, parsed from its
	                          * keys (ops.options); NULL when it has none */
};

struct mb_probe_ops {
	const char *name;        /* key of its output in the result: no other
	                          * probe's nor a member migbench writes
	                          * (bench/plugins.c refuses a clash at start-up) */
	const char *summary;     /* one line; heads its keys in `run --help` */
	/* Its own scenario keys (like fio's ioengine .options): a table ended by
	 * { 0 } whose MB_FIELD offsets point into its options struct of
	 * options_size bytes, which start() finds parsed in ctx->options.
	 * The keys are part of the one namespace (files, --KEY, sweeps,
	 * `run --help` under the probe's name, the result's scenario block). */
	const struct mb_key *options;
	size_t options_size;
	/* Starts collecting once the destination is up, a baseline window
	 * (the runner's idle wait) before `migrate` is sent. */
	int (*start)(void **state, const struct mb_probe_ctx *ctx, struct mb_err *err);
	/* Stops collecting once the migration is over. */
	int (*stop)(void *state, struct mb_err *err);
	/* What it collected (new reference), split by the migration's
	 * phases where that means something; `times` may have zeros (a
	 * migration that did not complete). */
	json_t *(*to_json)(void *state, const struct mb_mig_times *times);
	/* Its headline figures, added to the result's `metrics` (which holds
	 * only its own figures when called; migbench merges them and reports
	 * a name that clashes under metrics.unavailable). After to_json, before
	 * free; NULL = none. */
	void (*metrics)(void *state, const struct mb_mig_times *times, json_t *metrics);
	void (*free)(void *state);
};

/* The probes run around every migration; their output goes into the
 * result under each probe's name. Adding a probe: one file with its ops
 * table, one line in probes/registry.c. */
extern const struct mb_probe_ops *const mb_probes[];

/* The registered probes started around one migration (bench/migration.c
 * and `migbench host-probes`): each with its own options from ctx->spec. */
struct mb_probe_set;

/* The `probes` scenario key: "all", "none", or registered probes' names
 * joined by '+' ("counters+energy"; ',' would sweep), checked where the key
 * is (bench/scenario_keys.c, against the plug-ins of kind "probe").
 * Whether probe `name` runs under `sel` (a checked value; NULL = all). */
bool mb_probe_selected(const char *sel, const char *name);

/* Starts every probe the run's `probes` key selects (the others neither run
 * nor appear in the output); one that cannot start is a failure in the
 * output, never an error. NULL only when out of memory. */
struct mb_probe_set *mb_probe_set_start(const struct mb_probe_ctx *ctx);
void mb_probe_set_stop(struct mb_probe_set *ps);
/* {probe name: {available: false, reason}} of those that failed so far. */
json_t *mb_probe_set_failures(const struct mb_probe_set *ps);
/* {probe name: output or {available: false, reason}}; with `metrics`, each
 * probe's headline metrics merged into it ({} when none). Frees the probes
 * and the set. */
json_t *mb_probe_set_collect(struct mb_probe_set *ps, const struct mb_mig_times *times,
			     json_t **metrics);

#endif
