/* The `libvirt` runner: the guest is a transient libvirt domain, migrated
 * with virDomainMigrate3 between two daemons that migbench holds a
 * connection to each (libvirt_src=, libvirt_dst=: two hosts, or two
 * daemons of one host with distinct host_uuid). Each repetition migrates
 * the guest back: the destination becomes the next source (a->b, b->a).
 *
 * Times: QEMU's own STOP, RESUME and MIGRATION events, through libvirt's
 * QEMU monitor events with QEMU's timestamps (runners/libvirt_events.h);
 * libvirt's lifecycle events are recorded beside them. `migrate sent` is
 * the source QEMU's MIGRATION "setup" event: libvirt starts the
 * destination QEMU inside virDomainMigrate3 (its Prepare phase) before it
 * sends `migrate`, and that start-up is no part of the QMP runner's
 * preparation time either (its destination starts before the baseline).
 * Cold migrations count from the suspend, as the QMP runner's from `stop`.
 *
 * Heartbeats: the domain's heartbeat port is a UNIX socket QEMU listens on,
 * on the daemon's host; migbench connects as to the QMP runner's. This
 * needs the daemons' QEMUs to see migbench's /tmp (one machine).
 *
 * Daemons on other hosts (libvirt_remote=, auto: a URI naming another
 * host): the heartbeat port and the console are TCP servers of the QEMU
 * there (libvirt_heartbeat_port..+3), which migbench connects to at the
 * URI's host, so every heartbeat is stamped on migbench's clock on arrival;
 * the console is read into memory (runners/libvirt_console.h). The guest's
 * kernel and initramfs are checked, and uploaded when missing, through the
 * side's exec prefix (libvirt_exec_src/_dst, default the ssh of a
 * qemu+ssh:// URI), which also runs `migbench host-probes` there
 * (bench/remote_probes.h). When the two sides run on different hosts the
 * instants are taken on migbench's clock (the events' arrival), as QEMU's
 * timestamps are each its host's clock; libvirt_clock= forces either, and
 * the result's hypervisor.timing says which was used, why, and what the
 * other gives. */
#include "config.h"
#include "bench/clock.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>

#include "bench/host.h"
#include "runners/uffd_check.h"
#include "probes/heartbeat.h"
#include "probes/migrate_sampler.h"
#include "probes/topology.h"   /* the placement probe's cpuset_* bind the domains */
#include "runners/libvirt_options.h"
#include "runners/guest.h"
#include "runners/libvirt_conn.h"
#include "runners/libvirt_console.h"
#include "runners/libvirt_domain.h"
#include "runners/libvirt_events.h"
#include "runners/libvirt_params.h"
#include "runners/libvirt_remote.h"
#include "runners/libvirt_stats.h"
#include "runners/qemu_emulator.h"
#include "runners/qmp.h"
#include "runners/qemu_versions.h"
#include "runners/runner.h"
#include "workloads/image/image.h"

#define BOOT_TIMEOUT_MS 120000
#define HB_ATTACH_TIMEOUT_MS 10000
/* The destination QEMU starts inside virDomainMigrate3; its heartbeat
 * socket appears then. */
#define DST_ATTACH_TIMEOUT_MS 120000
#define EVENT_TIMEOUT_MS 60000
#define POSTCOPY_COMPLETE_TIMEOUT_MS 120000
#define START_POSTCOPY_RETRY_MS 10000

/* A daemon, and what the guest needs when it runs there. */
struct daemon {
	const char *role;            /* "libvirt_src", "libvirt_dst": the key that names it */
	const char *uri;
	const char *data_uri;        /* migration stream to this daemon's host; "" = libvirt's choice */
	virConnectPtr conn;
	struct mb_lv_watch *watch;
	struct mb_qemu_ref qemu;     /* its guests' emulator */
	char hostname[256];
	unsigned long hv_version, lib_version;
	/* What the guest's QEMU on this daemon says it is (query-version), as
	 * hv_version is only the daemon's default emulator's. */
	char qemu_version[64];
	/* Another host (libvirt_remote): heartbeat and console over TCP. */
	int remote;
	struct mb_lv_uri u;
	char exec[1024];             /* how to run a program there; "" = no way */
	unsigned hb_port, console_port;
	json_t *image;               /* remote: what was done about the image there */
};

struct mb_runner {
	const struct mb_run_spec *spec;
	volatile const int *interrupted;
	struct mb_image image;
	struct mb_guest guest;
	enum mb_accel accel;
	char dir[PATH_MAX];          /* run directory: consoles and heartbeat sockets */
	char name[64];               /* the domain's name on both daemons */
	struct daemon d[2];
	int cur;                     /* the daemon that runs the guest */
	virDomainPtr dom;            /* the guest there */
	unsigned incarnation;        /* the guest's QEMUs so far: names its files */
	char console[2][PATH_MAX], hb_path[2][PATH_MAX]; /* [incarnation % 2] */
	struct mb_lv_console *cons[2]; /* [incarnation % 2]: a remote side's console reader */
	struct mb_hb_reader *hb;
	unsigned cur_hb, next_hb;
	int64_t boot_launch_mono_us, boot_first_hb_mono_us;
	char accel_why[160];
	int64_t running_since_mono_us;
	unsigned migrations;

	/* The migration under way. */
	char *dest_xml;
	virTypedParameterPtr params;
	int nparams;
	unsigned flags;
	unsigned long long downtime_ms;
	pthread_t mig_thread, attach_thread;
	int mig_started, attach_started;
	atomic_int mig_done, attach_stop, attach_ok;
	virDomainPtr dst_dom;        /* virDomainMigrate3's result */
	char mig_error[MB_ERR_MAX];
	struct mb_err attach_err;
	pthread_mutex_t status_lock; /* status: poll writes, the sampler reads */
	char status[32];
	unsigned passes;
	size_t src_seen;             /* source events processed by poll */
	int64_t call_real_us, suspend_real_us;
	struct mb_migrate_sampler *sampler;
	/* What the source QEMU held once migrating (check_applied). */
	int qemu_migrating, applied_read;
	json_t *applied, *applied_caps;
	char applied_error[MB_ERR_MAX / 2];
};

static void set_status(struct mb_runner *r, const char *status)
{
	pthread_mutex_lock(&r->status_lock);
	snprintf(r->status, sizeof(r->status), "%s", status);
	pthread_mutex_unlock(&r->status_lock);
}

static struct mb_lv_place place_of(struct mb_runner *r, unsigned incarnation, int daemon)
{
	/* The placement probe's keys: the domain's QEMU is bound by libvirt. */
	const struct mb_placement_options *cpus = mb_run_spec_options(r->spec, &mb_probe_placement);

	return (struct mb_lv_place){
		.console_log = r->console[incarnation % 2],
		.hb_socket = r->hb_path[incarnation % 2],
		.cpuset = !cpus ? "" : daemon == 0 ? cpus->cpuset_src : cpus->cpuset_dst,
		.hb_port = r->d[daemon].remote ? r->d[daemon].hb_port : 0,
		.console_port = r->d[daemon].remote ? r->d[daemon].console_port : 0,
	};
}

/* An incarnation's console and heartbeat port on `daemon`: files in the
 * run directory, or for another host tcp:HOST:PORT (the console's only
 * names it in messages). */
