/* The agent's table of workloads: for every line of ../workload_list.h, the
 * loop it runs (agent_run_<loop>, each in loop_<loop>.c) and the service
 * beside it (agent_svc_<svc>, svc_<svc>.c). Guest side only: the host
 * compiles the same list without these function pointers. */
#include "workloads/agent/workload.h"

#define X(id, name, loop_, svc_, ...) [id] = { .run = agent_run_##loop_, .svc = &agent_svc_##svc_ },
const struct agent_workload_impl agent_workload_impls[] = { MB_WORKLOADS(X) };
#undef X

_Static_assert(sizeof(agent_workload_impls) / sizeof(agent_workload_impls[0]) == MB_WORKLOAD_COUNT,
	       "one implementation per workload");

/* No service: what migbench.svc=none and the workloads without one name. */
const struct agent_svc_ops agent_svc_none = { .handle = NULL };

void workload_run(struct agent_state *state)
{
	const struct mb_workload_desc *desc = mb_workload_desc(state->config.workload);

	/* The parser accepts only loops, but a bad value must idle, not crash. */
	if (!desc || !mb_workload_is_loop(state->config.workload))
		agent_run_idle(state);
	else
		agent_workload_impls[state->config.workload].run(state);
}
