/* The energy probe: RAPL energy per domain and per host over a migration,
 * with the idle baseline measured in the window before `migrate`.
 *
 * Sources, in order of preference (bench/host_rapl.c tells `migbench
 * doctor` the same order):
 *   powercap  /sys/class/powercap/intel-rapl:N[:M]/energy_uj (AMD packages
 *             appear there too): plain reads, wraps at max_energy_range_uj;
 *   perf      the `power` PMU (/sys/bus/event_source/devices/power): events
 *             energy-pkg, -ram, -cores, -gpu, -psys with their .scale and
 *             .unit, opened system-wide on one CPU per package (`cpumask`);
 *   papi      PAPI's `powercap` or `rapl` component, when built with PAPI.
 * A source is used only when its domains read (powercap: every zone's
 * energy_uj; perf: energy-pkg on every package); when no source does, the
 * result says {"available": false, "reason": ...} with each source's
 * reason, and the run goes on.
 *
 * Domains: each package ("package-0"), its sub-domains ("package-0/core",
 * "package-0/uncore", "package-0/dram") and "psys" where present. The host
 * total adds packages and DRAM only: core and uncore are inside the package
 * figure, and psys covers the whole platform (it would count twice).
 *
 * The sysfs root comes from $MIGBENCH_SYSFS_ROOT, so the tests run against
 * fixture trees (tests/fixtures/sysfs/energy-*). */
#ifndef MB_PROBES_ENERGY_H
#define MB_PROBES_ENERGY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "probes/energy_check.h"
#include "bench/metrics.h"
#include "probes/counters_series.h"
#include "probes/probe.h"

#define MB_ENERGY_MAX_DOMAINS 32
#define MB_ENERGY_REASON 1536

struct mb_energy_domain {
	char name[64];          /* "package-0", "package-0/dram", "psys" */
	const char *kind;       /* "package", "core", "uncore", "dram", "psys", "other" */
	int package;            /* -1 when not one package's */
	char where[192];        /* "intel-rapl:0:1", "power/energy-ram on CPU 2", a PAPI event */
	bool in_host_total;     /* packages and DRAM */
	/* joules = units * scale / divisor: µJ divide by 1e6 (exact), perf
	 * counts multiply by the event's .scale */
	double scale, divisor;
	char unit[16];          /* of the raw counter: "uJ", "nJ", or the perf .unit */
	uint64_t max_range;     /* the raw counter wraps past this; 0 = unknown/64-bit */
	/* state of the reader */
	uint64_t raw;           /* last raw reading */
	uint64_t total;         /* units since open, wrap-arounds undone */
	unsigned wraps;
	int fd;                 /* perf: the event's fd, else -1 */
	int papi_index;         /* PAPI: position in the event set */
};

struct mb_energy_dev {
	enum mb_rapl_source source;
	char sysfs[PATH_MAX];
	size_t n;
	struct mb_energy_domain d[MB_ENERGY_MAX_DOMAINS];
	void *papi;             /* PAPI event set and values, when source is papi */
};

/* Units the raw counter advanced from `prev` to `cur`. A counter that went
 * down wrapped: it climbed to max_range and restarted from 0, so the
 * advance is (max_range - prev) + cur. With max_range unknown (0) only
 * `cur` can be counted. */
uint64_t mb_energy_delta(uint64_t prev, uint64_t cur, uint64_t max_range);

/* Opens a source and takes the first reading (totals start at 0). `want`
 * MB_RAPL_NONE tries powercap, perf, then PAPI. Returns 0, or -1 with
 * `reason` saying why each source tried could not be used. */
int mb_energy_open(const char *sysfs, enum mb_rapl_source want, struct mb_energy_dev **out,
		   char *reason, size_t len);
/* Reads every domain and advances its total. 0, or -1 with `why` (the
 * totals keep their last values). */
int mb_energy_read(struct mb_energy_dev *dev, char *why, size_t len);
void mb_energy_close(struct mb_energy_dev *dev);

/* Joules of domain `i` for a number of its units. */
double mb_energy_joules(const struct mb_energy_domain *d, double units);

/* The `energy` block: per domain and for the host, per phase, joules,
 * average watts and joules above the idle baseline (the `before` phase's
 * average power times the phase's duration). `s` has one value per domain
 * (its `total`), sampled over [first_us, last_us]. New reference. */
json_t *mb_energy_report(const struct mb_energy_dev *dev, const struct mb_series *s,
			 const struct mb_mig_times *t, int64_t first_us, int64_t last_us);

/* ---- sources (probes/energy_powercap.c, energy_perf.c, energy_papi.c) -------- */

int mb_energy_powercap_open(struct mb_energy_dev *dev, char *why, size_t len);
int mb_energy_powercap_read(struct mb_energy_dev *dev, char *why, size_t len);

/* The perf `power` PMU as sysfs describes it. */
#define MB_PERF_POWER_MAX_CPUS 64
#define MB_PERF_POWER_MAX_EVENTS 8
struct mb_perf_power_event {
	char name[32];          /* "energy-pkg" */
	uint64_t config;        /* from "event=0x02" */
	double scale;           /* joules per count, from energy-pkg.scale */
	char unit[16];          /* "Joules" */
};
struct mb_perf_power_pmu {
	int type;               /* perf_event_attr.type */
	size_t ncpus;
	int cpus[MB_PERF_POWER_MAX_CPUS];     /* cpumask: one CPU per package */
	int packages[MB_PERF_POWER_MAX_CPUS]; /* their physical_package_id */
	size_t nevents;
	struct mb_perf_power_event events[MB_PERF_POWER_MAX_EVENTS];
};

/* Parses a CPU list ("0", "0,36", "0-3,8"): the CPUs, at most `max`.
 * Returns how many, or -1 when the text is not a CPU list. */
int mb_cpulist_parse(const char *text, int *cpus, size_t max);
/* Reads the power PMU's type, cpumask and energy-* events (sorted by
 * name). 0, or -1 with `why`. */
int mb_perf_power_parse(const char *sysfs, struct mb_perf_power_pmu *pmu, char *why, size_t len);
int mb_energy_perf_open(struct mb_energy_dev *dev, char *why, size_t len);
int mb_energy_perf_read(struct mb_energy_dev *dev, char *why, size_t len);
void mb_energy_perf_close(struct mb_energy_dev *dev);

/* PAPI (compiled only with HAVE_PAPI; without it these say so). */
int mb_energy_papi_open(struct mb_energy_dev *dev, char *why, size_t len);
int mb_energy_papi_read(struct mb_energy_dev *dev, char *why, size_t len);
void mb_energy_papi_close(struct mb_energy_dev *dev);
/* Whether PAPI has a usable powercap or rapl component, for doctor. */
void mb_energy_papi_check(struct mb_check *check);

extern const struct mb_probe_ops mb_probe_energy;

#endif
