/* QMP events once received: parsing one from QEMU's message, matching,
 * copying, freeing and writing it out; and the event log a connection keeps
 * them in until someone waits for or takes them. */
#include "config.h"
#include "runners/qmp.h"
#include "bench/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* QEMU stamps events with {"seconds": S, "microseconds": US} from its
 * CLOCK_REALTIME; keep it as one µs count so it compares with host_real_us. */
static int64_t qemu_timestamp_us(const json_t *msg)
{
	const json_t *ts = json_object_get(msg, "timestamp");
	const json_t *s = json_object_get(ts, "seconds");
	const json_t *us = json_object_get(ts, "microseconds");

	/* A stamp out of range is no stamp: from a broken QEMU it overflowed
	 * the µs count (undefined behaviour, found by fuzzing). */
	if (!json_is_integer(s) || !json_is_integer(us) || json_integer_value(s) < 0 ||
	    json_integer_value(s) > INT64_MAX / 1000000 - 1 ||
	    json_integer_value(us) < 0 || json_integer_value(us) > 999999)
		return -1;
	return (int64_t)json_integer_value(s) * 1000000 + (int64_t)json_integer_value(us);
}

int mb_qmp_event_from_message(const json_t *msg, int64_t host_real_us, int64_t host_mono_us,
			      struct mb_qmp_event *out, struct mb_err *err)
{
	const json_t *name = json_object_get(msg, "event");
	json_t *data = json_object_get(msg, "data");

	if (!json_is_string(name))
		return mb_errf(err, 0, "QMP event without a name string");
	*out = (struct mb_qmp_event){
		.name = strdup(json_string_value(name)),
		.data = json_incref(data),
		.qemu_us = qemu_timestamp_us(msg),
		.host_real_us = host_real_us,
		.host_mono_us = host_mono_us,
	};
	if (!out->name) {
		json_decref(out->data);
		out->data = NULL;
		return mb_errf(err, ENOMEM, "QMP event %s", json_string_value(name));
	}
	return 0;
}

int mb_qmp_event_copy(const struct mb_qmp_event *src, struct mb_qmp_event *dst,
		      struct mb_err *err)
{
	*dst = *src;
	dst->name = strdup(src->name);
	if (!dst->name) {
		dst->data = NULL;
		return mb_errf(err, ENOMEM, "copying QMP event %s", src->name);
	}
	json_incref(dst->data);
	return 0;
}

void mb_qmp_event_release(struct mb_qmp_event *ev)
{
	if (!ev)
		return;
	free(ev->name);
	json_decref(ev->data);
	*ev = (struct mb_qmp_event){ .qemu_us = -1 };
}

void mb_qmp_event_list_free(struct mb_qmp_event_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		mb_qmp_event_release(&list->items[i]);
	free(list->items);
	*list = (struct mb_qmp_event_list){ 0 };
}

bool mb_qmp_event_matches(const struct mb_qmp_event *ev, const char *name,
			  const json_t *data_match)
{
	const char *key;
	json_t *want;

	if (name && strcmp(ev->name, name) != 0)
		return false;
	if (!data_match)
		return true;
	/* json_object_foreach wants a non-const object but only reads it */
	json_object_foreach((json_t *)data_match, key, want) {
		if (!json_equal(json_object_get(ev->data, key), want))
			return false;
	}
	return true;
}

