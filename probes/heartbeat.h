/* The heartbeat reader: the host end of the guest agent's channel
 * (workloads/proto.h).
 *
 * A reader has one or more sources, each a unix socket that a QEMU serves
 * for the guest's heartbeat port: the migration source's, and later the
 * destination's. Each source has a thread that reads lines the moment they
 * arrive and stamps them with the host clocks (CLOCK_REALTIME, the clock of
 * QMP event timestamps, and CLOCK_MONOTONIC) before anything else happens.
 * Heartbeats from all sources go into one stream ordered by arrival; the
 * agent's sequence numbers continue across a migration (its counter is in
 * the migrated RAM), so a gap in `seq` is a heartbeat that never arrived.
 *
 * Commands (PING, RATE, PERIOD, VERIFY, STATS) go to the source whose last
 * record arrived most recently: before a migration that is the source
 * guest, after it the destination, without the caller switching.
 *
 * All functions are thread-safe. Timeouts are in milliseconds; negative
 * waits forever. Functions returning int return 0, or -1 with err filled. */
#ifndef MB_PROBES_HEARTBEAT_H
#define MB_PROBES_HEARTBEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/error.h"
#include "bench/metrics.h"
#include "workloads/proto.h"

/* Memory stays bounded however long the guest runs: at most
 * MB_HB_MEM_RECORDS records (64 bytes each: 4 MiB) are in memory, about a
 * minute at the 1 ms default period; older ones go to a spool file (an
 * unnamed file in $TMPDIR, else /var/tmp: 230 MB an hour at 1 ms) where the
 * run's window is read back from (mb_hb_points). At most MB_HB_MAX_RECORDS
 * are kept in all, whatever the guest sends (2 GiB of spool: 9 hours at
 * 1 ms, 55 minutes at the 100 µs minimum); beyond that, and when no spool
 * file can be made, the oldest half is dropped (counted). */
#define MB_HB_MEM_RECORDS ((size_t)1 << 16)
#define MB_HB_MAX_RECORDS ((size_t)1 << 25)
#define MB_HB_LABEL_MAX 32

struct mb_hb_reader;

/* One HB record as the host received it. */
struct mb_hb_record {
	uint64_t seq;
	uint64_t guest_us;         /* gt=: the guest's CLOCK_MONOTONIC */
	uint64_t written;          /* pages written since boot */
	uint64_t ops;              /* operations since boot */
	uint64_t rate;             /* target rate, pages/s */
	int64_t host_real_us;      /* arrival: CLOCK_REALTIME */
	int64_t host_mono_us;      /* arrival: CLOCK_MONOTONIC */
	unsigned source;           /* index in attach order (0 = first) */
};

/* The agent's HELLO: what it runs, as it understood its parameters. */
struct mb_hb_hello {
	bool received;
	uint64_t version;
	char workload[32];
	char pattern[32];
	uint64_t wss_pages, page_size, rate, period_us;
	uint64_t boot_us;          /* guest monotonic time when the agent was ready */
	int64_t host_real_us, host_mono_us;
	unsigned source;
};

/* A reply to a command: the record as the guest sent it. */
struct mb_hb_reply {
	char text[MB_PROTO_LINE_MAX];  /* "VERIFY id=3 checked=16384 ..." */
	int64_t sent_mono_us;          /* the command left */
	int64_t host_real_us;          /* the reply arrived */
	int64_t host_mono_us;
};

/* Totals since the reader was created. */
struct mb_hb_counters {
	size_t records;            /* HB records received and stored, ever */
	size_t kept;               /* ... of which still kept */
	size_t dropped;            /* oldest records dropped because the
	                            * guest sent more than MB_HB_MAX_RECORDS,
	                            * or no spool file could take them */
	size_t spooled;            /* ... of the kept ones, on disk */
	size_t bad_lines;          /* unparsable or unknown records */
	size_t late_replies;       /* replies nobody waited for (any more) */
	size_t guest_errors;       /* ERR records not answering a command */
	size_t unstored;           /* heartbeats lost for want of memory */
	unsigned sources, open_sources;
};

int mb_hb_reader_new(struct mb_hb_reader **out, struct mb_err *err);

