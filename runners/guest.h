/* One guest as migbench boots it: the virtual machine (memory, vCPUs,
 * accelerator, kernel and initramfs) and the agent's workload parameters,
 * and the QEMU command line that runs it.
 *
 * The command line is a function of this struct alone (plus the run
 * directory and whether it waits for a migration), so a migration's
 * destination built from the same struct has the same devices, machine type
 * and RAM size as its source, which QEMU requires.
 *
 * Boot speed: the defaults are the fastest combination measured under TCG
 * on a 2-core host (launch -> first heartbeat ~2 s); see the table in
 * runners/qemu_argv.c before changing them. */
#ifndef MB_RUNNERS_GUEST_H
#define MB_RUNNERS_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/error.h"
#include "bench/scenario.h" /* enum mb_accel, mb_workload, mb_pattern; struct mb_params */

/* Strings are borrowed: they must outlive every call that uses the struct. */
struct mb_guest {
	const char *qemu;          /* binary; NULL = MB_DEFAULT_QEMU */
	const char *qemu_root;     /* the Debian root it runs in (runners/
	                            * qemu_versions.h); NULL = this host */
	const char *machine;       /* NULL = "pc". A migration between different
	                            * QEMU versions needs a versioned type on both
	                            * sides (e.g. "pc-i440fx-7.2"). */
	const char *firmware;      /* -bios; NULL = QEMU's default (SeaBIOS) */
	uint64_t memory;           /* bytes, a whole number of MiB */
	unsigned vcpus;
	enum mb_accel accel;       /* MB_ACCEL_AUTO is resolved when QEMU starts */
	const char *kernel;        /* required */
	const char *initrd;        /* required: its /init is migbench-agent */

	/* The agent's parameters: migbench.* on the kernel command line. */
	enum mb_workload workload;
	uint64_t wss;              /* bytes */
	uint64_t rate;             /* pages/s; 0 = as fast as possible */
	enum mb_pattern pattern;
	uint64_t heartbeat_period_us;
	const char *extra_append;  /* appended to the kernel command line; NULL = none */

	/* The network service (workload echo or kv, see mb_workload_has_net):
	 * the agent runs it beside the dirty workload, on MB_NET_GUEST_ADDR. */
	uint64_t kv_size;          /* bytes of the kv store */
	const char *tap;           /* host tap device of the guest's virtio-net
	                            * NIC (MAC MB_NET_GUEST_MAC on both sides of
	                            * a migration); NULL = no NIC */

	/* tls=on: the directory of runners/tls.c's certificates; the QEMU
	 * gets a server and a client tls-creds-x509 on it. NULL = no TLS. */
	const char *tls_dir;
};

/* mb_workload_has_net(w): workloads/workload_list.h (the svc column). */

/* The scenario keys' defaults (256M, 1 vCPU, auto, dirty, 64M, 4M/s,
 * sequential, 1 ms); kernel and initrd are left NULL. */
void mb_guest_defaults(struct mb_guest *g);

/* The VM and workload of one expanded scenario; kernel, initrd, machine and
 * firmware are left as they are. */
void mb_guest_from_params(struct mb_guest *g, const struct mb_params *p);

/* "auto", "kvm", "tcg". */
const char *mb_accel_name(enum mb_accel accel);

/* Turns MB_ACCEL_AUTO into KVM when /dev/kvm is usable (opens read-write,
 * answers KVM_GET_API_VERSION, creates a VM: bench/host_kvm.c, the same
 * test as `migbench doctor`), else TCG; `why` (may be NULL) says what was
 * found. An explicit KVM that is not usable is an error; TCG always works. */
int mb_accel_resolve(enum mb_accel want, enum mb_accel *got, char *why, size_t why_len,
		     struct mb_err *err);

/* The kernel command line: console, boot-speed parameters, the agent's
 * migbench.* parameters, then extra_append. Returns 0, or -1 when it does
 * not fit in `len`. */
int mb_guest_append(const struct mb_guest *g, char *buf, size_t len, struct mb_err *err);

/* ---- the QEMU command line ------------------------------------------------ */

/* A NULL-terminated argv that owns its strings. */
struct mb_argv {
	char **v;
	size_t n, cap;
};

/* Adds one printf-formatted argument. Returns 0, or -1 when out of memory. */
int mb_argv_add(struct mb_argv *a, struct mb_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void mb_argv_free(struct mb_argv *a);

/* The argv as a shell command a person can paste (single-quoted where
 * needed), for logs and error messages; truncated to `len`. */
void mb_argv_format(const struct mb_argv *a, char *buf, size_t len);

/* Where a QEMU process keeps its sockets and logs (runners/qemu_proc.c
 * creates the directory). */
struct mb_guest_paths {
	const char *console_log;   /* -serial file: */
	const char *qmp_socket;    /* -qmp unix:...,server=on,wait=off */
	const char *hb_socket;     /* the heartbeat port's chardev */
};

/* The full argv for `g` with `accel` already resolved (KVM or TCG).
 * `incoming` NULL boots the guest; "defer" starts a destination that waits
 * for migrate-incoming. argv[0] is the QEMU binary. Paths that QEMU would
 * split at a comma are refused. Returns 0, or -1 with `err` filled (bad
 * memory size, no kernel, out of memory). */
int mb_guest_build_argv(const struct mb_guest *g, enum mb_accel accel,
			const struct mb_guest_paths *paths, const char *incoming,
			struct mb_argv *out, struct mb_err *err);

#endif
