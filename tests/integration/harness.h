/* What the integration tests share: the clock, the QEMU they would use,
 * a private $XDG_RUNTIME_DIR for the run directories, running
 * `$MIGBENCH_BIN run ...` (posix_spawn, no shell) into a mkdtemp folder and
 * reading the result files it wrote, the checks that nothing is left
 * (no QEMU process, run directory, network namespace or stray file), and
 * reading fields of a result by dotted path.
 *
 * Include after <cmocka.h> (and its prerequisites). */
#ifndef MB_TESTS_INTEGRATION_HARNESS_H
#define MB_TESTS_INTEGRATION_HARNESS_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

/* The private runtime dir (mbt_runtime_dir_init) and $MIGBENCH_BIN
 * (mbt_check_migbench). */
extern char mbt_runtime_dir[PATH_MAX];
extern const char *mbt_migbench_bin;

double mbt_now_s(void);
void mbt_sleep_ms(unsigned ms);

/* $MIGBENCH_QEMU, else MB_DEFAULT_QEMU. */
const char *mbt_qemu_binary(void);
/* A binary name without a slash is looked up in PATH, as posix_spawnp does. */
int mbt_qemu_exists(const char *qemu);

/* The whole file, or "" when it cannot be read; never NULL (free it). */
char *mbt_read_text(const char *path);

/* Removes a tree made with mkdtemp, only when its path begins with
 * `prefix` (a guard against removing anything else). */
void mbt_remove_tree(const char *path, const char *prefix);

/* mkdtemp(template) into mbt_runtime_dir, and makes it $XDG_RUNTIME_DIR (the
 * QEMUs, ours or migbench's, make their run directories there); unsets
 * MIGBENCH_KEEP_RUNDIR. -1 (said with print_error) when it cannot. */
int mbt_runtime_dir_init(const char *template);

/* Sets mbt_migbench_bin from $MIGBENCH_BIN. 0 when it is executable and
 * there is a QEMU; else -1 with why not in `why`. */
int mbt_check_migbench(char *why, size_t len);

/* Leaves `why` alone when this host can do post-copy, else says why not. */
void mbt_check_postcopy(char *why, size_t len);

/* What a test group that runs `migbench run` needs first: a private runtime
 * dir (mkdtemp template), migbench and a QEMU, the guest image. Why it
 * cannot run goes into `skip` (and why post-copy cannot, into
 * `postcopy_skip`, may be NULL); -1 only when the runtime dir fails. */
int mbt_group_setup(const char *template, char *skip, size_t skip_len, char *postcopy_skip,
		    size_t postcopy_len);
/* The group's end: nothing of ours may be left (QEMUs of migbench `pid`
 * when > 0, namespaces, run directories); removes the runtime dir. */
int mbt_group_teardown(pid_t pid);

/* A test's own campaigns: `n` zeroed ones in *state; at teardown each is
 * freed (work folders only under `prefix`) and nothing may be left. */
int mbt_campaigns_setup(void **state, size_t n);
int mbt_campaigns_teardown(void **state, size_t n, const char *prefix);

/* The fixtures of a test file whose tests each run `n` campaigns of their
 * own: group_setup/group_teardown (mbt_group_setup into `skip` and
 * `postcopy_skip`, char arrays; runtime dir PREFIX-XXXXXX) and
 * setup/teardown (mbt_campaigns_*, work folders only under PREFIX). */
#define MBT_CAMPAIGN_FIXTURES(PREFIX, skip, postcopy_skip, n)                                        \
	static int group_setup(void **state)                                                         \
	{                                                                                            \
		return mbt_group_setup(PREFIX "-XXXXXX", skip, sizeof(skip), postcopy_skip,          \
				       sizeof(postcopy_skip));                                       \
	}                                                                                            \
	static int group_teardown(void **state) { return mbt_group_teardown(0); }                    \
	static int setup(void **state) { return mbt_campaigns_setup(state, n); }                     \
	static int teardown(void **state) { return mbt_campaigns_teardown(state, n, PREFIX); }

/* Skips the test (saying why) when `reason` is not empty. */
void mbt_skip_if(const char *reason);

/* ---- what is left behind -------------------------------------------------------- */

/* QEMU processes whose command line points into mbt_runtime_dir: ours, and
 * nobody else's. The first one found is named in `why`; each is killed by
 * its pid. Returns how many. */
int mbt_our_qemus(char *why, size_t len);

/* 1 and DIR/NAME of its first entry in `out` when `dir` has any, else 0
 * (also when it cannot be opened). */
