/* Scenario sets: what the files and options say, kept as text until
 * expansion turns every combination of their lists into typed run specs.
 * Values are nevertheless parsed as soon as they are read, so that a bad
 * value is reported with its file and line before anything runs. */
#include "config.h"
#include "bench/scenario.h"
#include "bench/ini.h"
#include "bench/units.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SECTION_NAME_MAX 128

/* One `key=value` (or `--key=value`) as written, its list already split. */
struct assignment {
	const struct mb_key *key;
	char **items;           /* the comma-separated values, trimmed; one when
	                         * nothing is swept */
	size_t nitems;
	const char *file;       /* owned by the set; NULL for an option */
	unsigned line;
	bool inherited;         /* copied from [global]: the section may override it */
};

/* In the order of first mention, which is the order of the sweep. */
struct assignments {
	struct assignment *v;
	size_t n;
};

struct section {
	char *name;
	const char *file;       /* owned by the set; NULL for "default" */
	unsigned line;
	struct assignments keys; /* [global]'s, then its own */
};

struct mb_scenario_set {
	char **files;           /* every file's name, for the origins */
	size_t nfiles;
	struct section *sections;
	size_t nsections;
	struct assignments options;
};

/* ---- assignments -------------------------------------------------------- */

static void assignment_free(struct assignment *a)
{
	for (size_t i = 0; i < a->nitems; i++)
		free(a->items[i]);
	free(a->items);
	a->items = NULL;
	a->nitems = 0;
}

