/* guests=K: four real guests (TCG here) migrated at the same moment, twice
 * (back and forth without a reboot), and the same four staggered by
 * 400 ms in between (interleaved: the guests are taken over, not rebooted),
 * by `migbench run`.
 *
 * Every guest has its own result ("<scenario>,guest=I/REP"), completed with
 * its memory verified (0 corrupted of its working set's pages), and names
 * its group. The evacuation's figures are cross-checked against the
 * guests' own results: the span runs from the first `migrate` to the last
 * end of migration, so it is at least every guest's total time and at most
 * the latest start plus the longest total time; the bytes are the sum of
 * the guests' bytes and the aggregate throughput is bytes / span; the
 * downtime spread is the guests' downtimes' min, median and max. Migrated
 * at once, the guests' migrations overlap in time (each starts before any
 * ends) and start within a moment of each other; staggered, guest I
 * starts (I - 1) x 400 ms after the first, within the slack of a busy
 * 2-core host. No guest is booted twice: each run's source is the QEMU
 * that was the destination of the guest's run before. The manifest records
 * each repetition's evacuation, and nothing is left behind.
 *
 * Skips, saying why, without $MIGBENCH_BIN, QEMU or a guest image. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness.h"

#define WORK_PREFIX "/tmp/mb-evac"
#define CAMPAIGN_DEADLINE_S 600
#define WSS_MIB 16
#define PAGE 4096
#define STAGGER_MS 400.0
/* How far apart "at once" may start, and a stagger may stray, when four
 * TCG guests and their destinations share two cores. */
#define START_SLACK_MS 400.0

static char skip_reason[512];
static char postcopy_skip[512];

static const char ini[] =
	"[global]\n"
	"memory=192M\n"
	"wss=16M\n"
	"rate=4M\n"
	"max_bandwidth=256M\n"
	"downtime_limit=300ms\n"
	"timeout=2min\n"
	"settle=1s\n"
	"baseline=1s\n"
	"mode=precopy\n"
	"\n"
	"[together]\n"
	"guests=4\n"
	"repetitions=2\n"
	"\n"
	"[staggered]\n"
	"guests=4\n"
	"stagger=400ms\n";

MBT_CAMPAIGN_FIXTURES(WORK_PREFIX, skip_reason, postcopy_skip, 1)

static const json_t *guest_result(const struct mbt_campaign *c, const char *scenario, unsigned guest, unsigned rep)
{
	char key[128];

	snprintf(key, sizeof(key), "%s,guest=%u/%u", scenario, guest, rep);
	return mbt_result(c, key);
}

/* The manifest's evacuation of scenario/rep. */
static const json_t *evacuation_of(const struct mbt_campaign *c, const char *scenario, unsigned rep)
{
	const json_t *list = json_object_get(c->manifest, "evacuations"), *e;
	size_t i;

	json_array_foreach(list, i, e)
		if (!strcmp(mbt_str(e, "scenario"), scenario) && mbt_int(e, "repetition") == (json_int_t)rep)
			return e;
	fail_msg("campaign.json has no evacuation of %s repetition %u", scenario, rep);
	return NULL;
}

