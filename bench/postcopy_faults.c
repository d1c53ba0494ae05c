#include "config.h"
#include "bench/postcopy_faults.h"

#include <stdio.h>


/* A non-negative integer member of QEMU's reply; -1 when missing or not. */
static json_int_t count_of(const json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
}

/* QEMU's nanoseconds as µs: the three decimals keep every ns. */
static json_t *ns_as_us(json_int_t ns)
{
	return json_real((double)ns / 1000.0);
}

/* A list of counts from the reply, each through `conv` (NULL: verbatim);
 * NULL when it is not a list of non-negative integers. */
static json_t *list_of(const json_t *v, json_t *(*conv)(json_int_t))
{
	json_t *out, *e;
	size_t i;

	if (!json_is_array(v))
		return NULL;
	out = json_array();
	json_array_foreach(v, i, e) {
		json_int_t n = count_of(e);

		if (n < 0) {
			json_decref(out);
			return NULL;
		}
		json_array_append_new(out, conv ? conv(n) : json_integer(n));
	}
	return out;
}

/* postcopy-latency-dist with its bounds as QEMU documents them: bucket N
 * holds the faults resolved in [2^N us, 2^(N+1) us). (QEMU's code also puts
 * a latency under 1 us into bucket 0 and one past the last bound into the
 * last bucket.) */
static json_t *latency_dist(const json_t *v, json_int_t *total)
{
	json_t *faults = list_of(v, NULL), *from, *to, *e;
	size_t i;

	if (!faults)
		return NULL;
	from = json_array();
	to = json_array();
	*total = 0;
	json_array_foreach(faults, i, e) {
		*total += json_integer_value(e);
		json_array_append_new(from, json_integer((json_int_t)1 << i));
		json_array_append_new(to, json_integer((json_int_t)1 << (i + 1)));
	}
	return json_pack("{s:o, s:o, s:o}", "faults", faults, "bucket_from_us", from, "bucket_to_us", to);
}

/* 1 and why into `buf` when there are no figures at all; 0 when there
 * should be some. */
static int no_figures(const struct mb_pf_input *in, const char *version, char *buf, size_t len)
{
	const json_t *offered = json_object_get(in->destination, "capabilities");

	if (!in->postcopy_mode)
		snprintf(buf, len, "mode=%s: no post-copy phase to fault in", in->mode ?: "precopy");
	else if (!in->completed)
		snprintf(buf, len, "the migration did not complete");
	else if (!in->postcopy)
		snprintf(buf, len, "completed as pre-copy before the switch: no post-copy faults");
	else if (!in->reply)
		snprintf(buf, len, "the runner gives no destination query-migrate after the migration "
			 "(the libvirt runner does not: not measured there)");
	/* hypervisor.destination.capabilities: what that QEMU offered */
	else if (json_is_object(offered) && !json_object_get(offered, "postcopy-blocktime"))
		snprintf(buf, len, "QEMU %s (destination) does not offer the postcopy-blocktime capability",
			 version);
	else if (!json_object_get(in->reply, "postcopy-blocktime"))
		snprintf(buf, len, "QEMU %s (destination) reported no postcopy-blocktime after the migration",
			 version);
	else
		return 0;
	return 1;
}

json_t *mb_postcopy_faults(const struct mb_pf_input *in, struct mb_pf_why *why)
{
	const char *version = json_string_value(json_object_get(in->destination, "version")) ?: "(unknown version)";
	const json_t *r = in->reply;
	json_int_t blocktime = count_of(json_object_get(r, "postcopy-blocktime"));
	json_int_t latency = count_of(json_object_get(r, "postcopy-latency"));
	json_int_t non_vcpu = count_of(json_object_get(r, "postcopy-non-vcpu-latency"));
	json_int_t faults = 0;
	json_t *vcpu_blocktime, *vcpu_latency, *dist, *block;

	why->none[0] = why->latency[0] = '\0';
	if (no_figures(in, version, why->none, sizeof(why->none)))
		return json_null();
	vcpu_blocktime = list_of(json_object_get(r, "postcopy-vcpu-blocktime"), NULL);
	if (blocktime < 0 || !vcpu_blocktime) {
		json_decref(vcpu_blocktime);
		snprintf(why->none, sizeof(why->none), "QEMU %s (destination): postcopy-blocktime or "
			 "postcopy-vcpu-blocktime is not a count", version);
		return json_null();
	}
	block = json_pack("{s:I, s:o}", "blocktime_ms", blocktime, "vcpu_blocktime_ms", vcpu_blocktime);
	vcpu_latency = list_of(json_object_get(r, "postcopy-vcpu-latency"), ns_as_us);
	dist = latency_dist(json_object_get(r, "postcopy-latency-dist"), &faults);
	if (latency >= 0 && non_vcpu >= 0 && vcpu_latency && dist) {
		json_object_set_new(block, "latency_us", ns_as_us(latency));
		json_object_set_new(block, "vcpu_latency_us", vcpu_latency);
		json_object_set_new(block, "non_vcpu_latency_us", ns_as_us(non_vcpu));
		json_object_set_new(block, "latency_dist", dist);
		json_object_set_new(block, "faults", json_integer(faults));
		return block;
	}
	json_decref(vcpu_latency);
	json_decref(dist);
	for (const char *const *k = (const char *const[]){ "latency_us", "vcpu_latency_us", "non_vcpu_latency_us",
							   "latency_dist", "faults", NULL }; *k; k++)
		json_object_set_new(block, *k, json_null());
	snprintf(why->latency, sizeof(why->latency), "QEMU %s (destination) reports no fault latencies "
		 "(postcopy-latency and its distribution come with QEMU 10.1)", version);
	return block;
}
