#include "config.h"
#include "bench/summary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Columns: a path into the result document and a header. */
static const struct column {
	const char *header;
	const char *object;         /* "metrics" or "qemu_reported" */
	const char *key;
	const char *sub;            /* member of key's object, or NULL */
} columns[] = {
	{ .header = "prep ms", .object = "metrics", .key = "preparation_time_ms" },
	{ .header = "downtime ms", .object = "metrics", .key = "downtime_ms" },
	{ .header = "resume ms", .object = "metrics", .key = "resume_time_ms" },
	{ .header = "total ms", .object = "metrics", .key = "total_time_ms" },
	{ .header = "pages", .object = "metrics", .key = "pages_transferred", .sub = "total" },
	{ .header = "guest gap ms", .object = "metrics", .key = "guest_downtime_ms" },
	{ .header = "client gap ms", .object = "metrics", .key = "client_downtime_ms" },
	{ .header = "qemu downtime ms", .object = "qemu_reported", .key = "downtime" },
};
#define NCOLS (sizeof(columns) / sizeof(columns[0]))

struct scenario_row {
	char *name;
	size_t runs, completed;
	double *values[NCOLS];
	size_t nvalues[NCOLS];
};

struct mb_summary {
	struct scenario_row *rows;
	size_t nrows;
};

struct mb_summary *mb_summary_new(void)
{
	return calloc(1, sizeof(struct mb_summary));
}

static struct scenario_row *row_for(struct mb_summary *s, const char *name)
{
	struct scenario_row *rows;

	for (size_t i = 0; i < s->nrows; i++)
		if (!strcmp(s->rows[i].name, name))
			return &s->rows[i];
	rows = realloc(s->rows, (s->nrows + 1) * sizeof(*rows));
	if (!rows)
		return NULL;
	s->rows = rows;
	memset(&rows[s->nrows], 0, sizeof(rows[0]));
	rows[s->nrows].name = strdup(name);
	return &rows[s->nrows++];
}

static int value_of(const json_t *doc, const struct column *c, double *out)
{
	json_t *v = json_object_get(json_object_get(doc, c->object), c->key);

	if (c->sub)
		v = json_object_get(v, c->sub);
	if (!json_is_number(v))
		return -1;
	*out = json_number_value(v);
	return 0;
}

void mb_summary_add(struct mb_summary *s, const json_t *result)
{
	const json_t *run = json_object_get(result, "run");
	const char *name = json_string_value(json_object_get(run, "scenario"));
	const char *status = json_string_value(json_object_get(run, "status"));
	struct scenario_row *row;

	if (!s || !name || !(row = row_for(s, name)))
		return;
	row->runs++;
	if (!status || strcmp(status, "completed"))
		return;
	row->completed++;
	for (size_t c = 0; c < NCOLS; c++) {
		double v, *grown;

		if (value_of(result, &columns[c], &v))
			continue;
		grown = realloc(row->values[c], (row->nvalues[c] + 1) * sizeof(double));
		if (!grown)
			continue;
		row->values[c] = grown;
		row->values[c][row->nvalues[c]++] = v;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void mb_summary_print(const struct mb_summary *s, FILE *out)
{
	size_t width = strlen("scenario");

	if (!s || !s->nrows)
		return;
	for (size_t i = 0; i < s->nrows; i++)
		if (strlen(s->rows[i].name) > width)
			width = strlen(s->rows[i].name);
	fprintf(out, "\nmedians over completed runs:\n%-*s  %9s", (int)width, "scenario", "completed");
	for (size_t c = 0; c < NCOLS; c++)
		fprintf(out, "  %*s", (int)strlen(columns[c].header) > 10 ? (int)strlen(columns[c].header) : 10,
			columns[c].header);
	fputc('\n', out);
	for (size_t i = 0; i < s->nrows; i++) {
		const struct scenario_row *r = &s->rows[i];
		char done[32];

		snprintf(done, sizeof(done), "%zu/%zu", r->completed, r->runs);
		fprintf(out, "%-*s  %9s", (int)width, r->name, done);
		for (size_t c = 0; c < NCOLS; c++) {
			int w = (int)strlen(columns[c].header) > 10 ? (int)strlen(columns[c].header) : 10;
			double m = median(r->values[c], r->nvalues[c]);

			if (isnan(m))
				fprintf(out, "  %*s", w, "-");
			else if (!strcmp(columns[c].header, "pages"))
				fprintf(out, "  %*.0f", w, m);
			else
				fprintf(out, "  %*.3f", w, m);
		}
		fputc('\n', out);
	}
}

void mb_summary_free(struct mb_summary *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nrows; i++) {
		free(s->rows[i].name);
		for (size_t c = 0; c < NCOLS; c++)
			free(s->rows[i].values[c]);
	}
	free(s->rows);
	free(s);
}
