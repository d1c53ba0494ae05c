#include "workloads/agent/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/units.h"
#include "workloads/svc_proto.h"

#define PARAM_PREFIX "migbench."

/* The kv store needs one slot; more than 1 TiB is surely a typo. */
#define KV_SIZE_MAX (UINT64_C(1) << 40)

const char *agent_workload_name(enum mb_workload workload)
{
	return mb_workload_name(workload);
}

const char *agent_pattern_name(enum mb_pattern pattern)
{
	return mb_pattern_name(pattern);
}

const char *agent_svc_name(int svc)
{
	return svc == AGENT_SVC_NONE ? "none" : mb_workload_desc(svc) ? mb_workload_descs[svc].svc : "?";
}

/* migbench.workload=: the workload called `value` if it is a loop of its own. */
static int find_loop(const char *value)
{
	int w = mb_workload_find(value);

	return mb_workload_is_loop(w) ? w : -1;
}

/* migbench.svc=: the first workload that runs the service `value`. */
static int find_svc(const char *value)
{
	if (!strcmp(value, "none"))
		return AGENT_SVC_NONE;
	for (size_t i = 0; i < MB_WORKLOAD_COUNT; i++)
		if (mb_workload_has_net((int)i) && !strcmp(mb_workload_descs[i].svc, value))
			return (int)i;
	return -2;
}

static int find_pattern(const char *value)
{
	for (size_t i = 0; i < MB_PATTERN_COUNT; i++)
		if (!strcmp(mb_pattern_names[i], value))
			return (int)i;
	return -1;
}

/* The values a choice parameter accepts, for a message: "dirty, idle or compute". */
enum choice { CHOICE_LOOP, CHOICE_SVC, CHOICE_PATTERN };

static const char *list_values(enum choice kind, char *buf, size_t size)
{
	const char *names[MB_WORKLOAD_COUNT + MB_PATTERN_COUNT + 1];
	size_t n = 0, used = 0;

	if (kind == CHOICE_SVC)
		names[n++] = "none";
	for (size_t i = 0; kind == CHOICE_PATTERN && i < MB_PATTERN_COUNT; i++)
		names[n++] = mb_pattern_names[i];
	for (size_t i = 0; kind != CHOICE_PATTERN && i < MB_WORKLOAD_COUNT; i++)
		if (kind == CHOICE_LOOP && mb_workload_is_loop((int)i))
			names[n++] = mb_workload_descs[i].name;
		else if (kind == CHOICE_SVC && find_svc(mb_workload_descs[i].svc) == (int)i)
			names[n++] = mb_workload_descs[i].svc;
	buf[0] = '\0';
	for (size_t i = 0; i < n && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
					 names[i]);
	return buf;
}

int agent_parse_net(const char *value, uint32_t *addr, unsigned *prefix)
{
	char text[32];
	const char *slash = strchr(value, '/');
	struct in_addr a;
	unsigned long n;
	char *end;
	size_t len = slash ? (size_t)(slash - value) : strlen(value);

	if (!slash || len == 0 || len >= sizeof(text) || !isdigit((unsigned char)slash[1]))
		return -1;
	memcpy(text, value, len);
	text[len] = '\0';
	if (inet_pton(AF_INET, text, &a) != 1)
		return -1;
	errno = 0;
	n = strtoul(slash + 1, &end, 10);
	if (errno || *end || n < 1 || n > 30)
		return -1;
	*addr = ntohl(a.s_addr);
	*prefix = (unsigned)n;
	return 0;
}

void agent_config_defaults(struct agent_config *config, uint64_t page_size)
{
	*config = (struct agent_config){
		.workload = MB_WORKLOAD_DIRTY,
		.page_size = page_size,
		.wss_pages = (64ull << 20) / page_size,
		.rate_pages = 0,
		.pattern = MB_PATTERN_SEQUENTIAL,
		.hot = 0.2,
		.hotw = 0.8,
		.period_us = 1000,
		.seed = 1,
		.svc = AGENT_SVC_NONE,
		.kv_size = 64ull << 20,
		.net_addr = 0x0a4d0002u, /* MB_NET_GUEST_ADDR */
		.net_prefix = MB_NET_PREFIX,
		.svc_port = MB_SVC_PORT,
	};
}

