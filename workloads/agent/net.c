/* The guest's network interface (net.h) and the thread that serves the
 * network service over UDP (svc.h). */
#include "workloads/agent/net.h"
#include "workloads/agent/svc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "workloads/agent/clock.h"
#include "workloads/agent/log.h"
#include "workloads/agent/workload.h"
#include "workloads/svc_proto.h"

/* ---- the interface ----------------------------------------------------------- */

/* The first interface that is not the loopback; virtio_net registers it
 * from its module init, but probing may finish a little later. */
static int find_interface(char ifname[IF_NAMESIZE])
{
	struct if_nameindex *all = if_nameindex(), *i;
	int found = -1;

	if (!all)
		return -1;
	for (i = all; i->if_index; i++) {
		if (strcmp(i->if_name, "lo")) {
			snprintf(ifname, IF_NAMESIZE, "%s", i->if_name);
			found = 0;
			break;
		}
	}
	if_freenameindex(all);
	return found;
}

static int set_flags_up(int fd, const char *name)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(fd, SIOCSIFFLAGS, &ifr);
}

static void set_sockaddr(struct sockaddr *sa, uint32_t addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(addr) };

	memcpy(sa, &sin, sizeof(sin));
}

int net_configure(uint32_t addr, unsigned prefix, unsigned wait_ms, char ifname[IF_NAMESIZE],
		  char *why, size_t why_len)
{
	uint64_t deadline = agent_now_us() + (uint64_t)wait_ms * 1000u;
	uint32_t mask = prefix ? ~0u << (32 - prefix) : 0;
	struct ifreq ifr = { 0 };
	int fd;

	while (find_interface(ifname)) {
		if (agent_now_us() >= deadline) {
			snprintf(why, why_len, "no network interface appeared within %u ms (is virtio_net in "
				 "/etc/migbench/modules, and does QEMU give the guest a NIC?)", wait_ms);
			return -1;
		}
		agent_sleep_until_us(agent_now_us() + 10000);
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, why_len, "socket: %s", strerror(errno));
		return -1;
	}
	/* Loopback first: nothing needs it, but a guest without it is odd. */
	set_flags_up(fd, "lo");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	set_sockaddr(&ifr.ifr_addr, addr);
	if (ioctl(fd, SIOCSIFADDR, &ifr) < 0) {
		snprintf(why, why_len, "%s: SIOCSIFADDR: %s", ifname, strerror(errno));
		goto fail;
	}
	set_sockaddr(&ifr.ifr_netmask, mask);
	if (ioctl(fd, SIOCSIFNETMASK, &ifr) < 0) {
		snprintf(why, why_len, "%s: SIOCSIFNETMASK: %s", ifname, strerror(errno));
		goto fail;
	}
	if (set_flags_up(fd, ifname) < 0) {
		snprintf(why, why_len, "%s: SIOCSIFFLAGS (up): %s", ifname, strerror(errno));
		goto fail;
	}
	close(fd);
	return 0;
fail:
	close(fd);
	return -1;
}

/* An ARP packet for Ethernet and IPv4 (RFC 826), as the wire has it. */
struct arp_ipv4 {
	uint16_t htype, ptype;
	uint8_t hlen, plen;
	uint16_t oper;
	uint8_t sha[6], spa[4], tha[6], tpa[4];
} __attribute__((packed));

