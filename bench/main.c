#include "config.h"
#include "git-describe.h"
#include "bench/command.h"
#include "bench/scenario.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: migbench COMMAND [OPTIONS]\n"
		"\n"
		"Measures live migration of QEMU guests.\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; mb_commands[i]; i++)
		fprintf(out, "  %-10s %s\n", mb_commands[i]->name, mb_commands[i]->summary);
	fprintf(out, "\nRun `migbench COMMAND --help` for a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return MB_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return MB_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("migbench %s (%s)\n", PACKAGE_VERSION, MB_GIT_DESCRIBE);
		return MB_EXIT_OK;
	}
	/* The plug-ins' scenario keys join the global ones here: a clash (two
	 * keys of one name, a probe named like a member of the result) is
	 * said now, whatever the command. */
	{
		struct mb_err err = { 0 };

		if (mb_keys_init(&err)) {
			fprintf(stderr, "migbench: %s\n", err.msg);
			return MB_EXIT_FAILED;
		}
	}
	for (size_t i = 0; mb_commands[i]; i++)
		if (!strcmp(argv[1], mb_commands[i]->name))
			return mb_commands[i]->run(argc - 1, argv + 1);
	fprintf(stderr, "migbench: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return MB_EXIT_USAGE;
}