static void name_files(struct mb_runner *r, unsigned incarnation, int daemon)
{
	const struct daemon *d = &r->d[daemon];

	if (d->remote) {
		char host[sizeof(d->u.host)];

		memcpy(host, d->u.host, sizeof(host)); /* both are in *r */
		snprintf(r->console[incarnation % 2], sizeof(r->console[0]), "tcp:%s:%u", host, d->console_port);
		snprintf(r->hb_path[incarnation % 2], sizeof(r->hb_path[0]), "tcp:%s:%u", host, d->hb_port);
		return;
	}
	snprintf(r->console[incarnation % 2], sizeof(r->console[0]), "%s/console-%u.log", r->dir, incarnation);
	snprintf(r->hb_path[incarnation % 2], sizeof(r->hb_path[0]), "%s/hb-%u.sock", r->dir, incarnation);
}

/* Where a daemon runs, from its URI and libvirt_remote=; its exec prefix
 * and ports. */
static int locate_daemon(struct daemon *d, int index, const struct mb_lv_options *p, const char *exec,
			 struct mb_err *err)
{
	if (mb_lv_uri_parse(d->uri ? d->uri : "", &d->u, err))
		return mb_err_prefix(err, "%s", d->role);
	switch (p->libvirt_remote) {
	case MB_LV_REMOTE_NO: d->remote = 0; break;
	case MB_LV_REMOTE_YES:
		if (!d->u.host[0])
			return mb_errf(err, 0, "libvirt_remote=yes, but %s=%s names no host (write "
				       "qemu+ssh://HOST/system or qemu+tcp://HOST/system)", d->role, d->uri);
		d->remote = 1;
		break;
	default: d->remote = d->u.host[0] && !mb_lv_host_is_local(d->u.host); break;
	}
	d->exec[0] = '\0';
	if (d->remote) {
		if (exec && *exec)
			snprintf(d->exec, sizeof(d->exec), "%s", exec);
		else
			mb_lv_default_exec(&d->u, d->exec, sizeof(d->exec));
	}
	d->hb_port = p->libvirt_heartbeat_port + (unsigned)index;
	d->console_port = p->libvirt_heartbeat_port + 2 + (unsigned)index;
	return 0;
}

/* ---- preparing ---- */

static int resolve_qemu(const char *text, const char *key, struct mb_qemu_ref *ref, struct mb_err *err)
{
	if (mb_qemu_resolve(text, ref, err))
		return mb_err_prefix(err, "%s", key);
	/* A daemon of this host runs an installed version through a wrapper
	 * (its root's loader and libraries); the root stays on record. */
	if (ref->root[0] && mb_qemu_emulator_wrapper(ref, ref->binary, sizeof(ref->binary), err))
		return mb_err_prefix(err, "%s", key);
	return 0;
}

static int prepare_guest(struct mb_runner *r, struct mb_err *err)
{
	const struct mb_params *p = &r->spec->params;
	const struct mb_lv_options *lv = mb_run_spec_options(r->spec, &mb_runner_libvirt);
	struct mb_image_opts opts = {0};
	const char *src = p->qemu && *p->qemu ? p->qemu : MB_DEFAULT_QEMU;

	if (mb_lv_check_keys(r->spec, err))
		return -1;
	if (mb_image_ensure(&opts, &r->image, err))
		return mb_err_prefix(err, "guest image");
	mb_guest_defaults(&r->guest);
	mb_guest_from_params(&r->guest, p);
	r->guest.kernel = r->image.kernel;
	r->guest.initrd = r->image.initrd;
	r->guest.machine = p->machine && *p->machine ? p->machine : "pc";
	if (resolve_qemu(src, "qemu", &r->d[0].qemu, err) ||
	    resolve_qemu(p->qemu_dst && *p->qemu_dst ? p->qemu_dst : src, "qemu_dst", &r->d[1].qemu, err))
		return -1;
	if (mb_accel_resolve(p->accel, &r->accel, r->accel_why, sizeof(r->accel_why), err))
		return -1;
	r->d[0].role = "libvirt_src";
	r->d[0].uri = lv->libvirt_src;
	r->d[0].data_uri = lv->libvirt_migrate_uri_back;
	r->d[1].role = "libvirt_dst";
	r->d[1].uri = lv->libvirt_dst;
	r->d[1].data_uri = lv->libvirt_migrate_uri;
	if (locate_daemon(&r->d[0], 0, lv, lv->libvirt_exec_src, err) ||
	    locate_daemon(&r->d[1], 1, lv, lv->libvirt_exec_dst, err))
		return -1;
	return 0;
}

/* A remote daemon's QEMU opens the kernel and initramfs on its host, at the
 * paths the domain names (this host's): check them there, upload what is
 * missing. */
static int image_on_host(struct mb_runner *r, struct daemon *d, struct mb_err *err)
{
	const char *files[2][2] = { { "kernel", r->image.kernel }, { "initramfs", r->image.initrd } };

	json_decref(d->image);
	d->image = json_object();
	for (int i = 0; i < 2; i++) {
		int uploaded = 0;

		if (mb_lv_remote_ensure_file(d->exec, d->u.host, files[i][0], files[i][1], files[i][1], &uploaded, err))
			return mb_err_prefix(err, "%s=%s", d->role, d->uri);
		json_object_set_new(d->image, files[i][0], json_string(uploaded ? "uploaded" : "present"));
	}
	return 0;
}

static int connect_daemon(struct daemon *d, struct mb_err *err)
{
	char *host;

	if (mb_lv_connect(d->uri, d->role, &d->conn, err))
		return -1;
	if (virConnectGetVersion(d->conn, &d->hv_version) < 0 ||
	    virConnectGetLibVersion(d->conn, &d->lib_version) < 0)
		return mb_lv_errf(err, "libvirt daemon %s (%s): asking its versions", d->uri, d->role);
	host = virConnectGetHostname(d->conn);
	snprintf(d->hostname, sizeof(d->hostname), "%s", host ? host : "unknown");
	free(host);
	return 0;
}

/* Whether the daemon can run this guest: its emulator, the virt type
 * (kvm needs /dev/kvm there), the machine type. */
static int check_daemon(struct daemon *d, const char *machine, enum mb_accel accel, struct mb_err *err)
{
	char *caps = virConnectGetDomainCapabilities(d->conn, d->qemu.binary, "x86_64", machine,
						     accel == MB_ACCEL_KVM ? "kvm" : "qemu", 0);

	if (!caps)
		return mb_lv_errf(err, "libvirt daemon %s (%s) cannot run emulator %s as %s with machine %s "
				  "(install that QEMU on its host, or set qemu=/accel=/machine=)",
				  d->uri, d->role, d->qemu.binary, accel == MB_ACCEL_KVM ? "kvm" : "qemu", machine);
	free(caps);
	return 0;
}

static void close_daemon(struct daemon *d)
{
	mb_lv_watch_stop(d->watch);
	d->watch = NULL;
	if (d->conn)
		virConnectClose(d->conn);
	d->conn = NULL;
}

static int lv_preflight(const struct mb_run_spec *spec, struct mb_err *err)
{
	struct mb_runner probe = { .spec = spec };
	const struct mb_params *p = &spec->params;
	int rc = 0;

	/* The shaped link is the qmp runner's: libvirt starts the QEMUs
	 * itself, in its daemons' network, where migbench cannot put them
	 * at the ends of a link (runners/link.h). */
	if (mb_params_link_shaped(p))
		return mb_errf(err, 0, "link_bandwidth, link_delay, link_jitter and link_loss need "
			       "--runner qmp: the libvirt runner's QEMUs run in their daemons' network, "
			       "not at the ends of migbench's shaped link (shape the path between the "
			       "hosts with tc instead, and leave link_* at 0)");
	if (prepare_guest(&probe, err))
		return -1;
	if ((p->mode == MB_MODE_POSTCOPY || p->mode == MB_MODE_HYBRID) &&
	    (!probe.d[0].remote || !probe.d[1].remote)) {
		struct mb_host_roots roots;
		struct mb_host_uffd uffd;

		/* Only where a destination runs on this host; a remote
		 * one's daemon says so when it prepares the migration. */
		mb_host_roots_from_env(&roots);
		mb_probe_uffd(&roots, &uffd);
		if (!uffd.postcopy)
			return mb_errf(err, 0, "mode %s needs userfaultfd for post-copy: %s",
				       spec->text[MB_KEY_MODE], uffd.summary);
	}
	for (int i = 0; i < 2 && !rc; i++)
		rc = connect_daemon(&probe.d[i], err) ||
		     check_daemon(&probe.d[i], probe.guest.machine, probe.accel, err) ? -1 : 0;
	for (int i = 0; i < 2; i++)
		close_daemon(&probe.d[i]);
	return rc;
}

