/* The agent's configuration: the migbench.* parameters of the kernel command
 * line (or of argv in --stdio mode). See README.md for names and defaults. */
#ifndef MB_AGENT_CONFIG_H
#define MB_AGENT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "workloads/workload_list.h"

/* migbench.workload= names the loop the agent runs: a workload of
 * ../workload_list.h whose loop is its own (dirty, idle, compute).
 * migbench.svc= names a network service beside it (UDP on the address
 * migbench.net, see ../svc_proto.h): the first workload whose svc column it
 * is (echo, kv), stored as that workload, or AGENT_SVC_NONE for "none". */
#define AGENT_SVC_NONE (-1)

/* Heartbeat periods outside this range are refused: below it the heartbeat
 * thread would eat the guest's CPU under TCG, above it the host could not
 * tell a slow guest from a dead one. */
#define AGENT_PERIOD_MIN_US 100u
#define AGENT_PERIOD_MAX_US 60000000u

/* The expected-generation array is indexed by uint32_t. */
#define AGENT_WSS_MAX_PAGES 0xffffffffu

struct agent_config {
	enum mb_workload workload; /* a loop: mb_workload_is_loop */
	uint64_t page_size;
	uint64_t wss_pages;
	uint64_t rate_pages; /* pages per second; 0 = as fast as possible */
	enum mb_pattern pattern;
	double hot;          /* fraction of the working set that is hot */
	double hotw;         /* fraction of writes that go to the hot part */
	uint64_t period_us;
	uint64_t seed;
	int svc;             /* enum mb_workload with a service, or AGENT_SVC_NONE */
	uint64_t kv_size;    /* bytes of the kv store */
	uint32_t net_addr;   /* the guest's IPv4 address, host byte order */
	unsigned net_prefix; /* its prefix length */
	unsigned svc_port;   /* UDP port of the service */
};

/* How many rejected parameters are described in full; more are counted. */
#define AGENT_CONFIG_MAX_ERRORS 8

/* What went wrong while reading the parameters: for each rejected one, a
 * `message` for people (console) and a `word` without spaces that fits
 * `ERR msg=`. */
struct agent_config_error {
	unsigned count;
	struct {
		char message[256];
		char word[96];
	} items[AGENT_CONFIG_MAX_ERRORS];
};

void agent_config_defaults(struct agent_config *config, uint64_t page_size);

/* Sets one parameter by its name without the "migbench." prefix. On a bad
 * value or an unknown name, leaves `config` unchanged, records the problem
 * in `error` and returns -1. */
int agent_config_set(struct agent_config *config, const char *key, const char *value,
		     struct agent_config_error *error);

/* Applies every migbench.* word of a kernel command line (other words are
 * the kernel's and ignored; "quoted values" are unquoted). Returns the
 * number of rejected parameters, each described in `error`. */
int agent_config_parse_cmdline(struct agent_config *config, const char *cmdline,
			       struct agent_config_error *error);

/* The same for argv-style words ("migbench.rate=1000"), as --stdio takes them. */
int agent_config_parse_words(struct agent_config *config, int nwords, char *const words[],
			     struct agent_config_error *error);

/* Parses a dirty rate exactly as migbench.rate= does (and RATE on the channel). */
int agent_parse_rate(const char *value, uint64_t page_size, uint64_t *pages_per_s);

/* Parses a heartbeat period exactly as migbench.period= does (and PERIOD). */
int agent_parse_period(const char *value, uint64_t *period_us);

const char *agent_workload_name(enum mb_workload workload);
const char *agent_pattern_name(enum mb_pattern pattern);
const char *agent_svc_name(int svc); /* "none", "echo", "kv" */

/* Parses "a.b.c.d/n" (migbench.net). Returns 0 or -1. */
int agent_parse_net(const char *value, uint32_t *addr, unsigned *prefix);

#endif
