/* Connections to libvirt daemons for the libvirt runner, and libvirt's
 * errors and typed parameters in migbench's terms. Every error names the
 * URI, quotes libvirt (virGetLastErrorMessage) and says what to do. */
#ifndef MB_RUNNERS_LIBVIRT_CONN_H
#define MB_RUNNERS_LIBVIRT_CONN_H

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <jansson.h>

#include "bench/error.h"

/* Registers libvirt's default event loop and runs it in a thread of its
 * own, once per process (libvirt wants that before the first connection,
 * for events and keepalive). */
int mb_lv_event_loop_start(struct mb_err *err);

/* Opens `uri` read-write with keepalive; `role` ("libvirt_src") names the
 * scenario key in the error's advice. */
int mb_lv_connect(const char *uri, const char *role, virConnectPtr *out, struct mb_err *err);

/* Fills err with "what: libvirt's last error" and returns -1. */
int mb_lv_errf(struct mb_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Typed parameters as one JSON object, names and values as libvirt gives
 * them (unsigned long long as an integer; jansson's is signed 64-bit). */
json_t *mb_lv_params_json(const virTypedParameter *params, int n);

#endif
