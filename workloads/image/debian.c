#include "config.h"
#include "workloads/image/debian.h"
#include "workloads/image/depmod.h"
#include "workloads/image/fsutil.h"
#include "workloads/image/progress.h"
#include "workloads/image/spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* An unpacked tree keeps the kernel as boot/vmlinuz-<release> and its modules
 * in lib/modules/<release> (usr/lib/modules once /usr is merged). */
static int fill_from_tree(const char *tree, const char *package, const char *version,
			  struct mb_img_kernel *k, struct mb_err *err)
{
	char boot[PATH_MAX];
	struct dirent *e;
	DIR *d;

	*k = (struct mb_img_kernel){ 0 };
	if (mb_img_path_join(boot, sizeof(boot), err, "%s/boot", tree) < 0)
		return -1;
	d = opendir(boot);
	if (!d)
		return mb_errf(err, errno, "%s", boot);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vmlinuz-", 8) &&
		    strlen(e->d_name + 8) < sizeof(k->version))
			snprintf(k->version, sizeof(k->version), "%s", e->d_name + 8);
	closedir(d);
	if (!k->version[0])
		return mb_errf(err, 0, "%s has no vmlinuz-*", boot);
	if (mb_img_path_join(k->vmlinuz, sizeof(k->vmlinuz), err, "%s/vmlinuz-%s", boot, k->version) < 0)
		return -1;
	const char *const fmts[] = { "%s/lib/modules/%s", "%s/usr/lib/modules/%s" };
	for (size_t i = 0; i < 2 && !k->modules_dir[0]; i++) {
		char cand[PATH_MAX];
		if (mb_img_path_join(cand, sizeof(cand), err, fmts[i], tree, k->version) < 0)
			return -1;
		if (mb_img_is_dir(cand))
			snprintf(k->modules_dir, sizeof(k->modules_dir), "%s", cand);
	}
	if (!k->modules_dir[0])
		return mb_errf(err, 0, "%s has no lib/modules/%s", tree, k->version);
	snprintf(k->source, sizeof(k->source), "debian package %s %s", package, version);
	return 0;
}

/* The newest complete kernel in kernels_dir: trees named PACKAGE_VERSION
 * (renamed into place only once complete). Returns 1 when found, 0 when none. */
static int find_unpacked(const char *kernels_dir, struct mb_img_kernel *k, struct mb_err *err)
{
	char best[NAME_MAX + 1] = "", tree[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(kernels_dir);

	if (!d)
		return mb_errf(err, errno, "cannot open %s", kernels_dir);
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "linux-image-", 12) || !strchr(e->d_name, '_'))
			continue;
		if (!best[0] || strverscmp(e->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", e->d_name);
	}
	closedir(d);
	if (!best[0])
		return 0;
	/* Package names cannot contain '_': the first one ends the name. */
	char *version = strchr(best, '_');
	*version++ = '\0';
	if (mb_img_path_join(tree, sizeof(tree), err, "%s/%s_%s", kernels_dir, best, version) < 0 ||
	    fill_from_tree(tree, best, version, k, err) < 0)
		return mb_err_prefix(err, "kernel unpacked in the cache (delete it to fetch again)");
	return 1;
}

/* `apt-get download SPEC` into dir. */
static int apt_download(const char *dir, const char *spec, struct mb_err *err)
{
	const char *const argv[] = { "apt-get", "download", "-q", spec, NULL };
	struct mb_img_spawn_result res;

	if (mb_img_spawn(argv, dir, &res, err) < 0) {
		if (err->errnum == ENOENT)
			return mb_errf(err, 0, "apt-get is not installed, so Debian's kernel cannot be "
				       "downloaded on this host");
		return -1;
	}
	if (res.status != 0)
		return mb_errf(err, 0, "`apt-get download %s` failed (exit %d: %s); check that this "
			       "host reaches the Debian archive and run `apt-get update` as root",
			       spec, res.status, mb_img_spawn_last_line(&res));
	return 0;
}

