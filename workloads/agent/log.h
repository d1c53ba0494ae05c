/* Console messages of the agent. As PID 1 the console is the only place a
 * person can see why a guest is not doing what the scenario asked, so every
 * message names the agent and says what failed and why. */
#ifndef MB_AGENT_LOG_H
#define MB_AGENT_LOG_H

/* Writes "migbench-agent: <message>\n" to stderr, or to /dev/kmsg when
 * stderr is not open (PID 1 started without /dev/console). Never blocks on
 * anything but the console itself and keeps errno unchanged. */
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
