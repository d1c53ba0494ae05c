/* Who a process is, in a form that survives PID reuse: its PID, the tick
 * at which it started (field 22 of /proc/PID/stat) and the boot it started
 * in. Used to tell whether the migbench that left a run directory, a
 * network namespace or a campaign "running" is still alive, so that the next
 * migbench cleans up after a dead one and never touches a live one's (a PID
 * alone may have been reused by an unrelated process since). */
#ifndef MB_OWNER_H
#define MB_OWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bench/error.h"

#define MB_OWNER_TEXT 96  /* "PID:START:BOOTID" */

struct mb_owner {
	pid_t pid;
	unsigned long long start_ticks;
	char boot_id[40];
};

/* The identity of process `pid` (0 = this one). 0, or -1 with err (no such
 * process, /proc unreadable). */
int mb_owner_of(pid_t pid, struct mb_owner *out, struct mb_err *err);

/* True when the process named by `o` still runs: same boot, and its PID
 * belongs to a process that started at the same tick. */
bool mb_owner_alive(const struct mb_owner *o);

/* "PID:START:BOOTID", and back. Parse returns 0, or -1 on malformed text. */
void mb_owner_format(const struct mb_owner *o, char *buf, size_t len);
int mb_owner_parse(const char *text, struct mb_owner *out);

#endif
