/* RAPL energy from the powercap tree: one zone per package
 * (intel-rapl:N, "package-N"), sub-zones for its core, uncore and DRAM
 * (intel-rapl:N:M), and psys on some machines. energy_uj counts µJ and
 * wraps past max_energy_range_uj; it is root-only since Linux 5.10. */
#include "config.h"
#include "probes/energy.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POWERCAP_DIR "class/powercap"
#define PREFIX "intel-rapl:"

/* "intel-rapl:3" -> top 3, sub -1; "intel-rapl:3:1" -> 3, 1; else -1. */
static int zone_ids(const char *name, long *top, long *sub)
{
	const char *p = name + strlen(PREFIX);
	char *end;

	if (strncmp(name, PREFIX, strlen(PREFIX)) || *p < '0' || *p > '9')
		return -1;
	*top = strtol(p, &end, 10);
	*sub = -1;
	if (!*end)
		return 0;
	if (*end != ':' || end[1] < '0' || end[1] > '9')
		return -1;
	*sub = strtol(end + 1, &end, 10);
	return *end ? -1 : 0;
}

static int zone_filter(const struct dirent *d)
{
	long top, sub;

	return zone_ids(d->d_name, &top, &sub) == 0;
}

/* Numeric order: intel-rapl:2 before intel-rapl:10, each zone before its
 * sub-zones. */
static int zone_order(const struct dirent **a, const struct dirent **b)
{
	long at, as, bt, bs;

	zone_ids((*a)->d_name, &at, &as);
	zone_ids((*b)->d_name, &bt, &bs);
	if (at != bt)
		return at < bt ? -1 : 1;
	return as < bs ? -1 : as > bs;
}

static int read_u64(const char *sysfs, const char *zone, const char *file, uint64_t *value,
		    char *why, size_t len)
{
	char rel[PATH_MAX], text[64], *end;

	snprintf(rel, sizeof(rel), "%s/%s/%s", POWERCAP_DIR, zone, file);
	if (mb_host_read_file(sysfs, rel, text, sizeof(text)) < 0) {
		int e = errno;

		snprintf(why, len, "%s/%s: %s%s", sysfs, rel, strerror(e),
			 e == EACCES || e == EPERM ? " (energy_uj is root-only since Linux 5.10)" : "");
		return -1;
	}
	errno = 0;
	*value = strtoumax(text, &end, 10);
	if (errno || end == text || *end) {
		snprintf(why, len, "%s/%s: not a counter: '%s'", sysfs, rel, text);
		return -1;
	}
	return 0;
}

static const char *sub_kind(const char *name)
{
	if (!strcmp(name, "core"))
		return "core";
	if (!strcmp(name, "uncore"))
		return "uncore";
	if (!strcmp(name, "dram"))
		return "dram";
	return "other";
}

int mb_energy_powercap_open(struct mb_energy_dev *dev, char *why, size_t len)
{
	char dir[PATH_MAX + 32], rel[PATH_MAX], name[64];
	struct dirent **zones;
	int n, rc = 0, tops = 0;
	int top_package[256];

	snprintf(dir, sizeof(dir), "%s/%s", dev->sysfs, POWERCAP_DIR);
	n = scandir(dir, &zones, zone_filter, zone_order);
	if (n < 0) {
		snprintf(why, len, "%s: %s%s", dir, strerror(errno),
			 errno == ENOENT ? " (no powercap driver: not Intel/AMD, or a VM)" : "");
		return -1;
	}
	for (int i = 0; i < 256; i++)
		top_package[i] = -1;
	dev->n = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		const char *z = zones[i]->d_name;
		struct mb_energy_domain *d;
		long top, sub;

		zone_ids(z, &top, &sub);
		if (dev->n == MB_ENERGY_MAX_DOMAINS)
			break;
		d = &dev->d[dev->n];
		memset(d, 0, sizeof(*d));
		d->fd = -1;
		d->scale = 1;
		d->divisor = 1e6;
		snprintf(d->unit, sizeof(d->unit), "uJ");
		snprintf(d->where, sizeof(d->where), "%s", z);
		snprintf(rel, sizeof(rel), "%s/%s/name", POWERCAP_DIR, z);
		if (mb_host_read_file(dev->sysfs, rel, name, sizeof(name)) < 0)
			snprintf(name, sizeof(name), "%s", z);
		if (read_u64(dev->sysfs, z, "energy_uj", &d->raw, why, len)) {
			rc = -1;
			break;
		}
		/* Without the range a wrap cannot be undone; the zone is still
		 * worth reading (the doctor check names it). */
		if (read_u64(dev->sysfs, z, "max_energy_range_uj", &d->max_range, why, len))
			d->max_range = 0;
		if (sub < 0) {
			int pkg;

			tops++;
			if (sscanf(name, "package-%d", &pkg) == 1) {
				d->kind = "package";
				d->package = pkg;
				d->in_host_total = true;
			} else if (!strcmp(name, "psys")) {
				d->kind = "psys";
				d->package = -1;
			} else if (!strcmp(name, "dram")) {
				d->kind = "dram";
				d->package = -1;
				d->in_host_total = true;
			} else {
				d->kind = "other";
				d->package = -1;
			}
			if (top >= 0 && top < 256)
				top_package[top] = d->package;
			snprintf(d->name, sizeof(d->name), "%s", name);
		} else {
			int pkg = top >= 0 && top < 256 ? top_package[top] : -1;

			d->kind = sub_kind(name);
			d->package = pkg;
			/* DRAM is outside the package figure; core and uncore inside. */
			d->in_host_total = !strcmp(d->kind, "dram");
			if (pkg >= 0)
				snprintf(d->name, sizeof(d->name), "package-%d/%s", pkg, name);
			else
				snprintf(d->name, sizeof(d->name), "%s/%s", z, name);
		}
		dev->n++;
	}
	for (int i = 0; i < n; i++)
		free(zones[i]);
	free(zones);
	if (rc)
		return -1;
	if (!tops) {
		snprintf(why, len, "no intel-rapl:N zone in %s", dir);
		return -1;
	}
	return 0;
}

int mb_energy_powercap_read(struct mb_energy_dev *dev, char *why, size_t len)
{
	int rc = 0;

	for (size_t i = 0; i < dev->n; i++) {
		struct mb_energy_domain *d = &dev->d[i];
		uint64_t cur;

		if (read_u64(dev->sysfs, d->where, "energy_uj", &cur, why, len)) {
			rc = -1;
			continue;
		}
		if (cur < d->raw)
			d->wraps++;
		d->total += mb_energy_delta(d->raw, cur, d->max_range);
		d->raw = cur;
	}
	return rc;
}