/* Stops every source's thread, closes the sockets, frees everything.
 * NULL is fine. */
void mb_hb_reader_free(struct mb_hb_reader *r);

/* Connects to `socket_path`, a unix socket or tcp:HOST:PORT (a guest whose
 * QEMU serves the port on another host), retrying while it does not exist or refuses,
 * up to timeout_ms) and starts reading it as source `label` ("source",
 * "destination"). Returns 0 and the source's index in *index (may be NULL). */
int mb_hb_attach(struct mb_hb_reader *r, const char *socket_path, const char *label,
		 int timeout_ms, unsigned *index, struct mb_err *err);

/* Stops reading source `index` and closes its socket; its records stay. */
void mb_hb_detach(struct mb_hb_reader *r, unsigned index);

/* Sends "COMMAND id ARGS" (args may be NULL or "") to the active source and
 * waits for the reply carrying that id. An ERR reply is an error whose
 * message quotes the guest; `reply` (may be NULL) gets the reply either
 * way. */
int mb_hb_command(struct mb_hb_reader *r, const char *command, const char *args,
		  struct mb_hb_reply *reply, int timeout_ms, struct mb_err *err);

/* A field of a reply: 0, or -1 (with err) when absent or not a number. */
int mb_hb_reply_u64(const struct mb_hb_reply *reply, const char *key, uint64_t *out,
		    struct mb_err *err);

/* Waits until at least `count` HB records have arrived in total. Fails
 * early when every source has closed (QEMU exited) or timed out. */
int mb_hb_wait_records(struct mb_hb_reader *r, size_t count, int timeout_ms, struct mb_err *err);

/* Waits for the HELLO (the agent's first record), with the same rules. */
int mb_hb_wait_hello(struct mb_hb_reader *r, struct mb_hb_hello *hello, int timeout_ms,
		     struct mb_err *err);

/* HB records stored so far, ever: the absolute index of the next one.
 * Records are numbered from 0 at the first; the oldest ones are released
 * (mb_hb_release_before) or dropped (more than the limit), so only
 * [mb_hb_oldest, mb_hb_count) can still be copied. */
size_t mb_hb_count(struct mb_hb_reader *r);
size_t mb_hb_oldest(struct mb_hb_reader *r);

/* Copies kept records [from, from + max) into `out`; returns how many
 * (0 when `from` was released or not received yet). */
size_t mb_hb_copy(struct mb_hb_reader *r, size_t from, struct mb_hb_record *out, size_t max);

/* The kept records that arrived at or after from_real_us (host realtime),
 * as the metrics want them (host_us = arrival): a series read from the
 * spool file a block at a time (mb_hb_at), so that an hour of heartbeats
 * costs a block of memory, not the hour. It is a snapshot (later records
 * are not in it) and stays readable until the next mb_hb_release_before;
 * free it with mb_hb_series_free. */
int mb_hb_points(struct mb_hb_reader *r, int64_t from_real_us, struct mb_hb_series *out,
		 struct mb_err *err);
void mb_hb_series_free(struct mb_hb_series *s);

/* Points the series could not read back from the spool (an I/O error):
 * they read as zeros. */
size_t mb_hb_series_read_errors(const struct mb_hb_series *s);

/* Forgets the records that arrived before before_real_us: nobody will ask
 * for them again. Memory stays bounded by one run's window, not by the
 * guest's lifetime. */
void mb_hb_release_before(struct mb_hb_reader *r, int64_t before_real_us);

/* Keeps at most `max` records (default MB_HB_MAX_RECORDS), at most
 * `in_memory` of them in memory (default MB_HB_MEM_RECORDS; 0 = unchanged);
 * tests lower them. */
void mb_hb_set_max_records(struct mb_hb_reader *r, size_t max);
void mb_hb_set_memory_records(struct mb_hb_reader *r, size_t in_memory);

void mb_hb_counters(struct mb_hb_reader *r, struct mb_hb_counters *out);

/* ERR records the guest sent on its own (bad parameters, a module that did
 * not load), joined with "; " into buf; returns how many there were. */
size_t mb_hb_guest_errors(struct mb_hb_reader *r, char *buf, size_t len);

#endif
