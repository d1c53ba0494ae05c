/* RAPL energy through PAPI: its `powercap` component (the same sysfs tree,
 * in µJ) or its `rapl` component (the MSRs through /dev/cpu/N/msr, in nJ),
 * where the direct sources do not work. PAPI counts from PAPI_start, so a
 * reading is already cumulative. Built only with PAPI (HAVE_PAPI); all
 * calls of one event set happen on the probe's sampling thread. */
#include "config.h"
#include "probes/energy.h"

#include <stdio.h>
#include <string.h>

#ifdef HAVE_PAPI
#include <papi.h>
#include <pthread.h>
#include <stdlib.h>

static pthread_once_t papi_once = PTHREAD_ONCE_INIT;
static int papi_init_rc;

static unsigned long thread_id(void)
{
	return (unsigned long)pthread_self();
}

static void papi_init(void)
{
	papi_init_rc = PAPI_library_init(PAPI_VER_CURRENT);
	if (papi_init_rc == PAPI_VER_CURRENT)
		PAPI_thread_init(thread_id);
}

/* The first of "powercap", "rapl" that PAPI has enabled; -1 with why. */
static int energy_component(char *why, size_t len)
{
	static const char *const names[] = { "powercap", "rapl" };
	char detail[2][PAPI_MAX_STR_LEN + 64];

	pthread_once(&papi_once, papi_init);
	if (papi_init_rc != PAPI_VER_CURRENT) {
		snprintf(why, len, "PAPI_library_init: %s", PAPI_strerror(papi_init_rc));
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		int cid = PAPI_get_component_index(names[i]);
		const PAPI_component_info_t *info;

		if (cid < 0) {
			snprintf(detail[i], sizeof(detail[i]), "no %s component in this PAPI build", names[i]);
			continue;
		}
		info = PAPI_get_component_info(cid);
		if (info && info->disabled) {
			snprintf(detail[i], sizeof(detail[i]), "%s component disabled: %s", names[i],
				 info->disabled_reason);
			continue;
		}
		return cid;
	}
	snprintf(why, len, "PAPI %d.%d: %s; %s", PAPI_VERSION_MAJOR(PAPI_VERSION),
		 PAPI_VERSION_MINOR(PAPI_VERSION), detail[0], detail[1]);
	return -1;
}

/* Which energy events of the component to read, and as what domain. */
static int classify(const char *event, struct mb_energy_domain *d)
{
	const char *colon = strstr(event, ":::");
	const char *e = colon ? colon + 3 : event;
	int a, b;

	if (!strncmp(event, "powercap", 8)) {
		if (strncmp(e, "ENERGY_UJ:", 10))
			return -1;
		if (sscanf(e + 10, "ZONE%d_SUBZONE%d", &a, &b) == 2) {
			d->kind = "other";
			d->package = a;
			snprintf(d->name, sizeof(d->name), "package-%d/subzone-%d", a, b);
		} else if (sscanf(e + 10, "ZONE%d", &a) == 1) {
			d->kind = "package";
			d->package = a;
			d->in_host_total = true;
			snprintf(d->name, sizeof(d->name), "package-%d", a);
		} else {
			return -1;
		}
		return 0;
	}
	/* rapl:::PACKAGE_ENERGY:PACKAGE0 (not the raw *_CNT ones) */
	{
		static const struct { const char *prefix, *kind, *suffix; } map[] = {
			{ "PACKAGE_ENERGY:", "package", NULL }, { "DRAM_ENERGY:", "dram", "dram" },
			{ "PP0_ENERGY:", "core", "core" }, { "PP1_ENERGY:", "uncore", "uncore" },
			{ "PSYS_ENERGY:", "psys", NULL },
		};

		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
			size_t n = strlen(map[i].prefix);

			if (strncmp(e, map[i].prefix, n) || sscanf(e + n, "PACKAGE%d", &a) != 1)
				continue;
			d->kind = map[i].kind;
			d->package = a;
			d->in_host_total = !strcmp(d->kind, "package") || !strcmp(d->kind, "dram");
			if (!strcmp(d->kind, "psys"))
				snprintf(d->name, sizeof(d->name), "psys");
			else if (map[i].suffix)
				snprintf(d->name, sizeof(d->name), "package-%d/%s", a, map[i].suffix);
			else
				snprintf(d->name, sizeof(d->name), "package-%d", a);
			return 0;
		}
	}
	return -1;
}

static double divisor_of(const char *units)
{
	if (!strcmp(units, "nJ"))
		return 1e9;
	if (!strcmp(units, "uJ"))
		return 1e6;
	if (!strcmp(units, "mJ"))
		return 1e3;
	if (!strcmp(units, "J"))
		return 1;
	return 0;
}

