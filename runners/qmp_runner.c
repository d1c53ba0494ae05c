/* The `qmp` runner: QEMU processes started by migbench itself and driven
 * over QMP, no daemon. Each repetition migrates the running guest into a
 * fresh destination QEMU, which then becomes the source of the next one
 * (QEMU keeps some counters across migrations within one process). */
#include "config.h"
#include "bench/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/host.h"
#include "runners/uffd_check.h"
#include "probes/heartbeat.h"
#include "probes/migrate_sampler.h"
#include "runners/guest.h"
#include "runners/link.h"
#include "runners/netns.h"
#include "runners/qemu_proc.h"
#include "runners/qemu_versions.h"
#include "runners/qmp.h"
#include "runners/qmp_config.h"
#include "runners/qmp_options.h"
#include "runners/runner.h"
#include "runners/snapshot.h"
#include "runners/tls.h"
#include "workloads/image/image.h"

#define QMP_TIMEOUT_MS 10000
/* Each step of a post-copy link cut and its recovery. */
#define RECOVERY_TIMEOUT_MS 30000
#define BOOT_TIMEOUT_MS 120000
/* Heartbeats before `migrate` that the degradation baseline uses. */

struct mb_runner {
	const struct mb_run_spec *spec;
	struct mb_image image;
	struct mb_guest guest;
	struct mb_qemu *src, *dst;
	struct mb_qmp *src_qmp, *dst_qmp;
	struct mb_hb_reader *hb;
	unsigned src_hb, dst_hb;
	struct mb_migrate_sampler *sampler;
	char uri[4200];
	char status[32];
	unsigned passes;
	int64_t start_real_us;
	int64_t recover_sent_real_us;  /* migrate-recover sent; 0 = none */
	volatile const int *interrupted; /* the user's Ctrl-C, or NULL */
	int64_t running_since_mono_us;  /* the guest last started running */
	int64_t boot_launch_mono_us, boot_first_hb_mono_us; /* its boot */
	unsigned migrations;
	/* echo/kv: the run's network (runners/netns.h); the running guest's
	 * tap and the one its next destination gets */
	struct mb_netns *ns;
	unsigned src_tap, dst_tap;
	/* link_*: the shaped link (runners/link.h); the end whose namespace
	 * holds the running guest (the destination starts in the other), and
	 * the link's counters when `migrate` was sent */
	struct mb_link *link;
	unsigned src_end;
	struct mb_link_counters link_before[MB_LINK_ENDS];
	/* tls=on: the certificates every QEMU of the run loads; "" = off */
	char tls_dir[PATH_MAX];
	/* qemu= and qemu_dst= resolved: a binary of this host, or an
	 * installed version in its root (runners/qemu_versions.h) */
	struct mb_qemu_ref qemu_ref[2];
	char machine[64];              /* the machine type both sides run */
	const char *machine_chosen_by; /* "scenario", "newest common to both sides", "default" */
	/* guest_start=snapshot: the guest's snapshot (runners/snapshot.h) */
	struct mb_snapshot snap;
	char start_how[MB_ERR_MAX + 256]; /* how the guest started, for reports */
};

enum { SIDE_SOURCE, SIDE_DESTINATION };

/* qemu= for the source, qemu_dst= (else qemu=) for destinations. */
static int resolve_qemus(struct mb_runner *r, struct mb_err *err)
{
	const struct mb_params *p = &r->spec->params;
	const char *src = p->qemu && *p->qemu ? p->qemu : MB_DEFAULT_QEMU;
	const char *dst = p->qemu_dst && *p->qemu_dst ? p->qemu_dst : src;

	if (mb_qemu_resolve(src, &r->qemu_ref[SIDE_SOURCE], err))
		return mb_err_prefix(err, "qemu");
	if (mb_qemu_resolve(dst, &r->qemu_ref[SIDE_DESTINATION], err))
		return mb_err_prefix(err, "qemu_dst");
	/* "pc" is each version's newest type: across versions the two
	 * sides would differ, and QEMU refuses that at once. */
	if (p->machine && *p->machine) {
		snprintf(r->machine, sizeof(r->machine), "%s", p->machine);
		r->machine_chosen_by = "scenario";
	} else if (strcmp(r->qemu_ref[SIDE_SOURCE].binary, r->qemu_ref[SIDE_DESTINATION].binary) ||
		   strcmp(r->qemu_ref[SIDE_SOURCE].root, r->qemu_ref[SIDE_DESTINATION].root)) {
		if (mb_qemu_common_machine(&r->qemu_ref[SIDE_SOURCE], &r->qemu_ref[SIDE_DESTINATION],
					   r->machine, sizeof(r->machine), err))
			return mb_err_prefix(err, "machine type for qemu=%s to qemu_dst=%s", src, dst);
		r->machine_chosen_by = "newest common to both sides";
	} else {
		snprintf(r->machine, sizeof(r->machine), "pc");
		r->machine_chosen_by = "default";
	}
	r->guest.machine = r->machine;
	return 0;
}

/* The guest's next QEMU is the one of `side`. */
static void use_qemu(struct mb_runner *r, int side)
{
	const struct mb_qemu_ref *ref = &r->qemu_ref[side];

	r->guest.qemu = ref->binary;
	r->guest.qemu_root = ref->root[0] ? ref->root : NULL;
}

/* Where a side's QEMU runs: the run's namespace of a guest with a network
 * service (where its tap is), an end of the shaped link, or here (NULL). */
static const struct mb_netns *netns_of(const struct mb_runner *r, int side)
{
	if (r->link)
		return mb_link_netns(r->link, side == SIDE_SOURCE ? r->src_end : 1 - r->src_end);
	return r->ns;
}

/* Starts one QEMU of `side` and connects QMP to it; on failure nothing is
 * left. */
static int start_qemu(struct mb_runner *r, int side, const char *label, const char *incoming,
		      struct mb_qemu **q, struct mb_qmp **qmp, struct mb_err *err)
{
	struct mb_qemu_opts opts = { .guest = &r->guest, .label = label, .incoming = incoming };
	const struct mb_netns *ns = netns_of(r, side);
	int saved = -1, rc;