static void remove_run_dir(struct mb_runner *r)
{
	DIR *d;
	struct dirent *e;

	if (!r->dir[0])
		return;
	d = opendir(r->dir);
	if (d) {
		/* Only what this runner put there: consoles and sockets. */
		while ((e = readdir(d)))
			if (!strncmp(e->d_name, "console-", 8) || !strncmp(e->d_name, "hb-", 3)) {
				char path[PATH_MAX + 300];

				snprintf(path, sizeof(path), "%s/%s", r->dir, e->d_name);
				unlink(path);
			}
		closedir(d);
	}
	rmdir(r->dir);
	r->dir[0] = '\0';
}

static void lv_teardown(struct mb_runner *r);

static int lv_prepare(const struct mb_run_spec *spec, volatile const int *interrupted,
		      struct mb_runner **out, struct mb_err *err)
{
	struct mb_runner *r = calloc(1, sizeof(*r));
	static atomic_uint seq;

	*out = NULL;
	if (!r)
		return mb_errf(err, ENOMEM, "libvirt runner");
	r->spec = spec;
	r->interrupted = interrupted;
	pthread_mutex_init(&r->status_lock, NULL);
	if (prepare_guest(r, err) || mb_hb_reader_new(&r->hb, err)) {
		pthread_mutex_destroy(&r->status_lock);
		free(r);
		return -1;
	}
	/* Where the QMP runner's QEMUs keep theirs: $XDG_RUNTIME_DIR, else
	 * /tmp. The daemons' QEMUs must see it (one machine). */
	{
		const char *xdg = getenv("XDG_RUNTIME_DIR");
		struct stat st;

		snprintf(r->dir, sizeof(r->dir), "%s/migbench-libvirt-XXXXXX",
			 xdg && xdg[0] == '/' && !stat(xdg, &st) && S_ISDIR(st.st_mode) &&
			 !access(xdg, W_OK | X_OK) && strlen(xdg) < 60 ? xdg : "/tmp");
	}
	if (!mkdtemp(r->dir)) {
		mb_errf(err, errno, "libvirt runner: run directory %s", r->dir);
		r->dir[0] = '\0';
		lv_teardown(r);
		return -1;
	}
	/* The daemons' QEMUs run as whatever user their qemu.conf says. */
	if (chmod(r->dir, 0755)) {
		mb_errf(err, errno, "libvirt runner: chmod %s", r->dir);
		lv_teardown(r);
		return -1;
	}
	snprintf(r->name, sizeof(r->name), "migbench-%ld-%u", (long)getpid(), atomic_fetch_add(&seq, 1));
	for (int i = 0; i < 2; i++)
		if (connect_daemon(&r->d[i], err) ||
		    mb_lv_watch_start(r->d[i].conn, r->name, r->d[i].uri, &r->d[i].watch, err) ||
		    (r->d[i].remote && image_on_host(r, &r->d[i], err))) {
			lv_teardown(r);
			return -1;
		}
	*out = r;
	return 0;
}

static int lv_adopt(struct mb_runner *r, const struct mb_run_spec *next)
{
	/* By name: some are plug-ins' keys (placement's cpuset_*). */
	static const char *const guest_keys[] = {
		"memory", "vcpus", "workload", "wss", "rate", "pattern", "kv_size", "heartbeat_period",
		"accel", "qemu", "qemu_dst", "machine", "tls", "cpuset_src", "cpuset_dst", "libvirt_src",
		"libvirt_dst", "libvirt_migrate_uri", "libvirt_migrate_uri_back", "libvirt_remote",
		"libvirt_exec_src", "libvirt_exec_dst", "libvirt_heartbeat_port",
	};

	for (size_t i = 0; i < sizeof(guest_keys) / sizeof(guest_keys[0]); i++) {
		const char *a = mb_run_spec_text(r->spec, guest_keys[i]), *b = mb_run_spec_text(next, guest_keys[i]);

		if (!a || !b || strcmp(a, b))
			return 1;
	}
	if (mb_lv_check_keys(next, &(struct mb_err){0}))
		return 1;
	r->spec = next;
	return 0;
}

/* ---- the guest ---- */

/* The last lines of an incarnation's console, for a guest that did not
 * come up. */
static void console_tail_file(const char *path, char *buf, size_t len);
static void console_tail(struct mb_runner *r, unsigned incarnation, char *buf, size_t len)
{
	char why[256];

	if (strncmp(r->console[incarnation % 2], "tcp:", 4)) {
		console_tail_file(r->console[incarnation % 2], buf, len);
		return;
	}
	mb_lv_console_tail(r->cons[incarnation % 2], buf, len);
	if (!buf[0] && !mb_lv_console_connected(r->cons[incarnation % 2], why, sizeof(why)))
		snprintf(buf, len, "(console %s never answered: %s)", r->console[incarnation % 2], why);
}

static void console_tail_file(const char *path, char *buf, size_t len)
{
	char line[512];
	char ring[4][512] = { "" };
	unsigned n = 0;
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (*line)
			snprintf(ring[n++ % 4], sizeof(ring[0]), "%s", line);
	}
	fclose(f);
	for (unsigned i = n > 4 ? n - 4 : 0; i < n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? " | " : "", ring[i % 4]);
}

static int wait_for_agent(struct mb_runner *r, struct mb_err *err)
{
	int64_t deadline = mb_clock_us(CLOCK_MONOTONIC) + (int64_t)BOOT_TIMEOUT_MS * 1000;
	struct mb_hb_hello hello;

	for (;;) {
		if (!mb_hb_wait_hello(r->hb, &hello, 100, err))
			break;
		if (err->errnum != ETIMEDOUT)
			return -1;
		if (r->interrupted && *r->interrupted)
			return mb_errf(err, EINTR, "interrupted by the user while the guest booted");
		if (mb_clock_us(CLOCK_MONOTONIC) > deadline)
			return mb_errf(err, ETIMEDOUT, "no HELLO from the guest agent within %d ms", BOOT_TIMEOUT_MS);
	}
	return mb_hb_wait_records(r->hb, 1, BOOT_TIMEOUT_MS, err);
}

/* The version of the QEMU that runs `dom` on `d`, from QEMU itself; on
 * failure the reason, so the result never names a wrong version. */
static void learn_qemu_version(struct daemon *d, virDomainPtr dom)
{
	char *reply = NULL;
	json_t *doc, *q;

	if (virDomainQemuMonitorCommand(dom, "{\"execute\":\"query-version\"}", &reply, 0) < 0) {
		snprintf(d->qemu_version, sizeof(d->qemu_version), "unknown (query-version: %s)",
			 virGetLastErrorMessage());
		return;
	}
	doc = json_loads(reply, 0, NULL);
	q = json_object_get(json_object_get(json_object_get(doc, "return"), "qemu"), "major") ?
		    json_object_get(json_object_get(doc, "return"), "qemu") : NULL;
	if (q)
		snprintf(d->qemu_version, sizeof(d->qemu_version), "%lld.%lld.%lld",
			 (long long)json_integer_value(json_object_get(q, "major")),
			 (long long)json_integer_value(json_object_get(q, "minor")),
			 (long long)json_integer_value(json_object_get(q, "micro")));
	else
		snprintf(d->qemu_version, sizeof(d->qemu_version), "unknown (query-version replied %.32s)", reply);
	json_decref(doc);
	free(reply);
}

