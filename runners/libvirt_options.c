#include "config.h"
#include "runners/libvirt_options.h"

#include <stddef.h>

_Static_assert(sizeof(enum mb_lv_remote) == sizeof(int) && sizeof(enum mb_lv_clock) == sizeof(int),
	       "choice fields are stored as int");

static const char *const remote_names[] = { MB_LV_REMOTES(MB_X_NAME) NULL };
static const char *const clock_names[] = { MB_LV_CLOCKS(MB_X_NAME) NULL };

/* Only --runner libvirt reads these; the QMP runner starts its QEMUs itself. */
const struct mb_key mb_lv_keys[] = {
	{
		.name = "libvirt_src", .type = MB_TYPE_STRING, MB_FIELD(struct mb_lv_options, libvirt_src, const char *),
		.def = "qemu:///system",
		.help = "--runner libvirt: URI of the daemon that runs the guest first "
			"(qemu+ssh://host/system, qemu+unix:///system?socket=PATH)",
	},
	{
		.name = "libvirt_dst", .type = MB_TYPE_STRING, MB_FIELD(struct mb_lv_options, libvirt_dst, const char *),
		.def = "",
		.help = "--runner libvirt: URI of the daemon it migrates to (another host, or a second "
			"daemon with its own host_uuid); each repetition migrates back",
	},
	{
		.name = "libvirt_migrate_uri", .type = MB_TYPE_STRING, MB_FIELD(struct mb_lv_options, libvirt_migrate_uri, const char *),
		.def = "",
		.help = "--runner libvirt: where the migration stream to libvirt_dst goes "
			"(tcp://10.0.0.2); empty = libvirt's choice (the destination's hostname)",
	},
	{
		.name = "libvirt_migrate_uri_back", .type = MB_TYPE_STRING,
		MB_FIELD(struct mb_lv_options, libvirt_migrate_uri_back, const char *),
		.def = "",
		.help = "--runner libvirt: the same for the migrations back to libvirt_src (every "
			"second repetition); empty = libvirt's choice",
	},
	{
		.name = "libvirt_remote", .type = MB_TYPE_CHOICE, MB_FIELD(struct mb_lv_options, libvirt_remote, enum mb_lv_remote),
		.def = "auto", .choices = remote_names,
		.help = "--runner libvirt: whether the daemons run on other hosts (heartbeat and console "
			"over TCP, image uploaded, probes through libvirt_exec_*); auto = a URI naming a "
			"host that is not this one",
	},
	{
		.name = "libvirt_exec_src", .type = MB_TYPE_STRING, MB_FIELD(struct mb_lv_options, libvirt_exec_src, const char *),
		.def = "",
		.help = "--runner libvirt: command prefix that runs a program on libvirt_src's host when "
			"remote; empty = `ssh -o BatchMode=yes [USER@]HOST` for qemu+ssh://, none otherwise",
	},
	{
		.name = "libvirt_exec_dst", .type = MB_TYPE_STRING, MB_FIELD(struct mb_lv_options, libvirt_exec_dst, const char *),
		.def = "",
		.help = "--runner libvirt: the same for libvirt_dst's host",
	},
	{
		.name = "libvirt_heartbeat_port", .type = MB_TYPE_COUNT,
		MB_FIELD(struct mb_lv_options, libvirt_heartbeat_port, unsigned),
		.def = "47100", .min = 1024, .max = 65532,
		.help = "--runner libvirt, remote hosts: the guest's heartbeat port on libvirt_src's host; "
			"PORT+1 on libvirt_dst's, consoles on PORT+2 and PORT+3 (open them to migbench)",
	},
	{
		.name = "libvirt_clock", .type = MB_TYPE_CHOICE, MB_FIELD(struct mb_lv_options, libvirt_clock, enum mb_lv_clock),
		.def = "auto", .choices = clock_names,
		.help = "--runner libvirt: the clock of the migration's instants: qemu (QEMU's event "
			"timestamps, exact on one host), arrival (migbench's, one clock across hosts); "
			"auto = arrival when the sides run on different hosts",
	},
	{ 0 },
};
