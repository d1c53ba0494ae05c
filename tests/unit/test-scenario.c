/* Scenario files, options and sweep expansion. */
#include "config.h"

#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bench/ini.h"
#include "bench/scenario.h"
#include "probes/counters.h"   /* MB_CTR_DEFAULT_HW: counter_events's default */
#include "probes/probe.h"      /* mb_probe_selected: probes= */

#ifndef MB_TOP_SRCDIR
#define MB_TOP_SRCDIR "."
#endif

static char fixture_path[4096];

/* tests/fixtures/scenarios/<name>; MIGBENCH_FIXTURES under `make check`,
 * the source tree's otherwise, so the binary also runs on its own. */
static const char *fixture(const char *name)
{
	const char *dir = getenv("MIGBENCH_FIXTURES");

	if (dir && *dir)
		snprintf(fixture_path, sizeof(fixture_path), "%s/scenarios/%s", dir, name);
	else
		snprintf(fixture_path, sizeof(fixture_path), "%s/tests/fixtures/scenarios/%s",
			 MB_TOP_SRCDIR, name);
	return fixture_path;
}

/* Parses `text` (named "t.ini") and expands it; asserts success. */
static void expand_text(const char *text, struct mb_campaign *c)
{
	struct mb_err err = { 0 };
	struct mb_scenario_set *set = mb_scenario_set_new(&err);

	assert_non_null(set);
	if (mb_scenario_parse_string(set, "t.ini", text, &err) ||
	    mb_scenario_expand(set, c, &err))
		fail_msg("unexpected error: %s", err.msg);
	mb_scenario_set_free(set);
}

/* Parses and expands `text`, expecting an error with exactly `message`. */
static void expect_error(const char *text, const char *message)
{
	struct mb_err err = { 0 };
	struct mb_scenario_set *set = mb_scenario_set_new(&err);
	struct mb_campaign c;
	int rc;

	assert_non_null(set);
	rc = mb_scenario_parse_string(set, "t.ini", text, &err);
	if (!rc) {
		rc = mb_scenario_expand(set, &c, &err);
		if (!rc)
			mb_campaign_free(&c);
	}
	mb_scenario_set_free(set);
	assert_int_equal(rc, -1);
	assert_string_equal(err.msg, message);
}

/* Parses the fixture `name`, expecting `path:suffix` as the message. */
static void expect_file_error(const char *name, const char *suffix)
{
	struct mb_err err = { 0 };
	struct mb_scenario_set *set = mb_scenario_set_new(&err);
	char expected[MB_ERR_MAX];
	const char *path = fixture(name);

	assert_non_null(set);
	snprintf(expected, sizeof(expected), "%s:%s", path, suffix);
	assert_int_equal(mb_scenario_parse_file(set, path, &err), -1);
	assert_string_equal(err.msg, expected);
	mb_scenario_set_free(set);
}

/* ---- the key table ------------------------------------------------------ */

static void key_table_is_complete(void **state)
{
	/* The global keys and the registered plug-ins' (counter_events, ...). */
	assert_true(mb_key_count() > MB_KEY_COUNT);
	for (size_t k = 0; k < mb_key_count(); k++) {
		const struct mb_key *key = mb_key_at(k);
		struct mb_err err = { 0 };
		uint64_t v;

		assert_non_null(key->name);   /* a hole in the designated initialisers */
		assert_non_null(key->help);
		assert_non_null(key->def);
		if (mb_key_parse(key, key->def, &v, &err))
			fail_msg("default of '%s' does not parse: %s", key->name, err.msg);
		assert_true(key->type != MB_TYPE_CHOICE || key->choices);
		assert_true(key->type != MB_TYPE_DURATION || key->unit_us);
		assert_ptr_equal(mb_key_find(key->name), key);
		assert_int_equal(mb_key_index(key), k);
		for (size_t j = 0; j < k; j++)
			assert_string_not_equal(mb_key_at(j)->name, key->name);
	}
}

static void key_lookup_and_suggestions(void **state)
{
	assert_ptr_equal(mb_key_find("max-bandwidth"), &mb_keys[MB_KEY_MAX_BANDWIDTH]);
	assert_ptr_equal(mb_key_find("max_bandwidth"), &mb_keys[MB_KEY_MAX_BANDWIDTH]);
	assert_null(mb_key_find("max_bandwidt"));
	assert_null(mb_key_find("max_bandwidthx"));
	assert_ptr_equal(mb_key_suggest("max_bandwith"), &mb_keys[MB_KEY_MAX_BANDWIDTH]);
	assert_ptr_equal(mb_key_suggest("max-bandwith"), &mb_keys[MB_KEY_MAX_BANDWIDTH]);
	assert_ptr_equal(mb_key_suggest("vcpu"), &mb_keys[MB_KEY_VCPUS]);
	assert_ptr_equal(mb_key_suggest("repetition"), &mb_keys[MB_KEY_REPETITIONS]);
	assert_null(mb_key_suggest("colour"));
	assert_null(mb_key_suggest("completely_unrelated_thing"));
}

struct value_case {
	int key;                /* enum mb_key_id, or KEY_* of a plug-in */
	const char *text;
	uint64_t want;          /* when message is NULL */
	const char *message;    /* the error, or NULL for success */
};

/* The plug-ins' keys, which have no enum mb_key_id: found by name. */
enum { KEY_COUNTER_EVENTS = MB_KEY_COUNT + 1, KEY_CPUSET_SRC, KEY_CPUSET_DST, KEY_CPUSET_PROBES };

static const struct mb_key *case_key(int id)
{
	switch (id) {
	case KEY_COUNTER_EVENTS: return mb_key_find("counter_events");
	case KEY_CPUSET_SRC: return mb_key_find("cpuset_src");
	case KEY_CPUSET_DST: return mb_key_find("cpuset_dst");
	case KEY_CPUSET_PROBES: return mb_key_find("cpuset_probes");
	default: return &mb_keys[id];
	}
}

