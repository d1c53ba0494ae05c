/* The migration statistics sampler: a thread that asks the source's
 * runner for its statistics every `sample_interval` and keeps the time
 * series. It never holds up event
 * handling (QMP replies and events are read by the connection's own
 * thread), and each sample is stamped with the moment QEMU's reply arrived,
 * not when the poll returned: during stop-and-copy a reply can take ~1 s. */
#ifndef MB_MIGRATE_SAMPLER_H
#define MB_MIGRATE_SAMPLER_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "bench/error.h"

struct mb_migrate_sampler;

/* The latest sample, for progress display and the mode logic. */
struct mb_migrate_sample {
	int64_t host_real_us;    /* arrival of the reply */
	char status[32];
	uint64_t transferred, remaining, total;
	uint64_t dirty_sync_count, dirty_pages_rate, expected_downtime_ms;
	uint64_t postcopy_requests;
	int valid;
};

/* When one sample was asked for and answered (for a reply that waited). */
struct mb_stats_timing {
	int64_t sent_mono_us;
	int64_t reply_real_us, reply_mono_us;
};

/* Fetches the source's statistics now, in the shape of QEMU's query-migrate
 * reply (status, ram{transferred, remaining, total, dirty-sync-count,
 * dirty-pages-rate, postcopy-requests}, expected-downtime): migbench's
 * common form, whatever the runner asks (QMP's query-migrate, libvirt's job
 * statistics, which a runner may keep verbatim beside). Returns 0 with a
 * new reference in *reply, or -1 (the sampler stops). Called from the
 * sampler's thread. */
typedef int (*mb_stats_fetch_fn)(void *arg, json_t **reply, struct mb_stats_timing *timing,
				 struct mb_err *err);

int mb_migrate_sampler_start(mb_stats_fetch_fn fetch, void *fetch_arg, uint64_t interval_us,
			     struct mb_migrate_sampler **out, struct mb_err *err);
/* Copies the latest sample (valid = 0 before the first reply). */
void mb_migrate_sampler_latest(struct mb_migrate_sampler *s, struct mb_migrate_sample *out);
/* Stops the thread; the series stays readable. */
void mb_migrate_sampler_stop(struct mb_migrate_sampler *s);
/* The series, [{host_real_us, reply_wait_us, reply: {...query-migrate...}}]
 * (new reference), when the sampler kept it in memory (it could not make
 * a spool file); NULL when it is in the spool: */
json_t *mb_migrate_sampler_series(struct mb_migrate_sampler *s);
/* The spool: one such object a line (JSON Lines), *count of them; the
 * caller owns the file (fclose), positioned at its end. NULL when there is
 * none (or it was taken). Call after mb_migrate_sampler_stop. */
FILE *mb_migrate_sampler_take_spool(struct mb_migrate_sampler *s, size_t *count);
void mb_migrate_sampler_free(struct mb_migrate_sampler *s);

/* Parses one query-migrate reply into a sample. */
void mb_migrate_sample_from_reply(const json_t *reply, int64_t host_real_us,
				  struct mb_migrate_sample *out);

#endif
