/* Domain XML for migbench's guest. The devices are the QMP runner's
 * (runners/qemu_argv.c): no defaults (libvirt adds none of its USB, balloon
 * or graphics when told so), the kernel and initramfs booted directly, a
 * virtio-serial port named org.migbench.heartbeat on a UNIX socket QEMU
 * listens on (migbench connects, as to the QMP runner's), ttyS0 to a file.
 * <acpi/> matters: without it libvirt turns ACPI off, and the guest loses
 * its TSC calibration (see the table in qemu_argv.c). */
#include "config.h"
#include "runners/libvirt_domain.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workloads/proto.h"

#define MiB (UINT64_C(1) << 20)

/* A growing string; on allocation failure it stays NULL and says so once. */
struct buf {
	char *s;
	size_t len, cap;
	int failed;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap : 1024);
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p) {
			b->failed = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Text for an XML attribute or element. */
static void put_escaped(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': puts_(b, "&lt;"); break;
		case '>': puts_(b, "&gt;"); break;
		case '&': puts_(b, "&amp;"); break;
		case '\'': puts_(b, "&apos;"); break;
		case '"': puts_(b, "&quot;"); break;
		default: put(b, s, 1); break;
		}
	}
}

static void printf_(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void printf_(struct buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		b->failed = 1;
	else
		put(b, tmp, (size_t)n);
}

/* migbench writes CPU lists 0-1+4; libvirt wants 0-1,4. */
static void put_cpuset(struct buf *b, const char *cpuset)
{
	for (; *cpuset; cpuset++)
		put(b, *cpuset == '+' ? "," : cpuset, 1);
}

/* A character device's backend, after "<serial type='": the type, then
 * its <source> (and <protocol>): a TCP server on all the host's addresses
 * when `port` is set, else `type` on `path`. */
static void put_backend(struct buf *b, unsigned port, const char *type, const char *path, const char *mode)
{
	if (port) {
		printf_(b, "tcp'>\n      <source mode='bind' host='0.0.0.0' service='%u'/>\n"
			"      <protocol type='raw'/>\n", port);
		return;
	}
	printf_(b, "%s'>\n      <source%s path='", type, mode);
	put_escaped(b, path);
	puts_(b, "'/>\n");
}

static int check_path(const char *what, const char *path, struct mb_err *err)
{
	if (!path || !*path)
		return mb_errf(err, 0, "domain XML: no %s path", what);
	if (path[0] != '/')
		return mb_errf(err, 0, "domain XML: %s path '%s' is not absolute (libvirt resolves "
			       "it on the daemon's host, not in migbench's directory)", what, path);
	return 0;
}

int mb_lv_domain_xml(const struct mb_guest *g, enum mb_accel accel, const char *name,
		     const struct mb_lv_place *place, char **xml, struct mb_err *err)
{
	struct buf b = { 0 };
	char append[4096];

	*xml = NULL;
	if (!g->kernel || !*g->kernel || !g->initrd || !*g->initrd)
		return mb_errf(err, 0, "domain XML: the guest needs a kernel and an initramfs");
	if (g->memory < MiB || g->memory % MiB)
		return mb_errf(err, 0, "domain XML: guest memory of %" PRIu64 " bytes is not a whole number "
			       "of MiB", g->memory);
	if (accel != MB_ACCEL_KVM && accel != MB_ACCEL_TCG)
		return mb_errf(err, 0, "domain XML: accelerator '%s' not resolved to kvm or tcg",
			       mb_accel_name(accel));
	if ((!place->console_port && check_path("console log", place->console_log, err)) ||
	    (!place->hb_port && check_path("heartbeat socket", place->hb_socket, err)) ||
	    check_path("kernel", g->kernel, err) || check_path("initrd", g->initrd, err))
		return -1;
	if (mb_guest_append(g, append, sizeof(append), err))
		return mb_err_prefix(err, "domain XML");

	printf_(&b, "<domain type='%s'>\n  <name>", accel == MB_ACCEL_KVM ? "kvm" : "qemu");
	put_escaped(&b, name);
	printf_(&b, "</name>\n  <memory unit='KiB'>%" PRIu64 "</memory>\n", g->memory / 1024);
	puts_(&b, "  <vcpu placement='static'");
	if (place->cpuset && *place->cpuset) {
		puts_(&b, " cpuset='");
		put_cpuset(&b, place->cpuset);
		puts_(&b, "'");
	}
	printf_(&b, ">%u</vcpu>\n", g->vcpus);
	puts_(&b, "  <os>\n    <type arch='x86_64' machine='");
	put_escaped(&b, g->machine && *g->machine ? g->machine : "pc");
	puts_(&b, "'>hvm</type>\n");
	if (g->firmware && *g->firmware) {
		puts_(&b, "    <loader>");
		put_escaped(&b, g->firmware);
		puts_(&b, "</loader>\n");
	}
	puts_(&b, "    <kernel>");
	put_escaped(&b, g->kernel);
	puts_(&b, "</kernel>\n    <initrd>");
	put_escaped(&b, g->initrd);
	puts_(&b, "</initrd>\n    <cmdline>");
	put_escaped(&b, append);
	puts_(&b, "</cmdline>\n  </os>\n");
	puts_(&b, "  <features><acpi/><apic/></features>\n");
	puts_(&b, "  <clock offset='utc'/>\n");
	/* -no-reboot with panic=-1: a guest panic ends the domain at once. */
	puts_(&b, "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>destroy</on_reboot>\n"
		  "  <on_crash>destroy</on_crash>\n");
	puts_(&b, "  <devices>\n    <emulator>");
	put_escaped(&b, g->qemu && *g->qemu ? g->qemu : MB_DEFAULT_QEMU);
	puts_(&b, "</emulator>\n");
	puts_(&b, "    <serial type='");
	put_backend(&b, place->console_port, "file", place->console_log, "");
	puts_(&b, "      <target port='0'/>\n    </serial>\n");
	puts_(&b, "    <channel type='");
	put_backend(&b, place->hb_port, "unix", place->hb_socket, " mode='bind'");
	puts_(&b, "      <target type='virtio' name='");
	put_escaped(&b, MB_PROTO_PORT_NAME);
	puts_(&b, "'/>\n    </channel>\n");
	puts_(&b, "    <controller type='usb' model='none'/>\n    <memballoon model='none'/>\n");
	puts_(&b, "  </devices>\n</domain>\n");
	if (b.failed) {
		free(b.s);
		return mb_errf(err, ENOMEM, "domain XML for %s", name);
	}
	*xml = b.s;
	return 0;
}

/* The first `<elem type='...'>...</elem>` (whose text contains `must`,
 * unless NULL) with its backend made `type`/`path` or the TCP `port`:
 * the opening tag's type and the <source>/<protocol> children replaced,
 * the target, alias and address (what the ABI check compares) kept. */
static int set_backend(char **xml, const char *elem, const char *must, unsigned port, const char *type,
		       const char *path, const char *mode, struct mb_err *err)
{
	char open_[32], close_[32];
	const char *a = *xml, *z = NULL, *body, *p;
	struct buf out = { 0 };

	snprintf(open_, sizeof(open_), "<%s type='", elem);
	snprintf(close_, sizeof(close_), "</%s>", elem);
	for (; (a = strstr(a, open_)); a = z) {
		z = strstr(a, close_);
		if (!z)
			break;
		if (!must || (strstr(a, must) && strstr(a, must) < z))
			break;
	}
	if (!a || !z || !(body = strchr(a, '>')) || body > z)
		return mb_errf(err, 0, "destination domain XML: the running domain's XML has no <%s%s%s>", elem,
			       must ? " for " : "", must ? must : "");
	body++;
	put(&out, *xml, (size_t)(a - *xml));
	puts_(&out, open_);
	put_backend(&out, port, type, path, mode);
	/* the children but <source> and <protocol> */
	for (p = body; p < z;) {
		const char *lt = memchr(p, '<', (size_t)(z - p)), *end;

		if (!lt) {
			put(&out, p, (size_t)(z - p));
			break;
		}
		if (strncmp(lt, "<source", 7) && strncmp(lt, "<protocol", 9)) {
			end = memchr(lt, '>', (size_t)(z - lt));
			end = end ? end + 1 : z;
			put(&out, p, (size_t)(end - p));
			p = end;
			continue;
		}
		/* skip the element (self-closing, or up to its end tag) and
		 * the blank before it */
		end = memchr(lt, '>', (size_t)(z - lt));
		if (!end)
			return free(out.s), mb_errf(err, 0, "destination domain XML: an unclosed tag in <%s>", elem);
		if (end[-1] != '/') {
			const char *close_child = strstr(end, lt[1] == 's' ? "</source>" : "</protocol>");

			if (!close_child || close_child > z)
				return free(out.s), mb_errf(err, 0, "destination domain XML: cannot read <%s>'s backend", elem);
			end = strchr(close_child, '>');
		}
		p = end + 1;
		while (p < z && (*p == ' ' || *p == '\n'))
			p++;
	}
	puts_(&out, z);
	if (out.failed) {
		free(out.s);
		return mb_errf(err, ENOMEM, "destination domain XML: the <%s>'s backend", elem);
	}
	free(*xml);
	*xml = out.s;
	return 0;
}

/* The <emulator> element's text, whatever it is. */
static int set_emulator(char **xml, const char *emulator, struct mb_err *err)
{
	const char *a = strstr(*xml, "<emulator>"), *z = a ? strstr(a, "</emulator>") : NULL;
	struct buf out = { 0 };

	if (!a || !z)
		return mb_errf(err, 0, "destination domain XML: the running domain's XML has no <emulator>");
	put(&out, *xml, (size_t)(a - *xml) + strlen("<emulator>"));
	put_escaped(&out, emulator);
	puts_(&out, z);
	if (out.failed) {
		free(out.s);
		return mb_errf(err, ENOMEM, "destination domain XML: setting the emulator");
	}
	free(*xml);
	*xml = out.s;
	return 0;
}

/* The cpuset attribute of <vcpu>: removed, then written anew. */
static int set_cpuset(char **xml, const char *cpuset, struct mb_err *err)
{
	char *v = strstr(*xml, "<vcpu"), *end = v ? strchr(v, '>') : NULL, *attr;
	struct buf out = { 0 };

	if (!v || !end)
		return mb_errf(err, 0, "destination domain XML: the running domain's XML has no <vcpu>");
	attr = strstr(v, " cpuset=");
	if (attr && attr < end) {
		char quote = attr[8], *close = quote ? strchr(attr + 9, quote) : NULL;

		if (!close || close > end)
			return mb_errf(err, 0, "destination domain XML: cannot read <vcpu cpuset=...>");
		put(&out, *xml, (size_t)(attr - *xml));
		puts_(&out, close + 1);
	} else {
		puts_(&out, *xml);
	}
	if (out.failed) {
		free(out.s);
		return mb_errf(err, ENOMEM, "destination domain XML: setting the CPUs");
	}
	free(*xml);
	*xml = out.s;
	if (cpuset && *cpuset) {
		struct buf b = { 0 };
		size_t at;

		v = strstr(*xml, "<vcpu");
		at = (size_t)(v - *xml) + strlen("<vcpu");
		put(&b, *xml, at);
		puts_(&b, " cpuset='");
		put_cpuset(&b, cpuset);
		puts_(&b, "'");
		puts_(&b, *xml + at);
		if (b.failed) {
			free(b.s);
			return mb_errf(err, ENOMEM, "destination domain XML: setting the CPUs");
		}
		free(*xml);
		*xml = b.s;
	}
	return 0;
}

int mb_lv_domain_xml_for(const char *live, const struct mb_lv_place *to, const char *emulator, char **xml,
			 struct mb_err *err)
{
	*xml = strdup(live);
	if (!*xml)
		return mb_errf(err, ENOMEM, "destination domain XML");
	/* libvirt adds a <console> for the serial port: the same backend */
	if (set_backend(xml, "serial", NULL, to->console_port, "file", to->console_log, "", err) ||
	    set_backend(xml, "console", NULL, to->console_port, "file", to->console_log, "", err) ||
	    set_backend(xml, "channel", MB_PROTO_PORT_NAME, to->hb_port, "unix", to->hb_socket, " mode='bind'", err) ||
	    (emulator && set_emulator(xml, emulator, err)) ||
	    set_cpuset(xml, to->cpuset, err)) {
		free(*xml);
		*xml = NULL;
		return -1;
	}
	return 0;
}
