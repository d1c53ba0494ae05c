/* What the workload thread and the heartbeat thread share, and the few ways
 * they talk. The workload thread is the only one touching the working set;
 * the heartbeat thread asks (rate change, verify) and the workload thread
 * answers between bursts, so a verify never races with a writer. */
#ifndef MB_AGENT_STATE_H
#define MB_AGENT_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "workloads/agent/config.h"
#include "workloads/agent/stamp.h"

/* The STATS window: opened by the workload thread when it starts applying a
 * rate, so `achieved` measures exactly the pacing of that rate. */
struct stats_window {
	bool opened; /* false until the workload thread starts */
	uint64_t epoch;
	uint64_t start_us;
	uint64_t start_written;
};

struct stats_report {
	uint64_t since_us;
	uint64_t written;
	uint64_t achieved; /* pages/s = written × 1e6 / since_us */
	uint64_t rate;
};

struct agent_state {
	struct agent_config config; /* as booted; rate changes go through target_rate */
	struct working_set ws;
	bool have_working_set;
	uint64_t boot_us;

	_Atomic uint64_t pages_written;
	_Atomic uint64_t ops;
	_Atomic uint64_t target_rate;
	_Atomic uint64_t rate_epoch;
	_Atomic bool verify_pending; /* cheap test for the workload between bursts */
	_Atomic bool stop;           /* --stdio only: the host closed stdin */

	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t workload_wakeup;
	struct stats_window window;
	uint64_t verify_id;
	bool verify_answered;
	struct verify_result verify_result;
	int heartbeat_wakeup_fd; /* eventfd: a verify answer is ready */
};

/* Returns 0, or -1 with errno set (eventfd). */
int state_init(struct agent_state *state, const struct agent_config *config);

/* Heartbeat thread side. */
void state_request_rate(struct agent_state *state, uint64_t rate);
int state_request_verify(struct agent_state *state, uint64_t id); /* -1: one is running */
bool state_take_verify_answer(struct agent_state *state, uint64_t *id, struct verify_result *result);
void state_stats(struct agent_state *state, uint64_t now_us, struct stats_report *report);
void state_request_stop(struct agent_state *state);

/* Workload thread side. Returns true (and the new rate) when the host asked
 * for a rate since `*seen_epoch`, after opening the new STATS window. */
bool state_take_rate_change(struct agent_state *state, uint64_t *seen_epoch, uint64_t now_us,
			    uint64_t *rate);
/* Runs the verify pass if one was requested. */
void state_serve_verify(struct agent_state *state);
/* Blocks until something is asked of the workload (idle workload). */
void state_wait_for_request(struct agent_state *state, uint64_t seen_epoch);

#endif
