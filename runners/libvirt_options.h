/* The libvirt runner's own scenario keys (libvirt_*): declared here, in a
 * file every build compiles, so that a scenario written for a libvirt host
 * still parses where configure found no libvirt (--runner libvirt then says
 * the runner is not built). The runner reads them with
 * mb_run_spec_options(spec, &mb_runner_libvirt) (runners/libvirt_runner.c). */
#ifndef MB_RUNNERS_LIBVIRT_OPTIONS_H
#define MB_RUNNERS_LIBVIRT_OPTIONS_H

#include "bench/scenario.h"

/* --runner libvirt: whether a daemon's host is another machine (auto: its
 * URI names a host that is not this one). */
#define MB_LV_REMOTES(X) \
	X(MB_LV_REMOTE_AUTO, "auto") \
	X(MB_LV_REMOTE_YES, "yes") \
	X(MB_LV_REMOTE_NO, "no")
enum mb_lv_remote { MB_LV_REMOTES(MB_X_ENUM) };

/* --runner libvirt: the clock of the migration's instants (auto: QEMU's
 * when both sides run on one host, migbench's arrival times otherwise). */
#define MB_LV_CLOCKS(X) \
	X(MB_LV_CLOCK_AUTO, "auto") \
	X(MB_LV_CLOCK_QEMU, "qemu") \
	X(MB_LV_CLOCK_ARRIVAL, "arrival")
enum mb_lv_clock { MB_LV_CLOCKS(MB_X_ENUM) };

/* What the keys parse into, for one run. */
struct mb_lv_options {
	const char *libvirt_src;        /* the source daemon's URI */
	const char *libvirt_dst;        /* ... the destination daemon's URI */
	const char *libvirt_migrate_uri; /* ... the migration data URI to it; "" = libvirt's choice */
	const char *libvirt_migrate_uri_back; /* ... and back to the source's host */
	enum mb_lv_remote libvirt_remote; /* ... whether the daemons' hosts are other machines */
	const char *libvirt_exec_src;   /* ... how to run a program on libvirt_src's host; "" = default */
	const char *libvirt_exec_dst;   /* ... on libvirt_dst's host */
	unsigned libvirt_heartbeat_port; /* ... remote sides: first of the 4 TCP ports (heartbeat, console) */
	enum mb_lv_clock libvirt_clock; /* ... the clock of the instants */
};

/* The table, ended by { 0 }. */
extern const struct mb_key mb_lv_keys[];

/* The runner whose options they are (runners/libvirt_runner.c, only in a
 * build with libvirt). */
struct mb_runner_ops;
extern const struct mb_runner_ops mb_runner_libvirt;

#endif
