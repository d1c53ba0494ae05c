/* The plug-ins that bring their own scenario keys (probes, runners), as one
 * list for the key namespace (bench/scenario.h, mb_plugins_list). */
#ifndef MB_PLUGINS_H
#define MB_PLUGINS_H

#include "bench/error.h"
#include "probes/probe.h"
#include "runners/runner.h"

/* Refuses, naming both, a probe whose name is another probe's or a member
 * the result document has of its own (mb_result_members, or a runner's
 * NAME_reported): its output goes under that name at the document's top
 * level. Returns 0 or -1. */
int mb_probe_names_check(const struct mb_probe_ops *const *probes,
			 const struct mb_runner_ops *const *runners, struct mb_err *err);

#endif
