#include "config.h"
#include "workloads/image/elf.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int read_at(int fd, void *buf, size_t size, off_t off)
{
	char *p = buf;

	while (size) {
		ssize_t n = pread(fd, p, size, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -1 : (errno = EIO, -1);  /* short file: truncated ELF */
		p += n;
		size -= (size_t)n;
		off += n;
	}
	return 0;
}

static int open_elf(const char *path, Elf64_Ehdr *eh, struct mb_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return mb_errf(err, errno, "cannot open %s", path);
	if (read_at(fd, eh, sizeof(*eh), 0) < 0 || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) {
		close(fd);
		return mb_errf(err, 0, "%s is not an ELF file", path);
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB) {
		close(fd);
		return mb_errf(err, 0, "%s is not a 64-bit little-endian ELF file", path);
	}
	return fd;
}

int mb_img_elf_section(const char *path, const char *name, char **data, size_t *size,
		   struct mb_err *err)
{
	Elf64_Ehdr eh;
	Elf64_Shdr *sh = NULL;
	char *names = NULL;
	int fd = open_elf(path, &eh, err);

	*data = NULL;
	*size = 0;
	if (fd < 0)
		return -1;
	if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 || eh.e_shstrndx >= eh.e_shnum) {
		mb_errf(err, 0, "%s: no usable section table", path);
		goto fail;
	}
	sh = calloc(eh.e_shnum, sizeof(*sh));
	if (!sh) {
		mb_errf(err, ENOMEM, "reading %s", path);
		goto fail;
	}
	if (read_at(fd, sh, eh.e_shnum * sizeof(*sh), (off_t)eh.e_shoff) < 0) {
		mb_errf(err, errno, "%s: cannot read the section table", path);
		goto fail;
	}
	Elf64_Shdr *strtab = &sh[eh.e_shstrndx];
	names = malloc(strtab->sh_size + 1);
	if (!names || read_at(fd, names, strtab->sh_size, (off_t)strtab->sh_offset) < 0) {
		mb_errf(err, names ? errno : ENOMEM, "%s: cannot read the section names", path);
		goto fail;
	}
	names[strtab->sh_size] = '\0';
	for (unsigned i = 0; i < eh.e_shnum; i++) {
		if (sh[i].sh_name >= strtab->sh_size || strcmp(names + sh[i].sh_name, name))
			continue;
		*data = malloc(sh[i].sh_size + 1);
		if (!*data || read_at(fd, *data, sh[i].sh_size, (off_t)sh[i].sh_offset) < 0) {
			mb_errf(err, *data ? errno : ENOMEM, "%s: cannot read section %s", path, name);
			free(*data);
			*data = NULL;
			goto fail;
		}
		(*data)[sh[i].sh_size] = '\0';
		*size = sh[i].sh_size;
		free(names);
		free(sh);
		close(fd);
		return 0;
	}
	mb_errf(err, ENOENT, "%s has no section %s", path, name);
fail:
	free(names);
	free(sh);
	close(fd);
	return -1;
}

int mb_img_elf_needs_interp(const char *path, int *dynamic, struct mb_err *err)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd = open_elf(path, &eh, err);

	*dynamic = 0;
	if (fd < 0)
		return -1;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (read_at(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (Elf64_Off)i * eh.e_phentsize)) < 0) {
			close(fd);
			return mb_errf(err, errno, "%s: cannot read program header %u", path, i);
		}
		if (ph.p_type == PT_INTERP)
			*dynamic = 1;
	}
	close(fd);
	return 0;
}
