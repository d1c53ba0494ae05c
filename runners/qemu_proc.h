/* One QEMU process and its private run directory.
 *
 * The directory (mkdtemp, mode 0700, under $XDG_RUNTIME_DIR or /tmp) holds
 * everything the process has: qmp.sock (QMP monitor), hb.sock (the guest's
 * heartbeat port), console.log (the guest's serial console) and qemu.log
 * (QEMU's own stdout and stderr). Nobody else can connect to the sockets.
 *
 * QEMU is started from an argv (fork and execve, never through a shell), in
 * its own process group (a Ctrl-C at the terminal reaches migbench, which
 * then tears QEMU down in order, rather than QEMU dying mid-measurement),
 * and with PR_SET_PDEATHSIG: whatever kills migbench, SIGKILL included,
 * kills its QEMUs too. The directory's `owner` file names migbench and QEMU
 * by PID, start time and boot (bench/owner.h), so that a later migbench can
 * remove what a dead one left without ever touching a live one's.
 * Teardown is SIGTERM, then SIGKILL after a grace period, waitpid on that
 * PID, then removal of the directory; it never fails and is safe to call
 * on a half-started process.
 *
 * Not thread-safe: one thread owns a struct mb_qemu. */
#ifndef MB_RUNNERS_QEMU_PROC_H
#define MB_RUNNERS_QEMU_PROC_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bench/error.h"
#include "runners/guest.h"

/* How long teardown waits after SIGTERM before SIGKILL. */
#define MB_QEMU_GRACE_MS 3000

struct mb_qemu_opts {
	const struct mb_guest *guest;
	const char *label;         /* "source", "destination": in messages and
	                            * the directory name; NULL = "guest" */
	const char *incoming;      /* NULL: boot; "defer": wait for migrate-incoming */
	bool keep_dir;             /* leave the run directory (logs) after stop;
	                            * also when $MIGBENCH_KEEP_RUNDIR is set */
};

struct mb_qemu {
	char label[32];
	pid_t pid;                 /* 0 when not running (never started, or reaped) */
	enum mb_accel accel;       /* resolved: KVM or TCG */
	char accel_why[512];       /* why that accelerator */
	char dir[PATH_MAX];
	char qmp_socket[PATH_MAX];
	char hb_socket[PATH_MAX];
	char console_log[PATH_MAX];
	char qemu_log[PATH_MAX];
	char command[8192];        /* the argv as a shell line, for reports */
	int64_t launch_real_us;    /* posix_spawn returned: CLOCK_REALTIME */
	int64_t launch_mono_us;    /* the same instant: CLOCK_MONOTONIC */
	bool exited;               /* reaped by waitpid */
	int wait_status;           /* waitpid's status once exited */
	bool keep_dir;
};

/* Resolves the accelerator, creates the run directory, builds the argv and
 * spawns QEMU. Returns as soon as the process exists; use
 * mb_qemu_wait_for_socket for QEMU to be ready. On failure nothing is left
 * behind (no process, no directory). */
int mb_qemu_start(const struct mb_qemu_opts *opts, struct mb_qemu **out, struct mb_err *err);

/* 0 while QEMU runs. Once it has exited: -1 with err saying how ("source
 * QEMU (pid 123) exited with status 1") followed by the tails of qemu.log
 * and console.log. */
int mb_qemu_check_alive(struct mb_qemu *q, struct mb_err *err);

/* Waits until `path` (one of q's sockets) exists, checking that QEMU is
 * still alive; QEMU creates its sockets before the guest starts. 0, or -1
 * on early death (with the logs' tails) or after timeout_ms. */
int mb_qemu_wait_for_socket(struct mb_qemu *q, const char *path, int timeout_ms,
			    struct mb_err *err);

/* The last `max_lines` lines of console.log / qemu.log, in `buf`; "" when
 * the file is empty or unreadable. */
void mb_qemu_console_tail(const struct mb_qemu *q, unsigned max_lines, char *buf, size_t len);
void mb_qemu_log_tail(const struct mb_qemu *q, unsigned max_lines, char *buf, size_t len);

/* Appends "; QEMU said: ...; guest console: ..." to an error, for a guest
 * that timed out rather than died. */
void mb_qemu_explain(const struct mb_qemu *q, struct mb_err *err);

/* SIGTERM, up to grace_ms, SIGKILL, waitpid; then removes the run
 * directory unless kept. Frees q. NULL is fine. Never fails. */
void mb_qemu_stop(struct mb_qemu *q, unsigned grace_ms);

/* A private directory of files beside the QEMUs' run directories:
 * migbench-<label>-XXXXXX, mode 0700 (mkdtemp), with an owner file naming
 * this migbench, so that mb_qemu_clean_orphans removes it should migbench
 * die before mb_private_dir_remove. `dir` is "" on failure (nothing left). */
int mb_private_dir_make(const char *label, char *dir, size_t len, struct mb_err *err);
/* Removes its files (not subdirectories) and the directory; sets `dir` to
 * "". "" is fine. Never fails. */
void mb_private_dir_remove(char *dir);

/* Removes the run directories (under $XDG_RUNTIME_DIR and /tmp) whose
 * migbench has died, killing their QEMU when that very process still runs.
 * Directories of live migbench processes, and without an owner file, are
 * left alone. Returns how many were removed; `report` (may be NULL) lists
 * them. */
int mb_qemu_clean_orphans(char *report, size_t len);

#endif
