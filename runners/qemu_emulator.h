/* An installed QEMU version (runners/qemu_versions.h) as a program that a
 * daemon of this host can start by path: libvirt's <emulator>. */
#ifndef MB_RUNNERS_QEMU_EMULATOR_H
#define MB_RUNNERS_QEMU_EMULATOR_H

#include <stddef.h>

#include "bench/error.h"
#include "runners/qemu_versions.h"

/* Writes (once, atomically) VERSIONS_DIR/NAME/emulator, a shell script that
 * runs the version's QEMU through its root's own dynamic loader and
 * libraries, with its root's firmware (-L), but without a chroot: the
 * daemon's paths (kernel, sockets, logs) and the descriptors it passes stay
 * valid. Its path goes to `path`. A ref without a root is refused. */
int mb_qemu_emulator_wrapper(const struct mb_qemu_ref *ref, char *path, size_t len, struct mb_err *err);

#endif