int net_send_garp(const char *ifname, uint32_t addr)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP), .sll_halen = 6 };
	struct arp_ipv4 arp = {
		.htype = htons(1), .ptype = htons(ETH_P_IP), .hlen = 6, .plen = 4, .oper = htons(1),
	};
	uint32_t be = htonl(addr);
	int fd, saved;

	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP));
	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0 || ioctl(fd, SIOCGIFINDEX, &ifr) < 0)
		goto fail;
	to.sll_ifindex = ifr.ifr_ifindex;
	memset(to.sll_addr, 0xff, 6);
	/* SIOCGIFINDEX overwrote the union: ask for the MAC again. */
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		goto fail;
	memcpy(arp.sha, ifr.ifr_hwaddr.sa_data, 6);
	memcpy(arp.spa, &be, 4);
	memcpy(arp.tpa, &be, 4);
	if (sendto(fd, &arp, sizeof(arp), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		goto fail;
	close(fd);
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* ---- the service thread ------------------------------------------------------ */

struct service {
	const struct agent_svc_ops *ops;
	int fd;
	bool realtime;
	struct svc_kv kv;
};

static _Atomic uint64_t served;

uint64_t svc_requests_served(void)
{
	return atomic_load_explicit(&served, memory_order_relaxed);
}

static void *serve(void *arg)
{
	struct service *s = arg;
	static unsigned char req[MB_SVC_MAX_DATAGRAM + 1], reply[MB_SVC_MAX_DATAGRAM];

	if (s->realtime) {
		/* Below the heartbeat thread (10): heartbeats stay on time. */
		struct sched_param param = { .sched_priority = 5 };
		int err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);

		if (err)
			agent_log("service thread stays at normal priority (SCHED_FIFO: %s)", strerror(err));
	}
	for (;;) {
		struct sockaddr_in from;
		socklen_t from_len = sizeof(from);
		ssize_t n = recvfrom(s->fd, req, sizeof(req), 0, (struct sockaddr *)&from, &from_len);
		size_t len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			agent_log("service: recvfrom: %s; stopping the service", strerror(errno));
			return NULL;
		}
		if ((size_t)n > MB_SVC_MAX_DATAGRAM)
			continue; /* truncated: not one of ours */
		len = s->ops->handle(&s->kv, req, (size_t)n, reply);
		if (!len)
			continue;
		/* A full socket buffer drops the reply: the client counts it lost. */
		if (sendto(s->fd, reply, len, MSG_DONTWAIT, (struct sockaddr *)&from, from_len) >= 0)
			atomic_fetch_add_explicit(&served, 1, memory_order_relaxed);
	}
}

int svc_start(const struct agent_config *config, bool guest, bool realtime, char *word, size_t word_len)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)config->svc_port) };
	char ifname[IF_NAMESIZE] = "", why[256];
	struct in_addr shown = { .s_addr = htonl(config->net_addr) };
	struct service *s;
	pthread_t thread;
	int buf = 1 << 20, err;

	if (config->svc == AGENT_SVC_NONE || !agent_workload_impls[config->svc].svc->handle)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(word, word_len, "svc_out_of_memory");
		return -1;
	}
	s->ops = agent_workload_impls[config->svc].svc;
	s->realtime = realtime;
	s->fd = -1;
	if (guest) {
		if (net_configure(config->net_addr, config->net_prefix, 3000, ifname, why, sizeof(why))) {
			agent_log("network: %s", why);
			snprintf(word, word_len, "net_config_failed");
			goto fail;
		}
		addr.sin_addr.s_addr = htonl(INADDR_ANY);
	} else {
		addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	if (s->ops->store && svc_kv_init(&s->kv, config->kv_size)) {
		agent_log("cannot allocate the kv store of %llu MiB: %s", (unsigned long long)(config->kv_size >> 20),
			  strerror(errno));
		snprintf(word, word_len, "kv_alloc_failed");
		goto fail;
	}
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		agent_log("service: cannot listen on UDP port %u: %s", config->svc_port, strerror(errno));
		snprintf(word, word_len, "svc_bind_failed");
		goto fail;
	}
	/* Room for a burst of requests queued while the guest was paused. */
	setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	err = pthread_create(&thread, NULL, serve, s);
	if (err) {
		agent_log("service: cannot start its thread: %s", strerror(err));
		snprintf(word, word_len, "svc_thread_failed");
		goto fail;
	}
	pthread_detach(thread);
	if (guest && net_send_garp(ifname, config->net_addr))
		agent_log("network: gratuitous ARP on %s: %s (the host learns the MAC on the first reply)", ifname,
			  strerror(errno));
	if (guest)
		agent_log("%s service on %s/%u (%s), UDP port %u", agent_svc_name(config->svc), inet_ntoa(shown),
			  config->net_prefix, ifname, config->svc_port);
	else
		agent_log("%s service on 127.0.0.1, UDP port %u", agent_svc_name(config->svc), config->svc_port);
	return 0;
fail:
	if (s->fd >= 0)
		close(s->fd);
	svc_kv_free(&s->kv);
	free(s);
	return -1;
}
