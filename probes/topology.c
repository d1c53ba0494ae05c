#include "config.h"
#include "probes/topology.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/atomic_file.h"
#include "bench/scenario.h"
#include "bench/units.h"

#ifdef HAVE_HWLOC
#include <hwloc.h>
#include <hwloc/export.h>
#include <pthread.h>

static int load(hwloc_topology_t *topo, char *why, size_t len)
{
	if (hwloc_topology_init(topo)) {
		snprintf(why, len, "hwloc_topology_init: %s", strerror(errno));
		return -1;
	}
	if (hwloc_topology_load(*topo)) {
		snprintf(why, len, "hwloc_topology_load: %s", strerror(errno));
		hwloc_topology_destroy(*topo);
		return -1;
	}
	return 0;
}

static json_t *bitmap_json(hwloc_const_bitmap_t set)
{
	char *text = NULL;
	json_t *o;

	if (hwloc_bitmap_list_asprintf(&text, set) < 0)
		return json_null();
	o = json_string(text);
	free(text);
	return o;
}

static const char *cache_name(hwloc_obj_t o, char *buf, size_t len)
{
	const char *suffix = "";

	if (o->attr->cache.type == HWLOC_OBJ_CACHE_DATA)
		suffix = "d";
	else if (o->attr->cache.type == HWLOC_OBJ_CACHE_INSTRUCTION)
		suffix = "i";
	snprintf(buf, len, "L%u%s", o->attr->cache.depth, suffix);
	return buf;
}

json_t *mb_topology_summary(void)
{
	static const hwloc_obj_type_t caches[] = {
		HWLOC_OBJ_L1ICACHE, HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2ICACHE, HWLOC_OBJ_L2CACHE,
		HWLOC_OBJ_L3ICACHE, HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L4CACHE, HWLOC_OBJ_L5CACHE,
	};
	hwloc_topology_t topo;
	json_t *o, *cache_list = json_array(), *numa = json_array();
	char why[256];
	int cores, pus;
	unsigned v = hwloc_get_api_version();
	char version[32];

	if (load(&topo, why, sizeof(why))) {
		json_decref(cache_list);
		json_decref(numa);
		return json_pack("{s:b, s:s}", "available", 0, "reason", why);
	}
	/* the library built against; its API level may be older ("2.8") */
#ifdef HWLOC_VERSION
	snprintf(version, sizeof(version), "hwloc %s (API %u.%u)", HWLOC_VERSION, v >> 16, (v >> 8) & 0xff);
#else
	snprintf(version, sizeof(version), "hwloc API %u.%u.%u", v >> 16, (v >> 8) & 0xff, v & 0xff);
#endif
	for (size_t i = 0; i < sizeof(caches) / sizeof(caches[0]); i++) {
		int n = hwloc_get_nbobjs_by_type(topo, caches[i]);
		hwloc_obj_t first;
		uint64_t total = 0;
		char name[16];

		if (n <= 0)
			continue;
		first = hwloc_get_obj_by_type(topo, caches[i], 0);
		for (int j = 0; j < n; j++)
			total += hwloc_get_obj_by_type(topo, caches[i], (unsigned)j)->attr->cache.size;
		json_array_append_new(cache_list, json_pack(
			"{s:s, s:i, s:I, s:I, s:i, s:i}",
			"level", cache_name(first, name, sizeof(name)),
			"count", n,
			"size_bytes", (json_int_t)first->attr->cache.size,
			"total_bytes", (json_int_t)total,
			"line_bytes", (int)first->attr->cache.linesize,
			"shared_by_pus", first->cpuset ? hwloc_bitmap_weight(first->cpuset) : 0));
	}
	for (int i = 0; i < hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE); i++) {
		hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)i);

		json_array_append_new(numa, json_pack("{s:i, s:I, s:o}", "os_index", (int)node->os_index,
						      "memory_bytes", (json_int_t)node->attr->numanode.local_memory,
						      "cpus", bitmap_json(node->cpuset)));
	}
	cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
	pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
	o = json_pack("{s:b, s:s, s:i, s:i, s:i, s:i, s:i, s:o, s:o, s:o}",
		      "available", 1,
		      "source", version,
		      "packages", hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE),
		      "cores", cores,
		      "pus", pus,
		      "threads_per_core", cores > 0 ? pus / cores : 0,
		      "numa_nodes", hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE),
		      "numa", numa,
		      "caches", cache_list,
		      "allowed_cpus", bitmap_json(hwloc_topology_get_allowed_cpuset(topo)));
	hwloc_topology_destroy(topo);
	return o;
}

int mb_topology_save_xml(const char *dir, struct mb_err *err)
{
	hwloc_topology_t topo;
	char why[256], path[PATH_MAX];
	char *xml = NULL;
	int len = 0, rc;

	if (load(&topo, why, sizeof(why)))
		return mb_errf(err, 0, "%s", why);
	if (hwloc_topology_export_xmlbuffer(topo, &xml, &len, 0) < 0 || !xml) {
		rc = mb_errf(err, errno, "hwloc_topology_export_xmlbuffer");
	} else {
		snprintf(path, sizeof(path), "%s/topology.xml", dir);
		rc = mb_write_text_atomic(path, xml, len > 0 ? (size_t)len - 1 : 0, 1, err);
		hwloc_free_xmlbuffer(topo, xml);
	}
	hwloc_topology_destroy(topo);
	return rc;
}

