#include "config.h"
#include "workloads/image/image.h"
#include "workloads/image/cache.h"
#include "workloads/image/cpio.h"
#include "workloads/image/elf.h"
#include "workloads/image/fsutil.h"
#include "workloads/image/kernel.h"
#include "workloads/image/modules.h"
#include "workloads/image/progress.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bump when the image layout changes: every cached image is then rebuilt. */
#define MB_IMAGE_FORMAT "migbench-image/1"

/* The agent reads this list (load order, one absolute path a line). */
#define MB_IMAGE_MODULE_LIST "/etc/migbench/modules"

const char *const mb_image_wanted_modules[] = { "virtio_pci", "virtio_console", "virtio_net" };
const size_t mb_image_nwanted_modules = sizeof(mb_image_wanted_modules) / sizeof(*mb_image_wanted_modules);

#ifndef MB_PKGLIBEXECDIR
#define MB_PKGLIBEXECDIR "/usr/local/libexec/migbench"
#endif

static int build_tree_agent(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	if (snprintf(buf, len, "%s/workloads/migbench-agent", exe) >= (int)len)
		return -1;
	return access(buf, X_OK);
}

static int find_agent(const struct mb_image_opts *opts, struct mb_image *img, struct mb_err *err)
{
	const char *agent = opts->agent, *what = "--agent";
	char beside[PATH_MAX];
	char *abs;
	int dynamic;
	struct mb_err ignored;

	if (!agent) {
		agent = getenv("MIGBENCH_AGENT");
		what = "agent ($MIGBENCH_AGENT)";
	}
	if (!agent || !*agent) {
		agent = MB_PKGLIBEXECDIR "/migbench-agent";
		what = "agent";
		/* Run from the build tree: the agent is built beside migbench. */
		if (build_tree_agent(beside, sizeof(beside)) == 0)
			agent = beside;
	}
	if (mb_img_check_readable(agent, what, err) < 0) {
		char why[MB_ERR_MAX];
		int errnum = err->errnum;

		snprintf(why, sizeof(why), "%s", err->msg);
		mb_errf(err, 0, "the guest's /init: %s (build migbench-agent with `make`, or pass "
			"--agent FILE, or set MIGBENCH_AGENT)", why);
		err->errnum = errnum;
		return -1;
	}
	abs = realpath(agent, NULL);
	if (!abs)
		return mb_errf(err, errno, "%s %s", what, agent);
	snprintf(img->agent, sizeof(img->agent), "%s", abs);
	free(abs);
	/* Only a warning: tests use stand-ins that never boot. */
	if (mb_img_elf_needs_interp(img->agent, &dynamic, &ignored) == 0 && dynamic)
		mb_img_progress(opts->verbose, "warning: %s is dynamically linked; the guest has no "
				"shared libraries, so it cannot run as /init", img->agent);
	return 0;
}

static void join_names(char *buf, size_t size, char *const *items, size_t n, int names)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++) {
		char name[64];
		if (names)
			mb_module_name(items[i], name, sizeof(name));
		else
			snprintf(name, sizeof(name), "%s", items[i]);
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? " " : "", name);
	}
}

/* Everything that goes into the image, hashed in a fixed order; each string
 * carries its NUL and each file its length, so fields cannot run together. */
static int hash_inputs(const struct mb_img_kernel *k, const struct mb_modules *mods,
		       const struct mb_image *img, char *id, size_t size, struct mb_err *err)
{
	struct mb_img_hash h;
	char path[PATH_MAX];

	mb_img_hash_init(&h);
	mb_img_hash_str(&h, MB_IMAGE_FORMAT);
	for (size_t i = 0; i < mb_image_nwanted_modules; i++)
		mb_img_hash_str(&h, mb_image_wanted_modules[i]);
	mb_img_hash_str(&h, "agent");
	if (mb_img_hash_file(&h, img->agent, err) < 0)
		return -1;
	mb_img_hash_str(&h, "kernel");
	mb_img_hash_str(&h, k->version);
	if (mb_img_hash_file(&h, k->vmlinuz, err) < 0)
		return -1;
	for (size_t i = 0; i < mods->n; i++) {
		mb_img_hash_str(&h, "module");
		mb_img_hash_str(&h, mods->paths[i]);
		if (mb_img_path_join(path, sizeof(path), err, "%s/%s", k->modules_dir, mods->paths[i]) < 0 ||
		    mb_img_hash_file(&h, path, err) < 0)
			return -1;
	}
	mb_img_hash_hex(&h, id, size);
	return 0;
}

/* The initramfs: the agent as /init, the modules under /lib/modules/<ver>,
 * their load order in /etc/migbench/modules, and /dev/console so the
 * kernel can give /init a console before anything mounts devtmpfs. */
