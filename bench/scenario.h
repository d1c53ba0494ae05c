/* Scenario files and sweep expansion for `migbench run`.
 *
 * A scenario file is INI, like fio's job files:
 *
 *     [global]                 # defaults for every scenario in this file
 *     memory=256M
 *     repetitions=3
 *
 *     [precopy]                # one scenario; the section name is its name
 *     mode=precopy
 *     max_bandwidth=64M,1G     # a comma list sweeps: two scenarios
 *
 * Every key is also a command-line option (`--max_bandwidth=1G` or
 * `--max-bandwidth=1G`) that overrides the files for every scenario.
 *
 * The flow: mb_scenario_set_new, mb_scenario_parse_file (once per file) and
 * mb_scenario_apply_option (once per option), then mb_scenario_expand into a
 * campaign: one mb_run_spec per repetition of each expanded scenario. Every
 * error is found before the campaign exists, so nothing starts on a file with
 * a mistake in its last line.
 */
#ifndef MB_SCENARIO_H
#define MB_SCENARIO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench/error.h"
#include "workloads/workload_list.h" /* MB_WORKLOADS, MB_PATTERNS and their enums */

/* The guest's page size: a `rate=` given in bytes is converted with it. */
#define MB_GUEST_PAGE_SIZE 4096

/* What the guest keeps for itself (kernel, initramfs, agent, the kernel's
 * free-page reserve): the working set and the kv store get the rest of
 * memory. MB_GUEST_RESERVE_FIXED + memory / MB_GUEST_RESERVE_DIVISOR +
 * MB_GUEST_RESERVE_PER_VCPU for each vCPU beyond the first. Measured by
 * booting the image (Debian 6.1 cloud kernel, TCG) with ever larger working
 * sets until the guest panicked ("System is deadlocked on memory"): the
 * largest that booted left the guest 65M of 72M, 64M of 128M, 68M of 256M,
 * 75M of 512M and 133M of 1G; and the smallest memory that boots grows with
 * vCPUs (72M for 1, 79M for 16, 90M for 32). The formula stays above every
 * one of these with a margin, since another kernel may need a little more. */
#define MB_GUEST_RESERVE_FIXED (UINT64_C(64) << 20)
#define MB_GUEST_RESERVE_DIVISOR 10
#define MB_GUEST_RESERVE_PER_VCPU (UINT64_C(768) << 10)

/* Expanded names are directory names: at most a path component. */
#define MB_SCENARIO_NAME_MAX 255

/* Guards against a typo such as a 1000-item list exploding into a campaign
 * that would run for years. */
#define MB_CAMPAIGN_MAX_RUNS 100000

/* ---- the values of the choice keys ---------------------------------------
 * Each list is an X-macro so the enum and the names in the key table cannot
 * drift apart. Workloads and patterns (MB_WORKLOADS, MB_PATTERNS) are in
 * workloads/workload_list.h, which the guest's agent compiles too: adding a
 * workload is one X(...) line there. An X(...) may have more columns than
 * id and name. */
#define MB_X_ENUM(id, name, ...) id,
#define MB_X_NAME(id, name, ...) name,

#define MB_MODES(X) \
	X(MB_MODE_PRECOPY, "precopy") \
	X(MB_MODE_POSTCOPY, "postcopy") \
	X(MB_MODE_HYBRID, "hybrid") \
	X(MB_MODE_COLD, "cold")
enum mb_mode { MB_MODES(MB_X_ENUM) };

#define MB_TRANSPORTS(X) \
	X(MB_TRANSPORT_TCP, "tcp") \
	X(MB_TRANSPORT_UNIX, "unix")
enum mb_transport { MB_TRANSPORTS(MB_X_ENUM) };

#define MB_COMPRESSIONS(X) \
	X(MB_COMPRESSION_NONE, "none") \
	X(MB_COMPRESSION_ZLIB, "zlib") \
	X(MB_COMPRESSION_ZSTD, "zstd")
enum mb_compression { MB_COMPRESSIONS(MB_X_ENUM) };

#define MB_ACCELS(X) \
	X(MB_ACCEL_AUTO, "auto") \
	X(MB_ACCEL_KVM, "kvm") \
	X(MB_ACCEL_TCG, "tcg")
enum mb_accel { MB_ACCELS(MB_X_ENUM) };

