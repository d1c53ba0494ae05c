/* The guest description and the QEMU command line built from it.
 *
 * Why the command line looks the way it does (launch -> first heartbeat,
 * TCG, QEMU 7.2, Debian 6.1 cloud kernel, 2-core host, median of 5-7 boots;
 * the host was shared with other builds, so differences under ~0.15 s are
 * noise):
 *
 *   SeaBIOS, -machine pc, default CPU, no extra parameters     2.0-2.5 s
 *   + cryptomgr.notests (crypto self-tests: 0.5 s of initcalls)  -0.4 s
 *   qboot instead of SeaBIOS                                      -0.1 s?
 *   q35 instead of pc                                             +0.1 s
 *   -cpu max                                                      +0.2 s
 *   -smp 2 (a second vCPU to bring up)                            +0.8 s
 *   quiet, lpj=, tsc=reliable no_timer_check, mitigations=off,
 *   8250.nr_uarts=2, random.trust_cpu=on, noapic, pci=lastbus=0   noise
 *   acpi=off                                      -0.3 s, REJECTED: no TSC
 *       calibration without ACPI tables, so the guest falls back to the
 *       jiffies clocksource (4 ms resolution: useless for 1 ms heartbeats
 *       and pacing) and sees one CPU only
 *   qboot + acpi=off                                  no heartbeat at all
 *
 * So: pc (migrates everywhere; microvm does not), QEMU's default firmware,
 * and cryptomgr.notests. The guest uses no kernel crypto, so skipping the
 * self-tests costs nothing. panic=-1 with -no-reboot turns a guest panic
 * into a QEMU exit that the host notices at once. no_timer_check: the
 * kernel's check that the IO-APIC delivers timer interrupts counts ticks
 * over a busy-wait, and a vCPU starved of host CPU (16 TCG guests booting
 * on 2 cores with other load) misses them and panics ("IO-APIC + timer
 * doesn't work!"): 2 of 16 guests did here. The timer works; the check is
 * what a virtual machine cannot pass under load (as cloud images, we skip
 * it). */
#include "config.h"
#include "runners/guest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runners/accel_check.h"
#include "runners/tls.h"
#include "workloads/proto.h"
#include "workloads/svc_proto.h"

#define MiB (UINT64_C(1) << 20)

/* Kernel parameters that make the guest boot faster or fail louder. */
static const char *const boot_parameters = "console=ttyS0 panic=-1 cryptomgr.notests no_timer_check";

static const char *const accel_names[] = { MB_ACCELS(MB_X_NAME) };

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *names, size_t n, unsigned value)
{
	return value < n ? names[value] : "?";
}

void mb_guest_defaults(struct mb_guest *g)
{
	*g = (struct mb_guest){
		.memory = 256 * MiB,
		.vcpus = 1,
		.accel = MB_ACCEL_AUTO,
		.workload = MB_WORKLOAD_DIRTY,
		.wss = 64 * MiB,
		.rate = 1024, /* 4 MiB/s of 4 KiB pages */
		.pattern = MB_PATTERN_SEQUENTIAL,
		.heartbeat_period_us = 1000,
		.kv_size = 64 * MiB,
	};
}

void mb_guest_from_params(struct mb_guest *g, const struct mb_params *p)
{
	g->qemu = p->qemu && *p->qemu ? p->qemu : NULL;
	g->machine = p->machine && *p->machine ? p->machine : NULL;
	g->memory = p->memory;
	g->vcpus = p->vcpus;
	g->accel = p->accel;
	g->workload = p->workload;
	g->wss = p->wss;
	g->rate = p->rate;
	g->pattern = p->pattern;
	g->heartbeat_period_us = p->heartbeat_period_us;
	g->kv_size = p->kv_size;
}

const char *mb_accel_name(enum mb_accel accel)
{
	return name_of(accel_names, COUNT(accel_names), accel);
}

int mb_accel_resolve(enum mb_accel want, enum mb_accel *got, char *why, size_t why_len,
		     struct mb_err *err)
{
	struct mb_host_accel probe;

	if (want == MB_ACCEL_TCG) {
		*got = MB_ACCEL_TCG;
		if (why)
			snprintf(why, why_len, "tcg requested");
		return 0;
	}
	mb_probe_accel(MB_KVM_DEVICE, &probe);
	if (why)
		snprintf(why, why_len, "%s", probe.kvm.detail);
	if (probe.kvm.ok) {
		*got = MB_ACCEL_KVM;
		return 0;
	}
	if (want == MB_ACCEL_KVM)
		return mb_errf(err, 0, "accelerator kvm requested but not usable: %s (use --accel tcg or auto)",
			       probe.kvm.detail);
	*got = MB_ACCEL_TCG;
	return 0;
}

