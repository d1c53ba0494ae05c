/* A runner drives one hypervisor: it boots the guest, starts destinations
 * and carries out migrations. The mode logic (when to switch to post-copy,
 * when to give up) lives above it in bench/migration.c, so every runner
 * gets the same definitions. One ops table per runner; the registry is
 * runners/registry.c.
 *
 * The contract is in migbench's own terms, so that the layers above need
 * no hypervisor handle (QMP, libvirt) of any runner:
 * - events: each side's timestamped lifecycle and migration events
 *   (mb_mig_record.events, the shape below), from which
 *   mb_mig_times_from_events derives the instants the metrics use;
 * - statistics: the sampler's series (probes/migrate_sampler.h: the
 *   runner supplies the fetch) and the final statistics of each side;
 * - the processes, vCPU threads and host of each side (probe_ctx), which
 *   is all that probes see;
 * - the guest's streams: heartbeats (heartbeat_count, heartbeat_series),
 *   the agent's commands (guest_command), the console (console_problems)
 *   and how the boot went (guest_status). */
#ifndef MB_RUNNER_H
#define MB_RUNNER_H

#include <stdint.h>

#include <jansson.h>

#include "bench/error.h"
#include "bench/metrics.h"
#include "bench/scenario.h"
#include "probes/heartbeat.h" /* struct mb_hb_reply: the agent's protocol */
#include "probes/migrate_sampler.h"
#include "probes/probe.h"

/* What a poll saw of a migration in progress (the source's view). */
struct mb_mig_progress {
	char status[32];            /* QEMU's: setup, active, postcopy-active, completed, failed, cancelled... */
	unsigned passes;            /* memory passes started (dirty-sync-count) */
	uint64_t transferred;       /* bytes */
	uint64_t remaining;         /* bytes */
	uint64_t total;             /* bytes of guest RAM */
	uint64_t dirty_rate;        /* pages/s as QEMU measures it */
	uint64_t expected_downtime_ms;
	uint64_t postcopy_requests;
};

/* Everything one migration leaves behind for the metrics and the result. */
struct mb_mig_record {
	struct mb_mig_times times;
	/* [{side, event, data, qemu_us, host_real_us, host_mono_us}]: side
	 * "source" or "destination"; event and data as QEMU names them (STOP,
	 * RESUME, MIGRATION {status}, MIGRATION_PASS {pass}) whoever relays
	 * them; qemu_us QEMU's own timestamp (host realtime, µs), the host_*
	 * clocks when migbench received it. A runner may add events of its
	 * own kind (with a "source" of its name): they are recorded, not timed. */
	json_t *events;
	json_t *samples;            /* query-migrate time series (source), or NULL: */
	FILE *samples_file;         /* ... the same as JSON Lines in a spool file
	                             * (mb_migrate_sampler_take_spool), samples_count of them */
	size_t samples_count;
	json_t *final_source;       /* source's query-migrate after completion */
	json_t *final_destination;  /* destination's query-migrate after completion */
	json_t *migration_parameters; /* {source, destination}: query-migrate-parameters
	                             * after the migration (null for a side that did not answer) */
	json_t *hypervisor;         /* {source:{binary,version}, destination:{...}} */
	json_t *console;            /* guest console lines that failed the health check */
	json_t *probes;             /* {probe name: its output} */
	json_t *probe_metrics;      /* {probe name: its headline metrics (ops.metrics)} */
	json_t *runner_reported;    /* {"NAME_reported": what the runner's own layer reported
	                             * of the migration}, e.g. libvirt's completed
	                             * job statistics; NULL = nothing */
	json_t *link;               /* the shaped link (runners/link.h: settings, each
	                             * direction's counters, throughput); NULL = loopback */
	int switched_to_postcopy;
};