json_t *mb_qmp_event_to_json(const struct mb_qmp_event *ev)
{
	json_t *obj = json_pack("{s:s, s:I, s:I, s:I}", "event", ev->name,
				"qemu_us", (json_int_t)ev->qemu_us,
				"host_real_us", (json_int_t)ev->host_real_us,
				"host_mono_us", (json_int_t)ev->host_mono_us);

	if (obj && ev->data && json_object_set(obj, "data", ev->data) != 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

json_t *mb_qmp_event_list_to_json(const struct mb_qmp_event_list *list)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < list->count; i++) {
		if (json_array_append_new(arr, mb_qmp_event_to_json(&list->items[i])) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* ---- the event log ----------------------------------------------------------- */

#define NO_DEADLINE INT64_MAX

struct mb_qmp_event_log {
	char *source;
	pthread_mutex_t lock;           /* guards every field below */
	pthread_cond_t grown;           /* broadcast on append and on end */
	struct mb_qmp_event *events;    /* in arrival order */
	bool *consumed;                 /* parallel to events: returned by a wait */
	size_t count, cap;
	uint64_t takes;                 /* times mb_qmp_event_log_take emptied it */
	bool ended;
	int end_errnum;
	char end_why[MB_ERR_MAX];
};

int mb_qmp_event_log_new(const char *source, struct mb_qmp_event_log **out, struct mb_err *err)
{
	struct mb_qmp_event_log *log = calloc(1, sizeof(*log));
	pthread_condattr_t attr;

	*out = NULL;
	if (!log || !(log->source = strdup(source))) {
		free(log);
		return mb_errf(err, ENOMEM, "event log for %s", source);
	}
	pthread_mutex_init(&log->lock, NULL);
	/* deadlines are CLOCK_MONOTONIC: immune to the host clock being set */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&log->grown, &attr);
	pthread_condattr_destroy(&attr);
	*out = log;
	return 0;
}

void mb_qmp_event_log_free(struct mb_qmp_event_log *log)
{
	if (!log)
		return;
	for (size_t i = 0; i < log->count; i++)
		mb_qmp_event_release(&log->events[i]);
	free(log->events);
	free(log->consumed);
	free(log->source);
	pthread_cond_destroy(&log->grown);
	pthread_mutex_destroy(&log->lock);
	free(log);
}

static int grow_locked(struct mb_qmp_event_log *log, struct mb_err *err)
{
	size_t cap = log->cap ? log->cap * 2 : 64;
	struct mb_qmp_event *events = realloc(log->events, cap * sizeof(*events));
	bool *consumed;

	if (!events)
		return mb_errf(err, ENOMEM, "recording QMP event number %zu", log->count + 1);
	log->events = events;
	consumed = realloc(log->consumed, cap * sizeof(*consumed));
	if (!consumed)
		return mb_errf(err, ENOMEM, "recording QMP event number %zu", log->count + 1);
	log->consumed = consumed;
	log->cap = cap;
	return 0;
}

int mb_qmp_event_log_append(struct mb_qmp_event_log *log, struct mb_qmp_event *ev,
			    struct mb_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&log->lock);
	if (log->count == log->cap)
		rc = grow_locked(log, err);
	if (rc == 0) {
		log->events[log->count] = *ev;
		log->consumed[log->count] = false;
		log->count++;
		*ev = (struct mb_qmp_event){ .qemu_us = -1 };   /* the log owns it now */
		pthread_cond_broadcast(&log->grown);
	}
	pthread_mutex_unlock(&log->lock);
	return rc;
}

void mb_qmp_event_log_end(struct mb_qmp_event_log *log, int errnum, const char *why)
{
	if (!log)
		return;
	pthread_mutex_lock(&log->lock);
	if (!log->ended) {
		log->ended = true;
		log->end_errnum = errnum;
		snprintf(log->end_why, sizeof(log->end_why), "%s", why);
		pthread_cond_broadcast(&log->grown);
	}
	pthread_mutex_unlock(&log->lock);
}

static void wait_for_growth(struct mb_qmp_event_log *log, int64_t deadline)
{
	struct timespec ts;

	if (deadline == NO_DEADLINE) {
		pthread_cond_wait(&log->grown, &log->lock);
		return;
	}
	ts = (struct timespec){ .tv_sec = deadline / 1000000, .tv_nsec = deadline % 1000000 * 1000 };
	pthread_cond_timedwait(&log->grown, &log->lock, &ts);
}

/* "MIGRATION with data matching {"status":"completed"}", for error messages. */
static void describe_wait(char *buf, size_t size, const char *name, const json_t *data_match,
			  mb_qmp_event_pred pred)
{
	char *text = data_match ? json_dumps(data_match, JSON_COMPACT) : NULL;

	snprintf(buf, size, "%s%s%s%s", name ? name : "(any)", text ? " with data matching " : "",
		 text ? text : "", pred ? " accepted by the caller's filter" : "");
	free(text);
}

int mb_qmp_event_log_wait(struct mb_qmp_event_log *log, const char *name,
			  const json_t *data_match, mb_qmp_event_pred pred, void *pred_arg,
			  int timeout_ms, struct mb_qmp_event *out, struct mb_err *err)
{
	int64_t deadline = timeout_ms < 0 ? NO_DEADLINE : mb_clock_us(CLOCK_MONOTONIC) + (int64_t)timeout_ms * 1000;
	char what[512];
	uint64_t takes_seen;
	int rc = -1;

	*out = (struct mb_qmp_event){ .qemu_us = -1 };
	pthread_mutex_lock(&log->lock);
	takes_seen = log->takes;
	for (size_t i = 0;;) {
		/* the log only grows while we sleep, so resume the scan where it
		 * stopped, unless a take emptied it meanwhile */
		if (takes_seen != log->takes) {
			takes_seen = log->takes;
			i = 0;
		}
		for (; i < log->count; i++) {
			const struct mb_qmp_event *ev = &log->events[i];

			if (log->consumed[i] || !mb_qmp_event_matches(ev, name, data_match) ||
			    (pred && !pred(ev, pred_arg)))
				continue;
			rc = mb_qmp_event_copy(ev, out, err);
			if (rc == 0)
				log->consumed[i] = true;
			goto done;
		}
		if (log->ended) {
			describe_wait(what, sizeof(what), name, data_match, pred);
			mb_errf(err, log->end_errnum, "%s", log->end_why);
			rc = mb_err_prefix(err, "waiting for QMP event %s", what);
			goto done;
		}
		if (deadline != NO_DEADLINE && mb_clock_us(CLOCK_MONOTONIC) >= deadline) {
			describe_wait(what, sizeof(what), name, data_match, pred);
			rc = mb_errf(err, 0, "no QMP event %s from %s within %d ms", what, log->source,
				     timeout_ms);
			goto done;
		}
		wait_for_growth(log, deadline);
	}
done:
	pthread_mutex_unlock(&log->lock);
	return rc;
}

void mb_qmp_event_log_take(struct mb_qmp_event_log *log, struct mb_qmp_event_list *out)
{
	pthread_mutex_lock(&log->lock);
	*out = (struct mb_qmp_event_list){ .items = log->events, .count = log->count };
	free(log->consumed);
	log->events = NULL;
	log->consumed = NULL;
	log->count = log->cap = 0;
	log->takes++;
	pthread_mutex_unlock(&log->lock);
}

int mb_qmp_event_log_copy(struct mb_qmp_event_log *log, struct mb_qmp_event_list *out,
			  struct mb_err *err)
{
	int rc = 0;

	*out = (struct mb_qmp_event_list){ 0 };
	pthread_mutex_lock(&log->lock);
	if (log->count) {
		out->items = calloc(log->count, sizeof(*out->items));
		if (!out->items)
			rc = mb_errf(err, ENOMEM, "copying %zu QMP events", log->count);
	}
	for (size_t i = 0; rc == 0 && i < log->count; i++) {
		rc = mb_qmp_event_copy(&log->events[i], &out->items[i], err);
		if (rc == 0)
			out->count++;
	}
	pthread_mutex_unlock(&log->lock);
	if (rc != 0)
		mb_qmp_event_list_free(out);
	return rc;
}
