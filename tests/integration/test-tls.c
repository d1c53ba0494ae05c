/* Migration over TLS (tls=on) with real QEMU guests: pre-copy over TCP and
 * post-copy over a unix socket, each twice so that the guest goes back to a
 * QEMU that was a destination before (every QEMU must be able to receive and
 * send). Each run must complete with no guest page corrupted, and QEMU
 * itself (query-migrate-parameters) must say the migration ran with our
 * creds. And when certtool is missing or fails, the campaign stops before a
 * guest boots, saying so, with no certificate directory left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/command.h"
#include "bench/error.h"
#include "runners/tls.h"

#include "harness.h"

#define WORK_PREFIX "/tmp/mb-test-tls"
#define CAMPAIGN_DEADLINE_S 600

static char skip_reason[MB_ERR_MAX + 128];
static char postcopy_skip[MB_ERR_MAX + 128];

static const char ini_head[] =
	"[global]\n"
	"tls=on\n"
	"memory=128M\n"
	"wss=32M\n"
	"max_bandwidth=64M\n"
	"downtime_limit=300ms\n"
	"timeout=2min\n"
	"settle=0\n"
	"repetitions=2\n"
	"\n"
	"[precopy]\n"
	"mode=precopy\n"
	"transport=tcp\n"
	"rate=1M\n";
/* The unix transport gives QEMU no host name to check the server's
 * certificate against: only tls-hostname does. 48 MiB/s leaves more dirty
 * after the first pass than 64 MiB/s x 300 ms, so the switch happens. */
static const char ini_postcopy[] =
	"\n"
	"[postcopy]\n"
	"mode=postcopy\n"
	"transport=unix\n"
	"rate=48M\n";

static void run(struct mbt_campaign *c, const char *name, const char *ini)
{
	const struct mbt_run r = { .work_template = WORK_PREFIX "-c-XXXXXX", .name = name, .ini = ini,
				   .qemu_opt = 1, .deadline_s = CAMPAIGN_DEADLINE_S, .check_leftovers = 1 };

	mbt_run_campaign(c, &r);
}

static void assert_nothing_left(const struct mbt_campaign *c)
{
	if (c->leftover[0])
		fail_msg("after campaign %s: %s", c->path, c->leftover);
}

/* A completed run, intact, that QEMU says ran with our TLS creds. */
static void assert_migrated_over_tls(const json_t *doc, const char *key, const char *completed_as)
{
	if (strcmp(mbt_str(doc, "run.status"), "completed"))
		fail_msg("%s: status %s: %s", key, mbt_str(doc, "run.status"),
			 json_string_value(json_object_get(mbt_get(doc, "run"), "error")) ?: "");
	assert_string_equal(mbt_str(doc, "run.completed_as"), completed_as);
	assert_true(json_is_true(mbt_get(doc, "scenario.tls")));
	assert_true(mbt_int(doc, "metrics.memory_verify.pages_checked") > 0);
	assert_int_equal(mbt_int(doc, "metrics.memory_verify.pages_corrupted"), 0);
	/* QEMU's answers after the migration, not our request echoed. */
	assert_string_equal(mbt_str(doc, "qemu_reported.migration_parameters.source.tls-creds"),
			    MB_TLS_CREDS_CLIENT);
	assert_string_equal(mbt_str(doc, "qemu_reported.migration_parameters.source.tls-hostname"),
			    MB_TLS_HOSTNAME);
	assert_string_equal(mbt_str(doc, "qemu_reported.migration_parameters.destination.tls-creds"),
			    MB_TLS_CREDS_SERVER);
	assert_non_null(strstr(mbt_str(doc, "hypervisor.destination.command"), "tls-creds-x509"));
	print_message("# %s over TLS: total %.1f ms, downtime %.1f ms, %.0f pages checked, 0 corrupted\n", key,
		      mbt_num(doc, "metrics.total_time_ms"), mbt_num(doc, "metrics.downtime_ms"),
		      mbt_num(doc, "metrics.memory_verify.pages_checked"));
}

static void tls_migrations_complete_intact(void **state)
{
	struct mbt_campaign *c = *state;
	char ini[sizeof(ini_head) + sizeof(ini_postcopy)];

	mbt_skip_if(skip_reason);
	snprintf(ini, sizeof(ini), "%s%s", ini_head, postcopy_skip[0] ? "" : ini_postcopy);
	run(c, "tls", ini);
	if (c->status != MB_EXIT_OK)
		fail_msg("migbench exited with %d: %s", c->status, c->err ? c->err : "");
	/* Repetition 2 leaves from the QEMU that received repetition 1. */
	for (int rep = 1; rep <= 2; rep++) {
		char key[32];

		snprintf(key, sizeof(key), "precopy/%d", rep);
		assert_migrated_over_tls(mbt_result(c, key), key, "precopy");
		if (postcopy_skip[0])
			continue;
		snprintf(key, sizeof(key), "postcopy/%d", rep);
		assert_migrated_over_tls(mbt_result(c, key), key, "postcopy");
	}
	assert_nothing_left(c);
}

