#include "config.h"
#include "probes/migrate_sampler.h"
#include "probes/tick.h"

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/atomic_file.h"
#include "bench/scenario.h"

struct mb_migrate_sampler {
	mb_stats_fetch_fn fetch;
	void *fetch_arg;
	uint64_t interval_us;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping, running;
	/* The series: one JSON object a line in an unnamed spool file, so that
	 * an hour's samples (72 000 at 50 ms) are not in memory; without a
	 * spool file, in memory (series) as before. */
	FILE *spool;
	size_t count;
	json_t *series;
	struct mb_migrate_sample latest;
	char last_error[MB_ERR_MAX];
};

static uint64_t u64_of(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

void mb_migrate_sample_from_reply(const json_t *reply, int64_t host_real_us,
				  struct mb_migrate_sample *out)
{
	const json_t *ram = json_object_get(reply, "ram");
	const char *status = json_string_value(json_object_get(reply, "status"));

	memset(out, 0, sizeof(*out));
	out->host_real_us = host_real_us;
	snprintf(out->status, sizeof(out->status), "%s", status ? status : "none");
	out->transferred = u64_of(ram, "transferred");
	out->remaining = u64_of(ram, "remaining");
	out->total = u64_of(ram, "total");
	out->dirty_sync_count = u64_of(ram, "dirty-sync-count");
	out->dirty_pages_rate = u64_of(ram, "dirty-pages-rate");
	out->postcopy_requests = u64_of(ram, "postcopy-requests");
	out->expected_downtime_ms = u64_of(reply, "expected-downtime");
	out->valid = 1;
}

static void *sampler_main(void *arg)
{
	struct mb_migrate_sampler *s = arg;
	struct timespec next;

	mb_tick_start(&next);
	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		struct mb_stats_timing timing = {0};
		struct mb_err err = {0};
		json_t *reply = NULL;
		int rc;

		pthread_mutex_unlock(&s->lock);
		/* A slow reply delays the next sample, never the events. */
		rc = s->fetch(s->fetch_arg, &reply, &timing, &err);
		pthread_mutex_lock(&s->lock);
		if (rc == 0) {
			json_t *sample;

			mb_migrate_sample_from_reply(reply, timing.reply_real_us, &s->latest);
			sample = json_pack("{s:I, s:I, s:o}", "host_real_us", (json_int_t)timing.reply_real_us,
					   "reply_wait_us", (json_int_t)(timing.reply_mono_us - timing.sent_mono_us),
					   "reply", reply);
			/* A line to the page cache, a few µs: the next sample's
			 * tick is not moved by it. */
			if (s->spool && sample && (json_dumpf(sample, s->spool, JSON_COMPACT) || fputc('\n', s->spool) == EOF))
				snprintf(s->last_error, sizeof(s->last_error), "writing the samples' spool: %s",
					 strerror(errno));
			if (s->spool)
				json_decref(sample);
			else
				json_array_append_new(s->series, sample);
			s->count++;
		} else {
			snprintf(s->last_error, sizeof(s->last_error), "%s", err.msg);
			/* The connection is gone (QEMU exited, the daemon
			 * forgot the job): nothing more to sample. */
			break;
		}
		mb_tick_wait(&s->wake, &s->lock, &next, s->interval_us, true, &s->stopping);
	}
	s->running = 0;
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int mb_migrate_sampler_start(mb_stats_fetch_fn fetch, void *fetch_arg, uint64_t interval_us,
			     struct mb_migrate_sampler **out, struct mb_err *err)
{
	struct mb_migrate_sampler *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return mb_errf(err, ENOMEM, "migration statistics sampler");
	s->fetch = fetch;
	s->fetch_arg = fetch_arg;
	s->interval_us = interval_us ? interval_us : 50000;
	s->series = json_array();
	{
		struct mb_err ignored = {0};
		int fd = mb_spool_open("query-migrate samples", &ignored);

		/* No spool: the samples stay in memory. */
		s->spool = fd >= 0 ? fdopen(fd, "w+") : NULL;
		if (fd >= 0 && !s->spool)
			close(fd);
	}
	pthread_mutex_init(&s->lock, NULL);
	mb_tick_cond_init(&s->wake);
	s->running = 1;
	rc = pthread_create(&s->thread, NULL, sampler_main, s);
	if (rc) {
		json_decref(s->series);
		if (s->spool)
			fclose(s->spool);
		free(s);
		return mb_errf(err, rc, "migration statistics sampler: start thread");
	}
	*out = s;
	return 0;
}

void mb_migrate_sampler_latest(struct mb_migrate_sampler *s, struct mb_migrate_sample *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->latest;
	pthread_mutex_unlock(&s->lock);
}

void mb_migrate_sampler_stop(struct mb_migrate_sampler *s)
{
	if (!s || s->stopping)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
}

json_t *mb_migrate_sampler_series(struct mb_migrate_sampler *s)
{
	json_t *copy;

	pthread_mutex_lock(&s->lock);
	copy = s->spool ? NULL : json_deep_copy(s->series);
	pthread_mutex_unlock(&s->lock);
	return copy;
}

FILE *mb_migrate_sampler_take_spool(struct mb_migrate_sampler *s, size_t *count)
{
	FILE *f;

	pthread_mutex_lock(&s->lock);
	f = s->spool;
	s->spool = NULL;
	*count = f ? s->count : 0;
	pthread_mutex_unlock(&s->lock);
	if (f)
		fflush(f);
	return f;
}

void mb_migrate_sampler_free(struct mb_migrate_sampler *s)
{
	if (!s)
		return;
	mb_migrate_sampler_stop(s);
	json_decref(s->series);
	if (s->spool)
		fclose(s->spool);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	free(s);
}