static int lv_start_source(struct mb_runner *r, struct mb_err *err)
{
	struct daemon *d = &r->d[r->cur];
	struct mb_lv_place place;
	char *xml = NULL, guest_errors[512], tail[2048];

	name_files(r, r->incarnation, r->cur);
	place = place_of(r, r->incarnation, r->cur);
	r->guest.qemu = d->qemu.binary;
	if (mb_lv_domain_xml(&r->guest, r->accel, r->name, &place, &xml, err))
		return -1;
	r->boot_launch_mono_us = mb_clock_us(CLOCK_MONOTONIC);
	r->dom = virDomainCreateXML(d->conn, xml, 0);
	free(xml);
	if (!r->dom)
		return mb_lv_errf(err, "libvirt daemon %s (%s): starting domain %s (virDomainCreateXML)",
				  d->uri, d->role, r->name);
	learn_qemu_version(d, r->dom);
	if (d->remote) {
		mb_lv_console_stop(r->cons[r->incarnation % 2]);
		r->cons[r->incarnation % 2] = NULL;
		if (mb_lv_console_start(d->u.host, d->console_port, HB_ATTACH_TIMEOUT_MS,
					&r->cons[r->incarnation % 2], err))
			return mb_err_prefix(err, "booting the guest as domain %s on %s", r->name, d->uri);
	}
	if (mb_hb_attach(r->hb, place.hb_socket, "source", HB_ATTACH_TIMEOUT_MS, &r->cur_hb, err) ||
	    wait_for_agent(r, err)) {
		if (err->errnum == EINTR)
			return -1;
		console_tail(r, r->incarnation, tail, sizeof(tail));
		if (tail[0])
			mb_err_prefix(err, "guest console: %s", tail);
		return mb_err_prefix(err, "booting the guest as domain %s on %s", r->name, d->uri);
	}
	r->boot_first_hb_mono_us = mb_clock_us(CLOCK_MONOTONIC);
	if (mb_hb_guest_errors(r->hb, guest_errors, sizeof(guest_errors)))
		return mb_errf(err, 0, "the guest agent reported: %s", guest_errors);
	r->running_since_mono_us = mb_clock_us(CLOCK_MONOTONIC);
	return 0;
}

/* libvirt starts the destination QEMU itself, inside virDomainMigrate3:
 * here its domain XML is made, from the running domain's. */
static int lv_start_destination(struct mb_runner *r, struct mb_err *err)
{
	int to = 1 - r->cur;
	struct mb_lv_place place;
	char *live;

	free(r->dest_xml);
	r->dest_xml = NULL;
	name_files(r, r->incarnation + 1, to);
	place = place_of(r, r->incarnation + 1, to);
	/* A socket left by an earlier incarnation would take the attach. */
	if (!place.hb_port && unlink(place.hb_socket) && errno != ENOENT)
		return mb_errf(err, errno, "starting the destination: removing %s", place.hb_socket);
	live = virDomainGetXMLDesc(r->dom, VIR_DOMAIN_XML_MIGRATABLE);
	if (!live)
		return mb_lv_errf(err, "starting the destination: the XML of domain %s on %s", r->name,
				  r->d[r->cur].uri);
	if (mb_lv_domain_xml_for(live, &place, r->d[to].qemu.binary, &r->dest_xml, err)) {
		free(live);
		return mb_err_prefix(err, "starting the destination");
	}
	free(live);
	return 0;
}

/* ---- the migration ---- */

static void *migrate_main(void *arg)
{
	struct mb_runner *r = arg;

	r->dst_dom = virDomainMigrate3(r->dom, r->d[1 - r->cur].conn, r->params, (unsigned)r->nparams, r->flags);
	if (!r->dst_dom)
		snprintf(r->mig_error, sizeof(r->mig_error), "%s", virGetLastErrorMessage());
	atomic_store(&r->mig_done, 1);
	return NULL;
}

/* Connects to the destination's heartbeat socket as soon as its QEMU
 * made it, so that the first heartbeat after RESUME is not lost. */
static void *attach_main(void *arg)
{
	struct mb_runner *r = arg;
	int64_t deadline = mb_clock_us(CLOCK_MONOTONIC) + (int64_t)DST_ATTACH_TIMEOUT_MS * 1000;
	char label[32];

	snprintf(label, sizeof(label), "destination-%u", r->migrations + 1);
	while (!atomic_load(&r->attach_stop)) {
		if (!mb_hb_attach(r->hb, r->hb_path[(r->incarnation + 1) % 2], label, 200, &r->next_hb,
				  &r->attach_err)) {
			atomic_store(&r->attach_ok, 1);
			break;
		}
		if (mb_clock_us(CLOCK_MONOTONIC) > deadline)
			break;
	}
	return NULL;
}

static void join_attach(struct mb_runner *r)
{
	if (!r->attach_started)
		return;
	atomic_store(&r->attach_stop, 1);
	pthread_join(r->attach_thread, NULL);
	r->attach_started = 0;
}

static void join_migrate(struct mb_runner *r)
{
	if (!r->mig_started)
		return;
	pthread_join(r->mig_thread, NULL);
	r->mig_started = 0;
}

static void free_params(struct mb_runner *r)
{
	virTypedParamsFree(r->params, r->nparams);
	r->params = NULL;
	r->nparams = 0;
}

/* The sampler's statistics: libvirt's job statistics in query-migrate's
 * shape, verbatim beside under "libvirt". Fails once the source domain is
 * gone (the migration completed): the sampler stops there. */
static int fetch_job_stats(void *arg, json_t **reply, struct mb_stats_timing *timing, struct mb_err *err)
{
	struct mb_runner *r = arg;
	json_t *stats = NULL;
	char status[32];

	timing->sent_mono_us = mb_clock_us(CLOCK_MONOTONIC);
	if (mb_lv_job_stats(r->dom, 0, &stats, err))
		return -1;
	timing->reply_real_us = mb_clock_us(CLOCK_REALTIME);
	timing->reply_mono_us = mb_clock_us(CLOCK_MONOTONIC);
	pthread_mutex_lock(&r->status_lock);
	snprintf(status, sizeof(status), "%s", r->status);
	pthread_mutex_unlock(&r->status_lock);
	*reply = mb_lv_query_migrate_shape(stats, status);
	json_object_set_new(*reply, "libvirt", stats);
	return 0;
}

static void forget_applied(struct mb_runner *r)
{
	json_decref(r->applied);
	json_decref(r->applied_caps);
	r->applied = r->applied_caps = NULL;
	r->qemu_migrating = r->applied_read = 0;
	r->applied_error[0] = '\0';
}

/* `command`'s return through libvirt's QEMU monitor (*out: new reference). */
static int monitor_return(virDomainPtr dom, const char *command, json_t **out, struct mb_err *err)
{
	char cmd[128], *reply = NULL;
	json_t *doc;

	*out = NULL;
	snprintf(cmd, sizeof(cmd), "{\"execute\":\"%s\"}", command);
	if (virDomainQemuMonitorCommand(dom, cmd, &reply, 0) < 0)
		return mb_lv_errf(err, "%s through virDomainQemuMonitorCommand", command);
	doc = json_loads(reply, 0, NULL);
	*out = json_incref(json_object_get(doc, "return"));
	json_decref(doc);
	if (!*out)
		mb_errf(err, 0, "%s through virDomainQemuMonitorCommand: no return in '%.64s'", command, reply);
	free(reply);
	return *out ? 0 : -1;
}