/* ---- the typed parameters of one expanded scenario ------------------------ */
struct mb_params {
	enum mb_mode mode;
	uint64_t memory;                /* bytes */
	unsigned vcpus;
	enum mb_workload workload;
	uint64_t wss;                   /* bytes */
	uint64_t rate;                  /* pages/s dirtied; 0 = as fast as possible */
	enum mb_pattern pattern;
	uint64_t kv_size;               /* kv: bytes of the store in the guest */
	double kv_write_fraction;       /* kv: share of the client's requests that are PUTs */
	uint64_t max_bandwidth;         /* bytes/s */
	uint64_t downtime_limit_us;
	enum mb_transport transport;
	bool tls;                       /* migrate over TLS (runners/tls.h) */
	unsigned repetitions;
	uint64_t timeout_us;
	unsigned max_passes;            /* 0 = unlimited */
	unsigned hybrid_passes;         /* switch to post-copy after N passes; 0 = not by passes */
	uint64_t hybrid_time_us;        /* ... or after this long; 0 = not by time */
	unsigned multifd;               /* channels; 0 = off */
	enum mb_compression multifd_compression;
	uint64_t xbzrle_cache;          /* bytes; 0 = off */
	bool auto_converge;
	bool postcopy_preempt;
	uint64_t postcopy_pause_us;     /* cut the link this long once in post-copy; 0 = no fault */
	bool postcopy_recover;          /* ... then recover (else the guest is lost) */
	uint64_t sample_interval_us;
	uint64_t heartbeat_period_us;
	uint64_t settle_us;
	uint64_t baseline_us;           /* idle window before `migrate`: every baseline */
	uint64_t baseline_margin_us;    /* heartbeats kept from this long before that window */
	uint64_t recovery_window_us;    /* recovery_to_95pct: the window at >= 95 % of the baseline */
	uint64_t client_after_us;       /* the network client asks at least this long after migrating */
	enum mb_accel accel;
	const char *qemu;               /* point into mb_run_spec.text */
	const char *qemu_dst;           /* already resolved: never empty */
	const char *machine;            /* QEMU machine type; "" = "pc", or across
	                                 * versions the newest both support */
	unsigned guests;                /* guests migrated at once, each its own run */
	uint64_t stagger_us;            /* guest i's `migrate` i * this after guest 0's */
	/* A shaped link (runners/link.h): the same each way; all 0 = none */
	uint64_t link_bandwidth;        /* bytes/s; 0 = unlimited */
	uint64_t link_delay_us;         /* one way: RTT = 2 x delay */
	uint64_t link_jitter_us;        /* +- on each packet's delay, <= delay */
	double link_loss;               /* fraction of packets dropped, each way */
	const char *probes;             /* the probes run: all, none or names joined by
	                                 * '+' (mb_probe_selected) */
};

/* Whether the migration runs over a shaped link between two namespaces
 * (any link_* key set) rather than over loopback. */
static inline bool mb_params_link_shaped(const struct mb_params *p)
{
	return p->link_bandwidth || p->link_delay_us || p->link_jitter_us || p->link_loss > 0;
}

/* ---- the key table ---------------------------------------------------------
 * The global keys (mb_keys, below) and every registered plug-in's own keys
 * (a probe's or runner's `options`, bench/plugins.c) make one namespace: the
 * first MB_KEY_COUNT keys are the global ones in this order, the plug-ins'
 * follow (mb_key_count, mb_key_at). */