int mbt_first_entry(const char *dir, char *out, size_t len);

/* A network namespace made by migbench process `pid` (migbench-<pid>-<n>). */
int mbt_namespace_of(pid_t pid, char *why, size_t len);

/* Anything in the campaign folder (recursively) but directories, regular
 * *.json files, a regular topology.xml (hwloc's) and, when `keep_suffix` is
 * not NULL, regular files ending with it; names beginning with a dot are
 * always stray (temporary files of the atomic writes). */
int mbt_stray_file(const char *dir, const char *keep_suffix, char *why, size_t len);

/* "" when nothing is left, else what is: a QEMU of ours (killed), a network
 * namespace of migbench `pid` (when pid > 0), a run directory in
 * mbt_runtime_dir, a stray file in `campaign_dir` (when not NULL). */
void mbt_leftovers(pid_t pid, const char *campaign_dir, const char *keep_suffix, char *why, size_t len);

/* ---- running a campaign ---------------------------------------------------------- */

struct mbt_campaign {
	char work[PATH_MAX];        /* mkdtemp: out/, the scenario file, the logs */
	char path[PATH_MAX + 64];   /* work/out/NAME */
	int ran;
	int status;                 /* exit status, or -1 when killed */
	int signal;                 /* the signal that ended migbench, or 0 */
	pid_t pid;                  /* of migbench */
	double seconds;
	char *out, *err;            /* its stdout and stderr */
	char leftover[PATH_MAX + 8192]; /* "" when nothing was left */
	json_t *manifest;           /* campaign.json, or NULL */
	json_t *files;              /* "scenario/rep" -> result document */
};

struct mbt_run {
	const char *work_template;  /* mkdtemp template of c->work */
	const char *name;           /* -n NAME */
	const char *ini;            /* written to WORK/campaign.ini, passed last; or NULL */
	const char *const *args;    /* more options (NULL-terminated), or NULL */
	int qemu_opt;               /* pass --qemu=$MIGBENCH_QEMU when that is set */
	double deadline_s;          /* then SIGTERM, and SIGKILL 30 s later */
	int check_leftovers;        /* fill c->leftover once migbench has exited */
	const char *keep_suffix;    /* for mbt_stray_file */
	const char *resume;         /* `--resume PATH` instead of -n NAME and a scenario */
	/* Called once c->work exists, before migbench starts (a test mounts
	 * something there), and every 50 ms while it runs (a test injects a
	 * fault); `during` returns 1 once it has nothing more to do. */
	void (*before)(struct mbt_campaign *c, void *arg);
	int (*during)(struct mbt_campaign *c, double elapsed_s, void *arg);
	void *arg;
};

/* Starts argv[0] (a path) with ARGV, stdin /dev/null, stdout and stderr
 * into the two files; 0, or posix_spawn's error. */
int mbt_spawn(const char *const argv[], const char *out_log, const char *err_log, pid_t *pid);

/* Runs `migbench run -q -o WORK/out -n NAME [--qemu=...] ARGS... [WORK/campaign.ini]`
 * and reads what it wrote: every result its campaign.json lists (one that
 * does not load fails the test). */
void mbt_run_campaign(struct mbt_campaign *c, const struct mbt_run *r);
/* Fails the test when migbench exited other than 0 (with its stderr) or
 * left something behind. */
void mbt_assert_campaign_ok(const struct mbt_campaign *c);
/* The PID of the QEMU running in run directory mbt_runtime_dir/migbench-LABEL-*
 * (LABEL "source", "destination", ...: read from its owner file), or 0. */
pid_t mbt_qemu_pid(const char *label);
/* All of them, up to max ("" for every label); returns how many. */
size_t mbt_qemu_pids(const char *label, pid_t *out, size_t max);

/* Removes its work folder (only under `prefix`), frees, zeroes. */
void mbt_campaign_free(struct mbt_campaign *c, const char *prefix);
/* Result "scenario/rep"; fails the test when there is none. */
const json_t *mbt_result(const struct mbt_campaign *c, const char *key);

/* ---- reading a result -------------------------------------------------------------- */

/* o.a.b.c; each fails the test when it is missing or of another type. */
const json_t *mbt_get(const json_t *o, const char *path);
double mbt_num(const json_t *o, const char *path);
json_int_t mbt_int(const json_t *o, const char *path);
const char *mbt_str(const json_t *o, const char *path);

/* qsort's comparison of doubles, ascending (medians, spreads). */
int mbt_by_value(const void *a, const void *b);

#endif
