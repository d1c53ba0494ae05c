/* The libvirt runner's pieces for daemons on other hosts
 * (runners/libvirt_remote.h): URIs, which host is this one, the default
 * exec prefix, running through a prefix ("env" stands for the ssh to
 * another host: it runs the same words here), the image upload, and the
 * search for a domain's QEMU. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/clock.h"
#include "bench/scenario.h"
#include "runners/libvirt_console.h"
#include "runners/libvirt_params.h"
#include "runners/qmp.h"
#include "runners/libvirt_remote.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static void sleep_ms(unsigned ms)
{
	usleep(ms * 1000);
}

static void uri_parts(void **state)
{
	struct mb_lv_uri u;
	struct mb_err err = {0};

	assert_int_equal(mb_lv_uri_parse("qemu+ssh://root@h1.example:2222/system?keyfile=/k", &u, &err), 0);
	assert_string_equal(u.transport, "ssh");
	assert_string_equal(u.user, "root");
	assert_string_equal(u.host, "h1.example");
	assert_string_equal(u.port, "2222");
	assert_int_equal(mb_lv_uri_parse("qemu+tcp://10.0.0.2/system", &u, &err), 0);
	assert_string_equal(u.transport, "tcp");
	assert_string_equal(u.host, "10.0.0.2");
	assert_string_equal(u.user, "");
	assert_int_equal(mb_lv_uri_parse("qemu:///system", &u, &err), 0);
	assert_string_equal(u.host, "");
	assert_string_equal(u.transport, "");
	assert_int_equal(mb_lv_uri_parse("qemu+unix:///system?socket=/run/x/libvirt-sock", &u, &err), 0);
	assert_string_equal(u.host, "");
	assert_int_equal(mb_lv_uri_parse("qemu+ssh://[fe80::1]:22/system", &u, &err), 0);
	assert_string_equal(u.host, "[fe80::1]");
	assert_string_equal(u.port, "22");
	assert_int_equal(mb_lv_uri_parse("qemu-system", &u, &err), -1);
	assert_non_null(strstr(err.msg, "qemu-system"));
}

static void local_hosts(void **state)
{
	char name[256] = "";

	assert_true(mb_lv_host_is_local(""));
	assert_true(mb_lv_host_is_local("localhost"));
	assert_true(mb_lv_host_is_local("127.0.0.1"));
	assert_true(mb_lv_host_is_local("[::1]"));
	gethostname(name, sizeof(name) - 1);
	assert_true(mb_lv_host_is_local(name));
	/* TEST-NET-3: nobody's */
	assert_false(mb_lv_host_is_local("203.0.113.9"));
	assert_false(mb_lv_host_is_local("no-such-host.invalid"));
}

