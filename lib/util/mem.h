/*
 * mem.h - allocation helpers.
 *
 * Allocation failure is not recoverable in a tool of this size: the
 * iw_x* helpers abort with a message rather than return NULL, so the rest
 * of the code never checks for it.  Everything they return is owned by
 * the caller and released with free().
 */
#ifndef IW_UTIL_MEM_H
#define IW_UTIL_MEM_H

#include <stdarg.h>
#include <stddef.h>

void *iw_xmalloc (size_t n);
void *iw_xcalloc (size_t nmemb, size_t size);
void *iw_xrealloc (void *p, size_t n);
/* realloc for arrays: nmemb * size, with overflow checked. */
void *iw_xreallocarray (void *p, size_t nmemb, size_t size);
char *iw_xstrdup (const char *s);
/* NULL in, NULL out. */
char *iw_xstrdup0 (const char *s);
char *iw_xstrndup (const char *s, size_t n);
char *iw_xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
char *iw_xvasprintf (const char *fmt, va_list ap);

/* Move ownership: returns *p and sets *p to NULL. */
#define iw_steal(pp)                                                                                         \
  __extension__({                                                                                            \
    __typeof__ (*(pp)) iw_steal_tmp_ = *(pp);                                                                \
    *(pp) = NULL;                                                                                            \
    iw_steal_tmp_;                                                                                           \
  })

#endif
