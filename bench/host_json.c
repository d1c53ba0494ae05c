/* JSON views of the host probes. Key names are part of the result-file
 * contract (`host`, `hypervisor`): rename only with a schema bump. */
#include "config.h"
#include "git-describe.h"
#include "bench/host_probe.h"

#include <limits.h>

json_t *mb_check_json(const struct mb_check *check)
{
	return json_pack("{s:b, s:s}", "ok", check->ok, "detail", check->detail);
}

json_t *mb_host_system_json(const struct mb_host_system *sys)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}",
			 "hostname", sys->hostname,
			 "kernel", sys->kernel,
			 "kernel_release", sys->kernel_release,
			 "machine", sys->machine,
			 "cpu_model", sys->cpu_model,
			 "cores_online", (json_int_t)sys->cores_online,
			 "cores_configured", (json_int_t)sys->cores_configured);
}

json_t *mb_host_accel_json(const struct mb_host_accel *accel)
{
	json_t *kvm = mb_check_json(&accel->kvm);

	json_object_set_new(kvm, "api_version",
			    accel->kvm_api_version >= 0 ? json_integer(accel->kvm_api_version) : json_null());
	json_object_set_new(kvm, "backend", json_string(accel->backend ? accel->backend : "unknown"));
	return json_pack("{s:s, s:o}", "accelerator", accel->name, "kvm", kvm);
}

json_t *mb_host_qemu_json(const struct mb_host_qemu *qemu)
{
	json_t *o = json_pack("{s:s, s:s, s:b, s:s}",
			      "binary", qemu->binary,
			      "origin", qemu->origin ? qemu->origin : "",
			      "found", qemu->found.ok,
			      "detail", qemu->found.detail);

	if (qemu->found.ok) {
		json_object_set_new(o, "version", json_string(qemu->version.text));
		json_object_set_new(o, "major", json_integer(qemu->version.major));
		json_object_set_new(o, "minor", json_integer(qemu->version.minor));
		json_object_set_new(o, "micro", json_integer(qemu->version.micro));
		json_object_set_new(o, "package", json_string(qemu->version.package));
	} else {
		json_object_set_new(o, "version", json_null());
	}
	return o;
}

json_t *mb_host_uffd_json(const struct mb_host_uffd *uffd)
{
	return json_pack("{s:b, s:o, s:s, s:o, s:o, s:o, s:o}",
			 "postcopy", uffd->postcopy,
			 "method", uffd->method ? json_string(uffd->method) : json_null(),
			 "summary", uffd->summary,
			 "syscall", mb_check_json(&uffd->syscall),
			 "dev_userfaultfd", mb_check_json(&uffd->dev),
			 "user_mode_only", mb_check_json(&uffd->user_mode_only),
			 "unprivileged_userfaultfd",
			 uffd->unprivileged >= 0 ? json_integer(uffd->unprivileged) : json_null());
}

json_t *mb_host_rapl_json(const struct mb_host_rapl *rapl)
{
	bool available = rapl->source != MB_RAPL_NONE;

	return json_pack("{s:b, s:s, s:o, s:o, s:i, s:o, s:o}",
			 "available", available,
			 "source", mb_rapl_source_name(rapl->source),
			 "reason", available ? json_null() : json_string(rapl->reason),
			 "powercap", mb_check_json(&rapl->powercap),
			 "powercap_zones", rapl->powercap_zones,
			 "perf_power_pmu", mb_check_json(&rapl->perf),
			 "papi", mb_check_json(&rapl->papi));
}

json_t *mb_host_perf_json(const struct mb_host_perf *perf)
{
	return json_pack("{s:o, s:o, s:o}",
			 "perf_event_paranoid",
			 perf->paranoid != INT_MIN ? json_integer(perf->paranoid) : json_null(),
			 "task_clock", mb_check_json(&perf->task_clock),
			 "cycles", mb_check_json(&perf->cycles));
}

json_t *mb_host_libs_json(const struct mb_host_libs *libs)
{
	return json_pack("{s:b, s:b, s:b, s:b}",
			 "libvirt", libs->libvirt, "hwloc", libs->hwloc,
			 "libpfm4", libs->libpfm4, "papi", libs->papi);
}

json_t *mb_host_report_json(const struct mb_host_report *r)
{
	json_t *accel = mb_host_accel_json(&r->accel);
	json_t *o;

	o = json_pack("{s:s, s:{s:s, s:s, s:s}, s:b, s:o, s:o, s:O, s:O, s:o, s:o, s:o, s:o, s:o}",
		      "schema", "migbench-doctor/1",
		      "tool", "name", PACKAGE_NAME, "version", PACKAGE_VERSION, "git", MB_GIT_DESCRIBE,
		      "ready", r->ready,
		      "reason", r->ready ? json_null() : json_string(r->reason),
		      "host", mb_host_system_json(&r->system),
		      "accelerator", json_object_get(accel, "accelerator"),
		      "kvm", json_object_get(accel, "kvm"),
		      "qemu", mb_host_qemu_json(&r->qemu),
		      "userfaultfd", mb_host_uffd_json(&r->uffd),
		      "rapl", mb_host_rapl_json(&r->rapl),
		      "perf", mb_host_perf_json(&r->perf),
		      "libraries", mb_host_libs_json(&r->libs));
	json_decref(accel);
	return o;
}
