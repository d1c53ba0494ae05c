/* The counters probe: a sampling thread that follows every thread of both
 * QEMUs, and the per-phase report. See probes/counters.h. */
#include "config.h"
#include "probes/counters.h"
#include "bench/clock.h"
#include "probes/tick.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench/host.h"
#include "bench/metrics.h"
#include "bench/scenario.h"
#include "probes/counters_series.h"

#define MAX_VCPUS MB_PROBE_MAX_VCPUS
#define NAME_CHECKS 10          /* samples during which a new thread's name is re-read */

enum { SIDE_SRC, SIDE_DST, SIDES };
static const char *const side_names[SIDES] = { "source", "destination" };

struct ctr_thread {
	pid_t tid;
	char comm[32];
	const char *role;
	int vcpu;                       /* cpu-index, -1 if not a vCPU */
	int sw_fd[MB_CTR_SW];
	int hw_fd[MB_CTR_MAX_HW];
	bool sw_open, hw_open, sw_ever;
	int stat_fd;
	struct mb_series s;             /* sw..., hw..., utime, stime (ticks) */
	uint64_t last[MB_CTR_SW + MB_CTR_MAX_HW + 2];
	int64_t first_us;               /* first value (0 for a thread born while sampling) */
	bool born_while_sampling, gone;
	unsigned name_checks;
};

struct ctr_side {
	pid_t pid;
	struct ctr_thread *t;
	size_t n, cap;
	int vcpu_tid[MAX_VCPUS], vcpu_index[MAX_VCPUS];
	size_t nvcpu;
	char vcpu_error[256];
	char host[128];
	int stat_fd;
	struct mb_series proc;          /* utime, stime of the whole process (ticks) */
	bool gone;
};

struct ctr_state {
	char procfs[PATH_MAX];
	uint64_t interval_us;
	struct mb_ctr_events ev;
	bool sw_ok, kernel_too;
	char sw_reason[512];
	bool hw_tried, hw_ok;           /* hardware counters opened on a thread */
	char hw_reason[512];
	struct ctr_side side[SIDES];
	long ticks_per_s;
	int64_t boot_real_us;           /* realtime of boot: thread start times */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping, thread_started;
	int64_t first_us, last_us, prev_tick_us;
	unsigned samples;
	int64_t self_cpu_us;            /* the sampling thread's own CPU time */
};

static size_t nvalues(const struct ctr_state *st)
{
	return st->ev.nsw + st->ev.nhw + 2;
}

