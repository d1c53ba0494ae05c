/* Can we count events on QEMU's threads? A software counter says whether
 * perf_event_open works at all; a hardware one whether there is a PMU
 * (virtual machines often have none). */
#include "config.h"
#include "probes/counters_check.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int perf_open(struct perf_event_attr *attr)
{
	/* pid 0, cpu -1: this process on any CPU, as later on QEMU's threads. */
	return (int)syscall(SYS_perf_event_open, attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static const char *open_hint(int errnum, int paranoid)
{
	switch (errnum) {
	case ENOENT:
	case EOPNOTSUPP:
		return "no such counter here (no hardware PMU, e.g. inside a VM)";
	case EACCES:
	case EPERM:
		return paranoid > 2 ? "perf_event_paranoid > 2 forbids it without CAP_PERFMON"
				    : "needs CAP_PERFMON or a lower perf_event_paranoid";
	case ENOSYS:
		return "kernel built without CONFIG_PERF_EVENTS";
	default:
		return "";
	}
}

/* Opens, counts a little busy work, reads. Kernel counting first (what a
 * privileged run records); user space only when the kernel refuses that. */
static void probe_counter(uint32_t type, uint64_t config, const char *name, int paranoid,
			  struct mb_check *check)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = type,
		.config = config,
		.disabled = 1,
		.exclude_hv = 1,
	};
	const char *scope = "user+kernel";
	volatile uint64_t spin = 0;
	uint64_t value = 0;
	int fd = perf_open(&attr);

	if (fd < 0 && (errno == EACCES || errno == EPERM)) {
		attr.exclude_kernel = 1;
		scope = "user space only";
		fd = perf_open(&attr);
	}
	if (fd < 0) {
		int e = errno;

		snprintf(check->detail, sizeof(check->detail), "perf_event_open %s: %s%s%s", name,
			 strerror(e), *open_hint(e, paranoid) ? "; " : "", open_hint(e, paranoid));
		return;
	}
	ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	for (int i = 0; i < 100000; i++)
		spin += (uint64_t)i;
	ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	if (read(fd, &value, sizeof(value)) != (ssize_t)sizeof(value)) {
		snprintf(check->detail, sizeof(check->detail), "read %s counter: %s", name, strerror(errno));
	} else if (value == 0) {
		snprintf(check->detail, sizeof(check->detail), "%s opens but counted nothing", name);
	} else {
		check->ok = true;
		snprintf(check->detail, sizeof(check->detail), "%s counts (%s)", name, scope);
	}
	close(fd);
}

void mb_probe_perf(const struct mb_host_roots *roots, struct mb_host_perf *out)
{
	char buf[32];

	*out = (struct mb_host_perf){ .paranoid = INT_MIN };
	if (mb_host_read_file(roots->procfs, "sys/kernel/perf_event_paranoid", buf, sizeof(buf)) == 0)
		out->paranoid = atoi(buf);
	probe_counter(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, "task-clock", out->paranoid,
		      &out->task_clock);
	probe_counter(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, "cycles", out->paranoid,
		      &out->cycles);
}
