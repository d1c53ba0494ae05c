#include "config.h"
#include "bench/guest_check.h"
#include "bench/clock.h"

#include <errno.h>
#include <limits.h>
#include <time.h>

#include "probes/heartbeat.h"

/* A verify pass reads every page of the working set. Under TCG on a loaded
 * 2-core host it took 3-45 ms for 48-64 MiB, about 1 s per GiB: 60 s per GiB
 * leaves a wide margin. The wait scales with the set because a guest that the
 * migration corrupted often hangs without closing its channel, and a flat
 * 300 s wait then cost every such run 5 minutes (QEMU 5.2 and 7.2 campaigns
 * were mostly waiting). */
#define VERIFY_TIMEOUT_BASE_MS 20000
#define VERIFY_TIMEOUT_MS_PER_GIB 60000

static int verify_timeout_ms(uint64_t wss)
{
	uint64_t ms = VERIFY_TIMEOUT_BASE_MS + wss / (1024 * 1024) * VERIFY_TIMEOUT_MS_PER_GIB / 1024;

	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int verify(const struct mb_runner_ops *ops, struct mb_runner *r, uint64_t wss,
		  struct mb_mig_outcome *out, struct mb_err *err)
{
	struct mb_hb_reply reply;
	uint64_t checked, corrupted, first_bad, us;

	if (ops->guest_command(r, "VERIFY", NULL, &reply, verify_timeout_ms(wss), err) ||
	    mb_hb_reply_u64(&reply, "checked", &checked, err) ||
	    mb_hb_reply_u64(&reply, "corrupted", &corrupted, err) ||
	    mb_hb_reply_u64(&reply, "first_bad", &first_bad, err) ||
	    mb_hb_reply_u64(&reply, "us", &us, err))
		return mb_err_prefix(err, "memory verify on the destination");
	out->verify = json_pack("{s:I, s:I, s:o, s:I}",
				"pages_checked", (json_int_t)checked,
				"pages_corrupted", (json_int_t)corrupted,
				"first_corrupted_page", corrupted ? json_integer((json_int_t)first_bad) : json_null(),
				"verify_us", (json_int_t)us);
	if (corrupted)
		return mb_errf(err, 0, "MEMORY CORRUPTED: %llu of %llu guest pages did not survive the "
			       "migration (first: page %llu)", (unsigned long long)corrupted,
			       (unsigned long long)checked, (unsigned long long)first_bad);
	if (!checked)
		return mb_errf(err, 0, "memory verify on the destination checked no pages");
	return 0;
}

int mb_guest_check(const struct mb_runner_ops *ops, struct mb_runner *r,
		   const struct mb_run_spec *spec, struct mb_mig_outcome *out,
		   struct mb_err *err)
{
	size_t before, after;
	json_t *problems = NULL;
	int rc;

	rc = verify(ops, r, spec->params.wss, out, err);
	before = ops->heartbeat_count(r);
	mb_sleep_us((int64_t)spec->params.settle_us);
	after = ops->heartbeat_count(r);
	if (ops->console_problems(r, &problems, err) && !rc)
		rc = -1;
	if (!problems)
		problems = json_array();
	out->health = json_pack("{s:I, s:f, s:O}",
				"heartbeats_in_settle", (json_int_t)(after - before),
				"settle_ms", spec->params.settle_us / 1000.0,
				"console_problems", problems);
	json_object_set_new(out->health, "healthy",
			    json_boolean(!rc && (after > before || !spec->params.settle_us) &&
					 json_array_size(problems) == 0));
	if (!rc && after == before && spec->params.settle_us)
		rc = mb_errf(err, 0, "the guest sent no heartbeat during the %.1f s settle period after the migration",
			     spec->params.settle_us / 1e6);
	/* A crashed guest kernel also breaks the verify: name the cause. */
	if (json_array_size(problems)) {
		char later[MB_ERR_MAX];

		snprintf(later, sizeof(later), "%s", rc ? err->msg : "");
		rc = mb_errf(err, 0, "the guest kernel is sick after the migration: %s%s%s",
			     json_string_value(json_array_get(problems, 0)), *later ? "; then " : "", later);
	}
	json_decref(problems);
	return rc;
}