static void values_parse_and_check_ranges(void **state)
{
	static const struct value_case cases[] = {
		{ MB_KEY_MODE, "postcopy", MB_MODE_POSTCOPY, NULL },
		{ MB_KEY_MODE, "Hybrid", MB_MODE_HYBRID, NULL },
		{ MB_KEY_MODE, "cold", MB_MODE_COLD, NULL },
		{ MB_KEY_MODE, "live", 0, "'live' is not one of precopy, postcopy, hybrid, cold" },
		{ MB_KEY_MEMORY, "1G", 1ULL << 30, NULL },
		{ MB_KEY_MEMORY, "72M", 72ULL << 20, NULL },
		/* 32M..64M passed and then never booted: "guest console: (empty)" */
		{ MB_KEY_MEMORY, "64M", 0, "'64M' is below the minimum, 72M: the guest kernel runs "
					   "out of memory while booting in less" },
		{ MB_KEY_MEMORY, "100000K", 0, "'100000K' is not a whole number of MiB (QEMU is "
					       "given the guest's RAM in MiB)" },
		{ MB_KEY_MEMORY, "2T", 0, "'2T' is above the maximum, 1T" },
		{ MB_KEY_MEMORY, "lots", 0, "'lots' is not a valid size (bytes, e.g. 64M, 1G)" },
		{ MB_KEY_VCPUS, "4", 4, NULL },
		{ MB_KEY_VCPUS, "0", 0, "'0' must be greater than 0" },
		{ MB_KEY_VCPUS, "65", 0, "'65' is above the maximum, 64" },
		{ MB_KEY_VCPUS, "2.5", 0, "'2.5' is not a whole number" },
		{ MB_KEY_VCPUS, "-1", 0, "'-1' is not a whole number" },
		{ MB_KEY_VCPUS, "99999999999", 0, "'99999999999' is too large" },
		{ MB_KEY_WORKLOAD, "idle", MB_WORKLOAD_IDLE, NULL },
		{ MB_KEY_WORKLOAD, "compute", MB_WORKLOAD_COMPUTE, NULL },
		{ MB_KEY_WSS, "64M", 64ULL << 20, NULL },
		{ MB_KEY_WSS, "1K", 0, "'1K' is below the minimum, 4K" },
		{ MB_KEY_RATE, "1000", 1000, NULL },
		{ MB_KEY_RATE, "16M", 4096, NULL },
		{ MB_KEY_RATE, "16MiB/s", 4096, NULL },
		{ MB_KEY_RATE, "0", 0, NULL },
		{ MB_KEY_RATE, "fast", 0, "'fast' is not a valid rate (pages per second, or bytes "
					  "per second with a suffix, e.g. 1000, 16M)" },
		{ MB_KEY_PATTERN, "hotcold", MB_PATTERN_HOTCOLD, NULL },
		{ MB_KEY_PATTERN, "zigzag", 0, "'zigzag' is not one of sequential, random, hotcold" },
		{ MB_KEY_MAX_BANDWIDTH, "1G", 1ULL << 30, NULL },
		{ MB_KEY_MAX_BANDWIDTH, "64MiB/s", 64ULL << 20, NULL },
		{ MB_KEY_MAX_BANDWIDTH, "0", 0, "'0' must be greater than 0" },
		{ MB_KEY_MAX_BANDWIDTH, "-64M", 0,
		  "'-64M' is not a valid bandwidth (bytes per second, e.g. 64M, 1G, or bits per second, e.g. 100Mbit, 10Gbit)" },
		{ MB_KEY_DOWNTIME_LIMIT, "300", 300000, NULL },
		{ MB_KEY_DOWNTIME_LIMIT, "300ms", 300000, NULL },
		{ MB_KEY_DOWNTIME_LIMIT, "2s", 2000000, NULL },
		{ MB_KEY_DOWNTIME_LIMIT, "0", 0, "'0' is below the minimum, 1ms" },
		{ MB_KEY_DOWNTIME_LIMIT, "soon", 0, "'soon' is not a valid duration (ms when no "
						    "unit, e.g. 300ms, 2s)" },
		{ MB_KEY_TRANSPORT, "unix", MB_TRANSPORT_UNIX, NULL },
		{ MB_KEY_TRANSPORT, "rdma", 0, "'rdma' is not one of tcp, unix" },
		{ MB_KEY_REPETITIONS, "3", 3, NULL },
		{ MB_KEY_REPETITIONS, "0", 0, "'0' must be greater than 0" },
		{ MB_KEY_TIMEOUT, "30", 30000000, NULL },
		{ MB_KEY_TIMEOUT, "2min", 120000000, NULL },
		{ MB_KEY_TIMEOUT, "25h", 0, "'25h' is above the maximum, 24h" },
		{ MB_KEY_MAX_PASSES, "0", 0, NULL },
		{ MB_KEY_MAX_PASSES, "30", 30, NULL },
		{ MB_KEY_HYBRID_PASSES, "2", 2, NULL },
		{ MB_KEY_HYBRID_TIME, "5", 5000000, NULL },
		{ MB_KEY_HYBRID_TIME, "500ms", 500000, NULL },
		{ MB_KEY_MULTIFD, "8", 8, NULL },
		{ MB_KEY_MULTIFD, "256", 0, "'256' is above the maximum, 255" },
		{ MB_KEY_MULTIFD_COMPRESSION, "zstd", MB_COMPRESSION_ZSTD, NULL },
		{ MB_KEY_MULTIFD_COMPRESSION, "lz4", 0, "'lz4' is not one of none, zlib, zstd" },
		{ MB_KEY_XBZRLE_CACHE, "0", 0, NULL },
		{ MB_KEY_XBZRLE_CACHE, "32M", 32ULL << 20, NULL },
		{ MB_KEY_XBZRLE_CACHE, "4K", 4096, NULL },
		{ MB_KEY_XBZRLE_CACHE, "3M", 0, "'3M' is neither 0 (off) nor a power of two of at "
						"least 4K (QEMU refuses other cache sizes)" },
		{ MB_KEY_XBZRLE_CACHE, "1K", 0, "'1K' is neither 0 (off) nor a power of two of at "
						"least 4K (QEMU refuses other cache sizes)" },
		{ MB_KEY_AUTO_CONVERGE, "yes", 1, NULL },
		{ MB_KEY_AUTO_CONVERGE, "TRUE", 1, NULL },
		{ MB_KEY_AUTO_CONVERGE, "on", 1, NULL },
		{ MB_KEY_AUTO_CONVERGE, "1", 1, NULL },
		{ MB_KEY_AUTO_CONVERGE, "no", 0, NULL },
		{ MB_KEY_AUTO_CONVERGE, "false", 0, NULL },
		{ MB_KEY_AUTO_CONVERGE, "off", 0, NULL },
		{ MB_KEY_AUTO_CONVERGE, "0", 0, NULL },
		{ MB_KEY_POSTCOPY_PREEMPT, "maybe", 0,
		  "'maybe' is not a boolean (yes/no, true/false, on/off, 1/0)" },
		{ MB_KEY_SAMPLE_INTERVAL, "50", 50000, NULL },
		{ MB_KEY_SAMPLE_INTERVAL, "100us", 0, "'100us' is below the minimum, 1ms" },
		{ MB_KEY_HEARTBEAT_PERIOD, "500us", 500, NULL },
		{ MB_KEY_HEARTBEAT_PERIOD, "2", 2000, NULL },
		{ MB_KEY_HEARTBEAT_PERIOD, "50us", 0, "'50us' is below the minimum, 100us" },
		{ MB_KEY_SETTLE, "0", 0, NULL },
		{ MB_KEY_SETTLE, "2", 2000000, NULL },
		{ MB_KEY_SETTLE, "1h", 0, "'1h' is above the maximum, 10min" },
		{ MB_KEY_ACCEL, "tcg", MB_ACCEL_TCG, NULL },
		{ MB_KEY_ACCEL, "hvf", 0, "'hvf' is not one of auto, kvm, tcg" },
		{ MB_KEY_QEMU, "/opt/qemu/bin/qemu-system-x86_64", 0, NULL },
		{ MB_KEY_QEMU, MB_DEFAULT_QEMU, 0, NULL },      /* the default, even when bare */
		{ MB_KEY_QEMU_DST, "", 0, NULL },               /* the default: same as qemu */
		{ MB_KEY_QEMU, "7.2", 0, NULL },                /* a version migbench installs */
		{ MB_KEY_QEMU, "qemu-kvm", 0, "'qemu-kvm' is neither an absolute path nor a QEMU "
		  "version name (`migbench qemu list`): a scenario file is a program, and the QEMU it "
		  "runs must not depend on PATH or the working directory (write e.g. "
		  "/usr/bin/qemu-system-x86_64, or qemu=7.2)" },
		{ MB_KEY_QEMU_DST, "./qemu-system-x86_64", 0, "'./qemu-system-x86_64' is neither an "
		  "absolute path nor a QEMU version name (`migbench qemu list`): a scenario file is a "
		  "program, and the QEMU it runs must not depend on PATH or the working directory "
		  "(write e.g. /usr/bin/qemu-system-x86_64, or qemu=7.2)" },
		{ KEY_COUNTER_EVENTS, "cycles+instructions", 0, NULL },
		{ KEY_COUNTER_EVENTS, "none", 0, NULL },
		{ KEY_COUNTER_EVENTS, "perf::PERF_COUNT_HW_CACHE_LL:MISS + LLC-misses", 0, NULL },
		{ KEY_COUNTER_EVENTS, "cycles+none", 0, "'cycles+none': 'none' (no hardware "
		  "events) cannot come with event names" },
		{ KEY_COUNTER_EVENTS, "none+cycles", 0, "'none+cycles': 'none' (no hardware "
		  "events) cannot come with event names" },
		{ KEY_COUNTER_EVENTS, "cycles+cache/misses", 0, "'cycles+cache/misses': "
		  "'cache/misses' is not an event name (letters, digits and \"_-.:=\" only)" },
		{ KEY_COUNTER_EVENTS, "+", 0, "'+': no event names in '+'" },
		{ KEY_COUNTER_EVENTS, "a+b+c+d+e+f+g+h+i", 0, "'a+b+c+d+e+f+g+h+i': more than 8 "
		  "hardware events asked for" },
		{ KEY_COUNTER_EVENTS, "INST_RETIRED_AND_THEN_SOME_MORE_LETTERS_THAT_NO_PMU_HAS_IN_ITS_TABLE",
		  0, "'INST_RETIRED_AND_THEN_SOME_MORE_LETTERS_THAT_NO_PMU_HAS_IN_ITS_TABLE': "
		  "'INST_RETIRED_AND_THEN_SOME_MORE_LETTERS_THAT_NO_PMU_HAS_IN_ITS_TABLE' is longer than "
		  "an event name can be (63 characters)" },
		{ KEY_CPUSET_SRC, "", 0, NULL },            /* unbound */
		{ KEY_CPUSET_SRC, "0,1", 0, "'0,1' is not a CPU list: ',' where '+' or the end "
		  "should be (join CPUs and ranges with '+', e.g. 0-1+4)" },
		{ KEY_CPUSET_DST, "3-1", 0, "'3-1' is not a CPU list: the range 3-1 runs backwards" },
		{ KEY_CPUSET_DST, "0-", 0, "'0-' is not a CPU list: '0-' ends where a CPU number "
		  "should be" },
		{ KEY_CPUSET_PROBES, "core:0", 0, "'core:0' is not a CPU list: 'c' where a CPU "
		  "number should be" },
		{ KEY_CPUSET_PROBES, "1024", 0, "'1024' is not a CPU list: CPU numbers go up to 1023" },
		{ KEY_CPUSET_PROBES, " + ", 0, "' + ' is not a CPU list: '+' where a CPU number "
		  "should be" },
		/* probes=: all, none or registered names joined by '+' */
		{ MB_KEY_PROBES, "all", 0, NULL },
		{ MB_KEY_PROBES, "none", 0, NULL },
		{ MB_KEY_PROBES, "counters", 0, NULL },
		{ MB_KEY_PROBES, "counters+energy+placement", 0, NULL },
		{ MB_KEY_PROBES, "heartbeat", 0, "'heartbeat': 'heartbeat' is not a registered probe "
		  "(all, none, or names joined by '+' of: placement, energy, counters, netclient)" },
		{ MB_KEY_PROBES, "counters+energie", 0, "'counters+energie': 'energie' is not a "
		  "registered probe (all, none, or names joined by '+' of: placement, energy, "
		  "counters, netclient)" },
		{ MB_KEY_PROBES, "none+counters", 0, "'none+counters': 'none' cannot come with probe "
		  "names" },
		{ MB_KEY_PROBES, "counters+", 0, "'counters+': an empty probe name (write all, none, "
		  "or probe names joined by '+': placement, energy, counters, netclient)" },
		{ MB_KEY_PROBES, "", 0, "'': an empty probe name (write all, none, or probe names "
		  "joined by '+': placement, energy, counters, netclient)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct value_case *c = &cases[i];
		struct mb_err err = { 0 };
		uint64_t v = 12345;
		const struct mb_key *key = case_key(c->key);
		int rc;

		assert_non_null(key);
		rc = mb_key_parse(key, c->text, &v, &err);
		if (c->message) {
			if (rc != -1)
				fail_msg("%s=%s: accepted", key->name, c->text);
			assert_string_equal(err.msg, c->message);
		} else {
			if (rc)
				fail_msg("%s=%s: %s", key->name, c->text, err.msg);
			assert_int_equal(v, c->want);
		}
	}
}

static void values_land_in_their_fields(void **state)
{
	struct mb_campaign c;
	const struct mb_params *p;

	expand_text("[s]\nmode=postcopy\nmemory=1G\nvcpus=2\nworkload=idle\nwss=128M\n"
		    "rate=16M\npattern=random\nmax_bandwidth=1G\ndowntime_limit=2s\n"
		    "transport=unix\nrepetitions=1\ntimeout=2min\nmax_passes=7\n"
		    "multifd=4\nmultifd_compression=zlib\nxbzrle_cache=64M\n"
		    "auto_converge=on\npostcopy_preempt=yes\nsample_interval=20\n"
		    "heartbeat_period=500us\nsettle=0\naccel=tcg\nqemu=/a/qemu\n"
		    "qemu_dst=/b/qemu\n", &c);
	assert_int_equal(c.nruns, 1);
	p = &c.runs[0].params;
	assert_int_equal(p->mode, MB_MODE_POSTCOPY);
	assert_int_equal(p->memory, 1ULL << 30);
	assert_int_equal(p->vcpus, 2);
	assert_int_equal(p->workload, MB_WORKLOAD_IDLE);
	assert_int_equal(p->wss, 128ULL << 20);
	assert_int_equal(p->rate, 4096);
	assert_int_equal(p->pattern, MB_PATTERN_RANDOM);
	assert_int_equal(p->max_bandwidth, 1ULL << 30);
	assert_int_equal(p->downtime_limit_us, 2000000);
	assert_int_equal(p->transport, MB_TRANSPORT_UNIX);
	assert_int_equal(p->repetitions, 1);
	assert_int_equal(p->timeout_us, 120000000);
	assert_int_equal(p->max_passes, 7);
	assert_int_equal(p->multifd, 4);
	assert_int_equal(p->multifd_compression, MB_COMPRESSION_ZLIB);
	assert_int_equal(p->xbzrle_cache, 64ULL << 20);
	assert_true(p->auto_converge);
	assert_true(p->postcopy_preempt);
	assert_int_equal(p->sample_interval_us, 20000);
	assert_int_equal(p->heartbeat_period_us, 500);
	assert_int_equal(p->settle_us, 0);
	assert_int_equal(p->accel, MB_ACCEL_TCG);
	assert_string_equal(p->qemu, "/a/qemu");
	assert_string_equal(p->qemu_dst, "/b/qemu");
	assert_string_equal(c.runs[0].text[MB_KEY_RATE], "16M");
	assert_string_equal(c.runs[0].text[MB_KEY_DOWNTIME_LIMIT], "2s");
	mb_campaign_free(&c);
}

/* probes= chooses which registered probes run; on/off scenarios that differ
 * only in it sweep and interleave like any key (bench/self-probes.sh). */
static void probes_key_selects_probes(void **state)
{
	struct mb_campaign c;

	expand_text("[global]\nrepetitions=2\n[on]\n[off]\nprobes=none\n"
		    "[two]\nprobes=counters+energy\n", &c);
	assert_int_equal(c.nruns, 6);
	assert_string_equal(c.runs[0].params.probes, "all");
	assert_string_equal(c.runs[1].params.probes, "none");
	assert_string_equal(c.runs[2].params.probes, "counters+energy");
	assert_true(mb_probe_selected(c.runs[0].params.probes, "netclient"));
	assert_false(mb_probe_selected(c.runs[1].params.probes, "counters"));
	assert_true(mb_probe_selected(c.runs[2].params.probes, "counters"));
	assert_true(mb_probe_selected(c.runs[2].params.probes, "energy"));
	assert_false(mb_probe_selected(c.runs[2].params.probes, "placement"));
	assert_false(mb_probe_selected(c.runs[2].params.probes, "count"));
	assert_true(mb_probe_selected(NULL, "counters"));
	mb_campaign_free(&c);
	expect_error("[s]\nprobes=counters+heartbeat\n",
		     "t.ini:2: key 'probes': 'counters+heartbeat': 'heartbeat' is not a registered "
		     "probe (all, none, or names joined by '+' of: placement, energy, counters, "
		     "netclient)");
}

/* ---- defaults, sections, sweeps ----------------------------------------- */

static void defaults_alone_make_one_scenario(void **state)
{
	struct mb_err err = { 0 };
	struct mb_scenario_set *set = mb_scenario_set_new(&err);
	struct mb_campaign c;
	const struct mb_run_spec *r;

	assert_int_equal(mb_scenario_expand(set, &c, &err), 0);
	assert_int_equal(c.nruns, 1);
	assert_int_equal(c.nscenarios, 1);
	r = &c.runs[0];
	assert_string_equal(r->name, "default");
	assert_null(r->file);
	assert_int_equal(r->repetition, 0);
	assert_int_equal(r->params.mode, MB_MODE_PRECOPY);
	assert_int_equal(r->params.memory, 256ULL << 20);
	assert_int_equal(r->params.vcpus, 1);
	assert_int_equal(r->params.wss, 64ULL << 20);
	assert_int_equal(r->params.max_bandwidth, 128ULL << 20);
	assert_int_equal(r->params.downtime_limit_us, 300000);
	assert_int_equal(r->params.sample_interval_us, 50000);
	assert_int_equal(r->params.heartbeat_period_us, 1000);
	assert_int_equal(r->params.settle_us, 2000000);
	assert_int_equal(r->params.repetitions, 1);
	assert_string_equal(r->params.qemu, MB_DEFAULT_QEMU);
	assert_string_equal(r->params.qemu_dst, MB_DEFAULT_QEMU);   /* same as qemu */
	assert_string_equal(r->text[MB_KEY_QEMU_DST], "");
	assert_string_equal(r->text[MB_KEY_MEMORY], "256M");
	mb_campaign_free(&c);
	mb_scenario_set_free(set);
}

static void a_section_with_only_mode_runs(void **state)
{
	struct mb_campaign c;

	expand_text("[pc]\nmode=postcopy\n", &c);
	assert_int_equal(c.nruns, 1);
	assert_string_equal(c.runs[0].name, "pc");
	assert_string_equal(c.runs[0].section, "pc");
	assert_string_equal(c.runs[0].file, "t.ini");
	assert_int_equal(c.runs[0].line, 1);
	assert_int_equal(c.runs[0].params.mode, MB_MODE_POSTCOPY);
	mb_campaign_free(&c);
}

static void sweep_is_a_product_in_file_order(void **state)
{
	static const char *const names[] = {
		"precopy,max_bandwidth=64M,downtime_limit=100,rate=0",
		"precopy,max_bandwidth=64M,downtime_limit=100,rate=1000",
		"precopy,max_bandwidth=64M,downtime_limit=100,rate=16M",
		"precopy,max_bandwidth=64M,downtime_limit=300ms,rate=0",
		"precopy,max_bandwidth=64M,downtime_limit=300ms,rate=1000",
		"precopy,max_bandwidth=64M,downtime_limit=300ms,rate=16M",
		"precopy,max_bandwidth=1G,downtime_limit=100,rate=0",
		"precopy,max_bandwidth=1G,downtime_limit=100,rate=1000",
		"precopy,max_bandwidth=1G,downtime_limit=100,rate=16M",
		"precopy,max_bandwidth=1G,downtime_limit=300ms,rate=0",
		"precopy,max_bandwidth=1G,downtime_limit=300ms,rate=1000",
		"precopy,max_bandwidth=1G,downtime_limit=300ms,rate=16M",
		"single",
	};
	struct mb_err err = { 0 };
	struct mb_scenario_set *set = mb_scenario_set_new(&err);
	struct mb_campaign c;

	if (mb_scenario_parse_file(set, fixture("sweep.ini"), &err) ||
	    mb_scenario_expand(set, &c, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(c.nruns, 13);
	assert_int_equal(c.nscenarios, 13);
	for (size_t i = 0; i < c.nruns; i++) {
		assert_string_equal(c.runs[i].name, names[i]);
		assert_int_equal(c.runs[i].scenario, i);
	}
	/* the typed values follow the names */
	assert_int_equal(c.runs[0].params.max_bandwidth, 64ULL << 20);
	assert_int_equal(c.runs[0].params.downtime_limit_us, 100000);
	assert_int_equal(c.runs[0].params.rate, 0);
	assert_int_equal(c.runs[1].params.rate, 1000);
	assert_string_equal(c.runs[1].text[MB_KEY_RATE], "1000");   /* trimmed */
	assert_int_equal(c.runs[2].params.rate, 4096);
	assert_int_equal(c.runs[11].params.max_bandwidth, 1ULL << 30);
	assert_int_equal(c.runs[11].params.downtime_limit_us, 300000);
	/* [global] is inherited, and a section overrides it (ending the sweep) */
	assert_int_equal(c.runs[0].params.memory, 512ULL << 20);
	assert_int_equal(c.runs[12].params.memory, 512ULL << 20);
	assert_int_equal(c.runs[12].params.max_bandwidth, 256ULL << 20);
	assert_int_equal(c.runs[12].params.downtime_limit_us, 50000);
	assert_int_equal(c.runs[12].params.mode, MB_MODE_POSTCOPY);
	assert_int_equal(c.runs[12].params.rate, 1024);  /* default 4M */
	mb_campaign_free(&c);
	mb_scenario_set_free(set);
}

static void names_are_filesystem_safe(void **state)
{
	struct mb_campaign c;

	expand_text("[q]\nqemu=/usr/bin/qemu-a, /opt/q b+1\n", &c);
	assert_int_equal(c.nruns, 2);
	assert_string_equal(c.runs[0].name, "q,qemu=_usr_bin_qemu-a");
	assert_string_equal(c.runs[1].name, "q,qemu=_opt_q_b+1");
	assert_string_equal(c.runs[1].params.qemu, "/opt/q b+1");
	assert_string_equal(c.runs[1].params.qemu_dst, "/opt/q b+1");
	mb_campaign_free(&c);

	expect_error("[q]\nqemu=/a/b,/a_b\n",
		     "scenario name 'q,qemu=_a_b' is used twice (t.ini:1 and t.ini:1): values "
		     "that differ only in characters outside [A-Za-z0-9._=,+-] give the same name");
}

static void repetitions_round_robin(void **state)
{
	struct mb_campaign c;
	static const struct { const char *name; unsigned rep; size_t scenario; } want[] = {
		{ "a", 0, 0 }, { "b,rate=1", 0, 1 }, { "b,rate=2", 0, 2 },
		{ "b,rate=1", 1, 1 }, { "b,rate=2", 1, 2 },
		{ "b,rate=1", 2, 1 }, { "b,rate=2", 2, 2 },
	};

	expand_text("[a]\n[b]\nrepetitions=3\nrate=1,2\n", &c);
	assert_int_equal(c.nscenarios, 3);
	assert_int_equal(c.nruns, 7);
	for (size_t i = 0; i < c.nruns; i++) {
		assert_string_equal(c.runs[i].name, want[i].name);
		assert_int_equal(c.runs[i].repetition, want[i].rep);
		assert_int_equal(c.runs[i].scenario, want[i].scenario);
	}
	mb_campaign_free(&c);
}

static void several_files_contribute(void **state)
{
	struct mb_err err = { 0 };
	struct mb_scenario_set *set = mb_scenario_set_new(&err);
	struct mb_campaign c;

	assert_int_equal(mb_scenario_parse_string(set, "a.ini", "[global]\nvcpus=2\n[one]\n", &err), 0);
	/* [global] belongs to its own file */
	assert_int_equal(mb_scenario_parse_string(set, "b.ini", "[two]\n", &err), 0);
	/* a failed file leaves the set as it was */
	assert_int_equal(mb_scenario_parse_string(set, "c.ini", "[three]\nvcpus=x\n", &err), -1);
	assert_int_equal(mb_scenario_parse_string(set, "d.ini", "[one]\n", &err), -1);
	assert_string_equal(err.msg, "d.ini:1: section 'one': already defined at a.ini:3");
	assert_int_equal(mb_scenario_expand(set, &c, &err), 0);
	assert_int_equal(c.nruns, 2);
	assert_string_equal(c.runs[0].name, "one");
	assert_int_equal(c.runs[0].params.vcpus, 2);
	assert_string_equal(c.runs[1].name, "two");
	assert_string_equal(c.runs[1].file, "b.ini");
	assert_int_equal(c.runs[1].params.vcpus, 1);
	mb_campaign_free(&c);
	mb_scenario_set_free(set);
}

/* ---- syntax and value errors -------------------------------------------- */

static void file_errors_name_file_line_key(void **state)
{
	expect_file_error("unknown-key.ini",
			  "6: key 'max_bandwith': unknown key (did you mean 'max_bandwidth'?)");
	expect_file_error("bad-value.ini",
			  "4: key 'max_bandwidth': '-64M' is not a valid bandwidth (bytes per second, "
			  "e.g. 64M, 1G, or bits per second, e.g. 100Mbit, 10Gbit)");
	expect_file_error("bad-section.ini",
			  "4: section 'pre copy': bad name (use at most 128 letters, digits, '.', "
			  "'_', '+' and '-', not starting with '.')");
	expect_file_error("missing-equals.ini", "3: 'max_bandwidth 64M' is not key=value (missing '=')");
}

static void missing_file_says_why(void **state)
{
	struct mb_err err = { 0 };
	struct mb_scenario_set *set = mb_scenario_set_new(&err);

	assert_int_equal(mb_scenario_parse_file(set, "/nonexistent/x.ini", &err), -1);
	assert_string_equal(err.msg, "cannot open '/nonexistent/x.ini': No such file or directory");
	mb_scenario_set_free(set);
}

static void syntax_errors(void **state)
{
	expect_error("[s]\nrate=1\nmode=precopy\nrate=2\n",
		     "t.ini:4: key 'rate': already set at line 2");
	expect_error("[global]\nrate=1\n[global]\nrate=2\n[s]\n",
		     "t.ini:4: key 'rate': already set at line 2");
	expect_error("mode=precopy\n[s]\n",
		     "t.ini:1: key 'mode': outside any section (start with [global] or "
		     "[scenario-name])");
	expect_error("[s]\n[global]\nrate=1\n",
		     "t.ini:2: [global] after a scenario section: put it first (it gives defaults "
		     "to every scenario of its file)");
	expect_error("[s]\n[s]\n", "t.ini:2: section 's': already defined at t.ini:1");
	expect_error("[s\n", "t.ini:1: section header '[s' lacks the closing ']'");
	expect_error("[s] x\n", "t.ini:1: unexpected 'x' after section header '[s]'");
	expect_error("[ ]\n", "t.ini:1: empty section name '[]'");
	expect_error("[a,b]\n", "t.ini:1: section 'a,b': bad name (use at most 128 letters, "
		     "digits, '.', '_', '+' and '-', not starting with '.')");
	expect_error("[..]\n", "t.ini:1: section '..': bad name (use at most 128 letters, "
		     "digits, '.', '_', '+' and '-', not starting with '.')");
	expect_error("[s]\n=5\n", "t.ini:2: missing key before '=5'");
	expect_error("[s]\nrate=\n", "t.ini:2: key 'rate': empty value");
	expect_error("[s]\nrate=1,,2\n", "t.ini:2: key 'rate': empty item in the list '1,,2'");
	expect_error("[s]\nrate=1,2,1\n", "t.ini:2: key 'rate': '1' is listed twice in '1,2,1'");
	expect_error("[s]\nrepetitions=1,3\n",
		     "t.ini:2: key 'repetitions': '1,3' cannot be swept: one value per scenario");
	expect_error("[s]\nmode=precopy,live\n",
		     "t.ini:2: key 'mode': 'live' is not one of precopy, postcopy, hybrid, cold");
	expect_error("", "t.ini: no scenario: a file needs at least one [scenario-name] section");
	expect_error("[global]\nrate=1\n",
		     "t.ini: no scenario: a file needs at least one [scenario-name] section");
}

static void comments_and_blank_lines(void **state)
{
	struct mb_campaign c;

	expand_text("\xEF\xBB\xBF# leading comment\n; another\n\n  [global]  # remark\n"
		    "  rate = 16M   # modest\r\n\n[s] ; the only one\nqemu=/opt/a#b\n"
		    "max-bandwidth=1G\n", &c);
	assert_int_equal(c.nruns, 1);
	assert_int_equal(c.runs[0].params.rate, 4096);
	assert_int_equal(c.runs[0].params.max_bandwidth, 1ULL << 30);
	assert_string_equal(c.runs[0].params.qemu, "/opt/a#b");
	mb_campaign_free(&c);
}

/* ---- checks across keys ------------------------------------------------- */

static void cross_checks_name_the_scenario(void **state)
{
	struct mb_err err = { 0 };
	struct mb_scenario_set *set = mb_scenario_set_new(&err);
	struct mb_campaign c;
	char want[MB_ERR_MAX];

	assert_int_equal(mb_scenario_parse_file(set, fixture("cross-check.ini"), &err), 0);
	assert_int_equal(mb_scenario_expand(set, &c, &err), -1);
	snprintf(want, sizeof(want), "scenario 'small,wss=256M' (%s:1): wss (256M) is larger "
		 "than memory (128M)", fixture("cross-check.ini"));
	assert_string_equal(err.msg, want);
	assert_int_equal(c.nruns, 0);
	mb_scenario_set_free(set);

	expect_error("[h]\nmode=hybrid\n", "scenario 'h' (t.ini:1): mode=hybrid needs "
		     "hybrid_passes or hybrid_time (when to switch to post-copy)");
	expect_error("[h]\nhybrid_passes=2\n",
		     "scenario 'h' (t.ini:1): hybrid_passes applies only to mode=hybrid");
	expect_error("[h]\nmode=postcopy\nhybrid_time=10\n",
		     "scenario 'h' (t.ini:1): hybrid_time applies only to mode=hybrid");
	expect_error("[h]\nmode=hybrid\nhybrid_passes=5\nmax_passes=3\n",
		     "scenario 'h' (t.ini:1): hybrid_passes (5) exceeds max_passes (3): the "
		     "switch to post-copy would never come");
	expect_error("[p]\nmode=precopy,postcopy\npostcopy_preempt=yes\n",
		     "scenario 'p,mode=precopy' (t.ini:1): postcopy_preempt applies only to "
		     "mode=postcopy or mode=hybrid");
	expect_error("[m]\nmultifd_compression=zstd\n", "scenario 'm' (t.ini:1): "
		     "multifd_compression=zstd needs multifd channels (multifd > 0)");
	expect_error("[x]\nxbzrle_cache=1K\n", "t.ini:2: key 'xbzrle_cache': '1K' is neither 0 "
		     "(off) nor a power of two of at least 4K (QEMU refuses other cache sizes)");
	expect_error("[x]\nmemory=96M\nwss=4M\nxbzrle_cache=128M\n", "scenario 'x' (t.ini:1): "
		     "xbzrle_cache (128M) is larger than memory (96M)");
	expect_error("[h]\nmode=hybrid\nhybrid_time=5min\n", "scenario 'h' (t.ini:1): "
		     "hybrid_time (5min) is not before timeout (5min): the switch to post-copy "
		     "would never come");

	/* the shaped link */
	expect_error("[l]\nlink_jitter=5ms\n", "scenario 'l' (t.ini:1): link_jitter needs link_delay "
		     "(the jitter varies the link's delay around link_delay)");
	expect_error("[l]\nlink_delay=1ms\nlink_jitter=5ms\n", "scenario 'l' (t.ini:1): link_jitter "
		     "(5ms) exceeds link_delay (1ms): a packet's delay would go below zero");
	expect_error("[l]\nlink_delay=20ms\ntransport=unix\n", "scenario 'l' (t.ini:1): link_* shapes a "
		     "TCP/IP link between two network namespaces; transport=unix would bypass it (use "
		     "transport=tcp)");
	expect_error("[l]\nlink_loss=1%\nworkload=echo\n", "scenario 'l' (t.ini:1): link_* cannot be "
		     "combined with workload=echo: its service network is a bridge in one namespace "
		     "holding both QEMUs, while the shaped link puts each QEMU in a namespace of its own");
	expect_error("[l]\nlink_bandwidth=-100Mbit\n", "t.ini:2: key 'link_bandwidth': '-100Mbit' is not a "
		     "valid bandwidth (bytes per second, e.g. 64M, 1G, or bits per second, e.g. 100Mbit, "
		     "10Gbit)");
	expect_error("[l]\nlink_loss=101%\n", "t.ini:2: key 'link_loss': '101%' is not a fraction in "
		     "[0, 1] (e.g. 0.1 or 10%)");
	expect_error("[l]\nlink_loss=60%\n", "t.ini:2: key 'link_loss': '60%' is above the maximum, 0.5");
	expand_text("[l]\nlink_bandwidth=100Mbit\nlink_delay=20ms\nlink_jitter=2ms\nlink_loss=0.1%\n", &c);
	assert_true(c.runs[0].params.link_bandwidth == 12500000);
	assert_true(c.runs[0].params.link_delay_us == 20000 && c.runs[0].params.link_jitter_us == 2000);
	assert_true(c.runs[0].params.link_loss > 0.00099 && c.runs[0].params.link_loss < 0.00101);
	assert_true(mb_params_link_shaped(&c.runs[0].params));
	mb_campaign_free(&c);
	expand_text("[l]\nmode=precopy\n", &c);
	assert_false(mb_params_link_shaped(&c.runs[0].params));
	mb_campaign_free(&c);

	/* and what is fine */
	expand_text("[h]\nmode=hybrid\nhybrid_time=5s\npostcopy_preempt=yes\n"
		    "multifd=2\nmultifd_compression=zstd\nwss=128M\n", &c);
	assert_int_equal(c.nruns, 1);
	mb_campaign_free(&c);
}

/* The guest maps wss (and kv's store) and faults it in while it boots: what
 * leaves its kernel too little used to pass here and panic the guest
 * ("System is deadlocked on memory"). */
static void working_set_leaves_the_guest_its_share(void **state)
{
	const struct mb_key *memory = &mb_keys[MB_KEY_MEMORY], *wss = &mb_keys[MB_KEY_WSS];
	struct mb_campaign c;

	/* the smallest memory still holds the smallest working set */
	assert_true(mb_guest_reserve(memory->min, 1) + wss->min <= memory->min);
	/* and the bound stays above what was measured to boot (scenario.h) */
	assert_true(mb_guest_reserve(128ULL << 20, 1) >= 64ULL << 20);
	assert_true(mb_guest_reserve(1ULL << 30, 1) >= 133ULL << 20);
	assert_true(mb_guest_reserve(90ULL << 20, 32) >= 89ULL << 20);

	expect_error("[d]\nmemory=256M\nwss=200M\n", "scenario 'd' (t.ini:1): wss (200M) leaves "
		     "the guest too little of memory (256M): it keeps 90M for its kernel and agent "
		     "(64M + memory/10 + 768K per vCPU beyond the first), so wss can be at most 166M");
	expect_error("[k]\nworkload=kv\nmemory=256M\nwss=64M\nkv_size=128M\n", "scenario 'k' "
		     "(t.ini:1): wss (64M) + kv_size (128M) leave the guest too little of memory "
		     "(256M): it keeps 90M for its kernel and agent (64M + memory/10 + 768K per vCPU "
		     "beyond the first), so wss + kv_size can be at most 166M");
	expect_error("[v]\nmemory=80M\nvcpus=32\nwss=4K\n", "scenario 'v' (t.ini:1): memory "
		     "(80M) is too little for vcpus (32): the guest keeps 96M for its kernel and agent "
		     "(64M + memory/10 + 768K per vCPU beyond the first)");
	expect_error("[m]\nmemory=72M\nwss=1M\n", "scenario 'm' (t.ini:1): wss (1M) leaves the "
		     "guest too little of memory (72M): it keeps 72M for its kernel and agent (64M + "
		     "memory/10 + 768K per vCPU beyond the first), so wss can be at most 819K");
	/* kv_size counts only where the store exists */
	expand_text("[a]\nworkload=dirty\nmemory=256M\nwss=160M\nkv_size=128M\n"
		    "[b]\nworkload=kv\nmemory=256M\nwss=64M\nkv_size=96M\n"
		    "[c]\nmemory=72M\nwss=512K\n", &c);
	assert_int_equal(c.nruns, 3);
	mb_campaign_free(&c);
}

/* cpuset_* used to be read only by the placement probe, once both QEMUs ran. */
static void cpusets_name_cpus_of_this_host(void **state)
{
	const struct mb_key *key = mb_key_find("cpuset_src");   /* the placement probe's */
	struct mb_err err = { 0 };
	cpu_set_t mine;
	int have = -1, lack = -1;
	char text[64], want[MB_ERR_MAX];
	uint64_t v;

	assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
	for (int cpu = 0; cpu < CPU_SETSIZE && (have < 0 || lack < 0); cpu++) {
		if (CPU_ISSET(cpu, &mine) && have < 0)
			have = cpu;
		if (!CPU_ISSET(cpu, &mine) && lack < 0)
			lack = cpu;
	}
	assert_true(have >= 0);
	snprintf(text, sizeof(text), "%d", have);
	if (mb_key_parse(key, text, &v, &err))
		fail_msg("cpuset_src=%s (a CPU of ours): %s", text, err.msg);
	snprintf(text, sizeof(text), "%d-%d", have, have);
	if (mb_key_parse(key, text, &v, &err))
		fail_msg("cpuset_src=%s: %s", text, err.msg);
	if (lack < 0) {
		print_message("# this host offers all %d CPUs: no missing one to name\n", CPU_SETSIZE);
		return;
	}
	snprintf(text, sizeof(text), "%d+%d", have, lack);
	assert_int_equal(mb_key_parse(key, text, &v, &err), -1);
	snprintf(want, sizeof(want), "'%s' names CPU %d, which this host does not offer migbench "
		 "(it may use ", text, lack);
	if (strncmp(err.msg, want, strlen(want)))
		fail_msg("unexpected error: %s", err.msg);

	/* and the refusal comes with the file and line, before any run exists */
	snprintf(text, sizeof(text), "[p]\nmode=precopy\ncpuset_dst=%d\n", lack);
	{
		struct mb_scenario_set *set = mb_scenario_set_new(&err);

		assert_non_null(set);
		assert_int_equal(mb_scenario_parse_string(set, "t.ini", text, &err), -1);
		snprintf(want, sizeof(want), "t.ini:3: key 'cpuset_dst': '%d' names CPU %d", lack, lack);
		if (strncmp(err.msg, want, strlen(want)))
			fail_msg("unexpected error: %s", err.msg);
		mb_scenario_set_free(set);
	}
}

/* ---- the reader's limits ------------------------------------------------- */

/* `migbench run /dev/zero` read until it had 3.2 GB. */
static void reader_refuses_what_is_not_a_scenario(void **state)
{
	struct mb_err err = { 0 };
	struct mb_scenario_set *set = mb_scenario_set_new(&err);
	char path[] = "/tmp/test-scenario-XXXXXX", want[MB_ERR_MAX];
	size_t big = MB_INI_FILE_MAX + 100;
	char *text = malloc(big + 1);
	FILE *f;
	int fd;

	assert_non_null(set);
	assert_non_null(text);
	assert_int_equal(mb_scenario_parse_file(set, "/dev/zero", &err), -1);
	snprintf(want, sizeof(want), "/dev/zero:1: line longer than %d bytes: not a scenario file",
		 MB_INI_LINE_MAX);
	assert_string_equal(err.msg, want);

	/* a line at the limit is fine, one byte more is not; the line is named */
	memset(text, '#', big);
	memcpy(text, "[s]\n", 4);
	text[4 + MB_INI_LINE_MAX] = '\n';
	text[4 + MB_INI_LINE_MAX + 1] = '\0';
	assert_int_equal(mb_scenario_parse_string(set, "t.ini", text, &err), 0);
	text[4 + MB_INI_LINE_MAX] = '#';
	text[4 + MB_INI_LINE_MAX + 1] = '\n';
	text[4 + MB_INI_LINE_MAX + 2] = '\0';
	expect_error(text, "t.ini:2: line longer than 16384 bytes: not a scenario file");

	/* a file of short lines that goes on past the size limit, named at the line
	 * where the limit falls */
	for (size_t i = 0; i < big; i++)
		text[i] = i % 8 == 7 ? '\n' : '#';
	memcpy(text, "[s2]\n###", 8);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, big, f), big);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(mb_scenario_parse_file(set, path, &err), -1);
	unlink(path);
	snprintf(want, sizeof(want), "%s:%d: the file goes on past 1M, more than a scenario file "
		 "may hold", path, MB_INI_FILE_MAX / 8 + 1);
	assert_string_equal(err.msg, want);
	text[big] = '\0';
	expect_error(text, "t.ini:131073: the file goes on past 1M, more than a scenario file may hold");

	/* binary data */
	assert_int_equal(mb_scenario_parse_file(set, "/proc/self/cmdline", &err), -1);
	assert_non_null(strstr(err.msg, "/proc/self/cmdline:1: NUL byte: not a text file"));
	free(text);
	mb_scenario_set_free(set);
}

/* ---- options ------------------------------------------------------------ */

static void options_override_every_scenario(void **state)
{
	struct mb_err err = { 0 };
	struct mb_scenario_set *set = mb_scenario_set_new(&err);
	struct mb_campaign c;

	assert_int_equal(mb_scenario_parse_string(set, "t.ini",
		"[global]\nmax_bandwidth=64M\n[a]\nrate=1,2\n[b]\nmax_bandwidth=32M,64M\n", &err), 0);
	assert_int_equal(mb_scenario_apply_option(set, "--max-bandwidth", "1G", &err), 0);
	assert_int_equal(mb_scenario_apply_option(set, "vcpus", "1", &err), 0);
	assert_int_equal(mb_scenario_apply_option(set, "vcpus", "2,4", &err), 0); /* later wins */
	assert_int_equal(mb_scenario_expand(set, &c, &err), 0);
	/* options' keys sweep after the file's; the option replaces b's sweep */
	assert_int_equal(c.nruns, 6);
	assert_string_equal(c.runs[0].name, "a,rate=1,vcpus=2");
	assert_string_equal(c.runs[1].name, "a,rate=1,vcpus=4");
	assert_string_equal(c.runs[2].name, "a,rate=2,vcpus=2");
	assert_string_equal(c.runs[3].name, "a,rate=2,vcpus=4");
	assert_string_equal(c.runs[4].name, "b,vcpus=2");
	assert_string_equal(c.runs[5].name, "b,vcpus=4");
	for (size_t i = 0; i < c.nruns; i++)
		assert_int_equal(c.runs[i].params.max_bandwidth, 1ULL << 30);
	assert_int_equal(c.runs[4].params.vcpus, 2);
	assert_int_equal(c.runs[5].params.vcpus, 4);
	mb_campaign_free(&c);

	/* an option list that replaces a swept key keeps that key's place */
	assert_int_equal(mb_scenario_apply_option(set, "rate", "7,8", &err), 0);
	assert_int_equal(mb_scenario_apply_option(set, "vcpus", "1", &err), 0);
	assert_int_equal(mb_scenario_expand(set, &c, &err), 0);
	assert_int_equal(c.nruns, 4);
	assert_string_equal(c.runs[0].name, "a,rate=7");
	assert_string_equal(c.runs[1].name, "a,rate=8");
	assert_string_equal(c.runs[2].name, "b,rate=7");
	assert_string_equal(c.runs[3].name, "b,rate=8");
	assert_int_equal(c.runs[3].params.rate, 8);
	mb_campaign_free(&c);
	mb_scenario_set_free(set);
}

static void options_without_a_file(void **state)
{
	struct mb_err err = { 0 };
	struct mb_scenario_set *set = mb_scenario_set_new(&err);
	struct mb_campaign c;

	assert_int_equal(mb_scenario_apply_option(set, "--mode", "postcopy", &err), 0);
	assert_int_equal(mb_scenario_apply_option(set, "--repetitions", "2", &err), 0);
	assert_int_equal(mb_scenario_expand(set, &c, &err), 0);
	assert_int_equal(c.nruns, 2);
	assert_int_equal(c.nscenarios, 1);
	assert_string_equal(c.runs[0].name, "default");
	assert_int_equal(c.runs[0].params.mode, MB_MODE_POSTCOPY);
	assert_int_equal(c.runs[1].repetition, 1);
	mb_campaign_free(&c);

	assert_int_equal(mb_scenario_apply_option(set, "--mode", "hybrid", &err), 0);
	assert_int_equal(mb_scenario_expand(set, &c, &err), -1);
	assert_string_equal(err.msg, "scenario 'default' (command line): mode=hybrid needs "
			    "hybrid_passes or hybrid_time (when to switch to post-copy)");
	mb_scenario_set_free(set);
}

static void option_errors_name_the_option(void **state)
{
	struct mb_err err = { 0 };
	struct mb_scenario_set *set = mb_scenario_set_new(&err);

	assert_int_equal(mb_scenario_apply_option(set, "--max-bandwith", "1G", &err), -1);
	assert_string_equal(err.msg, "option '--max-bandwith': unknown key (did you mean "
			    "'--max-bandwidth'?)");
	assert_int_equal(mb_scenario_apply_option(set, "max_bandwith", "1G", &err), -1);
	assert_string_equal(err.msg, "option '--max_bandwith': unknown key (did you mean "
			    "'--max_bandwidth'?)");
	assert_int_equal(mb_scenario_apply_option(set, "--colour", "red", &err), -1);
	assert_string_equal(err.msg, "option '--colour': unknown key");
	assert_int_equal(mb_scenario_apply_option(set, "--max-bandwidth", "-64M", &err), -1);
	assert_string_equal(err.msg, "option '--max-bandwidth': '-64M' is not a valid bandwidth "
			    "(bytes per second, e.g. 64M, 1G, or bits per second, e.g. 100Mbit, 10Gbit)");
	assert_int_equal(mb_scenario_apply_option(set, "--vcpus", "1,99", &err), -1);
	assert_string_equal(err.msg, "option '--vcpus': '99' is above the maximum, 64");
	assert_int_equal(mb_scenario_apply_option(set, "--repetitions", "2,3", &err), -1);
	assert_string_equal(err.msg, "option '--repetitions': '2,3' cannot be swept: one value "
			    "per scenario");
	assert_int_equal(mb_scenario_apply_option(set, "--rate", NULL, &err), -1);
	assert_string_equal(err.msg, "option '--rate': missing value (--rate=VALUE)");
	mb_scenario_set_free(set);
}

/* ---- the JSON echo ------------------------------------------------------ */

static void json_echo_is_typed(void **state)
{
	struct mb_campaign c;
	json_t *o;

	expand_text("[s]\nmode=hybrid\nhybrid_passes=2\nmax_bandwidth=1G\nrate=16M\n"
		    "downtime_limit=1500\nheartbeat_period=250us\nauto_converge=yes\nqemu=/q\n", &c);
	o = mb_run_spec_to_json(&c.runs[0]);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "s");
	assert_string_equal(json_string_value(json_object_get(o, "section")), "s");
	assert_string_equal(json_string_value(json_object_get(o, "file")), "t.ini");
	assert_string_equal(json_string_value(json_object_get(o, "mode")), "hybrid");
	assert_true(json_is_integer(json_object_get(o, "memory")));
	assert_int_equal(json_integer_value(json_object_get(o, "memory")), 256LL << 20);
	assert_int_equal(json_integer_value(json_object_get(o, "max_bandwidth")), 1LL << 30);
	assert_int_equal(json_integer_value(json_object_get(o, "rate")), 4096);
	assert_int_equal(json_integer_value(json_object_get(o, "vcpus")), 1);
	assert_int_equal(json_integer_value(json_object_get(o, "hybrid_passes")), 2);
	assert_true(json_is_real(json_object_get(o, "downtime_limit")));
	assert_true(json_real_value(json_object_get(o, "downtime_limit")) == 1500.0);
	assert_true(json_real_value(json_object_get(o, "timeout")) == 300000.0);
	assert_true(json_real_value(json_object_get(o, "heartbeat_period")) == 0.25);
	assert_true(json_is_true(json_object_get(o, "auto_converge")));
	assert_true(json_is_false(json_object_get(o, "postcopy_preempt")));
	assert_string_equal(json_string_value(json_object_get(o, "multifd_compression")), "none");
	assert_string_equal(json_string_value(json_object_get(o, "qemu_dst")), "/q");
	for (size_t k = 0; k < mb_key_count(); k++)
		assert_non_null(json_object_get(o, mb_key_at(k)->name));
	assert_int_equal(json_object_size(o), mb_key_count() + 3);
	/* the plug-ins' keys in the same block, as they always were */
	assert_string_equal(json_string_value(json_object_get(o, "counter_events")), MB_CTR_DEFAULT_HW);
	assert_string_equal(json_string_value(json_object_get(o, "cpuset_src")), "");
	json_decref(o);
	mb_campaign_free(&c);

	/* the scenario made from options has no file */
	{
		struct mb_err err = { 0 };
		struct mb_scenario_set *set = mb_scenario_set_new(&err);

		assert_int_equal(mb_scenario_expand(set, &c, &err), 0);
		o = mb_run_spec_to_json(&c.runs[0]);
		assert_true(json_is_null(json_object_get(o, "file")));
		json_decref(o);
		mb_campaign_free(&c);
		mb_scenario_set_free(set);
	}
}

