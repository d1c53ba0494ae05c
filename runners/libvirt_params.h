/* What a scenario asks of a migration, in libvirt's terms: virDomainMigrate3
 * flags and typed parameters, and the keys libvirt cannot honour. One place,
 * so that preflight refuses exactly what migrate could not do. */
#ifndef MB_RUNNERS_LIBVIRT_PARAMS_H
#define MB_RUNNERS_LIBVIRT_PARAMS_H

#include <libvirt/libvirt.h>
#include <jansson.h>

#include "bench/error.h"
#include "bench/scenario.h"

/* 0, or -1 naming the first scenario key the libvirt runner cannot honour
 * and what to do instead. */
int mb_lv_check_keys(const struct mb_run_spec *spec, struct mb_err *err);

/* Flags and typed parameters for one migration. `migrate_uri` "" or NULL
 * leaves the data URI to libvirt; `dest_xml` is the destination's domain
 * XML. The caller frees *params with virTypedParamsFree(*params, *n). */
int mb_lv_migrate_params(const struct mb_params *p, const char *migrate_uri, const char *dest_xml,
			 virTypedParameterPtr *params, int *n, unsigned *flags, struct mb_err *err);

/* The max downtime for virDomainMigrateSetMaxDowntime, ms (rounded up, as
 * the QMP runner's downtime-limit). */
unsigned long long mb_lv_max_downtime_ms(const struct mb_params *p);

/* What the source QEMU must hold once libvirt started the migration, in
 * QEMU's terms (query-migrate-parameters / -capabilities), for
 * mb_qmp_compare_applied: what the flags and parameters above ask. */
json_t *mb_lv_wanted_params(const struct mb_params *p);
json_t *mb_lv_wanted_caps(const struct mb_params *p);

/* The flags by name (["live", "postcopy", ...]) for the result. */
json_t *mb_lv_flags_json(unsigned flags);

#endif
