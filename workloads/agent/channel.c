#include "workloads/agent/channel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "workloads/agent/clock.h"
#include "workloads/agent/log.h"
#include "workloads/proto.h"

#define VIRTIO_PORTS_DIR "/sys/class/virtio-ports"
#define PCI_DEVICES_DIR "/sys/bus/pci/devices"
#define FALLBACK_SERIAL "/dev/ttyS1"

void channel_open_stdio(struct channel *channel)
{
	int out_fd;

	*channel = (struct channel){ .in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO, .stop_on_eof = true };
	snprintf(channel->name, sizeof(channel->name), "stdio");
	/* A fresh open file description of stdout can be non-blocking without
	 * changing the caller's (a shell's terminal, a test's pipe). Sockets
	 * cannot be reopened; then stdout itself is made non-blocking. */
	out_fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (out_fd >= 0) {
		channel->out_fd = out_fd;
	} else if (fcntl(STDOUT_FILENO, F_SETFL, fcntl(STDOUT_FILENO, F_GETFL) | O_NONBLOCK) < 0) {
		agent_log("cannot make stdout non-blocking (%s): heartbeats may stall when the reader does",
			  strerror(errno));
	}
}

static int read_small_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* virtio-serial is PCI device 1af4:1003 (legacy/transitional) or 1af4:1043
 * (modern). PCI enumeration is over before /init runs, unlike the port
 * probe, so this answers at once. */
static bool virtio_serial_present(void)
{
	char path[512], vendor[16], device[16];
	struct dirent *entry;
	bool found = false;
	DIR *dir = opendir(PCI_DEVICES_DIR);

	if (!dir)
		return false;
	while (!found && (entry = readdir(dir))) {
		if (entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), PCI_DEVICES_DIR "/%s/vendor", entry->d_name);
		if (read_small_file(path, vendor, sizeof(vendor)) || strcmp(vendor, "0x1af4"))
			continue;
		snprintf(path, sizeof(path), PCI_DEVICES_DIR "/%s/device", entry->d_name);
		if (read_small_file(path, device, sizeof(device)))
			continue;
		found = !strcmp(device, "0x1003") || !strcmp(device, "0x1043");
	}
	closedir(dir);
	return found;
}

/* Finds vportNpM whose name is the heartbeat port's; 0 when found. */
static int find_named_port(char *port, size_t len)
{
	char path[512], name[128];
	struct dirent *entry;
	int ret = -1;
	DIR *dir = opendir(VIRTIO_PORTS_DIR);

	if (!dir)
		return -1;
	while (ret && (entry = readdir(dir))) {
		if (entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), VIRTIO_PORTS_DIR "/%s/name", entry->d_name);
		if (read_small_file(path, name, sizeof(name)) || strcmp(name, MB_PROTO_PORT_NAME))
			continue;
		if (strlen(entry->d_name) >= len)
			continue; /* not a vportNpM name */
		memcpy(port, entry->d_name, strlen(entry->d_name) + 1);
		ret = 0;
	}
	closedir(dir);
	return ret;
}

static int open_virtio_port(struct channel *channel, unsigned wait_ms)
{
	uint64_t deadline = agent_now_us() + (uint64_t)wait_ms * 1000u;
	char port[64], dev[96];
	int fd, last_errno = ENOENT;

	if (!virtio_serial_present()) {
		agent_log("no virtio-serial PCI device: not waiting for port %s", MB_PROTO_PORT_NAME);
		return -1;
	}
	/* The port and its name appear asynchronously after the driver binds
	 * (the host announces them over the control queue). */
	do {
		if (find_named_port(port, sizeof(port)) == 0) {
			snprintf(dev, sizeof(dev), "/dev/%s", port);
			fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
			if (fd >= 0) {
				*channel = (struct channel){ .in_fd = fd, .out_fd = fd };
				snprintf(channel->name, sizeof(channel->name), "%s", dev);
				return 0;
			}
			last_errno = errno;
		}
		agent_sleep_until_us(agent_now_us() + 5000);
	} while (agent_now_us() < deadline);
	agent_log("virtio port %s did not appear within %u ms (%s)", MB_PROTO_PORT_NAME, wait_ms,
		  strerror(last_errno));
	return -1;
}

static int open_serial(struct channel *channel, const char *path)
{
	struct termios tio;
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		agent_log("cannot open fallback channel %s: %s", path, strerror(errno));
		return -1;
	}
	if (tcgetattr(fd, &tio) < 0) {
		agent_log("fallback channel %s is not a serial port (tcgetattr: %s)", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* Raw: no echo of host commands back to the host, no line editing, no
	 * CR/LF translation; CLOCAL so a missing modem line never blocks. */
	cfmakeraw(&tio);
	tio.c_cflag |= CLOCAL | CREAD;
	cfsetispeed(&tio, B115200);
	cfsetospeed(&tio, B115200);
	if (tcsetattr(fd, TCSANOW, &tio) < 0)
		agent_log("cannot set raw mode on %s (%s): the channel may echo or translate", path,
			  strerror(errno));
	*channel = (struct channel){ .in_fd = fd, .out_fd = fd };
	snprintf(channel->name, sizeof(channel->name), "%s", path);
	return 0;
}

int channel_open_guest(struct channel *channel, unsigned wait_ms)
{
	*channel = (struct channel){ .in_fd = -1, .out_fd = -1 };
	snprintf(channel->name, sizeof(channel->name), "none");
	if (open_virtio_port(channel, wait_ms) == 0)
		return 0;
	if (open_serial(channel, FALLBACK_SERIAL) == 0)
		return 0;
	agent_log("no heartbeat channel: running without one (the host will see no heartbeats)");
	return -1;
}