	/* QEMU starts inside its namespace (this thread enters it for the
	 * spawn); QMP and heartbeats are unix sockets, reachable from here. */
	if (ns && mb_netns_enter(ns, &saved, err))
		return mb_err_prefix(err, "%s QEMU", label);
	rc = mb_qemu_start(&opts, q, err);
	mb_netns_leave(saved);
	if (rc)
		return -1;
	if (mb_qemu_wait_for_socket(*q, (*q)->qmp_socket, QMP_TIMEOUT_MS, err) ||
	    mb_qmp_connect((*q)->qmp_socket, QMP_TIMEOUT_MS, qmp, err)) {
		struct mb_err died;

		/* A QEMU that died says why in its log: that beats "closed". */
		usleep(100000);
		if (mb_qemu_check_alive(*q, &died))
			*err = died;
		else
			mb_err_prefix(err, "%s QEMU", label);
		mb_qemu_stop(*q, MB_QEMU_GRACE_MS);
		*q = NULL;
		return -1;
	}
	return 0;
}

static void stop_qemu(struct mb_qemu **q, struct mb_qmp **qmp)
{
	if (*qmp) {
		struct mb_err ignored;

		/* A clean quit lets QEMU remove its own sockets. */
		mb_qmp_execute(*qmp, "quit", NULL, NULL, 2000, &ignored);
		mb_qmp_close(*qmp);
		*qmp = NULL;
	}
	mb_qemu_stop(*q, MB_QEMU_GRACE_MS);
	*q = NULL;
}

/* `caps` (mb_qmp_caps_for or mb_qmp_destination_caps_for, taken over) for
 * this QEMU: the off and measurement ones it lacks left out; NULL with err
 * when it cannot say what it offers. */
static json_t *caps_for_qemu(struct mb_qmp *qmp, json_t *caps, struct mb_err *err)
{
	json_t *offered = NULL;

	if (mb_qmp_query_migrate_capabilities(qmp, &offered, QMP_TIMEOUT_MS, err)) {
		json_decref(caps);
		return NULL;
	}
	mb_qmp_drop_unoffered(caps, offered);
	json_decref(offered);
	return caps;
}

/* ---- preflight ---- */

static int check_offers(struct mb_qmp *qmp, const struct mb_params *p, struct mb_err *err)
{
	/* The destination's set, a superset of the source's (postcopy-blocktime
	 * on): a combination QEMU refuses shows here, before a guest boots. */
	json_t *caps = NULL, *params = NULL, *want_caps = mb_qmp_destination_caps_for(p);
	json_t *want_params = mb_qmp_source_params_for(p);
	int rc = -1;

	if (mb_qmp_query_migrate_capabilities(qmp, &caps, QMP_TIMEOUT_MS, err) ||
	    mb_qmp_query_migrate_parameters(qmp, &params, QMP_TIMEOUT_MS, err))
		goto out;
	mb_qmp_drop_unoffered(want_caps, caps);
	if (mb_qmp_require_names(caps, want_caps, "migration capability", err) ||
	    mb_qmp_require_names(params, want_params, "migration parameter", err))
		goto out;
	/* Having the names is not enough: QEMU refuses some combinations
	 * (postcopy-ram with multifd in 10.0, multifd with xbzrle) and values
	 * it was built without (multifd-compression=zstd) only when they are
	 * set. Set them here, on a QEMU that never runs the guest. */
	if (mb_qmp_set_migrate_capabilities(qmp, want_caps, QMP_TIMEOUT_MS, err) ||
	    mb_qmp_set_migrate_parameters(qmp, want_params, QMP_TIMEOUT_MS, err))
		goto out;
	rc = 0;
out:
	json_decref(caps);
	json_decref(params);
	json_decref(want_caps);
	json_decref(want_params);
	return rc;
}

static int prepare_image(struct mb_runner *r, struct mb_err *err)
{
	struct mb_image_opts opts = {0};

	if (mb_image_ensure(&opts, &r->image, err))
		return mb_err_prefix(err, "guest image");
	mb_guest_defaults(&r->guest);
	mb_guest_from_params(&r->guest, &r->spec->params);
	r->guest.kernel = r->image.kernel;
	r->guest.initrd = r->image.initrd;
	return resolve_qemus(r, err);
}

static int qmp_preflight(const struct mb_run_spec *spec, struct mb_err *err)
{
	struct mb_runner probe = { .spec = spec };
	const struct mb_params *p = &spec->params;
	struct mb_qemu *q = NULL;
	struct mb_qmp *qmp = NULL;
	int rc;

	if (p->mode == MB_MODE_POSTCOPY || p->mode == MB_MODE_HYBRID) {
		struct mb_host_roots roots;
		struct mb_host_uffd uffd;

		mb_host_roots_from_env(&roots);
		mb_probe_uffd(&roots, &uffd);
		if (!uffd.postcopy)
			return mb_errf(err, 0, "mode %s needs userfaultfd for post-copy: %s",
				       spec->text[MB_KEY_MODE], uffd.summary);
	}
	if (prepare_image(&probe, err))
		return -1;
	/* Certificates made and loaded here as in the run: a missing certtool,
	 * or a QEMU built without GnuTLS, stops the campaign before a boot. */
	if (p->tls) {
		if (mb_tls_make(probe.tls_dir, sizeof(probe.tls_dir), err))
			return -1;
		probe.guest.tls_dir = probe.tls_dir;
	}
	/* An incoming QEMU never runs the guest: a cheap way to ask what this
	 * binary offers before anything is measured. */
	rc = 0;
	for (int side = 0; side < 2 && !rc; side++) {
		if (side && !strcmp(probe.qemu_ref[SIDE_SOURCE].binary, probe.qemu_ref[SIDE_DESTINATION].binary) &&
		    !strcmp(probe.qemu_ref[SIDE_SOURCE].root, probe.qemu_ref[SIDE_DESTINATION].root))
			break;
		use_qemu(&probe, side);
		if (start_qemu(&probe, side, side ? "preflight-destination" : "preflight", "defer", &q, &qmp, err)) {
			rc = -1;
			break;
		}
		rc = check_offers(qmp, p, err);
		if (rc)
			mb_err_prefix(err, "QEMU %s (version %s)",
				      probe.qemu_ref[side].name[0] ? probe.qemu_ref[side].name : probe.guest.qemu,
				      mb_qmp_qemu_version(qmp));
		stop_qemu(&q, &qmp);
	}
	mb_tls_remove(probe.tls_dir);
	return rc;
}

/* ---- the guest ---- */

