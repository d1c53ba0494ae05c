/* The newc writer: the archive parses back with the headers, names, modes
 * and alignment the kernel expects, and the same entries give the same bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/cpio-parse.h"
#include "workloads/image/cpio.h"
#include "workloads/image/fsutil.h"

struct fixture {
	char dir[PATH_MAX];
	char src[PATH_MAX];   /* a host file to archive */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	FILE *s;

	snprintf(f->dir, sizeof(f->dir), "%s/test-cpio-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->src, sizeof(f->src), "%s/agent", f->dir);
	s = fopen(f->src, "wb");
	if (!s)
		return -1;
	fputs("#!fake agent, 23 bytes\n", s);   /* odd length: exercises padding */
	fclose(s);
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

/* The image's layout, added in the order given. */
static void add_image(struct mb_cpio *c, const char *agent, int reversed)
{
	struct mb_err err = { 0 };
	static const char list[] = "/lib/modules/6.1.0/kernel/a.ko\n";

	mb_cpio_init(c);
	if (!reversed) {
		assert_int_equal(mb_cpio_add_dir(c, "/", 0755, &err), 0);
		assert_int_equal(mb_cpio_add_dir(c, "/proc", 0555, &err), 0);
		assert_int_equal(mb_cpio_add_chardev(c, "/dev/console", 0600, 5, 1, &err), 0);
		assert_int_equal(mb_cpio_add_file(c, "/init", 0755, agent, &err), 0);
		assert_int_equal(mb_cpio_add_data(c, "/lib/modules/6.1.0/kernel/a.ko", 0644, "ko", 2, &err), 0);
		assert_int_equal(mb_cpio_add_data(c, "/etc/migbench/modules", 0644, list, strlen(list), &err), 0);
	} else {
		assert_int_equal(mb_cpio_add_data(c, "etc/migbench/modules", 0644, list, strlen(list), &err), 0);
		assert_int_equal(mb_cpio_add_data(c, "lib/modules/6.1.0/kernel/a.ko", 0644, "ko", 2, &err), 0);
		assert_int_equal(mb_cpio_add_file(c, "init", 0755, agent, &err), 0);
		assert_int_equal(mb_cpio_add_chardev(c, "dev//console", 0600, 5, 1, &err), 0);
		assert_int_equal(mb_cpio_add_dir(c, "proc/", 0555, &err), 0);
	}
}

static unsigned char *write_and_read(struct fixture *f, struct mb_cpio *c, const char *name,
				     size_t *len)
{
	char path[PATH_MAX];
	struct mb_err err = { 0 };
	uint64_t written = 0;
	unsigned char *buf;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_int_equal(mb_cpio_write_file(c, path, &written, &err), 0);
	buf = cpio_slurp(path, len);
	assert_non_null(buf);
	assert_int_equal(*len, written);
	return buf;
}

static void parses_back(void **state)
{
	struct fixture *f = *state;
	struct mb_cpio c;
	struct cpio_parsed p;
	const struct cpio_parsed_entry *e;
	size_t len;
	unsigned char *buf;

	add_image(&c, f->src, 0);
	buf = write_and_read(f, &c, "a.cpio", &len);
	mb_cpio_free(&c);
	const char *problem = cpio_parse(buf, len, &p);
	if (problem)
		fail_msg("archive does not parse: %s", problem);
	assert_true(p.has_trailer);
	assert_int_equal(len % 4, 0);

	/* Sorted, parents added, every parent before its children. */
	static const char *const names[] = {
		".", "dev", "dev/console", "etc", "etc/migbench", "etc/migbench/modules", "init",
		"lib", "lib/modules", "lib/modules/6.1.0", "lib/modules/6.1.0/kernel",
		"lib/modules/6.1.0/kernel/a.ko", "proc",
	};
	assert_int_equal(p.n, sizeof(names) / sizeof(*names));
	for (size_t i = 0; i < p.n; i++) {
		assert_string_equal(p.e[i].name, names[i]);
		assert_int_equal(p.e[i].ino, i + 1);          /* sequential */
		assert_int_equal(p.e[i].uid, 0);
		assert_int_equal(p.e[i].gid, 0);
		assert_int_equal(p.e[i].mtime, 0);
		assert_int_equal(p.e[i].check, 0);
		assert_int_equal(p.e[i].header_off % 4, 0);
		assert_int_equal(p.e[i].data_off % 4, 0);
	}

	e = cpio_find(&p, ".");
	assert_int_equal(e->mode, S_IFDIR | 0755);
	assert_int_equal(e->nlink, 2);
	assert_int_equal(cpio_find(&p, "proc")->mode, S_IFDIR | 0555);
	assert_int_equal(cpio_find(&p, "lib/modules")->mode, S_IFDIR | 0755);

	e = cpio_find(&p, "dev/console");
	assert_int_equal(e->mode, S_IFCHR | 0600);
	assert_int_equal(e->rdevmajor, 5);
	assert_int_equal(e->rdevminor, 1);
	assert_int_equal(e->filesize, 0);

	e = cpio_find(&p, "init");
	assert_int_equal(e->mode, S_IFREG | 0755);
	assert_int_equal(e->nlink, 1);
	assert_int_equal(e->filesize, 23);
	assert_memory_equal(e->data, "#!fake agent, 23 bytes\n", 23);

	e = cpio_find(&p, "etc/migbench/modules");
	assert_int_equal(e->mode, S_IFREG | 0644);
	assert_int_equal(e->filesize, strlen("/lib/modules/6.1.0/kernel/a.ko\n"));
	assert_memory_equal(e->data, "/lib/modules/6.1.0/kernel/a.ko\n", e->filesize);
	free(buf);
}

static void byte_identical(void **state)
{
	struct fixture *f = *state;
	struct mb_cpio a, b;
	size_t la, la2, lb;
	unsigned char *ba, *ba2, *bb;

	add_image(&a, f->src, 0);
	ba = write_and_read(f, &a, "a.cpio", &la);
	ba2 = write_and_read(f, &a, "a2.cpio", &la2);   /* same entries, written again */
	add_image(&b, f->src, 1);                       /* added in another order */
	bb = write_and_read(f, &b, "b.cpio", &lb);
	assert_int_equal(la, la2);
	assert_memory_equal(ba, ba2, la);
	assert_int_equal(la, lb);
	assert_memory_equal(ba, bb, la);
	mb_cpio_free(&a);
	mb_cpio_free(&b);
	free(ba);
	free(ba2);
	free(bb);
}

static void empty_archive_and_files(void **state)
{
	struct fixture *f = *state;
	struct mb_cpio c;
	struct mb_err err = { 0 };
	struct cpio_parsed p;
	size_t len;
	unsigned char *buf;

	mb_cpio_init(&c);
	buf = write_and_read(f, &c, "empty.cpio", &len);
	assert_null(cpio_parse(buf, len, &p));
	assert_int_equal(p.n, 0);
	free(buf);

	assert_int_equal(mb_cpio_add_data(&c, "/etc/empty", 0644, "", 0, &err), 0);
	buf = write_and_read(f, &c, "one.cpio", &len);
	assert_null(cpio_parse(buf, len, &p));
	assert_int_equal(p.n, 3);   /* ".", "etc", "etc/empty" */
	assert_int_equal(cpio_find(&p, "etc/empty")->filesize, 0);
	free(buf);
	mb_cpio_free(&c);
}

static void refuses_bad_entries(void **state)
{
	struct fixture *f = *state;
	struct mb_cpio c;
	struct mb_err err = { 0 };
	char path[PATH_MAX];

	mb_cpio_init(&c);
	assert_int_equal(mb_cpio_add_data(&c, "/init", 0755, "x", 1, &err), 0);
	assert_int_equal(mb_cpio_add_data(&c, "/init", 0755, "x", 1, &err), -1);
	assert_non_null(strstr(err.msg, "added twice"));
	assert_int_equal(mb_cpio_add_data(&c, "/init/sub", 0644, "x", 1, &err), -1);
	assert_non_null(strstr(err.msg, "not as a directory"));
	assert_int_equal(mb_cpio_add_data(&c, "/lib/../etc/passwd", 0644, "x", 1, &err), -1);
	assert_int_equal(mb_cpio_add_chardev(&c, "/", 0600, 5, 1, &err), -1);
	assert_int_equal(mb_cpio_add_dir(&c, "/lib", 0755, &err), 0);
	assert_int_equal(mb_cpio_add_dir(&c, "/lib", 0755, &err), 0);   /* harmless */

	/* A source that vanished: an error naming it, and no archive left. */
	assert_int_equal(mb_cpio_add_file(&c, "/gone", 0644, "/nonexistent/migbench-test", &err), 0);
	snprintf(path, sizeof(path), "%s/bad.cpio", f->dir);
	assert_int_equal(mb_cpio_write_file(&c, path, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/migbench-test"));
	assert_int_equal(access(path, F_OK), -1);
	mb_cpio_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(parses_back, setup, teardown),
		cmocka_unit_test_setup_teardown(byte_identical, setup, teardown),
		cmocka_unit_test_setup_teardown(empty_archive_and_files, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_bad_entries, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
