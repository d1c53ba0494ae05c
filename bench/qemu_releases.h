/* The QEMU releases migbench can install, each from a Debian suite: data
 * only, so that the scenario parser (the base) can tell a version name from
 * a path without reaching up into the runners that install and run them
 * (runners/qemu_versions.h). */
#ifndef MB_QEMU_RELEASES_H
#define MB_QEMU_RELEASES_H

#include <stdbool.h>

struct mb_qemu_release {
	const char *name;          /* "7.2"; also accepted: the suite name */
	const char *suite;         /* what mmdebstrap bootstraps */
	const char *extra_suite;   /* a second suite to take QEMU from (backports), or NULL */
	const char *note;          /* one line for `migbench qemu list` */
};

extern const struct mb_qemu_release mb_qemu_releases[];

/* The release called `name` (its name or its suite), or NULL. */
const struct mb_qemu_release *mb_qemu_release_find(const char *name);

/* Whether `text` names an installed version (not a path). */
bool mb_qemu_is_version_name(const char *text);

#endif
