/* The QMP runner's own scenario keys: how its guest starts. Declared in a
 * file of their own, as libvirt_options.h, so the table is the one place
 * the key, its choices and its default live. The runner reads them with
 * mb_run_spec_options(spec, &mb_runner_qmp). */
#ifndef MB_RUNNERS_QMP_OPTIONS_H
#define MB_RUNNERS_QMP_OPTIONS_H

#include "bench/scenario.h"

/* guest_start: boot = kernel and agent from scratch (the reference path);
 * snapshot = restore the state saved once right after such a boot
 * (runners/snapshot.h), saving it first when there is none. */
#define MB_QMP_STARTS(X) \
	X(MB_QMP_START_BOOT, "boot") \
	X(MB_QMP_START_SNAPSHOT, "snapshot")
enum mb_qmp_start { MB_QMP_STARTS(MB_X_ENUM) };

struct mb_qmp_options {
	enum mb_qmp_start guest_start;
};

/* The table, ended by { 0 }. */
extern const struct mb_key mb_qmp_keys[];
/* The runner, the handle its options are read with. */
struct mb_runner_ops;
extern const struct mb_runner_ops mb_runner_qmp;

#endif