static int qmp_prepare(const struct mb_run_spec *spec, volatile const int *interrupted,
		       struct mb_runner **out, struct mb_err *err)
{
	struct mb_runner *r = calloc(1, sizeof(*r));

	if (!r)
		return mb_errf(err, ENOMEM, "qmp runner");
	r->spec = spec;
	r->interrupted = interrupted;
	if (prepare_image(r, err) || mb_hb_reader_new(&r->hb, err)) {
		free(r);
		return -1;
	}
	if (spec->params.tls) {
		if (mb_tls_make(r->tls_dir, sizeof(r->tls_dir), err)) {
			mb_hb_reader_free(r->hb);
			free(r);
			return -1;
		}
		r->guest.tls_dir = r->tls_dir;
	}
	*out = r;
	return 0;
}

/* The agent's HELLO, in slices, so that Ctrl-C during a boot (several
 * seconds under TCG) acts at once instead of after it. */
static int wait_for_agent(struct mb_runner *r, struct mb_hb_hello *hello, struct mb_err *err)
{
	int64_t deadline = mb_clock_us(CLOCK_MONOTONIC) + (int64_t)BOOT_TIMEOUT_MS * 1000;

	for (;;) {
		if (!mb_hb_wait_hello(r->hb, hello, 100, err))
			return 0;
		if (err->errnum != ETIMEDOUT)
			return -1;
		if (r->interrupted && *r->interrupted)
			return mb_errf(err, EINTR, "interrupted by the user while the guest booted");
		if (mb_clock_us(CLOCK_MONOTONIC) > deadline)
			return mb_errf(err, ETIMEDOUT, "no HELLO from the guest agent within %d ms", BOOT_TIMEOUT_MS);
	}
}

/* The keys that make the guest (its QEMU command line, the agent's boot
 * parameters, its network) must match; migration settings may differ. */
static int qmp_adopt(struct mb_runner *r, const struct mb_run_spec *next)
{
	static const enum mb_key_id guest_keys[] = {
		MB_KEY_MEMORY, MB_KEY_VCPUS, MB_KEY_WORKLOAD, MB_KEY_WSS, MB_KEY_RATE, MB_KEY_PATTERN,
		MB_KEY_KV_SIZE, MB_KEY_HEARTBEAT_PERIOD, MB_KEY_ACCEL, MB_KEY_QEMU, MB_KEY_QEMU_DST,
		MB_KEY_MACHINE, MB_KEY_TLS,
	};

	for (size_t i = 0; i < sizeof(guest_keys) / sizeof(guest_keys[0]); i++)
		if (strcmp(r->spec->text[guest_keys[i]], next->text[guest_keys[i]]))
			return 1;
	/* A shaped link or loopback is where the QEMUs run; the link's
	 * settings change in place. */
	if (mb_params_link_shaped(&r->spec->params) != mb_params_link_shaped(&next->params))
		return 1;
	r->spec = next;
	if (r->link) {
		struct mb_link_settings s;

		mb_link_settings_from(&next->params, &s);
		mb_link_configure(r->link, &s);
	}
	return 0;
}

/* guest_start=snapshot: restores the guest's snapshot. 1 when there is
 * none, or when QEMU could not restore it: then it is discarded (the boot
 * that follows saves a new one) and the reader starts afresh, so that
 * nothing of the attempt passes for the boot's. */
static int restore_source(struct mb_runner *r, struct mb_err *err)
{
	struct mb_err why = { 0 };
	const char *uri = "";
	uint64_t bytes;

	if (!mb_snapshot_present(&r->snap, &bytes))
		return 1;
	if (!start_qemu(r, SIDE_SOURCE, "source", "defer", &r->src, &r->src_qmp, &why) &&
	    !mb_hb_attach(r->hb, r->src->hb_socket, "source", QMP_TIMEOUT_MS, &r->src_hb, &why) &&
	    !mb_snapshot_restore(r->src_qmp, &r->snap, r->guest.memory, r->interrupted, &uri, &why) &&
	    !mb_hb_command(r->hb, "HELLO", NULL, NULL, BOOT_TIMEOUT_MS, &why) &&
	    !mb_hb_wait_records(r->hb, 1, BOOT_TIMEOUT_MS, &why)) {
		snprintf(r->start_how, sizeof(r->start_how), "restored from snapshot %s (%.1f MiB, read by %s)",
			 r->snap.path, (double)bytes / (1 << 20), uri);
		return 0;
	}
	if (why.errnum == EINTR) {
		*err = why;
		return -1;
	}
	if (r->src)
		mb_qemu_explain(r->src, &why);
	stop_qemu(&r->src, &r->src_qmp);
	mb_hb_reader_free(r->hb);
	r->hb = NULL;
	if (mb_hb_reader_new(&r->hb, err))
		return -1;
	mb_snapshot_discard(&r->snap);
	snprintf(r->start_how, sizeof(r->start_how), "snapshot %s could not be restored (%s): discarded, "
		 "booted instead", r->snap.path, why.msg);
	return 1;
}

/* guest_start=snapshot after a boot: saves the snapshot the next start
 * restores. A save that fails costs the campaign nothing but the speed-up:
 * the guest runs on, and the reason is in start_how. */
static void save_source(struct mb_runner *r)
{
	struct mb_err why = { 0 };
	uint64_t bytes;
	int64_t took_us;
	size_t used = strlen(r->start_how);

	if (!mb_snapshot_save(r->src_qmp, &r->snap, r->guest.memory, &bytes, &took_us, &why))
		snprintf(r->start_how + used, sizeof(r->start_how) - used, "%sbooted; snapshot %s saved "
			 "(%.1f MiB in %.2f s)", used ? "; " : "", r->snap.path, (double)bytes / (1 << 20),
			 took_us / 1e6);
	else
		snprintf(r->start_how + used, sizeof(r->start_how) - used, "%sbooted; no snapshot: %s",
			 used ? "; " : "", why.msg);
}

/* The guest is up (booted or restored): when it started running, and how
 * long from launch to its first heartbeat. */
static void source_running(struct mb_runner *r)
{
	struct mb_hb_record first;

	r->running_since_mono_us = mb_clock_us(CLOCK_MONOTONIC);
	r->boot_launch_mono_us = r->src->launch_mono_us;
	r->boot_first_hb_mono_us = mb_hb_copy(r->hb, mb_hb_oldest(r->hb), &first, 1) ? first.host_mono_us : 0;
}

