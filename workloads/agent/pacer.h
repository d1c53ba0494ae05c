/* Pacing of the dirty workload against CLOCK_MONOTONIC with a credit scheme:
 * pages owed = rate × elapsed − pages written, counted from a fixed origin,
 * so rounding never accumulates and the long-run rate does not drift. Pure
 * arithmetic on times passed in, so it is testable with a fake clock. */
#ifndef MB_AGENT_PACER_H
#define MB_AGENT_PACER_H

#include <stdint.h>

/* Largest burst between two looks at the clock and at host requests: small
 * enough that a VERIFY or RATE is answered within a fraction of a ms. */
#define PACER_BURST_PAGES 64u

/* Longest sleep while nothing is owed ("sleep ~1 ms"). */
#define PACER_MAX_SLEEP_US 1000u

/* Debt beyond this much time's worth of pages is forgiven: a guest paused
 * for a migration's downtime should not come back with a storm of writes
 * that no real application would make, but ordinary scheduling hiccups
 * (tens of ms under TCG) are still made up in full. */
#define PACER_MAX_DEBT_US 250000u

struct pacer {
	uint64_t rate;       /* pages per second; 0 = unpaced */
	uint64_t origin_us;
	uint64_t carry;      /* pages already owed at origin_us (after forgiving) */
	uint64_t written;    /* pages written since origin_us */
	uint64_t forgiven;   /* pages dropped from the debt, for diagnostics */
};

void pacer_reset(struct pacer *pacer, uint64_t rate, uint64_t now_us);

/* How many pages to write now: 0 means wait, at most PACER_BURST_PAGES. */
uint64_t pacer_owed(struct pacer *pacer, uint64_t now_us);

void pacer_account(struct pacer *pacer, uint64_t pages);

/* How long to sleep when pacer_owed() said 0: until the next page is due,
 * at most PACER_MAX_SLEEP_US. */
uint64_t pacer_wait_us(const struct pacer *pacer, uint64_t now_us);

#endif
