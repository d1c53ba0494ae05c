/* `migbench image`: builds (or finds in the cache) the guest image, a kernel
 * and an initramfs whose /init is migbench-agent, and says what went in. */
#include "config.h"
#include "bench/command.h"
#include "bench/options.h"
#include "workloads/image/image.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static struct mb_image_opts image_opts;

static const struct mb_opt options[] = {
	{ "kernel", 0, MB_OPT_TEXT, "FILE", "the vmlinuz (bzImage) to boot", .text = &image_opts.kernel },
	{ "modules", 0, MB_OPT_TEXT, "DIR", "lib/modules/<version> of that kernel, with modules.dep",
	  .text = &image_opts.modules_dir },
	{ "agent", 0, MB_OPT_TEXT, "FILE", "the guest's /init (default: $MIGBENCH_AGENT, else\n"
	  MB_PKGLIBEXECDIR "/migbench-agent)", .text = &image_opts.agent },
	{ "cache", 0, MB_OPT_TEXT, "DIR", "cache directory (default: $MIGBENCH_CACHE, else\n"
	  "$XDG_CACHE_HOME/migbench, else ~/.cache/migbench)", .text = &image_opts.cache_dir },
	{ "quiet", 'q', MB_OPT_FLAG, NULL, "no progress lines on stderr", .flag = &image_opts.verbose, .set = 0 },
	{ 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: migbench image [--kernel FILE [--modules DIR]] [--agent FILE]\n"
		"                      [--cache DIR] [--quiet]\n"
		"\n"
		"Builds the guest image: the kernel, and an initramfs holding migbench-agent\n"
		"as /init plus the modules the guest needs (virtio_pci, virtio_console,\n"
		"virtio_net and their dependencies). Images are cached by a hash of all\n"
		"inputs and rebuilt only when one changed. Prints where the image is.\n"
		"\n"
		"The kernel is the first of:\n"
		"  1. --kernel FILE, with --modules DIR (its lib/modules/<version>; default:\n"
		"     found beside the kernel or in /lib/modules by the version in FILE);\n"
		"  2. the host's /boot/vmlinuz-$(uname -r) with /lib/modules/$(uname -r),\n"
		"     when both are readable;\n"
		"  3. Debian's linux-image-cloud-amd64, downloaded with apt-get and unpacked\n"
		"     (not installed) into CACHE/kernels; later runs reuse it offline.\n"
		"     Delete CACHE/kernels to fetch the newest again.\n"
		"\n");
	mb_opts_print(out, options);
	fprintf(out,
		"\n"
		"Exit status: 0 when the image is ready, 3 when no kernel can be had on\n"
		"this host, 2 on a bad command line, 1 on any other failure.\n");
}

static void human_size(long long bytes, char *buf, size_t size)
{
	if (bytes >= 1 << 20)
		snprintf(buf, size, "%.1f MiB", (double)bytes / (1 << 20));
	else if (bytes >= 1 << 10)
		snprintf(buf, size, "%.1f KiB", (double)bytes / (1 << 10));
	else
		snprintf(buf, size, "%lld bytes", bytes);
}

static void print_image(const struct mb_image *img)
{
	char size[32];

	human_size(img->initrd_size, size, sizeof(size));
	printf("kernel:     %s\n", img->kernel);
	printf("  source:   %s\n", img->kernel_source);
	printf("  version:  %s\n", img->kernel_version[0] ? img->kernel_version : "(unknown)");
	printf("agent:      %s\n", img->agent);
	printf("modules:    %s\n", img->modules[0] ? img->modules : "(none)");
	if (img->modules_dir[0])
		printf("  from:     %s\n", img->modules_dir);
	if (img->modules_builtin[0])
		printf("  built in: %s\n", img->modules_builtin);
	printf("initrd:     %s (%s)\n", img->initrd, size);
	printf("image:      %s, %s\n", img->id, img->rebuilt ? "built now" : "cached");
}

static int image_run(int argc, char **argv)
{
	static const struct mb_opt_spec spec = { .cmd = "image", .opts = options, .usage = usage };
	struct mb_image_opts opts;
	static struct mb_image img; /* ~17 KiB: keep it off the stack */
	struct mb_err err = { 0 };
	int first, rc;

	image_opts = (struct mb_image_opts){ .verbose = 1 };
	rc = mb_opts_command(&spec, argc, argv, &first);
	if (rc >= 0)
		return rc;
	opts = image_opts;
	if (opts.modules_dir && !opts.kernel) {
		fprintf(stderr, "migbench image: --modules needs --kernel: modules only fit the "
			"kernel they were built with\n");
		return MB_EXIT_USAGE;
	}
	if (mb_image_ensure(&opts, &img, &err) < 0) {
		fprintf(stderr, "migbench image: %s\n", err.msg);
		return err.errnum == ENOPKG ? MB_EXIT_NO_RESOURCE : MB_EXIT_FAILED;
	}
	print_image(&img);
	return MB_EXIT_OK;
}

const struct mb_command mb_cmd_image = {
	.name = "image",
	.summary = "build (or find cached) the guest kernel + initramfs",
	.run = image_run,
};
