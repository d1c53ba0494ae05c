/* The table of scenario keys, and how a value of each type is parsed,
 * stored, printed and echoed. Adding a global key is one entry here, one
 * field in struct mb_params and one enum mb_key_id; a key of one probe or
 * runner is an entry of that plug-in's own table instead (its `options`),
 * merged into the same namespace at start-up (mb_keys_build). Everything
 * else (files, options, sweeps, --help, the JSON echo) follows from the
 * tables. */
#include "config.h"
#include "bench/scenario.h"
#include "bench/qemu_releases.h"
#include "bench/units.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define TiB (UINT64_C(1) << 40)

#define US UINT64_C(1)
#define MS (1000 * US)
#define SEC (1000 * MS)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

/* The offset of a field, with a compile-time warning ("comparison of
 * distinct pointer types") when the field's type is not `type`: the store
 * writes through a pointer of the type the key's kind implies. */
#define FIELD(field, type) MB_FIELD(struct mb_params, field, type)

/* Choice fields are written as int. */
_Static_assert(sizeof(enum mb_mode) == sizeof(int) && sizeof(enum mb_workload) == sizeof(int) &&
	       sizeof(enum mb_pattern) == sizeof(int) && sizeof(enum mb_transport) == sizeof(int) &&
	       sizeof(enum mb_compression) == sizeof(int) && sizeof(enum mb_accel) == sizeof(int),
	       "choice fields are stored as int");

static const char *const mode_names[] = { MB_MODES(MB_X_NAME) NULL };
static const char *const workload_names[] = { MB_WORKLOADS(MB_X_NAME) NULL };
static const char *const pattern_names[] = { MB_PATTERNS(MB_X_NAME) NULL };
static const char *const transport_names[] = { MB_TRANSPORTS(MB_X_NAME) NULL };
static const char *const compression_names[] = { MB_COMPRESSIONS(MB_X_NAME) NULL };
static const char *const accel_names[] = { MB_ACCELS(MB_X_NAME) NULL };

/* ---- what type and range cannot say (mb_key.check) ------------------------ */

/* qemu_argv.c gives QEMU the guest's RAM as -m <MiB>M. */
static int check_whole_mib(const struct mb_key *key, const char *text, uint64_t value,
			   struct mb_err *err)
{
	if (value % MiB)
		return mb_errf(err, 0, "'%s' is not a whole number of MiB (QEMU is given the "
			       "guest's RAM in MiB)", text);
	return 0;
}

/* QEMU's migrate-set-parameters: "Parameter 'xbzrle_cache_size' expects a
 * power of two no less than the target page size". */
static int check_xbzrle_cache(const struct mb_key *key, const char *text, uint64_t value,
			      struct mb_err *err)
{
	if (value && (value < MB_GUEST_PAGE_SIZE || (value & (value - 1))))
		return mb_errf(err, 0, "'%s' is neither 0 (off) nor a power of two of at least 4K "
			       "(QEMU refuses other cache sizes)", text);
	return 0;
}

/* A scenario file is a program: qemu= runs whatever binary it names, as root
 * for the network workloads. A bare name would be looked up in the PATH of
 * whoever runs migbench, a relative one in their working directory: neither
 * is necessarily what the author of the file meant. So a scenario names its
 * QEMU by absolute path; only the built-in default (what configure found,
 * a bare name when it found none) is taken as it is.
 * This is the one place that decides which QEMUs a scenario may name:
 * installed version names (`qemu=7.2`, a QEMU in its own Debian root) are
 * let through here and resolved to their root and binary by the runner
 * (runners/qemu_versions.h). */
static int check_qemu_binary(const struct mb_key *key, const char *text, uint64_t value,
			     struct mb_err *err)
{
	if (text[0] == '/' || !strcmp(text, key->def) || (!*key->def && !strcmp(text, "same")))
		return 0;
	/* A version `migbench qemu` installs (whether it is installed is
	 * checked with the host, before any guest boots). */
	if (mb_qemu_release_find(text) && mb_qemu_is_version_name(text))
		return 0;
	return mb_errf(err, 0, "'%s' is neither an absolute path nor a QEMU version name "
		       "(`migbench qemu list`): a scenario file is a program, and the QEMU it runs "
		       "must not depend on PATH or the working directory (write e.g. "
		       "/usr/bin/qemu-system-x86_64, or qemu=7.2)", text);
}

/* The plug-in of kind "probe" called name[0..len), from the namespace
 * (the registered probes: bench/plugins.c), or NULL. */
static const struct mb_plugin *probe_named(const char *name, size_t len)
{
	for (size_t i = 0; i < mb_plugin_count(); i++) {
		const struct mb_plugin *pl = mb_plugin_at(i);

		if (!strcmp(pl->kind, "probe") && strlen(pl->name) == len && !strncmp(pl->name, name, len))
			return pl;
	}
	return NULL;
}

/* probes=: all, none, or names of registered probes joined by '+'. */
static int check_probes(const struct mb_key *key, const char *text, uint64_t value,
			struct mb_err *err)
{
	char known[256] = "";
	size_t used = 0;

