#include "workloads/agent/state.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

int state_init(struct agent_state *state, const struct agent_config *config)
{
	*state = (struct agent_state){
		.config = *config,
		.target_rate = config->rate_pages,
		.heartbeat_wakeup_fd = -1,
	};
	pthread_mutex_init(&state->lock, NULL);
	pthread_cond_init(&state->workload_wakeup, NULL);
	state->heartbeat_wakeup_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return state->heartbeat_wakeup_fd < 0 ? -1 : 0;
}

void state_request_rate(struct agent_state *state, uint64_t rate)
{
	/* Rate before epoch: whoever sees the new epoch also sees the rate. */
	atomic_store(&state->target_rate, rate);
	pthread_mutex_lock(&state->lock);
	atomic_fetch_add(&state->rate_epoch, 1);
	pthread_cond_signal(&state->workload_wakeup);
	pthread_mutex_unlock(&state->lock);
}

int state_request_verify(struct agent_state *state, uint64_t id)
{
	int ret = 0;

	pthread_mutex_lock(&state->lock);
	if (atomic_load(&state->verify_pending) || state->verify_answered) {
		ret = -1;
	} else {
		state->verify_id = id;
		atomic_store(&state->verify_pending, true);
		pthread_cond_signal(&state->workload_wakeup);
	}
	pthread_mutex_unlock(&state->lock);
	return ret;
}

bool state_take_verify_answer(struct agent_state *state, uint64_t *id, struct verify_result *result)
{
	bool answered;
	uint64_t ignored;

	/* Drain the eventfd first so a later answer wakes the thread again. */
	if (read(state->heartbeat_wakeup_fd, &ignored, sizeof(ignored)) < 0 && errno != EAGAIN) {
		/* Nothing to do: the flag below is the truth, the fd only wakes. */
	}
	pthread_mutex_lock(&state->lock);
	answered = state->verify_answered;
	if (answered) {
		*id = state->verify_id;
		*result = state->verify_result;
		state->verify_answered = false;
	}
	pthread_mutex_unlock(&state->lock);
	return answered;
}

void state_stats(struct agent_state *state, uint64_t now_us, struct stats_report *report)
{
	uint64_t epoch, written_now;
	struct stats_window window;

	pthread_mutex_lock(&state->lock);
	window = state->window;
	epoch = atomic_load(&state->rate_epoch);
	pthread_mutex_unlock(&state->lock);
	written_now = atomic_load(&state->pages_written);

	*report = (struct stats_report){ .rate = atomic_load(&state->target_rate) };
	/* A rate the workload has not picked up yet has an empty window. */
	if (!window.opened || window.epoch != epoch || now_us <= window.start_us)
		return;
	report->since_us = now_us - window.start_us;
	report->written = written_now - window.start_written;
	report->achieved = (uint64_t)((unsigned __int128)report->written * 1000000u / report->since_us);
}

void state_request_stop(struct agent_state *state)
{
	pthread_mutex_lock(&state->lock);
	atomic_store(&state->stop, true);
	pthread_cond_signal(&state->workload_wakeup);
	pthread_mutex_unlock(&state->lock);
}

bool state_take_rate_change(struct agent_state *state, uint64_t *seen_epoch, uint64_t now_us,
			    uint64_t *rate)
{
	uint64_t epoch = atomic_load(&state->rate_epoch);

	if (epoch == *seen_epoch && state->window.opened)
		return false;
	*rate = atomic_load(&state->target_rate);
	pthread_mutex_lock(&state->lock);
	state->window = (struct stats_window){
		.opened = true,
		.epoch = epoch,
		.start_us = now_us,
		.start_written = atomic_load(&state->pages_written),
	};
	pthread_mutex_unlock(&state->lock);
	*seen_epoch = epoch;
	return true;
}

void state_serve_verify(struct agent_state *state)
{
	struct verify_result result = { 0 };
	uint64_t one = 1;

	if (!atomic_load(&state->verify_pending))
		return;
	if (state->have_working_set)
		working_set_verify(&state->ws, &result);
	pthread_mutex_lock(&state->lock);
	state->verify_result = result;
	state->verify_answered = true;
	atomic_store(&state->verify_pending, false);
	pthread_mutex_unlock(&state->lock);
	if (write(state->heartbeat_wakeup_fd, &one, sizeof(one)) < 0) {
		/* Counter saturated means a wakeup is already pending. */
	}
}

void state_wait_for_request(struct agent_state *state, uint64_t seen_epoch)
{
	pthread_mutex_lock(&state->lock);
	while (!atomic_load(&state->verify_pending) && !atomic_load(&state->stop) &&
	       atomic_load(&state->rate_epoch) == seen_epoch)
		pthread_cond_wait(&state->workload_wakeup, &state->lock);
	pthread_mutex_unlock(&state->lock);
}
