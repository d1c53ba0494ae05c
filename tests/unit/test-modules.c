/* Module selection: modules.dep resolution (transitive, dependencies first,
 * built-ins skipped, errors named) on fixture trees, and the modules.dep we
 * write for unpacked packages from the modules' .modinfo. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "workloads/image/depmod.h"
#include "workloads/image/fsutil.h"
#include "workloads/image/modules.h"

static const char *fixtures(void)
{
	const char *f = getenv("MIGBENCH_FIXTURES");

	return f && *f ? f : "tests/fixtures";
}

static void fixture_dir(char *buf, size_t size, const char *sub)
{
	snprintf(buf, size, "%s/image/%s", fixtures(), sub);
}

static size_t index_of(const struct mb_modules *m, const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->paths[i], path))
			return i;
	fail_msg("%s is not in the resolved list", path);
	return 0;
}

static void module_names(void **state)
{
	char name[64];

	mb_module_name("kernel/drivers/virtio/virtio_pci.ko", name, sizeof(name));
	assert_string_equal(name, "virtio_pci");
	mb_module_name("kernel/net/core/failover.ko.zst", name, sizeof(name));
	assert_string_equal(name, "failover");
	mb_module_name("kernel/drivers/net/net_failover.ko.xz", name, sizeof(name));
	assert_string_equal(name, "net_failover");
	mb_module_name("virtio-rng.ko", name, sizeof(name));
	assert_string_equal(name, "virtio_rng");
	mb_module_name("virtio-rng", name, sizeof(name));
	assert_string_equal(name, "virtio_rng");
	assert_true(mb_module_is_ko("a/b.ko.gz"));
	assert_false(mb_module_is_ko("modules.dep"));
	assert_false(mb_module_is_ko(".ko"));
}

static void resolves_the_guest_set(void **state)
{
	static const char *const wanted[] = { "virtio_pci", "virtio_console", "virtio_net" };
	/* Depth-first, each module right after its last missing dependency. */
	static const char *const expected[] = {
		"kernel/drivers/virtio/virtio.ko",
		"kernel/drivers/virtio/virtio_ring.ko",
		"kernel/drivers/virtio/virtio_pci_modern_dev.ko",
		"kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
		"kernel/drivers/virtio/virtio_pci.ko",
		"kernel/net/core/failover.ko.zst",
		"kernel/drivers/net/net_failover.ko.xz",
		"kernel/drivers/net/virtio_net.ko",
	};
	char dir[PATH_MAX];
	struct mb_modules m;
	struct mb_err err = { 0 };

	fixture_dir(dir, sizeof(dir), "lib/modules/6.1.0-fake");
	if (mb_modules_resolve(dir, wanted, 3, &m, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(m.n, sizeof(expected) / sizeof(*expected));
	for (size_t i = 0; i < m.n; i++)
		assert_string_equal(m.paths[i], expected[i]);
	/* The property finit_module needs, stated directly. */
	assert_true(index_of(&m, "kernel/drivers/virtio/virtio.ko") <
		    index_of(&m, "kernel/drivers/virtio/virtio_ring.ko"));
	assert_true(index_of(&m, "kernel/net/core/failover.ko.zst") <
		    index_of(&m, "kernel/drivers/net/net_failover.ko.xz"));
	assert_true(index_of(&m, "kernel/drivers/net/net_failover.ko.xz") <
		    index_of(&m, "kernel/drivers/net/virtio_net.ko"));
	/* Built in: nothing to load, but reported. */
	assert_int_equal(m.nbuiltin, 1);
	assert_string_equal(m.builtin[0], "virtio_console");
	mb_modules_free(&m);
}

static void dashes_and_duplicates(void **state)
{
	static const char *const wanted[] = { "virtio-rng", "virtio_ring", "virtio_rng" };
	char dir[PATH_MAX];
	struct mb_modules m;
	struct mb_err err = { 0 };

	fixture_dir(dir, sizeof(dir), "lib/modules/6.1.0-fake");
	assert_int_equal(mb_modules_resolve(dir, wanted, 3, &m, &err), 0);
	assert_int_equal(m.n, 3);   /* each once */
	assert_string_equal(m.paths[0], "kernel/drivers/virtio/virtio.ko");
	assert_string_equal(m.paths[1], "kernel/drivers/virtio/virtio_ring.ko");
	assert_string_equal(m.paths[2], "kernel/drivers/char/hw_random/virtio-rng.ko");
	mb_modules_free(&m);
}

static void errors_say_what(void **state)
{
	static const char *const missing[] = { "virtio_net", "no_such_module" };
	static const char *const a[] = { "a" };
	char dir[PATH_MAX];
	struct mb_modules m;
	struct mb_err err = { 0 };

	fixture_dir(dir, sizeof(dir), "lib/modules/6.1.0-fake");
	assert_int_equal(mb_modules_resolve(dir, missing, 2, &m, &err), -1);
	assert_non_null(strstr(err.msg, "no_such_module"));
	assert_non_null(strstr(err.msg, "modules.builtin"));
	assert_int_equal(m.n, 0);   /* nothing half-resolved left behind */

	fixture_dir(dir, sizeof(dir), "cycle");
	assert_int_equal(mb_modules_resolve(dir, a, 1, &m, &err), -1);
	assert_non_null(strstr(err.msg, "cycle"));

	fixture_dir(dir, sizeof(dir), "dangling");
	assert_int_equal(mb_modules_resolve(dir, a, 1, &m, &err), -1);
	assert_non_null(strstr(err.msg, "kernel/gone.ko"));

	assert_int_equal(mb_modules_resolve("/nonexistent/lib/modules/0", a, 1, &m, &err), -1);
	assert_non_null(strstr(err.msg, "modules.dep"));
	assert_int_equal(err.errnum, ENOENT);
}

/* A minimal relocatable ELF with only a .modinfo section, like a .ko. */
static void write_fake_ko(const char *path, const char *modinfo, size_t modinfo_len)
{
	static const char shstrtab[] = "\0.modinfo\0.shstrtab";
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_REL,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_shentsize = sizeof(Elf64_Shdr),
		.e_shnum = 3,
		.e_shstrndx = 2,
	};
	size_t info_off = sizeof(eh), str_off = info_off + modinfo_len;
	size_t sh_off = (str_off + sizeof(shstrtab) + 7) & ~(size_t)7;
	Elf64_Shdr sh[3] = {
		{ 0 },
		{ .sh_name = 1, .sh_type = SHT_PROGBITS, .sh_offset = info_off, .sh_size = modinfo_len },
		{ .sh_name = 10, .sh_type = SHT_STRTAB, .sh_offset = str_off, .sh_size = sizeof(shstrtab) },
	};
	static const char zeros[8];
	FILE *f;

	eh.e_shoff = sh_off;
	f = fopen(path, "wb");
	assert_non_null(f);
	fwrite(&eh, sizeof(eh), 1, f);
	fwrite(modinfo, 1, modinfo_len, f);
	fwrite(shstrtab, 1, sizeof(shstrtab), f);
	fwrite(zeros, 1, sh_off - (str_off + sizeof(shstrtab)), f);
	fwrite(sh, sizeof(sh), 1, f);
	fclose(f);
}