int mb_guest_append(const struct mb_guest *g, char *buf, size_t len, struct mb_err *err)
{
	const struct mb_workload_desc *w = mb_workload_desc(g->workload);
	char svc[160] = "";
	int n;

	if (!w)
		return mb_errf(err, 0, "kernel command line: workload %d is not in workloads/workload_list.h",
			       (int)g->workload);
	/* The agent runs the workload's loop (echo and kv: dirty's) and, for a
	 * workload with a service, the service beside it with the store's size
	 * (which only kv reads) and the guest's address. */
	if (mb_workload_has_net(g->workload))
		snprintf(svc, sizeof(svc), " migbench.svc=%s migbench.kv_size=%" PRIu64 " migbench.net=%s/%d",
			 w->svc, g->kv_size, MB_NET_GUEST_ADDR, MB_NET_PREFIX);
	n = snprintf(buf, len,
		     "%s migbench.workload=%s migbench.wss=%" PRIu64 " migbench.rate=%" PRIu64
		     " migbench.pattern=%s migbench.period=%" PRIu64 "%s%s%s",
		     boot_parameters, w->loop, g->wss, g->rate, mb_pattern_name(g->pattern),
		     g->heartbeat_period_us, svc, g->extra_append && *g->extra_append ? " " : "",
		     g->extra_append ? g->extra_append : "");

	if (n < 0 || (size_t)n >= len)
		return mb_errf(err, 0, "kernel command line longer than %zu bytes (extra append: '%s')",
			       len - 1, g->extra_append ? g->extra_append : "");
	return 0;
}

/* ---- argv ----------------------------------------------------------------- */

int mb_argv_add(struct mb_argv *a, struct mb_err *err, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		char **v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return mb_errf(err, errno, "QEMU command line: growing the argument list");
		a->v = v;
		a->cap = cap;
	}
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return mb_errf(err, ENOMEM, "QEMU command line: formatting an argument");
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
	return 0;
}

void mb_argv_free(struct mb_argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	*a = (struct mb_argv){ 0 };
}

static int needs_quotes(const char *s)
{
	if (!*s)
		return 1;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", *s))
			return 1;
	return 0;
}

void mb_argv_format(const struct mb_argv *a, char *buf, size_t len)
{
	size_t used = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < a->n && used + 1 < len; i++) {
		const char *arg = a->v[i];

		if (i)
			buf[used++] = ' ';
		if (!needs_quotes(arg)) {
			used += (size_t)snprintf(buf + used, len - used, "%s", arg);
		} else {
			/* 'it'\''s' is how a shell spells it's inside single quotes. */
			if (used + 1 < len)
				buf[used++] = '\'';
			for (; *arg && used + 5 < len; arg++) {
				if (*arg == '\'') {
					memcpy(buf + used, "'\\''", 4);
					used += 4;
				} else {
					buf[used++] = *arg;
				}
			}
			if (used + 1 < len)
				buf[used++] = '\'';
		}
		if (used >= len)
			used = len - 1;
		buf[used] = '\0';
	}
}

/* QEMU splits -chardev and -qmp values at commas; a path with one would be
 * cut short and QEMU would complain about an unknown option. */
static int check_option_path(const char *what, const char *path, struct mb_err *err)
{
	if (!path || !*path)
		return mb_errf(err, 0, "QEMU command line: no %s path", what);
	if (strchr(path, ','))
		return mb_errf(err, 0, "QEMU command line: %s path '%s' contains a comma, which QEMU would "
			       "take as an option separator", what, path);
	return 0;
}

int mb_guest_build_argv(const struct mb_guest *g, enum mb_accel accel,
			const struct mb_guest_paths *paths, const char *incoming,
			struct mb_argv *out, struct mb_err *err)
{
	char append[4096];
	struct mb_argv a = { 0 };
	int rc = 0;

	*out = (struct mb_argv){ 0 };
	if (!g->kernel || !*g->kernel || !g->initrd || !*g->initrd)
		return mb_errf(err, 0, "QEMU command line: the guest needs a kernel and an initramfs "
			       "(kernel '%s', initrd '%s')", g->kernel ? g->kernel : "", g->initrd ? g->initrd : "");
	if (g->memory < MiB || g->memory % MiB)
		return mb_errf(err, 0, "QEMU command line: guest memory of %" PRIu64 " bytes is not a whole "
			       "number of MiB", g->memory);
	if (g->vcpus < 1)
		return mb_errf(err, 0, "QEMU command line: the guest needs at least one vCPU");
	if (accel != MB_ACCEL_KVM && accel != MB_ACCEL_TCG)
		return mb_errf(err, 0, "QEMU command line: accelerator '%s' not resolved to kvm or tcg",
			       mb_accel_name(accel));
	if (check_option_path("heartbeat socket", paths->hb_socket, err) ||
	    check_option_path("QMP socket", paths->qmp_socket, err) ||
	    check_option_path("console log", paths->console_log, err))
		return -1;
	if (g->tls_dir && check_option_path("TLS credentials", g->tls_dir, err))
		return -1;
	if (g->tap && strchr(g->tap, ','))
		return mb_errf(err, 0, "QEMU command line: tap name '%s' contains a comma", g->tap);
	if (mb_guest_append(g, append, sizeof(append), err))
		return mb_err_prefix(err, "QEMU command line");

