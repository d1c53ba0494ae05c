/* Throwaway X.509 credentials for TLS migration (see tls.h). */
#include "config.h"
#include "runners/tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/atomic_file.h"
#include "runners/qemu_proc.h"
#include "workloads/image/spawn.h"

/* A campaign may run for days, and every new destination QEMU loads the
 * certificates again: they must stay valid as long as the run. */
#define EXPIRATION "expiration_days = 30\n"
/* RSA, not ECDSA: certtool marks an ECDSA certificate's key usage critical
 * without key encipherment (ECDSA cannot encipher), and QEMU refuses such a
 * server or client certificate ("usage does not permit key encipherment").
 * Three 2048-bit keys take about 0.2 s. */
#define KEY_TYPE "--key-type=rsa"
#define KEY_BITS "--bits=2048"

/* certtool's templates: what each certificate is for. */
static const char ca_template[] =
	"cn = migbench throwaway CA\nca\ncert_signing_key\n" EXPIRATION;
static const char server_template[] =
	"cn = " MB_TLS_HOSTNAME "\ndns_name = " MB_TLS_HOSTNAME "\n"
	"tls_www_server\nsigning_key\nencryption_key\n" EXPIRATION;
static const char client_template[] =
	"cn = migbench-source\ntls_www_client\nsigning_key\nencryption_key\n" EXPIRATION;

/* Runs certtool in `dir` (file names are relative to it). */
static int certtool(const char *dir, const char *const argv[], struct mb_err *err)
{
	struct mb_img_spawn_result res;
	char command[512] = "";
	size_t used = 0;

	for (size_t i = 0; argv[i] && used < sizeof(command); i++)
		used += (size_t)snprintf(command + used, sizeof(command) - used, "%s%s", i ? " " : "", argv[i]);
	if (mb_img_spawn(argv, dir, &res, err)) {
		if (err->errnum == ENOENT)
			return mb_errf(err, ENOENT, "tls=on: cannot run '%s': certtool not found "
				       "(install gnutls-bin)", command);
		return mb_err_prefix(err, "tls=on: '%s'", command);
	}
	if (res.status) {
		const char *said = mb_img_spawn_last_line(&res);

		return mb_errf(err, 0, "tls=on: '%s' exited with status %d: %s", command,
			       res.status, *said ? said : "(nothing on stderr)");
	}
	return 0;
}

static int write_template(const char *dir, const char *name, const char *text, struct mb_err *err)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (mb_write_text_atomic(path, text, strlen(text), 1, err))
		return mb_err_prefix(err, "tls=on: certtool template");
	return 0;
}

/* What only the making needs: nobody can sign another certificate for this
 * run once the CA's key is gone. */
static int remove_file(const char *dir, const char *name, struct mb_err *err)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (unlink(path))
		return mb_errf(err, errno, "tls=on: removing %s", path);
	return 0;
}

static int make_in(const char *dir, struct mb_err *err)
{
	static const char *const keys[] = { "ca-key.pem", "server-key.pem", "client-key.pem" };
	/* --stdout-info: the certificate's description goes to stdout, so
	 * that stderr holds only what went wrong. */
	const char *const ca[] = { "certtool", "--generate-self-signed", "--load-privkey", "ca-key.pem",
				   "--template", "ca.info", "--outfile", "ca-cert.pem", "--stdout-info", NULL };
	const char *const server[] = { "certtool", "--generate-certificate", "--load-privkey", "server-key.pem",
				       "--load-ca-certificate", "ca-cert.pem", "--load-ca-privkey", "ca-key.pem",
				       "--template", "server.info", "--outfile", "server-cert.pem",
				       "--stdout-info", NULL };
	const char *const client[] = { "certtool", "--generate-certificate", "--load-privkey", "client-key.pem",
				       "--load-ca-certificate", "ca-cert.pem", "--load-ca-privkey", "ca-key.pem",
				       "--template", "client.info", "--outfile", "client-cert.pem",
				       "--stdout-info", NULL };

	if (write_template(dir, "ca.info", ca_template, err) ||
	    write_template(dir, "server.info", server_template, err) ||
	    write_template(dir, "client.info", client_template, err))
		return -1;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *const key[] = { "certtool", "--generate-privkey", KEY_TYPE, KEY_BITS,
					    "--outfile", keys[i], NULL };

		if (certtool(dir, key, err))
			return -1;
	}
	if (certtool(dir, ca, err) || certtool(dir, server, err) || certtool(dir, client, err))
		return -1;
	if (remove_file(dir, "ca-key.pem", err) || remove_file(dir, "ca.info", err) ||
	    remove_file(dir, "server.info", err) || remove_file(dir, "client.info", err))
		return -1;
	return 0;
}

int mb_tls_make(char *dir, size_t len, struct mb_err *err)
{
	if (mb_private_dir_make("tls", dir, len, err))
		return mb_err_prefix(err, "tls=on: a directory for the certificates");
	if (make_in(dir, err)) {
		mb_tls_remove(dir);
		return -1;
	}
	return 0;
}

void mb_tls_remove(char *dir)
{
	mb_private_dir_remove(dir);
}
