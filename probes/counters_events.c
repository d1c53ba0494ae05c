/* Event names to perf_event_attr (libpfm4 for hardware events), opening
 * and reading one thread's counters as a group, and /proc stat lines. */
#include "config.h"
#include "probes/counters.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef HAVE_LIBPFM
#include <perfmon/pfmlib_perf_event.h>
#include <pthread.h>
#endif

static const struct { const char *name; uint64_t config; } software[MB_CTR_SW] = {
	{ "task-clock", PERF_COUNT_SW_TASK_CLOCK },
	{ "page-faults", PERF_COUNT_SW_PAGE_FAULTS },
	{ "context-switches", PERF_COUNT_SW_CONTEXT_SWITCHES },
	{ "cpu-migrations", PERF_COUNT_SW_CPU_MIGRATIONS },
};

static void common_attr(struct perf_event_attr *attr)
{
	attr->size = sizeof(*attr);
	attr->read_format = PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED |
			    PERF_FORMAT_TOTAL_TIME_RUNNING;
	attr->disabled = 0;
	attr->inherit = 0;
	attr->exclude_hv = 1;
}

#ifdef HAVE_LIBPFM
static pthread_once_t pfm_once = PTHREAD_ONCE_INIT;
static int pfm_rc;

static void pfm_init(void)
{
	pfm_rc = pfm_initialize();
}

/* perf's spellings that libpfm4's generic "perf" PMU does not know. */
static const char *alias_of(const char *name)
{
	static const struct { const char *perf, *pfm; } aliases[] = {
		{ "LLC-misses", "PERF_COUNT_HW_CACHE_LL:MISS" },
		{ "LLC-loads", "PERF_COUNT_HW_CACHE_LL:READ:ACCESS" },
		{ "cache-misses", "PERF_COUNT_HW_CACHE_MISSES" },
		{ "cache-references", "PERF_COUNT_HW_CACHE_REFERENCES" },
		{ "branch-misses", "PERF_COUNT_HW_BRANCH_MISSES" },
		{ "branches", "PERF_COUNT_HW_BRANCH_INSTRUCTIONS" },
	};

	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcmp(name, aliases[i].perf))
			return aliases[i].pfm;
	return NULL;
}

static int encode(const char *name, struct mb_ctr_event *ev, char *why, size_t len)
{
	const char *try[2] = { name, alias_of(name) };
	int rc = PFM_ERR_NOTFOUND;

	for (int i = 0; i < 2 && try[i]; i++) {
		pfm_perf_encode_arg_t arg;
		char *fstr = NULL;

		memset(&ev->attr, 0, sizeof(ev->attr));
		memset(&arg, 0, sizeof(arg));
		arg.attr = &ev->attr;
		arg.fstr = &fstr;
		arg.size = sizeof(arg);
		rc = pfm_get_os_event_encoding(try[i], PFM_PLM0 | PFM_PLM3, PFM_OS_PERF_EVENT, &arg);
		if (rc == PFM_SUCCESS) {
			snprintf(ev->encoding, sizeof(ev->encoding), "%s", fstr ? fstr : try[i]);
			free(fstr);
			return 0;
		}
		free(fstr);
	}
	snprintf(why, len, "libpfm4 cannot encode '%s': %s", name, pfm_strerror(rc));
	return -1;
}
#endif