/* A value sent is not a value applied: libvirt sets QEMU's migration
 * capabilities and parameters inside virDomainMigrate3, so once the
 * source QEMU says it migrates, ask it what it holds (for the result) and
 * fail when that is not what the scenario asked. A migration over before
 * the question (the source is gone) leaves the reason in the result. */
static int check_applied(struct mb_runner *r, struct mb_err *err)
{
	const struct mb_params *p = &r->spec->params;
	json_t *want = mb_lv_wanted_params(p), *want_caps = mb_lv_wanted_caps(p), *list = NULL;
	struct mb_err why = { 0 };
	int rc = 0;

	r->applied_read = 1;
	if (monitor_return(r->dom, "query-migrate-parameters", &r->applied, &why) ||
	    monitor_return(r->dom, "query-migrate-capabilities", &list, &why) ||
	    mb_qmp_capabilities_object(list, &r->applied_caps, &why))
		snprintf(r->applied_error, sizeof(r->applied_error), "not read: %s", why.msg);
	else if (mb_qmp_compare_applied(r->applied_caps, want_caps, "migration capability", err) ||
		 mb_qmp_compare_applied(r->applied, want, "migration parameter", err))
		rc = mb_err_prefix(err, "the source QEMU (on %s) does not hold what the scenario asked",
				   r->d[r->cur].uri);
	json_decref(list);
	json_decref(want);
	json_decref(want_caps);
	return rc;
}

static int lv_migrate(struct mb_runner *r, struct mb_err *err)
{
	const struct mb_params *p = &r->spec->params;
	struct daemon *src = &r->d[r->cur], *dst = &r->d[1 - r->cur];
	int64_t wait = r->running_since_mono_us + (int64_t)p->baseline_us - mb_clock_us(CLOCK_MONOTONIC);
	unsigned long long got = 0;
	int e;

	mb_lv_watch_clear(src->watch);
	mb_lv_watch_clear(dst->watch);
	r->src_seen = 0;
	r->mig_error[0] = '\0';
	r->dst_dom = NULL;
	atomic_store(&r->mig_done, 0);
	atomic_store(&r->attach_stop, 0);
	atomic_store(&r->attach_ok, 0);
	r->call_real_us = r->suspend_real_us = 0;
	forget_applied(r);

	/* A value sent is not a value applied: read it back (and the rest
	 * once libvirt set it, check_applied). */
	r->downtime_ms = mb_lv_max_downtime_ms(p);
	if (virDomainMigrateSetMaxDowntime(r->dom, r->downtime_ms, 0) < 0)
		return mb_lv_errf(err, "starting the migration: virDomainMigrateSetMaxDowntime(%llu ms) on %s",
				  r->downtime_ms, src->uri);
	if (virDomainMigrateGetMaxDowntime(r->dom, &got, 0) < 0)
		return mb_lv_errf(err, "starting the migration: virDomainMigrateGetMaxDowntime on %s", src->uri);
	if (got != r->downtime_ms)
		return mb_errf(err, 0, "starting the migration: downtime_limit: asked %s for %llu ms, it holds %llu ms",
			       src->uri, r->downtime_ms, got);
	free_params(r);
	if (mb_lv_migrate_params(p, dst->data_uri, r->dest_xml, &r->params, &r->nparams, &r->flags, err))
		return mb_err_prefix(err, "starting the migration");
	if (wait > 0)
		mb_sleep_us(wait);
	set_status(r, "setup");
	r->passes = 0;
	if (mb_migrate_sampler_start(fetch_job_stats, r, p->sample_interval_us, &r->sampler, err))
		return mb_err_prefix(err, "starting the migration");
	if (p->mode == MB_MODE_COLD) {
		r->suspend_real_us = mb_clock_us(CLOCK_REALTIME);
		if (virDomainSuspend(r->dom) < 0)
			return mb_lv_errf(err, "starting the migration: suspending domain %s on %s (cold)",
					  r->name, src->uri);
	}
	r->call_real_us = mb_clock_us(CLOCK_REALTIME);
	e = pthread_create(&r->mig_thread, NULL, migrate_main, r);
	if (e)
		return mb_errf(err, e, "starting the migration: a thread for virDomainMigrate3");
	r->mig_started = 1;
	e = pthread_create(&r->attach_thread, NULL, attach_main, r);
	if (e)
		return mb_errf(err, e, "starting the migration: a thread for the destination's heartbeats");
	r->attach_started = 1;
	/* The destination's console, as soon as its QEMU listens. */
	mb_lv_console_stop(r->cons[(r->incarnation + 1) % 2]);
	r->cons[(r->incarnation + 1) % 2] = NULL;
	if (dst->remote && mb_lv_console_start(dst->u.host, dst->console_port, DST_ATTACH_TIMEOUT_MS,
					       &r->cons[(r->incarnation + 1) % 2], err))
		return mb_err_prefix(err, "starting the migration");
	return 0;
}

static int migration_failed(struct mb_runner *r, struct mb_err *err)
{
	return mb_errf(err, 0, "virDomainMigrate3 of domain %s from %s to %s failed: %s", r->name,
		       r->d[r->cur].uri, r->d[1 - r->cur].uri, r->mig_error[0] ? r->mig_error : "(no message)");
}

/* Status and passes from the source QEMU's events since the last poll. */
static void take_source_events(struct mb_runner *r)
{
	json_t *events = mb_lv_watch_since(r->d[r->cur].watch, r->src_seen, &r->src_seen), *e;
	size_t i;

	json_array_foreach(events, i, e) {
		const char *name = json_string_value(json_object_get(e, "event"));
		json_t *data = json_object_get(e, "data");

		if (!strcmp(name, "MIGRATION")) {
			const char *st = json_string_value(json_object_get(data, "status"));

			if (st)
				set_status(r, st);
			r->qemu_migrating = 1;
		} else if (!strcmp(name, "MIGRATION_PASS")) {
			json_int_t pass = json_integer_value(json_object_get(data, "pass"));

			if (pass > (json_int_t)r->passes)
				r->passes = (unsigned)pass;
		}
	}
	json_decref(events);
}

static int lv_poll(struct mb_runner *r, struct mb_mig_progress *p, int timeout_ms, struct mb_err *err)
{
	struct mb_migrate_sample smp;

	mb_lv_watch_wait_more(r->d[r->cur].watch, r->src_seen, timeout_ms);
	take_source_events(r);
	if (r->qemu_migrating && !r->applied_read && !atomic_load(&r->mig_done) && check_applied(r, err))
		return -1;
	if (atomic_load(&r->mig_done)) {
		if (!r->dst_dom)
			return migration_failed(r, err);
		/* libvirt returned: the source QEMU is gone, and its last
		 * events said completed (or libvirt knows better). */
		set_status(r, "completed");
	}
	mb_migrate_sampler_latest(r->sampler, &smp);
	mb_mig_progress_from_sample(r->status, r->passes, &smp, p);
	return 0;
}

/* libvirt refuses the switch until the migration's RAM transfer runs
 * (and QEMU until it is active): retry for a while. */
static int lv_start_postcopy(struct mb_runner *r, struct mb_err *err)
{
	int64_t deadline = mb_clock_us(CLOCK_MONOTONIC) + (int64_t)START_POSTCOPY_RETRY_MS * 1000;

	for (;;) {
		if (virDomainMigrateStartPostCopy(r->dom, 0) == 0)
			return 0;
		if (atomic_load(&r->mig_done) || mb_clock_us(CLOCK_MONOTONIC) > deadline)
			return mb_lv_errf(err, "switching domain %s on %s to post-copy (virDomainMigrateStartPostCopy, "
					  "tried for %d ms)", r->name, r->d[r->cur].uri, START_POSTCOPY_RETRY_MS);
		mb_sleep_us(50000);
	}
}