static int qmp_start_source(struct mb_runner *r, struct mb_err *err)
{
	const struct mb_qmp_options *o = mb_run_spec_options(r->spec, &mb_runner_qmp);
	bool snapshot = o && o->guest_start == MB_QMP_START_SNAPSHOT;
	struct mb_hb_hello hello;
	char guest_errors[512];

	use_qemu(r, SIDE_SOURCE);
	if (mb_workload_has_net(r->spec->params.workload)) {
		if (!r->ns && mb_netns_create(&r->ns, err))
			return mb_err_prefix(err, "workload=%s needs a network", r->spec->text[MB_KEY_WORKLOAD]);
		r->src_tap = 0;
		r->guest.tap = r->ns->tap[r->src_tap];
		if (mb_netns_tap_set(r->ns, r->src_tap, true, err))
			return -1;
	}
	if (mb_params_link_shaped(&r->spec->params) && !r->link) {
		struct mb_link_settings s;

		mb_link_settings_from(&r->spec->params, &s);
		if (mb_link_create(&s, &r->link, err))
			return -1;
		r->src_end = 0;
	}
	r->start_how[0] = '\0';
	if (snapshot) {
		int restored;

		if (mb_snapshot_locate(&r->guest, &r->snap, err))
			return -1;
		restored = restore_source(r, err);
		if (restored < 0)
			return -1;
		if (!restored) {
			source_running(r);
			return 0;
		}
	}
	if (start_qemu(r, SIDE_SOURCE, "source", NULL, &r->src, &r->src_qmp, err))
		return -1;
	if (mb_hb_attach(r->hb, r->src->hb_socket, "source", QMP_TIMEOUT_MS, &r->src_hb, err) ||
	    wait_for_agent(r, &hello, err) ||
	    mb_hb_wait_records(r->hb, 1, BOOT_TIMEOUT_MS, err)) {
		if (err->errnum == EINTR)
			return -1;
		mb_qemu_explain(r->src, err);
		return mb_err_prefix(err, "booting the guest");
	}
	if (mb_hb_guest_errors(r->hb, guest_errors, sizeof(guest_errors)))
		return mb_errf(err, 0, "the guest agent reported: %s", guest_errors);
	/* Timed before the save: the boot's own figure. */
	source_running(r);
	if (snapshot) {
		save_source(r);
		r->running_since_mono_us = mb_clock_us(CLOCK_MONOTONIC);
	} else {
		snprintf(r->start_how, sizeof(r->start_how), "booted");
	}
	return 0;
}

static int qmp_start_destination(struct mb_runner *r, struct mb_err *err)
{
	const struct mb_params *p = &r->spec->params;
	json_t *caps = NULL, *params = mb_qmp_destination_params_for(p), *q = NULL;
	char label[32];
	int rc = -1;

	snprintf(label, sizeof(label), "destination-%u", r->migrations + 1);
	use_qemu(r, SIDE_DESTINATION);
	if (r->ns) {
		/* The other tap, down until just before `migrate` (netns.h). */
		r->dst_tap = 1 - r->src_tap;
		r->guest.tap = r->ns->tap[r->dst_tap];
		if (mb_netns_tap_set(r->ns, r->dst_tap, false, err))
			goto out;
	}
	if (start_qemu(r, SIDE_DESTINATION, label, "defer", &r->dst, &r->dst_qmp, err) ||
	    !(caps = caps_for_qemu(r->dst_qmp, mb_qmp_destination_caps_for(p), err)))
		goto out;
	if (mb_qmp_set_migrate_capabilities(r->dst_qmp, caps, QMP_TIMEOUT_MS, err) ||
	    (json_object_size(params) &&
	     mb_qmp_set_migrate_parameters(r->dst_qmp, params, QMP_TIMEOUT_MS, err)) ||
	    mb_qmp_check_applied(r->dst_qmp, caps, params, QMP_TIMEOUT_MS, err))
		goto out;
	if (p->transport == MB_TRANSPORT_UNIX) {
		snprintf(r->uri, sizeof(r->uri), "unix:%s/migrate.sock", r->dst->dir);
		if (mb_qmp_execute(r->dst_qmp, "migrate-incoming", json_pack("{s:s}", "uri", r->uri),
				   NULL, QMP_TIMEOUT_MS, err))
			goto out;
	} else {
		json_t *addr;
		const char *port, *host = r->link ? mb_link_address(1 - r->src_end) : "127.0.0.1";
		char listen[64];

		/* Port 0: QEMU picks a free port and tells us which. */
		snprintf(listen, sizeof(listen), "tcp:%s:0", host);
		if (mb_qmp_execute(r->dst_qmp, "migrate-incoming", json_pack("{s:s}", "uri", listen),
				   NULL, QMP_TIMEOUT_MS, err) ||
		    mb_qmp_execute(r->dst_qmp, "query-migrate", NULL, &q, QMP_TIMEOUT_MS, err))
			goto out;
		addr = json_array_get(json_object_get(q, "socket-address"), 0);
		port = json_string_value(json_object_get(addr, "port"));
		if (!port) {
			mb_errf(err, 0, "%s QEMU did not say which TCP port it listens on (query-migrate has no socket-address)", label);
			goto out;
		}
		snprintf(r->uri, sizeof(r->uri), "tcp:%s:%s", host, port);
	}
	if (mb_hb_attach(r->hb, r->dst->hb_socket, label, QMP_TIMEOUT_MS, &r->dst_hb, err))
		goto out;
	rc = 0;
out:
	if (rc) {
		mb_err_prefix(err, "starting the destination");
		if (r->dst)
			stop_qemu(&r->dst, &r->dst_qmp);
	}
	json_decref(caps);
	json_decref(params);
	json_decref(q);
	return rc;
}

/* The sampler's statistics: query-migrate, stamped when the reply came. */
static int fetch_query_migrate(void *arg, json_t **reply, struct mb_stats_timing *timing, struct mb_err *err)
{
	struct mb_qmp_timing t = {0};
	int rc = mb_qmp_execute_timed(arg, "query-migrate", NULL, reply, 10000, &t, err);

	timing->sent_mono_us = t.sent_mono_us;
	timing->reply_real_us = t.reply_real_us;
	timing->reply_mono_us = t.reply_mono_us;
	return rc;
}

