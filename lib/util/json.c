/*
 * json.c - quoting strings as JSON literals, and yajl_gen helpers.
 */
#include "util/json.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t
iw_utf8_len (const unsigned char *s)
{
  if (s[0] < 0x80)
    return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    return (s[1] & 0xc0) == 0x80 ? 2 : 0;
  if (s[0] >= 0xe0 && s[0] <= 0xef)
    {
      if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
        return 0;
      if (s[0] == 0xe0 && s[1] < 0xa0)
        return 0;
      if (s[0] == 0xed && s[1] > 0x9f)
        return 0;
      return 3;
    }
  if (s[0] >= 0xf0 && s[0] <= 0xf4)
    {
      if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
        return 0;
      if (s[0] == 0xf0 && s[1] < 0x90)
        return 0;
      if (s[0] == 0xf4 && s[1] > 0x8f)
        return 0;
      return 4;
    }
  return 0;
}

int
iw_json_append_quoted (iw_buf *b, const char *s, iw_error **err)
{
  const unsigned char *p = (const unsigned char *)(s ? s : "");

  if (iw_buf_appendc (b, '"', err) < 0)
    return -1;
  while (*p)
    {
      int rc;
      size_t n;

      switch (*p)
        {
        case '"':
          rc = iw_buf_appends (b, "\\\"", err);
          n = 1;
          break;
        case '\\':
          rc = iw_buf_appends (b, "\\\\", err);
          n = 1;
          break;
        case '\n':
          rc = iw_buf_appends (b, "\\n", err);
          n = 1;
          break;
        case '\r':
          rc = iw_buf_appends (b, "\\r", err);
          n = 1;
          break;
        case '\t':
          rc = iw_buf_appends (b, "\\t", err);
          n = 1;
          break;
        default:
          if (*p < 0x20)
            {
              rc = iw_buf_printf (b, err, "\\u%04x", *p);
              n = 1;
            }
          else if ((n = iw_utf8_len (p)) == 0)
            {
              rc = iw_buf_appends (b, "\\ufffd", err);
              n = 1;
            }
          else
            rc = iw_buf_append (b, p, n, err);
        }
      if (rc < 0)
        return -1;
      p += n;
    }
  return iw_buf_appendc (b, '"', err);
}

char *
iw_json_quote (const char *s)
{
  iw_buf b = IW_BUF_INIT ((size_t)-1 / 2);

  iw_json_append_quoted (&b, s, NULL);
  return iw_buf_take (&b);
}

void
iw_json_gen_str (yajl_gen g, const char *s)
{
  size_t len;
  char *clean;

  if (s == NULL)
    {
      yajl_gen_null (g);
      return;
    }
  len = strlen (s);
  clean = iw_xmalloc (len + 1);
  for (size_t i = 0; i < len;)
    {
      size_t n = iw_utf8_len ((const unsigned char *)s + i);

      if (n == 0)
        {
          clean[i++] = '?';
          continue;
        }
      memcpy (clean + i, s + i, n);
      i += n;
    }
  clean[len] = '\0';
  yajl_gen_string (g, (const unsigned char *)clean, len);
  free (clean);
}

void
iw_json_gen_key (yajl_gen g, const char *key)
{
  yajl_gen_string (g, (const unsigned char *)key, strlen (key));
}

void
iw_json_gen_kv (yajl_gen g, const char *key, const char *value)
{
  iw_json_gen_key (g, key);
  iw_json_gen_str (g, value);
}

void
iw_json_print_file (void *file, const char *s, size_t len)
{
  fwrite (s, 1, len, file);
}