enum mb_key_id {
	MB_KEY_MODE,
	MB_KEY_MEMORY,
	MB_KEY_VCPUS,
	MB_KEY_WORKLOAD,
	MB_KEY_WSS,
	MB_KEY_RATE,
	MB_KEY_PATTERN,
	MB_KEY_KV_SIZE,
	MB_KEY_KV_WRITE_FRACTION,
	MB_KEY_MAX_BANDWIDTH,
	MB_KEY_DOWNTIME_LIMIT,
	MB_KEY_TRANSPORT,
	MB_KEY_REPETITIONS,
	MB_KEY_TIMEOUT,
	MB_KEY_MAX_PASSES,
	MB_KEY_HYBRID_PASSES,
	MB_KEY_HYBRID_TIME,
	MB_KEY_MULTIFD,
	MB_KEY_MULTIFD_COMPRESSION,
	MB_KEY_XBZRLE_CACHE,
	MB_KEY_AUTO_CONVERGE,
	MB_KEY_POSTCOPY_PREEMPT,
	MB_KEY_POSTCOPY_PAUSE,
	MB_KEY_POSTCOPY_RECOVER,
	MB_KEY_SAMPLE_INTERVAL,
	MB_KEY_HEARTBEAT_PERIOD,
	MB_KEY_SETTLE,
	MB_KEY_BASELINE,
	MB_KEY_BASELINE_MARGIN,
	MB_KEY_RECOVERY_WINDOW,
	MB_KEY_CLIENT_AFTER,
	MB_KEY_ACCEL,
	MB_KEY_QEMU,
	MB_KEY_QEMU_DST,
	MB_KEY_MACHINE,
	MB_KEY_TLS,
	MB_KEY_GUESTS,
	MB_KEY_STAGGER,
	MB_KEY_LINK_BANDWIDTH,
	MB_KEY_LINK_DELAY,
	MB_KEY_LINK_JITTER,
	MB_KEY_LINK_LOSS,
	MB_KEY_PROBES,
	MB_KEY_COUNT
};

enum mb_key_type {
	MB_TYPE_CHOICE,         /* one of key->choices; stored as its enum */
	MB_TYPE_BOOL,           /* yes/no true/false on/off 1/0 */
	MB_TYPE_COUNT,          /* whole number; stored as unsigned */
	MB_TYPE_SIZE,           /* bytes, binary suffixes (mb_parse_size) */
	MB_TYPE_BANDWIDTH,      /* bytes/s: a size, optionally with "/s" */
	MB_TYPE_RATE,           /* pages/s, or bytes/s with a suffix (mb_parse_rate_pages) */
	MB_TYPE_DURATION,       /* stored in µs; plain numbers count key->unit_us */
	MB_TYPE_STRING,         /* stored as a pointer to the text */
	MB_TYPE_FRACTION,       /* "0.1" or "10%" in [0, 1]; stored as a double, parsed
	                         * and bounded in millionths */
};

/* One self-describing key: everything `migbench run --help`, the parser and
 * the JSON echo need to know about it. */
struct mb_key {
	const char *name;
	enum mb_key_type type;
	size_t offset;                  /* of its value in struct mb_params, or in
	                                 * its plug-in's options struct (MB_FIELD) */
	const char *def;                /* default, written as in a file */
	uint64_t min, max;              /* in the stored unit (bytes, pages/s, µs,
	                                 * count); max 0 = no upper limit */
	uint64_t unit_us;               /* MB_TYPE_DURATION: a plain number's unit */
	const char *const *choices;     /* MB_TYPE_CHOICE: names by enum value, NULL-ended */
	bool fixed;                     /* one value per scenario: cannot be swept */
	const char *help;               /* one line */
	const char *min_why;            /* why the minimum is what it is, for the
	                                 * error; NULL when it needs no reason */
	/* What type and range cannot say: a string's syntax, the steps QEMU
	 * takes a size in, a fact of this host (which CPUs exist). Runs after
	 * the range check on every value, defaults included; the message is
	 * about the value only, as mb_key_parse's. NULL = nothing more. */
	int (*check)(const struct mb_key *key, const char *text, uint64_t value,
		     struct mb_err *err);
};

extern const struct mb_key mb_keys[MB_KEY_COUNT];

/* The offset of `field` in `type` for a key's FIELD, with a compile-time
 * warning ("comparison of distinct pointer types") when the field is not of
 * `ftype`: the store writes through a pointer of the type the key's kind
 * implies (choice: int-sized enum, bool, unsigned, uint64_t, const char *,
 * double). A plug-in's table: { .name = "x", .type = MB_TYPE_COUNT,
 * MB_FIELD(struct my_options, x, unsigned), ... }, ended by { 0 }. */
#define MB_FIELD(type, field, ftype) \
	.offset = offsetof(type, field) + 0 * sizeof((ftype *)0 == &((type *)0)->field)

/* A plug-in's own scenario keys, as fio's ioengines carry `.options` and
 * `.option_struct_size`: declared in the plug-in's own file, merged into
 * the one namespace of keys at start-up. */