/* The .deb of package in dir (apt-get names it PACKAGE_VERSION_ARCH.deb). */
static int find_deb(const char *dir, const char *package, char *path, size_t size,
		    struct mb_err *err)
{
	size_t len = strlen(package);
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return mb_errf(err, errno, "cannot open %s", dir);
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (!strncmp(e->d_name, package, len) && e->d_name[len] == '_' &&
		    n > 4 && !strcmp(e->d_name + n - 4, ".deb")) {
			int ret = mb_img_path_join(path, size, err, "%s/%s", dir, e->d_name);
			closedir(d);   /* e points into d */
			return ret;
		}
	}
	closedir(d);
	return mb_errf(err, 0, "apt-get reported success but left no %s_*.deb in %s", package, dir);
}

/* `dpkg-deb -f DEB FIELD`, trimmed. */
static int deb_field(const char *deb, const char *field, char *buf, size_t size,
		     struct mb_err *err)
{
	const char *const argv[] = { "dpkg-deb", "-f", deb, field, NULL };
	struct mb_img_spawn_result res;

	if (mb_img_spawn(argv, NULL, &res, err) < 0)
		return err->errnum == ENOENT ?
			mb_errf(err, 0, "dpkg-deb is not installed: cannot read %s", deb) : -1;
	if (res.status != 0)
		return mb_errf(err, 0, "`dpkg-deb -f %s %s` failed (exit %d: %s)", deb, field,
			       res.status, mb_img_spawn_last_line(&res));
	res.out[strcspn(res.out, "\n")] = '\0';
	return mb_img_path_join(buf, size, err, "%s", res.out);
}

/* "linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2), foo | bar" -> the first
 * linux-image-* package and the version it is pinned to ("" when none). */
static int real_package(const char *depends, char *name, size_t nsize, char *version,
			size_t vsize, struct mb_err *err)
{
	const char *p = strstr(depends, "linux-image-");

	if (!p)
		return mb_errf(err, 0, "%s depends on no linux-image-* package (Depends: %s)",
			       MB_IMG_DEBIAN_META, depends);
	size_t len = strcspn(p, " (,|");
	if (len >= nsize)
		return mb_errf(err, ENAMETOOLONG, "package name in Depends: %s", depends);
	memcpy(name, p, len);
	name[len] = '\0';
	version[0] = '\0';
	const char *eq = p + len + strspn(p + len, " ");
	if (!strncmp(eq, "(=", 2)) {
		eq += 2 + strspn(eq + 2, " ");
		len = strcspn(eq, " )");
		if (len < vsize) {
			memcpy(version, eq, len);
			version[len] = '\0';
		}
	}
	return 0;
}

/* Downloads and unpacks into work (a fresh directory), then renames the
 * tree into kernels_dir. */
static int fetch(const char *kernels_dir, const char *work, int verbose,
		 struct mb_img_kernel *k, struct mb_err *err)
{
	char deb[PATH_MAX], depends[1024], package[256], pinned[128], version[128], spec[400];
	char root[PATH_MAX], final[PATH_MAX];
	struct mb_img_spawn_result res;
	double t0 = mb_img_now();

	mb_img_progress(verbose, "downloading %s (apt-get download) to learn the current kernel",
			MB_IMG_DEBIAN_META);
	if (apt_download(work, MB_IMG_DEBIAN_META, err) < 0 ||
	    find_deb(work, MB_IMG_DEBIAN_META, deb, sizeof(deb), err) < 0 ||
	    deb_field(deb, "Depends", depends, sizeof(depends), err) < 0 ||
	    real_package(depends, package, sizeof(package), pinned, sizeof(pinned), err) < 0)
		return -1;
	if (pinned[0])
		snprintf(spec, sizeof(spec), "%s=%s", package, pinned);
	else
		snprintf(spec, sizeof(spec), "%s", package);
	mb_img_progress(verbose, "downloading %s", spec);
	if (apt_download(work, spec, err) < 0 ||
	    find_deb(work, package, deb, sizeof(deb), err) < 0 ||
	    deb_field(deb, "Version", version, sizeof(version), err) < 0)
		return -1;
	double t1 = mb_img_now();
	mb_img_progress(verbose, "downloaded in %.1f s; unpacking %s", t1 - t0, deb);

