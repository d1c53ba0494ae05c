/* Throwaway X.509 credentials for migration over TLS (scenario key tls).
 *
 * One CA, one server and one client certificate, made with GnuTLS's
 * certtool (Debian: gnutls-bin) in a private directory of the runner, in the
 * file names QEMU's tls-creds-x509 reads: ca-cert.pem, server-cert.pem,
 * server-key.pem, client-cert.pem, client-key.pem. Every QEMU of a run gets
 * both a server and a client creds object on that directory, since each
 * destination becomes the next repetition's source. */
#ifndef MB_RUNNERS_TLS_H
#define MB_RUNNERS_TLS_H

#include <stddef.h>

#include "bench/error.h"

/* The ids of the two -object tls-creds-x509 every QEMU gets: the source
 * sets tls-creds to the client one, the destination to the server one. */
#define MB_TLS_CREDS_SERVER "mb-tls-server"
#define MB_TLS_CREDS_CLIENT "mb-tls-client"

/* The name in the server certificate, and the source's tls-hostname: with
 * the unix transport QEMU has no host name of its own to check against. */
#define MB_TLS_HOSTNAME "migbench-destination"

/* Makes the directory and the credentials in it. Returns 0 with `dir` set,
 * or -1 with nothing left behind and `err` naming the certtool command, its
 * exit status and its last line on stderr. */
int mb_tls_make(char *dir, size_t len, struct mb_err *err);

/* Removes the directory; `dir` becomes "". "" is fine. Never fails. */
void mb_tls_remove(char *dir);

#endif