static int qmp_migrate(struct mb_runner *r, struct mb_err *err)
{
	const struct mb_params *p = &r->spec->params;
	json_t *caps = NULL, *params = mb_qmp_source_params_for(p);
	int64_t wait = r->running_since_mono_us + (int64_t)p->baseline_us - mb_clock_us(CLOCK_MONOTONIC);
	int rc = -1;

	/* Take the events of earlier migrations out of the way. */
	{
		struct mb_qmp_event_list old;

		mb_qmp_take_events(r->src_qmp, &old);
		mb_qmp_event_list_free(&old);
	}
	if (!(caps = caps_for_qemu(r->src_qmp, mb_qmp_caps_for(p), err)) ||
	    mb_qmp_set_migrate_capabilities(r->src_qmp, caps, QMP_TIMEOUT_MS, err) ||
	    mb_qmp_set_migrate_parameters(r->src_qmp, params, QMP_TIMEOUT_MS, err) ||
	    mb_qmp_check_applied(r->src_qmp, caps, params, QMP_TIMEOUT_MS, err))
		goto out;
	if (wait > 0)
		mb_sleep_us(wait);
	snprintf(r->status, sizeof(r->status), "setup");
	r->passes = 0;
	if (r->ns && mb_netns_tap_set(r->ns, r->dst_tap, true, err))
		goto out;
	if (mb_migrate_sampler_start(fetch_query_migrate, r->src_qmp, p->sample_interval_us, &r->sampler, err))
		goto out;
	if (r->link)
		mb_link_counters(r->link, r->link_before);
	r->start_real_us = mb_clock_us(CLOCK_REALTIME);
	r->recover_sent_real_us = 0;
	if (p->mode == MB_MODE_COLD &&
	    mb_qmp_execute(r->src_qmp, "stop", NULL, NULL, QMP_TIMEOUT_MS, err))
		goto out;
	if (mb_qmp_execute(r->src_qmp, "migrate", json_pack("{s:s}", "uri", r->uri), NULL,
			   QMP_TIMEOUT_MS, err))
		goto out;
	rc = 0;
out:
	json_decref(caps);
	json_decref(params);
	return rc ? mb_err_prefix(err, "starting the migration") : 0;
}

static bool is_progress_event(const struct mb_qmp_event *ev, void *arg)
{
	return !strcmp(ev->name, "MIGRATION") || !strcmp(ev->name, "MIGRATION_PASS");
}

/* A failed migration's reason is usually on the destination's side: its
 * log. Fills err and returns 1 when it said something. */
static int destination_complaint(struct mb_runner *r, struct mb_err *err)
{
	char tail[1024];
	const char *mt;

	/* It may still be writing its last words. */
	for (int i = 0; i < 50 && !mb_qemu_check_alive(r->dst, err); i++)
		mb_sleep_us(10000);
	mb_qemu_log_tail(r->dst, 4, tail, sizeof(tail));
	if (!tail[0])
		return 0;
	mt = strstr(tail, "Machine type received");
	if (mt)
		mb_errf(err, 0, "the two QEMUs run different machine types (%.*s): set machine= to a type "
			"both offer, or leave it unset and migbench picks the newest one they share",
			(int)strcspn(mt, "|\n"), mt);
	else
		mb_errf(err, 0, "migration failed; the destination QEMU said: %s", tail);
	return 1;
}

static int qmp_poll(struct mb_runner *r, struct mb_mig_progress *p, int timeout_ms, struct mb_err *err)
{
	struct mb_migrate_sample s;
	struct mb_qmp_event ev;
	struct mb_err quiet;

	/* Events say when the status changed; the sampler says how far it got. */
	for (int wait = timeout_ms; ; wait = 0) {
		if (mb_qmp_wait_event_if(r->src_qmp, NULL, is_progress_event, NULL, wait, &ev, &quiet))
			break;
		if (!strcmp(ev.name, "MIGRATION")) {
			const char *st = json_string_value(json_object_get(ev.data, "status"));

			if (st)
				snprintf(r->status, sizeof(r->status), "%s", st);
		} else {
			json_int_t pass = json_integer_value(json_object_get(ev.data, "pass"));

			if (pass > (json_int_t)r->passes)
				r->passes = (unsigned)pass;
		}
		mb_qmp_event_release(&ev);
	}
	if (!strcmp(r->status, "failed") && r->dst && destination_complaint(r, err))
		return -1;
	if (mb_qemu_check_alive(r->src, err))
		return mb_err_prefix(err, "during the migration");
	if (r->dst && mb_qemu_check_alive(r->dst, err))
		return mb_err_prefix(err, "during the migration");

	mb_migrate_sampler_latest(r->sampler, &s);
	mb_mig_progress_from_sample(r->status, r->passes, &s, p);
	return 0;
}

static int qmp_start_postcopy(struct mb_runner *r, struct mb_err *err)
{
	return mb_qmp_execute(r->src_qmp, "migrate-start-postcopy", NULL, NULL, QMP_TIMEOUT_MS, err);
}

/* ---- a link cut in post-copy, and the recovery ---- */

/* A MIGRATION event whose status is one of the NULL-terminated `arg`. */
static bool is_status_in(const struct mb_qmp_event *ev, void *arg)
{
	const char *st = json_string_value(json_object_get(ev->data, "status"));

	for (const char *const *want = arg; st && *want; want++)
		if (!strcmp(st, *want))
			return true;
	return false;
}

/* Waits for one of `statuses` on a side; its status goes into `got`. */
static int wait_status(struct mb_qmp *qmp, const char *side, const char *const *statuses,
		       char *got, size_t len, struct mb_err *err)
{
	struct mb_qmp_event ev;

	if (mb_qmp_wait_event_if(qmp, "MIGRATION", is_status_in, (void *)statuses, RECOVERY_TIMEOUT_MS,
				 &ev, err))
		return mb_err_prefix(err, "%s: waiting for %s", side, statuses[0]);
	snprintf(got, len, "%s", json_string_value(json_object_get(ev.data, "status")));
	mb_qmp_event_release(&ev);
	return 0;
}

/* Whether the destination has sent RESUME (without consuming it: finish
 * waits for it). */
static int destination_resumed(struct mb_runner *r, struct mb_err *err)
{
	struct mb_qmp_event_list list;
	int found = 0;

	if (mb_qmp_copy_events(r->dst_qmp, &list, err))
		return -1;
	for (size_t i = 0; i < list.count && !found; i++)
		found = !strcmp(list.items[i].name, "RESUME");
	mb_qmp_event_list_free(&list);
	return found;
}

