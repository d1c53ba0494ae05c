/* Installed QEMU versions (see qemu_versions.h). */
#include "config.h"
#include "runners/qemu_versions.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/atomic_file.h"
#include "runners/sandbox.h"
#include "workloads/image/cache.h"
#include "workloads/image/fsutil.h"
#include "workloads/image/spawn.h"

#define MIRROR "http://deb.debian.org/debian"

/* Checked against Debian's archive in 2026-11 (issue 11's table). sid
 * moves: its version is whatever was installed, and the record says so. */
int mb_qemu_versions_dir(char *buf, size_t len, struct mb_err *err)
{
	char cache[PATH_MAX];

	if (mb_img_cache_dir(NULL, cache, sizeof(cache), err))
		return -1;
	if (snprintf(buf, len, "%s/qemu", cache) >= (int)len)
		return mb_errf(err, ENAMETOOLONG, "QEMU versions under %s", cache);
	return mb_mkdir_p(buf, err);
}


/* A name that is a folder of ours: no path tricks. */
static int check_name(const char *name, struct mb_err *err)
{
	if (!mb_qemu_is_version_name(name) || !strcmp(name, ".") || !strcmp(name, "..") || name[0] == '.')
		return mb_errf(err, EINVAL, "'%s' is not a QEMU version name", name);
	return 0;
}

/* Debian's version of a package, from the root's dpkg status file (no need
 * to run anything inside the root). */
static void package_version(const char *root, const char *package, char *buf, size_t len)
{
	char path[PATH_MAX + 32], line[512], want[128];
	bool in = false;
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/var/lib/dpkg/status", root);
	snprintf(want, sizeof(want), "Package: %s\n", package);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Package: ", 9))
			in = !strcmp(line, want);
		else if (in && !strncmp(line, "Version: ", 9)) {
			snprintf(buf, len, "%.*s", (int)strcspn(line + 9, "\n"), line + 9);
			break;
		}
	}
	fclose(f);
}

/* Runs `binary ARGS` (argv[0] absolute) inside a root, or on this host when
 * root is "", and keeps the start of its stdout and stderr. */
static int run_in_root(const char *root, const char *const argv[], char *out, size_t len,
		       struct mb_err *err)
{
	struct mb_sandbox sb;
	int pipefd[2], st;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	if (root[0] && mb_sandbox_prepare(&sb, root, NULL, err))
		return -1;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return mb_errf(err, errno, "running %s in %s: pipe", argv[0], root);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(pipefd[0]);
		close(pipefd[1]);
		return mb_errf(err, e, "running %s in %s: fork", argv[0], root);
	}
	if (pid == 0) {
		if (dup2(pipefd[1], STDOUT_FILENO) < 0 || dup2(pipefd[1], STDERR_FILENO) < 0 ||
		    (root[0] && mb_sandbox_enter(&sb) < 0))
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	while (used + 1 < len && (n = read(pipefd[0], out + used, len - 1 - used)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return mb_errf(err, 0, "%s in %s failed (%s %d): %.200s", argv[0], root[0] ? root : "this host",
			       WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
			       out);
	return 0;
}

int mb_qemu_resolve(const char *text, struct mb_qemu_ref *out, struct mb_err *err)
{
	char dir[PATH_MAX];
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (!text || !*text)
		return mb_errf(err, EINVAL, "no QEMU given");
	if (text[0] == '/') {
		snprintf(out->binary, sizeof(out->binary), "%s", text);
		if (access(text, X_OK))
			return mb_errf(err, errno, "cannot execute '%s'", text);
		return 0;
	}
	if (strchr(text, '/'))
		return mb_errf(err, EINVAL, "qemu '%s': give an absolute path or an installed version name "
			       "(a scenario file is a program: a relative path would run whatever is there)", text);
	if (check_name(text, err) || mb_qemu_versions_dir(dir, sizeof(dir), err))
		return -1;
	snprintf(out->name, sizeof(out->name), "%s", text);
	if (snprintf(out->root, sizeof(out->root), "%s/%s/root", dir, text) >= (int)sizeof(out->root))
		return mb_errf(err, ENAMETOOLONG, "QEMU version %s", text);
	snprintf(out->binary, sizeof(out->binary), "%s", MB_QEMU_ROOT_BINARY);
	if (stat(out->root, &st) || !S_ISDIR(st.st_mode)) {
		const struct mb_qemu_release *rel = mb_qemu_release_find(text);

		if (rel)
			return mb_errf(err, ENOENT, "QEMU %s is not installed: `migbench qemu install %s` "
				       "(Debian %s, about 30 s)", text, rel->name, rel->extra_suite ? rel->extra_suite : rel->suite);
		return mb_errf(err, ENOENT, "qemu '%s' is neither an absolute path nor a QEMU version "
			       "migbench knows (`migbench qemu list`)", text);
	}
	package_version(out->root, "qemu-system-x86", out->package_version, sizeof(out->package_version));
	{
		char info_path[PATH_MAX + 80];
		json_t *info;

		snprintf(info_path, sizeof(info_path), "%s/%s/info.json", dir, text);
		info = json_load_file(info_path, 0, NULL);
		snprintf(out->qemu_version, sizeof(out->qemu_version), "%s",
			 json_string_value(json_object_get(info, "qemu_version")) ?: "");
		json_decref(info);
	}
	return 0;
}

/* A root is removed file by file (never following links); never while
 * anything is mounted under it in our namespace (a QEMU of ours mounts
 * only in its own). */
static int remove_root_tree(const char *path, struct mb_err *err)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096], mnt[PATH_MAX];
	size_t len = strlen(path);

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && !strncmp(mnt, path, len) &&
		    (mnt[len] == '/' || !mnt[len])) {
			fclose(f);
			return mb_errf(err, EBUSY, "%s is mounted under %s: unmount it first", mnt, path);
		}
	}
	if (f)
		fclose(f);
	return mb_img_rm_rf(path, err);
}

