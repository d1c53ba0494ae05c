/* libFuzzer target: reading result documents back (bench/summary.c), what
 * `migbench run` does with every result it wrote to print its closing table.
 * There is no other C reader of result files: report and compare are R.
 *
 * The input is JSON: one result document, or an array of them (a campaign's
 * worth, so scenarios with several runs make rows with several values). */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench/summary.h"
#include "tests/fuzz/fuzz.h"

#define TARGET "result"

static FILE *sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *doc = json_loadb((const char *)data, size, 0, &jerr), *item;
	struct mb_summary *s;
	size_t i;

	if (!doc)
		return 0;
	if (!sink && !(sink = fopen("/dev/null", "w")))
		fuzz_bug(TARGET, "cannot open /dev/null for the table: %s", strerror(errno));
	s = mb_summary_new();
	if (!s)
		fuzz_bug(TARGET, "mb_summary_new returned NULL");
	if (json_is_array(doc)) {
		json_array_foreach(doc, i, item)
			mb_summary_add(s, item);
	} else {
		mb_summary_add(s, doc);
	}
	mb_summary_print(s, sink);
	if (ferror(sink))
		fuzz_bug(TARGET, "writing the table to /dev/null failed");
	mb_summary_free(s);
	json_decref(doc);
	return 0;
}
