#include "config.h"
#include "workloads/image/depmod.h"
#include "workloads/image/elf.h"
#include "workloads/image/fsutil.h"
#include "workloads/image/modules.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int mb_img_modinfo_depends(const char *ko, char *buf, size_t size, struct mb_err *err)
{
	char *info;
	size_t len;

	if (mb_img_elf_section(ko, ".modinfo", &info, &len, err) < 0)
		return -1;
	buf[0] = '\0';
	/* .modinfo is a run of NUL-terminated "key=value" strings. */
	for (size_t off = 0; off < len; off += strlen(info + off) + 1) {
		if (!strncmp(info + off, "depends=", 8)) {
			if (strlen(info + off + 8) >= size) {
				free(info);
				return mb_errf(err, ENAMETOOLONG, "%s: depends= is too long", ko);
			}
			strcpy(buf, info + off + 8);
			break;
		}
	}
	free(info);
	return 0;
}

struct ko_list {
	char **paths;     /* relative to moddir */
	char (*names)[64];
	size_t n, cap;
};

static void list_free(struct ko_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	free(l->names);
}

static int list_add(struct ko_list *l, const char *rel)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 1024;
		char **np = realloc(l->paths, ncap * sizeof(*np));
		if (!np)
			return -1;
		l->paths = np;
		char (*nn)[64] = realloc(l->names, ncap * sizeof(*nn));
		if (!nn)
			return -1;
		l->names = nn;
		l->cap = ncap;
	}
	if (!(l->paths[l->n] = strdup(rel)))
		return -1;
	mb_module_name(rel, l->names[l->n], sizeof(l->names[l->n]));
	l->n++;
	return 0;
}

/* Collects module files under moddir/rel (rel = "" for the top). */
static int walk(const char *moddir, const char *rel, struct ko_list *l, struct mb_err *err)
{
	char dir[PATH_MAX], child[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (mb_img_path_join(dir, sizeof(dir), err, "%s%s%s", moddir, *rel ? "/" : "", rel) < 0)
		return -1;
	d = opendir(dir);
	if (!d)
		return mb_errf(err, errno, "cannot open directory %s", dir);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (mb_img_path_join(child, sizeof(child), err, "%s%s%s", rel, *rel ? "/" : "", e->d_name) < 0)
			goto fail;
		char full[PATH_MAX];
		struct stat st;
		if (mb_img_path_join(full, sizeof(full), err, "%s/%s", moddir, child) < 0)
			goto fail;
		if (lstat(full, &st) < 0) {
			mb_errf(err, errno, "cannot stat %s", full);
			goto fail;
		}
		/* Not following symlinks: Debian's build and source links point
		 * back into the tree or nowhere. */
		if (S_ISDIR(st.st_mode)) {
			if (walk(moddir, child, l, err) < 0)
				goto fail;
		} else if (S_ISREG(st.st_mode) && mb_module_is_ko(child)) {
			if (list_add(l, child) < 0) {
				mb_errf(err, ENOMEM, "listing modules of %s", moddir);
				goto fail;
			}
		}
	}
	closedir(d);
	return 0;
fail:
	closedir(d);
	return -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *path_of(const struct ko_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->names[i], name))
			return l->paths[i];
	return NULL;
}

/* Appends one module's "path: dep dep" line to out. */
static int write_line(const char *moddir, const struct ko_list *l, size_t i, FILE *out,
		      struct mb_err *err)
{
	char full[PATH_MAX], deps[4096], name[64];
	char *save = NULL;

	if (strcmp(l->paths[i] + strlen(l->paths[i]) - 3, ".ko"))
		return mb_errf(err, 0, "%s/%s is compressed and %s/modules.dep is missing: "
			       "run `depmod -b ROOT VERSION` on that tree", moddir, l->paths[i], moddir);
	if (mb_img_path_join(full, sizeof(full), err, "%s/%s", moddir, l->paths[i]) < 0 ||
	    mb_img_modinfo_depends(full, deps, sizeof(deps), err) < 0)
		return -1;
	fprintf(out, "%s:", l->paths[i]);
	for (char *d = strtok_r(deps, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
		mb_module_name(d, name, sizeof(name));
		const char *p = path_of(l, name);
		/* A dependency with no file is built in: nothing to load. */
		if (p)
			fprintf(out, " %s", p);
	}
	fputc('\n', out);
	return 0;
}

int mb_img_depmod_write(const char *moddir, struct mb_err *err)
{
	struct ko_list l = { 0 };
	char file[PATH_MAX];
	char *text = NULL;
	size_t len = 0;
	FILE *out = NULL;
	int ret = -1;

	if (walk(moddir, "", &l, err) < 0)
		goto done;
	/* Sort both arrays together by path so the file is reproducible. */
	qsort(l.paths, l.n, sizeof(*l.paths), cmp_str);
	for (size_t i = 0; i < l.n; i++)
		mb_module_name(l.paths[i], l.names[i], sizeof(l.names[i]));
	out = open_memstream(&text, &len);
	if (!out) {
		mb_errf(err, errno, "writing %s/modules.dep", moddir);
		goto done;
	}
	for (size_t i = 0; i < l.n; i++)
		if (write_line(moddir, &l, i, out, err) < 0)
			goto done;
	if (fclose(out) != 0) {
		out = NULL;
		mb_errf(err, errno, "writing %s/modules.dep", moddir);
		goto done;
	}
	out = NULL;
	if (mb_img_path_join(file, sizeof(file), err, "%s/modules.dep", moddir) < 0 ||
	    mb_write_text_atomic(file, text, len, 0, err) < 0)
		goto done;
	ret = 0;
done:
	if (out)
		fclose(out);
	free(text);
	list_free(&l);
	return ret;
}