static int lv_cancel(struct mb_runner *r, struct mb_err *err)
{
	int rc = 0;

	if (r->mig_started && !atomic_load(&r->mig_done) && virDomainAbortJob(r->dom) < 0 &&
	    !atomic_load(&r->mig_done))
		rc = mb_lv_errf(err, "cancelling the migration of domain %s on %s (virDomainAbortJob)", r->name,
				r->d[r->cur].uri);
	join_migrate(r);
	join_attach(r);
	/* It may have completed before the abort reached it. */
	set_status(r, r->dst_dom ? "completed" : "cancelled");
	return rc;
}

/* ---- after the migration ---- */

static void add_events(json_t *all, struct mb_lv_watch *w, const char *side)
{
	json_t *list = mb_lv_watch_since(w, 0, NULL), *e;
	size_t i;

	json_array_foreach(list, i, e) {
		json_t *copy = json_deep_copy(e);

		json_object_set_new(copy, "side", json_string(side));
		json_array_append_new(all, copy);
	}
	json_decref(list);
}

static json_t *version_json(unsigned long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu.%lu.%lu", v / 1000000, v / 1000 % 1000, v % 1000);
	return json_string(buf);
}

static json_t *daemon_json(const struct mb_runner *r, const struct daemon *d)
{
	json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:s, s:s, s:b}",
			      "binary", d->qemu.binary,
			      "runner", "libvirt",
			      "version", json_string(d->qemu_version[0] ? d->qemu_version : "unknown"),
			      "accelerator", mb_accel_name(r->accel),
			      "libvirt_uri", d->uri,
			      "libvirt_key", d->role,
			      "libvirt_version", version_json(d->lib_version),
			      "host", d->hostname,
			      "domain", r->name,
			      "remote", d->remote);

	json_object_set_new(o, "daemon_default_qemu_version", version_json(d->hv_version));
	if (d->remote)
		json_object_set_new(o, "remote_access",
				    json_pack("{s:s, s:s, s:s, s:O*}", "exec", d->exec,
					      "heartbeat", r->hb_path[d == &r->d[0] ? 0 : 1],
					      "console", r->console[d == &r->d[0] ? 0 : 1], "image", d->image));
	return o;
}

/* The clock of the instants: QEMU's own timestamps when both sides run on
 * one host, else migbench's arrival times (libvirt_clock= forces either). */
static enum mb_event_clock timing_clock(const struct mb_runner *r, const struct daemon *src,
					const struct daemon *dst, char *why, size_t len)
{
	const struct mb_lv_options *p = mb_run_spec_options(r->spec, &mb_runner_libvirt);
	const char *sh = src->remote ? src->u.host : "this host", *dh = dst->remote ? dst->u.host : "this host";

	if (p->libvirt_clock == MB_LV_CLOCK_QEMU || p->libvirt_clock == MB_LV_CLOCK_ARRIVAL) {
		snprintf(why, len, "libvirt_clock=%s", mb_run_spec_text(r->spec, "libvirt_clock"));
		return p->libvirt_clock == MB_LV_CLOCK_QEMU ? MB_EVENT_CLOCK_QEMU : MB_EVENT_CLOCK_ARRIVAL;
	}
	if (src->remote == dst->remote && (!src->remote || !strcasecmp(sh, dh))) {
		snprintf(why, len, "both sides run on %s: QEMU's timestamps are one clock", sh);
		return MB_EVENT_CLOCK_QEMU;
	}
	snprintf(why, len, "the source runs on %s, the destination on %s: their clocks differ, so the instants "
		 "are when migbench received each event (one clock, each instant late by its delivery)", sh, dh);
	return MB_EVENT_CLOCK_ARRIVAL;
}

/* start: the source QEMU's MIGRATION setup, when libvirt sent `migrate`, on
 * `clock` (cold: the suspend, on migbench's clock); 0 when missing. */
static int64_t setup_instant(const json_t *events, enum mb_event_clock clock)
{
	json_t *e;
	size_t i;

	json_array_foreach(events, i, e) {
		json_int_t t = json_integer_value(json_object_get(e, mb_event_clock_name(clock)));
		const char *st = json_string_value(json_object_get(json_object_get(e, "data"), "status"));

		if (!strcmp(json_string_value(json_object_get(e, "side")), "source") &&
		    !strcmp(json_string_value(json_object_get(e, "event")), "MIGRATION") && st &&
		    !strcmp(st, "setup") && t > 0)
			return t;
	}
	return 0;
}

/* The instants on `clock`; their durations into `out` (when complete). */
static void times_on(const struct mb_runner *r, const json_t *events, enum mb_event_clock clock,
		     struct mb_mig_times *t, json_t *out)
{
	int64_t start = r->spec->params.mode == MB_MODE_COLD ? r->suspend_real_us : setup_instant(events, clock);

	mb_mig_times_from_events(events, start ? start : r->call_real_us, 0, clock, t);
	if (out && mb_metrics_times(t, out))
		json_object_set_new(out, "error", json_string("instants incomplete or out of order on this clock"));
}

static json_t *params_as_sent(const struct mb_runner *r)
{
	json_t *params = mb_lv_params_json(r->params, r->nparams);

	/* The XML is long and in the events' domain anyway: its size says
	 * it was there. */
	if (json_object_get(params, VIR_MIGRATE_PARAM_DEST_XML))
		json_object_set_new(params, VIR_MIGRATE_PARAM_DEST_XML,
				    json_sprintf("(%zu bytes)", strlen(r->dest_xml ? r->dest_xml : "")));
	return json_pack("{s:o, s:o, s:I}", "flags", mb_lv_flags_json(r->flags), "params", params,
			 "max_downtime_ms", (json_int_t)r->downtime_ms);
}

/* As the QMP runner's: what each QEMU held (query-migrate-parameters), the
 * source's asked while it migrated, the destination's afterwards; beside
 * them the source's capabilities and what migbench asked of libvirt. */
static json_t *applied_json(struct mb_runner *r)
{
	json_t *dst = NULL, *doc;
	struct mb_err why = { 0 };

	if (r->dst_dom && monitor_return(r->dst_dom, "query-migrate-parameters", &dst, &why))
		dst = json_pack("{s:s}", "error", why.msg);
	doc = json_pack("{s:O?, s:O?, s:o?, s:o}", "source", r->applied, "source_capabilities", r->applied_caps,
			"destination", dst, "libvirt_request", params_as_sent(r));
	if (r->applied_error[0])
		json_object_set_new(doc, "source_error", json_string(r->applied_error));
	return doc;
}

/* The completed job's statistics. The source's JOB_COMPLETED event carries
 * them (the transient source domain is gone by now, so it cannot be asked);
 * the destination keeps them too, but after post-copy not always
 * (tests/integration/libvirt-hosts.md). */
static json_t *completed_stats(struct mb_runner *r, struct daemon *src, struct mb_err *err)
{
	json_t *ev = NULL, *stats = NULL;
	struct mb_err quiet;

	if (mb_lv_watch_wait_for(src->watch, 0, "libvirt.JOB_COMPLETED", NULL, 5000, &ev, &quiet) == 0) {
		stats = json_incref(json_object_get(ev, "data"));
		json_decref(ev);
		json_object_set_new(stats, "reported_by", json_string("source JOB_COMPLETED event"));
		return stats;
	}
	if (r->dst_dom && mb_lv_job_stats(r->dst_dom, VIR_DOMAIN_JOB_STATS_COMPLETED, &stats, err) == 0) {
		json_object_set_new(stats, "reported_by",
				    json_string("destination virDomainGetJobStats(VIR_DOMAIN_JOB_STATS_COMPLETED)"));
		return stats;
	}
	mb_err_prefix(err, "no JOB_COMPLETED event from the source within 5 s either");
	return NULL;
}

