/* The guest's network services (migbench.svc=echo|kv): request handlers as
 * pure functions of a datagram (so tests need no network), and the thread
 * that serves them over UDP (net.c). Wire format: ../svc_proto.h. */
#ifndef MB_AGENT_SVC_H
#define MB_AGENT_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "workloads/agent/config.h"

/* The kv store: kv_size / MB_SVC_VALUE_SIZE fixed-size slots in one
 * mapping, a working set in guest memory that PUTs dirty. */
struct svc_kv {
	unsigned char *store;
	uint64_t nslots;
	size_t bytes;
};

/* Maps (and pre-faults) the store and writes every slot's initial value
 * (version 0). Returns 0, or -1 with errno set. */
int svc_kv_init(struct svc_kv *kv, uint64_t size);
void svc_kv_free(struct svc_kv *kv);

/* Each handler answers one request datagram: writes the reply into `reply`
 * (at least MB_SVC_MAX_DATAGRAM bytes) and returns its length, or 0 for a
 * datagram that is not ours (no magic) and gets no answer. */
size_t svc_kv_handle(struct svc_kv *kv, const unsigned char *req, size_t len, unsigned char *reply);
size_t svc_echo_handle(const unsigned char *req, size_t len, unsigned char *reply);

/* A service as the agent runs it: agent_svc_<svc> for each svc of
 * ../workload_list.h (svc_<svc>.c; agent_svc_none in workload.c). `store`:
 * it keeps a kv store of migbench.kv_size, initialised before it starts
 * and passed to every call of `handle`. */
struct agent_svc_ops {
	bool store;
	size_t (*handle)(struct svc_kv *kv, const unsigned char *req, size_t len, unsigned char *reply);
};
#define X(id, name, loop, svc, ...) extern const struct agent_svc_ops agent_svc_##svc;
MB_WORKLOADS(X)
#undef X

/* Brings up the service of `config->svc` in its own thread. As a guest
 * (`guest`), first configures the network interface with config->net_addr
 * (net.c); in --stdio mode it listens on 127.0.0.1 instead. `realtime`
 * gives the thread SCHED_FIFO (below the heartbeat thread) so a CPU-bound
 * workload does not add its time slices to every request's latency.
 * Returns 0, or -1 with a console message already logged and a word for
 * `ERR msg=` in `word`. */
int svc_start(const struct agent_config *config, bool guest, bool realtime, char *word, size_t word_len);

/* Requests answered since the service started (all threads may read). */
uint64_t svc_requests_served(void);

#endif