static void default_exec(void **state)
{
	struct mb_lv_uri u;
	struct mb_err err = {0};
	char buf[256];

	mb_lv_uri_parse("qemu+ssh://root@h1:2222/system", &u, &err);
	mb_lv_default_exec(&u, buf, sizeof(buf));
	assert_string_equal(buf, "ssh -o BatchMode=yes -p 2222 root@h1");
	mb_lv_uri_parse("qemu+ssh://h2/system", &u, &err);
	mb_lv_default_exec(&u, buf, sizeof(buf));
	assert_string_equal(buf, "ssh -o BatchMode=yes h2");
	mb_lv_uri_parse("qemu+tcp://h3/system", &u, &err);
	mb_lv_default_exec(&u, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void exec_status_output_timeout(void **state)
{
	struct mb_err err = {0};
	char out[64];
	int64_t t0;

	assert_int_equal(mb_lv_exec("env", "echo hello", -1, out, sizeof(out), 5000, &err), 0);
	assert_string_equal(out, "hello\n");
	assert_int_equal(mb_lv_exec("env", "sh -c exit\\ 3", -1, NULL, 0, 5000, &err), 3);
	assert_non_null(strstr(err.msg, "exited 3"));
	assert_int_equal(mb_lv_exec("env", "ls /no/such/dir", -1, NULL, 0, 5000, &err), 2);
	assert_non_null(strstr(err.msg, "/no/such/dir"));
	t0 = mb_clock_us(CLOCK_MONOTONIC);
	assert_int_equal(mb_lv_exec("env", "sleep 10", -1, NULL, 0, 200, &err), -1);
	assert_int_equal(err.errnum, ETIMEDOUT);
	assert_true(mb_clock_us(CLOCK_MONOTONIC) - t0 < 3000000);
	assert_int_equal(mb_lv_exec("", "true", -1, NULL, 0, 1000, &err), -1);
	assert_non_null(strstr(err.msg, "libvirt_exec"));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void upload_when_missing(void **state)
{
	char dir[] = "/tmp/mbt-lvremote-XXXXXX", local[PATH_MAX], remote[PATH_MAX], spaced[PATH_MAX];
	struct mb_err err = {0};
	struct stat st;
	int uploaded = -1;

	assert_non_null(mkdtemp(dir));
	snprintf(local, sizeof(local), "%s/vmlinuz", dir);
	snprintf(remote, sizeof(remote), "%s/there/images/abc/vmlinuz", dir);
	write_file(local, "a kernel, of sorts\n");
	assert_int_equal(mb_lv_remote_ensure_file("env", "h1", "kernel", local, remote, &uploaded, &err), 0);
	assert_int_equal(uploaded, 1);
	assert_int_equal(stat(remote, &st), 0);
	assert_int_equal(st.st_size, 19);
	/* there now: nothing to do */
	assert_int_equal(mb_lv_remote_ensure_file("env", "h1", "kernel", local, remote, &uploaded, &err), 0);
	assert_int_equal(uploaded, 0);
	/* another file of that name there: replaced */
	write_file(remote, "short\n");
	assert_int_equal(mb_lv_remote_ensure_file("env", "h1", "kernel", local, remote, &uploaded, &err), 0);
	assert_int_equal(uploaded, 1);
	assert_int_equal(stat(remote, &st), 0);
	assert_int_equal(st.st_size, 19);
	/* no way to reach the host: what to copy where */
	assert_int_equal(mb_lv_remote_ensure_file("", "h1", "kernel", local, remote, &uploaded, &err), -1);
	assert_non_null(strstr(err.msg, "scp"));
	assert_non_null(strstr(err.msg, "h1"));
	/* a path no second shell would take as it is */
	snprintf(spaced, sizeof(spaced), "%s/with space/vmlinuz", dir);
	assert_int_equal(mb_lv_remote_ensure_file("env", "h1", "kernel", local, spaced, &uploaded, &err), -1);
	assert_non_null(strstr(err.msg, "yourself"));
	/* the host cannot be reached */
	assert_int_equal(mb_lv_remote_ensure_file("false", "h1", "kernel", local, remote, &uploaded, &err), -1);
	assert_non_null(strstr(err.msg, "host h1"));
	unlink(remote);
	unlink(local);
	snprintf(spaced, sizeof(spaced), "%s/there/images/abc", dir);
	rmdir(spaced);
	snprintf(spaced, sizeof(spaced), "%s/there/images", dir);
	rmdir(spaced);
	snprintf(spaced, sizeof(spaced), "%s/there", dir);
	rmdir(spaced);
	assert_int_equal(rmdir(dir), 0);
}

static void qemu_not_there(void **state)
{
	struct mb_probe_side side = {0};

	mb_lv_remote_qemu("env", "migbench-no-such-domain-0", &side);
	assert_int_equal(side.pid, 0);
	assert_non_null(strstr(side.vcpu_error, "no QEMU of domain migbench-no-such-domain-0"));
	mb_lv_remote_qemu("env", "bad name'", &side);
	assert_int_equal(side.pid, 0);
	assert_non_null(strstr(side.vcpu_error, "not sent"));
}

/* A console served on TCP: the problem lines and the tail, read before
 * and after the server closes; a port nobody serves says why. */
static void console_over_tcp(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), cfd;
	struct mb_lv_console *c;
	struct mb_err err = {0};
	const char *text = "[    0.1] Linux version 6.1\r\n[    5.0] watchdog: BUG: soft lockup - CPU#0 stuck\r\n"
			   "migbench-agent: ready\n";
	char tail[512], why[256];
	json_t *lines = json_array();

	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	assert_int_equal(mb_lv_console_start("127.0.0.1", ntohs(sa.sin_port), 5000, &c, &err), 0);
	cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	assert_int_equal(write(cfd, text, strlen(text)), (ssize_t)strlen(text));
	close(cfd);
	close(lfd);
	for (int i = 0; i < 100 && json_array_size(lines) == 0; i++) {
		sleep_ms(20);
		mb_lv_console_problems(c, lines);
	}
	assert_int_equal(json_array_size(lines), 1);
	assert_string_equal(json_string_value(json_array_get(lines, 0)), "[    5.0] watchdog: BUG: soft lockup - CPU#0 stuck");
	mb_lv_console_tail(c, tail, sizeof(tail));
	assert_non_null(strstr(tail, "migbench-agent: ready"));
	assert_true(mb_lv_console_connected(c, why, sizeof(why)));
	mb_lv_console_stop(c);
	json_decref(lines);

	/* nothing listens there (the port just closed): never connected, and why */
	assert_int_equal(mb_lv_console_start("127.0.0.1", ntohs(sa.sin_port), 300, &c, &err), 0);
	sleep_ms(500);
	assert_false(mb_lv_console_connected(c, why, sizeof(why)));
	assert_non_null(strstr(why, "refused"));
	mb_lv_console_stop(c);
}

/* What the source QEMU must hold under libvirt, in QEMU's terms: what the
 * scenario asked, so that a QEMU (or libvirt) holding something else is
 * caught by mb_qmp_compare_applied, naming the key. */
static void applied_wanted_in_qemu_terms(void **state)
{
	struct mb_params p = { .mode = MB_MODE_HYBRID, .max_bandwidth = 64 << 20, .downtime_limit_us = 250500,
			       .multifd = 4, .auto_converge = true };
	json_t *want = mb_lv_wanted_params(&p), *caps = mb_lv_wanted_caps(&p);
	json_t *held = json_pack("{s:I, s:I, s:i, s:I}", "max-bandwidth", (json_int_t)(64 << 20), "downtime-limit",
				 (json_int_t)251, "multifd-channels", 4, "xbzrle-cache-size", (json_int_t)67108864);
	json_t *held_caps = json_pack("{s:b, s:b, s:b, s:b, s:b}", "events", 1, "postcopy-ram", 1, "multifd", 1,
				      "xbzrle", 0, "auto-converge", 1);
	struct mb_err err = { 0 };

	(void)state;
	assert_int_equal(json_integer_value(json_object_get(want, "downtime-limit")), 251); /* rounded up */
	assert_null(json_object_get(want, "xbzrle-cache-size"));                          /* not asked */
	assert_int_equal(mb_qmp_compare_applied(held, want, "migration parameter", &err), 0);
	assert_int_equal(mb_qmp_compare_applied(held_caps, caps, "migration capability", &err), 0);
	/* a bandwidth libvirt did not pass on, post-copy left off */
	json_object_set_new(held, "max-bandwidth", json_integer(134217728));
	assert_int_equal(mb_qmp_compare_applied(held, want, "migration parameter", &err), -1);
	assert_non_null(strstr(err.msg, "'max-bandwidth': asked 67108864, QEMU holds 134217728"));
	json_object_set_new(held_caps, "postcopy-ram", json_false());
	assert_int_equal(mb_qmp_compare_applied(held_caps, caps, "migration capability", &err), -1);
	assert_non_null(strstr(err.msg, "'postcopy-ram'"));
	json_decref(want);
	json_decref(caps);
	json_decref(held);
	json_decref(held_caps);
}

/* workload=echo/kv is refused naming the workloads the runner can run, as
 * the one workload description lists them (none hard-coded). */
static void network_workloads_refused_from_the_description(void **state)
{
	struct mb_scenario_set *set;
	struct mb_campaign c = {0};
	struct mb_err err = {0};
	char want[256] = "";

	(void)state;
	assert_int_equal(mb_keys_init(&err), 0);
	set = mb_scenario_set_new(&err);
	assert_non_null(set);
	assert_int_equal(mb_scenario_apply_option(set, "workload", "kv", &err), 0);
	assert_int_equal(mb_scenario_expand(set, &c, &err), 0);
	assert_int_equal(mb_lv_check_keys(&c.runs[0], &err), -1);
	for (int w = 0; mb_workload_desc(w); w++)
		if (!mb_workload_has_net(w))
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s", want[0] ? ", " : "",
				 mb_workload_desc(w)->name);
	assert_non_null(strstr(err.msg, "workload=kv"));
	if (!strstr(err.msg, want) || !strstr(want, "dirty"))
		fail_msg("the refusal does not offer %s: %s", want, err.msg);
	mb_campaign_free(&c);
	mb_scenario_set_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uri_parts),
		cmocka_unit_test(local_hosts),
		cmocka_unit_test(default_exec),
		cmocka_unit_test(exec_status_output_timeout),
		cmocka_unit_test(upload_when_missing),
		cmocka_unit_test(qemu_not_there),
		cmocka_unit_test(console_over_tcp),
		cmocka_unit_test(applied_wanted_in_qemu_terms),
		cmocka_unit_test(network_workloads_refused_from_the_description),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