	(void)key;
	(void)value;
	if (!strcmp(text, "all") || !strcmp(text, "none"))
		return 0;
	for (size_t i = 0; i < mb_plugin_count(); i++)
		if (!strcmp(mb_plugin_at(i)->kind, "probe"))
			used += snprintf(known + used, used < sizeof(known) ? sizeof(known) - used : 0,
					 "%s%s", used ? ", " : "", mb_plugin_at(i)->name);
	for (const char *p = text;; p++) {
		size_t len = strcspn(p, "+");

		if (!len)
			return mb_errf(err, 0, "'%s': an empty probe name (write all, none, or probe "
				       "names joined by '+': %s)", text, known);
		if (!probe_named(p, len)) {
			if ((len == 3 && !strncmp(p, "all", 3)) || (len == 4 && !strncmp(p, "none", 4)))
				return mb_errf(err, 0, "'%s': '%.*s' cannot come with probe names",
					       text, (int)len, p);
			return mb_errf(err, 0, "'%s': '%.*s' is not a registered probe (all, none, "
				       "or names joined by '+' of: %s)", text, (int)len, p, known);
		}
		p += len;
		if (!*p)
			return 0;
	}
}

const struct mb_key mb_keys[MB_KEY_COUNT] = {
	[MB_KEY_MODE] = {
		.name = "mode", .type = MB_TYPE_CHOICE, FIELD(mode, enum mb_mode),
		.def = "precopy", .choices = mode_names,
		.help = "how to migrate; hybrid = pre-copy, then post-copy; cold = stop, then copy",
	},
	[MB_KEY_MEMORY] = {
		.name = "memory", .type = MB_TYPE_SIZE, FIELD(memory, uint64_t),
		.def = "256M", .min = 72 * MiB, .max = 1 * TiB, .check = check_whole_mib,
		.help = "guest RAM (whole MiB)",
		/* Measured: 71M panics ("System is deadlocked on memory"), 64M and
		 * less never print a line (see MB_GUEST_RESERVE_FIXED). */
		.min_why = "the guest kernel runs out of memory while booting in less",
	},
	[MB_KEY_VCPUS] = {
		.name = "vcpus", .type = MB_TYPE_COUNT, FIELD(vcpus, unsigned),
		.def = "1", .min = 1, .max = 64,
		.help = "guest vCPUs",
	},
	[MB_KEY_WORKLOAD] = {
		.name = "workload", .type = MB_TYPE_CHOICE, FIELD(workload, enum mb_workload),
		.def = "dirty", .choices = workload_names,
		.help = "what runs in the guest",
	},
	[MB_KEY_WSS] = {
		.name = "wss", .type = MB_TYPE_SIZE, FIELD(wss, uint64_t),
		.def = "64M", .min = 4 * KiB, .max = 1 * TiB,
		.help = "working set the dirty workload writes to (wss + kv_size must leave the guest "
			"room for its kernel)",
	},
	[MB_KEY_RATE] = {
		.name = "rate", .type = MB_TYPE_RATE, FIELD(rate, uint64_t),
		.def = "4M",
		.help = "dirty rate: pages/s, or bytes/s with a suffix (16M); 0 = as fast as possible",
	},
	[MB_KEY_PATTERN] = {
		.name = "pattern", .type = MB_TYPE_CHOICE, FIELD(pattern, enum mb_pattern),
		.def = "sequential", .choices = pattern_names,
		.help = "order in which the dirty workload writes its working set",
	},
	[MB_KEY_KV_SIZE] = {
		.name = "kv_size", .type = MB_TYPE_SIZE, FIELD(kv_size, uint64_t),
		.def = "64M", .min = 64 * KiB, .max = 1 * TiB,
		.help = "kv: the store in guest memory, 1 KiB values (wss + kv_size must leave the "
			"guest room for its kernel)",
	},
	[MB_KEY_KV_WRITE_FRACTION] = {
		.name = "kv_write_fraction", .type = MB_TYPE_FRACTION, FIELD(kv_write_fraction, double),
		.def = "0.1", .max = 1000000,
		.help = "kv: share of the client's requests that are PUTs (0.1 or 10%); the rest are GETs",
	},
	[MB_KEY_MAX_BANDWIDTH] = {
		.name = "max_bandwidth", .type = MB_TYPE_BANDWIDTH, FIELD(max_bandwidth, uint64_t),
		/* QEMU's own default, so that leaving it out measures what QEMU does. */
		.def = "128M", .min = 1, .max = 1 * TiB,
		.help = "migration bandwidth cap, bytes/s (1G = 1 GiB/s)",
	},
	[MB_KEY_DOWNTIME_LIMIT] = {
		.name = "downtime_limit", .type = MB_TYPE_DURATION, FIELD(downtime_limit_us, uint64_t),
		.def = "300ms", .min = 1 * MS, .max = 2000 * SEC, .unit_us = MS,
		.help = "longest pause QEMU aims for when it stops the guest (ms when no unit)",
	},
	[MB_KEY_TRANSPORT] = {
		.name = "transport", .type = MB_TYPE_CHOICE, FIELD(transport, enum mb_transport),
		.def = "tcp", .choices = transport_names,
		.help = "migration stream over loopback TCP or a Unix socket",
	},
	[MB_KEY_REPETITIONS] = {
		.name = "repetitions", .type = MB_TYPE_COUNT, FIELD(repetitions, unsigned),
		.def = "1", .min = 1, .max = 1000, .fixed = true,
		.help = "runs of each scenario (cannot be swept)",
	},
	[MB_KEY_TIMEOUT] = {
		.name = "timeout", .type = MB_TYPE_DURATION, FIELD(timeout_us, uint64_t),
		.def = "5min", .min = 1 * SEC, .max = 24 * HOUR, .unit_us = SEC,
		.help = "give up on a run after this long (s when no unit)",
	},
	[MB_KEY_MAX_PASSES] = {
		.name = "max_passes", .type = MB_TYPE_COUNT, FIELD(max_passes, unsigned),
		.def = "0", .max = 1000000,
		.help = "give up on a pre-copy still running after N passes (0 = unlimited)",
	},
	[MB_KEY_HYBRID_PASSES] = {
		.name = "hybrid_passes", .type = MB_TYPE_COUNT, FIELD(hybrid_passes, unsigned),
		.def = "0", .max = 1000000,
		.help = "hybrid: switch to post-copy after N pre-copy passes (0 = not by passes)",
	},
	[MB_KEY_HYBRID_TIME] = {
		.name = "hybrid_time", .type = MB_TYPE_DURATION, FIELD(hybrid_time_us, uint64_t),
		.def = "0", .max = 24 * HOUR, .unit_us = SEC,
		.help = "hybrid: switch to post-copy after this long (s when no unit; 0 = not by time)",
	},
	[MB_KEY_MULTIFD] = {
		.name = "multifd", .type = MB_TYPE_COUNT, FIELD(multifd, unsigned),
		.def = "0", .max = 255,
		.help = "parallel migration channels (0 = off)",
	},
	[MB_KEY_MULTIFD_COMPRESSION] = {
		.name = "multifd_compression", .type = MB_TYPE_CHOICE,
		FIELD(multifd_compression, enum mb_compression),
		.def = "none", .choices = compression_names,
		.help = "compression of the multifd channels",
	},
	[MB_KEY_XBZRLE_CACHE] = {
		.name = "xbzrle_cache", .type = MB_TYPE_SIZE, FIELD(xbzrle_cache, uint64_t),
		.def = "0", .max = 1 * TiB, .check = check_xbzrle_cache,
		.help = "XBZRLE cache for delta-compressing re-sent pages (0 = off, else a power of two)",
	},
	[MB_KEY_AUTO_CONVERGE] = {
		.name = "auto_converge", .type = MB_TYPE_BOOL, FIELD(auto_converge, bool),
		.def = "no",
		.help = "let QEMU throttle the vCPUs until pre-copy converges",
	},
	[MB_KEY_POSTCOPY_PREEMPT] = {
		.name = "postcopy_preempt", .type = MB_TYPE_BOOL, FIELD(postcopy_preempt, bool),
		.def = "no",
		.help = "post-copy: a separate channel for the pages the guest is waiting for",
	},
	[MB_KEY_POSTCOPY_PAUSE] = {
		.name = "postcopy_pause", .type = MB_TYPE_DURATION, FIELD(postcopy_pause_us, uint64_t),
		.def = "0", .max = 600 * SEC, .unit_us = MS,
		.help = "fault: once in post-copy, cut the migration link (migrate-pause) for this "
			"long (ms when no unit; 0 = no fault)",
	},
	[MB_KEY_POSTCOPY_RECOVER] = {
		.name = "postcopy_recover", .type = MB_TYPE_BOOL, FIELD(postcopy_recover, bool),
		.def = "yes",
		.help = "after postcopy_pause: recover the migration (no = leave the guest split: lost)",
	},
	[MB_KEY_SAMPLE_INTERVAL] = {
		.name = "sample_interval", .type = MB_TYPE_DURATION, FIELD(sample_interval_us, uint64_t),
		.def = "50ms", .min = 1 * MS, .max = 60 * SEC, .unit_us = MS,
		.help = "period of the query-migrate sampler (ms when no unit)",
	},
	[MB_KEY_HEARTBEAT_PERIOD] = {
		.name = "heartbeat_period", .type = MB_TYPE_DURATION, FIELD(heartbeat_period_us, uint64_t),
		.def = "1ms", .min = 100 * US, .max = 1 * SEC, .unit_us = MS,
		.help = "period of the guest's heartbeats (ms when no unit)",
	},
	[MB_KEY_SETTLE] = {
		.name = "settle", .type = MB_TYPE_DURATION, FIELD(settle_us, uint64_t),
		.def = "2s", .max = 10 * MIN, .unit_us = SEC,
		.help = "wait after migration before the guest's health check (s when no unit)",
	},
	[MB_KEY_BASELINE] = {
		.name = "baseline", .type = MB_TYPE_DURATION, FIELD(baseline_us, uint64_t),
		/* Up to a day, as timeout: a long baseline's heartbeats go to
		 * disk (probes/heartbeat.h), migbench's memory stays bounded. */
		.def = "2s", .min = 200 * MS, .max = 24 * HOUR, .unit_us = SEC,
		.help = "the guest's undisturbed time before `migrate`: the window of every baseline "
			"(throughput, client, energy) (s when no unit)",
	},
	[MB_KEY_BASELINE_MARGIN] = {
		.name = "baseline_margin", .type = MB_TYPE_DURATION, FIELD(baseline_margin_us, uint64_t),
		.def = "1s", .max = 60 * SEC, .unit_us = SEC,
		.help = "heartbeats kept (and in the result) from this long before the baseline window "
			"too, so that its first gap has the heartbeat before it; at least heartbeat_period "
			"(s when no unit)",
	},
	[MB_KEY_RECOVERY_WINDOW] = {
		.name = "recovery_window", .type = MB_TYPE_DURATION, FIELD(recovery_window_us, uint64_t),
		.def = "100ms", .min = 1 * MS, .max = 60 * SEC, .unit_us = MS,
		.help = "recovery_to_95pct_ms (heartbeats and client): the first window this long after "
			"RESUME at >= 95 % of the baseline rate (ms when no unit)",
	},
	[MB_KEY_CLIENT_AFTER] = {
		.name = "client_after", .type = MB_TYPE_DURATION, FIELD(client_after_us, uint64_t),
		.def = "1s", .max = 15 * SEC, .unit_us = SEC,
		.help = "echo/kv: the network client asks on at least this long after the migration, "
			"then until its service is steady (15 s at most): its `after` phase (s when no unit)",
	},
	[MB_KEY_ACCEL] = {
		.name = "accel", .type = MB_TYPE_CHOICE, FIELD(accel, enum mb_accel),
		.def = "auto", .choices = accel_names,
		.help = "accelerator; auto = kvm where /dev/kvm is usable, else tcg",
	},
	[MB_KEY_QEMU] = {
		.name = "qemu", .type = MB_TYPE_STRING, FIELD(qemu, const char *),
		.def = MB_DEFAULT_QEMU, .check = check_qemu_binary,
		.help = "source QEMU: an absolute path, or a version `migbench qemu` installed (7.2)",
	},
	[MB_KEY_QEMU_DST] = {
		.name = "qemu_dst", .type = MB_TYPE_STRING, FIELD(qemu_dst, const char *),
		.def = "", .check = check_qemu_binary,
		.help = "destination QEMU: an absolute path or an installed version (empty or same = qemu's)",
	},
	[MB_KEY_MACHINE] = {
		.name = "machine", .type = MB_TYPE_STRING, FIELD(machine, const char *),
		.def = "",
		.help = "QEMU machine type (empty: pc, or when qemu and qemu_dst differ the newest "
			"pc-i440fx both support)",
	},
	[MB_KEY_TLS] = {
		.name = "tls", .type = MB_TYPE_BOOL, FIELD(tls, bool),
		.def = "no",
		.help = "migrate over TLS with throwaway certificates (needs certtool: gnutls-bin)",
	},
	[MB_KEY_GUESTS] = {
		.name = "guests", .type = MB_TYPE_COUNT, FIELD(guests, unsigned),
		.def = "1", .min = 1, .max = 64, .fixed = true,
		.help = "guests booted and migrated at once, each to its own destination, as a host "
			"evacuation: each guest's result is the scenario \"<name>,guest=I\", the campaign "
			"records the evacuation (cannot be swept)",
	},
	[MB_KEY_STAGGER] = {
		.name = "stagger", .type = MB_TYPE_DURATION, FIELD(stagger_us, uint64_t),
		.def = "0", .max = 10 * MIN, .unit_us = SEC,
		.help = "with guests=K: guest I's `migrate` is sent (I - 1) x this after the first "
			"guest's; 0 = all at once (s when no unit)",
	},
	/* The shaped link (runners/link.h): any of these non-zero puts each
	 * QEMU in a network namespace of its own, joined by a link migbench
	 * emulates, the same each way, carrying the migration stream only. */
	[MB_KEY_LINK_BANDWIDTH] = {
		.name = "link_bandwidth", .type = MB_TYPE_BANDWIDTH, FIELD(link_bandwidth, uint64_t),
		.def = "0", .max = 1 * TiB,
		.help = "shaped link: bandwidth each way, bytes/s (1G = 1 GiB/s) or bits/s (100Mbit, "
			"10Gbit); 0 = unlimited. Any link_* puts source and destination in network "
			"namespaces of their own, joined by a link migbench emulates (runners/link.h; "
			"qmp runner, transport=tcp, not with echo/kv)",
	},
	[MB_KEY_LINK_DELAY] = {
		.name = "link_delay", .type = MB_TYPE_DURATION, FIELD(link_delay_us, uint64_t),
		.def = "0", .max = 10 * SEC, .unit_us = MS,
		.help = "shaped link: one-way delay, each way, so the round trip is twice it "
			"(20ms = 40 ms RTT) (ms when no unit)",
	},
	[MB_KEY_LINK_JITTER] = {
		.name = "link_jitter", .type = MB_TYPE_DURATION, FIELD(link_jitter_us, uint64_t),
		.def = "0", .max = 10 * SEC, .unit_us = MS,
		.help = "shaped link: each packet's delay varies uniformly by up to +-this, at most "
			"link_delay; packets keep their order (ms when no unit)",
	},
	[MB_KEY_LINK_LOSS] = {
		.name = "link_loss", .type = MB_TYPE_FRACTION, FIELD(link_loss, double),
		.def = "0", .max = 500000,
		.help = "shaped link: fraction of packets (of at most 1500 bytes) dropped at random, "
			"each way (0.001 or 0.1%; at most 50%)",
	},
	[MB_KEY_PROBES] = {
		.name = "probes", .type = MB_TYPE_STRING, FIELD(probes, const char *),
		.def = "all", .check = check_probes,
		.help = "the probes run around each migration (probes/registry.c): all, none, or "
			"names joined by '+' (counters+energy); the guest stays the same, so runs that "
			"differ only in it migrate one booted guest (probe overhead: bench/self-probes.sh)",
	},
};

