/* The events of one domain on one libvirt connection (libvirt_events.h).
 * libvirt calls the callbacks from its event loop thread; the log is
 * guarded by a mutex, and freed only when the owner and every registered
 * callback have let go (libvirt may still be dispatching one when the
 * owner deregisters: it calls the free callback once it is done). */
#include "config.h"
#include "runners/libvirt_events.h"
#include "bench/clock.h"

#include <errno.h>
#include <libvirt/libvirt-qemu.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runners/libvirt_conn.h"

enum { CB_LIFECYCLE, CB_ITERATION, CB_JOB_COMPLETED, CB_COUNT };

struct mb_lv_watch {
	virConnectPtr conn;
	char domain[256];
	char label[64];
	pthread_mutex_t lock;
	pthread_cond_t grown;
	json_t *events;            /* in arrival order */
	size_t base;               /* number of events[0]: cleared ones count */
	int refs;                  /* the owner + each live registration */
	int cb_id[CB_COUNT];
	int monitor_id;
};

static void unref(struct mb_lv_watch *w)
{
	int last;

	pthread_mutex_lock(&w->lock);
	last = --w->refs == 0;
	pthread_mutex_unlock(&w->lock);
	if (!last)
		return;
	json_decref(w->events);
	pthread_cond_destroy(&w->grown);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static void unref_cb(void *opaque)
{
	unref(opaque);
}

static int ours(struct mb_lv_watch *w, virDomainPtr dom)
{
	const char *name = dom ? virDomainGetName(dom) : NULL;

	return name && !strcmp(name, w->domain);
}

/* Appends {event, data, qemu_us, host_*_us, via}; steals `data`. */
static void record(struct mb_lv_watch *w, const char *name, json_t *data, int64_t qemu_us, const char *via,
		   int64_t real_us, int64_t mono_us)
{
	json_t *e = json_pack("{s:s, s:I, s:I, s:I, s:s}", "event", name, "qemu_us", (json_int_t)qemu_us,
			      "host_real_us", (json_int_t)real_us, "host_mono_us", (json_int_t)mono_us,
			      "via", via);

	if (!e) {
		json_decref(data);
		return;
	}
	json_object_set_new(e, "data", data ? data : json_object());
	pthread_mutex_lock(&w->lock);
	json_array_append_new(w->events, e);
	pthread_cond_broadcast(&w->grown);
	pthread_mutex_unlock(&w->lock);
}

static void on_monitor_event(virConnectPtr conn, virDomainPtr dom, const char *event, long long seconds,
			     unsigned int micros, const char *details, void *opaque)
{
	/* Stamped first, before anything else can delay it. */
	int64_t real_us = mb_clock_us(CLOCK_REALTIME), mono_us = mb_clock_us(CLOCK_MONOTONIC);
	struct mb_lv_watch *w = opaque;
	json_t *data = NULL;
	int64_t qemu_us = -1;

	if (!ours(w, dom) || !event)
		return;
	if (details && *details) {
		json_error_t jerr;

		data = json_loads(details, JSON_DECODE_ANY, &jerr);
		if (!data)
			data = json_pack("{s:s}", "unparsed", details);
	}
	/* libvirt passes -1 seconds when QEMU gave no timestamp. */
	if (seconds >= 0 && seconds < INT64_MAX / 1000000 - 1 && micros < 1000000)
		qemu_us = (int64_t)seconds * 1000000 + micros;
	record(w, event, data, qemu_us, "libvirt-qemu monitor event", real_us, mono_us);
}

static const char *lifecycle_name(int event)
{
	static const char *const names[] = { "DEFINED", "UNDEFINED", "STARTED", "SUSPENDED", "RESUMED",
					     "STOPPED", "SHUTDOWN", "PMSUSPENDED", "CRASHED" };

	return event >= 0 && event < (int)(sizeof(names) / sizeof(names[0])) ? names[event] : "UNKNOWN";
}

/* The details that matter for a migration; others by number. */
static const char *lifecycle_detail(int event, int detail)
{
	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED:
		switch (detail) {
		case VIR_DOMAIN_EVENT_STARTED_BOOTED: return "BOOTED";
		case VIR_DOMAIN_EVENT_STARTED_MIGRATED: return "MIGRATED";
		}
		break;
	case VIR_DOMAIN_EVENT_SUSPENDED:
		switch (detail) {
		case VIR_DOMAIN_EVENT_SUSPENDED_PAUSED: return "PAUSED";
		case VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED: return "MIGRATED";
		case VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY: return "POSTCOPY";
		case VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED: return "POSTCOPY_FAILED";
		case VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR: return "API_ERROR";
		}
		break;
	case VIR_DOMAIN_EVENT_RESUMED:
		switch (detail) {
		case VIR_DOMAIN_EVENT_RESUMED_UNPAUSED: return "UNPAUSED";
		case VIR_DOMAIN_EVENT_RESUMED_MIGRATED: return "MIGRATED";
		case VIR_DOMAIN_EVENT_RESUMED_POSTCOPY: return "POSTCOPY";
		}
		break;
	case VIR_DOMAIN_EVENT_STOPPED:
		switch (detail) {
		case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN: return "SHUTDOWN";
		case VIR_DOMAIN_EVENT_STOPPED_DESTROYED: return "DESTROYED";
		case VIR_DOMAIN_EVENT_STOPPED_CRASHED: return "CRASHED";
		case VIR_DOMAIN_EVENT_STOPPED_MIGRATED: return "MIGRATED";
		case VIR_DOMAIN_EVENT_STOPPED_FAILED: return "FAILED";
		}
		break;
	}
	return NULL;
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	int64_t real_us = mb_clock_us(CLOCK_REALTIME), mono_us = mb_clock_us(CLOCK_MONOTONIC);
	struct mb_lv_watch *w = opaque;
	const char *d = lifecycle_detail(event, detail);
	json_t *data;

	if (!ours(w, dom))
		return 0;
	data = json_pack("{s:s, s:i}", "event", lifecycle_name(event), "detail_code", detail);
	if (d)
		json_object_set_new(data, "detail", json_string(d));
	record(w, "libvirt.LIFECYCLE", data, -1, "libvirt domain event", real_us, mono_us);
	return 0;
}