/* One repetition's K guests against its evacuation figures. */
static void check_evacuation(const struct mbt_campaign *c, const char *scenario, unsigned k, unsigned rep,
			     double stagger_ms)
{
	const json_t *ev = evacuation_of(c, scenario, rep), *per = mbt_get(ev, "per_guest");
	double start[8], end[8], downtime[8], bytes = 0, longest = 0, latest_start = 0, span;

	assert_int_equal(mbt_int(ev, "guests"), k);
	assert_int_equal(mbt_int(ev, "completed"), k);
	assert_int_equal(json_array_size(per), k);
	for (unsigned g = 1; g <= k; g++) {
		const json_t *doc = guest_result(c, scenario, g, rep), *mine = json_array_get(per, g - 1);
		double total = mbt_num(doc, "metrics.total_time_ms");

		if (strcmp(mbt_str(doc, "run.status"), "completed"))
			fail_msg("%s guest %u rep %u: %s: %s", scenario, g, rep, mbt_str(doc, "run.status"),
				 json_string_value(json_object_get(mbt_get(doc, "run"), "error")) ?: "");
		assert_int_equal(mbt_int(doc, "metrics.memory_verify.pages_checked"), (WSS_MIB << 20) / PAGE);
		assert_int_equal(mbt_int(doc, "metrics.memory_verify.pages_corrupted"), 0);
		assert_string_equal(mbt_str(doc, "group.scenario"), scenario);
		assert_int_equal(mbt_int(doc, "group.guest"), g);
		assert_int_equal(mbt_int(doc, "group.guests"), k);
		assert_true(fabs(mbt_num(doc, "group.stagger_ms") - stagger_ms) < 1e-9);
		/* the result carries the same figures as the manifest */
		assert_true(json_equal(json_object_get(mbt_get(doc, "group.evacuation"), "per_guest"), per));

		assert_int_equal(mbt_int(mine, "guest"), g);
		start[g - 1] = mbt_num(mine, "start_ms");
		end[g - 1] = mbt_num(mine, "end_ms");
		downtime[g - 1] = mbt_num(doc, "metrics.downtime_ms");
		bytes += mbt_num(doc, "metrics.pages_transferred.bytes.total");
		/* its end is its start plus its own total time (µs rounding) */
		if (fabs(end[g - 1] - start[g - 1] - total) > 0.01)
			fail_msg("%s guest %u: starts at %.3f ms, ends at %.3f ms, but its total time is %.3f ms",
				 scenario, g, start[g - 1], end[g - 1], total);
		longest = fmax(longest, total);
		latest_start = fmax(latest_start, start[g - 1]);
		print_message("# %s rep %u guest %u: migrate at +%.1f ms, end at +%.1f ms, downtime %.1f ms\n",
			      scenario, rep, g, start[g - 1], end[g - 1], downtime[g - 1]);
	}
	span = mbt_num(ev, "span_ms");
	if (span + 0.01 < longest || span > latest_start + longest + 0.01)
		fail_msg("%s rep %u: span %.3f ms outside [%.3f, %.3f]", scenario, rep, span, longest,
			 latest_start + longest);
	assert_true(fabs(mbt_num(ev, "bytes") - bytes) < 1);
	assert_true(fabs(mbt_num(ev, "aggregate_MiB_s") - bytes / 1048576.0 / (span / 1000)) < 1e-6 * bytes);
	qsort(downtime, k, sizeof(double), mbt_by_value);
	assert_true(fabs(mbt_num(ev, "downtime_ms.min") - downtime[0]) < 1e-9);
	assert_true(fabs(mbt_num(ev, "downtime_ms.max") - downtime[k - 1]) < 1e-9);
	assert_true(fabs(mbt_num(ev, "downtime_ms.median") -
			 (k % 2 ? downtime[k / 2] : (downtime[k / 2 - 1] + downtime[k / 2]) / 2)) < 1e-9);

	/* Guest 1 is the first to `migrate`; guest I follows (I - 1) x stagger later. */
	for (unsigned g = 0; g < k; g++) {
		double want = stagger_ms * g;

		if (fabs(start[g] - want) > START_SLACK_MS)
			fail_msg("%s rep %u guest %u: migrate at +%.1f ms, want +%.0f ms (+- %.0f)", scenario, rep,
				 g + 1, start[g], want, START_SLACK_MS);
		/* At once, every migration begins before any has ended. */
		for (unsigned h = 0; !stagger_ms && h < k; h++)
			if (start[g] >= end[h])
				fail_msg("%s rep %u: guest %u starts at +%.1f ms, after guest %u ended (+%.1f ms)",
					 scenario, rep, g + 1, start[g], h + 1, end[h]);
	}
	print_message("# %s rep %u: %u guests in %.1f ms, %.1f MiB/s together, downtime %.1f..%.1f ms\n",
		      scenario, rep, k, span, mbt_num(ev, "aggregate_MiB_s"), downtime[0], downtime[k - 1]);
}

static void evacuation(void **state)
{
	struct mbt_campaign *c = *state;
	const struct mbt_run r = { .work_template = WORK_PREFIX "-c-XXXXXX", .name = "evac", .ini = ini,
				   .qemu_opt = 1, .deadline_s = CAMPAIGN_DEADLINE_S, .check_leftovers = 1 };

	mbt_skip_if(skip_reason);
	mbt_run_campaign(c, &r);
	mbt_assert_campaign_ok(c);
	print_message("# campaign took %.1f s\n", c->seconds);
	assert_int_equal(json_object_size(c->files), 4 * 2 + 4);
	assert_int_equal(json_array_size(json_object_get(c->manifest, "evacuations")), 3);

	check_evacuation(c, "together", 4, 1, 0);
	check_evacuation(c, "together", 4, 2, 0);
	check_evacuation(c, "staggered", 4, 1, STAGGER_MS);

	/* Back and forth, in the campaign's order (together 1, staggered 1,
	 * together 2): each run leaves from where the one before arrived. */
	for (unsigned g = 1; g <= 4; g++) {
		const json_t *order[] = { guest_result(c, "together", g, 1), guest_result(c, "staggered", g, 1),
					  guest_result(c, "together", g, 2) };

		for (unsigned i = 1; i < 3; i++) {
			const char *arrived = mbt_str(order[i - 1], "hypervisor.destination.command");
			const char *left = mbt_str(order[i], "hypervisor.source.command");

			if (strcmp(arrived, left))
				fail_msg("guest %u: run %u's source is not run %u's destination:\n%s\n%s", g, i + 1,
					 i, left, arrived);
		}
	}
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(evacuation, setup, teardown),
	};

	return cmocka_run_group_tests_name("evacuation", tests, group_setup, group_teardown);
}
