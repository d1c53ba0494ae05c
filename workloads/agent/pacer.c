#include "workloads/agent/pacer.h"

void pacer_reset(struct pacer *pacer, uint64_t rate, uint64_t now_us)
{
	*pacer = (struct pacer){
		.rate = rate,
		.origin_us = now_us,
	};
}

/* Pages due since the origin; 128-bit because rate × µs overflows 64 bits
 * after a few hours at high rates. */
static uint64_t pages_due(const struct pacer *pacer, uint64_t now_us)
{
	uint64_t elapsed = now_us > pacer->origin_us ? now_us - pacer->origin_us : 0;

	return pacer->carry + (uint64_t)((unsigned __int128)pacer->rate * elapsed / 1000000u);
}

static uint64_t max_debt(const struct pacer *pacer)
{
	uint64_t debt = (uint64_t)((unsigned __int128)pacer->rate * PACER_MAX_DEBT_US / 1000000u);

	return debt < PACER_BURST_PAGES ? PACER_BURST_PAGES : debt;
}

uint64_t pacer_owed(struct pacer *pacer, uint64_t now_us)
{
	uint64_t due, owed;

	if (pacer->rate == 0)
		return PACER_BURST_PAGES;
	due = pages_due(pacer, now_us);
	if (due <= pacer->written)
		return 0;
	owed = due - pacer->written;
	if (owed > max_debt(pacer)) {
		/* Restart the count from now, still owing the capped debt. */
		pacer->forgiven += owed - max_debt(pacer);
		owed = max_debt(pacer);
		pacer->origin_us = now_us;
		pacer->carry = owed;
		pacer->written = 0;
	}
	return owed < PACER_BURST_PAGES ? owed : PACER_BURST_PAGES;
}

void pacer_account(struct pacer *pacer, uint64_t pages)
{
	pacer->written += pages;
}

uint64_t pacer_wait_us(const struct pacer *pacer, uint64_t now_us)
{
	uint64_t next_page, due_at_us, elapsed;

	if (pacer->rate == 0)
		return 0;
	/* Page number written+1 is due once rate × elapsed reaches it. */
	next_page = pacer->written + 1;
	if (next_page <= pacer->carry)
		return 0;
	due_at_us = (uint64_t)(((unsigned __int128)(next_page - pacer->carry) * 1000000u + pacer->rate - 1) /
			       pacer->rate);
	elapsed = now_us > pacer->origin_us ? now_us - pacer->origin_us : 0;
	if (due_at_us <= elapsed)
		return 0;
	return due_at_us - elapsed < PACER_MAX_SLEEP_US ? due_at_us - elapsed : PACER_MAX_SLEEP_US;
}
