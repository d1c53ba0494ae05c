/* The libvirt runner's daemons on other hosts: which URIs name another
 * machine, how to run a program there (the side's exec prefix, e.g. the
 * ssh that a qemu+ssh:// URI uses), the guest image there, and its QEMU's
 * process there for the probes. */
#ifndef MB_RUNNERS_LIBVIRT_REMOTE_H
#define MB_RUNNERS_LIBVIRT_REMOTE_H

#include <stddef.h>

#include "bench/error.h"
#include "probes/probe.h"

/* The parts of a libvirt URI (driver[+transport]://[user@]host[:port]/path?query)
 * migbench needs; "" for a part that is absent. -1 with err when `uri` has
 * no "://". */
struct mb_lv_uri {
	char transport[16];   /* "ssh", "tcp", "tls", "unix", "libssh2"...; "" = the driver's default */
	char user[64];
	char host[256];       /* as written; [v6] keeps its brackets */
	char port[8];
};
int mb_lv_uri_parse(const char *uri, struct mb_lv_uri *u, struct mb_err *err);

/* Whether `host` is this machine: "", localhost, a loopback address, this
 * host's name, or an address of one of its interfaces. */
int mb_lv_host_is_local(const char *host);

/* The default exec prefix for a remote daemon's URI into buf: `ssh -o
 * BatchMode=yes [-p PORT] [USER@]HOST` for qemu+ssh://, "" for others. */
void mb_lv_default_exec(const struct mb_lv_uri *u, char *buf, size_t len);

/* Runs `exec args` (through /bin/sh -c; `args` must be words that mean the
 * same after a second shell's parsing, as ssh gives them one) with stdin
 * from `in_fd` (-1: /dev/null), its stdout into out (NUL-ended, may be
 * NULL). Returns its exit status (0..255), or -1 with err when it could not
 * run, was killed or took longer than timeout_ms (then SIGKILL to its
 * process group). A non-zero exit leaves its stderr's end in err too. */
int mb_lv_exec(const char *exec, const char *args, int in_fd, char *out, size_t outlen, int timeout_ms,
	       struct mb_err *err);

/* Makes `remote` on the host behind `exec` a copy of local file `local`:
 * nothing when a file of the same size is readable there, else uploaded
 * (mkdir -p, to PATH.tmp, renamed). *uploaded says which. `what`
 * ("kernel") and `host` name it in errors, which say what to copy where. */
int mb_lv_remote_ensure_file(const char *exec, const char *host, const char *what, const char *local,
			     const char *remote, int *uploaded, struct mb_err *err);

/* The QEMU of domain `name` on the host behind `exec` (its command line
 * names guest=NAME,), its PID and vCPU threads into side (pid 0 with
 * vcpu_error when not found). */
void mb_lv_remote_qemu(const char *exec, const char *name, struct mb_probe_side *side);

#endif
