/* `migbench host-probes`: the probes of one side of a migration, run on the
 * host where that side's QEMU runs. migbench starts it there itself, over
 * the same ssh that libvirt's qemu+ssh:// URI uses, and drives it with
 * line-delimited JSON on stdin/stdout (the caller: bench/remote_probes.c). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/clock.h"
#include "bench/command.h"
#include "bench/options.h"
#include "bench/remote_probes.h"
#include "bench/scenario.h"
#include "probes/probe.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: migbench host-probes\n"
		"\n"
		"Runs migbench's probes (energy, counters and CPU time of the QEMU threads,\n"
		"placement) for one side of a migration on the host where that side's QEMU\n"
		"runs. migbench starts it by itself on the other hosts of a libvirt run, over\n"
		"the same ssh as libvirt (e.g. `ssh -o BatchMode=yes root@host migbench\n"
		"host-probes`): there is no need to run it by hand. It speaks one JSON object\n"
		"per line on stdin and stdout:\n"
		"\n"
		"  in  {\"params\": {KEY: TEXT, ...}, \"side\": {\"role\": R, \"host\": H, \"pid\": P,\n"
		"       \"vcpus\": [{\"tid\": T, \"index\": I}, ...], \"vcpu_error\": E}}\n"
		"  out {\"started\": true, \"host\": HOSTNAME, \"failures\": {PROBE: {...}},\n"
		"       \"params_ignored\": {KEY: WHY}, \"clock_real_us\": NOW}\n"
		"  in  {\"ping\": N}                      out {\"pong\": N, \"clock_real_us\": NOW}\n"
		"  in  {\"stop\": {}}                     out {\"stopped\": true, \"clock_real_us\": NOW}\n"
		"  in  {\"collect\": {\"times\": {...}}}    out {\"probes\": {PROBE: OUTPUT}}, then exits\n"
		"  in  {\"stop\": {\"times\": {...}}}       stop and collect at once\n"
		"\n"
		"params are scenario keys as written (`migbench run --help`); a value this\n"
		"host refuses keeps the default and is named in params_ignored. times are the\n"
		"migration's instants (start_us, src_stop_us, dst_resume_us, postcopy_us,\n"
		"src_complete_us, dst_complete_us, ...; µs of CLOCK_REALTIME) already on this\n"
		"host's clock: the caller measures the offset with the pings. End of stdin\n"
		"stops the probes and exits without output.\n"
		"\n"
		"exit status: 0 done (or stdin ended); 1 failed; 2 a line that breaks the\n"
		"protocol (the message on stderr says which and why).\n");
}

struct host_probes {
	struct mb_run_spec spec;
	struct mb_probe_ctx ctx;
	struct mb_probe_set *probes;    /* every registered probe (probes/probe_set.c) */
	json_t *ignored;
	FILE *out;
};

static int protocol_error(const char *fmt, const char *what, const char *why)
{
	fprintf(stderr, "migbench host-probes: ");
	fprintf(stderr, fmt, what, why);
	fputc('\n', stderr);
	return MB_EXIT_USAGE;
}

/* The scenario's keys as the caller wrote them; each one this host refuses
 * (a cpuset naming CPUs it lacks) keeps its default and is named. */
static int build_spec(struct host_probes *hp, const json_t *params)
{
	struct mb_err err = { 0 };

	hp->spec.name = "host-probes";
	hp->ignored = json_object();
	hp->ctx.spec = &hp->spec;
	if (mb_run_spec_defaults(&hp->spec, &err)) {
		fprintf(stderr, "migbench host-probes: the scenario keys' defaults: %s\n", err.msg);
		return MB_EXIT_FAILED;
	}
	for (size_t k = 0; k < mb_key_count(); k++) {
		const struct mb_key *key = mb_key_at(k);
		const char *text = json_string_value(json_object_get(params, key->name));

		if (text && mb_run_spec_set(&hp->spec, key, text, &err))
			json_object_set_new(hp->ignored, key->name, json_string(err.msg));
	}
	return 0;
}

