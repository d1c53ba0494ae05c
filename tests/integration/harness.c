/* The integration tests' shared helpers (harness.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/exit.h"
#include "bench/host_probe.h"
#include "runners/netns.h"
#include "workloads/image/image.h"

#include "harness.h"

extern char **environ;

char mbt_runtime_dir[PATH_MAX];
const char *mbt_migbench_bin;

double mbt_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void mbt_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const char *mbt_qemu_binary(void)
{
	const char *q = getenv("MIGBENCH_QEMU");

	return q && *q ? q : MB_DEFAULT_QEMU;
}

int mbt_qemu_exists(const char *qemu)
{
	const char *path = getenv("PATH");
	char candidate[PATH_MAX];

	if (strchr(qemu, '/'))
		return access(qemu, X_OK) == 0;
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t len = strcspn(p, ":");

		snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)len, p, qemu);
		if (access(candidate, X_OK) == 0)
			return 1;
		p += len + (p[len] == ':');
	}
	return 0;
}

char *mbt_read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	char chunk[65536];

	if (!f)
		return strdup("");
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	if (!buf)
		return strdup("");
	buf[len] = '\0';
	return buf;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void mbt_remove_tree(const char *path, const char *prefix)
{
	if (path[0] && !strncmp(path, prefix, strlen(prefix)))
		nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int mbt_runtime_dir_init(const char *template)
{
	snprintf(mbt_runtime_dir, sizeof(mbt_runtime_dir), "%s", template);
	if (!mkdtemp(mbt_runtime_dir)) {
		print_error("cannot create a runtime directory: %s\n", strerror(errno));
		return -1;
	}
	setenv("XDG_RUNTIME_DIR", mbt_runtime_dir, 1);
	unsetenv("MIGBENCH_KEEP_RUNDIR");
	return 0;
}

int mbt_check_migbench(char *why, size_t len)
{
	mbt_migbench_bin = getenv("MIGBENCH_BIN");
	if (!mbt_migbench_bin || access(mbt_migbench_bin, X_OK))
		snprintf(why, len, "no migbench to run ($MIGBENCH_BIN %s)",
			 mbt_migbench_bin ? "is not executable" : "is not set");
	else if (!mbt_qemu_exists(mbt_qemu_binary()))
		snprintf(why, len, "no executable QEMU %s (set MIGBENCH_QEMU)", mbt_qemu_binary());
	else
		return 0;
	return -1;
}

void mbt_check_postcopy(char *why, size_t len)
{
	struct mb_host_roots roots;
	struct mb_host_uffd uffd;

	mb_host_roots_from_env(&roots);
	mb_probe_uffd(&roots, &uffd);
	if (!uffd.postcopy)
		snprintf(why, len, "no post-copy on this host: %s", uffd.summary);
}

int mbt_group_setup(const char *template, char *skip, size_t skip_len, char *postcopy_skip,
		    size_t postcopy_len)
{
	struct mb_image_opts opts = { 0 }; /* defaults: $MIGBENCH_AGENT, the usual cache */
	struct mb_image image;
	struct mb_err err = { 0 };

	/* migbench's QEMUs make their run directories here (inherited). */
	if (mbt_runtime_dir_init(template))
		return -1;
	if (!mbt_check_migbench(skip, skip_len) && mb_image_ensure(&opts, &image, &err))
		snprintf(skip, skip_len, "no guest image: %s", err.msg);
	if (postcopy_skip)
		mbt_check_postcopy(postcopy_skip, postcopy_len);
	return 0;
}

int mbt_group_teardown(pid_t pid)
{
	char why[PATH_MAX + 8192];

	mbt_leftovers(pid, NULL, NULL, why, sizeof(why));
	if (why[0])
		print_error("%s\n", why);
	rmdir(mbt_runtime_dir);
	return why[0] ? -1 : 0;
}

int mbt_campaigns_setup(void **state, size_t n)
{
	*state = calloc(n, sizeof(struct mbt_campaign));
	return *state ? 0 : -1;
}

