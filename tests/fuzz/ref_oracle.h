/*
 * ref_oracle.h - an independent model of Docker's reference grammar, for
 * tests only.
 *
 * lib/ref parses by hand; this file decides the same question the way
 * distribution/reference does: Docker's normalization (splitDockerDomain)
 * followed by one anchored regular expression built from Docker's
 * patterns (POSIX ERE here), the lowercase rule and the 255-byte path
 * limit.  The fuzz target and the unit tests check that both agree on
 * every input.  It models imgwatch's documented differences: an uppercase
 * first component is not a host, a first component that must be a host
 * has to be a valid one, "sha256:<64 hex>" is an image ID, and digests are
 * sha256 or sha512 only.
 */
#ifndef IW_TESTS_REF_ORACLE_H
#define IW_TESTS_REF_ORACLE_H

#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORACLE_COMP "[a-z0-9]+(([._]|__|[-]+)[a-z0-9]+)*"
#define ORACLE_LABEL "([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
#define ORACLE_HOST "(" ORACLE_LABEL "(\\." ORACLE_LABEL ")*|\\[[a-fA-F0-9:]+\\])"
#define ORACLE_DOMAIN ORACLE_HOST "(:[0-9]+)?"
#define ORACLE_NAME "(" ORACLE_DOMAIN "/)?" ORACLE_COMP "(/" ORACLE_COMP ")*"
#define ORACLE_TAG "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
#define ORACLE_DIGEST "(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})"
#define ORACLE_REF "^(" ORACLE_NAME ")(:" ORACLE_TAG ")?(@" ORACLE_DIGEST ")?$"

static bool
oracle_is_hex64 (const char *s)
{
  if (strlen (s) != 64)
    return false;
  return strspn (s, "0123456789abcdef") == 64;
}

/* True when Docker (with imgwatch's differences) accepts text. */
static bool
ref_oracle_accepts (const char *text)
{
  static regex_t re, domain_re;
  static bool compiled;
  const char *slash = strchr (text, '/');
  const char *domain = "docker.io", *rest = text;
  char *full, *remote;
  size_t dlen = strlen ("docker.io"), remote_len;
  bool library = false, ok;
  regmatch_t m[2];

  if (!compiled)
    {
      if (regcomp (&re, ORACLE_REF, REG_EXTENDED) != 0
          || regcomp (&domain_re, "^" ORACLE_DOMAIN "$", REG_EXTENDED | REG_NOSUB) != 0)
        abort ();
      compiled = true;
    }
  if (oracle_is_hex64 (text) || (strncmp (text, "sha256:", 7) == 0 && oracle_is_hex64 (text + 7)))
    return false;

  /* splitDockerDomain, without its uppercase rule. */
  if (slash == NULL)
    library = true;
  else
    {
      size_t n = (size_t)(slash - text);

      if ((n == 9 && memcmp (text, "localhost", 9) == 0) || memchr (text, '.', n) || memchr (text, ':', n))
        {
          char *d = strndup (text, n);
          bool valid;

          if (d == NULL)
            abort ();
          /* Docker would read an invalid host ("foo_bar.com/app") as a
           * path with no registry at all; imgwatch rejects it. */
          valid = regexec (&domain_re, d, 0, NULL, 0) == 0;
          free (d);
          if (!valid)
            return false;
          domain = text;
          dlen = n;
          rest = slash + 1;
          if (n == 15 && memcmp (text, "index.docker.io", 15) == 0)
            {
              domain = "docker.io";
              dlen = 9;
            }
        }
      if (dlen == 9 && memcmp (domain, "docker.io", 9) == 0 && strchr (rest, '/') == NULL)
        library = true;
    }
  full = malloc (dlen + strlen (rest) + 16);
  if (full == NULL)
    abort ();
  sprintf (full, "%.*s/%s%s", (int)dlen, domain, library ? "library/" : "", rest);

  /* The lowercase rule looks at the remainder up to its first ':'. */
  remote = full + dlen + 1;
  remote_len = strcspn (remote, ":");
  ok = true;
  for (size_t i = 0; i < remote_len; i++)
    if (remote[i] >= 'A' && remote[i] <= 'Z')
      ok = false;
  if (ok)
    ok = regexec (&re, full, 2, m, 0) == 0 && (size_t)(m[1].rm_eo - m[1].rm_so) - dlen - 1 <= 255;
  free (full);
  return ok;
}

#endif
