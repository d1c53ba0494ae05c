#include "config.h"
#include "probes/counters_series.h"

#include <stdlib.h>
#include <string.h>

const char *const mb_phase_names[MB_PHASE_COUNT] = {
	[MB_PHASE_BEFORE] = "before",
	[MB_PHASE_PRECOPY] = "precopy",
	[MB_PHASE_DOWNTIME] = "downtime",
	[MB_PHASE_POSTCOPY] = "postcopy",
	[MB_PHASE_MIGRATION] = "migration",
};

int mb_series_init(struct mb_series *s, size_t k)
{
	memset(s, 0, sizeof(*s));
	s->k = k ? k : 1;
	return 0;
}

void mb_series_free(struct mb_series *s)
{
	free(s->t);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Keeps samples 0, 2, 4, ... and the last one. */
static void decimate(struct mb_series *s)
{
	size_t out = 0;

	for (size_t i = 0; i < s->n; i += 2, out++) {
		s->t[out] = s->t[i];
		memmove(&s->v[out * s->k], &s->v[i * s->k], s->k * sizeof(*s->v));
	}
	if ((s->n - 1) % 2) {   /* the last one was odd: keep it too */
		s->t[out] = s->t[s->n - 1];
		memmove(&s->v[out * s->k], &s->v[(s->n - 1) * s->k], s->k * sizeof(*s->v));
		out++;
	}
	s->n = out;
	s->decimations++;
}

int mb_series_push(struct mb_series *s, int64_t t_us, const uint64_t *values)
{
	if (s->n == MB_SERIES_CAP)
		decimate(s);
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		int64_t *t;
		uint64_t *v;

		if (cap > MB_SERIES_CAP)
			cap = MB_SERIES_CAP;
		t = realloc(s->t, cap * sizeof(*t));
		if (!t)
			return -1;
		s->t = t;
		v = realloc(s->v, cap * s->k * sizeof(*v));
		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	if (s->n && t_us < s->t[s->n - 1])
		t_us = s->t[s->n - 1];
	s->t[s->n] = t_us;
	memcpy(&s->v[s->n * s->k], values, s->k * sizeof(*values));
	s->n++;
	return 0;
}

double mb_series_at(const struct mb_series *s, size_t i, int64_t t_us)
{
	size_t lo = 0, hi;

	if (!s->n || i >= s->k)
		return 0;
	if (t_us <= s->t[0])
		return (double)s->v[i];
	if (t_us >= s->t[s->n - 1])
		return (double)s->v[(s->n - 1) * s->k + i];
	/* the last sample at or before t: t[lo] <= t < t[hi] */
	hi = s->n - 1;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->t[mid] <= t_us)
			lo = mid;
		else
			hi = mid;
	}
	{
		double v0 = (double)s->v[lo * s->k + i], v1 = (double)s->v[hi * s->k + i];
		double span = (double)(s->t[hi] - s->t[lo]);

		if (t_us == s->t[lo] || span <= 0)
			return v0;
		return v0 + (v1 - v0) * ((double)(t_us - s->t[lo]) / span);
	}
}

double mb_series_delta(const struct mb_series *s, size_t i, int64_t a_us, int64_t b_us)
{
	return mb_series_at(s, i, b_us) - mb_series_at(s, i, a_us);
}

static void set(struct mb_phase_window *w, int64_t from, int64_t to)
{
	w->valid = true;
	w->from_us = from;
	w->to_us = to > from ? to : from;
}

void mb_phase_windows(const struct mb_mig_times *t, int64_t first_us, int64_t last_us,
		      struct mb_phase_window w[MB_PHASE_COUNT], bool *cut)
{
	int64_t end = mb_mig_end_us(t);

	memset(w, 0, MB_PHASE_COUNT * sizeof(*w));
	if (cut)
		*cut = false;
	if (!t->start_us) {
		/* `migrate` never went out: everything was before. */
		set(&w[MB_PHASE_BEFORE], first_us, last_us);
		return;
	}
	if (!end || end < t->start_us) {
		end = last_us > t->start_us ? last_us : t->start_us;
		if (cut)
			*cut = true;
	}
	set(&w[MB_PHASE_BEFORE], first_us < t->start_us ? first_us : t->start_us, t->start_us);
	set(&w[MB_PHASE_MIGRATION], t->start_us, end);
	set(&w[MB_PHASE_PRECOPY], t->start_us,
	    t->src_stop_us && t->src_stop_us < end ? t->src_stop_us : end);
	if (t->src_stop_us)
		set(&w[MB_PHASE_DOWNTIME], t->src_stop_us,
		    t->dst_resume_us && t->dst_resume_us < end ? t->dst_resume_us : end);
	if (t->dst_resume_us)
		set(&w[MB_PHASE_POSTCOPY], t->dst_resume_us, end);
}

json_t *mb_phase_windows_json(const struct mb_phase_window w[MB_PHASE_COUNT],
			      const struct mb_mig_times *t)
{
	json_t *o = json_object();
	int64_t origin = t->start_us ? t->start_us : w[MB_PHASE_BEFORE].from_us;

	for (int p = 0; p < MB_PHASE_COUNT; p++)
		json_object_set_new(o, mb_phase_names[p],
				    w[p].valid ? json_pack("{s:o, s:o, s:o}",
							   "from_ms", mb_json_ms(w[p].from_us - origin),
							   "to_ms", mb_json_ms(w[p].to_us - origin),
							   "duration_ms", mb_json_ms(w[p].to_us - w[p].from_us))
					   : json_null());
	return o;
}