int mbt_campaigns_teardown(void **state, size_t n, const char *prefix)
{
	struct mbt_campaign *c = *state;
	char why[PATH_MAX + 8192];

	for (size_t i = 0; i < n; i++)
		mbt_campaign_free(&c[i], prefix);
	free(c);
	mbt_leftovers(0, NULL, NULL, why, sizeof(why));
	if (why[0]) {
		print_error("after the test: %s\n", why);
		return -1;
	}
	return 0;
}

void mbt_skip_if(const char *reason)
{
	if (reason && reason[0]) {
		print_message("# SKIP: %s\n", reason);
		skip();
	}
}

/* ---- what is left behind -------------------------------------------------------- */

int mbt_our_qemus(char *why, size_t len)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int found = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[300], cmd[8192];
		ssize_t n;
		int fd, mine = 0;
		pid_t pid = (pid_t)atoi(e->d_name);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		if (n <= 0)
			continue;
		cmd[n] = '\0';
		if (!strstr(cmd, "qemu-system"))
			continue;
		for (ssize_t i = 0; i < n; i += (ssize_t)strlen(cmd + i) + 1)
			if (strstr(cmd + i, mbt_runtime_dir))
				mine = 1;
		if (!mine)
			continue;
		if (!found++)
			snprintf(why, len, "QEMU pid %d (%s) is still running", (int)pid, cmd);
		kill(pid, SIGKILL);
	}
	closedir(d);
	return found;
}

int mbt_first_entry(const char *dir, char *out, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(out, len, "%s/%s", dir, e->d_name);
			found = 1;
			break;
		}
	closedir(d);
	return found;
}

