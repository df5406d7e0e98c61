/*
 * ref.c - parse, normalize and print image references (see ref.h).
 *
 * The parser is written by hand rather than as one regular expression so
 * that every rejection can name the part that is wrong.  It accepts the
 * language of Docker's reference grammar (distribution/reference,
 * regexp.go) and normalizes as its ParseNormalizedNamed does:
 *
 *   alnum     := [a-z0-9]+
 *   separator := "." | "_" | "__" | "-"+
 *   component := alnum (separator alnum)*
 *   path      := component ("/" component)*          at most 255 bytes
 *   label     := [A-Za-z0-9] | [A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]
 *   host      := label ("." label)* | "[" [A-Fa-f0-9:]+ "]"
 *   domain    := host [":" [0-9]+]
 *   tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest    := "sha256:" [a-f0-9]{64} | "sha512:" [a-f0-9]{128}
 *
 * Two deliberate differences from Docker, both stricter:
 *  - Docker takes an uppercase first component ("Docker/app") for a
 *    registry host (an acknowledged quirk upstream); here the first
 *    component is a host only when it contains "." or ":" or is
 *    "localhost", so "Docker/app" is a repository name that is not
 *    lowercase.
 *  - "sha256:<64 hex>" alone is an image ID, like a bare 64-hex string,
 *    not the repository "sha256" with a 64-character tag.
 */
#include "ref/ref.h"
#include "util/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DOMAIN "index.docker.io"
#define DOCKER_API_HOST "registry-1.docker.io"
#define OFFICIAL_PREFIX "library/"
#define TAG_MAX 128
#define QUOTE_MAX 256 /* input bytes shown in an error message */

static bool
is_lower_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_alnum (char c)
{
  return is_lower_alnum (c) || (c >= 'A' && c <= 'Z');
}

