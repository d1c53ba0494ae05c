/* A QMP client: talks to one QEMU process over its unix-socket monitor.
 *
 * Every connection has a reader thread that reads each message the moment
 * QEMU sends it, stamps it with the host clocks, and then either hands a
 * reply to the thread waiting for its id or appends an event to the
 * connection's event log. So events are never lost and never wait behind a
 * slow command (QEMU may take a second to answer `query-migrate` during
 * stop-and-copy), and several threads may execute commands on one
 * connection at once (e.g. the query-migrate sampler and the main loop).
 *
 * When QEMU goes away (EOF), every waiting and every later call fails
 * promptly with "QMP connection to <socket> closed (QEMU exited?)"; events
 * that arrived before can still be waited for and taken.
 *
 * Timeouts are in milliseconds; a negative timeout means wait forever.
 * Functions returning int return 0 on success and -1 with `err` filled on
 * failure. */
#ifndef MB_RUNNERS_QMP_H
#define MB_RUNNERS_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bench/error.h"

struct mb_qmp;

/* ---- connection ----------------------------------------------------------- */

struct mb_qmp_version {
	int major, minor, micro;
	char text[32];          /* "7.2.22" */
	char package[128];      /* distribution suffix, e.g. "Debian 1:7.2+dfsg-7", may be "" */
};

/* Connects to `socket_path`, retrying until `timeout_ms` has passed while the
 * socket does not exist yet or refuses (QEMU creates it shortly after it
 * starts), reads the greeting and leaves capability negotiation with
 * `qmp_capabilities`. On success *out owns the connection. */
int mb_qmp_connect(const char *socket_path, int timeout_ms, struct mb_qmp **out,
		   struct mb_err *err);

/* Stops the reader thread, closes the socket and frees everything, including
 * events not taken. No other thread may use `conn` during or after this.
 * NULL is allowed. */
void mb_qmp_close(struct mb_qmp *conn);

const char *mb_qmp_socket_path(const struct mb_qmp *conn);

/* QEMU's version as announced in the greeting. */
const struct mb_qmp_version *mb_qmp_version(const struct mb_qmp *conn);
const char *mb_qmp_qemu_version(const struct mb_qmp *conn);      /* "7.2.22" */

/* ---- commands ------------------------------------------------------------- */

/* When a reply arrived, by the host clocks: lets a sampler time-stamp what
 * QEMU said without the delay of waking the calling thread. */
struct mb_qmp_timing {
	int64_t sent_mono_us;      /* request fully written */
	int64_t reply_real_us;     /* reply read by the reader thread: CLOCK_REALTIME */
	int64_t reply_mono_us;     /* the same instant, CLOCK_MONOTONIC */
};

/* Sends {"execute": command, "arguments": args, "id": N} and waits for the
 * reply with that id.
 * `args`: a JSON object or NULL for none. Its reference is STOLEN, also on
 *   failure, so `mb_qmp_execute(c, "migrate", json_pack("{s:s}", "uri", u), ...)`
 *   does not leak. (Should such a json_pack fail, the command goes out
 *   without arguments and QEMU's "parameter missing" error is reported.)
 * `ret`: NULL to discard the result, otherwise receives a new reference to
 *   the reply's "return" value (caller json_decref()s it).
 * A QMP error reply becomes "QMP <command> failed: <class>: <desc>". */
int mb_qmp_execute(struct mb_qmp *conn, const char *command, json_t *args,
		   json_t **ret, int timeout_ms, struct mb_err *err);

/* The same, and reports when the request left and the reply arrived
 * (`timing` may be NULL). */
int mb_qmp_execute_timed(struct mb_qmp *conn, const char *command, json_t *args,
			 json_t **ret, int timeout_ms, struct mb_qmp_timing *timing,
			 struct mb_err *err);

/* The same, out of band ("exec-oob"): answered even while QEMU's main loop
 * is blocked. ENOTSUP when the QEMU did not offer "oob" in its greeting. */