int mbt_namespace_of(pid_t pid, char *why, size_t len)
{
	DIR *d = opendir(MB_NETNS_DIR);
	struct dirent *e;
	char prefix[64];
	int found = 0;

	if (!d)
		return 0;
	snprintf(prefix, sizeof(prefix), MB_NETNS_PREFIX "%d-", (int)pid);
	while (!found && (e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			found = snprintf(why, len, "network namespace %s is left", e->d_name) > 0;
	closedir(d);
	return found;
}

static int ends_with(const char *name, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n > k && !strcmp(name + n - k, suffix);
}

int mbt_stray_file(const char *dir, const char *keep_suffix, char *why, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		char path[PATH_MAX + 256];
		struct stat st;
		size_t n = strlen(e->d_name);

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			found = mbt_stray_file(path, keep_suffix, why, len);
		else if (e->d_name[0] == '.' || !S_ISREG(st.st_mode) ||
			 !(ends_with(e->d_name, n, ".json") || (keep_suffix && ends_with(e->d_name, n, keep_suffix)) ||
			   !strcmp(e->d_name, "topology.xml"))) /* hwloc's, once per campaign (probes/topology.h) */
			found = snprintf(why, len, "%s is left in the campaign folder", path) > 0;
	}
	closedir(d);
	return found;
}

void mbt_leftovers(pid_t pid, const char *campaign_dir, const char *keep_suffix, char *why, size_t len)
{
	char entry[PATH_MAX + 256];

	why[0] = '\0';
	if (mbt_our_qemus(why, len) || (pid > 0 && mbt_namespace_of(pid, why, len)))
		return;
	if (mbt_first_entry(mbt_runtime_dir, entry, sizeof(entry))) {
		snprintf(why, len, "run directory %s is left", entry);
		return;
	}
	if (campaign_dir)
		mbt_stray_file(campaign_dir, keep_suffix, why, len);
}

/* ---- running a campaign ---------------------------------------------------------- */

void mbt_campaign_free(struct mbt_campaign *c, const char *prefix)
{
	mbt_remove_tree(c->work, prefix);
	free(c->out);
	free(c->err);
	json_decref(c->manifest);
	json_decref(c->files);
	memset(c, 0, sizeof(*c));
}

int mbt_spawn(const char *const argv[], const char *out_log, const char *err_log, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	int rc;

	assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out_log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, err_log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	rc = posix_spawn(pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

void mbt_run_campaign(struct mbt_campaign *c, const struct mbt_run *r)
{
	char out_dir[PATH_MAX + 16], ini_path[PATH_MAX + 16], out_log[PATH_MAX + 16], err_log[PATH_MAX + 16];
	char qemu_opt[PATH_MAX + 16], manifest[PATH_MAX + 100];
	const char *argv[64];
	size_t argc = 0;
	int st = 0, rc, killed = 0;
	double t0, term_at = 0;

	memset(c, 0, sizeof(*c));
	c->files = json_object();
	snprintf(c->work, sizeof(c->work), "%s", r->work_template);
	if (!mkdtemp(c->work))
		fail_msg("mkdtemp: %s", strerror(errno));
	snprintf(out_dir, sizeof(out_dir), "%s/out", c->work);
	snprintf(c->path, sizeof(c->path), "%s/%s", out_dir, r->name);
	snprintf(out_log, sizeof(out_log), "%s/stdout", c->work);
	snprintf(err_log, sizeof(err_log), "%s/stderr", c->work);

	argv[argc++] = mbt_migbench_bin;
	argv[argc++] = "run";
	argv[argc++] = "-q";
	argv[argc++] = "-o";
	argv[argc++] = out_dir;
	if (r->resume) {
		snprintf(c->path, sizeof(c->path), "%s", r->resume);
		argv[argc++] = "--resume";
		argv[argc++] = r->resume;
	} else {
		argv[argc++] = "-n";
		argv[argc++] = r->name;
	}
	if (r->qemu_opt && !r->resume && getenv("MIGBENCH_QEMU") && *getenv("MIGBENCH_QEMU")) {
		snprintf(qemu_opt, sizeof(qemu_opt), "--qemu=%s", getenv("MIGBENCH_QEMU"));
		argv[argc++] = qemu_opt;
	}
	for (size_t i = 0; r->args && r->args[i]; i++) {
		assert_true(argc < sizeof(argv) / sizeof(argv[0]) - 2);
		argv[argc++] = r->args[i];
	}
	if (r->ini) {
		FILE *f;

		snprintf(ini_path, sizeof(ini_path), "%s/campaign.ini", c->work);
		f = fopen(ini_path, "w");
		assert_non_null(f);
		fputs(r->ini, f);
		assert_int_equal(fclose(f), 0);
		argv[argc++] = ini_path;
	}
	argv[argc] = NULL;
	assert_true(argc < sizeof(argv) / sizeof(argv[0]) - 1);

	if (r->before)
		r->before(c, r->arg);
	print_message("# %s:", r->name);
	for (size_t i = 1; i < argc; i++)
		print_message(" %s", argv[i]);
	print_message("\n");

	t0 = mbt_now_s();
	rc = mbt_spawn(argv, out_log, err_log, &c->pid);
	if (rc)
		fail_msg("cannot run %s: %s", mbt_migbench_bin, strerror(rc));

	/* A hung migbench must not hang the test: SIGTERM (it cleans up),
	 * then SIGKILL; whatever QEMU it leaves is found by the leftover checks. */
	for (int acting = r->during != NULL;;) {
		pid_t w = waitpid(c->pid, &st, WNOHANG);

		if (w == c->pid)
			break;
		if (w < 0 && errno != EINTR)
			fail_msg("waitpid: %s", strerror(errno));
		if (acting && r->during(c, mbt_now_s() - t0, r->arg))
			acting = 0;
		if (!killed && mbt_now_s() - t0 > r->deadline_s) {
			kill(c->pid, SIGTERM);
			killed = 1;
			term_at = mbt_now_s();
		} else if (killed == 1 && mbt_now_s() - term_at > 30) {
			kill(c->pid, SIGKILL);
			killed = 2;
		}
		mbt_sleep_ms(50);
	}
	c->seconds = mbt_now_s() - t0;
	c->status = WIFEXITED(st) && !killed ? WEXITSTATUS(st) : -1;
	c->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	c->ran = 1;
	c->out = mbt_read_text(out_log);
	c->err = mbt_read_text(err_log);
	print_message("# %s: exit status %d after %.1f s\n", r->name, c->status, c->seconds);
	if (c->err[0])
		print_message("# %s stderr: %.600s\n", r->name, c->err);

	if (r->check_leftovers)
		mbt_leftovers(c->pid, c->path, r->keep_suffix, c->leftover, sizeof(c->leftover));

	snprintf(manifest, sizeof(manifest), "%s/campaign.json", c->path);
	c->manifest = json_load_file(manifest, 0, NULL);
	if (c->manifest) {
		size_t i;
		json_t *run;

		json_array_foreach(json_object_get(c->manifest, "runs"), i, run) {
			char path[PATH_MAX + 600], key[512];
			json_error_t jerr;
			json_t *doc;

			snprintf(path, sizeof(path), "%s/%s", c->path,
				 json_string_value(json_object_get(run, "file")));
			doc = json_load_file(path, 0, &jerr);
			if (!doc)
				fail_msg("result %s: %s", path, jerr.text);
			snprintf(key, sizeof(key), "%s/%d", json_string_value(json_object_get(run, "scenario")),
				 (int)json_integer_value(json_object_get(run, "repetition")));
			json_object_set_new(c->files, key, doc);
		}
	}
}

void mbt_assert_campaign_ok(const struct mbt_campaign *c)
{
	if (c->status != MB_EXIT_OK)
		fail_msg("migbench run exited %d: %s", c->status, c->err);
	if (c->leftover[0])
		fail_msg("left behind: %s", c->leftover);
}

size_t mbt_qemu_pids(const char *label, pid_t *out, size_t max)
{
	char prefix[128], path[PATH_MAX + 300], line[256];
	DIR *d = opendir(mbt_runtime_dir);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	snprintf(prefix, sizeof(prefix), "migbench-%s", label);
	while (n < max && (e = readdir(d))) {
		FILE *f;

		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(path, sizeof(path), "%s/%s/owner", mbt_runtime_dir, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (n < max && fgets(line, sizeof(line), f))
			if (!strncmp(line, "qemu ", 5) && atoi(line + 5) > 0)
				out[n++] = (pid_t)atoi(line + 5);
		fclose(f);
	}
	closedir(d);
	return n;
}

pid_t mbt_qemu_pid(const char *label)
{
	pid_t pid = 0;

	return mbt_qemu_pids(label, &pid, 1) ? pid : 0;
}

const json_t *mbt_result(const struct mbt_campaign *c, const char *key)
{
	const json_t *doc = json_object_get(c->files, key);

	if (!doc)
		fail_msg("no result %s in %s (migbench exited %d; stderr: %.2000s)", key, c->path, c->status, c->err);
	return doc;
}

/* ---- reading a result -------------------------------------------------------------- */

const json_t *mbt_get(const json_t *o, const char *path)
{
	char buf[256], *save, *tok;
	const json_t *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	if (!v)
		fail_msg("no %s in the result", path);
	return v;
}

double mbt_num(const json_t *o, const char *path)
{
	const json_t *v = mbt_get(o, path);

	if (!json_is_number(v))
		fail_msg("%s is not a number (%s)", path, json_is_null(v) ? "null" : "other");
	return json_number_value(v);
}

json_int_t mbt_int(const json_t *o, const char *path)
{
	const json_t *v = mbt_get(o, path);

	if (!json_is_integer(v))
		fail_msg("%s is not an integer", path);
	return json_integer_value(v);
}

const char *mbt_str(const json_t *o, const char *path)
{
	const json_t *v = mbt_get(o, path);

	if (!json_is_string(v))
		fail_msg("%s is not a string", path);
	return json_string_value(v);
}

int mbt_by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}
