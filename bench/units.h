/* Parsing of the units people write in scenario files and on the kernel
 * command line. Shared by the host tool and the guest agent, so that
 * `rate=16M` means the same on both sides. */
#ifndef MB_UNITS_H
#define MB_UNITS_H

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

/* Fraction: "0.2", "20%". Must lie in [0, 1]. 0 on success. */
int mb_parse_fraction(const char *s, double *out);

#endif