/* ---- the namespace: global keys, then the plug-ins' ------------------------- */

/* Built once (mb_keys_init) or by a test (mb_keys_build). */
static struct {
	const struct mb_key **keys;     /* every key, global ones first */
	size_t *plugin_of;              /* its plug-in's index; SIZE_MAX = global */
	size_t n;
	struct mb_plugin *plugins;
	size_t nplugins;
	int built;
} ns;

/* The global keys only: what is left when a build fails. */
static int ns_reset(void)
{
	free(ns.keys);
	free(ns.plugin_of);
	free(ns.plugins);
	ns.keys = calloc(MB_KEY_COUNT, sizeof(*ns.keys));
	ns.plugin_of = calloc(MB_KEY_COUNT, sizeof(*ns.plugin_of));
	ns.plugins = NULL;
	ns.nplugins = ns.n = 0;
	ns.built = 1;
	if (!ns.keys || !ns.plugin_of)
		return -1;
	for (size_t i = 0; i < MB_KEY_COUNT; i++) {
		ns.keys[i] = &mb_keys[i];
		ns.plugin_of[i] = SIZE_MAX;
	}
	ns.n = MB_KEY_COUNT;
	return 0;
}

/* Compares a user's spelling with a key name, '-' standing for '_'. */
static int same_name(const char *typed, const char *name)
{
	for (; *typed && *name; typed++, name++)
		if (*typed != *name && !(*typed == '-' && *name == '_'))
			return 0;
	return *typed == *name;
}

