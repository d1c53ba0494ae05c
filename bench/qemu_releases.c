#include "config.h"
#include "bench/qemu_releases.h"

#include <string.h>

const struct mb_qemu_release mb_qemu_releases[] = {
	{ .name = "5.2", .suite = "bullseye", .note = "Debian 11" },
	{ .name = "7.2", .suite = "bookworm",
	  .note = "Debian 12; under TCG multi-pass pre-copy breaks guests (README)" },
	{ .name = "10.0", .suite = "bookworm", .extra_suite = "bookworm-backports",
	  .note = "Debian 12 backports (10.0.2), what .ci/setup installs on the host" },
	{ .name = "10.0.13", .suite = "trixie", .note = "Debian 13" },
	{ .name = "11.1", .suite = "sid", .note = "Debian unstable (moves)" },
	{ 0 },
};

const struct mb_qemu_release *mb_qemu_release_find(const char *name)
{
	for (const struct mb_qemu_release *r = mb_qemu_releases; r->name; r++)
		if (!strcmp(r->name, name) || (!strcmp(r->suite, name) && !r->extra_suite) ||
		    (r->extra_suite && !strcmp(r->extra_suite, name)))
			return r;
	return NULL;
}

bool mb_qemu_is_version_name(const char *text)
{
	return text && *text && !strchr(text, '/');
}