static int build_side(struct host_probes *hp, const json_t *side)
{
	struct mb_probe_side *s;
	const char *role = json_string_value(json_object_get(side, "role"));
	json_t *pid = json_object_get(side, "pid"), *vcpus = json_object_get(side, "vcpus"), *v;
	size_t i;

	if (!json_is_object(side))
		return protocol_error("first line: %s %s", "\"side\"", "is missing or not an object");
	if (!role || (strcmp(role, "source") && strcmp(role, "destination")))
		return protocol_error("first line: %s %s", "\"side\".role", "is not \"source\" or \"destination\"");
	if (pid && !json_is_integer(pid))
		return protocol_error("first line: %s %s", "\"side\".pid", "is not an integer");
	if (vcpus && !json_is_array(vcpus))
		return protocol_error("first line: %s %s", "\"side\".vcpus", "is not an array");
	s = &hp->ctx.side[strcmp(role, "source") ? MB_SIDE_DESTINATION : MB_SIDE_SOURCE];
	hp->ctx.side[MB_SIDE_SOURCE].role = "source";
	hp->ctx.side[MB_SIDE_DESTINATION].role = "destination";
	s->host = json_string_value(json_object_get(side, "host"));
	s->local = 1;
	s->pid = pid ? (pid_t)json_integer_value(pid) : 0;
	snprintf(s->vcpu_error, sizeof(s->vcpu_error), "%s",
		 json_string_value(json_object_get(side, "vcpu_error")) ?: "");
	json_array_foreach(vcpus, i, v) {
		json_t *tid = json_object_get(v, "tid"), *idx = json_object_get(v, "index");

		if (!json_is_integer(tid) || !json_is_integer(idx))
			return protocol_error("first line: %s %s", "\"side\".vcpus[]", "needs integers tid and index");
		if (s->nvcpus < MB_PROBE_MAX_VCPUS) {
			s->vcpu_tid[s->nvcpus] = (pid_t)json_integer_value(tid);
			s->vcpu_index[s->nvcpus] = (int)json_integer_value(idx);
			s->nvcpus++;
		}
	}
	return 0;
}

static void release(struct host_probes *hp)
{
	json_decref(mb_probe_set_collect(hp->probes, &(struct mb_mig_times){ 0 }, NULL));
	hp->probes = NULL;
	mb_run_spec_release(&hp->spec);
	json_decref(hp->ignored);
}

static int answer(struct host_probes *hp, json_t *msg)
{
	int rc = json_dumpf(msg, hp->out, JSON_COMPACT) || fputc('\n', hp->out) == EOF || fflush(hp->out);

	json_decref(msg);
	if (rc)
		fprintf(stderr, "migbench host-probes: writing to stdout: %s\n", strerror(errno));
	return rc ? MB_EXIT_FAILED : 0;
}

/* One line of stdin as a JSON object; NULL at EOF (with *status 0) or on
 * a broken line (*status != 0, said on stderr). */
static json_t *next_line(const char *what, int *status)
{
	static char *line;
	static size_t cap;
	json_error_t je;
	json_t *o;
	ssize_t n = getline(&line, &cap, stdin);

	*status = 0;
	if (n < 0) {
		free(line);
		line = NULL;
		cap = 0;
		return NULL;
	}
	o = json_loadb(line, (size_t)n, 0, &je);
	if (!json_is_object(o)) {
		*status = protocol_error("%s: not a JSON object (%s)", what, o ? "another JSON value" : je.text);
		json_decref(o);
		return NULL;
	}
	return o;
}

static int collect_and_answer(struct host_probes *hp, const json_t *times_o)
{
	struct mb_mig_times times;
	struct mb_err err = { 0 };

	if (mb_remote_times_from_json(times_o, &times, &err))
		return protocol_error("%s: %s", "stop/collect", err.msg);
	json_t *all = mb_probe_set_collect(hp->probes, &times, NULL);

	hp->probes = NULL;
	return answer(hp, json_pack("{s:o}", "probes", all));
}