/* How the guest's boot went, for `migbench boot` and the result. */
struct mb_guest_status {
	int64_t launch_mono_us;          /* the hypervisor was asked to start it */
	int64_t first_heartbeat_mono_us; /* arrival of its first heartbeat */
	uint64_t agent_boot_us;          /* guest clock when the agent was ready (HELLO) */
	uint64_t page_size;              /* the agent's; 0 = unknown */
	char accel[16];                  /* "kvm", "tcg" */
	char accel_why[160];
	char host[128];                  /* where it runs */
	char image[192];                 /* the guest image: "ID (kernel VERSION)" */
	char guest_errors[512];          /* ERR records the agent sent on its own */
	char start[1024];                /* how it started ("booted", "restored from
	                                  * snapshot ..."); "" = the runner does not say */
};

struct mb_runner;

struct mb_runner_ops {
	const char *name;
	const char *summary;
	/* Its own scenario keys, as a probe's (probes/probe.h): a table ended
	 * by { 0 } with MB_FIELD offsets into its options struct of
	 * options_size bytes; read with mb_run_spec_options(spec, &its_ops).
	 * Accepted whatever runner runs; they apply when this one does. */
	const struct mb_key *options;
	size_t options_size;
	/* Checks, without booting a guest, that the hypervisor offers what the
	 * scenario asks for (capabilities, parameters, post-copy support). */
	int (*preflight)(const struct mb_run_spec *spec, struct mb_err *err);
	/* Allocates the runner for this scenario and checks, before anything
	 * starts, that the hypervisor offers what it asks for. `interrupted`
	 * (may be NULL) is the user's Ctrl-C: long waits (a boot) check it and
	 * give up with EINTR. */
	int (*prepare)(const struct mb_run_spec *spec, volatile const int *interrupted,
		       struct mb_runner **out, struct mb_err *err);
	/* Takes over the running guest for another scenario's run when the
	 * guest itself would be the same (only how it migrates differs), so
	 * that interleaved campaigns need not boot a guest at every switch.
	 * 0: adopted; 1: the next run needs a guest of its own. NULL = never. */
	int (*adopt)(struct mb_runner *r, const struct mb_run_spec *next);
	/* Boots the guest; returns once its first heartbeat arrived. */
	int (*start_source)(struct mb_runner *r, struct mb_err *err);
	/* A fresh, empty destination waiting for the incoming stream. */
	int (*start_destination)(struct mb_runner *r, struct mb_err *err);
	/* Sets capabilities and parameters on both sides and starts the
	 * migration (cold: stops the guest first); records times.start_us. */
	int (*migrate)(struct mb_runner *r, struct mb_err *err);
	/* Waits up to timeout_ms for progress; fills `p`. Returns 0, or -1
	 * when a QEMU died or stopped answering. */
	int (*poll)(struct mb_runner *r, struct mb_mig_progress *p, int timeout_ms, struct mb_err *err);
	int (*start_postcopy)(struct mb_runner *r, struct mb_err *err);
	/* Fault injection in post-copy: cuts the migration link and returns
	 * once both sides say they are paused (or the migration completed
	 * first); recover_postcopy reconnects them on a new channel and
	 * returns once the source runs post-copy again. NULL when the runner
	 * cannot (preflight refuses postcopy_pause then). */
	int (*pause_postcopy)(struct mb_runner *r, struct mb_err *err);
	int (*recover_postcopy)(struct mb_runner *r, struct mb_err *err);
	/* Gives up the migration: the source keeps running, the destination
	 * goes away. */
	int (*cancel)(struct mb_runner *r, struct mb_err *err);
	/* After completion (or cancel): waits for both sides' final events,
	 * fills `rec`, and (when completed) makes the destination the source
	 * of the next migration. */
	int (*finish)(struct mb_runner *r, struct mb_mig_record *rec, struct mb_err *err);
	/* Guest console lines since boot that show a sick kernel (BUG:, Oops,
	 * panic, watchdog), as a JSON array; empty when healthy. */
	int (*console_problems)(struct mb_runner *r, json_t **lines, struct mb_err *err);
	/* What the probes may look at during the migration that is starting:
	 * each side's host, hypervisor PID and vCPU threads (a side that is
	 * not up has pid 0). */
	void (*probe_ctx)(struct mb_runner *r, struct mb_probe_ctx *ctx);
	/* 0 while the running guest's hypervisor is alive; -1 with why (its
	 * exit status, its log) when it is gone. */
	int (*check_alive)(struct mb_runner *r, struct mb_err *err);
	/* The boot of the running guest: when it started, when its first
	 * heartbeat came, what the agent said of itself. */
	int (*guest_status)(struct mb_runner *r, struct mb_guest_status *st, struct mb_err *err);
	/* Sends one command of the agent's protocol (workloads/proto.h:
	 * PING, RATE, STATS, VERIFY...) to the guest, wherever it runs now,
	 * and waits for its reply. */
	int (*guest_command)(struct mb_runner *r, const char *command, const char *args,
			     struct mb_hb_reply *reply, int timeout_ms, struct mb_err *err);
	/* Heartbeats received from the guest so far, ever. */
	size_t (*heartbeat_count)(struct mb_runner *r);
	/* The heartbeats received since `from_real_us` (host realtime), as a
	 * series read from the reader's spool (probes/heartbeat.h), in bounded
	 * memory however long the window (an hour at 1 ms would be 144 MB in
	 * memory). Earlier ones are never asked for again: the runner may
	 * release them (a guest's heartbeats over a campaign of many
	 * repetitions must not grow without bound). Free it with
	 * mb_hb_series_free. */
	int (*heartbeat_series)(struct mb_runner *r, int64_t from_real_us, struct mb_hb_series *out,
				struct mb_err *err);
	/* Kills what is left, removes run directories. Never fails. */
	void (*teardown)(struct mb_runner *r);
};