int mb_qmp_execute_oob(struct mb_qmp *conn, const char *command, json_t *args, json_t **ret,
		       int timeout_ms, struct mb_err *err);

/* ---- events ----------------------------------------------------------------- */

struct mb_qmp_event {
	char *name;             /* "STOP", "MIGRATION", ... (owned) */
	json_t *data;           /* the event's "data" object, NULL when it has none (one reference, owned) */
	int64_t qemu_us;        /* QEMU's own timestamp (its CLOCK_REALTIME), µs; -1 when absent */
	int64_t host_real_us;   /* arrival at the reader thread: CLOCK_REALTIME, µs */
	int64_t host_mono_us;   /* the same instant: CLOCK_MONOTONIC, µs */
};

struct mb_qmp_event_list {
	struct mb_qmp_event *items;
	size_t count;
};

/* Decides whether an event is the one waited for. Called with the event
 * log's lock held: it must not call back into the connection or the log. */
typedef bool (*mb_qmp_event_pred)(const struct mb_qmp_event *ev, void *arg);

/* Waits for the first event named `name` that no earlier wait returned,
 * including events that arrived before this call, and whose data contains
 * every member of `data_match` with an equal value (`data_match` borrowed,
 * NULL matches any). Marks it consumed and copies it into *out (release with
 * mb_qmp_event_release()). Consumed events stay in the log for
 * mb_qmp_take_events(). */
int mb_qmp_wait_event(struct mb_qmp *conn, const char *name, const json_t *data_match,
		      int timeout_ms, struct mb_qmp_event *out, struct mb_err *err);

/* The same with a predicate (`pred` NULL matches any; `name` NULL matches
 * every event name), e.g. "MIGRATION whose status is completed or failed". */
int mb_qmp_wait_event_if(struct mb_qmp *conn, const char *name, mb_qmp_event_pred pred,
			 void *pred_arg, int timeout_ms, struct mb_qmp_event *out,
			 struct mb_err *err);

/* Moves every event recorded so far (consumed or not, in arrival order) into
 * *out and empties the log: later waits only see later events. Cannot fail.
 * Free with mb_qmp_event_list_free(). */
void mb_qmp_take_events(struct mb_qmp *conn, struct mb_qmp_event_list *out);

/* Copies the log without emptying it (e.g. for a progress report). */
int mb_qmp_copy_events(struct mb_qmp *conn, struct mb_qmp_event_list *out,
		       struct mb_err *err);

/* Single events (runners/qmp_events.c). */

/* Builds an event from a QMP message {"event":..., "data":..., "timestamp":
 * {"seconds":..., "microseconds":...}} that arrived at the given host times. */
int mb_qmp_event_from_message(const json_t *msg, int64_t host_real_us, int64_t host_mono_us,
			      struct mb_qmp_event *out, struct mb_err *err);
int mb_qmp_event_copy(const struct mb_qmp_event *src, struct mb_qmp_event *dst,
		      struct mb_err *err);
void mb_qmp_event_release(struct mb_qmp_event *ev);
void mb_qmp_event_list_free(struct mb_qmp_event_list *list);

/* True when `ev` has this name (NULL: any) and its data holds every member
 * of `data_match` (NULL: anything) with an equal value. */
bool mb_qmp_event_matches(const struct mb_qmp_event *ev, const char *name,
			  const json_t *data_match);

/* {"event": name, "data": {...}, "qemu_us": N, "host_real_us": N,
 *  "host_mono_us": N} ("data" only when present); NULL when out of memory. */
json_t *mb_qmp_event_to_json(const struct mb_qmp_event *ev);
json_t *mb_qmp_event_list_to_json(const struct mb_qmp_event_list *list);

/* The event log behind a connection (runners/qmp_events.c): append-only,
 * thread-safe, with a "consumed" mark per event. It has its own lock, so the
 * reader thread never waits for a command to append an event. Usable on its
 * own for any source of QMP-style events. */