static int lv_finish(struct mb_runner *r, struct mb_mig_record *rec, struct mb_err *err)
{
	const struct mb_params *p = &r->spec->params;
	struct daemon *src = &r->d[r->cur], *dst = &r->d[1 - r->cur];
	int completed, rc = 0;
	json_t *stats;
	struct mb_err stats_err = {0};

	memset(rec, 0, sizeof(*rec));
	join_migrate(r);
	if (r->sampler) {
		mb_migrate_sampler_stop(r->sampler);
		rec->samples = mb_migrate_sampler_series(r->sampler);
		rec->samples_file = mb_migrate_sampler_take_spool(r->sampler, &rec->samples_count);
		mb_migrate_sampler_free(r->sampler);
		r->sampler = NULL;
	}
	completed = r->dst_dom != NULL;
	if (completed && !atomic_load(&r->attach_ok)) {
		/* The attach thread may be between tries: one last, long try. */
		join_attach(r);
		if (atomic_load(&r->attach_ok)) {
			/* it made it after all */
		} else if (mb_hb_attach(r->hb, r->hb_path[(r->incarnation + 1) % 2], "destination",
					HB_ATTACH_TIMEOUT_MS, &r->next_hb, &r->attach_err)) {
			*err = r->attach_err;
			rc = mb_err_prefix(err, "the destination's heartbeats");
		} else {
			atomic_store(&r->attach_ok, 1);
		}
	}
	join_attach(r);
	if (completed && !rc && p->mode == MB_MODE_COLD && virDomainResume(r->dst_dom) < 0)
		rc = mb_lv_errf(err, "resuming domain %s on %s after the cold migration", r->name, dst->uri);
	if (completed && !rc &&
	    mb_lv_watch_wait_for(dst->watch, 0, "RESUME", NULL, EVENT_TIMEOUT_MS, NULL, err))
		rc = -1;
	/* Post-copy: the destination completes once every page arrived. */
	if (completed && !rc && p->mode != MB_MODE_COLD &&
	    mb_lv_watch_wait_for(dst->watch, 0, "MIGRATION", "completed", POSTCOPY_COMPLETE_TIMEOUT_MS, NULL, err))
		rc = -1;
	if (rc)
		mb_err_prefix(err, "destination after the migration");

	rec->events = json_array();
	add_events(rec->events, src->watch, "source");
	add_events(rec->events, dst->watch, "destination");
	stats = completed ? completed_stats(r, src, &stats_err) : NULL;
	if (stats) {
		rec->final_source = mb_lv_query_migrate_shape(stats, "completed");
		rec->runner_reported = json_pack("{s:o}", "libvirt_reported", stats);
	} else {
		rec->final_source = json_pack("{s:s}", "status", r->status);
		if (completed)
			rec->runner_reported = json_pack("{s:{s:s}}", "libvirt_reported", "error", stats_err.msg);
	}
	rec->migration_parameters = applied_json(r);
	if (r->dst_dom)
		learn_qemu_version(dst, r->dst_dom);
	rec->hypervisor = json_pack("{s:{s:s, s:s}, s:o, s:o}",
				    "machine", "type", r->guest.machine,
				    "chosen_by", p->machine && *p->machine ? "scenario" : "default",
				    "source", daemon_json(r, src), "destination", daemon_json(r, dst));

	/* The instants on one clock; the durations on both, to compare. */
	{
		char why[512];
		enum mb_event_clock clock = timing_clock(r, src, dst, why, sizeof(why));
		enum mb_event_clock other = clock == MB_EVENT_CLOCK_QEMU ? MB_EVENT_CLOCK_ARRIVAL : MB_EVENT_CLOCK_QEMU;
		struct mb_mig_times other_times;
		json_t *used = json_object(), *alt = json_object();

		times_on(r, rec->events, clock, &rec->times, used);
		times_on(r, rec->events, other, &other_times, alt);
		json_object_set_new(rec->hypervisor, "timing",
				    json_pack("{s:s, s:s, s:{s:o, s:o}}", "clock",
					      clock == MB_EVENT_CLOCK_QEMU ? "qemu" : "arrival", "reason", why,
					      "by_clock", clock == MB_EVENT_CLOCK_QEMU ? "qemu" : "arrival", used,
					      other == MB_EVENT_CLOCK_QEMU ? "qemu" : "arrival", alt));
	}
	free_params(r);

	if (completed && !rc) {
		/* The guest runs on the other daemon: it is the next source. */
		mb_hb_detach(r->hb, r->cur_hb);
		r->cur_hb = r->next_hb;
		virDomainFree(r->dom);
		r->dom = r->dst_dom;
		r->dst_dom = NULL;
		r->cur = 1 - r->cur;
		r->incarnation++;
		r->running_since_mono_us = mb_clock_us(CLOCK_MONOTONIC);
		r->migrations++;
		return 0;
	}
	if (atomic_load(&r->attach_ok))
		mb_hb_detach(r->hb, r->next_hb);
	if (!r->dst_dom) {
		mb_lv_console_stop(r->cons[(r->incarnation + 1) % 2]);
		r->cons[(r->incarnation + 1) % 2] = NULL;
	}
	if (r->dst_dom) {
		/* Completed, but the destination did not come up as it
		 * should: the guest is there, and teardown finds it. */
		virDomainFree(r->dom);
		r->dom = r->dst_dom;
		r->dst_dom = NULL;
		r->cur = 1 - r->cur;
		r->incarnation++;
		return rc;
	}
	if (p->mode == MB_MODE_COLD && virDomainResume(r->dom) < 0 && !rc)
		rc = mb_lv_errf(err, "resuming domain %s on %s after the failed cold migration", r->name, src->uri);
	return rc;
}

static int lv_console_problems(struct mb_runner *r, json_t **lines, struct mb_err *err)
{
	const char *path = r->console[r->incarnation % 2];
	char line[1024];
	FILE *f;

	*lines = json_array();
	if (!r->dom)
		return 0;
	if (r->d[r->cur].remote) {
		mb_lv_console_problems(r->cons[r->incarnation % 2], *lines);
		return 0;
	}
	f = fopen(path, "r");
	if (!f)
		return mb_errf(err, errno, "read guest console '%s' (written by the QEMU of %s)", path,
			       r->d[r->cur].uri);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (mb_lv_console_line_is_problem(line))
			json_array_append_new(*lines, json_string(line));
	}
	fclose(f);
	return 0;
}

/* The QEMU process of this host whose command line names `needle` (its
 * heartbeat socket: unique to one incarnation); 0 when none. */
static pid_t qemu_pid_naming(const char *needle)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		char path[300], buf[8192];
		size_t n;
		FILE *f;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		for (size_t i = 0; i < n; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[n] = '\0';
		if (strstr(buf, needle) && strstr(buf, "qemu"))
			found = (pid_t)atol(e->d_name);
	}
	closedir(d);
	return found;
}

/* A side's QEMU as probes see it: its PID, and its vCPU threads by the
 * names libvirt's debug-threads=on gives them ("CPU 0/KVM", "CPU 1/TCG"). */
static void probe_side(struct mb_runner *r, int daemon, const char *hb_path, const char *role,
		       struct mb_probe_side *side)
{
	char path[64];
	DIR *d;
	struct dirent *e;