/* ---- certtool missing or failing ------------------------------------------------ */

struct path_swap {
	char bin[PATH_MAX];     /* mkdtemp: what PATH gets instead */
	char *saved;            /* the test's own PATH */
};

/* PATH becomes a folder of ours (first, or alone), for migbench to find
 * certtool there or nowhere. */
static void path_swap(struct path_swap *s, int keep_path)
{
	const char *old = getenv("PATH");
	size_t len;
	char *path;

	snprintf(s->bin, sizeof(s->bin), WORK_PREFIX "-bin-XXXXXX");
	if (!mkdtemp(s->bin))
		fail_msg("mkdtemp %s: %s", s->bin, strerror(errno));
	s->saved = strdup(old ? old : "");
	assert_non_null(s->saved);
	len = strlen(s->bin) + 1 + strlen(s->saved) + 1;
	path = malloc(len);
	assert_non_null(path);
	snprintf(path, len, "%s%s%s", s->bin, keep_path ? ":" : "", keep_path ? s->saved : "");
	assert_int_equal(setenv("PATH", path, 1), 0);
	free(path);
}

static void path_restore(struct path_swap *s)
{
	assert_int_equal(setenv("PATH", s->saved, 1), 0);
	free(s->saved);
	mbt_remove_tree(s->bin, WORK_PREFIX);
}

/* The campaign must stop before any guest boots, say `why`, exit with
 * `status` and leave nothing (no half-made certificate directory). */
static void assert_refused(struct mbt_campaign *c, int status, const char *why)
{
	assert_int_equal(c->status, status);
	assert_null(c->manifest);
	if (!c->err || !strstr(c->err, why))
		fail_msg("stderr does not say '%s': %s", why, c->err ? c->err : "");
	assert_nothing_left(c);
}

static void missing_certtool_says_install_gnutls_bin(void **state)
{
	struct mbt_campaign *c = *state;
	struct path_swap s;

	mbt_skip_if(skip_reason);
	path_swap(&s, 0);
	run(c, "no-certtool", ini_head);
	path_restore(&s);
	assert_refused(c, MB_EXIT_NO_RESOURCE, "certtool not found (install gnutls-bin)");
}

static void failing_certtool_is_named_and_leaves_nothing(void **state)
{
	struct mbt_campaign *c = *state;
	/* The real certtool makes the keys and the CA; signing fails, so a
	 * directory with half the files is there to clean up. */
	static const char fake[] =
		"#!/bin/sh\n"
		"case \"$*\" in *--generate-certificate*) echo 'fake certtool: cannot sign' >&2; exit 3;; esac\n"
		"exec certtool-real \"$@\"\n";
	char path[PATH_MAX + 32], real[PATH_MAX + 32];
	struct path_swap s;
	FILE *f;

	mbt_skip_if(skip_reason);
	path_swap(&s, 1);
	snprintf(path, sizeof(path), "%s/certtool", s.bin);
	snprintf(real, sizeof(real), "%s/certtool-real", s.bin);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(fake, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0700), 0);
	assert_int_equal(symlink("/usr/bin/certtool", real), 0);
	run(c, "bad-certtool", ini_head);
	path_restore(&s);
	assert_refused(c, MB_EXIT_USAGE, "--generate-certificate");
	assert_non_null(strstr(c->err, "exited with status 3: fake certtool: cannot sign"));
}

/* ---- fixtures -------------------------------------------------------------------- */

static int group_setup(void **state)
{
	if (mbt_group_setup(WORK_PREFIX "-XXXXXX", skip_reason, sizeof(skip_reason), postcopy_skip,
			    sizeof(postcopy_skip)))
		return -1;
	if (!skip_reason[0] && access("/usr/bin/certtool", X_OK))
		snprintf(skip_reason, sizeof(skip_reason), "no /usr/bin/certtool (install gnutls-bin)");
	return 0;
}

static int group_teardown(void **state)
{
	return mbt_group_teardown(0);
}

static int setup(void **state)
{
	return mbt_campaigns_setup(state, 1);
}

static int teardown(void **state)
{
	return mbt_campaigns_teardown(state, 1, WORK_PREFIX);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(missing_certtool_says_install_gnutls_bin, setup, teardown),
		cmocka_unit_test_setup_teardown(failing_certtool_is_named_and_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(tls_migrations_complete_intact, setup, teardown),
	};

	return cmocka_run_group_tests_name("tls", tests, group_setup, group_teardown);
}
