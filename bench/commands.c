#include "config.h"
#include "bench/command.h"

#include <stddef.h>

/* The registry: adding a subcommand is one file and one line here. */

const struct mb_command *const mb_commands[] = {
	NULL,
};