/* ---- the placement probe ------------------------------------------------------ */

enum { WHO_SRC, WHO_DST, WHO_PROBES, WHOS };
static const char *const who_names[WHOS] = { "source", "destination", "probes" };
static const char *const who_keys[WHOS] = { "cpuset_src", "cpuset_dst", "cpuset_probes" };

struct placement {
	json_t *out;
};

/* migbench's own binding, so a later scenario without cpuset_probes gets
 * the whole machine back. */
static pthread_mutex_t self_lock = PTHREAD_MUTEX_INITIALIZER;
static bool self_bound;

static json_t *bind_one(hwloc_topology_t topo, int who, const char *text, pid_t pid)
{
	hwloc_bitmap_t set = hwloc_bitmap_alloc(), got = hwloc_bitmap_alloc();
	hwloc_const_bitmap_t allowed = hwloc_topology_get_allowed_cpuset(topo);
	struct mb_cpu_list cpus;
	char syntax[160], why[512] = "";
	json_t *o;
	/* The scenario key checked this before the run (check_cpuset): the
	 * same parser, so the two cannot disagree. */
	int rc = mb_parse_cpu_list(text, &cpus, syntax, sizeof(syntax));

	for (unsigned c = 0; !rc && c < MB_CPU_MAX; c++)
		if (mb_cpu_list_has(&cpus, c))
			hwloc_bitmap_set(set, c);
	if (rc) {
		snprintf(why, sizeof(why), "%s='%s' is not a CPU list: %s", who_keys[who], text, syntax);
	} else if (hwloc_bitmap_iszero(set) || !hwloc_bitmap_isincluded(set, allowed)) {
		char *have = NULL;

		hwloc_bitmap_list_asprintf(&have, allowed);
		snprintf(why, sizeof(why), "%s='%s' names CPUs this host does not offer (%s)", who_keys[who],
			 text, have ? have : "?");
		free(have);
	} else {
		if (who == WHO_PROBES)
			rc = hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_PROCESS);
		else
			rc = hwloc_set_proc_cpubind(topo, pid, set, HWLOC_CPUBIND_PROCESS);
		if (rc)
			snprintf(why, sizeof(why), "binding the %s to %s: %s", who_names[who], text,
				 strerror(errno));
	}
	if (why[0]) {
		o = json_pack("{s:s, s:b, s:s}", "cpuset", text, "applied", 0, "reason", why);
	} else {
		if (who == WHO_PROBES)
			rc = hwloc_get_cpubind(topo, got, HWLOC_CPUBIND_PROCESS);
		else
			rc = hwloc_get_proc_cpubind(topo, pid, got, HWLOC_CPUBIND_PROCESS);
		o = json_pack("{s:s, s:b, s:o}", "cpuset", text, "applied", 1,
			      "bound_to", rc ? json_null() : bitmap_json(got));
	}
	hwloc_bitmap_free(set);
	hwloc_bitmap_free(got);
	return o;
}

static int placement_start(void **state, const struct mb_probe_ctx *ctx, struct mb_err *err)
{
	const struct mb_placement_options *p = ctx->options;
	const char *texts[WHOS] = { p ? p->cpuset_src : NULL, p ? p->cpuset_dst : NULL,
				    p ? p->cpuset_probes : NULL };
	/* A side on another host is placed there, not here. */
	pid_t pids[WHOS] = { ctx->side[MB_SIDE_SOURCE].local ? ctx->side[MB_SIDE_SOURCE].pid : 0,
			     ctx->side[MB_SIDE_DESTINATION].local ? ctx->side[MB_SIDE_DESTINATION].pid : 0, 0 };
	struct placement *pl = calloc(1, sizeof(*pl));
	hwloc_topology_t topo;
	char why[256];
	bool any = false;

	if (!pl)
		return mb_errf(err, ENOMEM, "placement probe");
	for (int w = 0; w < WHOS; w++)
		any |= texts[w] && *texts[w];
	pthread_mutex_lock(&self_lock);
	if (!any && !self_bound) {
		pthread_mutex_unlock(&self_lock);
		pl->out = json_pack("{s:b, s:s}", "bound", 0, "detail",
				    "no cpuset_src, cpuset_dst or cpuset_probes: nothing bound");
		*state = pl;
		return 0;
	}
	if (load(&topo, why, sizeof(why))) {
		pthread_mutex_unlock(&self_lock);
		free(pl);
		return mb_errf(err, 0, "placement: %s", why);
	}
	pl->out = json_pack("{s:b}", "bound", any);
	for (int w = 0; w < WHOS; w++) {
		if (texts[w] && *texts[w]) {
			json_object_set_new(pl->out, who_names[w], bind_one(topo, w, texts[w], pids[w]));
			if (w == WHO_PROBES)
				self_bound = true;
		} else if (w == WHO_PROBES && self_bound) {
			/* An earlier scenario bound migbench: give it the machine back. */
			hwloc_set_cpubind(topo, hwloc_topology_get_allowed_cpuset(topo), HWLOC_CPUBIND_PROCESS);
			self_bound = false;
			json_object_set_new(pl->out, who_names[w], json_null());
		} else {
			json_object_set_new(pl->out, who_names[w], json_null());
		}
	}
	pthread_mutex_unlock(&self_lock);
	hwloc_topology_destroy(topo);
	*state = pl;
	return 0;
}

