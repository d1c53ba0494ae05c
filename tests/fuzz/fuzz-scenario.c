/* libFuzzer target: scenario files (bench/ini.c, bench/scenario.c,
 * bench/scenario_keys.c), the first thing migbench reads from a user.
 *
 * The input is a scenario file. Leading lines "--key=value" are applied as
 * command-line options instead (mb_scenario_apply_option), so option
 * overrides and sweeps over them are fuzzed too. The text goes through the
 * in-memory reader and, through a memfd, the file reader; a set that parses
 * is expanded and every run (up to a bound) turned into its result JSON. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/scenario.h"
#include "tests/fuzz/fuzz.h"

#define TARGET "scenario"
/* Enough runs to cover sweeps; a campaign may legally have 100000. */
#define MAX_RUNS_TO_JSON 64

static void expand_and_dump(const struct mb_scenario_set *set)
{
	struct mb_campaign campaign = { 0 };
	struct mb_err err = { 0 };

	if (mb_scenario_expand(set, &campaign, &err) != 0) {
		fuzz_check_error(TARGET, "mb_scenario_expand", &err);
		if (campaign.nruns || campaign.runs)
			fuzz_bug(TARGET, "mb_scenario_expand failed but left %zu runs", campaign.nruns);
		return;
	}
	for (size_t i = 0; i < campaign.nruns; i++) {
		const struct mb_run_spec *run = &campaign.runs[i];
		json_t *json;
		char *text;

		if (!run->name || !run->name[0] || strlen(run->name) > MB_SCENARIO_NAME_MAX ||
		    run->name[strspn(run->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					  "0123456789._=,+-")])
			fuzz_bug(TARGET, "run %zu has a name that is no directory name: '%s'", i,
				 run->name ? run->name : "(null)");
		if (i >= MAX_RUNS_TO_JSON && i + 1 != campaign.nruns)
			continue;
		json = mb_run_spec_to_json(run);
		if (!json)
			fuzz_bug(TARGET, "mb_run_spec_to_json(%s) returned NULL", run->name);
		text = json_dumps(json, JSON_COMPACT);
		if (!text)
			fuzz_bug(TARGET, "json_dumps of run %s failed", run->name);
		free(text);
		json_decref(json);
	}
	mb_campaign_free(&campaign);
}

/* Cuts the leading "--key=value" lines (at most MAX_OPTIONS) off `text`,
 * in place, as migbench's command line would hand them over; returns where
 * the file begins. */
#define MAX_OPTIONS 16
struct option { char *name, *value; };

static char *split_options(char *text, struct option *opts, size_t *n)
{
	*n = 0;
	while (*n < MAX_OPTIONS && !strncmp(text, "--", 2)) {
		char *end = text + strcspn(text, "\n"), *eq;
		char *next = *end ? end + 1 : end;

		*end = '\0';
		eq = strchr(text, '=');
		if (eq)
			*eq = '\0';
		opts[(*n)++] = (struct option){ .name = text, .value = eq ? eq + 1 : "" };
		text = next;
	}
	return text;
}

/* The same text through the file reader (getline, a real FILE). */
static void parse_as_file(const char *file)
{
	struct mb_scenario_set *set;
	struct mb_err err = { 0 };
	char path[64];
	size_t len = strlen(file);
	int fd = memfd_create("fuzz-scenario.ini", MFD_CLOEXEC);

	if (fd < 0)
		fuzz_bug(TARGET, "memfd_create: %s", strerror(errno));
	if (write(fd, file, len) != (ssize_t)len)
		fuzz_bug(TARGET, "writing %zu bytes to a memfd failed", len);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	set = mb_scenario_set_new(&err);
	if (!set)
		fuzz_bug(TARGET, "mb_scenario_set_new: %s", err.msg);
	if (mb_scenario_parse_file(set, path, &err) != 0)
		fuzz_check_error(TARGET, "mb_scenario_parse_file", &err);
	mb_scenario_set_free(set);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(TARGET, data, size), *file;
	struct option opts[MAX_OPTIONS];
	struct mb_scenario_set *set;
	struct mb_err err = { 0 };
	size_t nopts;
	int rc;

	set = mb_scenario_set_new(&err);
	if (!set)
		fuzz_bug(TARGET, "mb_scenario_set_new: %s", err.msg);
	file = split_options(text, opts, &nopts);
	/* files first, then options: the order of `migbench run` */
	rc = mb_scenario_parse_string(set, "fuzz.ini", file, &err);
	if (rc != 0)
		fuzz_check_error(TARGET, "mb_scenario_parse_string", &err);
	for (size_t i = 0; rc == 0 && i < nopts; i++) {
		rc = mb_scenario_apply_option(set, opts[i].name, opts[i].value, &err);
		if (rc != 0)
			fuzz_check_error(TARGET, "mb_scenario_apply_option", &err);
	}
	if (rc == 0)
		expand_and_dump(set);
	mb_scenario_set_free(set);
	parse_as_file(file);
	free(text);
	return 0;
}