	rc |= mb_argv_add(&a, err, "%s", g->qemu && *g->qemu ? g->qemu : MB_DEFAULT_QEMU);
	/* debug-threads names QEMU's threads ("CPU 0/TCG", "live_migration")
	 * so per-thread counters can tell them apart. */
	rc |= mb_argv_add(&a, err, "-name");
	rc |= mb_argv_add(&a, err, "migbench,debug-threads=on");
	rc |= mb_argv_add(&a, err, "-nodefaults");
	rc |= mb_argv_add(&a, err, "-no-user-config");
	rc |= mb_argv_add(&a, err, "-display");
	rc |= mb_argv_add(&a, err, "none");
	rc |= mb_argv_add(&a, err, "-machine");
	rc |= mb_argv_add(&a, err, "%s", g->machine && *g->machine ? g->machine : "pc");
	rc |= mb_argv_add(&a, err, "-accel");
	rc |= mb_argv_add(&a, err, "%s", mb_accel_name(accel));
	rc |= mb_argv_add(&a, err, "-m");
	rc |= mb_argv_add(&a, err, "%" PRIu64 "M", g->memory / MiB);
	rc |= mb_argv_add(&a, err, "-smp");
	rc |= mb_argv_add(&a, err, "%u", g->vcpus);
	if (g->firmware && *g->firmware) {
		rc |= mb_argv_add(&a, err, "-bios");
		rc |= mb_argv_add(&a, err, "%s", g->firmware);
	}
	rc |= mb_argv_add(&a, err, "-kernel");
	rc |= mb_argv_add(&a, err, "%s", g->kernel);
	rc |= mb_argv_add(&a, err, "-initrd");
	rc |= mb_argv_add(&a, err, "%s", g->initrd);
	rc |= mb_argv_add(&a, err, "-append");
	rc |= mb_argv_add(&a, err, "%s", append);
	rc |= mb_argv_add(&a, err, "-no-reboot");
	rc |= mb_argv_add(&a, err, "-serial");
	rc |= mb_argv_add(&a, err, "file:%s", paths->console_log);
	rc |= mb_argv_add(&a, err, "-device");
	rc |= mb_argv_add(&a, err, "virtio-serial-pci,id=vser0");
	/* wait=off: QEMU must not block until the host connects; the agent
	 * holds its first records until someone does. */
	rc |= mb_argv_add(&a, err, "-chardev");
	rc |= mb_argv_add(&a, err, "socket,id=hb,path=%s,server=on,wait=off", paths->hb_socket);
	rc |= mb_argv_add(&a, err, "-device");
	rc |= mb_argv_add(&a, err, "virtserialport,bus=vser0.0,chardev=hb,name=%s", MB_PROTO_PORT_NAME);
	if (g->tap && *g->tap) {
		/* The tap exists already (runners/netns.c) inside the namespace
		 * QEMU runs in; no scripts. romfile= leaves out the PXE ROM: it
		 * would only slow the boot, and both sides must agree on it. */
		rc |= mb_argv_add(&a, err, "-netdev");
		rc |= mb_argv_add(&a, err, "tap,id=net0,ifname=%s,script=no,downscript=no", g->tap);
		rc |= mb_argv_add(&a, err, "-device");
		rc |= mb_argv_add(&a, err, "virtio-net-pci,netdev=net0,mac=%s,romfile=", MB_NET_GUEST_MAC);
	}
	if (g->tls_dir) {
		/* Both ends on every QEMU: this one may receive now and send in
		 * the next repetition. The server insists on a client
		 * certificate from the same CA (verify-peer). */
		rc |= mb_argv_add(&a, err, "-object");
		rc |= mb_argv_add(&a, err, "tls-creds-x509,id=%s,endpoint=server,dir=%s,verify-peer=on",
				  MB_TLS_CREDS_SERVER, g->tls_dir);
		rc |= mb_argv_add(&a, err, "-object");
		rc |= mb_argv_add(&a, err, "tls-creds-x509,id=%s,endpoint=client,dir=%s",
				  MB_TLS_CREDS_CLIENT, g->tls_dir);
	}
	rc |= mb_argv_add(&a, err, "-qmp");
	rc |= mb_argv_add(&a, err, "unix:%s,server=on,wait=off", paths->qmp_socket);
	if (incoming && *incoming) {
		rc |= mb_argv_add(&a, err, "-incoming");
		rc |= mb_argv_add(&a, err, "%s", incoming);
	}
	if (rc) {
		mb_argv_free(&a);
		return -1;
	}
	*out = a;
	return 0;
}