/* ---- the bundled scenario and --help ------------------------------------ */

static void bundled_main_ini_expands_to_nine_runs(void **state)
{
	static const char *const order[] = { "precopy", "postcopy", "hybrid" };
	static const enum mb_mode modes[] = { MB_MODE_PRECOPY, MB_MODE_POSTCOPY, MB_MODE_HYBRID };
	struct mb_err err = { 0 };
	struct mb_scenario_set *set = mb_scenario_set_new(&err);
	struct mb_campaign c;

	if (mb_scenario_parse_file(set, MB_TOP_SRCDIR "/bench/scenarios/main.ini", &err) ||
	    mb_scenario_expand(set, &c, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(c.nscenarios, 3);
	assert_int_equal(c.nruns, 9);
	for (size_t i = 0; i < c.nruns; i++) {
		assert_string_equal(c.runs[i].name, order[i % 3]);
		assert_int_equal(c.runs[i].repetition, i / 3);
		assert_int_equal(c.runs[i].params.mode, modes[i % 3]);
		assert_int_equal(c.runs[i].params.workload, MB_WORKLOAD_DIRTY);
		assert_true(c.runs[i].params.rate > 0);
		assert_true(c.runs[i].params.wss <= c.runs[i].params.memory);
	}
	mb_campaign_free(&c);
	mb_scenario_set_free(set);
}

static void help_lists_every_key_with_its_default(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	mb_scenario_print_keys(out);
	fclose(out);
	for (size_t k = 0; k < mb_key_count(); k++) {
		char want[128];

		snprintf(want, sizeof(want), "  %s=%s ", mb_key_at(k)->name, mb_key_at(k)->def);
		if (!strstr(text, want))
			fail_msg("--help lacks '%s'", want);
	}
	assert_non_null(strstr(text, "[precopy|postcopy|hybrid|cold]"));
	assert_non_null(strstr(text, "[72M..1T]"));
	assert_non_null(strstr(text, "[1..64]"));
	assert_non_null(strstr(text, "[1ms..2000s]"));
	/* a plug-in's keys under its name, after the global ones */
	assert_non_null(strstr(text, "\nThe probe 'counters' ("));
	assert_true(strstr(text, "  counter_events=") > strstr(text, "The probe 'counters'"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key_table_is_complete),
		cmocka_unit_test(key_lookup_and_suggestions),
		cmocka_unit_test(values_parse_and_check_ranges),
		cmocka_unit_test(values_land_in_their_fields),
		cmocka_unit_test(probes_key_selects_probes),
		cmocka_unit_test(defaults_alone_make_one_scenario),
		cmocka_unit_test(a_section_with_only_mode_runs),
		cmocka_unit_test(sweep_is_a_product_in_file_order),
		cmocka_unit_test(names_are_filesystem_safe),
		cmocka_unit_test(repetitions_round_robin),
		cmocka_unit_test(several_files_contribute),
		cmocka_unit_test(file_errors_name_file_line_key),
		cmocka_unit_test(missing_file_says_why),
		cmocka_unit_test(syntax_errors),
		cmocka_unit_test(comments_and_blank_lines),
		cmocka_unit_test(cross_checks_name_the_scenario),
		cmocka_unit_test(working_set_leaves_the_guest_its_share),
		cmocka_unit_test(cpusets_name_cpus_of_this_host),
		cmocka_unit_test(reader_refuses_what_is_not_a_scenario),
		cmocka_unit_test(options_override_every_scenario),
		cmocka_unit_test(options_without_a_file),
		cmocka_unit_test(option_errors_name_the_option),
		cmocka_unit_test(json_echo_is_typed),
		cmocka_unit_test(bundled_main_ini_expands_to_nine_runs),
		cmocka_unit_test(help_lists_every_key_with_its_default),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
