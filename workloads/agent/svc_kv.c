/* migbench.svc=kv: GET and PUT of fixed-size values in a store that is a
 * large working set of guest memory. A PUT overwrites a whole slot, so the
 * writes the client drives dirty guest pages as a real service's would; a
 * GET reads one. The client picks the keys (uniformly) and the share of
 * PUTs (kv_write_fraction), so the store itself has no policy. */
#include "workloads/agent/svc.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "workloads/svc_proto.h"

int svc_kv_init(struct svc_kv *kv, uint64_t size)
{
	uint64_t nslots = size / MB_SVC_VALUE_SIZE;
	size_t bytes = (size_t)(nslots * MB_SVC_VALUE_SIZE);
	void *base;

	*kv = (struct svc_kv){ 0 };
	if (nslots == 0 || bytes / MB_SVC_VALUE_SIZE != nslots) {
		errno = EINVAL;
		return -1;
	}
	/* Pre-faulted in one call, as the working set is (stamp.c). */
	base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (base == MAP_FAILED)
		return -1;
	kv->store = base;
	kv->nslots = nslots;
	kv->bytes = bytes;
	for (uint64_t k = 0; k < nslots; k++)
		mb_svc_fill_value(kv->store + k * MB_SVC_VALUE_SIZE, k, 0);
	return 0;
}

void svc_kv_free(struct svc_kv *kv)
{
	if (kv->store)
		munmap(kv->store, kv->bytes);
	*kv = (struct svc_kv){ 0 };
}

static size_t answer(unsigned char *reply, struct mb_svc_header *h, enum mb_svc_status status)
{
	h->status = (uint8_t)status;
	h->value_len = 0;
	mb_svc_put_header(reply, h);
	return MB_SVC_HEADER_SIZE;
}

size_t svc_kv_handle(struct svc_kv *kv, const unsigned char *req, size_t len, unsigned char *reply)
{
	struct mb_svc_header h;
	unsigned char *slot;
	uint64_t key, version;

	if (mb_svc_get_header(req, len, &h))
		return 0;
	switch (h.op) {
	case MB_SVC_OP_ECHO:
		/* A ping that needs no store: the client's liveness check. */
		return svc_echo_handle(req, len, reply);
	case MB_SVC_OP_GET:
		if (len != MB_SVC_HEADER_SIZE)
			return answer(reply, &h, MB_SVC_BAD_REQUEST);
		if (h.key >= kv->nslots)
			return answer(reply, &h, MB_SVC_NO_SUCH_KEY);
		slot = kv->store + h.key * MB_SVC_VALUE_SIZE;
		mb_svc_value_id(slot, &key, &version);
		h.status = MB_SVC_OK;
		h.value_len = MB_SVC_VALUE_SIZE;
		h.version = version;
		mb_svc_put_header(reply, &h);
		memcpy(reply + MB_SVC_HEADER_SIZE, slot, MB_SVC_VALUE_SIZE);
		return MB_SVC_HEADER_SIZE + MB_SVC_VALUE_SIZE;
	case MB_SVC_OP_PUT:
		if (len != MB_SVC_HEADER_SIZE + MB_SVC_VALUE_SIZE || h.value_len != MB_SVC_VALUE_SIZE)
			return answer(reply, &h, MB_SVC_BAD_REQUEST);
		if (h.key >= kv->nslots)
			return answer(reply, &h, MB_SVC_NO_SUCH_KEY);
		/* The value says which key and version it is: it must be this
		 * key's, or a GET could later return another key's data. */
		mb_svc_value_id(req + MB_SVC_HEADER_SIZE, &key, &version);
		if (key != h.key)
			return answer(reply, &h, MB_SVC_BAD_REQUEST);
		slot = kv->store + h.key * MB_SVC_VALUE_SIZE;
		memcpy(slot, req + MB_SVC_HEADER_SIZE, MB_SVC_VALUE_SIZE);
		h.version = version;
		return answer(reply, &h, MB_SVC_OK);
	default:
		return answer(reply, &h, MB_SVC_BAD_REQUEST);
	}
}

const struct agent_svc_ops agent_svc_kv = { .store = true, .handle = svc_kv_handle };
