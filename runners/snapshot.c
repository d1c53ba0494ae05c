#include "config.h"
#include "runners/snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/clock.h"
#include "workloads/image/cache.h"

#define QMP_TIMEOUT_MS 10000
#define POLL_US 5000
/* Saving and loading go at page-cache speed (about 1 GiB/s here under
 * TCG); allow 20 MiB/s plus a minute, so only a stuck QEMU times out. */
#define SLOWEST_BYTES_PER_S (20ull << 20)

static int64_t allowed_us(uint64_t memory)
{
	return 60 * 1000000ll + (int64_t)(memory / SLOWEST_BYTES_PER_S) * 1000000ll;
}

/* exec: hands the command to /bin/sh: the path must need no quoting. */
static int shell_safe(const char *path, struct mb_err *err)
{
	size_t bad = strspn(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+@%");

	if (path[bad])
		return mb_errf(err, 0, "guest_start=snapshot: the snapshot path '%s' has '%c', which the shell "
			       "command QEMU runs would need quoted (set MIGBENCH_CACHE to a plain path)",
			       path, path[bad]);
	return 0;
}

/* The QEMU binary as it is found: in its root when there is one. */
static int hash_binary(struct mb_img_hash *h, const struct mb_guest *g, struct mb_err *err)
{
	const char *bin = g->qemu && *g->qemu ? g->qemu : MB_DEFAULT_QEMU;
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", g->qemu_root ? g->qemu_root : "", bin);
	if (stat(path, &st) < 0)
		return mb_errf(err, errno, "guest_start=snapshot: QEMU binary %s", path);
	mb_img_hash_str(h, path);
	mb_img_hash_bytes(h, &st.st_size, sizeof(st.st_size));
	mb_img_hash_bytes(h, &st.st_mtim, sizeof(st.st_mtim));
	mb_img_hash_bytes(h, &st.st_ino, sizeof(st.st_ino));
	return 0;
}

int mb_snapshot_locate(const struct mb_guest *g, struct mb_snapshot *s, struct mb_err *err)
{
	/* The command line without what differs from run to run: where the
	 * sockets and logs are, the tap's and the certificates' names. */
	static const struct mb_guest_paths fixed = {
		.console_log = "/console", .qmp_socket = "/qmp", .hb_socket = "/hb",
	};
	struct mb_guest keyed = *g;
	struct mb_argv argv;
	struct mb_img_hash h;
	enum mb_accel accel;
	char dir[PATH_MAX];

	*s = (struct mb_snapshot){ 0 };
	keyed.tap = g->tap ? "tap" : NULL;
	keyed.tls_dir = g->tls_dir ? "/tls" : NULL;
	if (mb_accel_resolve(g->accel, &accel, NULL, 0, err) ||
	    mb_guest_build_argv(&keyed, accel, &fixed, NULL, &argv, err))
		return mb_err_prefix(err, "guest_start=snapshot");
	mb_img_hash_init(&h);
	mb_img_hash_str(&h, "migbench snapshot 1");
	for (size_t i = 0; i < argv.n; i++)
		mb_img_hash_str(&h, argv.v[i]);
	mb_argv_free(&argv);
	mb_img_hash_str(&h, g->qemu_root ? g->qemu_root : "");
	if (hash_binary(&h, g, err))
		return -1;
	mb_img_hash_hex(&h, s->key, sizeof(s->key));

	snprintf(dir, sizeof(dir), "%s", g->initrd);
	snprintf(s->path, sizeof(s->path), "%s/snapshots", dirname(dir));
	if (mkdir(s->path, 0755) < 0 && errno != EEXIST)
		return mb_errf(err, errno, "guest_start=snapshot: creating %s", s->path);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s.state", s->path, s->key) >= sizeof(dir))
		return mb_errf(err, ENAMETOOLONG, "guest_start=snapshot: the path under %s", s->path);
	snprintf(s->path, sizeof(s->path), "%s", dir);
	return shell_safe(s->path, err);
}

bool mb_snapshot_present(const struct mb_snapshot *s, uint64_t *bytes)
{
	struct stat st;

	if (stat(s->path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
		return false;
	if (bytes)
		*bytes = (uint64_t)st.st_size;
	return true;
}

void mb_snapshot_discard(const struct mb_snapshot *s)
{
	unlink(s->path);
}

/* A member of `obj` as a string, "" when absent. */
static const char *str_of(const json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));

	return v ? v : "";
}

/* Polls query-migrate until the outgoing stream ended; 0 when completed. */
static int wait_saved(struct mb_qmp *qmp, int64_t deadline_us, struct mb_err *err)
{
	for (;;) {
		json_t *q = NULL;
		char status[32];

		if (mb_qmp_execute(qmp, "query-migrate", NULL, &q, QMP_TIMEOUT_MS, err))
			return -1;
		snprintf(status, sizeof(status), "%s", str_of(q, "status"));
		if (!strcmp(status, "completed")) {
			json_decref(q);
			return 0;
		}
		if (!strcmp(status, "failed") || !strcmp(status, "cancelled")) {
			mb_errf(err, 0, "QEMU's stream into the file %s (%s)", status,
				*str_of(q, "error-desc") ? str_of(q, "error-desc") : "QEMU gave no reason");
			json_decref(q);
			return -1;
		}
		json_decref(q);
		if (mb_clock_us(CLOCK_MONOTONIC) > deadline_us)
			return mb_errf(err, ETIMEDOUT, "QEMU's stream into the file is still %s", status);
		usleep(POLL_US);
	}
}

int mb_snapshot_save(struct mb_qmp *qmp, const struct mb_snapshot *s, uint64_t memory, uint64_t *bytes,
		     int64_t *took_us, struct mb_err *err)
{
	int64_t t0 = mb_clock_us(CLOCK_MONOTONIC);
	char tmp[PATH_MAX + 32], uri[PATH_MAX + 64];
	struct mb_err cont_err = { 0 };
	struct stat st;
	int rc;

	/* Guests of one campaign (guests=K) may save the same snapshot at
	 * once: each into a file of its own, the last rename wins. */
	static atomic_uint saves;

	snprintf(tmp, sizeof(tmp), "%s.%ld-%u.tmp", s->path, (long)getpid(), atomic_fetch_add(&saves, 1));
	snprintf(uri, sizeof(uri), "exec:cat > %s", tmp);
	/* Stopped, so the file is one consistent instant and a restore comes
	 * up paused; unthrottled, the campaign's own bandwidth is set at every
	 * migrate (runners/qmp_config.c). */
	rc = mb_qmp_execute(qmp, "stop", NULL, NULL, QMP_TIMEOUT_MS, err);
	if (!rc)
		rc = mb_qmp_execute(qmp, "migrate-set-parameters",
				    json_pack("{s:I}", "max-bandwidth", (json_int_t)(64ll << 30)), NULL,
				    QMP_TIMEOUT_MS, err) ||
		     mb_qmp_execute(qmp, "migrate", json_pack("{s:s}", "uri", uri), NULL, QMP_TIMEOUT_MS, err) ||
		     wait_saved(qmp, t0 + allowed_us(memory), err);
	if (!rc && stat(tmp, &st) < 0)
		rc = mb_errf(err, errno, "the saved state %s", tmp);
	if (!rc && rename(tmp, s->path) < 0)
		rc = mb_errf(err, errno, "renaming %s to %s", tmp, s->path);
	if (rc)
		unlink(tmp);
	/* Whatever happened, the guest must run on. */
	if (mb_qmp_execute(qmp, "cont", NULL, NULL, QMP_TIMEOUT_MS, &cont_err) && !rc) {
		*err = cont_err;
		rc = -1;
	}
	if (rc)
		return mb_err_prefix(err, "saving the guest's snapshot %s", s->path);
	*bytes = (uint64_t)st.st_size;
	*took_us = mb_clock_us(CLOCK_MONOTONIC) - t0;
	return 0;
}

/* Starts reading the snapshot: file: (QEMU 8.2 on), else exec:. A QEMU
 * that refuses the URI has not started reading, so the second may follow. */
static int start_reading(struct mb_qmp *qmp, const struct mb_snapshot *s, const char **how, struct mb_err *err)
{
	char uri[PATH_MAX + 16];
	struct mb_err file_err = { 0 };

	snprintf(uri, sizeof(uri), "file:%s", s->path);
	if (!mb_qmp_execute(qmp, "migrate-incoming", json_pack("{s:s}", "uri", uri), NULL, QMP_TIMEOUT_MS,
			    &file_err)) {
		*how = "file:";
		return 0;
	}
	snprintf(uri, sizeof(uri), "exec:cat %s", s->path);
	if (!mb_qmp_execute(qmp, "migrate-incoming", json_pack("{s:s}", "uri", uri), NULL, QMP_TIMEOUT_MS, err)) {
		*how = "exec:cat";
		return 0;
	}
	return mb_err_prefix(err, "reading the snapshot (file: was refused too: %s)", file_err.msg);
}

int mb_snapshot_restore(struct mb_qmp *qmp, const struct mb_snapshot *s, uint64_t memory,
			volatile const int *interrupted, const char **uri, struct mb_err *err)
{
	int64_t deadline = mb_clock_us(CLOCK_MONOTONIC) + allowed_us(memory);
	const char *how = NULL;

	if (start_reading(qmp, s, &how, err))
		return -1;
	if (uri)
		*uri = how;

	for (;;) {
		json_t *q = NULL;
		char status[32];

		if (mb_qmp_execute(qmp, "query-status", NULL, &q, QMP_TIMEOUT_MS, err))
			return mb_err_prefix(err, "loading the snapshot");
		snprintf(status, sizeof(status), "%s", str_of(q, "status"));
		json_decref(q);
		if (!strcmp(status, "running"))
			return 0;
		if (!strcmp(status, "paused") || !strcmp(status, "postmigrate"))
			break;
		if (strcmp(status, "inmigrate"))
			return mb_errf(err, 0, "loading the snapshot: QEMU is '%s', not paused after it", status);
		if (interrupted && *interrupted)
			return mb_errf(err, EINTR, "interrupted by the user while the snapshot loaded");
		if (mb_clock_us(CLOCK_MONOTONIC) > deadline)
			return mb_errf(err, ETIMEDOUT, "loading the snapshot: still in progress");
		usleep(POLL_US);
	}
	return mb_qmp_execute(qmp, "cont", NULL, NULL, QMP_TIMEOUT_MS, err) ?
		mb_err_prefix(err, "starting the restored guest") : 0;
}
