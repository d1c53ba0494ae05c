/* The metrics a result holds under "metrics", in one table: what each is
 * called in a paper table, its unit, which way is better and the smallest
 * change of its median worth a verdict. `migbench run --list-metrics --json`
 * prints it and the R analysis reads it from there (its own rows are only the
 * figures it derives itself), so a metric is described once. */
#ifndef MB_METRIC_CATALOG_H
#define MB_METRIC_CATALOG_H

#include <jansson.h>
#include <stddef.h>

enum mb_better {
	MB_BETTER_NONE,         /* informational: never a verdict */
	MB_BETTER_LOWER,        /* a rise is a regression */
	MB_BETTER_HIGHER,       /* a fall is a regression */
};

struct mb_metric_info {
	const char *path;       /* under "metrics", levels joined by dots */
	const char *label;
	const char *unit;       /* of value x scale */
	double scale;
	enum mb_better better;
	double floor;           /* in unit: smaller changes are never a verdict */
	int paper;              /* a column of the paper table */
};

extern const struct mb_metric_info mb_metric_catalog[];
extern const size_t mb_metric_catalog_size;

/* The catalogue as a JSON array of {metric, label, unit, scale, better
 * ("lower", "higher" or null), floor, paper}; NULL when out of memory. */
json_t *mb_metric_catalog_json(void);

/* The entry of a metric path, or NULL. */
const struct mb_metric_info *mb_metric_find(const char *path);

#endif