struct mb_qmp_event_log;

/* `source` names where events come from in error messages (a socket path). */
int mb_qmp_event_log_new(const char *source, struct mb_qmp_event_log **out, struct mb_err *err);
void mb_qmp_event_log_free(struct mb_qmp_event_log *log);

/* Moves *ev into the log (leaving *ev empty) and wakes the waiters. */
int mb_qmp_event_log_append(struct mb_qmp_event_log *log, struct mb_qmp_event *ev,
			    struct mb_err *err);

/* No more events will come: from now on a wait that finds nothing fails at
 * once with `why` (+ strerror(errnum) when not 0). The first call wins. */
void mb_qmp_event_log_end(struct mb_qmp_event_log *log, int errnum, const char *why);

/* What mb_qmp_wait_event{,_if} do: name, data_match and pred are each
 * optional (NULL) filters. */
int mb_qmp_event_log_wait(struct mb_qmp_event_log *log, const char *name,
			  const json_t *data_match, mb_qmp_event_pred pred, void *pred_arg,
			  int timeout_ms, struct mb_qmp_event *out, struct mb_err *err);
void mb_qmp_event_log_take(struct mb_qmp_event_log *log, struct mb_qmp_event_list *out);
int mb_qmp_event_log_copy(struct mb_qmp_event_log *log, struct mb_qmp_event_list *out,
			  struct mb_err *err);

/* ---- migration configuration ------------------------------------------------- */

/* query-migrate-capabilities' reply (a list of {capability, state}) as
 * {"xbzrle": false, "events": true, ...} in QEMU's order (*out: new
 * reference); for replies that came another way (libvirt's monitor). */
int mb_qmp_capabilities_object(const json_t *list, json_t **out, struct mb_err *err);

/* query-migrate-capabilities as {"xbzrle": false, "events": true, ...}
 * (*out: new reference, in QEMU's order). */
int mb_qmp_query_migrate_capabilities(struct mb_qmp *conn, json_t **out, int timeout_ms,
				      struct mb_err *err);

/* query-migrate-parameters' object as QEMU returns it
 * ({"downtime-limit": 300, "multifd-compression": "none", ...}). */
int mb_qmp_query_migrate_parameters(struct mb_qmp *conn, json_t **out, int timeout_ms,
				    struct mb_err *err);

/* Fails unless `available` (an object such as the two above return) has the
 * key `name`: "QEMU has no <what> 'name' (it has: a, b, c)". `what` is e.g.
 * "migration capability" or "migration parameter". */
int mb_qmp_require_name(const json_t *available, const char *name, const char *what,
			struct mb_err *err);

/* The same for every key of the object `wanted` (values ignored), so the
 * object later given to mb_qmp_set_migrate_* can be checked first. */
int mb_qmp_require_names(const json_t *available, const json_t *wanted, const char *what,
			 struct mb_err *err);

/* migrate-set-capabilities from {"name": true|false, ...} (borrowed). */
int mb_qmp_set_migrate_capabilities(struct mb_qmp *conn, const json_t *caps, int timeout_ms,
				    struct mb_err *err);

/* migrate-set-parameters with {"name": value, ...} (borrowed). */
int mb_qmp_set_migrate_parameters(struct mb_qmp *conn, const json_t *params, int timeout_ms,
				  struct mb_err *err);

/* A value sent is not a value applied: reads capabilities and parameters
 * back and fails, naming each, where QEMU holds other values than `caps`
 * and `params` (either may be NULL), as QEMU's own migration tests check. */
int mb_qmp_check_applied(struct mb_qmp *conn, const json_t *caps, const json_t *params, int timeout_ms,
			 struct mb_err *err);

/* Whether every key of `wanted` has an equal value in `applied`; the first
 * that does not is described in err ("what 'key': asked X, QEMU holds Y"). */
int mb_qmp_compare_applied(const json_t *applied, const json_t *wanted, const char *what,
			   struct mb_err *err);

#endif
