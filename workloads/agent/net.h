/* The guest's network interface. The Debian kernel has no ip=
 * autoconfiguration and the initramfs has no ip(8), so the agent sets the
 * address with the classic ioctls once virtio_net (loaded from
 * /etc/migbench/modules) has registered the interface.
 *
 * After a migration nothing here runs again: QEMU's self-announce and the
 * kernel's gratuitous ARPs (virtio-net's guest-announce) move the host
 * bridge's forwarding entry to the destination port. net_send_garp is the
 * agent's own announcement, sent once the interface is up. */
#ifndef MB_AGENT_NET_H
#define MB_AGENT_NET_H

#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

/* Waits up to `wait_ms` for a network interface other than `lo`, then
 * gives it `addr`/`prefix` (host byte order) and brings it (and lo) up.
 * Returns 0 and its name in `ifname`, or -1 with the reason in `why`. */
int net_configure(uint32_t addr, unsigned prefix, unsigned wait_ms, char ifname[IF_NAMESIZE],
		  char *why, size_t why_len);

/* Broadcasts one gratuitous ARP request for `addr` from `ifname`'s MAC.
 * Returns 0, or -1 with errno set. */
int net_send_garp(const char *ifname, uint32_t addr);

#endif