static bool
is_lower_hex (char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool
is_hex (char c)
{
  return is_lower_hex (c) || (c >= 'A' && c <= 'F');
}

static bool
is_word (char c)
{
  return is_alnum (c) || c == '_';
}

/* s[0..n) as a double-quoted string safe to print: quotes, backslashes and
 * bytes outside printable ASCII are escaped, and long text is cut. */
static void
append_quoted (char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
  size_t shown = n > QUOTE_MAX ? QUOTE_MAX : n;
  size_t need = *len + shown * 4 + 8;

  if (need > *cap)
    {
      *cap = need * 2;
      *out = iw_xrealloc (*out, *cap);
    }
  (*out)[(*len)++] = '"';
  for (size_t i = 0; i < shown; i++)
    {
      unsigned char c = (unsigned char)s[i];

      if (c == '"' || c == '\\')
        {
          (*out)[(*len)++] = '\\';
          (*out)[(*len)++] = (char)c;
        }
      else if (c < 0x20 || c >= 0x7f)
        *len += (size_t)snprintf (*out + *len, 5, "\\x%02x", c);
      else
        (*out)[(*len)++] = (char)c;
    }
  if (shown < n)
    {
      memcpy (*out + *len, "...", 3);
      *len += 3;
    }
  (*out)[(*len)++] = '"';
  (*out)[*len] = '\0';
}

static char *
quote (const char *s, size_t n)
{
  char *out = NULL;
  size_t len = 0, cap = 0;

  append_quoted (&out, &len, &cap, s, n);
  return out;
}

/* A character as an error message shows it: '$', or byte 0x0a. */
static void
describe_char (char buf[16], char c)
{
  unsigned char u = (unsigned char)c;

  if (u >= 0x21 && u < 0x7f && u != '\'')
    snprintf (buf, 16, "'%c'", c);
  else if (u == ' ')
    snprintf (buf, 16, "space");
  else
    snprintf (buf, 16, "byte 0x%02x", u);
}

/*
 * Set *err to IW_EPARSE with the message
 *   invalid reference "TEXT": [WHAT "PART": ]WHY
 * WHAT and PART are optional (WHAT NULL leaves both out).  Returns -1.
 */
static int fail (iw_error **err, const char *text, const char *what, const char *part, size_t partlen,
                 const char *fmt, ...) __attribute__ ((format (printf, 6, 7)));

static int
fail (iw_error **err, const char *text, const char *what, const char *part, size_t partlen, const char *fmt,
      ...)
{
  va_list ap;
  char *why, *qtext, *qpart = NULL;

  va_start (ap, fmt);
  why = iw_xvasprintf (fmt, ap);
  va_end (ap);
  qtext = quote (text, strlen (text));
  if (what)
    qpart = quote (part, partlen);
  if (what)
    iw_error_set (err, IW_EPARSE, "invalid reference %s: %s %s: %s", qtext, what, qpart, why);
  else
    iw_error_set (err, IW_EPARSE, "invalid reference %s: %s", qtext, why);
  free (qpart);
  free (qtext);
  free (why);
  return -1;
}

/* Why the digest d[0..n) is not valid, written to why; false when valid. */
static bool
digest_problem (const char *d, size_t n, char *why, size_t whylen)
{
  const char *colon = memchr (d, ':', n);
  size_t alen, hlen, want;
  const char *hex;
  bool upper = false;

  if (colon == NULL)
    {
      snprintf (why, whylen, "missing algorithm (expected sha256:<64 hex> or sha512:<128 hex>)");
      return true;
    }
  alen = (size_t)(colon - d);
  hex = colon + 1;
  hlen = n - alen - 1;
  if (alen == 6 && memcmp (d, "sha256", 6) == 0)
    want = 64;
  else if (alen == 6 && memcmp (d, "sha512", 6) == 0)
    want = 128;
  else
    {
      char *q = quote (d, alen);

      snprintf (why, whylen, "unsupported algorithm %s (expected sha256 or sha512)", q);
      free (q);
      return true;
    }
  for (size_t i = 0; i < hlen; i++)
    {
      if (!is_hex (hex[i]))
        {
          char c[16];

          describe_char (c, hex[i]);
          snprintf (why, whylen, "invalid character %s in the hex part", c);
          return true;
        }
      if (!is_lower_hex (hex[i]))
        upper = true;
    }
  if (upper)
    {
      snprintf (why, whylen, "hex must be lowercase");
      return true;
    }
  if (hlen != want)
    {
      snprintf (why, whylen, "%.6s needs %zu hex characters, got %zu", d, want, hlen);
      return true;
    }
  return false;
}

int
iw_digest_validate (const char *digest, iw_error **err)
{
  char why[160];
  char *q;

  if (digest == NULL)
    return iw_error_set (err, IW_EPARSE, "invalid digest: missing");
  if (!digest_problem (digest, strlen (digest), why, sizeof why))
    return 0;
  q = quote (digest, strlen (digest));
  iw_error_set (err, IW_EPARSE, "invalid digest %s: %s", q, why);
  free (q);
  return -1;
}

static bool
is_hex64 (const char *s)
{
  for (size_t i = 0; i < 64; i++)
    if (!is_lower_hex (s[i]))
      return false;
  return s[64] == '\0';
}

bool
iw_ref_is_image_id (const char *text)
{
  if (text == NULL)
    return false;
  if (strncmp (text, "sha256:", 7) == 0)
    text += 7;
  return is_hex64 (text);
}

char *
iw_ref_image_id (const char *text)
{
  if (!iw_ref_is_image_id (text))
    return NULL;
  if (strncmp (text, "sha256:", 7) == 0)
    return iw_xstrdup (text);
  return iw_xasprintf ("sha256:%s", text);
}

/* Validate the registry host d[0..n), which the caller found to contain
 * "." or ":" or to be "localhost". */
static int
check_domain (const char *text, const char *d, size_t n, iw_error **err)
{
  const char *port = NULL, *end = d + n;
  char c[16];

  if (d[0] == '[')
    {
      const char *close = memchr (d, ']', n);

      if (close == NULL)
        return fail (err, text, "registry host", d, n, "'[' without ']'");
      if (close == d + 1)
        return fail (err, text, "registry host", d, n, "empty IPv6 address");
      for (const char *p = d + 1; p < close; p++)
        if (!is_hex (*p) && *p != ':')
          {
            describe_char (c, *p);
            return fail (err, text, "registry host", d, n,
                         "invalid character %s in IPv6 address (only hex digits and ':', no zone)", c);
          }
      if (close + 1 < end && close[1] != ':')
        return fail (err, text, "registry host", d, n, "expected ':' and a port after ']'");
      if (close + 1 < end)
        port = close + 2;
    }
  else
    {
      const char *colon = memchr (d, ':', n);
      const char *hend = colon ? colon : end;
      const char *label = d;

      if (colon && memchr (colon + 1, ':', (size_t)(end - colon - 1)))
        return fail (err, text, "registry host", d, n,
                     "more than one ':' (an IPv6 address must be in brackets, as in [::1]:5000)");
      for (const char *p = d; p <= hend; p++)
        {
          if (p < hend && is_alnum (*p))
            continue;
          if (p < hend && *p == '-')
            continue;
          if (p < hend && *p != '.')
            {
              describe_char (c, *p);
              return fail (err, text, "registry host", d, n, "invalid character %s", c);
            }
          /* End of a label at p. */
          if (p == label)
            return fail (err, text, "registry host", d, n, "empty label");
          if (label[0] == '-' || p[-1] == '-')
            {
              char *q = quote (label, (size_t)(p - label));
              int rc = fail (err, text, "registry host", d, n,
                             "label %s must start and end with a letter or digit", q);

              free (q);
              return rc;
            }
          label = p + 1;
        }
      if (colon)
        port = colon + 1;
    }
  if (port)
    {
      if (port == end)
        return fail (err, text, "registry host", d, n, "empty port after ':'");
      for (const char *p = port; p < end; p++)
        if (*p < '0' || *p > '9')
          {
            char *q = quote (port, (size_t)(end - port));
            int rc = fail (err, text, "registry host", d, n, "port %s must be digits", q);

            free (q);
            return rc;
          }
    }
  return 0;
}

/* Validate one path component c[0..n). */
static int
check_component (const char *text, const char *c, size_t n, iw_error **err)
{
  char ch[16];

  if (n == 0)
    return fail (err, text, NULL, NULL, 0, "empty path component (a leading, trailing or doubled '/')");
  for (size_t i = 0; i < n; i++)
    if (!is_lower_alnum (c[i]) && c[i] != '.' && c[i] != '_' && c[i] != '-')
      {
        describe_char (ch, c[i]);
        return fail (err, text, "path component", c, n, "invalid character %s", ch);
      }
  if (!is_lower_alnum (c[0]))
    return fail (err, text, "path component", c, n, "must start with a lowercase letter or digit");
  if (!is_lower_alnum (c[n - 1]))
    return fail (err, text, "path component", c, n, "must end with a lowercase letter or digit");
  for (size_t i = 0; i < n;)
    {
      size_t j = i;

      if (is_lower_alnum (c[i]))
        {
          i++;
          continue;
        }
      while (j < n && !is_lower_alnum (c[j]))
        j++;
      /* c[i..j) is a run of separator characters between two alnums. */
      {
        size_t len = j - i;
        bool ok = (len == 1) || (len == 2 && c[i] == '_' && c[i + 1] == '_');

        if (!ok)
          {
            ok = true;
            for (size_t k = i; k < j; k++)
              if (c[k] != '-')
                ok = false;
          }
        if (!ok)
          {
            char *q = quote (c + i, len);
            int rc = fail (err, text, "path component", c, n,
                           "invalid separator %s (use one '.', one or two '_', or any number of '-')", q);

            free (q);
            return rc;
          }
      }
      i = j;
    }
  return 0;
}

static int
check_path (const char *text, const char *path, iw_error **err)
{
  const char *p = path;
  size_t len = strlen (path);

  for (size_t i = 0; i < len; i++)
    if (path[i] >= 'A' && path[i] <= 'Z')
      return fail (err, text, NULL, NULL, 0, "repository name must be lowercase");
  for (;;)
    {
      const char *slash = strchr (p, '/');
      size_t n = slash ? (size_t)(slash - p) : strlen (p);

      if (check_component (text, p, n, err) < 0)
        return -1;
      if (slash == NULL)
        break;
      p = slash + 1;
    }
  if (len > IW_REF_NAME_MAX)
    return fail (err, text, NULL, NULL, 0, "repository name must not be more than %d characters (it has %zu)",
                 IW_REF_NAME_MAX, len);
  return 0;
}

static int
check_tag (const char *text, const char *tag, size_t n, iw_error **err)
{
  char c[16];

  if (n == 0)
    return fail (err, text, NULL, NULL, 0, "empty tag after ':'");
  for (size_t i = 0; i < n; i++)
    if (!is_word (tag[i]) && tag[i] != '.' && tag[i] != '-')
      {
        describe_char (c, tag[i]);
        return fail (err, text, "tag", tag, n, "invalid character %s", c);
      }
  if (!is_word (tag[0]))
    return fail (err, text, "tag", tag, n, "must start with a letter, digit or '_'");
  if (n > TAG_MAX)
    return fail (err, text, "tag", tag, n, "longer than %d characters (it has %zu)", TAG_MAX, n);
  return 0;
}

void
iw_ref_free (iw_ref *r)
{
  if (r == NULL)
    return;
  free (r->domain);
  free (r->path);
  free (r->tag);
  free (r->digest);
  free (r);
}

iw_ref *
iw_ref_dup (const iw_ref *r)
{
  iw_ref *d;

  if (r == NULL)
    return NULL;
  d = iw_xcalloc (1, sizeof *d);
  d->domain = iw_xstrdup (r->domain);
  d->path = iw_xstrdup (r->path);
  d->tag = iw_xstrdup0 (r->tag);
  d->digest = iw_xstrdup0 (r->digest);
  return d;
}

int
iw_ref_parse (iw_ref **out, const char *text, iw_error **err)
{
  iw_ref *r = NULL;
  const char *at, *name_end, *colon, *slash, *last_slash, *tag = NULL;
  size_t name_len, tag_len = 0;
  int rc = -1;

  *out = NULL;
  if (text == NULL || text[0] == '\0')
    return fail (err, text ? text : "", NULL, NULL, 0, "empty reference");
  if (iw_ref_is_image_id (text))
    return fail (err, text, NULL, NULL, 0, "an image ID (64 hex characters), not a reference");

  /* Neither the name nor the tag may contain '@', so the first one starts
   * the digest; a tag follows the last ':' when no '/' comes after it. */
  at = strchr (text, '@');
  name_end = at ? at : text + strlen (text);
  colon = NULL;
  last_slash = NULL;
  for (const char *p = text; p < name_end; p++)
    if (*p == ':')
      colon = p;
    else if (*p == '/')
      last_slash = p;
  if (colon && (last_slash == NULL || colon > last_slash))
    {
      tag = colon + 1;
      tag_len = (size_t)(name_end - tag);
      name_end = colon;
    }
  name_len = (size_t)(name_end - text);
  if (name_len == 0)
    return fail (err, text, NULL, NULL, 0, "missing repository name");

  slash = memchr (text, '/', name_len);
  if (slash == NULL && text[0] == '[')
    return fail (err, text, NULL, NULL, 0,
                 "a registry host needs a repository after it, as in [::1]:5000/app");

  r = iw_xcalloc (1, sizeof *r);
  if (slash)
    {
      size_t dlen = (size_t)(slash - text);
      bool is_domain = memchr (text, '.', dlen) || memchr (text, ':', dlen)
                       || (dlen == 9 && memcmp (text, "localhost", 9) == 0);

      if (is_domain)
        {
          if (check_domain (text, text, dlen, err) < 0)
            goto done;
          if (dlen == strlen (LEGACY_DOMAIN) && memcmp (text, LEGACY_DOMAIN, dlen) == 0)
            r->domain = iw_xstrdup (DEFAULT_DOMAIN);
          else
            r->domain = iw_xstrndup (text, dlen);
          r->path = iw_xstrndup (slash + 1, (size_t)(name_end - slash - 1));
        }
    }
  if (r->domain == NULL)
    {
      r->domain = iw_xstrdup (DEFAULT_DOMAIN);
      r->path = iw_xstrndup (text, name_len);
    }
  if (strcmp (r->domain, DEFAULT_DOMAIN) == 0 && strchr (r->path, '/') == NULL)
    {
      char *p = iw_xasprintf (OFFICIAL_PREFIX "%s", r->path);

      free (r->path);
      r->path = p;
    }
  if (check_path (text, r->path, err) < 0)
    goto done;
  if (tag)
    {
      if (check_tag (text, tag, tag_len, err) < 0)
        goto done;
      r->tag = iw_xstrndup (tag, tag_len);
    }
  if (at)
    {
      char why[160];
      size_t dlen = strlen (at + 1);

      if (dlen == 0)
        {
          fail (err, text, NULL, NULL, 0, "empty digest after '@'");
          goto done;
        }
      if (digest_problem (at + 1, dlen, why, sizeof why))
        {
          fail (err, text, "digest", at + 1, dlen, "%s", why);
          goto done;
        }
      r->digest = iw_xstrdup (at + 1);
    }
  *out = iw_steal (&r);
  rc = 0;
done:
  iw_ref_free (r);
  return rc;
}

int
iw_ref_parse_canonical (iw_ref **out, const char *text, iw_error **err)
{
  iw_ref *r = NULL;
  char *s = NULL;
  int rc = -1;

  *out = NULL;
  if (iw_ref_parse (&r, text, err) < 0)
    return -1;
  s = iw_ref_string (r);
  if (strcmp (s, text) != 0)
    {
      char *q = quote (s, strlen (s));

      fail (err, text, NULL, NULL, 0, "not fully qualified (the canonical form is %s)", q);
      free (q);
      goto done;
    }
  *out = iw_steal (&r);
  rc = 0;
done:
  free (s);
  iw_ref_free (r);
  return rc;
}

/* name, then ":tag" and "@digest" when present. */
static char *
with_suffixes (const iw_ref *r, const char *domain, const char *path)
{
  return iw_xasprintf ("%s%s%s%s%s%s%s", domain ? domain : "", domain ? "/" : "", path, r->tag ? ":" : "",
                       r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *
iw_ref_name (const iw_ref *r)
{
  return iw_xasprintf ("%s/%s", r->domain, r->path);
}

char *
iw_ref_string (const iw_ref *r)
{
  return with_suffixes (r, r->domain, r->path);
}

char *
iw_ref_familiar (const iw_ref *r)
{
  const char *path = r->path;

  if (strcmp (r->domain, DEFAULT_DOMAIN) != 0)
    return with_suffixes (r, r->domain, path);
  /* "docker.io/library/<64 hex>" stays whole: the bare hex would read back
   * as an image ID. */
  if (strncmp (path, OFFICIAL_PREFIX, strlen (OFFICIAL_PREFIX)) == 0)
    {
      const char *official = path + strlen (OFFICIAL_PREFIX);

      if (is_hex64 (official))
        return with_suffixes (r, r->domain, path);
      if (strchr (official, '/') == NULL)
        return with_suffixes (r, NULL, official);
    }
  /* Docker would print "docker.io/foo.com/app" as "foo.com/app", which
   * reads back as the registry foo.com; keep the domain when the first
   * component would be taken for a host. */
  {
    size_t n = strcspn (path, "/");

    if (memchr (path, '.', n) || memchr (path, ':', n) || (n == 9 && memcmp (path, "localhost", 9) == 0))
      return with_suffixes (r, r->domain, path);
  }
  return with_suffixes (r, NULL, path);
}

const char *
iw_ref_api_host (const iw_ref *r)
{
  if (strcmp (r->domain, DEFAULT_DOMAIN) == 0)
    return DOCKER_API_HOST;
  return r->domain;
}

const char *
iw_ref_effective_tag (const iw_ref *r)
{
  if (r->tag)
    return r->tag;
  return r->digest ? NULL : "latest";
}

bool
iw_ref_is_implicit_latest (const iw_ref *r)
{
  return r->tag == NULL && r->digest == NULL;
}

static bool
str_eq0 (const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return strcmp (a, b) == 0;
}

bool
iw_ref_equal (const iw_ref *a, const iw_ref *b)
{
  return strcmp (a->domain, b->domain) == 0 && strcmp (a->path, b->path) == 0 && str_eq0 (a->tag, b->tag)
         && str_eq0 (a->digest, b->digest);
}
