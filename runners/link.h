/* A shaped migration link (scenario keys link_bandwidth, link_delay,
 * link_jitter, link_loss): two network namespaces, one per QEMU, joined by
 * a point-to-point link that migbench emulates, so that the shaping applies
 * to the migration stream and nothing else (QMP and heartbeats are unix
 * sockets, outside it).
 *
 *     namespace migbench-<pid>-<start>-<n>     namespace ...-<n+1>
 *       lo up                                     lo up
 *       mblink0 (TUN) 10.78.0.1  <-- link -->     mblink0 (TUN) 10.78.0.2
 *
 * Why not tc: netem is what tc has for delay and loss, and kernels built
 * without CONFIG_NET_SCH_NETEM (this project's machine: no netem, no
 * modules) cannot delay or drop at all. The link is therefore a thread of
 * migbench that reads each IP packet from one end's TUN device and writes
 * it into the other's, as mahimahi does: each direction has a serializer at
 * `bandwidth` behind a drop-tail queue of one bandwidth-delay product (at
 * least 256 KiB), then a delay line of `delay` +- `jitter` (uniform; packets
 * keep their order), and drops `loss` of the packets at random before
 * either. MTU 1500, so a packet is what an Ethernet path carries. Both
 * directions are shaped alike: the stream goes source -> destination,
 * post-copy's page requests and TCP's ACKs the other way, and after a
 * completed migration the destination's namespace holds the next source,
 * so either way sees the same link. link_delay is one-way: RTT = 2 x delay.
 *
 * The TUN devices live as long as migbench holds them (a killed migbench
 * takes them along); the namespaces carry its PID and start time and are
 * cleaned as netns.h's. Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN). */
#ifndef MB_RUNNERS_LINK_H
#define MB_RUNNERS_LINK_H

#include <stdint.h>

#include <jansson.h>

#include "bench/error.h"
#include "bench/scenario.h"
#include "runners/netns.h"

#define MB_LINK_DEV "mblink0"
#define MB_LINK_MTU 1500
#define MB_LINK_ENDS 2

struct mb_link_settings {
	uint64_t bandwidth;      /* bytes/s; 0 = unlimited */
	uint64_t delay_us;       /* one way */
	uint64_t jitter_us;
	double loss;             /* fraction of packets */
};

/* One direction's counters since the link was made. */
struct mb_link_counters {
	uint64_t packets, bytes;     /* offered to the link */
	uint64_t delivered, delivered_bytes;
	uint64_t lost;               /* dropped at random (loss) */
	uint64_t queue_full;         /* dropped: the queue before the serializer was full */
	uint64_t overlimits;         /* had to wait for the serializer (bandwidth) */
	uint64_t write_errors;       /* the far end's TUN refused it */
	uint64_t sojourn_sum_us;     /* arrival to delivery, summed over delivered */
	uint64_t sojourn_max_us;
};

struct mb_link;

void mb_link_settings_from(const struct mb_params *p, struct mb_link_settings *s);

/* Makes both namespaces, their TUN devices and the thread that carries
 * the packets. On failure nothing is left behind. */
int mb_link_create(const struct mb_link_settings *s, struct mb_link **out, struct mb_err *err);

/* New settings for the packets from now on (a campaign's next scenario
 * on the same guest). */
void mb_link_configure(struct mb_link *l, const struct mb_link_settings *s);

/* An end (0 or 1): its namespace (spawn its QEMU inside, mb_netns_enter)
 * and its address ("10.78.0.1", "10.78.0.2"). */
const struct mb_netns *mb_link_netns(const struct mb_link *l, unsigned end);
const char *mb_link_address(unsigned end);

/* The counters of each direction: [0] end 0 -> end 1, [1] end 1 -> end 0. */
void mb_link_counters(struct mb_link *l, struct mb_link_counters out[MB_LINK_ENDS]);

/* The result's `link` member for one migration from end `src_end`: the
 * settings, each direction's counters between `before` and now, and the
 * throughput the stream achieved over `window_us` (0: unknown). */
json_t *mb_link_json(struct mb_link *l, const struct mb_link_counters before[MB_LINK_ENDS],
		     unsigned src_end, int64_t window_us);

/* Stops the thread, closes the devices, deletes the namespaces. The
 * QEMUs inside must be gone already. NULL is fine. */
void mb_link_destroy(struct mb_link *l);

#endif
