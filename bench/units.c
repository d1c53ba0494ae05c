#include "bench/units.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
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

/* "<number>[k|M|G|T](bit|bps)[/s]": decimal prefixes, as link speeds are
 * written; 1 when `s` is not of that form. */
static int parse_bits(const char *s, double *bits)
{
	const char *p;
	double v, mult = 1;

	if (parse_number(s, &v, &p))
		return 1;
	switch (*p) {
	case 'k': case 'K': mult = 1e3; p++; break;
	case 'M': case 'm': mult = 1e6; p++; break;
	case 'G': case 'g': mult = 1e9; p++; break;
	case 'T': case 't': mult = 1e12; p++; break;
	default: break;
	}
	if (strncasecmp(p, "bit", 3) && strncasecmp(p, "bps", 3))
		return 1;
	p += 3;
	if (!strncmp(p, "/s", 2))
		p += 2;
	if (!only_space_left(p))
		return 1;
	*bits = v * mult;
	return 0;
}

int mb_parse_bandwidth(const char *s, uint64_t *out)
{
	char buf[64];
	size_t len;
	double bits;

	if (!s)
		return -1;
	if (!parse_bits(s, &bits)) {
		if (bits / 8 > 1.8e19)
			return -1;
		*out = (uint64_t)llround(bits / 8);
		return 0;
	}
	len = strlen(s);
	if (len > 2 && len < sizeof(buf) && !strcmp(s + len - 2, "/s")) {
		memcpy(buf, s, len - 2);
		buf[len - 2] = '\0';
		return mb_parse_size(buf, out);
	}
	return mb_parse_size(s, out);
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

void mb_format_size(uint64_t bytes, char *buf, size_t size)
{
	static const struct { char suffix; unsigned shift; } units[] = {
		{ 'T', 40 }, { 'G', 30 }, { 'M', 20 }, { 'K', 10 },
	};

	for (size_t i = 0; bytes && i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t unit = UINT64_C(1) << units[i].shift;

		if (bytes % unit == 0) {
			snprintf(buf, size, "%" PRIu64 "%c", bytes / unit, units[i].suffix);
			return;
		}
	}
	snprintf(buf, size, "%" PRIu64, bytes);
}

/* ---- CPU lists ------------------------------------------------------------ */

bool mb_cpu_list_has(const struct mb_cpu_list *list, unsigned cpu)
{
	return cpu < MB_CPU_MAX && (list->bits[cpu / 64] >> (cpu % 64) & 1);
}

void mb_cpu_list_add(struct mb_cpu_list *list, unsigned cpu)
{
	if (cpu < MB_CPU_MAX)
		list->bits[cpu / 64] |= UINT64_C(1) << (cpu % 64);
}

static const char *skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* A CPU number below MB_CPU_MAX at *p; advances *p past it. */
static int cpu_number(const char **p, unsigned *cpu, const char *whole, char *why, size_t len)
{
	const char *s = skip_blanks(*p);
	unsigned long v = 0;

	if (!isdigit((unsigned char)*s)) {
		if (*s)
			snprintf(why, len, "'%c' where a CPU number should be", *s);
		else
			snprintf(why, len, "'%s' ends where a CPU number should be", whole);
		return -1;
	}
	for (; isdigit((unsigned char)*s); s++) {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v >= MB_CPU_MAX) {
			snprintf(why, len, "CPU numbers go up to %d", MB_CPU_MAX - 1);
			return -1;
		}
	}
	*cpu = (unsigned)v;
	*p = skip_blanks(s);
	return 0;
}

int mb_parse_cpu_list(const char *s, struct mb_cpu_list *out, char *why, size_t why_len)
{
	const char *p = s;

	memset(out, 0, sizeof(*out));
	if (!*skip_blanks(s)) {
		snprintf(why, why_len, "no CPU in it");
		return -1;
	}
	for (;;) {
		unsigned first, last;

		if (cpu_number(&p, &first, s, why, why_len))
			return -1;
		last = first;
		if (*p == '-') {
			p++;
			if (cpu_number(&p, &last, s, why, why_len))
				return -1;
			if (last < first) {
				snprintf(why, why_len, "the range %u-%u runs backwards", first, last);
				return -1;
			}
		}
		for (unsigned c = first; c <= last; c++)
			mb_cpu_list_add(out, c);
		if (!*p)
			return 0;
		if (*p != '+') {
			snprintf(why, why_len, "'%c' where '+' or the end should be (join CPUs and "
				 "ranges with '+', e.g. 0-1+4)", *p);
			return -1;
		}
		p++;
	}
}

void mb_format_cpu_list(const struct mb_cpu_list *list, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned c = 0; c < MB_CPU_MAX && used < size; c++) {
		unsigned last = c;

		if (!mb_cpu_list_has(list, c))
			continue;
		while (last + 1 < MB_CPU_MAX && mb_cpu_list_has(list, last + 1))
			last++;
		if (last == c)
			used += (size_t)snprintf(buf + used, size - used, "%s%u", used ? "+" : "", c);
		else
			used += (size_t)snprintf(buf + used, size - used, "%s%u-%u", used ? "+" : "", c, last);
		c = last;
	}
}
