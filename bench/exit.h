/* The process exit statuses every subcommand and the run loop share. */
#ifndef MB_EXIT_H
#define MB_EXIT_H

/* Exit statuses shared by every subcommand. */
enum {
	MB_EXIT_OK = 0,
	MB_EXIT_FAILED = 1,     /* the thing measured failed, or a run failed */
	MB_EXIT_USAGE = 2,      /* bad command line or scenario */
	MB_EXIT_NO_RESOURCE = 3, /* this host cannot do it (no QEMU, no kernel) */
	/* compare: too few runs to tell; a CI gate must not take it for a pass.
	 * analysis/migbench.R's mb_exit repeats these numbers for the R side. */
	MB_EXIT_INCONCLUSIVE = 4,
};

#endif