int mb_ctr_events_split(const char *list, char names[MB_CTR_MAX_HW][MB_CTR_NAME_MAX], char *why,
			size_t len)
{
	static const char *const blanks = "+ \t";
	int n = 0;

	for (const char *p = list + strspn(list, blanks); *p; p += strspn(p, blanks)) {
		size_t at = strcspn(p, blanks);

		for (size_t i = 0; i < at; i++) {
			if (!isalnum((unsigned char)p[i]) && !strchr("_-.:=", p[i])) {
				snprintf(why, len, "'%.*s' is not an event name (letters, digits and "
					 "\"_-.:=\" only)", (int)at, p);
				return -1;
			}
		}
		if (at >= MB_CTR_NAME_MAX) {
			snprintf(why, len, "'%.*s' is longer than an event name can be (%d characters)",
				 (int)at, p, MB_CTR_NAME_MAX - 1);
			return -1;
		}
		if (n == MB_CTR_MAX_HW) {
			snprintf(why, len, "more than %d hardware events asked for", MB_CTR_MAX_HW);
			return -1;
		}
		memcpy(names[n], p, at);
		names[n++][at] = '\0';
		p += at;
	}
	if (!n) {
		snprintf(why, len, "no event names in '%s'", list);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (!strcmp(names[i], "none")) {
			if (n > 1) {
				snprintf(why, len, "'none' (no hardware events) cannot come with event names");
				return -1;
			}
			return 0;
		}
	}
	return n;
}

void mb_ctr_events_resolve(const char *hw_list, struct mb_ctr_events *ev)
{
	const char *list = hw_list && *hw_list ? hw_list : MB_CTR_DEFAULT_HW;
	char names[MB_CTR_MAX_HW][MB_CTR_NAME_MAX];
	int n;

	memset(ev, 0, sizeof(*ev));
	for (size_t i = 0; i < MB_CTR_SW; i++) {
		snprintf(ev->sw[i].name, sizeof(ev->sw[i].name), "%s", software[i].name);
		ev->sw[i].attr.type = PERF_TYPE_SOFTWARE;
		ev->sw[i].attr.config = software[i].config;
		common_attr(&ev->sw[i].attr);
	}
	ev->nsw = MB_CTR_SW;

	snprintf(ev->hw_requested, sizeof(ev->hw_requested), "%s", list);
	n = mb_ctr_events_split(list, names, ev->hw_reason, sizeof(ev->hw_reason));
	if (n < 0)
		return;
	if (n == 0) {
		snprintf(ev->hw_reason, sizeof(ev->hw_reason), "none asked for (counter_events=none)");
		return;
	}
#ifndef HAVE_LIBPFM
	snprintf(ev->hw_reason, sizeof(ev->hw_reason),
		 "built without libpfm4 (install libpfm4-dev, re-run configure)");
	return;
#else
	pthread_once(&pfm_once, pfm_init);
	if (pfm_rc != PFM_SUCCESS) {
		snprintf(ev->hw_reason, sizeof(ev->hw_reason), "pfm_initialize: %s", pfm_strerror(pfm_rc));
		return;
	}
	for (int i = 0; i < n; i++) {
		struct mb_ctr_event *e = &ev->hw[i];

		snprintf(e->name, sizeof(e->name), "%s", names[i]);
		if (encode(names[i], e, ev->hw_reason, sizeof(ev->hw_reason))) {
			ev->nhw = 0;
			return;
		}
		common_attr(&e->attr);
		ev->nhw++;
	}
	ev->hw_ok = true;
#endif
}

static int perf_open(struct perf_event_attr *attr, pid_t tid, int group)
{
	return (int)syscall(SYS_perf_event_open, attr, tid, -1, group, PERF_FLAG_FD_CLOEXEC);
}

static const char *hint(int e)
{
	switch (e) {
	case ENOENT:
	case EOPNOTSUPP:
		return " (no such counter on this host: no hardware PMU, e.g. inside a VM)";
	case EACCES:
	case EPERM:
		return " (needs CAP_PERFMON or a lower perf_event_paranoid)";
	case ENOSYS:
		return " (kernel without CONFIG_PERF_EVENTS)";
	case ESRCH:
		return " (the thread is gone)";
	default:
		return "";
	}
}

