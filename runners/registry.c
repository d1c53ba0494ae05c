#include "config.h"
#include "runners/runner.h"

#include <string.h>

/* Adding a runner: one file with its ops table, one line here. */
extern const struct mb_runner_ops mb_runner_qmp;

const struct mb_runner_ops *const mb_runners[] = {
	&mb_runner_qmp,
	NULL,
};

const struct mb_runner_ops *mb_runner_find(const char *name)
{
	for (size_t i = 0; mb_runners[i]; i++)
		if (!strcmp(mb_runners[i]->name, name))
			return mb_runners[i];
	return NULL;
}

void mb_mig_record_release(struct mb_mig_record *rec)
{
	json_decref(rec->events);
	json_decref(rec->samples);
	json_decref(rec->final_source);
	json_decref(rec->final_destination);
	json_decref(rec->migration_parameters);
	json_decref(rec->hypervisor);
	json_decref(rec->console);
	json_decref(rec->probes);
	memset(rec, 0, sizeof(*rec));
}
