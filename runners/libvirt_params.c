/* Scenario keys -> virDomainMigrate3 flags and typed parameters (libvirt
 * 9.0's set: it has no multifd compression method, no post-copy preempt
 * and no max-downtime parameter; the downtime goes through
 * virDomainMigrateSetMaxDowntime instead). */
#include "config.h"
#include "runners/libvirt_params.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "runners/guest.h"
#include "runners/libvirt_options.h"
#include "runners/runner.h"

#define MiB (UINT64_C(1) << 20)

int mb_lv_check_keys(const struct mb_run_spec *spec, struct mb_err *err)
{
	const struct mb_params *p = &spec->params;
	/* its own keys (runners/libvirt_options.c) */
	const struct mb_lv_options *lv = mb_run_spec_options(spec, &mb_runner_libvirt);

	if (p->transport != MB_TRANSPORT_TCP)
		return mb_errf(err, 0, "transport=%s: the libvirt runner migrates over the data URI "
			       "libvirt_migrate_uri (tcp://HOST), between hosts that share no socket: "
			       "leave transport at tcp", spec->text[MB_KEY_TRANSPORT]);
	if (p->multifd_compression != MB_COMPRESSION_NONE)
		return mb_errf(err, 0, "multifd_compression=%s: libvirt %s's migration API has no "
			       "compression method for parallel connections: leave it at none, or use "
			       "--runner qmp", spec->text[MB_KEY_MULTIFD_COMPRESSION], "9.0");
	if (p->postcopy_preempt)
		return mb_errf(err, 0, "postcopy_preempt=yes: libvirt 9.0's migration API has no "
			       "post-copy preempt flag: leave it at no, or use --runner qmp");
	if (mb_workload_has_net(p->workload)) {
		char without[256] = "";

		/* the workloads without a network service, from their description */
		for (int w = 0; mb_workload_desc(w); w++)
			if (!mb_workload_has_net(w))
				snprintf(without + strlen(without), sizeof(without) - strlen(without), "%s%s",
					 without[0] ? ", " : "", mb_workload_desc(w)->name);
		return mb_errf(err, 0, "workload=%s: the libvirt runner gives the guest no network "
			       "(the network client needs the QMP runner's namespace and taps): use "
			       "workload=%s, or --runner qmp", spec->text[MB_KEY_WORKLOAD], without);
	}
	if (p->max_bandwidth % MiB)
		return mb_errf(err, 0, "max_bandwidth=%s: libvirt takes the bandwidth in whole MiB/s: "
			       "write a multiple of 1M", spec->text[MB_KEY_MAX_BANDWIDTH]);
	if (!lv)
		return mb_errf(err, 0, "the libvirt runner's keys were not parsed for this run (is it "
			       "in runners/registry.c?)");
	if (!lv->libvirt_dst || !*lv->libvirt_dst)
		return mb_errf(err, 0, "libvirt_dst is empty: the libvirt runner migrates from the "
			       "daemon of libvirt_src= to that of libvirt_dst= (e.g. "
			       "libvirt_dst=qemu+ssh://otherhost/system)");
	if (!strcmp(lv->libvirt_src, lv->libvirt_dst))
		return mb_errf(err, 0, "libvirt_src and libvirt_dst are both %s: libvirt refuses to "
			       "migrate a domain to the daemon it runs on; name two daemons (two hosts, "
			       "or two daemons with distinct host_uuid)", lv->libvirt_src);
	return 0;
}