static int write_initramfs(const struct mb_img_kernel *k, const struct mb_modules *mods,
			   const char *agent, const char *out, uint64_t *size, struct mb_err *err)
{
	static const char *const dirs[] = { "/", "/dev", "/proc", "/sys", "/etc", "/etc/migbench", "/lib" };
	struct mb_cpio c;
	char *list = NULL, src[PATH_MAX], dst[PATH_MAX];
	size_t list_len = 0;
	FILE *lf = NULL;
	int ret = -1;

	mb_cpio_init(&c);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++)
		if (mb_cpio_add_dir(&c, dirs[i], 0755, err) < 0)
			goto done;
	if (mb_cpio_add_chardev(&c, "/dev/console", 0600, 5, 1, err) < 0 ||
	    mb_cpio_add_file(&c, "/init", 0755, agent, err) < 0)
		goto done;
	if (k->modules_dir[0]) {
		if (mb_img_path_join(dst, sizeof(dst), err, "/lib/modules/%s", k->version) < 0 ||
		    mb_cpio_add_dir(&c, dst, 0755, err) < 0)
			goto done;
	}
	lf = open_memstream(&list, &list_len);
	if (!lf) {
		mb_errf(err, errno, "module list");
		goto done;
	}
	for (size_t i = 0; i < mods->n; i++) {
		if (mb_img_path_join(src, sizeof(src), err, "%s/%s", k->modules_dir, mods->paths[i]) < 0 ||
		    mb_img_path_join(dst, sizeof(dst), err, "/lib/modules/%s/%s", k->version, mods->paths[i]) < 0 ||
		    mb_cpio_add_file(&c, dst, 0644, src, err) < 0)
			goto done;
		fprintf(lf, "%s\n", dst);
	}
	if (fclose(lf) != 0) {
		lf = NULL;
		mb_errf(err, errno, "module list");
		goto done;
	}
	lf = NULL;
	if (mb_cpio_add_data(&c, MB_IMAGE_MODULE_LIST, 0644, list, list_len, err) < 0 ||
	    mb_cpio_write_file(&c, out, size, err) < 0)
		goto done;
	ret = 0;
done:
	if (lf)
		fclose(lf);
	free(list);
	mb_cpio_free(&c);
	return ret;
}

/* A plain-text note of the inputs beside the image, for people looking
 * into the cache. */
static int write_manifest(const char *dir, const struct mb_img_kernel *k, const struct mb_image *img,
			  struct mb_err *err)
{
	char path[PATH_MAX], text[8192];
	int n = snprintf(text, sizeof(text),
			 "format: %s\nid: %s\nagent: %s\nkernel: %s\nkernel_source: %s\n"
			 "kernel_version: %s\nmodules_dir: %s\nmodules: %s\nmodules_builtin: %s\n",
			 MB_IMAGE_FORMAT, img->id, img->agent, k->vmlinuz, k->source, k->version,
			 k->modules_dir, img->modules, img->modules_builtin);

	if (n < 0 || (size_t)n >= sizeof(text))
		return mb_errf(err, ENAMETOOLONG, "manifest of image %s", img->id);
	if (mb_img_path_join(path, sizeof(path), err, "%s/manifest.txt", dir) < 0)
		return -1;
	return mb_write_text_atomic(path, text, (size_t)n, 0, err);
}

/* The kernel goes into the image directory so the image stays whole even
 * when the original goes away. Kernels in our cache are never rewritten in
 * place, so a hard link is safe and saves the space; anything else is copied,
 * since a kernel rebuilt in place would silently change an existing image. */
static int place_kernel(const char *cache, const struct mb_img_kernel *k, const char *dst,
			struct mb_err *err)
{
	char prefix[PATH_MAX];

	if (mb_img_path_join(prefix, sizeof(prefix), err, "%s/kernels/", cache) < 0)
		return -1;
	if (!strncmp(k->vmlinuz, prefix, strlen(prefix)) && link(k->vmlinuz, dst) == 0)
		return 0;
	return mb_img_copy_file(k->vmlinuz, dst, err);
}

static int image_complete(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/initramfs.cpio", dir);
	if (!mb_img_is_readable_file(path))
		return 0;
	snprintf(path, sizeof(path), "%s/vmlinuz", dir);
	return mb_img_is_readable_file(path);
}

/* Builds in a fresh directory and renames it to final: readers see a whole
 * image or none, and two builders racing both end with the same bytes. */
