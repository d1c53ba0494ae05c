/* Connections to libvirt daemons, libvirt's errors, typed parameters as
 * JSON, and the event loop libvirt's events and keepalive need. */
#include "config.h"
#include "runners/libvirt_conn.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- the event loop ---- */

static pthread_once_t loop_once = PTHREAD_ONCE_INIT;
static char loop_error[MB_ERR_MAX];

/* libvirt prints every error to stderr unless told otherwise; migbench
 * passes them up instead (virGetLastErrorMessage). */
static void quiet(void *opaque, virErrorPtr error)
{
}

static void *loop_main(void *arg)
{
	for (;;)
		if (virEventRunDefaultImpl() < 0)
			break;
	return NULL;
}

static void loop_init(void)
{
	pthread_t t;
	pthread_attr_t attr;
	int e;

	virSetErrorFunc(NULL, quiet);
	if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
		snprintf(loop_error, sizeof(loop_error), "libvirt's event loop: %s", virGetLastErrorMessage());
		return;
	}
	/* It runs for the rest of the process: libvirt has no way to take
	 * its default loop back. */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	e = pthread_create(&t, &attr, loop_main, NULL);
	pthread_attr_destroy(&attr);
	if (e)
		snprintf(loop_error, sizeof(loop_error), "libvirt's event loop: cannot start its thread: %s",
			 strerror(e));
}

int mb_lv_event_loop_start(struct mb_err *err)
{
	pthread_once(&loop_once, loop_init);
	if (loop_error[0])
		return mb_errf(err, 0, "%s", loop_error);
	return 0;
}

/* ---- errors and connections ---- */

int mb_lv_errf(struct mb_err *err, const char *fmt, ...)
{
	char what[MB_ERR_MAX / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return mb_errf(err, 0, "%s: %s", what, virGetLastErrorMessage());
}

int mb_lv_connect(const char *uri, const char *role, virConnectPtr *out, struct mb_err *err)
{
	virConnectPtr c;

	*out = NULL;
	if (mb_lv_event_loop_start(err))
		return -1;
	if (!uri || !*uri)
		return mb_errf(err, 0, "%s is empty: name the libvirt daemon's URI (%s=qemu+ssh://HOST/system, "
			       "or qemu+unix:///system?socket=PATH for a local one)", role, role);
	c = virConnectOpen(uri);
	if (!c)
		return mb_lv_errf(err, "libvirt daemon %s (%s): cannot connect (is libvirtd running there? "
				  "start it, or pass %s=URI of one that runs)", uri, role, role);
	/* A daemon that dies mid-migration is noticed within 15 s instead
	 * of never. */
	if (virConnectSetKeepAlive(c, 5, 3) < 0) {
		mb_lv_errf(err, "libvirt daemon %s (%s): setting keepalive", uri, role);
		virConnectClose(c);
		return -1;
	}
	*out = c;
	return 0;
}

/* ---- typed parameters ---- */

json_t *mb_lv_params_json(const virTypedParameter *params, int n)
{
	json_t *o = json_object();

	for (int i = 0; o && i < n; i++) {
		const virTypedParameter *p = &params[i];
		json_t *v = NULL;

		switch (p->type) {
		case VIR_TYPED_PARAM_INT: v = json_integer(p->value.i); break;
		case VIR_TYPED_PARAM_UINT: v = json_integer(p->value.ui); break;
		case VIR_TYPED_PARAM_LLONG: v = json_integer(p->value.l); break;
		case VIR_TYPED_PARAM_ULLONG: v = json_integer((json_int_t)p->value.ul); break;
		case VIR_TYPED_PARAM_DOUBLE: v = json_real(p->value.d); break;
		case VIR_TYPED_PARAM_BOOLEAN: v = json_boolean(p->value.b); break;
		case VIR_TYPED_PARAM_STRING: v = json_string(p->value.s ? p->value.s : ""); break;
		default: v = json_null(); break;
		}
		json_object_set_new(o, p->field, v);
	}
	return o;
}
