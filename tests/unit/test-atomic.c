#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <unistd.h>
#include <cmocka.h>

#include "bench/atomic_file.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/mb-atomic-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char path[128];
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	return rmdir(dir);
}

static int count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void writes_whole_json_and_no_temporaries(void **state)
{
	char path[128];
	struct mb_err err = {0};
	json_t *v = json_pack("{s:i}", "answer", 42), *back;
	json_error_t jerr;

	snprintf(path, sizeof(path), "%s/r.json", dir);
	assert_int_equal(mb_write_json_atomic(path, v, 1, &err), 0);
	back = json_load_file(path, 0, &jerr);
	assert_non_null(back);
	assert_int_equal(json_integer_value(json_object_get(back, "answer")), 42);
	assert_int_equal(count_entries(), 1);
	json_decref(back);
	json_decref(v);
}

static void exclusive_never_overwrites(void **state)
{
	char path[128];
	struct mb_err err = {0};
	json_t *a = json_pack("{s:i}", "v", 1), *b = json_pack("{s:i}", "v", 2), *back;
	json_error_t jerr;

	snprintf(path, sizeof(path), "%s/r.json", dir);
	assert_int_equal(mb_write_json_atomic(path, a, 1, &err), 0);
	assert_int_equal(mb_write_json_atomic(path, b, 1, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	assert_non_null(strstr(err.msg, "r.json"));
	back = json_load_file(path, 0, &jerr);
	assert_int_equal(json_integer_value(json_object_get(back, "v")), 1);
	assert_int_equal(count_entries(), 1);
	assert_int_equal(mb_write_json_atomic(path, b, 0, &err), 0);
	json_decref(back);
	back = json_load_file(path, 0, &jerr);
	assert_int_equal(json_integer_value(json_object_get(back, "v")), 2);
	json_decref(back);
	json_decref(a);
	json_decref(b);
}

static void error_names_the_path(void **state)
{
	struct mb_err err = {0};
	json_t *v = json_pack("{}");

	assert_int_equal(mb_write_json_atomic("/nonexistent-dir/x.json", v, 0, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent-dir/x.json"));
	assert_non_null(strstr(err.msg, "No such file"));
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(writes_whole_json_and_no_temporaries, setup, teardown),
		cmocka_unit_test_setup_teardown(exclusive_never_overwrites, setup, teardown),
		cmocka_unit_test_setup_teardown(error_names_the_path, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
