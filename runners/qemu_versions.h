/* QEMU versions side by side: every Debian QEMU since 2020, each installed
 * into a Debian root of its own under CACHE/qemu/NAME/root (CACHE as for the
 * guest image: $MIGBENCH_CACHE, $XDG_CACHE_HOME/migbench, ~/.cache/migbench),
 * because binaries from newer suites need a newer glibc than the host's.
 * A QEMU in a root runs chrooted there in a private mount namespace with the
 * host's /dev, /proc and /sys and the run directory, kernel and initramfs
 * bind-mounted at their own paths (runners/qemu_proc.c), so its sockets and
 * files line up with migbench's; its firmware is its own suite's.
 *
 * A scenario's `qemu`/`qemu_dst` is either an absolute path (a binary on
 * this host) or the name of an installed version (`7.2`, `11.1`); this file
 * is the one place that tells them apart. */
#ifndef MB_RUNNERS_QEMU_VERSIONS_H
#define MB_RUNNERS_QEMU_VERSIONS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "bench/error.h"
#include "bench/qemu_releases.h"

/* The QEMU binary inside every root. */
#define MB_QEMU_ROOT_BINARY "/usr/bin/qemu-system-x86_64"

/* A version migbench knows how to install: a name and the Debian suite
 * (and apt sources) it comes from. */
/* What `qemu=` named, resolved. */
struct mb_qemu_ref {
	char name[64];             /* the installed version's name; "" for a host binary */
	char binary[PATH_MAX];     /* the binary, as QEMU's own filesystem sees it */
	char root[PATH_MAX];       /* the root it runs in; "" = this host */
	char package_version[96];  /* Debian's version of qemu-system-x86, when known */
	char qemu_version[160];    /* its `-version` line, as recorded at install */
};

/* A name with no '/' is an installed version; anything else must be an
 * absolute path. Errors name what to do: `migbench qemu install NAME`, or
 * an absolute path. */
int mb_qemu_resolve(const char *text, struct mb_qemu_ref *out, struct mb_err *err);


/* Installs a release into its root (mmdebstrap; about 30 s per version on
 * this project's machine), checks that its QEMU runs (`-version`) and
 * records what was installed. `progress` (may be NULL) gets one line per
 * step. An existing root is kept unless `force`. */
int mb_qemu_install(const struct mb_qemu_release *rel, bool force, void (*progress)(const char *line),
		    struct mb_err *err);

/* Removes an installed version's root. */
int mb_qemu_remove(const char *name, struct mb_err *err);

/* [{name, suite, installed, qemu_version, package_version, root, installed_at}]
 * for every known release and every installed root. */
json_t *mb_qemu_list(struct mb_err *err);

/* The newest versioned i440FX machine type both QEMUs offer ("pc-i440fx-7.2"),
 * as QEMU's own cross-version tests choose: a migration between versions
 * fails at once when the two sides run different machine types. */
int mb_qemu_common_machine(const struct mb_qemu_ref *a, const struct mb_qemu_ref *b, char *out,
			   size_t len, struct mb_err *err);

/* CACHE/qemu. */
int mb_qemu_versions_dir(char *buf, size_t len, struct mb_err *err);

#endif
