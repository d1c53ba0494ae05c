/* The guest image: a kernel and an initramfs whose /init is migbench-agent,
 * with the few kernel modules the guest needs (virtio PCI, console, net).
 *
 * Images live in a content-addressed cache: the id hashes every input, so
 * an image is rebuilt only when the agent, the kernel or a module changed. */
#ifndef MB_IMAGE_H
#define MB_IMAGE_H

#include "bench/error.h"

struct mb_image_opts {
	const char *kernel;       /* --kernel: a vmlinuz; NULL = find one */
	const char *modules_dir;  /* --modules: lib/modules/<ver> dir matching the kernel; NULL = derive */
	const char *agent;        /* path of migbench-agent; NULL = $MIGBENCH_AGENT, else MB_PKGLIBEXECDIR "/migbench-agent" */
	const char *cache_dir;    /* NULL = $MIGBENCH_CACHE, else $XDG_CACHE_HOME/migbench, else $HOME/.cache/migbench */
	int verbose;              /* progress lines on stderr */
};

struct mb_image {
	char kernel[4096];        /* vmlinuz to pass to -kernel */
	char initrd[4096];        /* initramfs to pass to -initrd */
	char kernel_version[128];
	char kernel_source[256];  /* e.g. "host /boot/vmlinuz-6.1.0-...", "debian package linux-image-6.1.0-56-cloud-amd64 6.1.192-2", "--kernel PATH" */
	char id[32];              /* content hash of all inputs, hex */
	int rebuilt;              /* 1 when built now, 0 when the cache was current */
	/* What went in, for reports: */
	char agent[4096];         /* the agent used as /init */
	char modules[1024];       /* module names in load order, space-separated; "" when none */
	char modules_builtin[256];/* wanted modules the kernel has built in, space-separated */
	char modules_dir[4096];   /* lib/modules/<ver> they came from; "" when none was found */
	long long initrd_size;    /* bytes */
};

/* The modules every guest needs, by name; their dependencies come along. */
extern const char *const mb_image_wanted_modules[];
extern const size_t mb_image_nwanted_modules;

/* Finds or fetches a kernel, then returns the cached image for these inputs,
 * building it first when it is missing. Returns 0, or -1 with err filled.
 * When no kernel could be had at all (none given, none on the host, the
 * Debian package could not be fetched), err->errnum is ENOPKG: the caller
 * reports "no resource" rather than a failure. */
int mb_image_ensure(const struct mb_image_opts *opts, struct mb_image *img, struct mb_err *err);

#endif