	*side = (struct mb_probe_side){ .role = role, .host = r->d[daemon].hostname, .local = 1 };
	if (r->d[daemon].remote) {
		/* Another host: its probes run there (`migbench host-probes`
		 * through the exec prefix), which is also how its QEMU is found. */
		side->local = 0;
		side->host = r->d[daemon].u.host;
		side->exec = r->d[daemon].exec[0] ? r->d[daemon].exec : NULL;
		if (!hb_path)
			snprintf(side->vcpu_error, sizeof(side->vcpu_error), "%s",
				 "libvirt starts the destination's QEMU inside virDomainMigrate3, after the probes");
		else if (!side->exec)
			snprintf(side->vcpu_error, sizeof(side->vcpu_error), "its QEMU runs on %s, and no "
				 "libvirt_exec_* says how to reach that host", side->host);
		else
			mb_lv_remote_qemu(side->exec, r->name, side);
		return;
	}
	side->pid = hb_path ? qemu_pid_naming(hb_path) : 0;
	if (!side->pid) {
		snprintf(side->vcpu_error, sizeof(side->vcpu_error), "%s",
			 hb_path ? "its QEMU is not among this host's processes"
				 : "libvirt starts the destination's QEMU inside virDomainMigrate3, after the probes");
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/task", (int)side->pid);
	d = opendir(path);
	if (!d) {
		snprintf(side->vcpu_error, sizeof(side->vcpu_error), "%s: %s", path, strerror(errno));
		return;
	}
	while ((e = readdir(d)) && side->nvcpus < MB_PROBE_MAX_VCPUS) {
		char comm_path[300], comm[64] = "";
		unsigned cpu;
		FILE *f;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(comm_path, sizeof(comm_path), "%s/%s/comm", path, e->d_name);
		f = fopen(comm_path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
		if (sscanf(comm, "CPU %u/", &cpu) == 1) {
			side->vcpu_tid[side->nvcpus] = (pid_t)atol(e->d_name);
			side->vcpu_index[side->nvcpus] = (int)cpu;
			side->nvcpus++;
		}
	}
	closedir(d);
	if (!side->nvcpus)
		snprintf(side->vcpu_error, sizeof(side->vcpu_error), "no thread named 'CPU N/...' in %s", path);
}

/* A remote host's QEMU is not among this host's processes: its side is
 * local=0 with the exec prefix that reaches that host. */
static void lv_probe_ctx(struct mb_runner *r, struct mb_probe_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->spec = r->spec;
	probe_side(r, r->cur, r->dom ? r->hb_path[r->incarnation % 2] : NULL, "source",
		   &ctx->side[MB_SIDE_SOURCE]);
	probe_side(r, 1 - r->cur, NULL, "destination", &ctx->side[MB_SIDE_DESTINATION]);
}

static int lv_check_alive(struct mb_runner *r, struct mb_err *err)
{
	char tail[2048];
	int active;

	if (!r->dom)
		return mb_errf(err, ESRCH, "no guest is running");
	active = virDomainIsActive(r->dom);
	if (active == 1)
		return 0;
	if (active < 0)
		return mb_lv_errf(err, "domain %s on %s", r->name, r->d[r->cur].uri);
	console_tail(r, r->incarnation, tail, sizeof(tail));
	return mb_errf(err, ESRCH, "domain %s on %s is no longer running%s%s", r->name, r->d[r->cur].uri,
		       tail[0] ? "; its console ended with: " : "", tail);
}

static int lv_guest_status(struct mb_runner *r, struct mb_guest_status *st, struct mb_err *err)
{
	memset(st, 0, sizeof(*st));
	if (!r->dom)
		return mb_errf(err, ESRCH, "no guest is running");
	mb_guest_status_from_hb(st, r->hb, r->boot_launch_mono_us, r->boot_first_hb_mono_us, &r->image);
	snprintf(st->accel, sizeof(st->accel), "%s", mb_accel_name(r->accel));
	snprintf(st->accel_why, sizeof(st->accel_why), "%s", r->accel_why);
	snprintf(st->host, sizeof(st->host), "%s (%s)", r->d[r->cur].hostname, r->d[r->cur].uri);
	return 0;
}

static int lv_guest_command(struct mb_runner *r, const char *command, const char *args,
			    struct mb_hb_reply *reply, int timeout_ms, struct mb_err *err)
{
	return mb_hb_command(r->hb, command, args, reply, timeout_ms, err);
}

static size_t lv_heartbeat_count(struct mb_runner *r)
{
	return mb_hb_count(r->hb);
}

static int lv_heartbeat_series(struct mb_runner *r, int64_t from_real_us, struct mb_hb_series *out,
			       struct mb_err *err)
{
	return mb_hb_series_for_run(r->hb, from_real_us, out, err);
}

/* Nothing of this run stays defined or running on either daemon. */
static void destroy_everywhere(struct mb_runner *r)
{
	for (int i = 0; i < 2; i++) {
		virDomainPtr dom;

		if (!r->d[i].conn || !r->name[0])
			continue;
		dom = virDomainLookupByName(r->d[i].conn, r->name);
		if (!dom)
			continue;
		if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0)
			fprintf(stderr, "migbench: libvirt runner: could not destroy domain %s on %s: %s "
				"(virsh -c '%s' destroy %s)\n", r->name, r->d[i].uri, virGetLastErrorMessage(),
				r->d[i].uri, r->name);
		/* Transient: gone once destroyed; a persistent one (someone
		 * defined it meanwhile) is undefined too. */
		if (virDomainIsPersistent(dom) == 1)
			virDomainUndefine(dom);
		virDomainFree(dom);
	}
}

static void lv_teardown(struct mb_runner *r)
{
	if (!r)
		return;
	if (r->mig_started && !atomic_load(&r->mig_done) && r->dom)
		virDomainAbortJob(r->dom);
	join_migrate(r);
	join_attach(r);
	if (r->sampler)
		mb_migrate_sampler_free(r->sampler);
	if (r->dst_dom)
		virDomainFree(r->dst_dom);
	destroy_everywhere(r);
	if (r->dom)
		virDomainFree(r->dom);
	mb_hb_reader_free(r->hb);
	for (int i = 0; i < 2; i++) {
		mb_lv_console_stop(r->cons[i]);
		close_daemon(&r->d[i]);
		json_decref(r->d[i].image);
	}
	free_params(r);
	forget_applied(r);
	free(r->dest_xml);
	remove_run_dir(r);
	pthread_mutex_destroy(&r->status_lock);
	free(r);
}

const struct mb_runner_ops mb_runner_libvirt = {
	.name = "libvirt",
	.summary = "a transient libvirt domain migrated between two daemons (libvirt_src=, libvirt_dst=)",
	.options = mb_lv_keys,          /* libvirt_*: runners/libvirt_options.c */
	.options_size = sizeof(struct mb_lv_options),
	.preflight = lv_preflight,
	.prepare = lv_prepare,
	.adopt = lv_adopt,
	.start_source = lv_start_source,
	.start_destination = lv_start_destination,
	.migrate = lv_migrate,
	.poll = lv_poll,
	.start_postcopy = lv_start_postcopy,
	.pause_postcopy = NULL,
	.recover_postcopy = NULL,
	.cancel = lv_cancel,
	.finish = lv_finish,
	.console_problems = lv_console_problems,
	.probe_ctx = lv_probe_ctx,
	.check_alive = lv_check_alive,
	.guest_status = lv_guest_status,
	.guest_command = lv_guest_command,
	.heartbeat_count = lv_heartbeat_count,
	.heartbeat_series = lv_heartbeat_series,
	.teardown = lv_teardown,
};