#else /* !HAVE_HWLOC */

json_t *mb_topology_summary(void)
{
	return json_pack("{s:b, s:s}", "available", 0, "reason",
			 "built without hwloc (install libhwloc-dev, re-run configure)");
}

int mb_topology_save_xml(const char *dir, struct mb_err *err)
{
	(void)dir;
	return mb_errf(err, 0, "built without hwloc: no topology XML");
}

struct placement {
	json_t *out;
};

static int placement_start(void **state, const struct mb_probe_ctx *ctx, struct mb_err *err)
{
	const struct mb_placement_options *p = ctx->options;
	struct placement *pl = calloc(1, sizeof(*pl));
	bool any = p && ((p->cpuset_src && *p->cpuset_src) || (p->cpuset_dst && *p->cpuset_dst) ||
			 (p->cpuset_probes && *p->cpuset_probes));

	if (!pl)
		return mb_errf(err, ENOMEM, "placement probe");
	pl->out = any ? json_pack("{s:b, s:s}", "bound", 0, "reason",
				  "cpuset_* given but built without hwloc: nothing bound")
		      : json_pack("{s:b, s:s}", "bound", 0, "detail",
				  "no cpuset_src, cpuset_dst or cpuset_probes: nothing bound");
	*state = pl;
	return 0;
}

#endif

static int placement_stop(void *state, struct mb_err *err)
{
	(void)state;
	(void)err;
	return 0;
}

static json_t *placement_to_json(void *state, const struct mb_mig_times *times)
{
	struct placement *pl = state;

	(void)times;
	return json_incref(pl->out);
}

static void placement_free(void *state)
{
	struct placement *pl = state;

	if (!pl)
		return;
	json_decref(pl->out);
	free(pl);
}

/* ---- the probe's scenario keys ------------------------------------------------ */

_Static_assert(MB_CPU_MAX <= CPU_SETSIZE, "every CPU of a list fits in a cpu_set_t");

/* The CPUs must exist here and be ours to use: the probe would otherwise
 * find out only once both QEMUs run. */
static int check_cpuset(const struct mb_key *key, const char *text, uint64_t value,
			struct mb_err *err)
{
	struct mb_cpu_list want, have = { { 0 } };
	char why[160], list[512];
	cpu_set_t mine;

	(void)key;
	(void)value;
	if (!*text)
		return 0;       /* unbound */
	if (mb_parse_cpu_list(text, &want, why, sizeof(why)))
		return mb_errf(err, 0, "'%s' is not a CPU list: %s", text, why);
	if (sched_getaffinity(0, sizeof(mine), &mine))
		return mb_errf(err, errno, "'%s': which CPUs this host offers (sched_getaffinity)",
			       text);
	for (unsigned c = 0; c < MB_CPU_MAX; c++)
		if (CPU_ISSET(c, &mine))
			mb_cpu_list_add(&have, c);
	for (unsigned c = 0; c < MB_CPU_MAX; c++) {
		if (mb_cpu_list_has(&want, c) && !mb_cpu_list_has(&have, c)) {
			mb_format_cpu_list(&have, list, sizeof(list));
			return mb_errf(err, 0, "'%s' names CPU %u, which this host does not offer "
				       "migbench (it may use %s)", text, c, list);
		}
	}
	return 0;
}

static const struct mb_key placement_keys[] = {
	{
		.name = "cpuset_src", .type = MB_TYPE_STRING,
		MB_FIELD(struct mb_placement_options, cpuset_src, const char *),
		.def = "", .check = check_cpuset,
		.help = "bind the source QEMU to these CPUs, '+'-separated ranges (0-1+4); empty = unbound",
	},
	{
		.name = "cpuset_dst", .type = MB_TYPE_STRING,
		MB_FIELD(struct mb_placement_options, cpuset_dst, const char *),
		.def = "", .check = check_cpuset,
		.help = "bind the destination QEMU to these CPUs (as cpuset_src)",
	},
	{
		.name = "cpuset_probes", .type = MB_TYPE_STRING,
		MB_FIELD(struct mb_placement_options, cpuset_probes, const char *),
		.def = "", .check = check_cpuset,
		.help = "bind migbench and its probe threads to these CPUs (as cpuset_src)",
	},
	{ 0 },
};

const struct mb_probe_ops mb_probe_placement = {
	.name = "placement",
	.summary = "CPU binding of source, destination and probes (cpuset_* keys, hwloc)",
	.options = placement_keys,
	.options_size = sizeof(struct mb_placement_options),
	.start = placement_start,
	.stop = placement_stop,
	.to_json = placement_to_json,
	.free = placement_free,
};
