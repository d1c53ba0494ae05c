/* Host topology and placement, with hwloc (HAVE_HWLOC).
 *
 * - A summary of the machine (packages, cores, PUs, NUMA nodes and their
 *   memory, caches) for the result's `host.topology`; the full hwloc XML is
 *   saved once per campaign beside its results (topology.xml).
 * - The `placement` probe: binds the source QEMU, the destination QEMU and
 *   migbench itself (its probe threads) to the CPUs of the scenario keys
 *   cpuset_src, cpuset_dst and cpuset_probes ("0-1+4": '+'-separated
 *   ranges, since a comma sweeps), just before the migration, and records
 *   the binding each one ended up with. Unset keys bind nothing.
 * Without hwloc every part says so ({"available": false, "reason": ...}). */
#ifndef MB_PROBES_TOPOLOGY_H
#define MB_PROBES_TOPOLOGY_H

#include <stddef.h>

#include <jansson.h>

#include "bench/error.h"
#include "probes/probe.h"

/* The summary (new reference; never NULL unless out of memory). */
json_t *mb_topology_summary(void);

/* Writes the full topology as hwloc XML to dir/topology.xml (atomically).
 * 0, or -1 with err. */
int mb_topology_save_xml(const char *dir, struct mb_err *err);

/* The probe's own scenario keys (probes/topology.c), parsed for a run:
 * '+'-separated CPU lists, "" = unbound. The libvirt runner reads them
 * too (its domains' <vcpu cpuset>). */
struct mb_placement_options {
	const char *cpuset_src;         /* the source QEMU */
	const char *cpuset_dst;         /* the destination QEMU */
	const char *cpuset_probes;      /* migbench itself (its probe threads) */
};

extern const struct mb_probe_ops mb_probe_placement;

#endif
