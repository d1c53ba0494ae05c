/* The workloads and dirtying patterns: one description that the host
 * (migbench: scenario keys, kernel command line, results) and the guest
 * (migbench-agent: its parameters and the table of loops in
 * workloads/agent/workload.c) both compile. No includes beyond the C
 * library's: the agent is a static program built without jansson or
 * anything else of the host.
 *
 * Adding a workload:
 *   1. one X(...) line in MB_WORKLOADS below;
 *   2. its loop, agent_run_<loop>(), in a file of its own in
 *      workloads/agent/ (declared in workloads/agent/workload.h, the file
 *      added to the agent's sources in Makefile.am) -- unless it reuses a
 *      loop, as echo and kv reuse dirty's.
 * Everything else follows from the line: the scenario key `workload=`
 * accepts the name, the kernel command line carries the loop and service,
 * the agent parses them, and results read the heartbeats' counter.
 * tests/unit/test-workload-list checks that what the host writes is what
 * the agent reads, for every line. */
#ifndef MB_WORKLOAD_LIST_H
#define MB_WORKLOAD_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* X(id, name, loop, svc, counter, params, help)
 *
 *   id       enum mb_workload value
 *   name     the scenario's workload= value
 *   loop     what the agent runs: migbench.workload=<loop>, implemented by
 *            agent_run_<loop>() in workloads/agent/. A workload that has a
 *            loop of its own names itself; only such names are accepted in
 *            migbench.workload= by the agent.
 *   svc      the network service beside the loop, migbench.svc=<svc>, or
 *            none. With a service the guest gets a NIC on MB_NET_GUEST_ADDR
 *            (migbench.net=), the QMP runner a network namespace and the
 *            netclient probe something to measure; the agent's handler is
 *            agent_svc_<svc> (workloads/agent/svc.h).
 *   counter  the heartbeat field that shows the guest making progress (the
 *            guest-side downtime is the gap in it): "written" (pages
 *            dirtied) or "ops" (operations of any kind)
 *   params   the migbench.* parameters the guest side reads beyond
 *            workload= and period= (the kernel command line is in
 *            runners/qemu_argv.c: mb_guest_append)
 *   help     one line for people
 */
#define MB_WORKLOADS(X) \
	X(MB_WORKLOAD_DIRTY, "dirty", dirty, none, "written", "wss rate pattern hot hotw seed", \
	  "writes pages of its working set (wss) at rate, in pattern") \
	X(MB_WORKLOAD_IDLE, "idle", idle, none, "written", "wss", \
	  "stamps its working set once, then touches nothing") \
	X(MB_WORKLOAD_COMPUTE, "compute", compute, none, "ops", "wss seed", \
	  "CPU-bound arithmetic in 512 bytes: busy, but dirties almost nothing") \
	X(MB_WORKLOAD_MEMSET, "memset", memset, none, "written", "wss", \
	  "rewrites its working set with memset as fast as it can: the guest's memory bandwidth") \
	X(MB_WORKLOAD_ECHO, "echo", dirty, echo, "written", "wss rate pattern hot hotw seed svc net port", \
	  "dirty, plus a UDP echo service that the network client measures") \
	X(MB_WORKLOAD_KV, "kv", dirty, kv, "written", \
	  "wss rate pattern hot hotw seed svc kv_size net port", \
	  "dirty, plus a UDP key-value store of kv_size that the client reads and writes")

/* X(id, name, help): the order in which the dirty loop writes its working set
 * (workloads/agent/pattern.c implements each). */
#define MB_PATTERNS(X) \
	X(MB_PATTERN_SEQUENTIAL, "sequential", "page after page, then again from the start") \
	X(MB_PATTERN_RANDOM, "random", "uniformly random pages") \
	X(MB_PATTERN_HOTCOLD, "hotcold", "a hot fraction (hot) gets a share (hotw) of the writes")

#define MB_WL_X_ENUM_(id, name, ...) id,
enum mb_workload { MB_WORKLOADS(MB_WL_X_ENUM_) };
enum mb_pattern { MB_PATTERNS(MB_WL_X_ENUM_) };
#undef MB_WL_X_ENUM_

/* One line of MB_WORKLOADS as data. */
struct mb_workload_desc {
	const char *name;
	const char *loop;       /* migbench.workload= */
	const char *svc;        /* migbench.svc=, "none" without a service */
	const char *counter;    /* "written" or "ops" */
	const char *params;     /* space-separated migbench.* names */
	const char *help;
};

#define MB_WL_X_DESC_(id, name_, loop_, svc_, counter_, params_, help_) \
	[id] = { .name = name_, .loop = #loop_, .svc = #svc_, .counter = counter_, \
		 .params = params_, .help = help_ },
static const struct mb_workload_desc mb_workload_descs[] = { MB_WORKLOADS(MB_WL_X_DESC_) };
#undef MB_WL_X_DESC_

#define MB_WL_X_NAME_(id, name, ...) name,
static const char *const mb_pattern_names[] = { MB_PATTERNS(MB_WL_X_NAME_) };
#undef MB_WL_X_NAME_

#define MB_WORKLOAD_COUNT (sizeof(mb_workload_descs) / sizeof(mb_workload_descs[0]))
#define MB_PATTERN_COUNT (sizeof(mb_pattern_names) / sizeof(mb_pattern_names[0]))

/* The description of `w`, or NULL when it is not a workload. */
static inline const struct mb_workload_desc *mb_workload_desc(int w)
{
	return w >= 0 && (size_t)w < MB_WORKLOAD_COUNT ? &mb_workload_descs[w] : NULL;
}

static inline const char *mb_workload_name(int w)
{
	return mb_workload_desc(w) ? mb_workload_descs[w].name : "?";
}

static inline const char *mb_pattern_name(int p)
{
	return p >= 0 && (size_t)p < MB_PATTERN_COUNT ? mb_pattern_names[p] : "?";
}

/* Whether `w` runs a network service (echo, kv): the guest then gets a NIC
 * and the runner a network namespace with a client. */
static inline bool mb_workload_has_net(int w)
{
	return mb_workload_desc(w) && strcmp(mb_workload_descs[w].svc, "none") != 0;
}

/* Whether the guest side of `w` reads migbench.<param> (params above). */
static inline bool mb_workload_reads(int w, const char *param)
{
	const char *p = mb_workload_desc(w) ? mb_workload_descs[w].params : "";
	size_t len = strlen(param);

	for (; (p = strstr(p, param)) != NULL; p += len)
		if ((p == mb_workload_descs[w].params || p[-1] == ' ') && (p[len] == ' ' || !p[len]))
			return true;
	return false;
}

/* Whether `w` has a loop of its own (its loop is its name): the values of
 * the agent's migbench.workload=. */
static inline bool mb_workload_is_loop(int w)
{
	return mb_workload_desc(w) && strcmp(mb_workload_descs[w].loop, mb_workload_descs[w].name) == 0;
}

/* The workload whose name is `name` (-1 if none). */
static inline int mb_workload_find(const char *name)
{
	for (size_t i = 0; i < MB_WORKLOAD_COUNT; i++)
		if (!strcmp(mb_workload_descs[i].name, name))
			return (int)i;
	return -1;
}

#endif
