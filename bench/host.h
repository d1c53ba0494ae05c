/* What every capability check and host probe shares: a check's result with
 * its reason, the sysfs/procfs roots (parameters, so tests point them at
 * fixture trees: $MIGBENCH_SYSFS_ROOT, $MIGBENCH_PROCFS_ROOT), small file
 * reads, and this host's name. The bottom of the house: it includes
 * nothing of migbench's. */
#ifndef MB_HOST_H
#define MB_HOST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define MB_PROBE_TEXT 512

/* One capability that either works or does not, with a sentence saying what
 * was found or why not (strerror text included). */
struct mb_check {
	bool ok;
	char detail[MB_PROBE_TEXT];
};

struct mb_host_roots {
	char sysfs[PATH_MAX];   /* "/sys" unless $MIGBENCH_SYSFS_ROOT */
	char procfs[PATH_MAX];  /* "/proc" unless $MIGBENCH_PROCFS_ROOT */
};

/* Fills roots from the environment, with the real roots as defaults. */
void mb_host_roots_from_env(struct mb_host_roots *roots);

/* Reads root/rel (a small sysfs/procfs file) into buf, NUL-terminated and
 * without the trailing newline. 0, or -1 with errno set. */
int mb_host_read_file(const char *root, const char *rel, char *buf, size_t size);


/* This host's name as results name the host a side runs on (gethostname;
 * "localhost" when it has none). Thread-safe. */
const char *mb_host_name(void);

#endif
