/* RAPL energy from the perf `power` PMU: each energy-* event opened
 * system-wide (pid -1) on one CPU per package, the CPUs its `cpumask` file
 * lists. A count times the event's .scale is joules (its .unit says
 * "Joules"); the counters are 64-bit, the kernel undoes the hardware's
 * 32-bit wrap. Opening needs CAP_PERFMON (root) or perf_event_paranoid <= 0. */
#include "config.h"
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

#define PMU_DIR "bus/event_source/devices/power"

int mb_cpulist_parse(const char *text, int *cpus, size_t max)
{
	const char *p = text;
	size_t n = 0;

	while (*p == ' ')
		p++;
	if (!*p)
		return 0;
	for (;;) {
		char *end;
		long a, b;

		if (*p < '0' || *p > '9')
			return -1;
		a = strtol(p, &end, 10);
		b = a;
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				return -1;
			b = strtol(p, &end, 10);
			if (b < a)
				return -1;
		}
		for (long c = a; c <= b && n < max; c++)
			cpus[n++] = (int)c;
		p = end;
		if (!*p || *p == '\n')
			break;
		if (*p != ',')
			return -1;
		p++;
	}
	return (int)n;
}

static int energy_event_filter(const struct dirent *d)
{
	return !strncmp(d->d_name, "energy-", 7) && !strchr(d->d_name, '.');
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* "event=0x02" (with an optional ",umask=0x.." the power PMU never has). */
static int parse_config(const char *text, uint64_t *config)
{
	uint64_t event = 0, umask = 0;
	const char *u;

	if (sscanf(text, "event=%" SCNi64, &event) != 1)
		return -1;
	u = strstr(text, "umask=");
	if (u && sscanf(u, "umask=%" SCNi64, &umask) != 1)
		return -1;
	*config = event | umask << 8;
	return 0;
}

static int read_event(const char *sysfs, const char *name, struct mb_perf_power_event *ev,
		      char *why, size_t len)
{
	char rel[PATH_MAX], text[128], *end;

	memset(ev, 0, sizeof(*ev));
	snprintf(ev->name, sizeof(ev->name), "%s", name);
	snprintf(rel, sizeof(rel), "%s/events/%s", PMU_DIR, name);
	if (mb_host_read_file(sysfs, rel, text, sizeof(text)) < 0) {
		snprintf(why, len, "%s/%s: %s", sysfs, rel, strerror(errno));
		return -1;
	}
	if (parse_config(text, &ev->config)) {
		snprintf(why, len, "%s/%s: not an event encoding: '%s'", sysfs, rel, text);
		return -1;
	}
	snprintf(rel, sizeof(rel), "%s/events/%s.scale", PMU_DIR, name);
	if (mb_host_read_file(sysfs, rel, text, sizeof(text)) < 0) {
		snprintf(why, len, "%s/%s: %s (a count means nothing without it)", sysfs, rel,
			 strerror(errno));
		return -1;
	}
	errno = 0;
	ev->scale = strtod(text, &end);
	if (errno || end == text || *end || !(ev->scale > 0)) {
		snprintf(why, len, "%s/%s: not a scale: '%s'", sysfs, rel, text);
		return -1;
	}
	snprintf(rel, sizeof(rel), "%s/events/%s.unit", PMU_DIR, name);
	if (mb_host_read_file(sysfs, rel, ev->unit, sizeof(ev->unit)) < 0)
		snprintf(ev->unit, sizeof(ev->unit), "Joules");
	return 0;
}

int mb_perf_power_parse(const char *sysfs, struct mb_perf_power_pmu *pmu, char *why, size_t len)
{
	char text[512], dir[PATH_MAX + 64], rel[PATH_MAX];
	struct dirent **events;
	int n, ncpus, rc = 0;

	memset(pmu, 0, sizeof(*pmu));
	if (mb_host_read_file(sysfs, PMU_DIR "/type", text, sizeof(text)) < 0) {
		snprintf(why, len, "%s/%s/type: %s%s", sysfs, PMU_DIR, strerror(errno),
			 errno == ENOENT ? " (no perf power PMU)" : "");
		return -1;
	}
	pmu->type = atoi(text);
	if (mb_host_read_file(sysfs, PMU_DIR "/cpumask", text, sizeof(text)) < 0) {
		snprintf(why, len, "%s/%s/cpumask: %s", sysfs, PMU_DIR, strerror(errno));
		return -1;
	}
	ncpus = mb_cpulist_parse(text, pmu->cpus, MB_PERF_POWER_MAX_CPUS);
	if (ncpus <= 0) {
		snprintf(why, len, "%s/%s/cpumask: no CPU list: '%s'", sysfs, PMU_DIR, text);
		return -1;
	}
	pmu->ncpus = (size_t)ncpus;
	for (size_t i = 0; i < pmu->ncpus; i++) {
		snprintf(rel, sizeof(rel), "devices/system/cpu/cpu%d/topology/physical_package_id",
			 pmu->cpus[i]);
		pmu->packages[i] = mb_host_read_file(sysfs, rel, text, sizeof(text)) == 0
					   ? atoi(text) : (int)i;
	}
	snprintf(dir, sizeof(dir), "%s/%s/events", sysfs, PMU_DIR);
	n = scandir(dir, &events, energy_event_filter, by_name);
	if (n < 0) {
		snprintf(why, len, "%s: %s", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (rc == 0 && pmu->nevents < MB_PERF_POWER_MAX_EVENTS) {
			if (read_event(sysfs, events[i]->d_name, &pmu->events[pmu->nevents], why, len))
				rc = -1;
			else
				pmu->nevents++;
		}
		free(events[i]);
	}
	free(events);
	if (rc)
		return -1;
	if (!pmu->nevents) {
		snprintf(why, len, "power PMU (type %d) lists no energy-* event", pmu->type);
		return -1;
	}
	return 0;
}

/* energy-pkg -> package, -ram -> dram, -cores -> core, -gpu -> uncore
 * (the graphics plane, powercap's "uncore"), -psys -> psys. */
static const char *event_kind(const char *name)
{
	static const struct { const char *suffix, *kind; } map[] = {
		{ "pkg", "package" }, { "ram", "dram" }, { "cores", "core" },
		{ "gpu", "uncore" }, { "psys", "psys" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(name + 7, map[i].suffix))
			return map[i].kind;
	return "other";
}

static int perf_open_cpu(int type, uint64_t config, int cpu)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = (uint32_t)type,
		.config = config,
	};

	return (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static int read_count(int fd, uint64_t *value)
{
	return read(fd, value, sizeof(*value)) == (ssize_t)sizeof(*value) ? 0 : -1;
}

int mb_energy_perf_open(struct mb_energy_dev *dev, char *why, size_t len)
{
	struct mb_perf_power_pmu pmu;
	int packages_opened = 0;

	if (mb_perf_power_parse(dev->sysfs, &pmu, why, len))
		return -1;
	dev->n = 0;
	for (size_t c = 0; c < pmu.ncpus; c++) {
		for (size_t e = 0; e < pmu.nevents; e++) {
			const struct mb_perf_power_event *ev = &pmu.events[e];
			const char *kind = event_kind(ev->name);
			struct mb_energy_domain *d;
			int fd;

			/* psys is the platform's: once, not per package. */
			if (!strcmp(kind, "psys") && c > 0)
				continue;
			if (dev->n == MB_ENERGY_MAX_DOMAINS)
				break;
			fd = perf_open_cpu(pmu.type, ev->config, pmu.cpus[c]);
			if (fd < 0) {
				int e2 = errno;

				if (!strcmp(kind, "package")) {
					snprintf(why, len, "perf_event_open power/%s on CPU %d: %s%s", ev->name,
						 pmu.cpus[c], strerror(e2),
						 e2 == EACCES || e2 == EPERM
							 ? " (needs CAP_PERFMON or perf_event_paranoid <= 0)" : "");
					mb_energy_perf_close(dev);
					return -1;
				}
				continue;       /* a domain this CPU does not have */
			}
			d = &dev->d[dev->n++];
			memset(d, 0, sizeof(*d));
			d->fd = fd;
			d->kind = kind;
			d->package = !strcmp(kind, "psys") ? -1 : pmu.packages[c];
			d->in_host_total = !strcmp(kind, "package") || !strcmp(kind, "dram");
			d->scale = ev->scale;
			d->divisor = 1;
			snprintf(d->unit, sizeof(d->unit), "%s", ev->unit);
			snprintf(d->where, sizeof(d->where), "power/%s on CPU %d", ev->name, pmu.cpus[c]);
			if (!strcmp(kind, "package"))
				snprintf(d->name, sizeof(d->name), "package-%d", d->package);
			else if (!strcmp(kind, "psys"))
				snprintf(d->name, sizeof(d->name), "psys");
			else
				snprintf(d->name, sizeof(d->name), "package-%d/%s", d->package, kind);
			if (read_count(fd, &d->raw)) {
				snprintf(why, len, "read power/%s on CPU %d: %s", ev->name, pmu.cpus[c],
					 strerror(errno));
				mb_energy_perf_close(dev);
				return -1;
			}
			packages_opened += !strcmp(kind, "package");
		}
	}
	if (!packages_opened) {
		snprintf(why, len, "power PMU has no energy-pkg event");
		mb_energy_perf_close(dev);
		return -1;
	}
	return 0;
}

int mb_energy_perf_read(struct mb_energy_dev *dev, char *why, size_t len)
{
	int rc = 0;

	for (size_t i = 0; i < dev->n; i++) {
		struct mb_energy_domain *d = &dev->d[i];
		uint64_t cur;

		if (read_count(d->fd, &cur)) {
			snprintf(why, len, "read %s: %s", d->where, strerror(errno));
			rc = -1;
			continue;
		}
		d->total += mb_energy_delta(d->raw, cur, 0);
		d->raw = cur;
	}
	return rc;
}

void mb_energy_perf_close(struct mb_energy_dev *dev)
{
	for (size_t i = 0; i < dev->n; i++)
		if (dev->d[i].fd >= 0) {
			close(dev->d[i].fd);
			dev->d[i].fd = -1;
		}
}
