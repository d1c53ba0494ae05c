#include "config.h"
#include "runners/runner.h"
#include "runners/libvirt_options.h"
#include "workloads/image/image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adding a runner: one file with its ops table, one line here. */
extern const struct mb_runner_ops mb_runner_qmp;
#ifdef HAVE_LIBVIRT
extern const struct mb_runner_ops mb_runner_libvirt;
#endif

const struct mb_runner_ops *const mb_runners[] = {
	&mb_runner_qmp,
#ifdef HAVE_LIBVIRT
	&mb_runner_libvirt,
#endif
	NULL,
};

#ifndef HAVE_LIBVIRT
static const struct mb_runner_ops libvirt_keys_only = {
	.name = "libvirt",
	.summary = "not in this build: configure found no libvirt; its keys are still accepted",
	.options = mb_lv_keys,
	.options_size = sizeof(struct mb_lv_options),
};
#endif

const struct mb_runner_ops *const mb_runners_not_built[] = {
#ifndef HAVE_LIBVIRT
	&libvirt_keys_only,
#endif
	NULL,
};

const struct mb_runner_ops *mb_runner_find(const char *name)
{
	for (size_t i = 0; mb_runners[i]; i++)
		if (!strcmp(mb_runners[i]->name, name))
			return mb_runners[i];
	return NULL;
}

void mb_guest_status_from_hb(struct mb_guest_status *st, struct mb_hb_reader *hb, int64_t launch_mono_us,
			     int64_t first_hb_mono_us, const struct mb_image *image)
{
	struct mb_hb_hello hello;

	st->launch_mono_us = launch_mono_us;
	st->first_heartbeat_mono_us = first_hb_mono_us;
	if (mb_hb_wait_hello(hb, &hello, 0, NULL) == 0) {
		st->agent_boot_us = hello.boot_us;
		st->page_size = hello.page_size;
	}
	snprintf(st->image, sizeof(st->image), "%s (kernel %s)", image->id, image->kernel_version);
	mb_hb_guest_errors(hb, st->guest_errors, sizeof(st->guest_errors));
}

int mb_hb_series_for_run(struct mb_hb_reader *hb, int64_t from_real_us, struct mb_hb_series *out,
			 struct mb_err *err)
{
	mb_hb_release_before(hb, from_real_us);
	return mb_hb_points(hb, from_real_us, out, err);
}

void mb_mig_record_release(struct mb_mig_record *rec)
{
	json_decref(rec->events);
	json_decref(rec->samples);
	if (rec->samples_file)
		fclose(rec->samples_file);
	json_decref(rec->final_source);
	json_decref(rec->final_destination);
	json_decref(rec->migration_parameters);
	json_decref(rec->hypervisor);
	json_decref(rec->console);
	json_decref(rec->probes);
	json_decref(rec->probe_metrics);
	json_decref(rec->runner_reported);
	json_decref(rec->link);
	memset(rec, 0, sizeof(*rec));
}

/* The first event of a side with this name (and status) at or after `after`. */
static int64_t event_time(const json_t *events, const char *clock, const char *side, const char *name,
			  const char *status, int64_t after)
{
	size_t i;
	json_t *e;

	json_array_foreach(events, i, e) {
		const char *st = json_string_value(json_object_get(json_object_get(e, "data"), "status"));
		const char *s = json_string_value(json_object_get(e, "side"));
		const char *n = json_string_value(json_object_get(e, "event"));
		json_int_t t = json_integer_value(json_object_get(e, clock));

		if (!s || !n || strcmp(s, side) || strcmp(n, name))
			continue;
		if (status && (!st || strcmp(st, status)))
			continue;
		if (t > 0 && t >= after)
			return t;
	}
	return 0;
}

const char *mb_event_clock_name(enum mb_event_clock c)
{
	return c == MB_EVENT_CLOCK_ARRIVAL ? "host_real_us" : "qemu_us";
}

void mb_mig_times_from_events(const json_t *events, int64_t start_us, int64_t recover_sent_us,
			      enum mb_event_clock clock, struct mb_mig_times *t)
{
	const char *c = mb_event_clock_name(clock);

	memset(t, 0, sizeof(*t));
	t->start_us = start_us;
	t->src_stop_us = event_time(events, c, "source", "STOP", NULL, start_us - 1000000);
	t->dst_resume_us = event_time(events, c, "destination", "RESUME", NULL, start_us);
	t->postcopy_us = event_time(events, c, "source", "MIGRATION", "postcopy-active", start_us);
	t->src_complete_us = event_time(events, c, "source", "MIGRATION", "completed", start_us);
	t->dst_complete_us = event_time(events, c, "destination", "MIGRATION", "completed", start_us);
	t->postcopy_paused_us = event_time(events, c, "source", "MIGRATION", "postcopy-paused", start_us);
	if (t->postcopy_paused_us) {
		t->recover_sent_us = recover_sent_us;
		t->postcopy_recovered_us = event_time(events, c, "source", "MIGRATION", "postcopy-active",
						      t->postcopy_paused_us);
	}
}

void mb_mig_progress_from_sample(const char *status, unsigned passes, const struct mb_migrate_sample *s,
				 struct mb_mig_progress *p)
{
	snprintf(p->status, sizeof(p->status), "%s", status);
	p->passes = passes > s->dirty_sync_count ? passes : (unsigned)s->dirty_sync_count;
	p->transferred = s->transferred;
	p->remaining = s->remaining;
	p->total = s->total;
	p->dirty_rate = s->dirty_pages_rate;
	p->expected_downtime_ms = s->expected_downtime_ms;
	p->postcopy_requests = s->postcopy_requests;
}
