/* migbench.svc=echo: every request comes back unchanged. The cheapest
 * service there is, so what a client measures is the network path and the
 * guest's scheduling, not the service. */
#include "workloads/agent/svc.h"

#include <string.h>

#include "workloads/svc_proto.h"

size_t svc_echo_handle(const unsigned char *req, size_t len, unsigned char *reply)
{
	struct mb_svc_header h;

	if (mb_svc_get_header(req, len, &h))
		return 0;
	if (len > MB_SVC_MAX_DATAGRAM)
		len = MB_SVC_MAX_DATAGRAM;
	if (h.op != MB_SVC_OP_ECHO) {
		h.status = MB_SVC_BAD_REQUEST;
		h.value_len = 0;
		mb_svc_put_header(reply, &h);
		return MB_SVC_HEADER_SIZE;
	}
	memcpy(reply, req, len);
	return len;
}

static size_t handle(struct svc_kv *unused, const unsigned char *req, size_t len, unsigned char *reply)
{
	return svc_echo_handle(req, len, reply);
}

const struct agent_svc_ops agent_svc_echo = { .store = false, .handle = handle };
