/* The guest as a libvirt domain: the same machine the QMP runner starts
 * (runners/qemu_argv.c), written as domain XML. */
#ifndef MB_RUNNERS_LIBVIRT_DOMAIN_H
#define MB_RUNNERS_LIBVIRT_DOMAIN_H

#include "bench/error.h"
#include "runners/guest.h"

/* What differs between the guest's incarnations on two hosts. */
struct mb_lv_place {
	const char *console_log;   /* the serial console's file */
	const char *hb_socket;     /* the heartbeat port's UNIX socket (QEMU listens) */
	const char *cpuset;        /* CPUs for its QEMU, '+'-separated as cpuset_src; "" = any */
	/* A host migbench shares no files with: the heartbeat port and the
	 * console are TCP servers on all its addresses instead (console_log
	 * and hb_socket unused). 0 = the files above. */
	unsigned hb_port, console_port;
};

/* Domain XML for `g` with `accel` resolved (kvm -> type kvm, tcg -> type
 * qemu): direct kernel boot with mb_guest_append's command line, the
 * heartbeat port (MB_PROTO_PORT_NAME) on a UNIX socket in server mode,
 * the console to a file, emulator g->qemu. *xml is malloc'ed. */
int mb_lv_domain_xml(const struct mb_guest *g, enum mb_accel accel, const char *name,
		     const struct mb_lv_place *place, char **xml, struct mb_err *err);

/* The destination's XML: the running domain's migratable XML (`live`,
 * from virDomainGetXMLDesc: libvirt's ABI check wants exactly its devices
 * and addresses) with the console's and the heartbeat port's backends and
 * the CPUs made `to`'s, and the emulator `emulator` (NULL = unchanged). */
int mb_lv_domain_xml_for(const char *live, const struct mb_lv_place *to, const char *emulator, char **xml,
			 struct mb_err *err);

#endif