static void depmod_from_modinfo(void **state)
{
	/* .modinfo is NUL-separated key=value strings; sizeof keeps the last NUL. */
	static const char virtio[] = "license=GPL\0depends=\0name=virtio";
	static const char ring[] = "license=GPL\0depends=virtio\0name=virtio_ring";
	static const char pci[] = "depends=virtio_ring,virtio,builtin_thing\0name=virtio_pci";
	static const char rng[] = "depends=virtio_ring,virtio\0name=virtio_rng";
	char dir[PATH_MAX], path[PATH_MAX], deps[256];
	const char *tmp = getenv("TMPDIR");
	struct mb_err err = { 0 };
	struct mb_modules m;
	static const char *const wanted[] = { "virtio_pci", "virtio-rng" };
	char *text;

	snprintf(dir, sizeof(dir), "%s/test-modules-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/kernel/drivers/virtio", dir);
	assert_int_equal(mb_mkdir_p(path, &err), 0);
	snprintf(path, sizeof(path), "%s/kernel/drivers/char", dir);
	assert_int_equal(mb_mkdir_p(path, &err), 0);
	snprintf(path, sizeof(path), "%s/kernel/drivers/virtio/virtio.ko", dir);
	write_fake_ko(path, virtio, sizeof(virtio));
	snprintf(path, sizeof(path), "%s/kernel/drivers/virtio/virtio_ring.ko", dir);
	write_fake_ko(path, ring, sizeof(ring));
	snprintf(path, sizeof(path), "%s/kernel/drivers/virtio/virtio_pci.ko", dir);
	write_fake_ko(path, pci, sizeof(pci));
	snprintf(path, sizeof(path), "%s/kernel/drivers/char/virtio-rng.ko", dir);
	write_fake_ko(path, rng, sizeof(rng));

	assert_int_equal(mb_img_modinfo_depends(path, deps, sizeof(deps), &err), 0);
	assert_string_equal(deps, "virtio_ring,virtio");

	if (mb_img_depmod_write(dir, &err) < 0)
		fail_msg("%s", err.msg);
	snprintf(path, sizeof(path), "%s/modules.dep", dir);
	assert_int_equal(mb_img_read_file(path, &text, NULL, &err), 0);
	/* Sorted by path; a dependency with no module file (built in) left out. */
	assert_string_equal(text,
		"kernel/drivers/char/virtio-rng.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n"
		"kernel/drivers/virtio/virtio.ko:\n"
		"kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n"
		"kernel/drivers/virtio/virtio_ring.ko: kernel/drivers/virtio/virtio.ko\n");
	free(text);

	/* And the resolver reads what we wrote. */
	assert_int_equal(mb_modules_resolve(dir, wanted, 2, &m, &err), 0);
	assert_int_equal(m.n, 4);
	assert_string_equal(m.paths[0], "kernel/drivers/virtio/virtio.ko");
	assert_string_equal(m.paths[1], "kernel/drivers/virtio/virtio_ring.ko");
	assert_string_equal(m.paths[2], "kernel/drivers/virtio/virtio_pci.ko");
	assert_string_equal(m.paths[3], "kernel/drivers/char/virtio-rng.ko");
	mb_modules_free(&m);

	/* A compressed module cannot be read here: say to run depmod. */
	snprintf(path, sizeof(path), "%s/kernel/drivers/virtio/virtio_mem.ko.xz", dir);
	write_fake_ko(path, virtio, sizeof(virtio));
	assert_int_equal(mb_img_depmod_write(dir, &err), -1);
	assert_non_null(strstr(err.msg, "depmod"));

	/* Not an ELF file at all. */
	snprintf(path, sizeof(path), "%s/kernel/drivers/virtio/virtio_mem.ko.xz", dir);
	remove(path);
	snprintf(path, sizeof(path), "%s/kernel/drivers/virtio/broken.ko", dir);
	assert_int_equal(mb_write_text_atomic(path, "not elf", 7, 0, &err), 0);
	assert_int_equal(mb_img_depmod_write(dir, &err), -1);
	assert_non_null(strstr(err.msg, "broken.ko"));

	assert_int_equal(mb_img_rm_rf(dir, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(module_names),
		cmocka_unit_test(resolves_the_guest_set),
		cmocka_unit_test(dashes_and_duplicates),
		cmocka_unit_test(errors_say_what),
		cmocka_unit_test(depmod_from_modinfo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