/* Who declared key i, for an error: "the global key table" or "probe 'x'". */
static void owner_name(size_t i, char *buf, size_t size)
{
	if (ns.plugin_of[i] == SIZE_MAX)
		snprintf(buf, size, "the global key table (bench/scenario_keys.c)");
	else
		snprintf(buf, size, "%s '%s'", ns.plugins[ns.plugin_of[i]].kind,
			 ns.plugins[ns.plugin_of[i]].name);
}

static size_t field_size(enum mb_key_type type)
{
	switch (type) {
	case MB_TYPE_CHOICE: return sizeof(int);
	case MB_TYPE_BOOL: return sizeof(bool);
	case MB_TYPE_COUNT: return sizeof(unsigned);
	case MB_TYPE_STRING: return sizeof(const char *);
	case MB_TYPE_FRACTION: return sizeof(double);
	default: return sizeof(uint64_t);
	}
}

/* One plug-in key, checked against itself and every key before it. */
static int add_plugin_key(const struct mb_plugin *pl, size_t pi, const struct mb_key *key,
			  struct mb_err *err)
{
	char other[128];

	if (!key->help || !*key->help)
		return mb_errf(err, 0, "%s '%s': key '%s' has no help text (`migbench run --help` "
			       "shows it)", pl->kind, pl->name, key->name);
	if (key->type == MB_TYPE_CHOICE && !key->choices)
		return mb_errf(err, 0, "%s '%s': key '%s' is a choice without choices",
			       pl->kind, pl->name, key->name);
	if (!key->def)
		return mb_errf(err, 0, "%s '%s': key '%s' has no default", pl->kind, pl->name,
			       key->name);
	if (key->offset + field_size(key->type) > pl->options_size)
		return mb_errf(err, 0, "%s '%s': key '%s' is stored at offset %zu, past its options "
			       "struct of %zu bytes (options_size)", pl->kind, pl->name, key->name,
			       key->offset, pl->options_size);
	for (size_t i = 0; i < ns.n; i++) {
		if (!same_name(key->name, ns.keys[i]->name))
			continue;
		owner_name(i, other, sizeof(other));
		return mb_errf(err, 0, "%s '%s': key '%s' clashes with the key of the same name in "
			       "%s: scenario keys are one namespace, rename one of them",
			       pl->kind, pl->name, key->name, other);
	}
	ns.keys[ns.n] = key;
	ns.plugin_of[ns.n++] = pi;
	return 0;
}