struct mb_plugin {
	const char *kind;               /* "probe", "runner" */
	const char *name;               /* its ops table's name */
	const char *summary;            /* heading of its keys in `run --help` */
	const void *owner;              /* its ops table: mb_run_spec_options' handle */
	const struct mb_key *keys;      /* ended by an entry without a name */
	size_t options_size;            /* sizeof the struct the keys' offsets are in */
};

/* Builds the namespace from the global keys and `plugins` (replacing any
 * earlier one). Refuses, naming both owners, a plug-in key whose name is a
 * global key's or another plug-in's, a key without help or past its
 * options struct, keys without options_size. On error the namespace keeps
 * the global keys only. The namespace built is the one in force (what
 * mb_keys_init returns). Returns 0 or -1. */
int mb_keys_build(const struct mb_plugin *plugins, size_t nplugins, struct mb_err *err);

/* The registered plug-ins with their keys (bench/plugins.c: every probe of
 * mb_probes and runner of mb_runners), checked for names that clash in the
 * result. Returns 0 or -1. */
int mb_plugins_list(const struct mb_plugin **plugins, size_t *n, struct mb_err *err);

/* The namespace of the registered plug-ins (bench/plugins.c: mb_probes and
 * mb_runners), built once; every lookup below builds it on first use. Call
 * at start-up so that a clash is an error before anything runs. */
int mb_keys_init(struct mb_err *err);

/* Every key, global ones first: 0 <= i < mb_key_count(). */
size_t mb_key_count(void);
const struct mb_key *mb_key_at(size_t i);
/* Its position in the namespace: its index in mb_run_spec.text. */
size_t mb_key_index(const struct mb_key *key);
/* The plug-in that declared it; NULL for a global key. */
const struct mb_plugin *mb_key_plugin(const struct mb_key *key);
size_t mb_plugin_count(void);
const struct mb_plugin *mb_plugin_at(size_t i);

/* The key called `name`; '-' counts as '_' (`max-bandwidth`). NULL if none. */
const struct mb_key *mb_key_find(const char *name);

/* The key whose name is closest to a misspelt `name`, or NULL when none is
 * close enough to be a plausible typo. */
const struct mb_key *mb_key_suggest(const char *name);

/* Parses one value (not a list) and checks its range. `*value` gets the
 * stored unit (enum index, 0/1, count, bytes, pages/s, µs; 0 for strings).
 * On error the message is about the value only ("'-64M' is not a valid
 * size (...)"): the caller says where it came from. Returns 0 or -1. */
int mb_key_parse(const struct mb_key *key, const char *text, uint64_t *value,
		 struct mb_err *err);

/* Stores a parsed value into its field of `base` (struct mb_params for a
 * global key, its plug-in's options struct for a plug-in's); strings keep
 * `text`. */
void mb_key_store(const struct mb_key *key, void *base, uint64_t value, const char *text);

/* The value of a non-string key in its stored unit. */
uint64_t mb_key_value(const struct mb_key *key, const void *base);

/* The value as JSON: choices as names, bools as true/false, sizes and
 * rates as integers (bytes, bytes/s, pages/s), durations as ms numbers. */
json_t *mb_key_to_json(const struct mb_key *key, const void *base);

/* Bytes of guest memory the guest itself needs (see MB_GUEST_RESERVE_FIXED). */
uint64_t mb_guest_reserve(uint64_t memory, unsigned vcpus);

/* Prints every key with its default, range and help: `migbench run --help`;
 * the plug-ins' keys under each plug-in's name. */
void mb_scenario_print_keys(FILE *out);

/* Every key as JSON, for `migbench run --list-keys --json` (the R analysis
 * reads it): [{name, plugin ("" = global), kind, type, default, unit, min,
 * max, choices, help}]. NULL when out of memory. */
json_t *mb_scenario_keys_json(void);

/* ---- scenario sets, overrides and expansion -------------------------------- */

/* The parsed files and options; opaque. */
struct mb_scenario_set;

