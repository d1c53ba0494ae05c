#ifndef MB_QMP_CONFIG_H
#define MB_QMP_CONFIG_H

#include <jansson.h>

struct mb_params;

/* {"events": true, "postcopy-ram": true, ...}: new reference. */
json_t *mb_qmp_caps_for(const struct mb_params *p);
/* migrate-set-parameters for the source and the destination. */
json_t *mb_qmp_source_params_for(const struct mb_params *p);
json_t *mb_qmp_destination_params_for(const struct mb_params *p);

#endif