extern const struct mb_runner_ops *const mb_runners[];

/* Runners this build lacks, for their keys only: a scenario written for
 * them still parses here (bench/plugins.c registers their keys; --runner
 * NAME is refused as unknown). NULL-ended. */
extern const struct mb_runner_ops *const mb_runners_not_built[];
const struct mb_runner_ops *mb_runner_find(const char *name);

void mb_mig_record_release(struct mb_mig_record *rec);

/* What every runner's guest_status says alike, from the guest's heartbeat
 * reader: the boot instants, the agent's HELLO (boot time, page size), the
 * image and the ERR records the agent sent; the runner adds accel, host. */
struct mb_image;
void mb_guest_status_from_hb(struct mb_guest_status *st, struct mb_hb_reader *hb, int64_t launch_mono_us,
			     int64_t first_hb_mono_us, const struct mb_image *image);

/* heartbeat_series for a runner whose guest has one heartbeat reader: the
 * run loop asks once per run, for that run's window, so what came before
 * it is released (of no use to any later run). */
int mb_hb_series_for_run(struct mb_hb_reader *hb, int64_t from_real_us, struct mb_hb_series *out,
			 struct mb_err *err);

/* A poll's progress from the runner's status (from its events), the passes
 * it counted and the sampler's latest statistics: the larger pass count
 * wins (the events may run ahead of the samples, or the other way). */
void mb_mig_progress_from_sample(const char *status, unsigned passes, const struct mb_migrate_sample *s,
				 struct mb_mig_progress *p);

/* Which timestamp of an event the instants are taken from. */
enum mb_event_clock {
	/* QEMU's own timestamps: exact, and one clock when both sides run on
	 * one host (the default). */
	MB_EVENT_CLOCK_QEMU,
	/* When migbench received the event (host_real_us): one clock, its own,
	 * whatever hosts the sides run on, at the cost of each event's
	 * delivery delay. For sides on different hosts, whose clocks differ. */
	MB_EVENT_CLOCK_ARRIVAL,
};

const char *mb_event_clock_name(enum mb_event_clock c);

/* The instants of mb_mig_times from rec->events: the source's STOP (from a
 * second before `start_us`: a cold migration stops first), the
 * destination's RESUME, the source's MIGRATION postcopy-active,
 * completed, postcopy-paused and the postcopy-active after it, the
 * destination's completed. `start_us` and `recover_sent_us` are the
 * runner's own (when it sent `migrate` and the recovery). */
void mb_mig_times_from_events(const json_t *events, int64_t start_us, int64_t recover_sent_us,
			      enum mb_event_clock clock, struct mb_mig_times *t);

#endif
