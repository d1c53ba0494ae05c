/* Parsing of the units people write in scenario files and on the kernel
 * command line. Shared by the host tool and the guest agent, so that
 * `rate=16M` means the same on both sides. */
#ifndef MB_UNITS_H
#define MB_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "4096", "256K", "256M", "1G", "1T" (binary: K = 1024), optional trailing
 * "B"/"iB". Rejects negatives, overflow and trailing junk. 0 on success. */
int mb_parse_size(const char *s, uint64_t *out);

/* Duration: plain number in `default_unit_us` units, or with one of
 * us, ms, s, min, h (e.g. "300ms", "2min", "1.5s"). 0 on success. */
int mb_parse_duration_us(const char *s, uint64_t default_unit_us, uint64_t *out);

/* Dirty rate: plain number = pages per second; with a size suffix and an
 * optional "/s" ("16M", "16MiB/s") = bytes per second, converted to pages
 * of `page_size`. 0 on success. */
int mb_parse_rate_pages(const char *s, uint64_t page_size, uint64_t *out);

/* Bandwidth in bytes per second: a size (binary suffixes, bytes: "64M" is
 * 64 MiB/s) with an optional "/s", or bits per second as networks count
 * them, with decimal prefixes: "100Mbit", "10Gbit/s", "1.5Gbps", "800kbit"
 * (100Mbit = 12 500 000 bytes/s). Bits are rounded to whole bytes. 0 on
 * success. */
int mb_parse_bandwidth(const char *s, uint64_t *out);

/* Fraction: "0.2", "20%". Must lie in [0, 1]. 0 on success. */
int mb_parse_fraction(const char *s, double *out);

/* `bytes` as people write it: "64M", "1536K", "4097" (the largest binary
 * suffix that divides it; "0" for 0). */
void mb_format_size(uint64_t bytes, char *buf, size_t size);

/* A set of CPU numbers, 0 .. MB_CPU_MAX - 1 (glibc's CPU_SETSIZE). */
#define MB_CPU_MAX 1024
struct mb_cpu_list {
	uint64_t bits[MB_CPU_MAX / 64];
};

/* The CPU lists of the cpuset_* scenario keys: CPUs and ranges joined by
 * '+' ("0-1+4"; not ',', which sweeps), blanks allowed around them. Rejects
 * an empty list or item, a range that runs backwards or has no end, and
 * CPUs from MB_CPU_MAX up. 0 on success, else -1 and `why` says what is
 * wrong ("'8-2' runs backwards"). */
int mb_parse_cpu_list(const char *s, struct mb_cpu_list *out, char *why, size_t why_len);

bool mb_cpu_list_has(const struct mb_cpu_list *list, unsigned cpu);
void mb_cpu_list_add(struct mb_cpu_list *list, unsigned cpu);

/* The list in the same syntax, ranges folded: "0-1+4"; "" when empty. */
void mb_format_cpu_list(const struct mb_cpu_list *list, char *buf, size_t size);

#endif
