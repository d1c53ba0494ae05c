/* Post-copy fault latency: what QEMU's postcopy-blocktime capability
 * measured on the destination, as metrics.postcopy_faults. A pure function
 * of the destination's final query-migrate, so that it is checked on
 * replies recorded from real QEMUs (tests/fixtures/qmp/). */
#ifndef MB_POSTCOPY_FAULTS_H
#define MB_POSTCOPY_FAULTS_H

#include <jansson.h>

struct mb_pf_input {
	int completed;             /* the migration completed */
	const char *mode;          /* the scenario's mode= */
	int postcopy_mode;         /* it asks for post-copy (mode=postcopy|hybrid) */
	int postcopy;              /* it had a post-copy phase (source postcopy-active) */
	const json_t *reply;       /* the destination's query-migrate after completion, or NULL */
	const json_t *destination; /* the result's hypervisor.destination ({version,
	                            * capabilities}: what it offered), or NULL */
};

/* Why figures are missing: all of them (`none`), or the latencies alone;
 * "" when they are there. */
struct mb_pf_why {
	char none[256];
	char latency[256];
};

/* metrics.postcopy_faults:
 *   blocktime_ms          QEMU's postcopy-blocktime: time all vCPUs were
 *                         blocked on a missing page at once
 *   vcpu_blocktime_ms     postcopy-vcpu-blocktime, one per vCPU
 *   latency_us            postcopy-latency (ns in QEMU), mean latency of the
 *                         faults that needed a page from the source
 *   vcpu_latency_us       postcopy-vcpu-latency, one per vCPU
 *   non_vcpu_latency_us   postcopy-non-vcpu-latency
 *   latency_dist          {faults: postcopy-latency-dist verbatim,
 *                         bucket_from_us, bucket_to_us: 2^N and 2^(N+1)}
 *   faults                the sum of latency_dist.faults
 * with the latency members null before QEMU 10.1 (why in why->latency);
 * or JSON null, why in why->none (a pre-copy run, a QEMU without the
 * capability, a runner that does not ask). New reference. */
json_t *mb_postcopy_faults(const struct mb_pf_input *in, struct mb_pf_why *why);

#endif