static int build(const char *cache, const char *final, const struct mb_img_kernel *k,
		 const struct mb_modules *mods, struct mb_image *img, struct mb_err *err)
{
	char work[PATH_MAX], path[PATH_MAX];
	struct mb_err cleanup;
	uint64_t size;

	if (mb_img_path_join(work, sizeof(work), err, "%s/images/.build-XXXXXX", cache) < 0)
		return -1;
	if (!mkdtemp(work))
		return mb_errf(err, errno, "cannot create a directory like %s", work);
	/* QEMU may run as another user (libvirt): the image is not a secret. */
	if (chmod(work, 0755) < 0) {
		mb_errf(err, errno, "cannot chmod %s", work);
		goto fail;
	}
	if (mb_img_path_join(path, sizeof(path), err, "%s/vmlinuz", work) < 0 ||
	    place_kernel(cache, k, path, err) < 0)
		goto fail;
	if (mb_img_path_join(path, sizeof(path), err, "%s/initramfs.cpio", work) < 0 ||
	    write_initramfs(k, mods, img->agent, path, &size, err) < 0 ||
	    write_manifest(work, k, img, err) < 0)
		goto fail;
	/* A directory left half-deleted by hand would block the rename. */
	if (mb_img_is_dir(final) && !image_complete(final) && mb_img_rm_rf(final, err) < 0)
		goto fail;
	if (rename(work, final) < 0) {
		if (errno != EEXIST && errno != ENOTEMPTY) {
			mb_errf(err, errno, "cannot rename %s to %s", work, final);
			goto fail;
		}
		/* Someone built the same image meanwhile: theirs is as good. */
		mb_img_rm_rf(work, &cleanup);
		img->rebuilt = 0;
		return 0;
	}
	img->rebuilt = 1;
	return 0;
fail:
	mb_img_rm_rf(work, &cleanup);
	return -1;
}

int mb_image_ensure(const struct mb_image_opts *opts, struct mb_image *img, struct mb_err *err)
{
	struct mb_img_kernel k;
	struct mb_modules mods = { 0 };
	char cache[PATH_MAX], final[PATH_MAX];
	struct stat st;
	int ret = -1;

	*img = (struct mb_image){ 0 };
	if (mb_img_cache_dir(opts->cache_dir, cache, sizeof(cache), err) < 0 ||
	    find_agent(opts, img, err) < 0)
		return mb_err_prefix(err, "guest image");
	if (mb_img_kernel_find(opts, cache, &k, err) < 0)
		return err->errnum == ENOPKG ? -1 : mb_err_prefix(err, "guest image");
	if (k.modules_dir[0]) {
		if (mb_modules_resolve(k.modules_dir, mb_image_wanted_modules,
				       mb_image_nwanted_modules, &mods, err) < 0)
			return mb_err_prefix(err, "guest image: modules for kernel %s", k.version);
	} else {
		mb_img_progress(opts->verbose, "warning: no modules directory for kernel %s; "
				"assuming virtio is built in (pass --modules DIR otherwise)",
				k.version[0] ? k.version : k.vmlinuz);
	}
	snprintf(img->kernel_version, sizeof(img->kernel_version), "%s", k.version);
	snprintf(img->kernel_source, sizeof(img->kernel_source), "%s", k.source);
	snprintf(img->modules_dir, sizeof(img->modules_dir), "%s", k.modules_dir);
	join_names(img->modules, sizeof(img->modules), mods.paths, mods.n, 1);
	join_names(img->modules_builtin, sizeof(img->modules_builtin), mods.builtin, mods.nbuiltin, 0);

	if (hash_inputs(&k, &mods, img, img->id, sizeof(img->id), err) < 0) {
		mb_err_prefix(err, "guest image: hashing the inputs");
		goto done;
	}
	if (mb_img_path_join(final, sizeof(final), err, "%s/images/%s", cache, img->id) < 0 ||
	    mb_img_path_join(img->kernel, sizeof(img->kernel), err, "%s/vmlinuz", final) < 0 ||
	    mb_img_path_join(img->initrd, sizeof(img->initrd), err, "%s/initramfs.cpio", final) < 0)
		goto done;
	if (!image_complete(final)) {
		char images[PATH_MAX];
		double t0 = mb_img_now();

		mb_img_progress(opts->verbose, "building image %s (kernel %s, %zu modules)",
				img->id, k.version, mods.n);
		if (mb_img_path_join(images, sizeof(images), err, "%s/images", cache) < 0 ||
		    mb_mkdir_p(images, err) < 0 ||
		    build(cache, final, &k, &mods, img, err) < 0) {
			mb_err_prefix(err, "guest image %s", img->id);
			goto done;
		}
		mb_img_progress(opts->verbose, "built in %.0f ms", (mb_img_now() - t0) * 1e3);
	}
	if (stat(img->initrd, &st) < 0) {
		mb_errf(err, errno, "guest image: %s", img->initrd);
		goto done;
	}
	img->initrd_size = (long long)st.st_size;
	ret = 0;
done:
	mb_modules_free(&mods);
	return ret;
}
