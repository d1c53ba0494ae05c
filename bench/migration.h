/* One migration of a running guest, the same for every runner: starts the
 * destination, migrates, switches to post-copy when the mode says so, gives
 * up past the scenario's bounds, then checks the guest. */
#ifndef MB_MIGRATION_H
#define MB_MIGRATION_H

#include "runners/runner.h"

enum mb_run_status {
	MB_RUN_COMPLETED,
	MB_RUN_FAILED,
	MB_RUN_DID_NOT_CONVERGE,
	MB_RUN_CANCELLED,
};

const char *mb_run_status_name(enum mb_run_status s);

struct mb_mig_outcome {
	enum mb_run_status status;
	char error[MB_ERR_MAX];     /* why, when not completed */
	struct mb_mig_record rec;
	json_t *verify;             /* {checked, corrupted, first_bad, us} from the destination */
	json_t *health;             /* {heartbeats_after_ms, console_problems:[...], healthy} */
	json_t *guest_start;        /* {how, launch_to_first_heartbeat_ms}: the guest
	                             * was started for this run (run_loop.c); NULL = it
	                             * ran already */
	int guest_usable;           /* the guest still runs somewhere and can be migrated again */
};

/* Called after every poll, for the progress line. */
typedef void (*mb_mig_progress_fn)(const struct mb_mig_progress *p, int64_t elapsed_us, void *arg);

/* Guests migrated together (bench/evacuation.h): called once the
 * destination is up, before `migrate`; returns when this guest's turn came.
 * A migration that ends before it (no destination) calls `leave` instead. */
struct mb_mig_gate {
	void (*pass)(void *arg);
	void (*leave)(void *arg);
	void *arg;
};

/* Runs one migration (`gate` may be NULL: it starts at once). Returns 0 whenever a result was recorded in `out`
 * (also failed or did-not-converge); -1 only when nothing could be. */
int mb_migrate_once(const struct mb_runner_ops *ops, struct mb_runner *r,
		    const struct mb_run_spec *spec, mb_mig_progress_fn progress, void *arg,
		    const struct mb_mig_gate *gate, volatile const int *interrupted,
		    struct mb_mig_outcome *out);

void mb_mig_outcome_release(struct mb_mig_outcome *out);

#endif