static void assignments_free(struct assignments *list)
{
	for (size_t i = 0; i < list->n; i++)
		assignment_free(&list->v[i]);
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

static struct assignment *assignments_find(const struct assignments *list,
					   const struct mb_key *key)
{
	for (size_t i = 0; i < list->n; i++)
		if (list->v[i].key == key)
			return &list->v[i];
	return NULL;
}

/* Takes `a` over: replaces the key's earlier assignment in place, keeping
 * its position (and so its place in the sweep order), or appends. */
static int assignments_put(struct assignments *list, struct assignment *a,
			   struct mb_err *err)
{
	struct assignment *old = assignments_find(list, a->key), *v;

	if (old) {
		assignment_free(old);
		*old = *a;
		return 0;
	}
	v = realloc(list->v, (list->n + 1) * sizeof(*v));
	if (!v) {
		assignment_free(a);
		return mb_errf(err, ENOMEM, "storing key '%s'", a->key->name);
	}
	list->v = v;
	list->v[list->n++] = *a;
	return 0;
}

static int assignment_copy(struct assignment *dst, const struct assignment *src,
			   struct mb_err *err)
{
	*dst = *src;
	dst->items = calloc(src->nitems, sizeof(*dst->items));
	if (!dst->items)
		goto nomem;
	for (dst->nitems = 0; dst->nitems < src->nitems; dst->nitems++) {
		dst->items[dst->nitems] = strdup(src->items[dst->nitems]);
		if (!dst->items[dst->nitems])
			goto nomem;
	}
	return 0;
nomem:
	assignment_free(dst);
	return mb_errf(err, ENOMEM, "copying key '%s'", src->key->name);
}

static char *trimmed_copy(const char *s, size_t len)
{
	while (len && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	return strndup(s, len);
}

/* Splits "64M, 256M,1G" into its items and checks each one now: a mistake in
 * the last item of a list must not wait until its turn comes in the run. */
static int split_value(struct assignment *a, const char *text, struct mb_err *err)
{
	size_t n = 1;
	uint64_t unused;

	if (!*text)
		return mb_errf(err, 0, "empty value");
	for (const char *p = text; *p; p++)
		n += *p == ',';
	if (n > 1 && a->key->fixed)
		return mb_errf(err, 0, "'%s' cannot be swept: one value per scenario", text);
	a->items = calloc(n, sizeof(*a->items));
	if (!a->items)
		return mb_errf(err, ENOMEM, "splitting '%s'", text);
	for (const char *p = text; a->nitems < n; p += strcspn(p, ",") + 1) {
		char *item = trimmed_copy(p, strcspn(p, ","));

		if (!item)
			return mb_errf(err, ENOMEM, "splitting '%s'", text);
		a->items[a->nitems++] = item;
		if (!*item)
			return mb_errf(err, 0, "empty item in the list '%s'", text);
		if (mb_key_parse(a->key, item, &unused, err))
			return -1;
		for (size_t j = 0; j + 1 < a->nitems; j++)
			if (!strcmp(a->items[j], item))
				return mb_errf(err, 0, "'%s' is listed twice in '%s'", item, text);
	}
	return 0;
}

/* ---- sets --------------------------------------------------------------- */

static void section_free(struct section *s)
{
	free(s->name);
	assignments_free(&s->keys);
}

struct mb_scenario_set *mb_scenario_set_new(struct mb_err *err)
{
	struct mb_scenario_set *set;

	/* The plug-ins' keys are part of the namespace: a clash among them
	 * is an error before any file is read. */
	if (mb_keys_init(err))
		return NULL;
	set = calloc(1, sizeof(*set));

	if (!set)
		mb_errf(err, ENOMEM, "allocating a scenario set");
	return set;
}

void mb_scenario_set_free(struct mb_scenario_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->nsections; i++)
		section_free(&set->sections[i]);
	free(set->sections);
	for (size_t i = 0; i < set->nfiles; i++)
		free(set->files[i]);
	free(set->files);
	assignments_free(&set->options);
	free(set);
}

static const struct section *find_section(const struct section *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

/* ---- reading a file ----------------------------------------------------- */

/* One file's worth, kept apart until the whole file has read cleanly so that
 * a failed file leaves the set as it was. */
struct parse_ctx {
	const struct mb_scenario_set *set;
	char *file;
	struct assignments global;
	struct section *sections;
	size_t nsections;
	enum { BEFORE_ANY_SECTION, IN_GLOBAL, IN_SCENARIO } where;
};

/* Section names become directory names and the start of expanded names, in
 * which ',' and '=' separate the swept keys: keep them out of section names
 * so that no two scenarios can end up with one name. */
static int valid_section_name(const char *name)
{
	if (name[0] == '.' || strlen(name) > SECTION_NAME_MAX)
		return 0;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._+-", *p))
			return 0;
	return 1;
}

static int on_section(void *opaque, const char *name, unsigned line, struct mb_err *err)
{
	struct parse_ctx *ctx = opaque;
	const struct section *taken;
	struct section *v, *s;

	if (!strcmp(name, "global")) {
		if (ctx->nsections)
			return mb_errf(err, 0, "[global] after a scenario section: put it first "
				       "(it gives defaults to every scenario of its file)");
		ctx->where = IN_GLOBAL;
		return 0;
	}
	if (!valid_section_name(name))
		return mb_errf(err, 0, "section '%s': bad name (use at most %d letters, digits, "
			       "'.', '_', '+' and '-', not starting with '.')", name, SECTION_NAME_MAX);
	taken = find_section(ctx->sections, ctx->nsections, name);
	if (!taken)
		taken = find_section(ctx->set->sections, ctx->set->nsections, name);
	if (taken)
		return mb_errf(err, 0, "section '%s': already defined at %s:%u",
			       name, taken->file, taken->line);

	v = realloc(ctx->sections, (ctx->nsections + 1) * sizeof(*v));
	if (!v)
		return mb_errf(err, ENOMEM, "section '%s'", name);
	ctx->sections = v;
	s = &v[ctx->nsections];
	*s = (struct section){ .name = strdup(name), .file = ctx->file, .line = line };
	if (!s->name)
		return mb_errf(err, ENOMEM, "section '%s'", name);
	ctx->nsections++;
	for (size_t i = 0; i < ctx->global.n; i++) {
		struct assignment copy;

		if (assignment_copy(&copy, &ctx->global.v[i], err))
			return -1;
		copy.inherited = true;
		if (assignments_put(&s->keys, &copy, err))
			return -1;
	}
	ctx->where = IN_SCENARIO;
	return 0;
}

static int unknown_key(const char *typed, const char *prefix, struct mb_err *err)
{
	const struct mb_key *guess = mb_key_suggest(typed);
	char spelt[64];

	if (!guess)
		return mb_errf(err, 0, "unknown key");
	/* Suggest in the user's own style: --max-bandwidth, not --max_bandwidth. */
	snprintf(spelt, sizeof(spelt), "%s", guess->name);
	if (strchr(typed, '-'))
		for (char *p = spelt; *p; p++)
			if (*p == '_')
				*p = '-';
	return mb_errf(err, 0, "unknown key (did you mean '%s%s'?)", prefix, spelt);
}

static int on_pair(void *opaque, const char *typed, const char *value, unsigned line,
		   struct mb_err *err)
{
	struct parse_ctx *ctx = opaque;
	const struct mb_key *key = mb_key_find(typed);
	struct assignments *target;
	struct assignment a = { .key = key, .file = ctx->file, .line = line }, *old;

	if (ctx->where == BEFORE_ANY_SECTION)
		return mb_errf(err, 0, "key '%s': outside any section (start with [global] "
			       "or [scenario-name])", typed);
	if (!key) {
		unknown_key(typed, "", err);
		return mb_err_prefix(err, "key '%s'", typed);
	}
	target = ctx->where == IN_GLOBAL ? &ctx->global : &ctx->sections[ctx->nsections - 1].keys;
	old = assignments_find(target, key);
	if (old && !old->inherited)
		return mb_errf(err, 0, "key '%s': already set at line %u", typed, old->line);
	if (split_value(&a, value, err)) {
		assignment_free(&a);
		return mb_err_prefix(err, "key '%s'", typed);
	}
	return assignments_put(target, &a, err);
}

static const struct mb_ini_handler scenario_syntax = {
	.section = on_section,
	.pair = on_pair,
};

static void parse_ctx_free(struct parse_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nsections; i++)
		section_free(&ctx->sections[i]);
	free(ctx->sections);
	assignments_free(&ctx->global);
	free(ctx->file);
}

/* Moves the file's sections into the set. */
static int adopt(struct mb_scenario_set *set, struct parse_ctx *ctx, struct mb_err *err)
{
	struct section *sections;
	char **files;

	if (!ctx->nsections)
		return mb_errf(err, 0, "%s: no scenario: a file needs at least one "
			       "[scenario-name] section", ctx->file);
	files = realloc(set->files, (set->nfiles + 1) * sizeof(*files));
	if (!files)
		return mb_errf(err, ENOMEM, "%s", ctx->file);
	set->files = files;
	sections = realloc(set->sections, (set->nsections + ctx->nsections) * sizeof(*sections));
	if (!sections)
		return mb_errf(err, ENOMEM, "%s", ctx->file);
	set->sections = sections;
	memcpy(sections + set->nsections, ctx->sections, ctx->nsections * sizeof(*sections));
	set->nsections += ctx->nsections;
	set->files[set->nfiles++] = ctx->file;
	free(ctx->sections);
	ctx->sections = NULL;
	ctx->nsections = 0;
	ctx->file = NULL;
	return 0;
}

static int parse(struct mb_scenario_set *set, const char *name, const char *text,
		 struct mb_err *err)
{
	struct parse_ctx ctx = { .set = set, .file = strdup(name) };
	int rc;

	if (!ctx.file)
		return mb_errf(err, ENOMEM, "%s", name);
	rc = text ? mb_ini_read_string(ctx.file, text, &scenario_syntax, &ctx, err)
		  : mb_ini_read_file(ctx.file, &scenario_syntax, &ctx, err);
	if (!rc)
		rc = adopt(set, &ctx, err);
	parse_ctx_free(&ctx);
	return rc;
}

int mb_scenario_parse_file(struct mb_scenario_set *set, const char *path, struct mb_err *err)
{
	return parse(set, path, NULL, err);
}

int mb_scenario_parse_string(struct mb_scenario_set *set, const char *name,
			     const char *text, struct mb_err *err)
{
	return parse(set, name, text, err);
}

/* ---- options ------------------------------------------------------------ */

int mb_scenario_apply_option(struct mb_scenario_set *set, const char *option,
			     const char *value, struct mb_err *err)
{
	const char *typed = strncmp(option, "--", 2) ? option : option + 2;
	const struct mb_key *key = mb_key_find(typed);
	struct assignment a = { .key = key };

	if (!key) {
		unknown_key(typed, "--", err);
		return mb_err_prefix(err, "option '--%s'", typed);
	}
	if (!value)
		return mb_errf(err, 0, "option '--%s': missing value (--%s=VALUE)", typed, typed);
	if (split_value(&a, value, err)) {
		assignment_free(&a);
		return mb_err_prefix(err, "option '--%s'", typed);
	}
	return assignments_put(&set->options, &a, err);
}

/* ---- run specs ---------------------------------------------------------- */

void mb_run_spec_release(struct mb_run_spec *spec)
{
	size_t nkeys = mb_key_count(), nplugins = mb_plugin_count();

	for (size_t k = 0; spec->text && k < nkeys; k++)
		free(spec->text[k]);
	for (size_t p = 0; spec->options && p < nplugins; p++)
		free(spec->options[p]);
	free(spec->text);
	free(spec->options);
	spec->text = NULL;
	spec->options = NULL;
}

static void spec_free(struct mb_run_spec *spec)
{
	free(spec->name);
	free(spec->section);
	free(spec->file);
	mb_run_spec_release(spec);
	memset(spec, 0, sizeof(*spec));
}

/* Where key's value lives in a spec: its params or its plug-in's options. */
static void *key_base(const struct mb_run_spec *spec, const struct mb_key *key)
{
	const struct mb_plugin *pl = mb_key_plugin(key);

	if (!pl)
		return (void *)&spec->params;
	for (size_t p = 0; p < mb_plugin_count(); p++)
		if (mb_plugin_at(p) == pl)
			return spec->options[p];
	return NULL;
}

size_t mb_run_spec_group_len(const struct mb_run_spec *spec)
{
	const char *cut = spec->params.guests > 1 ? strrchr(spec->name, ',') : NULL;

	return cut ? (size_t)(cut - spec->name) : strlen(spec->name);
}

const void *mb_run_spec_options(const struct mb_run_spec *spec, const void *owner)
{
	for (size_t p = 0; spec && spec->options && p < mb_plugin_count(); p++)
		if (mb_plugin_at(p)->owner == owner)
			return spec->options[p];
	return NULL;
}

const char *mb_run_spec_text(const struct mb_run_spec *spec, const char *name)
{
	const struct mb_key *key = mb_key_find(name);

	return key && spec->text ? spec->text[mb_key_index(key)] : NULL;
}

/* Empty text and options arrays for the namespace. */
static int spec_alloc(struct mb_run_spec *spec, struct mb_err *err)
{
	size_t nplugins = mb_plugin_count();

	spec->text = calloc(mb_key_count(), sizeof(*spec->text));
	spec->options = calloc(nplugins ? nplugins : 1, sizeof(*spec->options));
	if (!spec->text || !spec->options)
		goto nomem;
	for (size_t p = 0; p < nplugins; p++) {
		size_t size = mb_plugin_at(p)->options_size;

		if (size && !(spec->options[p] = calloc(1, size)))
			goto nomem;
	}
	return 0;
nomem:
	mb_run_spec_release(spec);
	return mb_errf(err, ENOMEM, "the scenario keys of a run");
}

/* String parameters point into the spec's own texts; an empty qemu_dst, or
 * "same", means the source's QEMU. */
static void bind_strings(struct mb_run_spec *spec)
{
	for (size_t k = 0; k < mb_key_count(); k++) {
		const struct mb_key *key = mb_key_at(k);

		if (key->type == MB_TYPE_STRING)
			mb_key_store(key, key_base(spec, key), 0, spec->text[k]);
	}
	if (!spec->text[MB_KEY_QEMU] || !spec->text[MB_KEY_QEMU_DST])
		return;         /* a spec being filled (mb_run_spec_defaults) */
	spec->params.qemu = spec->text[MB_KEY_QEMU];
	/* qemu_dst=same (or empty): the source's, also in a qemu= sweep. */
	spec->params.qemu_dst = *spec->text[MB_KEY_QEMU_DST] && strcmp(spec->text[MB_KEY_QEMU_DST], "same")
				? spec->text[MB_KEY_QEMU_DST] : spec->text[MB_KEY_QEMU];
}

int mb_run_spec_set(struct mb_run_spec *spec, const struct mb_key *key, const char *text,
		    struct mb_err *err)
{
	size_t k = mb_key_index(key);
	uint64_t value;
	char *copy;

	if (k == SIZE_MAX)
		return mb_errf(err, 0, "key '%s' is not registered", key->name);
	if (mb_key_parse(key, text, &value, err))
		return -1;
	if (!(copy = strdup(text)))
		return mb_errf(err, ENOMEM, "key '%s'", key->name);
	free(spec->text[k]);
	spec->text[k] = copy;
	mb_key_store(key, key_base(spec, key), value, copy);
	bind_strings(spec);
	return 0;
}

int mb_run_spec_defaults(struct mb_run_spec *spec, struct mb_err *err)
{
	if (spec_alloc(spec, err))
		return -1;
	for (size_t k = 0; k < mb_key_count(); k++) {
		const struct mb_key *key = mb_key_at(k);

		if (mb_run_spec_set(spec, key, key->def, err)) {
			mb_err_prefix(err, "key '%s': its default", key->name);
			mb_run_spec_release(spec);
			return -1;
		}
	}
	return 0;
}

static int spec_copy(struct mb_run_spec *dst, const struct mb_run_spec *src, struct mb_err *err)
{
	*dst = *src;
	dst->name = strdup(src->name);
	dst->section = strdup(src->section);
	dst->file = src->file ? strdup(src->file) : NULL;
	dst->text = NULL;
	dst->options = NULL;
	int failed = !dst->name || !dst->section || (src->file && !dst->file) || spec_alloc(dst, err);

	for (size_t k = 0; !failed && k < mb_key_count(); k++) {
		dst->text[k] = strdup(src->text[k]);
		failed |= !dst->text[k];
	}
	for (size_t p = 0; !failed && p < mb_plugin_count(); p++)
		if (src->options[p])
			memcpy(dst->options[p], src->options[p], mb_plugin_at(p)->options_size);
	if (failed) {
		spec_free(dst);
		return mb_errf(err, ENOMEM, "copying scenario '%s'", src->name);
	}
	bind_strings(dst);
	return 0;
}

static void origin(const struct mb_run_spec *spec, char *buf, size_t size)
{
	if (spec->file)
		snprintf(buf, size, "%s:%u", spec->file, spec->line);
	else
		snprintf(buf, size, "command line");
}

static int check_failed(const struct mb_run_spec *spec, struct mb_err *err, const char *why)
{
	char at[MB_ERR_MAX / 2];

	origin(spec, at, sizeof(at));
	return mb_errf(err, 0, "scenario '%s' (%s): %s", spec->name, at, why);
}

uint64_t mb_guest_reserve(uint64_t memory, unsigned vcpus)
{
	return MB_GUEST_RESERVE_FIXED + memory / MB_GUEST_RESERVE_DIVISOR +
	       MB_GUEST_RESERVE_PER_VCPU * (vcpus ? vcpus - 1 : 0);
}

/* `bytes` rounded down to whole MiB (whole KiB below 1M), as a size. */
static void format_size_down(uint64_t bytes, char *buf, size_t size)
{
	uint64_t unit = bytes >> 20 ? UINT64_C(1) << 20 : UINT64_C(1) << 10;

	mb_format_size(bytes / unit * unit, buf, size);
}

/* The working set and the kv store are mapped and faulted in by the guest's
 * agent: when they leave its kernel too little, the guest panics while
 * booting ("System is deadlocked on memory") and the run fails with nothing
 * measured. */
static int check_guest_memory(const struct mb_run_spec *spec, struct mb_err *err)
{
	const struct mb_params *p = &spec->params;
	const char *const *t = (const char *const *)spec->text;
	bool kv = mb_workload_reads(p->workload, "kv_size");
	uint64_t reserve = mb_guest_reserve(p->memory, p->vcpus);
	uint64_t used = p->wss + (kv ? p->kv_size : 0);
	char need[32], fixed[32], per_vcpu[32], room[32], formula[160], why[MB_ERR_MAX / 2];

	mb_format_size((reserve + (UINT64_C(1) << 20) - 1) >> 20 << 20, need, sizeof(need));
	mb_format_size(MB_GUEST_RESERVE_FIXED, fixed, sizeof(fixed));
	mb_format_size(MB_GUEST_RESERVE_PER_VCPU, per_vcpu, sizeof(per_vcpu));
	snprintf(formula, sizeof(formula), "%s + memory/%d + %s per vCPU beyond the first",
		 fixed, MB_GUEST_RESERVE_DIVISOR, per_vcpu);
	if (reserve >= p->memory) {
		snprintf(why, sizeof(why), "memory (%s) is too little for vcpus (%s): the guest keeps "
			 "%s for its kernel and agent (%s)", t[MB_KEY_MEMORY], t[MB_KEY_VCPUS], need,
			 formula);
		return check_failed(spec, err, why);
	}
	if (used <= p->memory - reserve)
		return 0;
	format_size_down(p->memory - reserve, room, sizeof(room));
	if (kv)
		snprintf(why, sizeof(why), "wss (%s) + kv_size (%s) leave the guest too little of "
			 "memory (%s): it keeps %s for its kernel and agent (%s), so wss + kv_size "
			 "can be at most %s", t[MB_KEY_WSS], t[MB_KEY_KV_SIZE], t[MB_KEY_MEMORY], need,
			 formula, room);
	else
		snprintf(why, sizeof(why), "wss (%s) leaves the guest too little of memory (%s): it "
			 "keeps %s for its kernel and agent (%s), so wss can be at most %s",
			 t[MB_KEY_WSS], t[MB_KEY_MEMORY], need, formula, room);
	return check_failed(spec, err, why);
}

/* The shaped link (runners/link.h) joins two network namespaces with a
 * TCP/IP link: a Unix socket would bypass it, and the service workloads'
 * network (runners/netns.h) needs both QEMUs in one namespace. */
static int check_link(const struct mb_run_spec *spec, struct mb_err *err)
{
	const struct mb_params *p = &spec->params;
	const char *const *t = (const char *const *)spec->text;
	char why[MB_ERR_MAX / 2];

	if (p->link_jitter_us && !p->link_delay_us)
		return check_failed(spec, err, "link_jitter needs link_delay (the jitter varies the "
				    "link's delay around link_delay)");
	if (p->link_jitter_us > p->link_delay_us) {
		snprintf(why, sizeof(why), "link_jitter (%s) exceeds link_delay (%s): a packet's "
			 "delay would go below zero", t[MB_KEY_LINK_JITTER], t[MB_KEY_LINK_DELAY]);
		return check_failed(spec, err, why);
	}
	if (p->transport == MB_TRANSPORT_UNIX)
		return check_failed(spec, err, "link_* shapes a TCP/IP link between two network "
				    "namespaces; transport=unix would bypass it (use transport=tcp)");
	if (mb_workload_has_net(p->workload)) {
		snprintf(why, sizeof(why), "link_* cannot be combined with workload=%s: its service "
			 "network is a bridge in one namespace holding both QEMUs, while the shaped "
			 "link puts each QEMU in a namespace of its own", t[MB_KEY_WORKLOAD]);
		return check_failed(spec, err, why);
	}
	return 0;
}

/* What no single key can know: combinations that QEMU would refuse or that
 * would measure something other than what the scenario says. */
static int check_scenario(const struct mb_run_spec *spec, struct mb_err *err)
{
	const struct mb_params *p = &spec->params;
	const char *const *t = (const char *const *)spec->text;
	bool hybrid = p->mode == MB_MODE_HYBRID;
	char why[MB_ERR_MAX / 2];

	if (p->wss > p->memory) {
		snprintf(why, sizeof(why), "wss (%s) is larger than memory (%s)",
			 t[MB_KEY_WSS], t[MB_KEY_MEMORY]);
		return check_failed(spec, err, why);
	}
	if (check_guest_memory(spec, err))
		return -1;
	if (hybrid && !p->hybrid_passes && !p->hybrid_time_us)
		return check_failed(spec, err, "mode=hybrid needs hybrid_passes or hybrid_time "
				    "(when to switch to post-copy)");
	if (!hybrid && (p->hybrid_passes || p->hybrid_time_us))
		return check_failed(spec, err, p->hybrid_passes
				    ? "hybrid_passes applies only to mode=hybrid"
				    : "hybrid_time applies only to mode=hybrid");
	if (hybrid && p->max_passes && p->hybrid_passes > p->max_passes) {
		snprintf(why, sizeof(why), "hybrid_passes (%u) exceeds max_passes (%u): the switch "
			 "to post-copy would never come", p->hybrid_passes, p->max_passes);
		return check_failed(spec, err, why);
	}
	/* Both count from `migrate` (bench/migration.c), and the timeout wins. */
	if (hybrid && p->hybrid_time_us && p->hybrid_time_us >= p->timeout_us) {
		snprintf(why, sizeof(why), "hybrid_time (%s) is not before timeout (%s): the switch "
			 "to post-copy would never come", t[MB_KEY_HYBRID_TIME], t[MB_KEY_TIMEOUT]);
		return check_failed(spec, err, why);
	}
	if (p->postcopy_pause_us && p->mode != MB_MODE_POSTCOPY && !hybrid)
		return check_failed(spec, err, "postcopy_pause (a link cut during post-copy) applies only "
				    "to mode=postcopy or hybrid");
	if (p->postcopy_preempt && p->mode != MB_MODE_POSTCOPY && !hybrid)
		return check_failed(spec, err, "postcopy_preempt applies only to mode=postcopy "
				    "or mode=hybrid");
	if (p->multifd_compression != MB_COMPRESSION_NONE && !p->multifd) {
		snprintf(why, sizeof(why), "multifd_compression=%s needs multifd channels "
			 "(multifd > 0)", t[MB_KEY_MULTIFD_COMPRESSION]);
		return check_failed(spec, err, why);
	}
	if (p->xbzrle_cache > p->memory) {
		snprintf(why, sizeof(why), "xbzrle_cache (%s) is larger than memory (%s)",
			 t[MB_KEY_XBZRLE_CACHE], t[MB_KEY_MEMORY]);
		return check_failed(spec, err, why);
	}
	if (p->stagger_us && p->guests < 2)
		return check_failed(spec, err, "stagger applies only with guests=2 or more "
				    "(the delay between one guest's `migrate` and the next's)");
	if (mb_params_link_shaped(p) && check_link(spec, err))
		return -1;
	if (p->baseline_margin_us < p->heartbeat_period_us) {
		snprintf(why, sizeof(why), "baseline_margin (%s) is shorter than heartbeat_period (%s): "
			 "the baseline's first gap would miss the heartbeat before it",
			 t[MB_KEY_BASELINE_MARGIN], t[MB_KEY_HEARTBEAT_PERIOD]);
		return check_failed(spec, err, why);
	}
	return 0;
}

/* ---- expansion ---------------------------------------------------------- */

/* The expanded scenarios of a set, before repetitions. */
struct expansion {
	struct mb_run_spec *v;
	size_t n;
};

static void expansion_free(struct expansion *e)
{
	for (size_t i = 0; i < e->n; i++)
		spec_free(&e->v[i]);
	free(e->v);
	e->v = NULL;
	e->n = 0;
}

/* What a section's scenarios are made of: its keys, each replaced in place by
 * the option for the same key, then the options for keys it does not set. */
static size_t effective_keys(const struct section *sec, const struct assignments *options,
			     const struct assignment **eff)
{
	size_t n = 0;

	for (size_t i = 0; i < sec->keys.n; i++) {
		const struct assignment *opt = assignments_find(options, sec->keys.v[i].key);

		eff[n++] = opt ? opt : &sec->keys.v[i];
	}
	for (size_t i = 0; i < options->n; i++)
		if (!assignments_find(&sec->keys, options->v[i].key))
			eff[n++] = &options->v[i];
	return n;
}

static int allowed_in_name(char c)
{
	return isalnum((unsigned char)c) || strchr("._=,+-", c);
}

/* "<section>" or "<section>,key=value,...", the swept keys in sweep order. */
static int build_name(struct mb_run_spec *spec, const char *section,
		      const struct assignment *const *eff, size_t neff, const size_t *pick,
		      struct mb_err *err)
{
	size_t len = strlen(section), at;

	for (size_t i = 0; i < neff; i++)
		if (eff[i]->nitems > 1)
			len += 2 + strlen(eff[i]->key->name) + strlen(eff[i]->items[pick[i]]);
	if (len > MB_SCENARIO_NAME_MAX)
		return mb_errf(err, 0, "scenario '%s': an expanded name would have %zu characters, "
			       "more than %d: shorten the section name or sweep fewer keys",
			       section, len, MB_SCENARIO_NAME_MAX);
	spec->name = malloc(len + 1);
	if (!spec->name)
		return mb_errf(err, ENOMEM, "scenario '%s'", section);
	at = (size_t)sprintf(spec->name, "%s", section);
	for (size_t i = 0; i < neff; i++) {
		if (eff[i]->nitems == 1)
			continue;
		at += (size_t)sprintf(spec->name + at, ",%s=", eff[i]->key->name);
		for (const char *c = eff[i]->items[pick[i]]; *c; c++)
			spec->name[at++] = allowed_in_name(*c) ? *c : '_';
	}
	spec->name[at] = '\0';
	return 0;
}

/* One combination of a section's lists: every key typed, named and checked. */
static int build_scenario(struct mb_run_spec *spec, const struct section *sec,
			  const struct assignment *const *eff, size_t neff, const size_t *pick,
			  struct mb_err *err)
{
	memset(spec, 0, sizeof(*spec));
	if (build_name(spec, sec->name, eff, neff, pick, err))
		return -1;
	spec->section = strdup(sec->name);
	spec->file = sec->file ? strdup(sec->file) : NULL;
	spec->line = sec->line;
	if (!spec->section || (sec->file && !spec->file))
		return mb_errf(err, ENOMEM, "scenario '%s'", spec->name);
	/* Items were checked when read; only a bad default can fail here. */
	if (mb_run_spec_defaults(spec, err))
		return mb_err_prefix(err, "scenario '%s'", spec->name);
	for (size_t i = 0; i < neff; i++)
		if (mb_run_spec_set(spec, eff[i]->key, eff[i]->items[pick[i]], err))
			return mb_err_prefix(err, "scenario '%s': key '%s'", spec->name,
					     eff[i]->key->name);
	return check_scenario(spec, err);
}

/* The cartesian product of a section's lists, first key slowest. */
static int expand_section(const struct section *sec, const struct assignments *options,
			  struct expansion *out, struct mb_err *err)
{
	size_t nkeys = mb_key_count();
	const struct assignment **eff = calloc(nkeys, sizeof(*eff));
	size_t *pick = calloc(nkeys, sizeof(*pick));
	size_t neff, total = 1;
	struct mb_run_spec *v;
	int rc = 0;

	if (!eff || !pick) {
		free(eff);
		free(pick);
		return mb_errf(err, ENOMEM, "expanding scenario '%s'", sec->name);
	}
	neff = effective_keys(sec, options, eff);

	for (size_t i = 0; i < neff && !rc; i++) {
		total *= eff[i]->nitems;
		if (total > MB_CAMPAIGN_MAX_RUNS)
			rc = mb_errf(err, 0, "scenario '%s': the sweep expands to more than %d "
				     "scenarios", sec->name, MB_CAMPAIGN_MAX_RUNS);
	}
	v = rc ? NULL : realloc(out->v, (out->n + total) * sizeof(*v));
	if (!v && !rc)
		rc = mb_errf(err, ENOMEM, "expanding scenario '%s'", sec->name);
	if (v)
		out->v = v;
	for (size_t c = 0; c < total && !rc; c++) {
		size_t rest = c;

		for (size_t i = neff; i-- > 0;) {
			pick[i] = rest % eff[i]->nitems;
			rest /= eff[i]->nitems;
		}
		/* Counted before building so that a half-built spec is freed too. */
		out->n++;
		rc = build_scenario(&out->v[out->n - 1], sec, eff, neff, pick, err);
	}
	free(eff);
	free(pick);
	return rc;
}

/* guests=K: each scenario becomes K, "<name>,guest=I", one per guest; the
 * run loop migrates the K runs of a repetition together. */
static int expand_guests(struct expansion *e, struct mb_err *err)
{
	struct expansion out = { 0 };
	size_t total = 0;
	int rc = 0;

	for (size_t i = 0; i < e->n; i++) {
		total += e->v[i].params.guests;
		e->v[i].group = i;
	}
	if (total == e->n)
		return 0;
	out.v = calloc(total, sizeof(*out.v));
	if (!out.v)
		return mb_errf(err, ENOMEM, "expanding guests=");
	for (size_t i = 0; i < e->n && !rc; i++) {
		const struct mb_run_spec *src = &e->v[i];
		unsigned k = src->params.guests;
		size_t first = out.n;

		for (unsigned g = 0; g < k && !rc; g++) {
			struct mb_run_spec *dst = &out.v[out.n];
			char *name;

			if (spec_copy(dst, src, err)) {
				rc = -1;
				break;
			}
			out.n++;
			dst->group = first;
			dst->guest = g;
			if (k == 1)
				continue;
			if (asprintf(&name, "%s,guest=%u", src->name, g + 1) < 0) {
				rc = mb_errf(err, ENOMEM, "scenario '%s'", src->name);
				break;
			}
			free(dst->name);
			dst->name = name;
			if (strlen(name) > MB_SCENARIO_NAME_MAX)
				rc = mb_errf(err, 0, "scenario '%s': the name of guest %u would have %zu "
					     "characters, more than %d: shorten the section name",
					     src->name, g + 1, strlen(name), MB_SCENARIO_NAME_MAX);
		}
	}
	if (rc) {
		expansion_free(&out);
		return -1;
	}
	expansion_free(e);
	*e = out;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	const struct mb_run_spec *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* Names become directories: two scenarios with one name would mix their
 * results. Sanitising can merge names ("/a/b" and "/a_b"). */
static int check_unique_names(const struct expansion *e, struct mb_err *err)
{
	const struct mb_run_spec **sorted = malloc(e->n * sizeof(*sorted) + 1);
	int rc = 0;

	if (!sorted)
		return mb_errf(err, ENOMEM, "checking scenario names");
	for (size_t i = 0; i < e->n; i++)
		sorted[i] = &e->v[i];
	qsort(sorted, e->n, sizeof(*sorted), by_name);
	for (size_t i = 1; i < e->n && !rc; i++) {
		if (!strcmp(sorted[i - 1]->name, sorted[i]->name)) {
			char a[MB_ERR_MAX / 3], b[MB_ERR_MAX / 3];

			origin(sorted[i - 1], a, sizeof(a));
			origin(sorted[i], b, sizeof(b));
			rc = mb_errf(err, 0, "scenario name '%s' is used twice (%s and %s): "
				     "values that differ only in characters outside "
				     "[A-Za-z0-9._=,+-] give the same name",
				     sorted[i]->name, a, b);
		}
	}
	free(sorted);
	return rc;
}

/* Repetition r of every scenario before repetition r + 1 of any. */
static int round_robin(const struct expansion *e, struct mb_campaign *campaign,
		       struct mb_err *err)
{
	unsigned most = 0;
	size_t total = 0;

	for (size_t i = 0; i < e->n; i++) {
		total += e->v[i].params.repetitions;
		if (e->v[i].params.repetitions > most)
			most = e->v[i].params.repetitions;
	}
	if (total > MB_CAMPAIGN_MAX_RUNS)
		return mb_errf(err, 0, "the campaign has %zu runs, more than %d", total,
			       MB_CAMPAIGN_MAX_RUNS);
	campaign->runs = calloc(total ? total : 1, sizeof(*campaign->runs));
	if (!campaign->runs)
		return mb_errf(err, ENOMEM, "allocating %zu runs", total);
	campaign->nscenarios = e->n;
	for (unsigned r = 0; r < most; r++) {
		for (size_t i = 0; i < e->n; i++) {
			struct mb_run_spec *run = &campaign->runs[campaign->nruns];

			if (r >= e->v[i].params.repetitions)
				continue;
			if (spec_copy(run, &e->v[i], err))
				return -1;
			run->scenario = i;
			run->group = e->v[i].group;
			run->repetition = r;
			campaign->nruns++;
		}
	}
	return 0;
}

int mb_scenario_expand(const struct mb_scenario_set *set, struct mb_campaign *campaign,
		       struct mb_err *err)
{
	/* Without a file the options alone describe one scenario. */
	const struct section from_options = { .name = "default" };
	const struct section *sections = set->nsections ? set->sections : &from_options;
	size_t nsections = set->nsections ? set->nsections : 1;
	struct expansion e = { 0 };
	int rc = 0;

	*campaign = (struct mb_campaign){ 0 };
	for (size_t i = 0; i < nsections && !rc; i++)
		rc = expand_section(&sections[i], &set->options, &e, err);
	if (!rc)
		rc = expand_guests(&e, err);
	if (!rc)
		rc = check_unique_names(&e, err);
	if (!rc)
		rc = round_robin(&e, campaign, err);
	expansion_free(&e);
	if (rc)
		mb_campaign_free(campaign);
	return rc;
}

void mb_campaign_free(struct mb_campaign *campaign)
{
	if (!campaign)
		return;
	for (size_t i = 0; i < campaign->nruns; i++)
		spec_free(&campaign->runs[i]);
	free(campaign->runs);
	*campaign = (struct mb_campaign){ 0 };
}

/* ---- the result file's echo --------------------------------------------- */

json_t *mb_run_spec_to_json(const struct mb_run_spec *spec)
{
	json_t *obj = json_object();
	int failed = !obj;

	if (failed)
		return NULL;
	failed |= json_object_set_new(obj, "name", json_string(spec->name));
	failed |= json_object_set_new(obj, "section", json_string(spec->section));
	failed |= json_object_set_new(obj, "file", spec->file ? json_string(spec->file)
							     : json_null());
	for (size_t k = 0; k < mb_key_count(); k++) {
		const struct mb_key *key = mb_key_at(k);

		failed |= json_object_set_new(obj, key->name, mb_key_to_json(key, key_base(spec, key)));
	}
	if (failed) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}
