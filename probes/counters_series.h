/* Time series of cumulative counters and the migration's phases: what the
 * counters and energy probes share to turn "read every 50 ms" into "so much
 * per phase".
 *
 * A series holds samples (host CLOCK_REALTIME µs, K cumulative values). The
 * value of a counter at an instant between two samples is interpolated
 * linearly; before the first sample it is the first value, after the last
 * the last. So what a phase [a, b) gets is value(b) - value(a): exact when a
 * and b fall on samples, and at most one sampling interval smeared when not.
 * A series keeps at most MB_SERIES_CAP samples: when full, every other one
 * is dropped (the first and the last stay), so a long run costs resolution,
 * never memory. */
#ifndef MB_PROBES_COUNTERS_SERIES_H
#define MB_PROBES_COUNTERS_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bench/metrics.h"

#define MB_SERIES_CAP 4096

struct mb_series {
	size_t k;               /* values per sample */
	size_t n, cap;
	int64_t *t;             /* n instants, non-decreasing */
	uint64_t *v;            /* n * k values */
	unsigned decimations;   /* times the series was halved */
};

/* 0, or -1 when out of memory. */
int mb_series_init(struct mb_series *s, size_t k);
void mb_series_free(struct mb_series *s);
/* Appends one sample of k values; an instant before the last one is moved
 * up to it. 0, or -1 when out of memory (the sample is lost). */
int mb_series_push(struct mb_series *s, int64_t t_us, const uint64_t *values);
/* Value `i` at instant t (interpolated, clamped); 0 for an empty series. */
double mb_series_at(const struct mb_series *s, size_t i, int64_t t_us);
/* value(b) - value(a). */
double mb_series_delta(const struct mb_series *s, size_t i, int64_t a_us, int64_t b_us);

/* ---- the phases of a migration ---------------------------------------------- */

enum mb_phase {
	MB_PHASE_BEFORE,        /* [probe start, migrate sent): the idle/baseline window */
	MB_PHASE_PRECOPY,       /* [migrate sent, source STOP) */
	MB_PHASE_DOWNTIME,      /* [source STOP, destination RESUME) */
	MB_PHASE_POSTCOPY,      /* [destination RESUME, end of migration) */
	MB_PHASE_MIGRATION,     /* [migrate sent, end of migration): the whole of it */
	MB_PHASE_COUNT
};

/* "before", "precopy", "downtime", "postcopy", "migration". */
extern const char *const mb_phase_names[MB_PHASE_COUNT];

struct mb_phase_window {
	bool valid;             /* the phase happened (its instants are known) */
	int64_t from_us, to_us; /* [from, to), host realtime µs; to >= from */
};

/* The phases of `t` as seen by a probe that sampled [first_us, last_us].
 * A migration that did not end (mb_mig_end_us() == 0) is cut at last_us,
 * and `*cut` (may be NULL) says so. Missing instants make their phases
 * invalid: no STOP, no downtime; no RESUME, no post-copy. */
void mb_phase_windows(const struct mb_mig_times *t, int64_t first_us, int64_t last_us,
		      struct mb_phase_window w[MB_PHASE_COUNT], bool *cut);

/* {"before": {"from_ms", "to_ms", "duration_ms"}, ...}, instants relative to
 * `migrate` sent (the before window is negative); invalid phases are null.
 * New reference. */
json_t *mb_phase_windows_json(const struct mb_phase_window w[MB_PHASE_COUNT],
			      const struct mb_mig_times *t);

#endif
