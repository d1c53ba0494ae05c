#include "config.h"
#include "workloads/image/modules.h"
#include "workloads/image/fsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ko_suffixes[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };

static size_t ko_suffix_len(const char *path)
{
	size_t len = strlen(path);

	for (size_t i = 0; i < sizeof(ko_suffixes) / sizeof(*ko_suffixes); i++) {
		size_t sl = strlen(ko_suffixes[i]);
		if (len > sl && !strcmp(path + len - sl, ko_suffixes[i]))
			return sl;
	}
	return 0;
}

int mb_module_is_ko(const char *path)
{
	return ko_suffix_len(path) != 0;
}

void mb_module_name(const char *path, char *name, size_t size)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base) - (ko_suffix_len(base));
	if (len >= size)
		len = size - 1;
	for (size_t i = 0; i < len; i++)
		name[i] = base[i] == '-' ? '_' : base[i];
	name[len] = '\0';
}

/* One line of modules.dep. */
struct dep_line {
	char *path;
	char name[64];
	char **deps;       /* paths */
	size_t ndeps;
	enum { UNSEEN, VISITING, DONE } state;
};

struct dep_table {
	char *text;        /* the file; lines point into it */
	struct dep_line *lines;
	size_t n;
};

static void table_free(struct dep_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->lines[i].deps);
	free(t->lines);
	free(t->text);
}

/* Splits s at runs of spaces/tabs into an array of words (pointers into s). */
static int split_words(char *s, char ***words, size_t *n)
{
	size_t cap = 0;
	char *save = NULL;

	*words = NULL;
	*n = 0;
	for (char *w = strtok_r(s, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			char **nw = realloc(*words, ncap * sizeof(**words));
			if (!nw)
				return -1;
			*words = nw;
			cap = ncap;
		}
		(*words)[(*n)++] = w;
	}
	return 0;
}

static int parse_dep(const char *file, struct dep_table *t, struct mb_err *err)
{
	size_t cap = 0, lineno = 0;
	char *save = NULL;

	*t = (struct dep_table){ 0 };
	if (mb_img_read_file(file, &t->text, NULL, err) < 0)
		return -1;
	for (char *line = strtok_r(t->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		struct dep_line *l;

		lineno++;
		if (line[0] == '#' || strspn(line, " \t\r") == strlen(line))
			continue;
		if (!colon)
			return mb_errf(err, 0, "%s:%zu: no ':' after the module path", file, lineno);
		if (t->n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct dep_line *nl = realloc(t->lines, ncap * sizeof(*nl));
			if (!nl)
				return mb_errf(err, ENOMEM, "reading %s", file);
			t->lines = nl;
			cap = ncap;
		}
		l = &t->lines[t->n];
		*l = (struct dep_line){ .path = line };
		*colon = '\0';
		mb_module_name(line, l->name, sizeof(l->name));
		if (split_words(colon + 1, &l->deps, &l->ndeps) < 0)
			return mb_errf(err, ENOMEM, "reading %s", file);
		t->n++;
	}
	return 0;
}

static struct dep_line *by_name(struct dep_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->lines[i].name, name))
			return &t->lines[i];
	return NULL;
}

static struct dep_line *by_path(struct dep_table *t, const char *path)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->lines[i].path, path))
			return &t->lines[i];
	return NULL;
}

static int push(char ***list, size_t *n, const char *s)
{
	char **nl = realloc(*list, (*n + 1) * sizeof(**list));

	if (!nl)
		return -1;
	*list = nl;
	if (!(nl[*n] = strdup(s)))
		return -1;
	(*n)++;
	return 0;
}

/* Depth-first, appending a module after all of its dependencies. */
static int visit(struct dep_table *t, struct dep_line *l, struct mb_modules *out,
		 const char *file, struct mb_err *err)
{
	if (l->state == DONE)
		return 0;
	if (l->state == VISITING)
		return mb_errf(err, 0, "%s: dependency cycle through %s", file, l->path);
	l->state = VISITING;
	for (size_t i = 0; i < l->ndeps; i++) {
		struct dep_line *d = by_path(t, l->deps[i]);
		if (!d)
			return mb_errf(err, 0, "%s: %s depends on %s, which has no line of its own "
				       "(run depmod again)", file, l->path, l->deps[i]);
		if (visit(t, d, out, file, err) < 0)
			return mb_err_prefix(err, "needed by %s", l->name);
	}
	l->state = DONE;
	if (push(&out->paths, &out->n, l->path) < 0)
		return mb_errf(err, ENOMEM, "resolving %s", l->name);
	return 0;
}

/* Whether moddir/modules.builtin lists a module of this name. A missing
 * file means "nothing built in" (very old kernels have none). */
static int is_builtin(const char *moddir, const char *name, int *yes, struct mb_err *err)
{
	char file[PATH_MAX], mod[64];
	char *text, *save = NULL;

	*yes = 0;
	if (mb_img_path_join(file, sizeof(file), err, "%s/modules.builtin", moddir) < 0)
		return -1;
	if (mb_img_read_file(file, &text, NULL, err) < 0)
		return err->errnum == ENOENT ? 0 : -1;
	for (char *line = strtok_r(text, "\n", &save); line && !*yes; line = strtok_r(NULL, "\n", &save)) {
		mb_module_name(line, mod, sizeof(mod));
		*yes = !strcmp(mod, name);
	}
	free(text);
	return 0;
}

int mb_modules_resolve(const char *moddir, const char *const names[], size_t nnames,
		       struct mb_modules *out, struct mb_err *err)
{
	char file[PATH_MAX], name[64];
	struct dep_table t;
	int builtin;

	*out = (struct mb_modules){ 0 };
	if (mb_img_path_join(file, sizeof(file), err, "%s/modules.dep", moddir) < 0)
		return -1;
	if (parse_dep(file, &t, err) < 0)
		goto fail;
	for (size_t i = 0; i < nnames; i++) {
		mb_module_name(names[i], name, sizeof(name));
		struct dep_line *l = by_name(&t, name);
		if (l) {
			if (visit(&t, l, out, file, err) < 0)
				goto fail;
			continue;
		}
		if (is_builtin(moddir, name, &builtin, err) < 0)
			goto fail;
		if (!builtin) {
			mb_errf(err, 0, "module %s is in neither modules.dep nor modules.builtin of %s",
				name, moddir);
			goto fail;
		}
		if (push(&out->builtin, &out->nbuiltin, name) < 0) {
			mb_errf(err, ENOMEM, "resolving %s", name);
			goto fail;
		}
	}
	table_free(&t);
	return 0;
fail:
	table_free(&t);
	mb_modules_free(out);
	return -1;
}

void mb_modules_free(struct mb_modules *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->paths[i]);
	for (size_t i = 0; i < m->nbuiltin; i++)
		free(m->builtin[i]);
	free(m->paths);
	free(m->builtin);
	*m = (struct mb_modules){ 0 };
}
