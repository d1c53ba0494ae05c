/* Process identities that survive PID reuse (see owner.h). */
#include "config.h"
#include "bench/owner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int read_boot_id(char *buf, size_t len, struct mb_err *err)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	if (!f)
		return mb_errf(err, errno, "cannot read /proc/sys/kernel/random/boot_id");
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return mb_errf(err, EIO, "/proc/sys/kernel/random/boot_id is empty");
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Field 22 of /proc/PID/stat; the command name (field 2) may hold spaces
 * and parentheses, so counting starts after its last ')'. */
static int read_start_ticks(pid_t pid, unsigned long long *out, struct mb_err *err)
{
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return mb_errf(err, errno, "process %d: cannot read %s", (int)pid, path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return mb_errf(err, EINVAL, "process %d: %s has no command field", (int)pid, path);
	/* p: the space before field 3 (state); move to the one before 22. */
	p++;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", out) != 1)
		return mb_errf(err, EINVAL, "process %d: no start time in %s", (int)pid, path);
	return 0;
}

int mb_owner_of(pid_t pid, struct mb_owner *out, struct mb_err *err)
{
	memset(out, 0, sizeof(*out));
	out->pid = pid ? pid : getpid();
	if (read_start_ticks(out->pid, &out->start_ticks, err))
		return -1;
	return read_boot_id(out->boot_id, sizeof(out->boot_id), err);
}

bool mb_owner_alive(const struct mb_owner *o)
{
	struct mb_owner now;
	struct mb_err err = {0};
	char boot[40];

	if (o->pid <= 0)
		return false;
	if (read_boot_id(boot, sizeof(boot), &err) || strcmp(boot, o->boot_id))
		return false; /* another boot: every process of that one is gone */
	if (mb_owner_of(o->pid, &now, &err))
		return false;
	return now.start_ticks == o->start_ticks;
}

void mb_owner_format(const struct mb_owner *o, char *buf, size_t len)
{
	snprintf(buf, len, "%d:%llu:%s", (int)o->pid, o->start_ticks, o->boot_id);
}

int mb_owner_parse(const char *text, struct mb_owner *out)
{
	int pid, used = 0;

	memset(out, 0, sizeof(*out));
	if (sscanf(text, "%d:%llu:%n", &pid, &out->start_ticks, &used) != 2 || !used || pid <= 0)
		return -1;
	out->pid = pid;
	snprintf(out->boot_id, sizeof(out->boot_id), "%.*s", (int)strcspn(text + used, " \n"), text + used);
	return out->boot_id[0] ? 0 : -1;
}
