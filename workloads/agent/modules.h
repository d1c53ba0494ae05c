/* Kernel modules the image builder put in the initramfs. */
#ifndef MB_AGENT_MODULES_H
#define MB_AGENT_MODULES_H

#define AGENT_MODULES_LIST "/etc/migbench/modules"

/* Loads every module listed in `list_path` (one path per line, in load
 * order: dependencies are the builder's business, nothing is resolved
 * here) with finit_module. A module already loaded or built in is fine; a
 * missing list means there is nothing to load. Returns the number of
 * modules that failed (each one is logged). */
int modules_load_list(const char *list_path);

#endif
