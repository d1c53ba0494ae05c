/* Guests started from a snapshot: the state of a guest saved once right
 * after a cold boot (kernel up, agent ready, working set stamped), restored
 * by every later start of the same guest on the same QEMU instead of
 * booting. Under TCG a boot takes seconds; a restore reads the saved RAM.
 *
 * One snapshot per guest and QEMU: its key is a hash of the QEMU command
 * line the guest boots with (run-specific paths left out), the QEMU binary
 * (path, size, mtime, inode) and the root it runs in. It lives beside the
 * guest image (IMAGE_DIR/snapshots/KEY.state), whose directory is already
 * named by the hash of the kernel, initramfs and agent, and is visible to a
 * QEMU in another Debian root (runners/sandbox.h binds it).
 *
 * The stream is QEMU's own migration format, saved through exec: (`cat >
 * FILE`, every QEMU) and restored with file: where QEMU has it (8.2 on:
 * read in place, about half the time of a pipe here), else exec: `cat
 * FILE`. The guest is saved stopped, so a restored guest comes up paused
 * and mb_snapshot_restore starts it once loaded. */
#ifndef MB_RUNNERS_SNAPSHOT_H
#define MB_RUNNERS_SNAPSHOT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench/error.h"
#include "runners/guest.h"
#include "runners/qmp.h"

struct mb_snapshot {
	char key[17];            /* 16 hex digits */
	char path[PATH_MAX];     /* IMAGE_DIR/snapshots/KEY.state */
};

/* The snapshot of guest `g` (kernel, initrd and qemu set; accel resolved
 * here as a start would). Creates the snapshots directory. Refuses paths a
 * shell command would need quoting for. */
int mb_snapshot_locate(const struct mb_guest *g, struct mb_snapshot *s, struct mb_err *err);

/* Whether it exists; its size in bytes in *bytes (may be NULL). */
bool mb_snapshot_present(const struct mb_snapshot *s, uint64_t *bytes);


/* Saves the running guest behind `qmp`: stop, stream to a temporary file
 * beside the snapshot, rename it into place (atomic: a reader never sees
 * half a snapshot), then cont. The guest runs again on return whatever
 * happened, unless QEMU stopped answering. `memory` (bytes) sizes the
 * time allowed. *bytes and *took_us say what it cost. */
int mb_snapshot_save(struct mb_qmp *qmp, const struct mb_snapshot *s, uint64_t memory, uint64_t *bytes,
		     int64_t *took_us, struct mb_err *err);

/* A QEMU started with -incoming defer: loads the snapshot into it, waits
 * until it is loaded, then starts the guest. *uri (may be NULL) says which
 * way it was read. */
int mb_snapshot_restore(struct mb_qmp *qmp, const struct mb_snapshot *s, uint64_t memory,
			volatile const int *interrupted, const char **uri, struct mb_err *err);

/* Removes a snapshot QEMU could not load, so the next start saves anew. */
void mb_snapshot_discard(const struct mb_snapshot *s);

#endif