/* migrate-pause makes QEMU shut the migration channel down: to both sides
 * it is a link that broke. Only once the guest runs on the destination:
 * before that (post-copy "listening", device state still on its way) QEMU
 * cannot pause the incoming side and fails the migration instead, which
 * measured here as a lost guest, not as a link cut. */
static int qmp_pause_postcopy(struct mb_runner *r, struct mb_err *err)
{
	static const char *const paused[] = { "postcopy-paused", "completed", "failed", NULL };
	int64_t deadline = mb_clock_us(CLOCK_MONOTONIC) + (int64_t)RECOVERY_TIMEOUT_MS * 1000;
	char got[32];
	int resumed;

	while ((resumed = destination_resumed(r, err)) == 0) {
		if (mb_clock_us(CLOCK_MONOTONIC) > deadline)
			return mb_errf(err, ETIMEDOUT, "cutting the post-copy link: the destination did not "
				       "resume the guest within %d ms", RECOVERY_TIMEOUT_MS);
		if (mb_qemu_check_alive(r->dst, err))
			return mb_err_prefix(err, "cutting the post-copy link");
		mb_sleep_us(5000);
	}
	if (resumed < 0)
		return mb_err_prefix(err, "cutting the post-copy link");
	if (mb_qmp_execute(r->src_qmp, "migrate-pause", NULL, NULL, QMP_TIMEOUT_MS, err) ||
	    wait_status(r->src_qmp, "source", paused, r->status, sizeof(r->status), err))
		return mb_err_prefix(err, "cutting the post-copy link");
	if (strcmp(r->status, "postcopy-paused"))
		return 0; /* it completed (or failed) first: nothing to recover */
	if (wait_status(r->dst_qmp, "destination", paused, got, sizeof(got), err))
		return mb_err_prefix(err, "cutting the post-copy link");
	return 0;
}

/* A free port for the recovery channel on `host`, in the destination's
 * namespace (the shaped link's far end) or here. */
static int free_port(const struct mb_netns *ns, const char *host, unsigned *port, struct mb_err *err)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd, rc = 0, saved = -1;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return mb_errf(err, EINVAL, "a port for the recovery channel: bad address %s", host);
	if (ns && mb_netns_enter(ns, &saved, err))
		return mb_err_prefix(err, "a port for the recovery channel");
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mb_netns_leave(saved);
	if (fd < 0)
		return mb_errf(err, errno, "a port for the recovery channel: socket");
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || getsockname(fd, (struct sockaddr *)&a, &len))
		rc = mb_errf(err, errno, "a port for the recovery channel");
	*port = ntohs(a.sin_port);
	close(fd);
	return rc;
}

static int qmp_recover_postcopy(struct mb_runner *r, struct mb_err *err)
{
	static const char *const running[] = { "postcopy-active", "completed", "failed", NULL };
	char uri[sizeof(r->uri)];

	if (r->spec->params.transport == MB_TRANSPORT_UNIX) {
		snprintf(uri, sizeof(uri), "unix:%s/recover.sock", r->dst->dir);
	} else {
		const char *host = r->link ? mb_link_address(1 - r->src_end) : "127.0.0.1";
		unsigned port = 0;

		if (free_port(r->link ? netns_of(r, SIDE_DESTINATION) : NULL, host, &port, err))
			return -1;
		snprintf(uri, sizeof(uri), "tcp:%s:%u", host, port);
	}
	r->recover_sent_real_us = mb_clock_us(CLOCK_REALTIME);
	if (mb_qmp_execute_oob(r->dst_qmp, "migrate-recover", json_pack("{s:s}", "uri", uri), NULL,
			       QMP_TIMEOUT_MS, err) ||
	    mb_qmp_execute(r->src_qmp, "migrate", json_pack("{s:s, s:b}", "uri", uri, "resume", 1), NULL,
			   QMP_TIMEOUT_MS, err) ||
	    wait_status(r->src_qmp, "source", running, r->status, sizeof(r->status), err))
		return mb_err_prefix(err, "recovering post-copy over %s", uri);
	if (!strcmp(r->status, "failed"))
		return mb_errf(err, 0, "recovering post-copy over %s: the source says failed", uri);
	return 0;
}

static bool is_final_status(const struct mb_qmp_event *ev, void *arg)
{
	const char *st = json_string_value(json_object_get(ev->data, "status"));

	return st && (!strcmp(st, "cancelled") || !strcmp(st, "failed") || !strcmp(st, "completed"));
}

static int qmp_cancel(struct mb_runner *r, struct mb_err *err)
{
	struct mb_qmp_event ev;

	if (mb_qmp_execute(r->src_qmp, "migrate_cancel", NULL, NULL, QMP_TIMEOUT_MS, err))
		return -1;
	if (mb_qmp_wait_event_if(r->src_qmp, "MIGRATION", is_final_status, NULL, 30000, &ev, err))
		return mb_err_prefix(err, "cancelling the migration");
	snprintf(r->status, sizeof(r->status), "%s",
		 json_string_value(json_object_get(ev.data, "status")));
	mb_qmp_event_release(&ev);
	return 0;
}

/* ---- after the migration ---- */

static void add_events(json_t *all, struct mb_qmp *qmp, const char *side)
{
	struct mb_qmp_event_list list;

	if (!qmp)
		return;
	mb_qmp_take_events(qmp, &list);
	for (size_t i = 0; i < list.count; i++) {
		json_t *e = mb_qmp_event_to_json(&list.items[i]);

		json_object_set_new(e, "side", json_string(side));
		json_array_append_new(all, e);
	}
	mb_qmp_event_list_free(&list);
}

/* Right after completion QEMU may still report total-time 0: ask again. */
static json_t *final_query(struct mb_qmp *qmp, int is_source)
{
	struct mb_err ignored;
	json_t *q = NULL;

	for (int i = 0; i < 20; i++) {
		json_decref(q);
		q = NULL;
		if (mb_qmp_execute(qmp, "query-migrate", NULL, &q, QMP_TIMEOUT_MS, &ignored))
			return NULL;
		if (!is_source || json_integer_value(json_object_get(q, "total-time")) > 0 ||
		    strcmp(json_string_value(json_object_get(q, "status")) ?: "", "completed"))
			break;
		mb_sleep_us(50000);
	}
	return q;
}

