/* What a QMP event is once received: parsed from QEMU's message, matched,
 * copied, freed and written out. The queueing lives in qmp.c. */
#include "config.h"
#include "runners/qmp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* QEMU stamps events with {"seconds": S, "microseconds": US} from its
 * CLOCK_REALTIME; keep it as one µs count so it compares with host_real_us. */
static int64_t qemu_timestamp_us(const json_t *msg)
{
	const json_t *ts = json_object_get(msg, "timestamp");
	const json_t *s = json_object_get(ts, "seconds");
	const json_t *us = json_object_get(ts, "microseconds");

	if (!json_is_integer(s) || !json_is_integer(us) || json_integer_value(s) < 0)
		return -1;
	return (int64_t)json_integer_value(s) * 1000000 + (int64_t)json_integer_value(us);
}

int mb_qmp_event_from_message(const json_t *msg, int64_t host_real_us, int64_t host_mono_us,
			      struct mb_qmp_event *out, struct mb_err *err)
{
	const json_t *name = json_object_get(msg, "event");
	json_t *data = json_object_get(msg, "data");

	if (!json_is_string(name))
		return mb_errf(err, 0, "QMP event without a name string");
	*out = (struct mb_qmp_event){
		.name = strdup(json_string_value(name)),
		.data = json_incref(data),
		.qemu_us = qemu_timestamp_us(msg),
		.host_real_us = host_real_us,
		.host_mono_us = host_mono_us,
	};
	if (!out->name) {
		json_decref(out->data);
		out->data = NULL;
		return mb_errf(err, ENOMEM, "QMP event %s", json_string_value(name));
	}
	return 0;
}

int mb_qmp_event_copy(const struct mb_qmp_event *src, struct mb_qmp_event *dst,
		      struct mb_err *err)
{
	*dst = *src;
	dst->name = strdup(src->name);
	if (!dst->name) {
		dst->data = NULL;
		return mb_errf(err, ENOMEM, "copying QMP event %s", src->name);
	}
	json_incref(dst->data);
	return 0;
}

void mb_qmp_event_release(struct mb_qmp_event *ev)
{
	if (!ev)
		return;
	free(ev->name);
	json_decref(ev->data);
	*ev = (struct mb_qmp_event){ .qemu_us = -1 };
}

void mb_qmp_event_list_free(struct mb_qmp_event_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		mb_qmp_event_release(&list->items[i]);
	free(list->items);
	*list = (struct mb_qmp_event_list){ 0 };
}

bool mb_qmp_event_matches(const struct mb_qmp_event *ev, const char *name,
			  const json_t *data_match)
{
	const char *key;
	json_t *want;

	if (name && strcmp(ev->name, name) != 0)
		return false;
	if (!data_match)
		return true;
	/* json_object_foreach wants a non-const object but only reads it */
	json_object_foreach((json_t *)data_match, key, want) {
		if (!json_equal(json_object_get(ev->data, key), want))
			return false;
	}
	return true;
}

json_t *mb_qmp_event_to_json(const struct mb_qmp_event *ev)
{
	json_t *obj = json_pack("{s:s, s:I, s:I, s:I}", "event", ev->name,
				"qemu_us", (json_int_t)ev->qemu_us,
				"host_real_us", (json_int_t)ev->host_real_us,
				"host_mono_us", (json_int_t)ev->host_mono_us);

	if (obj && ev->data && json_object_set(obj, "data", ev->data) != 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

json_t *mb_qmp_event_list_to_json(const struct mb_qmp_event_list *list)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < list->count; i++) {
		if (json_array_append_new(arr, mb_qmp_event_to_json(&list->items[i])) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}
