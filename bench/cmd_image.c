/* `migbench image`: builds (or finds in the cache) the guest image, a kernel
 * and an initramfs whose /init is migbench-agent, and says what went in. */
#include "config.h"
#include "bench/command.h"
#include "workloads/image/image.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

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
		"\n"
		"  --kernel FILE   the vmlinuz (bzImage) to boot\n"
		"  --modules DIR   lib/modules/<version> of that kernel, with modules.dep\n"
		"  --agent FILE    the guest's /init (default: $MIGBENCH_AGENT, else\n"
		"                  %s/migbench-agent)\n"
		"  --cache DIR     cache directory (default: $MIGBENCH_CACHE, else\n"
		"                  $XDG_CACHE_HOME/migbench, else ~/.cache/migbench)\n"
		"  -q, --quiet     no progress lines on stderr\n"
		"  -h, --help      this text\n"
		"\n"
		"Exit status: 0 when the image is ready, 3 when no kernel can be had on\n"
		"this host, 2 on a bad command line, 1 on any other failure.\n",
		MB_PKGLIBEXECDIR);
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
	static const struct option options[] = {
		{ .name = "kernel", .has_arg = required_argument, .val = 'k' },
		{ .name = "modules", .has_arg = required_argument, .val = 'm' },
		{ .name = "agent", .has_arg = required_argument, .val = 'a' },
		{ .name = "cache", .has_arg = required_argument, .val = 'c' },
		{ .name = "quiet", .has_arg = no_argument, .val = 'q' },
		{ .name = "help", .has_arg = no_argument, .val = 'h' },
		{ 0 },
	};
	struct mb_image_opts opts = { .verbose = 1 };
	static struct mb_image img; /* ~17 KiB: keep it off the stack */
	struct mb_err err = { 0 };
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", options, NULL)) != -1) {
		switch (c) {
		case 'k':
			opts.kernel = optarg;
			break;
		case 'm':
			opts.modules_dir = optarg;
			break;
		case 'a':
			opts.agent = optarg;
			break;
		case 'c':
			opts.cache_dir = optarg;
			break;
		case 'q':
			opts.verbose = 0;
			break;
		case 'h':
			usage(stdout);
			return MB_EXIT_OK;
		default:
			usage(stderr);
			return MB_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "migbench image: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return MB_EXIT_USAGE;
	}
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