struct papi_set {
	int set;
	long long values[MB_ENERGY_MAX_DOMAINS];
};

int mb_energy_papi_open(struct mb_energy_dev *dev, char *why, size_t len)
{
	struct papi_set *ps;
	int cid = energy_component(why, len), code = PAPI_NATIVE_MASK, rc;

	if (cid < 0)
		return -1;
	ps = calloc(1, sizeof(*ps));
	if (!ps) {
		snprintf(why, len, "PAPI: out of memory");
		return -1;
	}
	ps->set = PAPI_NULL;
	if ((rc = PAPI_create_eventset(&ps->set)) != PAPI_OK) {
		snprintf(why, len, "PAPI_create_eventset: %s", PAPI_strerror(rc));
		free(ps);
		return -1;
	}
	dev->n = 0;
	for (rc = PAPI_enum_cmp_event(&code, PAPI_ENUM_FIRST, cid);
	     rc == PAPI_OK && dev->n < MB_ENERGY_MAX_DOMAINS;
	     rc = PAPI_enum_cmp_event(&code, PAPI_ENUM_EVENTS, cid)) {
		char name[PAPI_MAX_STR_LEN];
		PAPI_event_info_t info;
		struct mb_energy_domain *d = &dev->d[dev->n];

		memset(d, 0, sizeof(*d));
		d->fd = -1;
		if (PAPI_event_code_to_name(code, name) != PAPI_OK || classify(name, d))
			continue;
		if (PAPI_get_event_info(code, &info) != PAPI_OK || !divisor_of(info.units))
			continue;
		if (PAPI_add_event(ps->set, code) != PAPI_OK)
			continue;
		d->scale = 1;
		d->divisor = divisor_of(info.units);
		snprintf(d->unit, sizeof(d->unit), "%s", info.units);
		snprintf(d->where, sizeof(d->where), "%s", name);
		d->papi_index = (int)dev->n;
		dev->n++;
	}
	if (!dev->n) {
		snprintf(why, len, "PAPI component %s lists no energy event it can add",
			 PAPI_get_component_info(cid)->name);
		PAPI_destroy_eventset(&ps->set);
		free(ps);
		return -1;
	}
	if ((rc = PAPI_start(ps->set)) != PAPI_OK) {
		snprintf(why, len, "PAPI_start: %s", PAPI_strerror(rc));
		PAPI_cleanup_eventset(ps->set);
		PAPI_destroy_eventset(&ps->set);
		free(ps);
		dev->n = 0;
		return -1;
	}
	dev->papi = ps;
	return 0;
}

int mb_energy_papi_read(struct mb_energy_dev *dev, char *why, size_t len)
{
	struct papi_set *ps = dev->papi;
	int rc = PAPI_read(ps->set, ps->values);

	if (rc != PAPI_OK) {
		snprintf(why, len, "PAPI_read: %s", PAPI_strerror(rc));
		return -1;
	}
	for (size_t i = 0; i < dev->n; i++) {
		struct mb_energy_domain *d = &dev->d[i];
		uint64_t cur = ps->values[d->papi_index] > 0 ? (uint64_t)ps->values[d->papi_index] : 0;

		d->total += mb_energy_delta(d->raw, cur, 0);
		d->raw = cur;
	}
	return 0;
}

void mb_energy_papi_close(struct mb_energy_dev *dev)
{
	struct papi_set *ps = dev->papi;

	if (!ps)
		return;
	PAPI_stop(ps->set, ps->values);
	PAPI_cleanup_eventset(ps->set);
	PAPI_destroy_eventset(&ps->set);
	free(ps);
	dev->papi = NULL;
}

void mb_energy_papi_check(struct mb_check *check)
{
	char why[sizeof(check->detail)];
	int cid = energy_component(why, sizeof(why));

	check->ok = cid >= 0;
	if (cid >= 0)
		snprintf(check->detail, sizeof(check->detail), "PAPI component %s enabled",
			 PAPI_get_component_info(cid)->name);
	else
		snprintf(check->detail, sizeof(check->detail), "%s", why);
}

#else /* !HAVE_PAPI */

int mb_energy_papi_open(struct mb_energy_dev *dev, char *why, size_t len)
{
	(void)dev;
	snprintf(why, len, "built without PAPI");
	return -1;
}

int mb_energy_papi_read(struct mb_energy_dev *dev, char *why, size_t len)
{
	(void)dev;
	snprintf(why, len, "built without PAPI");
	return -1;
}

void mb_energy_papi_close(struct mb_energy_dev *dev)
{
	(void)dev;
}

void mb_energy_papi_check(struct mb_check *check)
{
	check->ok = false;
	snprintf(check->detail, sizeof(check->detail), "built without PAPI (install libpapi-dev, re-run configure)");
}

#endif