/* After "started": pings, then stop and collect. */
static int serve(struct host_probes *hp)
{
	int status, stopped = 0;
	json_t *msg;

	while ((msg = next_line("a line after the first", &status))) {
		json_t *ping = json_object_get(msg, "ping"), *stop = json_object_get(msg, "stop");
		json_t *collect = json_object_get(msg, "collect");

		if (ping) {
			status = answer(hp, json_pack("{s:O, s:I}", "pong", ping, "clock_real_us",
						      (json_int_t)mb_clock_us(CLOCK_REALTIME)));
		} else if (json_is_object(stop) && !stopped) {
			mb_probe_set_stop(hp->probes);
			stopped = 1;
			status = json_object_get(stop, "times")
					 ? collect_and_answer(hp, json_object_get(stop, "times"))
					 : answer(hp, json_pack("{s:b, s:I}", "stopped", 1, "clock_real_us",
								(json_int_t)mb_clock_us(CLOCK_REALTIME)));
			if (!status && json_object_get(stop, "times")) {
				json_decref(msg);
				return MB_EXIT_OK;
			}
		} else if (json_is_object(collect) && stopped) {
			status = collect_and_answer(hp, json_object_get(collect, "times"));
			json_decref(msg);
			return status;
		} else {
			status = protocol_error("%s: %s", "a line after the first",
						"expected {\"ping\": N}, {\"stop\": {...}} or, after stop, "
						"{\"collect\": {\"times\": {...}}}");
		}
		json_decref(msg);
		if (status)
			return status;
	}
	if (status)
		return status;
	/* EOF: the caller gave up; stop quietly. */
	if (!stopped)
		mb_probe_set_stop(hp->probes);
	return MB_EXIT_OK;
}

static int cmd_host_probes(int argc, char **argv)
{
	struct host_probes hp = { 0 };
	char host[256] = "";
	static const struct mb_opt none[] = { { 0 } };
	static const struct mb_opt_spec spec = { .cmd = "host-probes", .opts = none, .usage = usage };
	json_t *first, *params;
	int fd, status, pos;

	status = mb_opts_command(&spec, argc, argv, &pos);
	if (status >= 0)
		return status;
	/* stdout is the protocol's: whatever a library prints goes to stderr. */
	fd = dup(STDOUT_FILENO);
	if (fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0 || !(hp.out = fdopen(fd, "w"))) {
		fprintf(stderr, "migbench host-probes: setting up stdout: %s\n", strerror(errno));
		return MB_EXIT_FAILED;
	}
	first = next_line("first line", &status);
	if (!first) {
		fclose(hp.out);
		return status ? status : protocol_error("%s %s", "stdin", "ended before the first line");
	}
	params = json_object_get(first, "params");
	if (params && !json_is_object(params))
		status = protocol_error("first line: %s %s", "\"params\"", "is not an object of KEY: TEXT");
	if (!status)
		status = build_side(&hp, json_object_get(first, "side"));
	if (status) {
		json_decref(first);
		fclose(hp.out);
		return status;
	}
	status = build_spec(&hp, params);
	if (!status && !(hp.probes = mb_probe_set_start(&hp.ctx))) {
		fprintf(stderr, "migbench host-probes: starting the probes: out of memory\n");
		status = MB_EXIT_FAILED;
	}
	gethostname(host, sizeof(host) - 1);
	if (!status)
		status = answer(&hp, json_pack("{s:b, s:s, s:O, s:O, s:I}", "started", 1, "host", host,
					       "failures", mb_probe_set_failures(hp.probes), "params_ignored",
					       hp.ignored, "clock_real_us", (json_int_t)mb_clock_us(CLOCK_REALTIME)));
	if (!status)
		status = serve(&hp);
	release(&hp);
	json_decref(first);
	fclose(hp.out);
	return status;
}

const struct mb_command mb_cmd_host_probes = {
	.name = "host-probes",
	.summary = "the probes of one side on its own host (started by migbench over ssh)",
	.run = cmd_host_probes,
};