/* What QEMU itself says it migrated with (tls-creds, max-bandwidth...),
 * rather than what we asked for; null when it does not answer. */
static json_t *parameters_of(struct mb_qmp *qmp)
{
	struct mb_err ignored;
	json_t *params = NULL;

	if (!qmp || mb_qmp_query_migrate_parameters(qmp, &params, QMP_TIMEOUT_MS, &ignored))
		return json_null();
	return params;
}

/* Each side's QEMU as a reader a year later needs it: which binary (and
 * root), the version QEMU itself reported, Debian's package version. */
static json_t *side_json(const struct mb_qemu *q, struct mb_qmp *qmp, const struct mb_qemu_ref *ref)
{
	json_t *caps = NULL;
	struct mb_err ignored;

	/* What this QEMU offered (names differ between versions: compress
	 * is gone since 9.1, newer ones add switchover-ack, mapped-ram, ...). */
	if (!qmp || mb_qmp_query_migrate_capabilities(qmp, &caps, QMP_TIMEOUT_MS, &ignored))
		caps = json_null();
	return json_pack("{s:s, s:s?, s:s?, s:s?, s:s, s:s, s:s, s:o}",
			 "binary", ref->binary,
			 "installed_version", ref->name[0] ? ref->name : NULL,
			 "root", ref->root[0] ? ref->root : NULL,
			 "package_version", ref->package_version[0] ? ref->package_version : NULL,
			 "version", qmp ? mb_qmp_qemu_version(qmp) : "unknown",
			 "accelerator", q ? mb_accel_name(q->accel) : "unknown",
			 "command", q ? q->command : "",
			 "capabilities", caps);
}

/* The destination of a cold migration stays paused until told to run. */
static int cold_resume(struct mb_runner *r, const json_t *completed, struct mb_err *err)
{
	struct mb_qmp_event ev;

	if (mb_qmp_wait_event(r->dst_qmp, "MIGRATION", completed, 60000, &ev, err))
		return -1;
	mb_qmp_event_release(&ev);
	return mb_qmp_execute(r->dst_qmp, "cont", NULL, NULL, QMP_TIMEOUT_MS, err);
}

static int qmp_finish(struct mb_runner *r, struct mb_mig_record *rec, struct mb_err *err)
{
	const struct mb_params *p = &r->spec->params;
	int completed = !strcmp(r->status, "completed");
	struct mb_qmp_event ev;
	int rc = 0;

	memset(rec, 0, sizeof(*rec));
	if (r->sampler) {
		mb_migrate_sampler_stop(r->sampler);
		rec->samples = mb_migrate_sampler_series(r->sampler);
		rec->samples_file = mb_migrate_sampler_take_spool(r->sampler, &rec->samples_count);
		mb_migrate_sampler_free(r->sampler);
		r->sampler = NULL;
	}
	if (completed && r->dst_qmp) {
		json_t *match = json_pack("{s:s}", "status", "completed");

		if (p->mode == MB_MODE_COLD && cold_resume(r, match, err))
			rc = -1;
		if (!rc && mb_qmp_wait_event(r->dst_qmp, "RESUME", NULL, 60000, &ev, err) == 0)
			mb_qmp_event_release(&ev);
		else
			rc = -1;
		/* Post-copy: the destination completes once every page arrived. */
		if (!rc && p->mode != MB_MODE_COLD) {
			if (mb_qmp_wait_event(r->dst_qmp, "MIGRATION", match, 120000, &ev, err) == 0)
				mb_qmp_event_release(&ev);
			else
				rc = -1;
		}
		json_decref(match);
		if (rc)
			mb_err_prefix(err, "destination after the migration");
	}
	rec->final_source = r->src_qmp ? final_query(r->src_qmp, 1) : NULL;
	rec->final_destination = r->dst_qmp ? final_query(r->dst_qmp, 0) : NULL;
	rec->migration_parameters = json_pack("{s:o, s:o}", "source", parameters_of(r->src_qmp),
					      "destination", parameters_of(r->dst_qmp));
	rec->events = json_array();
	add_events(rec->events, r->src_qmp, "source");
	add_events(rec->events, r->dst_qmp, "destination");
	rec->hypervisor = json_pack("{s:{s:s, s:s}, s:o, s:o}",
				    "machine", "type", r->machine, "chosen_by", r->machine_chosen_by,
				    /* After a first migration the guest runs on
				     * what was a destination. */
				    "source", side_json(r->src, r->src_qmp,
							&r->qemu_ref[r->migrations ? SIDE_DESTINATION : SIDE_SOURCE]),
				    "destination", side_json(r->dst, r->dst_qmp, &r->qemu_ref[SIDE_DESTINATION]));

	mb_mig_times_from_events(rec->events, r->start_real_us, r->recover_sent_real_us, MB_EVENT_CLOCK_QEMU,
				 &rec->times);
	if (r->link) {
		int64_t end = mb_mig_end_us(&rec->times);

		rec->link = mb_link_json(r->link, r->link_before, r->src_end,
					 end > rec->times.start_us && rec->times.start_us ? end - rec->times.start_us : 0);
	}

	if (completed && !rc) {
		/* The destination now runs the guest: it is the next source. */
		mb_hb_detach(r->hb, r->src_hb);
		stop_qemu(&r->src, &r->src_qmp);
		if (r->ns) {
			struct mb_err ignored;

			/* The old source's tap waits, down, for the next destination. */
			mb_netns_tap_set(r->ns, r->src_tap, false, &ignored);
			r->src_tap = r->dst_tap;
		}
		/* The guest now runs at the link's other end. */
		r->src_end = 1 - r->src_end;
		r->src = r->dst;
		r->src_qmp = r->dst_qmp;
		r->src_hb = r->dst_hb;
		r->dst = NULL;
		r->dst_qmp = NULL;
		r->running_since_mono_us = mb_clock_us(CLOCK_MONOTONIC);
		r->migrations++;
		return 0;
	}
	/* Not completed: the guest stays where it was. */
	if (r->dst) {
		mb_hb_detach(r->hb, r->dst_hb);
		stop_qemu(&r->dst, &r->dst_qmp);
	}
	if (r->ns) {
		struct mb_err ignored;

		mb_netns_tap_set(r->ns, r->dst_tap, false, &ignored);
	}
	if (p->mode == MB_MODE_COLD && r->src_qmp) {
		struct mb_err ignored;

		mb_qmp_execute(r->src_qmp, "cont", NULL, NULL, QMP_TIMEOUT_MS, &ignored);
	}
	return rc;
}

