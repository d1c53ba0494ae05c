/* Where energy readings would come from: the powercap tree (plain file reads,
 * preferred) or the perf `power` PMU (needs perf permissions), or nowhere,
 * with the reason a result file records as {"available": false}. */
#include "config.h"
#include "probes/energy_check.h"
#include "probes/energy.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define POWERCAP_DIR "class/powercap"
#define POWER_PMU_DIR "bus/event_source/devices/power"

/* Top-level zones only ("intel-rapl:0", not the sub-zone "intel-rapl:0:1"),
 * so a package's energy is not counted twice. AMD hosts use the same name. */
static int is_top_zone(const char *name)
{
	const char *p = name + strlen("intel-rapl:");

	if (strncmp(name, "intel-rapl:", strlen("intel-rapl:")) || !*p)
		return 0;
	return strspn(p, "0123456789") == strlen(p);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int top_zone_filter(const struct dirent *d)
{
	return is_top_zone(d->d_name);
}

static void probe_powercap(const char *sysfs, struct mb_host_rapl *out)
{
	struct mb_check *check = &out->powercap;
	char dir[PATH_MAX + 32], rel[PATH_MAX], value[64], zone_name[64];
	char readable[MB_PROBE_TEXT] = "", first_error[MB_PROBE_TEXT] = "";
	struct dirent **zones;
	int n;

	snprintf(dir, sizeof(dir), "%s/%s", sysfs, POWERCAP_DIR);
	n = scandir(dir, &zones, top_zone_filter, by_name);
	if (n < 0) {
		snprintf(check->detail, sizeof(check->detail), "%s: %s%s", dir, strerror(errno),
			 errno == ENOENT ? " (no powercap driver: not Intel/AMD, or a VM)" : "");
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *z = zones[i]->d_name;
		char *end;

		snprintf(rel, sizeof(rel), "%s/%s/energy_uj", POWERCAP_DIR, z);
		if (mb_host_read_file(sysfs, rel, value, sizeof(value)) < 0) {
			if (!first_error[0])
				snprintf(first_error, sizeof(first_error), "%s/%s/energy_uj: %s%s", dir, z,
					 strerror(errno),
					 errno == EACCES ? " (root-only since Linux 5.10)" : "");
			continue;
		}
		errno = 0;
		(void)strtoumax(value, &end, 10);
		if (errno || end == value || *end) {
			if (!first_error[0])
				snprintf(first_error, sizeof(first_error),
					 "%s/%s/energy_uj: not a counter: '%s'", dir, z, value);
			continue;
		}
		snprintf(rel, sizeof(rel), "%s/%s/name", POWERCAP_DIR, z);
		if (mb_host_read_file(sysfs, rel, zone_name, sizeof(zone_name)) < 0)
			snprintf(zone_name, sizeof(zone_name), "?");
		out->powercap_zones++;
		snprintf(readable + strlen(readable), sizeof(readable) - strlen(readable), "%s%s (%s)",
			 readable[0] ? ", " : "", z, zone_name);
	}
	for (int i = 0; i < n; i++)
		free(zones[i]);
	free(zones);

	if (out->powercap_zones > 0) {
		check->ok = true;
		snprintf(check->detail, sizeof(check->detail), "energy_uj readable in %s", readable);
	} else if (first_error[0]) {
		snprintf(check->detail, sizeof(check->detail), "%s", first_error);
	} else {
		snprintf(check->detail, sizeof(check->detail), "no intel-rapl:* zone in %s", dir);
	}
}

static int energy_filter(const struct dirent *d)
{
	return !strncmp(d->d_name, "energy-", 7) && !strchr(d->d_name, '.');
}

/* The PMU's energy-pkg event, opened system-wide on CPU 0 as the energy
 * probe would; the event code comes from sysfs ("event=0x02"). */
static void try_open_pkg(const char *sysfs, int type, struct mb_check *check)
{
	struct perf_event_attr attr = { .size = sizeof(attr), .type = (uint32_t)type };
	char value[64];
	uint64_t event;
	int fd;

	if (mb_host_read_file(sysfs, POWER_PMU_DIR "/events/energy-pkg", value, sizeof(value)) < 0 ||
	    sscanf(value, "event=%" SCNx64, &event) != 1) {
		snprintf(check->detail + strlen(check->detail), sizeof(check->detail) - strlen(check->detail),
			 "; no energy-pkg event to open");
		check->ok = false;
		return;
	}
	attr.config = event;
	fd = (int)syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		snprintf(check->detail + strlen(check->detail), sizeof(check->detail) - strlen(check->detail),
			 "; perf_event_open energy-pkg: %s%s", strerror(errno),
			 errno == EACCES ? " (needs CAP_PERFMON or perf_event_paranoid <= 0)" : "");
		check->ok = false;
		return;
	}
	close(fd);
	snprintf(check->detail + strlen(check->detail), sizeof(check->detail) - strlen(check->detail),
		 "; energy-pkg opens");
}

static void probe_perf_pmu(const char *sysfs, bool try_open, struct mb_host_rapl *out)
{
	struct mb_check *check = &out->perf;
	char value[32], dir[PATH_MAX + 64], names[MB_PROBE_TEXT / 2] = "";
	struct dirent **events;
	int type, n;

	if (mb_host_read_file(sysfs, POWER_PMU_DIR "/type", value, sizeof(value)) < 0) {
		snprintf(check->detail, sizeof(check->detail), "%s/%s/type: %s%s", sysfs, POWER_PMU_DIR,
			 strerror(errno), errno == ENOENT ? " (no perf power PMU)" : "");
		return;
	}
	type = atoi(value);
	snprintf(dir, sizeof(dir), "%s/%s/events", sysfs, POWER_PMU_DIR);
	n = scandir(dir, &events, energy_filter, by_name);
	if (n < 0) {
		snprintf(check->detail, sizeof(check->detail), "%s: %s", dir, strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++) {
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 names[0] ? ", " : "", events[i]->d_name);
		free(events[i]);
	}
	free(events);
	if (n == 0) {
		snprintf(check->detail, sizeof(check->detail), "power PMU (type %d) lists no energy-* event", type);
		return;
	}
	check->ok = true;
	snprintf(check->detail, sizeof(check->detail), "power PMU type %d: %s", type, names);
	if (try_open)
		try_open_pkg(sysfs, type, check);
}

void mb_probe_rapl(const struct mb_host_roots *roots, bool try_open, struct mb_host_rapl *out)
{
	*out = (struct mb_host_rapl){ .source = MB_RAPL_NONE };
	probe_powercap(roots->sysfs, out);
	probe_perf_pmu(roots->sysfs, try_open, out);
	/* PAPI reads the real machine whatever the sysfs root says. */
	if (try_open)
		mb_energy_papi_check(&out->papi);
	else
		snprintf(out->papi.detail, sizeof(out->papi.detail), "not checked against a fixture tree");
	/* The energy probe's order (probes/energy.c). */
	if (out->powercap.ok)
		out->source = MB_RAPL_POWERCAP;
	else if (out->perf.ok)
		out->source = MB_RAPL_PERF;
	else if (out->papi.ok)
		out->source = MB_RAPL_PAPI;
	else
		snprintf(out->reason, sizeof(out->reason), "powercap: %s; perf: %s; papi: %s",
			 out->powercap.detail, out->perf.detail, out->papi.detail);
}

const char *mb_rapl_source_name(enum mb_rapl_source source)
{
	switch (source) {
	case MB_RAPL_POWERCAP:
		return "powercap";
	case MB_RAPL_PERF:
		return "perf";
	case MB_RAPL_PAPI:
		return "papi";
	default:
		return "none";
	}
}