	if (mb_img_path_join(root, sizeof(root), err, "%s/root", work) < 0)
		return -1;
	const char *const argv[] = { "dpkg-deb", "-x", deb, root, NULL };
	if (mb_img_spawn(argv, NULL, &res, err) < 0)
		return err->errnum == ENOENT ?
			mb_errf(err, 0, "dpkg-deb is not installed: cannot unpack %s", deb) : -1;
	if (res.status != 0)
		return mb_errf(err, 0, "`dpkg-deb -x %s %s` failed (exit %d: %s)", deb, root,
			       res.status, mb_img_spawn_last_line(&res));
	if (fill_from_tree(root, package, version, k, err) < 0)
		return mb_err_prefix(err, "unpacked %s", deb);

	/* depmod runs when a kernel package is installed, so an unpacked one
	 * has no modules.dep: write it ourselves from the modules' .modinfo. */
	char dep[PATH_MAX];
	if (mb_img_path_join(dep, sizeof(dep), err, "%s/modules.dep", k->modules_dir) < 0)
		return -1;
	if (!mb_img_is_readable_file(dep)) {
		mb_img_progress(verbose, "writing modules.dep for %s", k->version);
		if (mb_img_depmod_write(k->modules_dir, err) < 0)
			return -1;
	}
	if (mb_img_path_join(final, sizeof(final), err, "%s/%s_%s", kernels_dir, package, version) < 0)
		return -1;
	if (rename(root, final) < 0)
		return mb_errf(err, errno, "cannot rename %s to %s", root, final);
	mb_img_progress(verbose, "unpacked in %.1f s into %s", mb_img_now() - t1, final);
	return fill_from_tree(final, package, version, k, err);
}

int mb_img_debian_kernel(const char *kernels_dir, int verbose, struct mb_img_kernel *k,
			 struct mb_err *err)
{
	char lock_path[PATH_MAX], work[PATH_MAX];
	struct mb_err cleanup_err;
	int found, lock, ret;

	if (mb_mkdir_p(kernels_dir, err) < 0)
		return -1;
	found = find_unpacked(kernels_dir, k, err);
	if (found)
		return found < 0 ? -1 : 0;

	/* One fetch at a time: a second migbench waits, then finds the tree. */
	if (mb_img_path_join(lock_path, sizeof(lock_path), err, "%s/.lock", kernels_dir) < 0)
		return -1;
	lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock < 0)
		return mb_errf(err, errno, "cannot open %s", lock_path);
	while (flock(lock, LOCK_EX) < 0) {
		if (errno != EINTR) {
			mb_errf(err, errno, "cannot lock %s", lock_path);
			close(lock);
			return -1;
		}
	}
	found = find_unpacked(kernels_dir, k, err);
	if (found) {
		close(lock);
		return found < 0 ? -1 : 0;
	}
	if (mb_img_path_join(work, sizeof(work), err, "%s/.fetch-XXXXXX", kernels_dir) < 0) {
		close(lock);
		return -1;
	}
	if (!mkdtemp(work)) {
		mb_errf(err, errno, "cannot create a directory like %s", work);
		close(lock);
		return -1;
	}
	ret = fetch(kernels_dir, work, verbose, k, err);
	if (mb_img_rm_rf(work, &cleanup_err) < 0 && ret == 0)
		mb_img_progress(verbose, "warning: %s", cleanup_err.msg);
	close(lock);
	return ret;
}