/* Records a rejected parameter (beyond AGENT_CONFIG_MAX_ERRORS, only counts it). */
static int reject(struct agent_config_error *error, const char *word_kind, const char *key,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int reject(struct agent_config_error *error, const char *word_kind, const char *key,
		  const char *fmt, ...)
{
	va_list ap;

	if (error->count < AGENT_CONFIG_MAX_ERRORS) {
		va_start(ap, fmt);
		vsnprintf(error->items[error->count].message, sizeof(error->items[0].message), fmt, ap);
		va_end(ap);
		snprintf(error->items[error->count].word, sizeof(error->items[0].word), "%s:" PARAM_PREFIX "%.60s",
			 word_kind, key);
		/* The word travels in `ERR msg=`, which must not contain spaces. */
		for (char *c = error->items[error->count].word; *c; c++)
			if (isspace((unsigned char)*c) || *c == '=')
				*c = '_';
	}
	error->count++;
	return -1;
}

int agent_parse_rate(const char *value, uint64_t page_size, uint64_t *pages_per_s)
{
	return mb_parse_rate_pages(value, page_size, pages_per_s);
}

int agent_parse_period(const char *value, uint64_t *period_us)
{
	uint64_t us;

	if (mb_parse_duration_us(value, 1, &us) || us < AGENT_PERIOD_MIN_US || us > AGENT_PERIOD_MAX_US)
		return -1;
	*period_us = us;
	return 0;
}

static int parse_seed(const char *value, uint64_t *seed)
{
	unsigned long long n;
	char *end;

	if (!*value || *value == '-' || *value == '+' || isspace((unsigned char)*value))
		return -1;
	errno = 0;
	n = strtoull(value, &end, 0);
	if (errno || *end)
		return -1;
	*seed = n;
	return 0;
}

int agent_config_set(struct agent_config *config, const char *key, const char *value,
		     struct agent_config_error *error)
{
	uint64_t n;
	double fraction;
	int index;
	char names[256];

	if (!strcmp(key, "workload")) {
		index = find_loop(value);
		if (index < 0)
			return reject(error, "bad_value", key, PARAM_PREFIX "workload=%s: unknown workload (%s)", value,
				      list_values(CHOICE_LOOP, names, sizeof(names)));
		config->workload = (enum mb_workload)index;
	} else if (!strcmp(key, "pattern")) {
		index = find_pattern(value);
		if (index < 0)
			return reject(error, "bad_value", key, PARAM_PREFIX "pattern=%s: unknown pattern (%s)", value,
				      list_values(CHOICE_PATTERN, names, sizeof(names)));
		config->pattern = (enum mb_pattern)index;
	} else if (!strcmp(key, "wss")) {
		if (mb_parse_size(value, &n) || n == 0)
			return reject(error, "bad_value", key,
				      PARAM_PREFIX "wss=%s: not a positive size (e.g. 64M, 1G)", value);
		/* A partial page is still a page the workload dirties. */
		n = n / config->page_size + (n % config->page_size != 0);
		if (n > AGENT_WSS_MAX_PAGES)
			return reject(error, "bad_value", key,
				      PARAM_PREFIX "wss=%s: more than %u pages", value, AGENT_WSS_MAX_PAGES);
		config->wss_pages = n;
	} else if (!strcmp(key, "rate")) {
		if (agent_parse_rate(value, config->page_size, &n))
			return reject(error, "bad_value", key,
				      PARAM_PREFIX "rate=%s: not a rate (pages/s, or bytes/s with a suffix like 16M; 0 = unpaced)",
				      value);
		config->rate_pages = n;
	} else if (!strcmp(key, "hot") || !strcmp(key, "hotw")) {
		if (mb_parse_fraction(value, &fraction))
			return reject(error, "bad_value", key,
				      PARAM_PREFIX "%s=%s: not a fraction in [0, 1] (e.g. 0.2 or 20%%)", key, value);
		if (!strcmp(key, "hot"))
			config->hot = fraction;
		else
			config->hotw = fraction;
	} else if (!strcmp(key, "period")) {
		if (agent_parse_period(value, &n))
			return reject(error, "bad_value", key,
				      PARAM_PREFIX "period=%s: not a duration between %uus and %us (plain number = us)",
				      value, AGENT_PERIOD_MIN_US, AGENT_PERIOD_MAX_US / 1000000u);
		config->period_us = n;
	} else if (!strcmp(key, "seed")) {
		if (parse_seed(value, &n))
			return reject(error, "bad_value", key,
				      PARAM_PREFIX "seed=%s: not an unsigned 64-bit integer", value);
		config->seed = n;
	} else if (!strcmp(key, "svc")) {
		index = find_svc(value);
		if (index < AGENT_SVC_NONE)
			return reject(error, "bad_value", key, PARAM_PREFIX "svc=%s: unknown service (%s)", value,
				      list_values(CHOICE_SVC, names, sizeof(names)));
		config->svc = index;
	} else if (!strcmp(key, "kv_size")) {
		if (mb_parse_size(value, &n) || n < MB_SVC_VALUE_SIZE || n > KV_SIZE_MAX)
			return reject(error, "bad_value", key,
				      PARAM_PREFIX "kv_size=%s: not a size between %uK and 1T (e.g. 64M)", value,
				      MB_SVC_VALUE_SIZE / 1024);
		config->kv_size = n;
	} else if (!strcmp(key, "net")) {
		uint32_t addr;
		unsigned prefix;

		if (agent_parse_net(value, &addr, &prefix))
			return reject(error, "bad_value", key,
				      PARAM_PREFIX "net=%s: not an IPv4 address with a prefix (e.g. 10.77.0.2/24)",
				      value);
		config->net_addr = addr;
		config->net_prefix = prefix;
	} else if (!strcmp(key, "port")) {
		if (parse_seed(value, &n) || n == 0 || n > 65535)
			return reject(error, "bad_value", key, PARAM_PREFIX "port=%s: not a UDP port (1-65535)", value);
		config->svc_port = (unsigned)n;
	} else {
		return reject(error, "unknown_param", key,
			      PARAM_PREFIX "%s: unknown parameter (known: workload wss rate pattern hot hotw period seed "
			      "svc kv_size net port)",
			      key);
	}
	return 0;
}

/* Applies one "migbench.key=value" word; other words are not ours. */
static int apply_word(struct agent_config *config, const char *word, struct agent_config_error *error)
{
	char key[64];
	const char *name, *eq;
	size_t len;

	if (strncmp(word, PARAM_PREFIX, strlen(PARAM_PREFIX)))
		return 0;
	name = word + strlen(PARAM_PREFIX);
	eq = strchr(name, '=');
	if (!eq)
		return reject(error, "bad_value", name, "%s: parameter without a value (expected %skey=value)",
			      word, PARAM_PREFIX);
	len = (size_t)(eq - name);
	if (len == 0 || len >= sizeof(key))
		return reject(error, "unknown_param", "", "%s: no such parameter", word);
	memcpy(key, name, len);
	key[len] = '\0';
	return agent_config_set(config, key, eq + 1, error);
}

int agent_config_parse_cmdline(struct agent_config *config, const char *cmdline,
			       struct agent_config_error *error)
{
	char word[512];
	unsigned before = error->count;
	const char *p = cmdline;

	for (;;) {
		size_t len = 0;
		int quoted = 0;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		/* The kernel's own rule: spaces inside double quotes do not split,
		 * and the quotes themselves are not part of the value. */
		for (; *p && (quoted || !isspace((unsigned char)*p)); p++) {
			if (*p == '"') {
				quoted = !quoted;
				continue;
			}
			if (len + 1 < sizeof(word))
				word[len++] = *p;
		}
		word[len] = '\0';
		apply_word(config, word, error);
	}
	return (int)(error->count - before);
}

int agent_config_parse_words(struct agent_config *config, int nwords, char *const words[],
			     struct agent_config_error *error)
{
	unsigned before = error->count;

	for (int i = 0; i < nwords; i++)
		apply_word(config, words[i], error);
	return (int)(error->count - before);
}