static void on_iteration(virConnectPtr conn, virDomainPtr dom, int iteration, void *opaque)
{
	int64_t real_us = mb_clock_us(CLOCK_REALTIME), mono_us = mb_clock_us(CLOCK_MONOTONIC);
	struct mb_lv_watch *w = opaque;

	if (ours(w, dom))
		record(w, "libvirt.MIGRATION_ITERATION", json_pack("{s:i}", "iteration", iteration), -1,
		       "libvirt domain event", real_us, mono_us);
}

static void on_job_completed(virConnectPtr conn, virDomainPtr dom, virTypedParameterPtr params,
			     int nparams, void *opaque)
{
	int64_t real_us = mb_clock_us(CLOCK_REALTIME), mono_us = mb_clock_us(CLOCK_MONOTONIC);
	struct mb_lv_watch *w = opaque;

	if (ours(w, dom))
		record(w, "libvirt.JOB_COMPLETED", mb_lv_params_json(params, nparams), -1,
		       "libvirt domain event", real_us, mono_us);
}

int mb_lv_watch_start(virConnectPtr conn, const char *domain, const char *label,
		      struct mb_lv_watch **out, struct mb_err *err)
{
	struct mb_lv_watch *w = calloc(1, sizeof(*w));
	static const int ids[CB_COUNT] = { VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION,
					   VIR_DOMAIN_EVENT_ID_JOB_COMPLETED };
	virConnectDomainEventGenericCallback cbs[CB_COUNT] = {
		VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), VIR_DOMAIN_EVENT_CALLBACK(on_iteration),
		VIR_DOMAIN_EVENT_CALLBACK(on_job_completed),
	};
	pthread_condattr_t attr;

	*out = NULL;
	if (!w || !(w->events = json_array())) {
		free(w);
		return mb_errf(err, ENOMEM, "events of %s on %s", domain, label);
	}
	w->conn = conn;
	snprintf(w->domain, sizeof(w->domain), "%s", domain);
	snprintf(w->label, sizeof(w->label), "%s", label);
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->grown, &attr);
	pthread_condattr_destroy(&attr);
	w->refs = 1;
	for (int i = 0; i < CB_COUNT; i++)
		w->cb_id[i] = -1;
	w->monitor_id = -1;

	/* A reference for each registration, dropped by libvirt's free
	 * callback; taken before registering, given back on failure. */
	w->refs++;
	w->monitor_id = virConnectDomainQemuMonitorEventRegister(conn, NULL, NULL, on_monitor_event, w,
								 unref_cb, 0);
	if (w->monitor_id < 0) {
		w->refs--;
		mb_lv_errf(err, "%s: registering for QEMU monitor events (virConnectDomainQemuMonitorEventRegister)",
			   label);
		mb_lv_watch_stop(w);
		return -1;
	}
	for (int i = 0; i < CB_COUNT; i++) {
		w->refs++;
		w->cb_id[i] = virConnectDomainEventRegisterAny(conn, NULL, ids[i], cbs[i], w, unref_cb);
		if (w->cb_id[i] < 0) {
			w->refs--;
			mb_lv_errf(err, "%s: registering for domain event %d", label, ids[i]);
			mb_lv_watch_stop(w);
			return -1;
		}
	}
	*out = w;
	return 0;
}

