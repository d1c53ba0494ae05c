#include "bench/units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Reads a non-negative decimal number (integer or fraction); leaves *end at
 * the first character after it. */
static int parse_number(const char *s, double *val, const char **end)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '-' || *s == '+' || !(isdigit((unsigned char)*s) || *s == '.'))
		return -1;
	errno = 0;
	*val = strtod(s, &e);
	if (errno || e == s || !isfinite(*val) || *val < 0)
		return -1;
	*end = e;
	return 0;
}

static int size_multiplier(const char **p, double *mult)
{
	const char *s = *p;

	*mult = 1;
	switch (toupper((unsigned char)*s)) {
	case 'K': *mult = 1024.0; s++; break;
	case 'M': *mult = 1024.0 * 1024; s++; break;
	case 'G': *mult = 1024.0 * 1024 * 1024; s++; break;
	case 'T': *mult = 1024.0 * 1024 * 1024 * 1024; s++; break;
	default: break;
	}
	if (*mult > 1 && *s == 'i')
		s++;
	if (*s == 'B' || *s == 'b')
		s++;
	*p = s;
	return 0;
}

static int only_space_left(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return *s == '\0';
}

int mb_parse_size(const char *s, uint64_t *out)
{
	const char *p;
	double v, mult;

	if (!s || parse_number(s, &v, &p))
		return -1;
	size_multiplier(&p, &mult);
	if (!only_space_left(p))
		return -1;
	v *= mult;
	if (v > 18446744073709549568.0 || v != floor(v))
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int mb_parse_duration_us(const char *s, uint64_t default_unit_us, uint64_t *out)
{
	static const struct { const char *name; double us; } units[] = {
		{ "us", 1 }, { "ms", 1e3 }, { "s", 1e6 }, { "sec", 1e6 },
		{ "min", 60e6 }, { "m", 60e6 }, { "h", 3600e6 },
	};
	const char *p;
	double v, mult = (double)default_unit_us;
	size_t i, n;

	if (!s || parse_number(s, &v, &p))
		return -1;
	while (isspace((unsigned char)*p))
		p++;
	if (*p) {
		for (n = 0; p[n] && !isspace((unsigned char)p[n]); n++)
			;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].name) == n && !strncasecmp(p, units[i].name, n))
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return -1;
		mult = units[i].us;
		p += n;
	}
	if (!only_space_left(p))
		return -1;
	v *= mult;
	if (v > 1.8e19)
		return -1;
	*out = (uint64_t)llround(v);
	return 0;
}

int mb_parse_rate_pages(const char *s, uint64_t page_size, uint64_t *out)
{
	const char *p;
	double v, mult;

	if (!s || !page_size || parse_number(s, &v, &p))
		return -1;
	size_multiplier(&p, &mult);
	if (!strncmp(p, "/s", 2))
		p += 2;
	if (!only_space_left(p))
		return -1;
	if (mult > 1 || strchr(s, 'B'))
		v = v * mult / (double)page_size;
	if (v > 1e15)
		return -1;
	*out = (uint64_t)llround(v);
	return 0;
}

int mb_parse_fraction(const char *s, double *out)
{
	const char *p;
	double v;

	if (!s || parse_number(s, &v, &p))
		return -1;
	if (*p == '%') {
		v /= 100.0;
		p++;
	}
	if (!only_space_left(p) || v > 1.0)
		return -1;
	*out = v;
	return 0;
}