static int open_stat(const struct ctr_state *st, pid_t pid, pid_t tid)
{
	char path[PATH_MAX + 64];

	if (tid)
		snprintf(path, sizeof(path), "%s/%d/task/%d/stat", st->procfs, (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "%s/%d/stat", st->procfs, (int)pid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

static int read_stat(int fd, uint64_t *utime, uint64_t *stime, uint64_t *start)
{
	char buf[1024];
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return mb_proc_stat_parse(buf, utime, stime, start);
}

static void read_comm(const struct ctr_state *st, pid_t pid, struct ctr_thread *t)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "%d/task/%d/comm", (int)pid, (int)t->tid);
	if (mb_host_read_file(st->procfs, rel, t->comm, sizeof(t->comm)) < 0 && !t->comm[0])
		snprintf(t->comm, sizeof(t->comm), "?");
}

static int vcpu_of(const struct ctr_side *side, pid_t tid)
{
	for (size_t i = 0; i < side->nvcpu; i++)
		if (side->vcpu_tid[i] == tid)
			return side->vcpu_index[i];
	return -1;
}

static void set_role(struct ctr_side *side, struct ctr_thread *t)
{
	t->vcpu = vcpu_of(side, t->tid);
	t->role = mb_ctr_thread_role(t->comm, t->vcpu >= 0, t->tid == side->pid);
}

/* Reads one thread's counters and CPU time; marks it gone when it is. */
static void sample_thread(struct ctr_state *st, struct ctr_thread *t, int64_t now)
{
	uint64_t v[MB_CTR_SW + MB_CTR_MAX_HW + 2], utime, stime, start;
	size_t k = nvalues(st);
	bool alive = read_stat(t->stat_fd, &utime, &stime, &start) == 0;

	memcpy(v, t->last, sizeof(v));
	/* Counters of an exited thread still read their final values. */
	if (t->sw_open)
		mb_ctr_read_group(t->sw_fd, st->ev.nsw, v);
	if (t->hw_open)
		mb_ctr_read_group(t->hw_fd, st->ev.nhw, v + st->ev.nsw);
	if (alive) {
		v[k - 2] = utime;
		v[k - 1] = stime;
	}
	/* cumulative: never backwards */
	for (size_t i = 0; i < k; i++)
		if (v[i] < t->last[i])
			v[i] = t->last[i];
	memcpy(t->last, v, sizeof(v));
	mb_series_push(&t->s, now, v);
	if (!alive) {
		t->gone = true;
		if (t->sw_open)
			mb_ctr_close_group(t->sw_fd, st->ev.nsw);
		if (t->hw_open)
			mb_ctr_close_group(t->hw_fd, st->ev.nhw);
		t->sw_open = t->hw_open = false;
		if (t->stat_fd >= 0)
			close(t->stat_fd);
		t->stat_fd = -1;
	}
}

static struct ctr_thread *add_thread(struct ctr_state *st, struct ctr_side *side, pid_t tid,
				     bool initial, int64_t now)
{
	struct ctr_thread *t;
	char why[512];
	uint64_t utime = 0, stime = 0, start = 0;

	if (side->n == side->cap) {
		size_t cap = side->cap ? 2 * side->cap : 32;
		struct ctr_thread *more = realloc(side->t, cap * sizeof(*more));

		if (!more)
			return NULL;
		side->t = more;
		side->cap = cap;
	}
	t = &side->t[side->n];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->stat_fd = open_stat(st, side->pid, tid);
	if (t->stat_fd < 0 || read_stat(t->stat_fd, &utime, &stime, &start)) {
		if (t->stat_fd >= 0)
			close(t->stat_fd);
		return NULL;    /* gone already */
	}
	mb_series_init(&t->s, nvalues(st));
	read_comm(st, side->pid, t);
	set_role(side, t);

	if (st->sw_ok || !st->sw_reason[0]) {
		if (mb_ctr_open_group(st->ev.sw, st->ev.nsw, tid, t->sw_fd, &st->kernel_too, why,
				      sizeof(why)) == 0) {
			t->sw_open = t->sw_ever = true;
			st->sw_ok = true;
		} else if (!st->sw_ok && errno != ESRCH) {
			snprintf(st->sw_reason, sizeof(st->sw_reason), "%s", why);
		}
	}
	/* Hardware counters: tried on the first thread; once refused, the
	 * reason stands for all. */
	if (st->ev.hw_ok && (!st->hw_tried || st->hw_ok)) {
		if (mb_ctr_open_group(st->ev.hw, st->ev.nhw, tid, t->hw_fd, &st->kernel_too, why,
				      sizeof(why)) == 0) {
			t->hw_open = true;
			st->hw_ok = true;
		} else if (!st->hw_tried) {
			snprintf(st->hw_reason, sizeof(st->hw_reason), "%s", why);
		}
		st->hw_tried = true;
	}
	side->n++;
	if (initial) {
		t->first_us = now;
	} else {
		/* Born since the last scan: from nothing at its birth. */
		int64_t born = st->boot_real_us + (int64_t)(start * 1000000 / (uint64_t)st->ticks_per_s);
		uint64_t zeros[MB_CTR_SW + MB_CTR_MAX_HW + 2] = { 0 };

		if (born < st->prev_tick_us)
			born = st->prev_tick_us;
		if (born > now)
			born = now;
		t->born_while_sampling = true;
		t->first_us = born;
		mb_series_push(&t->s, born, zeros);
	}
	return t;
}

static struct ctr_thread *find_thread(struct ctr_side *side, pid_t tid)
{
	for (size_t i = 0; i < side->n; i++)
		if (side->t[i].tid == tid)
			return &side->t[i];
	return NULL;
}

/* Attaches to threads that appeared since the last scan. */
static void scan_threads(struct ctr_state *st, struct ctr_side *side, bool initial, int64_t now)
{
	char path[PATH_MAX + 32];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%d/task", st->procfs, (int)side->pid);
	d = opendir(path);
	if (!d) {
		side->gone = true;
		return;
	}
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);

		if (tid > 0 && !find_thread(side, tid))
			add_thread(st, side, tid, initial, now);
	}
	closedir(d);
}

