/* `migbench qemu`: QEMU versions side by side, each in a Debian root of its
 * own (runners/qemu_versions.h). A scenario then names one: qemu=7.2. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bench/command.h"
#include "bench/options.h"
#include "runners/qemu_versions.h"

static int force, json;

static const struct mb_opt options[] = {
	{ "force", 0, MB_OPT_FLAG, NULL, "install: install again what is installed", .flag = &force, .set = 1 },
	{ "json", 0, MB_OPT_FLAG, NULL, "list: one JSON array", .flag = &json, .set = 1 },
	{ 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: migbench qemu list [--json]\n"
		"       migbench qemu install [--force] NAME...\n"
		"       migbench qemu remove NAME...\n"
		"\n"
		"Installs Debian's QEMU versions side by side, each into its own Debian root\n"
		"(mmdebstrap, about 30 s and 300 MB each) under the cache directory\n"
		"($MIGBENCH_CACHE, else $XDG_CACHE_HOME/migbench, else ~/.cache/migbench),\n"
		"because newer suites' binaries need a newer glibc than this host's. A\n"
		"scenario names an installed version like a binary: qemu=7.2, qemu_dst=11.1;\n"
		"migbench runs it chrooted in its root with this host's kernel. Needs root.\n"
		"\n"
		"NAME is a version or its Debian suite:\n");
	for (const struct mb_qemu_release *r = mb_qemu_releases; r->name; r++)
		fprintf(out, "  %-8s %-19s %s\n", r->name, r->extra_suite ? r->extra_suite : r->suite, r->note);
	fprintf(out, "\n");
	mb_opts_print(out, options);
	fprintf(out,
		"\n"
		"exit status: 0 done; 1 an install or removal failed; 2 bad command line;\n"
		"3 cannot do it here (not root, no mmdebstrap).\n");
}

static void progress(const char *line)
{
	fprintf(stderr, "migbench qemu: %s\n", line);
}

static int list(int json)
{
	struct mb_err err = { 0 };
	json_t *rows = mb_qemu_list(&err), *r;
	size_t i;

	if (!rows) {
		fprintf(stderr, "migbench qemu list: %s\n", err.msg);
		return MB_EXIT_FAILED;
	}
	if (json) {
		int rc = json_dumpf(rows, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		json_decref(rows);
		putchar('\n');
		return rc ? MB_EXIT_FAILED : MB_EXIT_OK;
	}
	printf("%-8s %-19s %-9s %s\n", "NAME", "SUITE", "INSTALLED", "QEMU");
	json_array_foreach(rows, i, r) {
		int installed = json_is_true(json_object_get(r, "installed"));
		const char *version = json_string_value(json_object_get(r, "qemu_version"));

		printf("%-8s %-19s %-9s %s\n", json_string_value(json_object_get(r, "name")),
		       json_string_value(json_object_get(r, "suite")) ?: "?", installed ? "yes" : "no",
		       installed ? (version ? version : "?") : json_string_value(json_object_get(r, "note")) ?: "");
	}
	json_decref(rows);
	return MB_EXIT_OK;
}

static int cmd_qemu(int argc, char **argv)
{
	static const struct mb_opt_spec spec = { .cmd = "qemu", .opts = options, .usage = usage, .max_args = -1 };
	int status = MB_EXIT_OK, first, rc;
	struct mb_err err = { 0 };
	const char *verb;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? MB_EXIT_USAGE : MB_EXIT_OK;
	}
	verb = argv[1];
	force = json = 0;
	/* the options after the action: parsed as if it were the command */
	rc = mb_opts_command(&spec, argc - 1, argv + 1, &first);
	if (rc >= 0)
		return rc;
	first++;        /* argv[first]: the first name */
	if (!strcmp(verb, "list"))
		return first < argc ? (fprintf(stderr, "migbench qemu list: takes no names\n"), MB_EXIT_USAGE)
				    : list(json);
	if (strcmp(verb, "install") && strcmp(verb, "remove")) {
		fprintf(stderr, "migbench qemu: unknown action '%s' (list, install, remove)\n", verb);
		return MB_EXIT_USAGE;
	}
	if (first >= argc) {
		fprintf(stderr, "migbench qemu %s: which version? (see migbench qemu --help)\n", verb);
		return MB_EXIT_USAGE;
	}
	for (int i = first; i < argc; i++) {
		const struct mb_qemu_release *rel = mb_qemu_release_find(argv[i]);
		int rc;

		if (!strcmp(verb, "install")) {
			if (!rel) {
				fprintf(stderr, "migbench qemu install: unknown version '%s' (see migbench qemu --help)\n",
					argv[i]);
				return MB_EXIT_USAGE;
			}
			rc = mb_qemu_install(rel, force, progress, &err);
		} else {
			rc = mb_qemu_remove(rel ? rel->name : argv[i], &err);
		}
		if (rc) {
			fprintf(stderr, "migbench qemu %s: %s\n", verb, err.msg);
			if (err.errnum == EPERM || (err.errnum == ENOENT && strstr(err.msg, "mmdebstrap")))
				return MB_EXIT_NO_RESOURCE;
			status = MB_EXIT_FAILED;
		}
	}
	return status;
}

const struct mb_command mb_cmd_qemu = {
	.name = "qemu",
	.summary = "install QEMU versions side by side (Debian roots); list, remove them",
	.run = cmd_qemu,
};
