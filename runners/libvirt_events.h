/* Events of one domain on one libvirt connection, stamped on arrival.
 *
 * QEMU's own events (STOP, RESUME, MIGRATION, MIGRATION_PASS, ...) arrive
 * through virConnectDomainQemuMonitorEventRegister with QEMU's timestamp
 * (its CLOCK_REALTIME, as over QMP); libvirt's lifecycle, migration
 * iteration and job-completed events are recorded beside them under
 * "libvirt.LIFECYCLE", "libvirt.MIGRATION_ITERATION" and
 * "libvirt.JOB_COMPLETED" (qemu_us -1: libvirt gives no stamp). Every
 * event is stamped with the host's CLOCK_REALTIME and CLOCK_MONOTONIC on
 * arrival in migbench, as the QMP runner's are:
 *   {"event", "data", "qemu_us", "host_real_us", "host_mono_us", "via"}.
 * Needs libvirt's event loop running (mb_lv_event_loop_start). */
#ifndef MB_RUNNERS_LIBVIRT_EVENTS_H
#define MB_RUNNERS_LIBVIRT_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include <libvirt/libvirt.h>
#include <jansson.h>

#include "bench/error.h"

struct mb_lv_watch;

/* Starts recording the events of the domain called `domain` on `conn`
 * (the domain need not exist yet: a migration's destination). */
int mb_lv_watch_start(virConnectPtr conn, const char *domain, const char *label,
		      struct mb_lv_watch **out, struct mb_err *err);

/* Deregisters and frees (once libvirt has let go of its callbacks). */
void mb_lv_watch_stop(struct mb_lv_watch *w);

/* Forgets every event recorded so far. */
void mb_lv_watch_clear(struct mb_lv_watch *w);

/* Events number `from` onwards (new reference, an array); *next gets the
 * number after the last. */
json_t *mb_lv_watch_since(struct mb_lv_watch *w, size_t from, size_t *next);

/* Waits up to timeout_ms until more than `count` events are recorded.
 * Returns 1 when there are, 0 when not. */
int mb_lv_watch_wait_more(struct mb_lv_watch *w, size_t count, int timeout_ms);

/* Waits up to timeout_ms for an event `name` (with data.status == status
 * when status is not NULL) among events number `from` onwards. 0 and a
 * new reference in *ev (may be NULL), or -1 with err. */
int mb_lv_watch_wait_for(struct mb_lv_watch *w, size_t from, const char *name, const char *status,
			 int timeout_ms, json_t **ev, struct mb_err *err);

#endif
