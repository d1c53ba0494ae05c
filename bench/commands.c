#include "config.h"
#include "bench/command.h"

#include <stddef.h>

extern const struct mb_command mb_cmd_run;
extern const struct mb_command mb_cmd_boot;
extern const struct mb_command mb_cmd_doctor;
extern const struct mb_command mb_cmd_image;
extern const struct mb_command mb_cmd_report;
extern const struct mb_command mb_cmd_compare;
extern const struct mb_command mb_cmd_qemu;
extern const struct mb_command mb_cmd_host_probes;

/* The registry: adding a subcommand is one file and one line here. */

const struct mb_command *const mb_commands[] = {
	&mb_cmd_run,
	&mb_cmd_boot,
	&mb_cmd_doctor,
	&mb_cmd_image,
	&mb_cmd_report,
	&mb_cmd_compare,
	&mb_cmd_qemu,
	&mb_cmd_host_probes,
	NULL,
};
