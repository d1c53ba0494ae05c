/* Progress lines of the image builder on stderr ("migbench image: ..."),
 * shown only when the caller asked for them. */
#ifndef MB_IMAGE_PROGRESS_H
#define MB_IMAGE_PROGRESS_H

void mb_img_progress(int verbose, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Seconds on the monotonic clock, for "took 1.23 s". */
double mb_img_now(void);

#endif