static void say(void (*progress)(const char *), const char *fmt, const char *a, const char *b)
{
	char line[512];

	if (!progress)
		return;
	snprintf(line, sizeof(line), fmt, a, b);
	progress(line);
}

int mb_qemu_install(const struct mb_qemu_release *rel, bool force, void (*progress)(const char *line),
		    struct mb_err *err)
{
	char dir[PATH_MAX], final[PATH_MAX + 64], partial[PATH_MAX + 64], root[PATH_MAX + 80];
	char src1[256], src2[256], release_opt[128], version[512], pkg[96], info_path[PATH_MAX + 96];
	const char *argv[16];
	size_t n = 0;
	struct mb_img_spawn_result res;
	struct stat st;
	json_t *info;
	int rc;

	if (geteuid() != 0)
		return mb_errf(err, EPERM, "installing QEMU %s needs root (mmdebstrap, chroot)", rel->name);
	if (mb_qemu_versions_dir(dir, sizeof(dir), err))
		return -1;
	snprintf(final, sizeof(final), "%s/%s", dir, rel->name);
	snprintf(partial, sizeof(partial), "%s/.%s.partial", dir, rel->name);
	snprintf(root, sizeof(root), "%s/root", partial);
	if (stat(final, &st) == 0) {
		if (!force) {
			say(progress, "QEMU %s is installed already (%s); --force reinstalls it", rel->name, final);
			return 0;
		}
		if (remove_root_tree(final, err))
			return mb_err_prefix(err, "reinstalling QEMU %s", rel->name);
	}
	/* What an earlier, interrupted install left. */
	if (remove_root_tree(partial, err) || mb_mkdir_p(partial, err))
		return mb_err_prefix(err, "installing QEMU %s", rel->name);

	snprintf(src1, sizeof(src1), "deb " MIRROR " %s main", rel->suite);
	argv[n++] = "mmdebstrap";
	argv[n++] = "--quiet";
	argv[n++] = "--variant=apt";
	argv[n++] = "--aptopt=APT::Install-Recommends \"false\"";
	argv[n++] = "--include=qemu-system-x86";
	/* Signatures are still checked; only the freshness date is not: a
	 * mirror that is a snapshot (as on this project's machines) serves
	 * sid's and trixie's Release files past their Valid-Until. */
	argv[n++] = "--aptopt=Acquire::Check-Valid-Until \"false\"";
	if (rel->extra_suite) {
		/* apt's -t: QEMU (and what it needs) from the extra suite. */
		snprintf(release_opt, sizeof(release_opt), "--aptopt=APT::Default-Release \"%s\"", rel->extra_suite);
		argv[n++] = release_opt;
	}
	argv[n++] = rel->suite;
	argv[n++] = root;
	argv[n++] = src1;
	if (rel->extra_suite) {
		snprintf(src2, sizeof(src2), "deb " MIRROR " %s main", rel->extra_suite);
		argv[n++] = src2;
	}
	argv[n] = NULL;
	say(progress, "installing QEMU %s from Debian %s (mmdebstrap)", rel->name,
	    rel->extra_suite ? rel->extra_suite : rel->suite);
	rc = mb_img_spawn(argv, NULL, &res, err);
	if (rc || res.status) {
		struct mb_err ignored;

		if (!rc)
			mb_errf(err, 0, "mmdebstrap %s failed (exit %d): %s", rel->suite, res.status,
				mb_img_spawn_last_line(&res));
		else if (err->errnum == ENOENT)
			mb_errf(err, ENOENT, "mmdebstrap not found (install it: apt-get install mmdebstrap)");
		remove_root_tree(partial, &ignored);
		return mb_err_prefix(err, "installing QEMU %s", rel->name);
	}
	{
		const char *check[] = { MB_QEMU_ROOT_BINARY, "-version", NULL };

		if (run_in_root(root, check, version, sizeof(version), err)) {
			struct mb_err ignored;

			remove_root_tree(partial, &ignored);
			return mb_err_prefix(err, "installed QEMU %s does not run", rel->name);
		}
	}
	version[strcspn(version, "\n")] = '\0';
	package_version(root, "qemu-system-x86", pkg, sizeof(pkg));
	info = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "name", rel->name,
			 "suite", rel->extra_suite ? rel->extra_suite : rel->suite, "bootstrap_suite", rel->suite,
			 "qemu_version", version, "package_version", pkg,
			 "installed_at", (json_int_t)time(NULL));
	snprintf(info_path, sizeof(info_path), "%s/info.json", partial);
	rc = !info || mb_write_json_atomic(info_path, info, 0, err);
	json_decref(info);
	if (rc || rename(partial, final)) {
		struct mb_err ignored;

		if (!rc)
			mb_errf(err, errno, "installing QEMU %s: rename %s -> %s", rel->name, partial, final);
		remove_root_tree(partial, &ignored);
		return -1;
	}
	say(progress, "QEMU %s: %s", rel->name, version);
	return 0;
}

