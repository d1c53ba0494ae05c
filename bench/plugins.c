/* Every registered probe and runner as a plug-in of the key namespace:
 * their own keys join the global ones at start-up (mb_keys_init). */
#include "config.h"
#include "bench/plugins.h"
#include "bench/result.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int mb_probe_names_check(const struct mb_probe_ops *const *probes,
			 const struct mb_runner_ops *const *runners, struct mb_err *err)
{
	for (size_t i = 0; probes[i]; i++) {
		const char *name = probes[i]->name;

		if (!name || !*name)
			return mb_errf(err, 0, "probe %zu of the registry has no name (its output "
				       "goes into the result under it)", i + 1);
		for (size_t m = 0; mb_result_members[m]; m++)
			if (!strcmp(name, mb_result_members[m]))
				return mb_errf(err, 0, "probe '%s': its name is a member the result "
					       "has of its own ('%s'): its output would replace it, "
					       "rename the probe", name, mb_result_members[m]);
		for (size_t r = 0; runners[r]; r++) {
			size_t len = strlen(runners[r]->name);

			if (!strncmp(name, runners[r]->name, len) && !strcmp(name + len, "_reported"))
				return mb_errf(err, 0, "probe '%s': its name is where the runner '%s' "
					       "reports in the result: rename the probe", name,
					       runners[r]->name);
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(name, probes[j]->name))
				return mb_errf(err, 0, "probe '%s' is registered twice (or two probes "
					       "have that name, entries %zu and %zu of the registry): "
					       "their outputs would share one member of the result",
					       name, j + 1, i + 1);
	}
	return 0;
}

int mb_plugins_list(const struct mb_plugin **plugins, size_t *n, struct mb_err *err)
{
	static struct mb_plugin *list;
	static size_t count;
	size_t np = 0, nr = 0, nu = 0;

	if (list) {
		*plugins = list;
		*n = count;
		return 0;
	}
	if (mb_probe_names_check(mb_probes, mb_runners, err))
		return -1;
	while (mb_probes[np])
		np++;
	while (mb_runners[nr])
		nr++;
	while (mb_runners_not_built[nu])
		nu++;
	list = calloc(np + nr + nu + 1, sizeof(*list));
	if (!list)
		return mb_errf(err, ENOMEM, "the list of plug-ins");
	for (size_t i = 0; i < np; i++)
		list[count++] = (struct mb_plugin){
			.kind = "probe", .name = mb_probes[i]->name, .summary = mb_probes[i]->summary,
			.owner = mb_probes[i], .keys = mb_probes[i]->options,
			.options_size = mb_probes[i]->options_size,
		};
	for (size_t i = 0; i < nr; i++)
		list[count++] = (struct mb_plugin){
			.kind = "runner", .name = mb_runners[i]->name, .summary = mb_runners[i]->summary,
			.owner = mb_runners[i], .keys = mb_runners[i]->options,
			.options_size = mb_runners[i]->options_size,
		};
	for (size_t i = 0; i < nu; i++)
		list[count++] = (struct mb_plugin){
			.kind = "runner", .name = mb_runners_not_built[i]->name,
			.summary = mb_runners_not_built[i]->summary, .owner = mb_runners_not_built[i],
			.keys = mb_runners_not_built[i]->options,
			.options_size = mb_runners_not_built[i]->options_size,
		};
	*plugins = list;
	*n = count;
	return 0;
}
