/* Running a helper program (apt-get, dpkg-deb) from an argv, never through
 * a shell, and keeping what it printed for error messages. */
#ifndef MB_IMAGE_SPAWN_H
#define MB_IMAGE_SPAWN_H

#include "bench/error.h"

struct mb_img_spawn_result {
	int status;            /* exit status; 128 + signal number when killed */
	char out[4096];        /* the start of its stdout */
	char errtail[1024];    /* the end of its stderr: where the reason usually is */
};

/* Runs argv[0] (looked up in PATH) in directory cwd (NULL: ours), stdin
 * from /dev/null. Returns -1 only when it could not be started (err says
 * why; errnum ENOENT when the program is not installed); otherwise 0 with
 * res->status telling how it ended. */
int mb_img_spawn(const char *const argv[], const char *cwd, struct mb_img_spawn_result *res,
	     struct mb_err *err);

/* The last non-empty line of res->errtail (or "" ), for short messages. */
const char *mb_img_spawn_last_line(struct mb_img_spawn_result *res);

#endif