int mb_qemu_remove(const char *name, struct mb_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	struct stat st;

	if (check_name(name, err) || mb_qemu_versions_dir(dir, sizeof(dir), err))
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st))
		return mb_errf(err, ENOENT, "QEMU %s is not installed (`migbench qemu list`)", name);
	return remove_root_tree(path, err) ? mb_err_prefix(err, "removing QEMU %s", name) : 0;
}

json_t *mb_qemu_list(struct mb_err *err)
{
	char dir[PATH_MAX];
	json_t *list = json_array();
	DIR *d;
	struct dirent *e;

	if (!list || mb_qemu_versions_dir(dir, sizeof(dir), err)) {
		json_decref(list);
		return NULL;
	}
	for (const struct mb_qemu_release *r = mb_qemu_releases; r->name; r++)
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:b}", "name", r->name,
						      "suite", r->extra_suite ? r->extra_suite : r->suite,
						      "note", r->note, "installed", 0));
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		char path[PATH_MAX + 300];
		json_t *info, *row = NULL, *v;
		size_t i;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/info.json", dir, e->d_name);
		info = json_load_file(path, 0, NULL);
		if (!info)
			continue;
		json_array_foreach(list, i, v)
			if (!strcmp(json_string_value(json_object_get(v, "name")), e->d_name))
				row = v;
		if (!row) {
			row = json_pack("{s:s}", "name", e->d_name);
			json_array_append_new(list, row);
		}
		json_object_update(row, info);
		json_object_set_new(row, "installed", json_true());
		snprintf(path, sizeof(path), "%s/%s/root", dir, e->d_name);
		json_object_set_new(row, "root", json_string(path));
		json_decref(info);
	}
	if (d)
		closedir(d);
	return list;
}

/* The versioned i440FX machine types a QEMU offers, as "major.minor"
 * numbers in `versions` (up to max); returns how many. */
static int i440fx_versions(const struct mb_qemu_ref *ref, unsigned versions[][2], int max,
			   struct mb_err *err)
{
	const char *argv[] = { ref->binary, "-machine", "help", NULL };
	char *out = malloc(65536), *line, *save = NULL;
	int n = 0;

	if (!out)
		return mb_errf(err, ENOMEM, "machine types of %s", ref->binary);
	if (run_in_root(ref->root, argv, out, 65536, err)) {
		free(out);
		return -1;
	}
	for (line = strtok_r(out, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save)) {
		unsigned maj, min;
		char end;

		if (sscanf(line, "pc-i440fx-%u.%u%c", &maj, &min, &end) == 3 && (end == ' ' || end == '\t')) {
			versions[n][0] = maj;
			versions[n][1] = min;
			n++;
		}
	}
	free(out);
	return n;
}

int mb_qemu_common_machine(const struct mb_qemu_ref *a, const struct mb_qemu_ref *b, char *out,
			   size_t len, struct mb_err *err)
{
	unsigned va[256][2], vb[256][2], best[2] = { 0, 0 };
	int na = i440fx_versions(a, va, 256, err), nb;
	bool found = false;

	if (na < 0)
		return -1;
	nb = i440fx_versions(b, vb, 256, err);
	if (nb < 0)
		return -1;
	for (int i = 0; i < na; i++)
		for (int j = 0; j < nb; j++)
			if (va[i][0] == vb[j][0] && va[i][1] == vb[j][1] &&
			    (!found || va[i][0] > best[0] || (va[i][0] == best[0] && va[i][1] > best[1]))) {
				best[0] = va[i][0];
				best[1] = va[i][1];
				found = true;
			}
	if (!found)
		return mb_errf(err, ENOENT, "%s and %s offer no pc-i440fx machine type in common: set machine=",
			       a->name[0] ? a->name : a->binary, b->name[0] ? b->name : b->binary);
	snprintf(out, len, "pc-i440fx-%u.%u", best[0], best[1]);
	return 0;
}
