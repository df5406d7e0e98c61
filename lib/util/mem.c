/*
 * mem.c - allocation helpers that abort on exhaustion.
 */
#include "util/mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
oom (size_t n)
{
  fprintf (stderr, "imgwatch: out of memory allocating %zu bytes\n", n);
  abort ();
}

void *
iw_xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);

  if (p == NULL)
    oom (n);
  return p;
}

void *
iw_xcalloc (size_t nmemb, size_t size)
{
  void *p = calloc (nmemb ? nmemb : 1, size ? size : 1);

  if (p == NULL)
    oom (nmemb * size);
  return p;
}

void *
iw_xrealloc (void *p, size_t n)
{
  void *q = realloc (p, n ? n : 1);

  if (q == NULL)
    oom (n);
  return q;
}

void *
iw_xreallocarray (void *p, size_t nmemb, size_t size)
{
  if (size && nmemb > SIZE_MAX / size)
    oom (SIZE_MAX);
  return iw_xrealloc (p, nmemb * size);
}

char *
iw_xstrdup (const char *s)
{
  size_t n = strlen (s) + 1;
  char *p = iw_xmalloc (n);

  memcpy (p, s, n);
  return p;
}

char *
iw_xstrdup0 (const char *s)
{
  return s ? iw_xstrdup (s) : NULL;
}

char *
iw_xstrndup (const char *s, size_t n)
{
  char *p = iw_xmalloc (n + 1);

  memcpy (p, s, n);
  p[n] = '\0';
  return p;
}

char *
iw_xvasprintf (const char *fmt, va_list ap)
{
  va_list aq;
  int n;
  char *p;

  va_copy (aq, ap);
  n = vsnprintf (NULL, 0, fmt, aq);
  va_end (aq);
  if (n < 0)
    return iw_xstrdup ("(unformattable message)");
  p = iw_xmalloc ((size_t)n + 1);
  vsnprintf (p, (size_t)n + 1, fmt, ap);
  return p;
}

char *
iw_xasprintf (const char *fmt, ...)
{
  va_list ap;
  char *p;

  va_start (ap, fmt);
  p = iw_xvasprintf (fmt, ap);
  va_end (ap);
  return p;
}
