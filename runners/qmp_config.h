#ifndef MB_QMP_CONFIG_H
#define MB_QMP_CONFIG_H

#include <jansson.h>

struct mb_params;

/* {"events": true, "postcopy-ram": true, "multifd": false, ...}: every
 * capability migbench manages, on or off; new reference. */
json_t *mb_qmp_caps_for(const struct mb_params *p);
/* The same for a destination: postcopy-blocktime on for post-copy and
 * hybrid (it measures the destination's page faults). */
json_t *mb_qmp_destination_caps_for(const struct mb_params *p);
/* Removes the off capabilities a QEMU does not offer (`offered` as
 * mb_qmp_query_migrate_capabilities returns it): off is what it has anyway;
 * and the measurement ones (postcopy-blocktime), on or off, that it lacks. */
void mb_qmp_drop_unoffered(json_t *caps, const json_t *offered);
/* migrate-set-parameters for the source and the destination. */
json_t *mb_qmp_source_params_for(const struct mb_params *p);
json_t *mb_qmp_destination_params_for(const struct mb_params *p);

#endif
