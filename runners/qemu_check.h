/* Which QEMU runs here and its version (`migbench doctor`, results). */
#ifndef MB_QEMU_CHECK_H
#define MB_QEMU_CHECK_H

#include "bench/host.h"

/* ---- QEMU ------------------------------------------------------------------- */

struct mb_qemu_version {
	int major, minor, micro;
	char text[32];          /* "7.2.22" */
	char package[128];      /* "Debian 1:7.2+dfsg-7+deb12u18", "" when none */
};

/* Parses the first line of `qemu-system-* --version`:
 * "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)".
 * 0 on success, -1 when `text` holds no QEMU version. */
int mb_qemu_parse_version(const char *text, struct mb_qemu_version *out);

struct mb_host_qemu {
	char binary[PATH_MAX];
	const char *origin;     /* "--qemu", "$MIGBENCH_QEMU" or "configure default" */
	struct mb_check found;  /* ran `BINARY --version` and understood it */
	struct mb_qemu_version version;
};

/* Chooses the binary (cli_binary, else $MIGBENCH_QEMU, else MB_DEFAULT_QEMU),
 * runs it with --version (no shell, a few seconds at most) and parses it. */
void mb_probe_qemu(const char *cli_binary, struct mb_host_qemu *out);

#endif
