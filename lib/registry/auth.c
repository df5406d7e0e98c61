/*
 * auth.c - the text side of registry authentication: WWW-Authenticate
 * challenges (RFC 9110 11.6.1, as registries really send them: several
 * challenges, Bearer not first, commas inside quoted scopes, escaped
 * quotes, any letter case) and token endpoint replies.
 *
 * The token flow itself (which request gets which credential) lives in
 * client.c, next to the redirect rules it depends on.
 */
#include "registry/internal.h"
#include "util/mem.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bounds so that a hostile header costs little: the header itself is
 * capped at IW_HEADER_MAX by the transport. */
#define MAX_CHALLENGES 16
#define MAX_PARAMS 32

static bool
is_tchar (int c)
{
  return isalnum (c) || (c != 0 && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
is_token68_char (int c)
{
  return isalnum (c) || (c != 0 && strchr ("-._~+/", c) != NULL);
}

static void
skip_ows (const char **p)
{
  while (**p == ' ' || **p == '\t')
    (*p)++;
}

static char *
lower_dup (const char *s, size_t n)
{
  char *r = iw_xstrndup (s, n);

  for (char *q = r; *q; q++)
    *q = (char)tolower ((unsigned char)*q);
  return r;
}

static size_t
token_len (const char *p)
{
  size_t n = 0;

  while (is_tchar ((unsigned char)p[n]))
    n++;
  return n;
}

/* Does p start an auth-param (token BWS "=" then not "=", ",", end)?  A
 * token followed by "=" and then nothing is a token68 like "abc=". */
static bool
starts_param (const char *p)
{
  size_t n = token_len (p);
  const char *q = p + n;

  if (n == 0)
    return false;
  skip_ows (&q);
  if (*q != '=')
    return false;
  q++;
  skip_ows (&q);
  return *q != '=' && *q != ',' && *q != '\0';
}

/* A quoted-string starting at *p (on the opening quote); unescaped. */
static int
parse_quoted (char **out, const char **p, iw_error **err)
{
  const char *q = *p + 1;
  size_t cap = strlen (q) + 1, n = 0;
  char *v = iw_xmalloc (cap);

  for (;;)
    {
      unsigned char c = (unsigned char)*q;

      if (c == '\0')
        {
          free (v);
          return iw_error_set (err, IW_EPARSE, "WWW-Authenticate: unterminated quoted string");
        }
      if (c == '"')
        break;
      if (c == '\\')
        {
          q++;
          c = (unsigned char)*q;
          if (c == '\0')
            {
              free (v);
              return iw_error_set (err, IW_EPARSE, "WWW-Authenticate: unterminated quoted string");
            }
        }
      if (c < 0x20 && c != '\t')
        {
          free (v);
          return iw_error_set (err, IW_EPARSE, "WWW-Authenticate: control character in quoted string");
        }
      v[n++] = (char)c;
      q++;
    }
  v[n] = '\0';
  *p = q + 1;
  *out = v;
  return 0;
}

static int
parse_param (iw_auth_challenge *ch, const char **p, iw_error **err)
{
  size_t n = token_len (*p);
  char *name, *value = NULL;

  if (ch->n_params >= MAX_PARAMS)
    return iw_error_set (err, IW_EPARSE, "WWW-Authenticate: too many parameters");
  name = lower_dup (*p, n);
  *p += n;
  skip_ows (p);
  (*p)++; /* '=' (checked by starts_param) */
  skip_ows (p);
  if (**p == '"')
    {
      if (parse_quoted (&value, p, err) < 0)
        {
          free (name);
          return -1;
        }
    }
  else
    {
      n = token_len (*p);
      if (n == 0)
        {
          free (name);
          return iw_error_set (err, IW_EPARSE, "WWW-Authenticate: parameter without a value");
        }
      value = iw_xstrndup (*p, n);
      *p += n;
    }
  ch->params = iw_xreallocarray (ch->params, ch->n_params + 1, sizeof *ch->params);
  ch->params[ch->n_params].name = name;
  ch->params[ch->n_params].value = value;
  ch->n_params++;
  return 0;
}

static void
challenge_clear (iw_auth_challenge *ch)
{
  free (ch->scheme);
  free (ch->token68);
  for (size_t i = 0; i < ch->n_params; i++)
    {
      free (ch->params[i].name);
      free (ch->params[i].value);
    }
  free (ch->params);
}

void
iw_auth_challenges_clear (iw_auth_challenges *c)
{
  if (c == NULL)
    return;
  for (size_t i = 0; i < c->n; i++)
    challenge_clear (&c->items[i]);
  free (c->items);
  c->items = NULL;
  c->n = 0;
}

/* After a challenge's scheme: a token68, or a list of params that ends
 * where a comma is followed by something that is not a param. */
static int
parse_challenge_body (iw_auth_challenge *ch, const char **p, iw_error **err)
{
  skip_ows (p);
  if (**p == '\0' || **p == ',')
    return 0;
  if (!starts_param (*p))
    {
      size_t n = 0;

      while (is_token68_char ((unsigned char)(*p)[n]))
        n++;
      while ((*p)[n] == '=')
        n++;
      if (n == 0)
        return iw_error_set (err, IW_EPARSE, "WWW-Authenticate: unexpected character '%c'", **p);
      ch->token68 = iw_xstrndup (*p, n);
      *p += n;
      skip_ows (p);
      if (**p != '\0' && **p != ',')
        return iw_error_set (err, IW_EPARSE, "WWW-Authenticate: junk after token68");
      return 0;
    }
  for (;;)
    {
      const char *q;

      if (parse_param (ch, p, err) < 0)
        return -1;
      skip_ows (p);
      if (**p == '\0')
        return 0;
      if (**p != ',')
        return iw_error_set (err, IW_EPARSE, "WWW-Authenticate: expected ',' after parameter");
      q = *p;
      while (*q == ',' || *q == ' ' || *q == '\t')
        q++;
      if (*q == '\0')
        {
          *p = q;
          return 0;
        }
      if (!starts_param (q))
        return 0; /* the next challenge; *p is on its comma */
      *p = q;
    }
}

int
iw_auth_challenges_parse (iw_auth_challenges *out, const char *value, iw_error **err)
{
  const char *p = value ? value : "";

  out->items = NULL;
  out->n = 0;
  for (;;)
    {
      iw_auth_challenge ch = { 0 };
      size_t n;

      while (*p == ',' || *p == ' ' || *p == '\t')
        p++;
      if (*p == '\0')
        break;
      n = token_len (p);
      if (n == 0)
        {
          iw_error_set (err, IW_EPARSE, "WWW-Authenticate: expected an auth scheme at '%.20s'", p);
          goto fail;
        }
      if (out->n >= MAX_CHALLENGES)
        {
          iw_error_set (err, IW_EPARSE, "WWW-Authenticate: too many challenges");
          goto fail;
        }
      ch.scheme = lower_dup (p, n);
      p += n;
      if (*p != '\0' && *p != ' ' && *p != '\t' && *p != ',')
        {
          challenge_clear (&ch);
          iw_error_set (err, IW_EPARSE, "WWW-Authenticate: unexpected character '%c' after scheme", *p);
          goto fail;
        }
      if (parse_challenge_body (&ch, &p, err) < 0)
        {
          challenge_clear (&ch);
          goto fail;
        }
      out->items = iw_xreallocarray (out->items, out->n + 1, sizeof *out->items);
      out->items[out->n++] = ch;
    }
  if (out->n == 0)
    return iw_error_set (err, IW_EPARSE, "WWW-Authenticate: no challenge");
  return 0;

fail:
  iw_auth_challenges_clear (out);
  return -1;
}

const iw_auth_challenge *
iw_auth_challenges_find (const iw_auth_challenges *c, const char *scheme)
{
  for (size_t i = 0; i < c->n; i++)
    if (strcasecmp (c->items[i].scheme, scheme) == 0)
      return &c->items[i];
  return NULL;
}

const char *
iw_auth_challenge_param (const iw_auth_challenge *c, const char *name)
{
  for (size_t i = 0; i < c->n_params; i++)
    if (strcasecmp (c->params[i].name, name) == 0)
      return c->params[i].value;
  return NULL;
}

int
iw_auth_token_parse (char **out_token, long *expires_in, const char *body, size_t len, iw_error **err)
{
  json_error_t jerr;
  json_t *root = json_loadb (body, len, JSON_REJECT_DUPLICATES, &jerr);
  json_t *tok, *exp;
  int ret = -1;

  if (root == NULL)
    return iw_error_set (err, IW_EPARSE, "token response: %s (line %d)", jerr.text, jerr.line);
  if (!json_is_object (root))
    {
      iw_error_set (err, IW_EPARSE, "token response: not a JSON object");
      goto done;
    }
  tok = json_object_get (root, "token");
  if (tok == NULL || (json_is_string (tok) && json_string_length (tok) == 0))
    tok = json_object_get (root, "access_token");
  if (!json_is_string (tok) || json_string_length (tok) == 0)
    {
      iw_error_set (err, IW_EPARSE, "token response: no token or access_token");
      goto done;
    }
  if (strlen (json_string_value (tok)) != json_string_length (tok))
    {
      iw_error_set (err, IW_EPARSE, "token response: NUL in token");
      goto done;
    }
  for (const char *c = json_string_value (tok); *c; c++)
    if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e)
      {
        iw_error_set (err, IW_EPARSE, "token response: token has characters a header cannot carry");
        goto done;
      }
  *expires_in = 60;
  exp = json_object_get (root, "expires_in");
  if (json_is_integer (exp) && json_integer_value (exp) > 0)
    *expires_in = json_integer_value (exp) > 86400 * 365 ? 86400 * 365 : (long)json_integer_value (exp);
  else if (json_is_real (exp) && json_real_value (exp) >= 1 && json_real_value (exp) < 86400.0 * 365)
    *expires_in = (long)json_real_value (exp);
  *out_token = iw_xstrdup (json_string_value (tok));
  ret = 0;
done:
  json_decref (root);
  return ret;
}

bool
iw_auth_host_is_loopback (const char *host)
{
  size_t n;

  if (host == NULL)
    return false;
  if (strncmp (host, "[::1]", 5) == 0)
    return host[5] == '\0' || host[5] == ':';
  if (strcmp (host, "::1") == 0)
    return true;
  n = strcspn (host, ":");
  if (n == 9 && strncasecmp (host, "localhost", 9) == 0)
    return true;
  if (strncmp (host, "127.", 4) == 0)
    {
      /* Only a dotted-quad literal: "127.evil.com" is a name. */
      int dots = 0;

      for (size_t i = 0; i < n; i++)
        {
          if (host[i] == '.')
            dots++;
          else if (!isdigit ((unsigned char)host[i]))
            return false;
        }
      return dots == 3;
    }
  return false;
}
