/* The table `migbench run` prints at the end: per scenario, the median of
 * each metric over its completed runs, and how many runs did not complete. */
#ifndef MB_SUMMARY_H
#define MB_SUMMARY_H

#include <stdio.h>

#include <jansson.h>

struct mb_summary;

struct mb_summary *mb_summary_new(void);
/* Adds one result document (borrowed). */
void mb_summary_add(struct mb_summary *s, const json_t *result);
void mb_summary_print(const struct mb_summary *s, FILE *out);
void mb_summary_free(struct mb_summary *s);

#endif