static int qmp_console_problems(struct mb_runner *r, json_t **lines, struct mb_err *err)
{
	/* "watchdog:" is the lockup detector; a bare "watchdog" also matched
	 * the harmless "clocksource: timekeeping watchdog on CPU0: hpet wd-wd
	 * read-back delay" of a loaded TCG host and failed healthy runs. */
	static const char *const signs[] = { "BUG:", "Oops", "Kernel panic", "panic", "watchdog:",
					     "soft lockup", "hard LOCKUP", "Call Trace" };
	char line[1024];
	FILE *f;

	*lines = json_array();
	if (!r->src)
		return 0;
	f = fopen(r->src->console_log, "r");
	if (!f)
		return mb_errf(err, errno, "read guest console '%s'", r->src->console_log);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		for (size_t i = 0; i < sizeof(signs) / sizeof(signs[0]); i++)
			if (strstr(line, signs[i])) {
				json_array_append_new(*lines, json_string(line));
				break;
			}
	}
	fclose(f);
	return 0;
}

/* A side's QEMU as probes see it; its vCPU threads from query-cpus-fast. */
static void probe_side(struct mb_qemu *q, struct mb_qmp *qmp, const char *role, struct mb_probe_side *side)
{
	struct mb_err err = {0};
	json_t *ret = NULL, *cpu;
	size_t i;

	*side = (struct mb_probe_side){ .role = role, .host = mb_host_name(), .local = 1,
					 .pid = q ? q->pid : 0 };
	if (!qmp) {
		snprintf(side->vcpu_error, sizeof(side->vcpu_error), "no %s QEMU", role);
		return;
	}
	if (mb_qmp_execute(qmp, "query-cpus-fast", NULL, &ret, 5000, &err)) {
		snprintf(side->vcpu_error, sizeof(side->vcpu_error), "query-cpus-fast: %s", err.msg);
		return;
	}
	json_array_foreach(ret, i, cpu) {
		json_t *tid = json_object_get(cpu, "thread-id"), *idx = json_object_get(cpu, "cpu-index");

		if (side->nvcpus < MB_PROBE_MAX_VCPUS && json_is_integer(tid)) {
			side->vcpu_tid[side->nvcpus] = (pid_t)json_integer_value(tid);
			side->vcpu_index[side->nvcpus] = json_is_integer(idx) ? (int)json_integer_value(idx) : (int)i;
			side->nvcpus++;
		}
	}
	json_decref(ret);
}

static void qmp_probe_ctx(struct mb_runner *r, struct mb_probe_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->spec = r->spec;
	ctx->netns = r->ns ? r->ns->path : NULL;
	probe_side(r->src, r->src_qmp, "source", &ctx->side[MB_SIDE_SOURCE]);
	probe_side(r->dst, r->dst_qmp, "destination", &ctx->side[MB_SIDE_DESTINATION]);
}

static int qmp_check_alive(struct mb_runner *r, struct mb_err *err)
{
	if (!r->src)
		return mb_errf(err, ESRCH, "no guest is running");
	return mb_qemu_check_alive(r->src, err);
}

static int qmp_guest_status(struct mb_runner *r, struct mb_guest_status *st, struct mb_err *err)
{
	memset(st, 0, sizeof(*st));
	if (!r->src)
		return mb_errf(err, ESRCH, "no guest is running");
	mb_guest_status_from_hb(st, r->hb, r->boot_launch_mono_us, r->boot_first_hb_mono_us, &r->image);
	snprintf(st->accel, sizeof(st->accel), "%s", mb_accel_name(r->src->accel));
	snprintf(st->accel_why, sizeof(st->accel_why), "%s", r->src->accel_why);
	snprintf(st->host, sizeof(st->host), "%s", mb_host_name());
	snprintf(st->start, sizeof(st->start), "%s", r->start_how);
	return 0;
}

static int qmp_guest_command(struct mb_runner *r, const char *command, const char *args,
			     struct mb_hb_reply *reply, int timeout_ms, struct mb_err *err)
{
	return mb_hb_command(r->hb, command, args, reply, timeout_ms, err);
}

static size_t qmp_heartbeat_count(struct mb_runner *r)
{
	return mb_hb_count(r->hb);
}

static int qmp_heartbeat_series(struct mb_runner *r, int64_t from_real_us, struct mb_hb_series *out,
			       struct mb_err *err)
{
	return mb_hb_series_for_run(r->hb, from_real_us, out, err);
}

static void qmp_teardown(struct mb_runner *r)
{
	if (!r)
		return;
	if (r->sampler)
		mb_migrate_sampler_free(r->sampler);
	mb_hb_reader_free(r->hb);
	if (r->dst)
		stop_qemu(&r->dst, &r->dst_qmp);
	if (r->src)
		stop_qemu(&r->src, &r->src_qmp);
	/* After the QEMUs: their taps go with the namespace. */
	mb_netns_destroy(r->ns);
	mb_link_destroy(r->link);
	mb_tls_remove(r->tls_dir);
	free(r);
}

const struct mb_runner_ops mb_runner_qmp = {
	.name = "qmp",
	.summary = "QEMU started by migbench, driven over QMP (no daemon)",
	.options = mb_qmp_keys,          /* guest_start: runners/qmp_options.c */
	.options_size = sizeof(struct mb_qmp_options),
	.preflight = qmp_preflight,
	.prepare = qmp_prepare,
	.adopt = qmp_adopt,
	.start_source = qmp_start_source,
	.start_destination = qmp_start_destination,
	.migrate = qmp_migrate,
	.poll = qmp_poll,
	.start_postcopy = qmp_start_postcopy,
	.pause_postcopy = qmp_pause_postcopy,
	.recover_postcopy = qmp_recover_postcopy,
	.cancel = qmp_cancel,
	.finish = qmp_finish,
	.console_problems = qmp_console_problems,
	.probe_ctx = qmp_probe_ctx,
	.check_alive = qmp_check_alive,
	.guest_status = qmp_guest_status,
	.guest_command = qmp_guest_command,
	.heartbeat_count = qmp_heartbeat_count,
	.heartbeat_series = qmp_heartbeat_series,
	.teardown = qmp_teardown,
};