static int keys_build(const struct mb_plugin *plugins, size_t nplugins, struct mb_err *err)
{
	size_t total = MB_KEY_COUNT;
	uint64_t unused;

	for (size_t p = 0; p < nplugins; p++)
		for (size_t k = 0; plugins[p].keys && plugins[p].keys[k].name; k++)
			total++;
	if (ns_reset())
		return mb_errf(err, ENOMEM, "the scenario keys");
	ns.keys = realloc(ns.keys, total * sizeof(*ns.keys));
	ns.plugin_of = realloc(ns.plugin_of, total * sizeof(*ns.plugin_of));
	ns.plugins = calloc(nplugins ? nplugins : 1, sizeof(*ns.plugins));
	if (!ns.keys || !ns.plugin_of || !ns.plugins) {
		ns_reset();
		return mb_errf(err, ENOMEM, "the scenario keys of %zu plug-ins", nplugins);
	}
	for (size_t p = 0; p < nplugins; p++) {
		const struct mb_plugin *pl = &plugins[p];

		ns.plugins[ns.nplugins++] = *pl;
		if (pl->keys && pl->keys[0].name && !pl->options_size) {
			ns_reset();
			return mb_errf(err, 0, "%s '%s' declares keys but no options_size (the size "
				       "of the struct its keys are stored in)", pl->kind, pl->name);
		}
		for (size_t k = 0; pl->keys && pl->keys[k].name; k++) {
			if (add_plugin_key(pl, p, &pl->keys[k], err)) {
				ns_reset();
				return -1;
			}
			if (mb_key_parse(&pl->keys[k], pl->keys[k].def, &unused, err)) {
				mb_err_prefix(err, "%s '%s': key '%s': its default", pl->kind, pl->name,
					      pl->keys[k].name);
				ns_reset();
				return -1;
			}
		}
	}
	return 0;
}

