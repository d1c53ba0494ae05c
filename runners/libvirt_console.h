/* The guest's console when its QEMU runs on another host: the serial port
 * is a TCP server there (<serial type='tcp'>, bind mode), and a thread of
 * migbench's connects to it and reads it into memory, keeping the lines
 * that show a sick kernel and the last few lines (for a guest that did not
 * come up). QEMU serves the port without waiting for a client, so what the
 * guest writes before migbench connects is lost: the first boot lines of
 * the guest, and of a destination, whatever it wrote between its start and
 * the connection (nothing, as a migrated guest's console goes on writing
 * only after RESUME, by which time migbench has long been trying). */
#ifndef MB_RUNNERS_LIBVIRT_CONSOLE_H
#define MB_RUNNERS_LIBVIRT_CONSOLE_H

#include <stddef.h>

#include <jansson.h>

#include "bench/error.h"

/* Whether a console line shows a sick kernel (BUG:, Oops, panic,
 * watchdog, lockups, Call Trace). */
int mb_lv_console_line_is_problem(const char *line);

struct mb_lv_console;

/* Starts reading the console served at HOST:PORT: a thread connects,
 * retrying up to timeout_ms while nothing listens there yet, and reads
 * until the other end closes or mb_lv_console_stop. */
int mb_lv_console_start(const char *host, unsigned port, int timeout_ms, struct mb_lv_console **out,
			struct mb_err *err);

/* The problem lines so far, appended to `lines` (a JSON array). */
void mb_lv_console_problems(struct mb_lv_console *c, json_t *lines);

/* Its last lines, joined with " | "; and whether it ever connected, with
 * the last connection error. */
void mb_lv_console_tail(struct mb_lv_console *c, char *buf, size_t len);
int mb_lv_console_connected(struct mb_lv_console *c, char *why, size_t len);

/* Stops the thread, closes the connection, frees. NULL is fine. */
void mb_lv_console_stop(struct mb_lv_console *c);

#endif
