/* What PID 1 must do before anything else: mount the kernel filesystems
 * and make sure fds 0-2 point at the console. */
#ifndef MB_AGENT_BOOT_H
#define MB_AGENT_BOOT_H

/* Mounts /proc, /sys and devtmpfs on /dev (creating the directories; an
 * already mounted one is fine). Failures are logged; returns the number. */
int boot_mount_filesystems(void);

/* Without /dev/console in the initramfs the kernel starts /init with no
 * fds 0-2; then the console is opened from devtmpfs (or /dev/null), so
 * messages are seen and no later open() lands on fd 0-2. */
void boot_ensure_console(void);

#endif