static void sample_all(struct ctr_state *st, bool initial)
{
	int64_t now = mb_clock_us(CLOCK_REALTIME);

	for (int s = 0; s < SIDES; s++) {
		struct ctr_side *side = &st->side[s];
		uint64_t pv[2] = { 0, 0 }, start;

		if (side->pid <= 0)
			continue;
		if (!side->gone)
			scan_threads(st, side, initial, now);
		for (size_t i = 0; i < side->n; i++) {
			struct ctr_thread *t = &side->t[i];

			if (t->gone)
				continue;
			/* QEMU names a thread from inside it, just after it starts. */
			if (t->name_checks < NAME_CHECKS && t->tid != side->pid) {
				t->name_checks++;
				read_comm(st, side->pid, t);
				set_role(side, t);
			}
			sample_thread(st, t, now);
		}
		if (side->stat_fd >= 0 && read_stat(side->stat_fd, &pv[0], &pv[1], &start) == 0) {
			mb_series_push(&side->proc, now, pv);
		} else if (side->stat_fd >= 0) {
			close(side->stat_fd);
			side->stat_fd = -1;
		}
	}
	if (!st->first_us)
		st->first_us = now;
	st->last_us = now;
	st->prev_tick_us = now;
	st->samples++;
}

static void *counters_main(void *arg)
{
	struct ctr_state *st = arg;
	struct timespec next;

	pthread_mutex_lock(&st->lock);
	mb_tick_start(&next);
	while (!st->stopping) {
		mb_tick_wait(&st->wake, &st->lock, &next, st->interval_us, false, &st->stopping);
		sample_all(st, false);
	}
	st->self_cpu_us = mb_clock_us(CLOCK_THREAD_CPUTIME_ID);
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/* The vCPU threads as the runner knows them (QMP's query-cpus-fast,
 * libvirt's monitor); local sides only: a remote side's threads are not
 * in this host's /proc. */
static void side_from_ctx(const struct mb_probe_side *from, struct ctr_side *side)
{
	if (!from->local) {
		snprintf(side->vcpu_error, sizeof(side->vcpu_error), "runs on %s, not on this host",
			 from->host ? from->host : "another host");
		return;
	}
	side->pid = from->pid;
	snprintf(side->host, sizeof(side->host), "%s", from->host ? from->host : "");
	if (from->vcpu_error[0] || !from->nvcpus) {
		snprintf(side->vcpu_error, sizeof(side->vcpu_error), "%s",
			 from->vcpu_error[0] ? from->vcpu_error : "the runner knows no vCPU threads");
		return;
	}
	for (size_t i = 0; i < from->nvcpus && side->nvcpu < MAX_VCPUS; i++) {
		side->vcpu_tid[side->nvcpu] = from->vcpu_tid[i];
		side->vcpu_index[side->nvcpu] = from->vcpu_index[i];
		side->nvcpu++;
	}
}

static void counters_free(void *state);

static int counters_start(void **state, const struct mb_probe_ctx *ctx, struct mb_err *err)
{
	struct ctr_state *st = calloc(1, sizeof(*st));
	struct mb_host_roots roots;

	if (!st)
		return mb_errf(err, ENOMEM, "counters probe");
	mb_host_roots_from_env(&roots);
	snprintf(st->procfs, sizeof(st->procfs), "%s", roots.procfs);
	st->interval_us = ctx->spec && ctx->spec->params.sample_interval_us
				  ? ctx->spec->params.sample_interval_us : 50000;
	mb_ctr_events_resolve(ctx->options ? ((const struct mb_ctr_options *)ctx->options)->counter_events
					   : NULL, &st->ev);
	snprintf(st->hw_reason, sizeof(st->hw_reason), "%s", st->ev.hw_reason);
	st->kernel_too = true;
	/* A dozen descriptors per thread and side: many vCPUs need more than
	 * the usual soft limit of 1024. */
	{
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	st->ticks_per_s = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
	st->boot_real_us = mb_clock_us(CLOCK_REALTIME) - mb_clock_us(CLOCK_BOOTTIME);
	side_from_ctx(&ctx->side[MB_SIDE_SOURCE], &st->side[SIDE_SRC]);
	side_from_ctx(&ctx->side[MB_SIDE_DESTINATION], &st->side[SIDE_DST]);
	for (int s = 0; s < SIDES; s++) {
		st->side[s].stat_fd = st->side[s].pid > 0 ? open_stat(st, st->side[s].pid, 0) : -1;
		mb_series_init(&st->side[s].proc, 2);
	}

	pthread_mutex_init(&st->lock, NULL);
	mb_tick_cond_init(&st->wake);
	/* The first sample here, so the baseline window starts now. */
	sample_all(st, true);
	if (pthread_create(&st->thread, NULL, counters_main, st)) {
		int e = errno;

		counters_free(st);
		return mb_errf(err, e, "counters probe: starting its thread");
	}
	st->thread_started = 1;
	*state = st;
	return 0;
}

static int counters_stop(void *state, struct mb_err *err)
{
	struct ctr_state *st = state;

	(void)err;
	if (!st || !st->thread_started)
		return 0;
	pthread_mutex_lock(&st->lock);
	st->stopping = 1;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
	pthread_join(st->thread, NULL);
	st->thread_started = 0;
	/* Names as they ended up. */
	for (int s = 0; s < SIDES; s++)
		for (size_t i = 0; i < st->side[s].n; i++) {
			struct ctr_thread *t = &st->side[s].t[i];

			if (!t->gone) {
				read_comm(st, st->side[s].pid, t);
				set_role(&st->side[s], t);
			}
		}
	return 0;
}

/* ---- the report -------------------------------------------------------------- */

/* Per-phase sums of a set of threads: values[phase][k]. */
struct sums {
	double v[MB_PHASE_COUNT][MB_CTR_SW + MB_CTR_MAX_HW + 2];
	unsigned threads;
};

static void add_thread_sums(const struct ctr_state *st, const struct ctr_thread *t,
			    const struct mb_phase_window *w, struct sums *out)
{
	for (int p = 0; p < MB_PHASE_COUNT; p++)
		if (w[p].valid)
			for (size_t i = 0; i < nvalues(st); i++)
				out->v[p][i] += mb_series_delta(&t->s, i, w[p].from_us, w[p].to_us);
	out->threads++;
}

static json_t *ms_of_ticks(const struct ctr_state *st, double ticks)
{
	return json_real(round(ticks * 1e6 / (double)st->ticks_per_s) / 1000.0);
}

/* {phase: {"task-clock": N, ..., "cpu_user_ms", "cpu_system_ms"}} */
static json_t *sums_json(const struct ctr_state *st, const struct sums *s,
			 const struct mb_phase_window *w)
{
	json_t *o = json_object();
	size_t k = nvalues(st);

	for (int p = 0; p < MB_PHASE_COUNT; p++) {
		json_t *ph;

		if (!w[p].valid) {
			json_object_set_new(o, mb_phase_names[p], json_null());
			continue;
		}
		ph = json_object();
		if (st->sw_ok)
			for (size_t i = 0; i < st->ev.nsw; i++)
				json_object_set_new(ph, st->ev.sw[i].name, json_integer((json_int_t)llround(s->v[p][i])));
		if (st->hw_ok)
			for (size_t i = 0; i < st->ev.nhw; i++)
				json_object_set_new(ph, st->ev.hw[i].name,
						    json_integer((json_int_t)llround(s->v[p][st->ev.nsw + i])));
		json_object_set_new(ph, "cpu_user_ms", ms_of_ticks(st, s->v[p][k - 2]));
		json_object_set_new(ph, "cpu_system_ms", ms_of_ticks(st, s->v[p][k - 1]));
		json_object_set_new(o, mb_phase_names[p], ph);
	}
	return o;
}

static json_t *side_json(const struct ctr_state *st, const struct ctr_side *side,
			 const struct mb_phase_window *w, int64_t origin_us)
{
	static const char *const roles[] = { "vcpu", "migration", "migration-helper", "main", "other" };
	struct sums *all = calloc(1, sizeof(*all)), *by_role = calloc(5, sizeof(*by_role));
	json_t *threads = json_array(), *role_o = json_object(), *proc_cpu = json_object(), *o, *process;

	if (!all || !by_role) {
		free(all);
		free(by_role);
		return json_null();
	}
	for (size_t i = 0; i < side->n; i++) {
		const struct ctr_thread *t = &side->t[i];
		struct sums one = {0};

		add_thread_sums(st, t, w, &one);
		add_thread_sums(st, t, w, all);
		for (int r = 0; r < 5; r++)
			if (!strcmp(t->role, roles[r]))
				add_thread_sums(st, t, w, &by_role[r]);
		json_array_append_new(threads, json_pack(
			"{s:i, s:s, s:s, s:o, s:o, s:b, s:b, s:o}",
			"tid", (int)t->tid, "comm", t->comm, "role", t->role,
			"vcpu", t->vcpu >= 0 ? json_integer(t->vcpu) : json_null(),
			"counted_from_ms", mb_json_ms(t->first_us - origin_us),
			"exited", t->gone,
			/* false: perf refused this thread (then only its CPU time counts) */
			"perf_counted", t->sw_ever,
			"phases", sums_json(st, &one, w)));
	}
	for (int r = 0; r < 5; r++)
		json_object_set_new(role_o, roles[r],
				    by_role[r].threads ? json_pack("{s:i, s:o}", "threads", (int)by_role[r].threads,
								   "phases", sums_json(st, &by_role[r], w))
						       : json_null());
	/* The process's own CPU time also counts threads that came and went
	 * between two samples. */
	for (int p = 0; p < MB_PHASE_COUNT; p++)
		json_object_set_new(proc_cpu, mb_phase_names[p],
				    w[p].valid && side->proc.n
					    ? json_pack("{s:o, s:o}",
							"user_ms", ms_of_ticks(st, mb_series_delta(&side->proc, 0, w[p].from_us, w[p].to_us)),
							"system_ms", ms_of_ticks(st, mb_series_delta(&side->proc, 1, w[p].from_us, w[p].to_us)))
					    : json_null());
	process = sums_json(st, all, w);
	o = json_pack("{s:s, s:i, s:i, s:o, s:o, s:o, s:o, s:o}",
		      "host", side->host,
		      "pid", (int)side->pid,
		      "threads_seen", (int)side->n,
		      "vcpu_threads_known", side->vcpu_error[0] ? json_null() : json_integer((json_int_t)side->nvcpu),
		      "process", process,
		      "process_cpu_time", proc_cpu,
		      "roles", role_o,
		      "threads", threads);
	if (side->vcpu_error[0])
		json_object_set_new(o, "vcpu_threads_error", json_string(side->vcpu_error));
	free(all);
	free(by_role);
	return o;
}

static json_t *counters_to_json(void *state, const struct mb_mig_times *times)
{
	struct ctr_state *st = state;
	struct mb_phase_window w[MB_PHASE_COUNT];
	json_t *o, *sw_names = json_array(), *hw_names = json_array(), *units = json_object();
	int64_t origin;
	bool cut;

	mb_phase_windows(times, st->first_us, st->last_us, w, &cut);
	origin = times->start_us ? times->start_us : st->first_us;
	for (size_t i = 0; i < st->ev.nsw; i++)
		json_array_append_new(sw_names, json_string(st->ev.sw[i].name));
	for (size_t i = 0; i < st->ev.nhw; i++)
		json_array_append_new(hw_names, json_pack("{s:s, s:s}", "name", st->ev.hw[i].name,
							  "encoding", st->ev.hw[i].encoding));
	json_object_set_new(units, "task-clock", json_string("ns"));
	json_object_set_new(units, "cpu_user_ms", json_string("ms (clock ticks of /proc/PID/task/TID/stat)"));
	json_object_set_new(units, "cpu_system_ms", json_string("ms (clock ticks of /proc/PID/task/TID/stat)"));
	json_object_set_new(units, "others", json_string("events"));

	o = json_pack("{s:b, s:o, s:i, s:o, s:b, s:{s:b, s:o, s:o, s:o}, s:{s:b, s:s, s:o, s:o}, s:o}",
		      "available", 1,
		      "interval_ms", mb_json_ms((int64_t)st->interval_us),
		      "samples", (int)st->samples,
		      "windows", mb_phase_windows_json(w, times),
		      "migration_cut_at_probe_stop", cut,
		      "software",
		      "available", st->sw_ok,
		      "scope", st->sw_ok ? json_string(st->kernel_too ? "user+kernel" : "user space only") : json_null(),
		      "reason", st->sw_ok ? json_null() : json_string(st->sw_reason[0] ? st->sw_reason : "no thread to count"),
		      "events", sw_names,
		      "hardware",
		      "available", st->hw_ok,
		      "requested", st->ev.hw_requested,
		      "reason", st->hw_ok ? json_null() : json_string(st->hw_reason[0] ? st->hw_reason : "not tried"),
		      "events", hw_names,
		      "units", units);
	/* what the sampling itself cost (it shares the host with the QEMUs) */
	json_object_set_new(o, "probe_cpu_ms", mb_json_ms(st->self_cpu_us));
	for (int s = 0; s < SIDES; s++)
		json_object_set_new(o, side_names[s],
				    st->side[s].pid > 0 ? side_json(st, &st->side[s], w, origin)
				    : st->side[s].vcpu_error[0]
					    ? json_pack("{s:i, s:s}", "pid", 0, "vcpu_threads_error", st->side[s].vcpu_error)
					    : json_null());
	return o;
}

static void counters_free(void *state)
{
	struct ctr_state *st = state;

	if (!st)
		return;
	counters_stop(st, NULL);
	for (int s = 0; s < SIDES; s++) {
		struct ctr_side *side = &st->side[s];

		for (size_t i = 0; i < side->n; i++) {
			struct ctr_thread *t = &side->t[i];

			if (t->sw_open)
				mb_ctr_close_group(t->sw_fd, st->ev.nsw);
			if (t->hw_open)
				mb_ctr_close_group(t->hw_fd, st->ev.nhw);
			if (t->stat_fd >= 0)
				close(t->stat_fd);
			mb_series_free(&t->s);
		}
		free(side->t);
		if (side->stat_fd >= 0)
			close(side->stat_fd);
		mb_series_free(&side->proc);
	}
	pthread_cond_destroy(&st->wake);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* The probe would otherwise find a bad list only in the run, and count
 * nothing; the syntax is the probe's own (mb_ctr_events_split). Whether
 * this host's PMU has the events is the probe's business: it says so in
 * the result. */
static int check_counter_events(const struct mb_key *key, const char *text, uint64_t value,
				struct mb_err *err)
{
	char names[MB_CTR_MAX_HW][MB_CTR_NAME_MAX], why[256];

	(void)key;
	(void)value;
	if (mb_ctr_events_split(text, names, why, sizeof(why)) < 0)
		return mb_errf(err, 0, "'%s': %s", text, why);
	return 0;
}

static const struct mb_key counters_keys[] = {
	{
		.name = "counter_events", .type = MB_TYPE_STRING,
		MB_FIELD(struct mb_ctr_options, counter_events, const char *),
		.def = MB_CTR_DEFAULT_HW, .check = check_counter_events,
		.help = "hardware events counted per QEMU thread, '+'-separated libpfm4 names; none = only software events",
	},
	{ 0 },
};

const struct mb_probe_ops mb_probe_counters = {
	.name = "counters",
	.summary = "perf counters and CPU time of every QEMU thread, both sides, per phase",
	.options = counters_keys,
	.options_size = sizeof(struct mb_ctr_options),
	.start = counters_start,
	.stop = counters_stop,
	.to_json = counters_to_json,
	.free = counters_free,
};
