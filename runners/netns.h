/* The virtual network of one run: a network namespace with a bridge and two
 * tap devices, one for the migration's source QEMU and one for its
 * destination, for guests that run a network service (workload echo, kv).
 *
 *     namespace migbench-<pid>-<n>
 *       lo                 up (the migration stream runs over loopback)
 *       mbbr0              bridge, stp off, forward delay 0, 10.77.0.1/24
 *       mbtap0, mbtap1     persistent taps, ports of mbbr0
 *
 * Both QEMUs run inside the namespace (mb_netns_enter around their spawn):
 * tap devices are looked up in the namespace of the process that opens
 * them, QMP and heartbeat sockets are filesystem paths and stay reachable.
 * The network client (probes/netclient.c) joins it from its own thread.
 *
 * A tap is down until just before `migrate`: frames flooded to a
 * destination tap before the migration would sit in its queue and be
 * delivered on resume, hiding a missing announce. The guest keeps one MAC
 * (MB_NET_GUEST_MAC) on both sides; QEMU's self-announce and the guest's
 * gratuitous ARPs move the bridge's entry to the destination's port.
 *
 * Namespace and devices are made with ip(8) (posix_spawn, no shell) and
 * taken down the same way; mb_netns_destroy never fails and is safe on a
 * half-built network. Namespaces left by a migbench that was killed are
 * removed on the next create and at the start of every `migbench run`:
 * their name carries the PID and start time of the migbench that made them
 * (migbench-<pid>-<start>-<n>), so a reused PID does not protect them.
 * Needs CAP_SYS_ADMIN and CAP_NET_ADMIN (root). */
#ifndef MB_RUNNERS_NETNS_H
#define MB_RUNNERS_NETNS_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>

#include "bench/error.h"

#define MB_NETNS_PREFIX "migbench-"
#define MB_NETNS_DIR "/run/netns"
#define MB_NETNS_BRIDGE "mbbr0"
#define MB_NETNS_NTAPS 2

struct mb_netns {
	char name[64];                          /* migbench-<pid>-<start>-<n> */
	char path[PATH_MAX];                    /* /run/netns/<name>: setns() it */
	char tap[MB_NETNS_NTAPS][IF_NAMESIZE];  /* mbtap0, mbtap1 */
	int fd;                                 /* open on path; -1 */
	int ctl;                                /* AF_INET socket in the namespace, for ioctls */
	bool added;                             /* `ip netns add` succeeded */
	bool bridged;                           /* has the bridge and taps */
};

/* Creates the namespace, bridge and taps (all taps down). On failure
 * nothing is left behind. */
int mb_netns_create(struct mb_netns **out, struct mb_err *err);

/* A namespace with only lo, up (no bridge, no taps): an end of a shaped
 * link (runners/link.h), named and cleaned as the others. */
int mb_netns_create_bare(struct mb_netns **out, struct mb_err *err);

/* Deletes the namespaces of migbench processes that are gone; returns how
 * many, listed in `report` (may be NULL). Never touches a live one's. */
int mb_netns_clean_orphans(char *report, size_t len);

/* Brings a tap (an index below MB_NETNS_NTAPS) up or down. */
int mb_netns_tap_set(struct mb_netns *ns, unsigned tap, bool up, struct mb_err *err);

/* Moves the calling thread into the namespace; *saved gets a descriptor of
 * where it was, for mb_netns_leave. Processes the thread spawns meanwhile
 * start inside. */
int mb_netns_enter(const struct mb_netns *ns, int *saved, struct mb_err *err);
void mb_netns_leave(int saved);

/* Deletes taps, bridge and namespace; frees ns. The QEMUs using the taps
 * must be gone already (they are processes the runner stops by PID). */
void mb_netns_destroy(struct mb_netns *ns);

/* Whether /run/netns/<name> still exists (tests: nothing left behind). */
bool mb_netns_exists(const char *name);

/* Runs ip(8) with `args` (NULL-terminated, without "ip"), waits for it and
 * puts its error output into err on failure. For tests and tools too. */
int mb_netns_ip(const char *const args[], struct mb_err *err);

#endif
