#include "config.h"
#include "runners/qmp_options.h"

#include <stddef.h>

_Static_assert(sizeof(enum mb_qmp_start) == sizeof(int), "choice fields are stored as int");

static const char *const start_names[] = { MB_QMP_STARTS(MB_X_NAME) NULL };

const struct mb_key mb_qmp_keys[] = {
	{
		.name = "guest_start", .type = MB_TYPE_CHOICE,
		MB_FIELD(struct mb_qmp_options, guest_start, enum mb_qmp_start),
		.def = "boot", .choices = start_names,
		.help = "--runner qmp: how a guest starts: boot (kernel and agent from scratch) or snapshot "
			"(restore the state saved right after the first such boot, cached beside the guest "
			"image per QEMU and guest; about 10x faster under TCG; memory verify still applies)",
	},
	{ 0 },
};