/* The namespace in force: built by mb_keys_init, or by a test. */
static struct mb_err init_err;
static int init_done, init_failed;

int mb_keys_build(const struct mb_plugin *plugins, size_t nplugins, struct mb_err *err)
{
	int rc = keys_build(plugins, nplugins, err);

	init_done = 1;
	init_failed = rc != 0;
	if (rc)
		init_err = *err;
	return rc;
}

int mb_keys_init(struct mb_err *err)
{
	const struct mb_plugin *plugins;
	size_t n;

	if (!init_done) {
		init_done = 1;
		init_failed = mb_plugins_list(&plugins, &n, &init_err) ||
			      keys_build(plugins, n, &init_err);
		if (init_failed)
			mb_err_prefix(&init_err, "migbench's plug-ins (probes/registry.c, "
				      "runners/registry.c)");
	}
	if (init_failed && err)
		*err = init_err;
	return init_failed ? -1 : 0;
}

static void ns_ensure(void)
{
	if (!ns.built)
		mb_keys_init(NULL);
	if (!ns.built)
		ns_reset();
}

size_t mb_key_count(void)
{
	ns_ensure();
	return ns.n;
}

const struct mb_key *mb_key_at(size_t i)
{
	ns_ensure();
	return i < ns.n ? ns.keys[i] : NULL;
}

size_t mb_key_index(const struct mb_key *key)
{
	ns_ensure();
	if (key >= mb_keys && key < mb_keys + MB_KEY_COUNT)
		return (size_t)(key - mb_keys);
	for (size_t i = MB_KEY_COUNT; i < ns.n; i++)
		if (ns.keys[i] == key)
			return i;
	return SIZE_MAX;
}

const struct mb_plugin *mb_key_plugin(const struct mb_key *key)
{
	size_t i = mb_key_index(key);

	return i == SIZE_MAX || ns.plugin_of[i] == SIZE_MAX ? NULL : &ns.plugins[ns.plugin_of[i]];
}

size_t mb_plugin_count(void)
{
	ns_ensure();
	return ns.nplugins;
}

const struct mb_plugin *mb_plugin_at(size_t i)
{
	ns_ensure();
	return i < ns.nplugins ? &ns.plugins[i] : NULL;
}

const struct mb_key *mb_key_find(const char *name)
{
	ns_ensure();
	for (size_t i = 0; i < ns.n; i++)
		if (same_name(name, ns.keys[i]->name))
			return ns.keys[i];
	return NULL;
}

#define SUGGEST_MAX_LEN 64

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[SUGGEST_MAX_LEN + 1];

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = a[i - 1] == b[j - 1] || (a[i - 1] == '-' && b[j - 1] == '_') ? 0 : 1;
			size_t best = diag + cost;

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const struct mb_key *mb_key_suggest(const char *name)
{
	const struct mb_key *best = NULL;
	size_t best_distance = SIZE_MAX, len = strlen(name);
	/* A third of the letters wrong is still a typo; more is another word. */
	size_t limit = len / 3 > 2 ? len / 3 : 2;

	if (len > SUGGEST_MAX_LEN)
		return NULL;
	ns_ensure();
	for (size_t i = 0; i < ns.n; i++) {
		size_t d = edit_distance(name, ns.keys[i]->name);

		if (d < best_distance) {
			best_distance = d;
			best = ns.keys[i];
		}
	}
	return best_distance <= limit ? best : NULL;
}

/* ---- printing values in the units people write ---------------------------- */

static void format_duration(uint64_t us, char *buf, size_t size)
{
	static const struct { const char *suffix; uint64_t unit; } units[] = {
		{ "h", HOUR }, { "min", MIN }, { "s", SEC }, { "ms", MS }, { "us", US },
	};

	if (!us) {
		snprintf(buf, size, "0");
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (us % units[i].unit == 0) {
			snprintf(buf, size, "%" PRIu64 "%s", us / units[i].unit, units[i].suffix);
			return;
		}
	}
}

/* A limit of `key` as a user would write it. */
static void format_limit(const struct mb_key *key, uint64_t value, char *buf, size_t size)
{
	switch (key->type) {
	case MB_TYPE_SIZE:
	case MB_TYPE_BANDWIDTH:
		mb_format_size(value, buf, size);
		break;
	case MB_TYPE_DURATION:
		format_duration(value, buf, size);
		break;
	case MB_TYPE_FRACTION:
		snprintf(buf, size, "%g", (double)value / 1e6);
		break;
	default:
		snprintf(buf, size, "%" PRIu64, value);
		break;
	}
}

static const char *unit_name(uint64_t unit_us)
{
	switch (unit_us) {
	case US: return "us";
	case MS: return "ms";
	case SEC: return "s";
	case MIN: return "min";
	default: return "?";
	}
}

/* "a, b, c" or "a|b|c" */
static void format_choices(const struct mb_key *key, const char *sep, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; key->choices[i] && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? sep : "",
					 key->choices[i]);
}

/* ---- parsing one value ------------------------------------------------------ */

static int parse_choice(const struct mb_key *key, const char *text, uint64_t *value,
			struct mb_err *err)
{
	char list[256];

	for (size_t i = 0; key->choices[i]; i++) {
		if (!strcasecmp(text, key->choices[i])) {
			*value = i;
			return 0;
		}
	}
	format_choices(key, ", ", list, sizeof(list));
	return mb_errf(err, 0, "'%s' is not one of %s", text, list);
}

