/* mb_image_ensure on a fake kernel, agent and module tree in a temporary
 * directory: what goes into the initramfs, the cache (a second call builds
 * nothing; one changed byte of any input builds anew), and the errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "tests/unit/cpio-parse.h"
#include "workloads/image/fsutil.h"
#include "workloads/image/image.h"
#include "workloads/image/kernel.h"

#define VERSION "6.1.0-fake"

/* The fixture tree's files, copied so the tests can change them. */
static const char *const tree_files[] = {
	"modules.dep",
	"modules.builtin",
	"kernel/drivers/virtio/virtio.ko",
	"kernel/drivers/virtio/virtio_ring.ko",
	"kernel/drivers/virtio/virtio_pci_modern_dev.ko",
	"kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
	"kernel/drivers/virtio/virtio_pci.ko",
	"kernel/net/core/failover.ko.zst",
	"kernel/drivers/net/net_failover.ko.xz",
	"kernel/drivers/net/virtio_net.ko",
	"kernel/drivers/block/loop.ko",
};

struct fixture {
	char dir[PATH_MAX];
	char kernel[PATH_MAX];
	char agent[PATH_MAX];
	char modules[PATH_MAX];
	char cache[PATH_MAX];
	struct mb_image_opts opts;
};

/* Plain writes: the library's own helpers fsync, which the tests need not. */
static void put(const char *path, const char *text)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static int copy(const char *src, const char *dst)
{
	char buf[4096];
	FILE *in = fopen(src, "rb"), *out = in ? fopen(dst, "wb") : NULL;
	size_t n;

	if (!out) {
		fprintf(stderr, "setup: cannot copy %s to %s\n", src, dst);
		if (in)
			fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	return fclose(out);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR"), *fx = getenv("MIGBENCH_FIXTURES");
	struct mb_err err = { 0 };
	char src[PATH_MAX], dst[PATH_MAX], parent[PATH_MAX];

	snprintf(f->dir, sizeof(f->dir), "%s/test-image-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->kernel, sizeof(f->kernel), "%s/boot/vmlinuz-" VERSION, f->dir);
	snprintf(f->agent, sizeof(f->agent), "%s/migbench-agent", f->dir);
	snprintf(f->modules, sizeof(f->modules), "%s/lib/modules/" VERSION, f->dir);
	snprintf(f->cache, sizeof(f->cache), "%s/cache", f->dir);
	snprintf(parent, sizeof(parent), "%s/boot", f->dir);
	if (mb_mkdir_p(parent, &err) < 0)
		return -1;
	put(f->kernel, "not really a bzImage\n");
	put(f->agent, "not really an agent\n");
	for (size_t i = 0; i < sizeof(tree_files) / sizeof(*tree_files); i++) {
		snprintf(src, sizeof(src), "%s/image/lib/modules/" VERSION "/%s",
			 fx && *fx ? fx : "tests/fixtures", tree_files[i]);
		snprintf(dst, sizeof(dst), "%s/%s", f->modules, tree_files[i]);
		snprintf(parent, sizeof(parent), "%s", dst);
		*strrchr(parent, '/') = '\0';
		if (mb_mkdir_p(parent, &err) < 0 || copy(src, dst) < 0)
			return -1;
	}
	f->opts = (struct mb_image_opts){
		.kernel = f->kernel,
		.modules_dir = f->modules,
		.agent = f->agent,
		.cache_dir = f->cache,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct mb_err err;

	mb_img_rm_rf(f->dir, &err);
	free(f);
	return 0;
}

static void ensure_ok(struct fixture *f, struct mb_image *img)
{
	struct mb_err err = { 0 };

	if (mb_image_ensure(&f->opts, img, &err) < 0)
		fail_msg("mb_image_ensure: %s", err.msg);
}

/* Flips one byte of a file in place. */
static void flip_byte(const char *path, long off)
{
	FILE *fp = fopen(path, "r+b");
	int c;

	assert_non_null(fp);
	fseek(fp, off, SEEK_SET);
	c = fgetc(fp);
	fseek(fp, off, SEEK_SET);
	fputc(c ^ 0x20, fp);
	fclose(fp);
}

static void builds_the_initramfs(void **state)
{
	struct fixture *f = *state;
	static struct mb_image img;
	struct cpio_parsed p;
	const struct cpio_parsed_entry *e;
	size_t len;
	unsigned char *buf;
	char *kernel;
	size_t klen;
	struct mb_err err = { 0 };
	static const char list[] =
		"/lib/modules/" VERSION "/kernel/drivers/virtio/virtio.ko\n"
		"/lib/modules/" VERSION "/kernel/drivers/virtio/virtio_ring.ko\n"
		"/lib/modules/" VERSION "/kernel/drivers/virtio/virtio_pci_modern_dev.ko\n"
		"/lib/modules/" VERSION "/kernel/drivers/virtio/virtio_pci_legacy_dev.ko\n"
		"/lib/modules/" VERSION "/kernel/drivers/virtio/virtio_pci.ko\n"
		"/lib/modules/" VERSION "/kernel/net/core/failover.ko.zst\n"
		"/lib/modules/" VERSION "/kernel/drivers/net/net_failover.ko.xz\n"
		"/lib/modules/" VERSION "/kernel/drivers/net/virtio_net.ko\n";

	ensure_ok(f, &img);
	assert_int_equal(img.rebuilt, 1);
	assert_string_equal(img.kernel_version, VERSION);
	assert_int_equal(strlen(img.id), 16);
	assert_non_null(strstr(img.kernel_source, "--kernel"));
	assert_string_equal(img.modules, "virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev "
			    "virtio_pci failover net_failover virtio_net");
	assert_string_equal(img.modules_builtin, "virtio_console");
	assert_non_null(strstr(img.initrd, "/images/"));
	assert_non_null(strstr(img.initrd, img.id));

	/* The image's kernel is a copy of the given one. */
	assert_int_equal(mb_img_read_file(img.kernel, &kernel, &klen, &err), 0);
	assert_string_equal(kernel, "not really a bzImage\n");
	free(kernel);

	buf = cpio_slurp(img.initrd, &len);
	assert_non_null(buf);
	assert_int_equal(len, img.initrd_size);
	const char *problem = cpio_parse(buf, len, &p);
	if (problem)
		fail_msg("initramfs does not parse: %s", problem);
	static const char *const dirs[] = { ".", "dev", "proc", "sys", "etc", "etc/migbench", "lib",
					    "lib/modules", "lib/modules/" VERSION };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
		e = cpio_find(&p, dirs[i]);
		if (!e)
			fail_msg("no %s in the initramfs", dirs[i]);
		assert_int_equal(e->mode, S_IFDIR | 0755);
	}
	e = cpio_find(&p, "init");
	assert_non_null(e);
	assert_int_equal(e->mode, S_IFREG | 0755);
	assert_int_equal(e->filesize, strlen("not really an agent\n"));
	assert_memory_equal(e->data, "not really an agent\n", e->filesize);
	e = cpio_find(&p, "dev/console");
	assert_non_null(e);
	assert_int_equal(e->mode, S_IFCHR | 0600);
	assert_int_equal(e->rdevmajor, 5);
	assert_int_equal(e->rdevminor, 1);
	e = cpio_find(&p, "etc/migbench/modules");
	assert_non_null(e);
	assert_int_equal(e->filesize, strlen(list));
	assert_memory_equal(e->data, list, e->filesize);
	/* Compressed modules are stored as they are, under their own names. */
	e = cpio_find(&p, "lib/modules/" VERSION "/kernel/net/core/failover.ko.zst");
	assert_non_null(e);
	assert_int_equal(e->mode, S_IFREG | 0644);
	assert_memory_equal(e->data, "fake module failover.ko.zst\n", e->filesize);
	/* Only what the guest needs. */
	assert_null(cpio_find(&p, "lib/modules/" VERSION "/kernel/drivers/block/loop.ko"));
	free(buf);
}

static void cache_hits_and_misses(void **state)
{
	struct fixture *f = *state;
	static struct mb_image first, again, img;
	char module[PATH_MAX];

	ensure_ok(f, &first);
	assert_int_equal(first.rebuilt, 1);
	ensure_ok(f, &again);
	assert_int_equal(again.rebuilt, 0);
	assert_string_equal(again.id, first.id);
	assert_string_equal(again.initrd, first.initrd);
	assert_int_equal(again.initrd_size, first.initrd_size);

	/* One byte of the agent: another image. Back: the first, from the cache. */
	flip_byte(f->agent, 3);
	ensure_ok(f, &img);
	assert_int_equal(img.rebuilt, 1);
	assert_string_not_equal(img.id, first.id);
	flip_byte(f->agent, 3);
	ensure_ok(f, &img);
	assert_int_equal(img.rebuilt, 0);
	assert_string_equal(img.id, first.id);

	/* One byte of a module deep in the dependencies. */
	snprintf(module, sizeof(module), "%s/kernel/net/core/failover.ko.zst", f->modules);
	flip_byte(module, 0);
	ensure_ok(f, &img);
	assert_int_equal(img.rebuilt, 1);
	assert_string_not_equal(img.id, first.id);
	flip_byte(module, 0);

	/* One byte of the kernel. */
	flip_byte(f->kernel, 5);
	ensure_ok(f, &img);
	assert_int_equal(img.rebuilt, 1);
	assert_string_not_equal(img.id, first.id);
	flip_byte(f->kernel, 5);

	/* A module the guest does not need changes nothing. */
	snprintf(module, sizeof(module), "%s/kernel/drivers/block/loop.ko", f->modules);
	put(module, "changed\n");
	ensure_ok(f, &img);
	assert_int_equal(img.rebuilt, 0);
	assert_string_equal(img.id, first.id);

	/* A half-deleted image is rebuilt, not trusted. */
	assert_int_equal(unlink(first.initrd), 0);
	ensure_ok(f, &img);
	assert_int_equal(img.rebuilt, 1);
	assert_string_equal(img.id, first.id);
	assert_int_equal(access(img.initrd, R_OK), 0);
}

/* A setup header with "HdrS", protocol 2.00 and a version string. */
static void write_fake_bzimage(const char *path, const char *version_text)
{
	unsigned char buf[0x400] = { 0 };
	FILE *fp = fopen(path, "wb");

	memcpy(buf + 0x202, "HdrS", 4);
	buf[0x206] = 0x00;
	buf[0x207] = 0x02;
	buf[0x20e] = 0x00;   /* string at 0x100 + 0x200 */
	buf[0x20f] = 0x01;
	snprintf((char *)buf + 0x300, 0x100, "%s", version_text);
	assert_non_null(fp);
	fwrite(buf, 1, sizeof(buf), fp);
	fclose(fp);
}

static void kernel_versions(void **state)
{
	struct fixture *f = *state;
	char ver[128];
	struct mb_err err = { 0 };
	static struct mb_image img;

	write_fake_bzimage(f->kernel, VERSION " (someone@example.org) #1 SMP PREEMPT_DYNAMIC");
	assert_int_equal(mb_img_kernel_version(f->kernel, ver, sizeof(ver), &err), 0);
	assert_string_equal(ver, VERSION);
	assert_int_equal(mb_img_kernel_version(f->agent, ver, sizeof(ver), &err), 0);
	assert_string_equal(ver, "");

	/* Without --modules, the tree beside the kernel (boot/../lib/modules). */
	f->opts.modules_dir = NULL;
	ensure_ok(f, &img);
	assert_string_equal(img.kernel_version, VERSION);
	assert_string_equal(img.modules_dir, f->modules);
	assert_non_null(strstr(img.modules, "virtio_net"));

	/* Modules of another release: refused before building anything. */
	write_fake_bzimage(f->kernel, "6.1.0-other #1");
	f->opts.modules_dir = f->modules;
	assert_int_equal(mb_image_ensure(&f->opts, &img, &err), -1);
	assert_non_null(strstr(err.msg, "6.1.0-other"));
	assert_non_null(strstr(err.msg, VERSION));
}

static void errors_say_what(void **state)
{
	struct fixture *f = *state;
	static struct mb_image img;
	struct mb_err err = { 0 };
	char missing[PATH_MAX];

	snprintf(missing, sizeof(missing), "%s/no-agent", f->dir);
	f->opts.agent = missing;
	assert_int_equal(mb_image_ensure(&f->opts, &img, &err), -1);
	assert_non_null(strstr(err.msg, missing));
	assert_non_null(strstr(err.msg, "--agent"));
	assert_int_equal(err.errnum, ENOENT);
	f->opts.agent = f->agent;

	f->opts.kernel = missing;
	assert_int_equal(mb_image_ensure(&f->opts, &img, &err), -1);
	assert_non_null(strstr(err.msg, "--kernel"));
	assert_int_not_equal(err.errnum, ENOPKG);   /* a mistake, not a missing resource */
	f->opts.kernel = f->kernel;

	f->opts.modules_dir = f->dir;   /* no modules.dep there */
	assert_int_equal(mb_image_ensure(&f->opts, &img, &err), -1);
	assert_non_null(strstr(err.msg, "modules.dep"));
}

/* No kernel given, none on the host, and no apt-get on PATH: "no resource",
 * with a message that says what to do. Never touches the network. */
static void no_kernel_anywhere(void **state)
{
	struct fixture *f = *state;
	static struct mb_image img;
	struct mb_err err = { 0 };
	struct utsname u;
	char host_kernel[PATH_MAX], *path = getenv("PATH");
	char *saved = path ? strdup(path) : NULL;

	uname(&u);
	snprintf(host_kernel, sizeof(host_kernel), "/boot/vmlinuz-%s", u.release);
	if (mb_img_is_readable_file(host_kernel))
		skip();   /* this host's own kernel would be used */
	setenv("PATH", f->dir, 1);
	f->opts.kernel = NULL;
	f->opts.modules_dir = NULL;
	int rc = mb_image_ensure(&f->opts, &img, &err);
	if (saved) {
		setenv("PATH", saved, 1);
		free(saved);
	}
	assert_int_equal(rc, -1);
	assert_int_equal(err.errnum, ENOPKG);
	assert_non_null(strstr(err.msg, "apt-get"));
	assert_non_null(strstr(err.msg, "--kernel"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(builds_the_initramfs, setup, teardown),
		cmocka_unit_test_setup_teardown(cache_hits_and_misses, setup, teardown),
		cmocka_unit_test_setup_teardown(kernel_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(errors_say_what, setup, teardown),
		cmocka_unit_test_setup_teardown(no_kernel_anywhere, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