/* One repetition of one expanded scenario: what the run loop runs. */
struct mb_run_spec {
	char *name;             /* "<section>" when nothing is swept, else
	                         * "<section>,key=value,..." (swept keys in file
	                         * order); only [A-Za-z0-9._=,+-]; unique */
	char *section;
	char *file;             /* where the section is; NULL for the scenario
	                         * made from options alone */
	unsigned line;          /* of the section header; 0 without a file */
	size_t scenario;        /* index of the expanded scenario, 0-based */
	unsigned repetition;    /* 0 .. params.repetitions - 1 */
	/* guests=K: the scenario is K scenarios "<name>,guest=I" (I = 1..K),
	 * one per guest, migrated together; `group` is the first one's
	 * `scenario` and `guest` is I - 1. With one guest: its own scenario, 0. */
	size_t group;
	unsigned guest;
	struct mb_params params;
	char **text;            /* mb_key_count() values as written (the
	                         * default's text when the key was not set),
	                         * indexed by mb_key_index */
	void **options;         /* mb_plugin_count() plug-ins' options structs
	                         * (NULL for one without keys) */
};

/* How much of spec->name is the scenario's name before the guests=K
 * expansion (which appends ",guest=I"): all of it with one guest. */
size_t mb_run_spec_group_len(const struct mb_run_spec *spec);

/* A plug-in's parsed options in this run (its struct, options_size bytes),
 * by its ops table; NULL when it declares no keys. */
const void *mb_run_spec_options(const struct mb_run_spec *spec, const void *owner);

/* The text of the key called `name` (any plug-in's) in this run; NULL when
 * there is no such key. */
const char *mb_run_spec_text(const struct mb_run_spec *spec, const char *name);

/* A run spec by hand (migbench host-probes, tests): every key at its
 * default. Frees nothing of `spec` but its texts and options on error.
 * Returns 0 or -1. */
int mb_run_spec_defaults(struct mb_run_spec *spec, struct mb_err *err);

/* Sets one key of such a spec (parsed and range-checked). Returns 0 or -1
 * with the message about the value. */
int mb_run_spec_set(struct mb_run_spec *spec, const struct mb_key *key, const char *text,
		    struct mb_err *err);

/* Frees the texts and options of a spec (not its name, section, file). */
void mb_run_spec_release(struct mb_run_spec *spec);

/* The runs in the order to run them. */
struct mb_campaign {
	struct mb_run_spec *runs;
	size_t nruns;
	size_t nscenarios;      /* expanded scenarios (before repetitions) */
};

/* Returns NULL (and fills `err`) only when out of memory. */
struct mb_scenario_set *mb_scenario_set_new(struct mb_err *err);
void mb_scenario_set_free(struct mb_scenario_set *set);

/* Adds the scenarios (sections) of one file. `[global]` sections, which
 * must come before the scenarios, give defaults to the scenarios of the
 * same file. Errors name "file:line: key 'k': ..."; on error the set is
 * unchanged. Returns 0 or -1. */
int mb_scenario_parse_file(struct mb_scenario_set *set, const char *path,
			   struct mb_err *err);

/* The same for text in memory; `name` stands in for the file name. */
int mb_scenario_parse_string(struct mb_scenario_set *set, const char *name,
			     const char *text, struct mb_err *err);

/* `--option=value` from the command line: overrides `option` (a key name,
 * with or without the leading "--", '-' or '_') in every scenario. `value`
 * may be a comma list that sweeps. A later option for the same key replaces
 * an earlier one. Errors name the option. Returns 0 or -1. */
int mb_scenario_apply_option(struct mb_scenario_set *set, const char *option,
			     const char *value, struct mb_err *err);

/* Expands sweeps and repetitions into `campaign` and checks each expanded
 * scenario as a whole (wss <= memory, hybrid needs a switch point, ...),
 * naming the scenario on error. Without any file the options alone make one
 * scenario, "default".
 *
 * Order: scenarios in file and section order, the sweep of each as the
 * cartesian product of its lists (keys in file order, first key slowest,
 * options' keys after the file's); repetitions round-robin over the whole
 * campaign (every scenario's repetition 0, then every repetition 1, ...) so
 * that a drift of the host over a long campaign spreads over all scenarios
 * instead of biasing the ones that happened to run last.
 * Returns 0 or -1; on error `campaign` is empty. */
int mb_scenario_expand(const struct mb_scenario_set *set,
		       struct mb_campaign *campaign, struct mb_err *err);

void mb_campaign_free(struct mb_campaign *campaign);

/* The `scenario` object of a result file: name, section, file and every key
 * with its typed value (see mb_key_to_json). NULL when out of memory. */
json_t *mb_run_spec_to_json(const struct mb_run_spec *spec);

#endif