static int parse_bool(const char *text, uint64_t *value, struct mb_err *err)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(text, yes[i])) {
			*value = 1;
			return 0;
		}
		if (!strcasecmp(text, no[i])) {
			*value = 0;
			return 0;
		}
	}
	return mb_errf(err, 0, "'%s' is not a boolean (yes/no, true/false, on/off, 1/0)", text);
}

static int parse_count(const char *text, uint64_t *value, struct mb_err *err)
{
	char *end;
	unsigned long long v;

	if (!*text || strspn(text, "0123456789") != strlen(text))
		return mb_errf(err, 0, "'%s' is not a whole number", text);
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || v > UINT_MAX)
		return mb_errf(err, 0, "'%s' is too large", text);
	*value = v;
	return 0;
}

static int parse_unchecked(const struct mb_key *key, const char *text, uint64_t *value,
			   struct mb_err *err)
{
	switch (key->type) {
	case MB_TYPE_CHOICE:
		return parse_choice(key, text, value, err);
	case MB_TYPE_BOOL:
		return parse_bool(text, value, err);
	case MB_TYPE_COUNT:
		return parse_count(text, value, err);
	case MB_TYPE_SIZE:
		if (mb_parse_size(text, value))
			return mb_errf(err, 0, "'%s' is not a valid size (bytes, e.g. 64M, 1G)", text);
		return 0;
	case MB_TYPE_BANDWIDTH:
		if (mb_parse_bandwidth(text, value))
			return mb_errf(err, 0, "'%s' is not a valid bandwidth (bytes per second, e.g. 64M, "
				       "1G, or bits per second, e.g. 100Mbit, 10Gbit)", text);
		return 0;
	case MB_TYPE_RATE:
		if (mb_parse_rate_pages(text, MB_GUEST_PAGE_SIZE, value))
			return mb_errf(err, 0, "'%s' is not a valid rate (pages per second, or bytes "
				       "per second with a suffix, e.g. 1000, 16M)", text);
		return 0;
	case MB_TYPE_DURATION:
		if (mb_parse_duration_us(text, key->unit_us, value))
			return mb_errf(err, 0, "'%s' is not a valid duration (%s when no unit, "
				       "e.g. 300ms, 2s)", text, unit_name(key->unit_us));
		return 0;
	case MB_TYPE_STRING:
		*value = 0;
		return 0;
	case MB_TYPE_FRACTION: {
		double f;

		if (mb_parse_fraction(text, &f))
			return mb_errf(err, 0, "'%s' is not a fraction in [0, 1] (e.g. 0.1 or 10%%)", text);
		*value = (uint64_t)llround(f * 1e6);
		return 0;
	}
	}
	return mb_errf(err, 0, "key of unknown type %d", (int)key->type);
}

int mb_key_parse(const struct mb_key *key, const char *text, uint64_t *value,
		 struct mb_err *err)
{
	char limit[32];

	/* Only a default can be empty: qemu_dst's "same as qemu". */
	if (!*text && key->type != MB_TYPE_STRING)
		return mb_errf(err, 0, "empty value");
	if (parse_unchecked(key, text, value, err))
		return -1;
	if (*value < key->min) {
		if (key->min == 1)
			return mb_errf(err, 0, "'%s' must be greater than 0", text);
		format_limit(key, key->min, limit, sizeof(limit));
		return mb_errf(err, 0, "'%s' is below the minimum, %s%s%s", text, limit,
			       key->min_why ? ": " : "", key->min_why ? key->min_why : "");
	}
	if (key->max && *value > key->max) {
		format_limit(key, key->max, limit, sizeof(limit));
		return mb_errf(err, 0, "'%s' is above the maximum, %s", text, limit);
	}
	return key->check ? key->check(key, text, *value, err) : 0;
}

/* ---- the value in struct mb_params ------------------------------------------ */

void mb_key_store(const struct mb_key *key, void *params, uint64_t value, const char *text)
{
	void *field = (char *)params + key->offset;

	switch (key->type) {
	case MB_TYPE_CHOICE:
		*(int *)field = (int)value;
		break;
	case MB_TYPE_BOOL:
		*(bool *)field = value != 0;
		break;
	case MB_TYPE_COUNT:
		*(unsigned *)field = (unsigned)value;
		break;
	case MB_TYPE_SIZE:
	case MB_TYPE_BANDWIDTH:
	case MB_TYPE_RATE:
	case MB_TYPE_DURATION:
		*(uint64_t *)field = value;
		break;
	case MB_TYPE_STRING:
		*(const char **)field = text;
		break;
	case MB_TYPE_FRACTION:
		*(double *)field = (double)value / 1e6;
		break;
	}
}

uint64_t mb_key_value(const struct mb_key *key, const void *params)
{
	const void *field = (const char *)params + key->offset;

	switch (key->type) {
	case MB_TYPE_CHOICE:
		return (uint64_t)*(const int *)field;
	case MB_TYPE_BOOL:
		return *(const bool *)field;
	case MB_TYPE_COUNT:
		return *(const unsigned *)field;
	case MB_TYPE_SIZE:
	case MB_TYPE_BANDWIDTH:
	case MB_TYPE_RATE:
	case MB_TYPE_DURATION:
		return *(const uint64_t *)field;
	case MB_TYPE_FRACTION:
		return (uint64_t)llround(*(const double *)field * 1e6);
	case MB_TYPE_STRING:
		break;
	}
	return 0;
}

