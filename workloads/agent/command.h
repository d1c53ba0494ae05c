/* The records the agent writes and the host commands it answers, exactly as
 * workloads/proto.h specifies them. Formatting is kept apart from the I/O so
 * the replies can be tested without a channel. */
#ifndef MB_AGENT_COMMAND_H
#define MB_AGENT_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include "workloads/agent/state.h"

/* Each record_* writes one '\n'-terminated record into buf and returns its
 * length (snprintf-style: >= len means it did not fit). */
/* record_hello's id: 0 for the HELLO sent at boot (no id= field), else
 * the HELLO command's. */
int record_hello(char *buf, size_t len, uint64_t id, struct agent_state *state, uint64_t period_us);
int record_heartbeat(char *buf, size_t len, uint64_t seq, uint64_t guest_us, uint64_t written,
		     uint64_t ops, uint64_t rate);
int record_verify(char *buf, size_t len, uint64_t id, const struct verify_result *result);
int record_err(char *buf, size_t len, uint64_t id, const char *word);

/* Handles one host command line (modified in place, without '\n'). Writes
 * the immediate reply into `reply` and returns its length, or returns 0
 * when the reply comes later (VERIFY: from the workload thread). PERIOD
 * updates *period_us; HELLO repeats the boot's HELLO with the command's id
 * (a guest restored from a snapshot sent its own long ago). */
size_t command_handle(struct agent_state *state, char *line, uint64_t *period_us, char *reply,
		      size_t len);

#endif