void mb_lv_watch_stop(struct mb_lv_watch *w)
{
	if (!w)
		return;
	/* A connection that died has forgotten the registrations, and then
	 * libvirt has already called the free callbacks. */
	if (w->monitor_id >= 0)
		virConnectDomainQemuMonitorEventDeregister(w->conn, w->monitor_id);
	for (int i = 0; i < CB_COUNT; i++)
		if (w->cb_id[i] >= 0)
			virConnectDomainEventDeregisterAny(w->conn, w->cb_id[i]);
	unref(w);
}

void mb_lv_watch_clear(struct mb_lv_watch *w)
{
	pthread_mutex_lock(&w->lock);
	w->base += json_array_size(w->events);
	json_array_clear(w->events);
	pthread_mutex_unlock(&w->lock);
}

json_t *mb_lv_watch_since(struct mb_lv_watch *w, size_t from, size_t *next)
{
	json_t *a = json_array();
	size_t n;

	pthread_mutex_lock(&w->lock);
	n = json_array_size(w->events);
	for (size_t i = from > w->base ? from - w->base : 0; a && i < n; i++)
		json_array_append(a, json_array_get(w->events, i));
	if (next)
		*next = w->base + n;
	pthread_mutex_unlock(&w->lock);
	return a;
}

static void timed_wait(struct mb_lv_watch *w, int64_t deadline_us)
{
	struct timespec ts = { .tv_sec = deadline_us / 1000000, .tv_nsec = deadline_us % 1000000 * 1000 };

	pthread_cond_timedwait(&w->grown, &w->lock, &ts);
}

int mb_lv_watch_wait_more(struct mb_lv_watch *w, size_t count, int timeout_ms)
{
	int64_t deadline = mb_clock_us(CLOCK_MONOTONIC) + (int64_t)timeout_ms * 1000;
	int more;

	pthread_mutex_lock(&w->lock);
	while (!(more = w->base + json_array_size(w->events) > count) &&
	       mb_clock_us(CLOCK_MONOTONIC) < deadline)
		timed_wait(w, deadline);
	pthread_mutex_unlock(&w->lock);
	return more;
}

int mb_lv_watch_wait_for(struct mb_lv_watch *w, size_t from, const char *name, const char *status,
			 int timeout_ms, json_t **ev, struct mb_err *err)
{
	int64_t deadline = mb_clock_us(CLOCK_MONOTONIC) + (int64_t)timeout_ms * 1000;
	size_t i;

	if (ev)
		*ev = NULL;
	pthread_mutex_lock(&w->lock);
	i = from > w->base ? from - w->base : 0;
	for (;;) {
		for (; i < json_array_size(w->events); i++) {
			json_t *e = json_array_get(w->events, i);
			const char *st = json_string_value(json_object_get(json_object_get(e, "data"), "status"));

			if (strcmp(json_string_value(json_object_get(e, "event")), name) ||
			    (status && (!st || strcmp(st, status))))
				continue;
			if (ev)
				*ev = json_incref(e);
			pthread_mutex_unlock(&w->lock);
			return 0;
		}
		if (mb_clock_us(CLOCK_MONOTONIC) >= deadline)
			break;
		timed_wait(w, deadline);
	}
	pthread_mutex_unlock(&w->lock);
	return mb_errf(err, ETIMEDOUT, "no event %s%s%s of domain %s from %s within %d ms", name,
		       status ? " with status " : "", status ? status : "", w->domain, w->label, timeout_ms);
}
