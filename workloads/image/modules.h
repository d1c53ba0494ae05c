/* Which kernel modules go into the image, and in which order the agent must
 * load them: the wanted modules plus everything they depend on according to
 * modules.dep, dependencies first (finit_module fails on a module whose
 * symbols are not loaded yet). */
#ifndef MB_IMAGE_MODULES_H
#define MB_IMAGE_MODULES_H

#include <stddef.h>

#include "bench/error.h"

struct mb_modules {
	char **paths;      /* as written in modules.dep (relative to the modules dir), load order */
	size_t n;
	char **builtin;    /* wanted names found in modules.builtin instead: nothing to load */
	size_t nbuiltin;
};

/* Resolves names (e.g. "virtio_net"; '-' and '_' are the same) against
 * moddir/modules.dep and moddir/modules.builtin. A name in neither is an
 * error, as is a dependency cycle or a dependency with no line of its own. */
int mb_modules_resolve(const char *moddir, const char *const names[], size_t nnames,
		       struct mb_modules *out, struct mb_err *err);

void mb_modules_free(struct mb_modules *m);

/* The module name of a path: "kernel/net/core/failover.ko.xz" -> "failover",
 * "virtio-rng.ko" -> "virtio_rng" (the kernel treats '-' as '_'). */
void mb_module_name(const char *path, char *name, size_t size);

/* 1 when path names a module file: .ko, .ko.xz, .ko.zst or .ko.gz. */
int mb_module_is_ko(const char *path);

#endif