int mb_ctr_open_group(const struct mb_ctr_event *events, size_t n, pid_t tid, int *fds,
		      bool *kernel_too, char *why, size_t len)
{
	for (size_t i = 0; i < n; i++)
		fds[i] = -1;
	for (size_t i = 0; i < n; i++) {
		struct perf_event_attr attr = events[i].attr;

		if (!*kernel_too)
			attr.exclude_kernel = 1;
		fds[i] = perf_open(&attr, tid, i ? fds[0] : -1);
		if (fds[i] < 0 && i == 0 && (errno == EACCES || errno == EPERM) && *kernel_too) {
			attr.exclude_kernel = 1;
			fds[i] = perf_open(&attr, tid, -1);
			if (fds[i] >= 0)
				*kernel_too = false;
		}
		if (fds[i] < 0 && i == 0) {
			int e = errno;

			snprintf(why, len, "perf_event_open %s on thread %d: %s%s", events[0].name, (int)tid,
				 strerror(e), hint(e));
			errno = e;
			return -1;
		}
	}
	return 0;
}

int mb_ctr_read_group(const int *fds, size_t n, uint64_t *values)
{
	/* nr, time_enabled, time_running, then one value per open member */
	uint64_t buf[3 + MB_CTR_MAX_HW + MB_CTR_SW];
	ssize_t got;
	size_t v = 0;

	for (size_t i = 0; i < n; i++)
		values[i] = 0;
	if (!n || fds[0] < 0)
		return -1;
	got = read(fds[0], buf, sizeof(buf));
	if (got < (ssize_t)(3 * sizeof(uint64_t)) || buf[0] > MB_CTR_MAX_HW + MB_CTR_SW ||
	    (size_t)got < (3 + buf[0]) * sizeof(uint64_t))
		return -1;
	for (size_t i = 0; i < n && v < buf[0]; i++) {
		uint64_t value;

		if (fds[i] < 0)
			continue;
		value = buf[3 + v++];
		/* multiplexed: scale to the time the group was enabled */
		if (buf[2] && buf[2] < buf[1])
			value = (uint64_t)((double)value * (double)buf[1] / (double)buf[2]);
		values[i] = value;
	}
	return 0;
}

void mb_ctr_close_group(int *fds, size_t n)
{
	/* members first, the leader last */
	for (size_t i = n; i-- > 0;)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

int mb_proc_stat_parse(const char *line, uint64_t *utime, uint64_t *stime, uint64_t *starttime)
{
	/* "pid (comm) state ppid ...": comm may hold spaces and parentheses,
	 * so fields count from the last ')'. Field 3 is the state; utime is
	 * field 14, stime 15, starttime 22. */
	const char *p = strrchr(line, ')');
	int field = 2;

	if (!p)
		return -1;
	p++;
	while (*p) {
		char *end;
		uint64_t v;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		field++;
		if (field == 14 || field == 15 || field == 22) {
			errno = 0;
			v = strtoumax(p, &end, 10);
			if (errno || end == p)
				return -1;
			if (field == 14)
				*utime = v;
			else if (field == 15)
				*stime = v;
			else {
				*starttime = v;
				return 0;
			}
			p = end;
		} else {
			p += strcspn(p, " ");
		}
	}
	return -1;
}

const char *mb_ctr_thread_role(const char *comm, bool is_vcpu, bool is_main)
{
	if (is_vcpu || (!strncmp(comm, "CPU ", 4) && isdigit((unsigned char)comm[4]) && strchr(comm, '/')))
		return "vcpu";
	if (!strcmp(comm, "mig/src/main") || !strcmp(comm, "live_migration"))
		return "migration";
	if (!strncmp(comm, "mig/", 4) || !strncmp(comm, "postcopy/", 9) || !strcmp(comm, "return path") ||
	    !strncmp(comm, "multifdsend_", 12) || !strncmp(comm, "multifdrecv_", 12) ||
	    !strcmp(comm, "fault-default") || !strcmp(comm, "fault-fast"))
		return "migration-helper";
	if (is_main)
		return "main";
	return "other";
}
