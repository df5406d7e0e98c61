/*
 * json.c - quoting strings as JSON literals.
 */
#include "util/json.h"
#include "util/mem.h"

#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s, or 0 when it is not one. */
static size_t
utf8_len (const unsigned char *s)
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
          else if ((n = utf8_len (p)) == 0)
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