int mb_lv_migrate_params(const struct mb_params *p, const char *migrate_uri, const char *dest_xml,
			 virTypedParameterPtr *params, int *n, unsigned *flags, struct mb_err *err)
{
	int max = 0;
	unsigned f = 0;

	*params = NULL;
	*n = 0;
	/* Cold: the guest is paused by migbench first, and stays paused on
	 * the destination until migbench resumes it. */
	if (p->mode != MB_MODE_COLD)
		f |= VIR_MIGRATE_LIVE;
	if (p->mode == MB_MODE_POSTCOPY || p->mode == MB_MODE_HYBRID)
		f |= VIR_MIGRATE_POSTCOPY;
	if (p->auto_converge)
		f |= VIR_MIGRATE_AUTO_CONVERGE;
	if (p->tls)
		f |= VIR_MIGRATE_TLS;
	if (p->multifd)
		f |= VIR_MIGRATE_PARALLEL;
	if (p->xbzrle_cache)
		f |= VIR_MIGRATE_COMPRESSED;

	/* MiB/s; always set: libvirt's own default is no limit, QEMU's is
	 * 128M, and max_bandwidth's default is QEMU's. */
	if (virTypedParamsAddULLong(params, n, &max, VIR_MIGRATE_PARAM_BANDWIDTH, p->max_bandwidth / MiB) < 0)
		goto fail;
	if (migrate_uri && *migrate_uri &&
	    virTypedParamsAddString(params, n, &max, VIR_MIGRATE_PARAM_URI, migrate_uri) < 0)
		goto fail;
	if (dest_xml && virTypedParamsAddString(params, n, &max, VIR_MIGRATE_PARAM_DEST_XML, dest_xml) < 0)
		goto fail;
	if (p->multifd &&
	    virTypedParamsAddInt(params, n, &max, VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS, (int)p->multifd) < 0)
		goto fail;
	if (p->xbzrle_cache &&
	    (virTypedParamsAddString(params, n, &max, VIR_MIGRATE_PARAM_COMPRESSION, "xbzrle") < 0 ||
	     virTypedParamsAddULLong(params, n, &max, VIR_MIGRATE_PARAM_COMPRESSION_XBZRLE_CACHE,
				     p->xbzrle_cache) < 0))
		goto fail;
	*flags = f;
	return 0;
fail:
	virTypedParamsFree(*params, *n);
	*params = NULL;
	*n = 0;
	return mb_errf(err, ENOMEM, "migration parameters for libvirt");
}

unsigned long long mb_lv_max_downtime_ms(const struct mb_params *p)
{
	return (p->downtime_limit_us + 999) / 1000;
}

json_t *mb_lv_wanted_params(const struct mb_params *p)
{
	json_t *want = json_pack("{s:I, s:I}", "max-bandwidth", (json_int_t)p->max_bandwidth,
				 "downtime-limit", (json_int_t)mb_lv_max_downtime_ms(p));

	if (p->multifd)
		json_object_set_new(want, "multifd-channels", json_integer(p->multifd));
	if (p->xbzrle_cache)
		json_object_set_new(want, "xbzrle-cache-size", json_integer((json_int_t)p->xbzrle_cache));
	return want;
}

json_t *mb_lv_wanted_caps(const struct mb_params *p)
{
	return json_pack("{s:b, s:b, s:b, s:b}", "postcopy-ram",
			 p->mode == MB_MODE_POSTCOPY || p->mode == MB_MODE_HYBRID, "multifd", p->multifd != 0,
			 "xbzrle", p->xbzrle_cache != 0, "auto-converge", p->auto_converge);
}

json_t *mb_lv_flags_json(unsigned flags)
{
	static const struct { unsigned flag; const char *name; } names[] = {
		{ VIR_MIGRATE_LIVE, "live" }, { VIR_MIGRATE_PEER2PEER, "peer2peer" },
		{ VIR_MIGRATE_TUNNELLED, "tunnelled" }, { VIR_MIGRATE_PAUSED, "paused" },
		{ VIR_MIGRATE_COMPRESSED, "compressed" }, { VIR_MIGRATE_AUTO_CONVERGE, "auto_converge" },
		{ VIR_MIGRATE_POSTCOPY, "postcopy" }, { VIR_MIGRATE_TLS, "tls" },
		{ VIR_MIGRATE_PARALLEL, "parallel" }, { VIR_MIGRATE_UNSAFE, "unsafe" },
	};
	json_t *a = json_array();

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & names[i].flag)
			json_array_append_new(a, json_string(names[i].name));
	return a;
}