json_t *mb_key_to_json(const struct mb_key *key, const void *params)
{
	uint64_t v = mb_key_value(key, params);

	switch (key->type) {
	case MB_TYPE_CHOICE:
		return json_string(key->choices[v]);
	case MB_TYPE_BOOL:
		return json_boolean(v);
	case MB_TYPE_COUNT:
	case MB_TYPE_SIZE:
	case MB_TYPE_BANDWIDTH:
	case MB_TYPE_RATE:
		/* Every maximum in the table is far below 2^63. */
		return json_integer((json_int_t)v);
	case MB_TYPE_DURATION:
		return json_real((double)v / 1000.0);
	case MB_TYPE_FRACTION:
		return json_real((double)v / 1e6);
	case MB_TYPE_STRING: {
		const char *s = *(const char *const *)((const char *)params + key->offset);

		return json_string(s ? s : "");
	}
	}
	return NULL;
}

/* ---- migbench run --help ------------------------------------------------------ */

static void format_range(const struct mb_key *key, char *buf, size_t size)
{
	char lo[32], hi[32];

	buf[0] = '\0';
	if (key->type == MB_TYPE_CHOICE) {
		char list[256];

		format_choices(key, "|", list, sizeof(list));
		snprintf(buf, size, " [%s]", list);
	} else if (key->type == MB_TYPE_BOOL) {
		snprintf(buf, size, " [yes|no]");
	} else if (key->max) {
		format_limit(key, key->min, lo, sizeof(lo));
		format_limit(key, key->max, hi, sizeof(hi));
		snprintf(buf, size, " [%s..%s]", lo, hi);
	}
}

static void print_key(FILE *out, const struct mb_key *key)
{
	char name_def[96], range[300];

	snprintf(name_def, sizeof(name_def), "%s=%s", key->name, key->def);
	format_range(key, range, sizeof(range));
	fprintf(out, "  %-28s %s%s\n", name_def, key->help, range);
}

void mb_scenario_print_keys(FILE *out)
{
	ns_ensure();
	fprintf(out,
		"Scenario keys: `key=value` in a scenario file, `--key=value` on the command\n"
		"line (overrides every file). A comma list (`max_bandwidth=64M,1G`) sweeps.\n"
		"Sizes take binary suffixes (K, M, G, T: 1G = 1 GiB); times take us, ms, s,\n"
		"min, h.\n\n");
	for (size_t i = 0; i < MB_KEY_COUNT; i++)
		print_key(out, &mb_keys[i]);
	fprintf(out, "\nWorkloads (workload=; one line each in workloads/workload_list.h):\n");
	for (size_t w = 0; w < MB_WORKLOAD_COUNT; w++)
		fprintf(out, "  %-8s %s\n", mb_workload_descs[w].name, mb_workload_descs[w].help);
	for (size_t p = 0; p < ns.nplugins; p++) {
		const struct mb_plugin *pl = &ns.plugins[p];

		if (!pl->keys || !pl->keys[0].name)
			continue;
		fprintf(out, "\nThe %s '%s' (%s) has keys of its own:\n", pl->kind, pl->name, pl->summary);
		for (size_t k = 0; pl->keys[k].name; k++)
			print_key(out, &pl->keys[k]);
	}
}

static const char *type_name(enum mb_key_type type)
{
	switch (type) {
	case MB_TYPE_CHOICE: return "choice";
	case MB_TYPE_BOOL: return "bool";
	case MB_TYPE_COUNT: return "count";
	case MB_TYPE_SIZE: return "size";
	case MB_TYPE_BANDWIDTH: return "bandwidth";
	case MB_TYPE_RATE: return "rate";
	case MB_TYPE_DURATION: return "duration";
	case MB_TYPE_STRING: return "string";
	case MB_TYPE_FRACTION: return "fraction";
	}
	return "unknown";
}

/* The unit of the key's value in a result's scenario block (mb_key_to_json). */
static const char *json_unit(const struct mb_key *key)
{
	switch (key->type) {
	case MB_TYPE_SIZE: return "bytes";
	case MB_TYPE_BANDWIDTH: return "bytes/s";
	case MB_TYPE_RATE: return "pages/s";
	case MB_TYPE_DURATION: return "ms";
	default: return "";
	}
}

json_t *mb_scenario_keys_json(void)
{
	json_t *all = json_array();

	ns_ensure();
	for (size_t i = 0; all && i < ns.n; i++) {
		const struct mb_key *key = ns.keys[i];
		const struct mb_plugin *pl = ns.plugin_of[i] == SIZE_MAX ? NULL : &ns.plugins[ns.plugin_of[i]];
		json_t *choices = json_null(), *o;
		char lo[32], hi[32];

		if (key->choices) {
			choices = json_array();
			for (size_t c = 0; key->choices[c]; c++)
				json_array_append_new(choices, json_string(key->choices[c]));
		}
		format_limit(key, key->min, lo, sizeof(lo));
		format_limit(key, key->max, hi, sizeof(hi));
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:o, s:b, s:s}",
			      "name", key->name, "plugin", pl ? pl->name : "",
			      "kind", pl ? pl->kind : "global", "type", type_name(key->type),
			      "default", key->def, "unit", json_unit(key), "min", lo,
			      "max", key->max ? hi : NULL, "choices", choices,
			      "sweepable", !key->fixed, "help", key->help);
		if (!o || json_array_append_new(all, o)) {
			json_decref(all);
			return NULL;
		}
	}
	return all;
}
