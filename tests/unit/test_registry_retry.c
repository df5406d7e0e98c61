/*
 * test_registry_retry.c - Retry-After in its three forms, clamped.
 */
#include "registry/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* 2015-10-21 07:28:00 UTC */
#define NOW ((time_t)1445412480)
#define MAX 60000L

static const struct
{
  const char *value;
  int ok;
  long ms;
} cases[] = {
  { "0", 1, 0 },
  { "1", 1, 1000 },
  { " 120 ", 1, 60000 }, /* capped */
  { "30", 1, 30000 },
  { "999999999", 1, MAX }, /* just under the epoch threshold: a delay, capped */
  { "99999999999999999999999999", 1, MAX },
  { "1445412485", 1, 5000 }, /* unix timestamp, 5 s ahead */
  { "1445412000", 1, 0 },    /* in the past */
  { "Wed, 21 Oct 2015 07:28:10 GMT", 1, 10000 },
  { "Wednesday, 21-Oct-15 07:28:20 GMT", 1, 20000 }, /* RFC 850 */
  { "Wed Oct 21 07:28:30 2015", 1, 30000 },          /* asctime */
  { "Wed, 21 Oct 2015 07:27:00 GMT", 1, 0 },
  { "Fri, 01 Jan 2100 00:00:00 GMT", 1, MAX },
  { "", 0, 0 },
  { "   ", 0, 0 },
  { "-5", 0, 0 },
  { "1.5", 0, 0 },
  { "12abc", 0, 0 },
  { "soon", 0, 0 },
  { "\x01\x02", 0, 0 },
  { "Wed, 21 Oct 2015 07:28:10 GMT and then some more text to make it too long for the buffer", 0, 0 },
};

static void
test_registry_retry__parses_three_forms (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      long ms = -1;
      iw_error *err = NULL;
      int r = iw_retry_after_parse (&ms, cases[i].value, NOW, MAX, &err);

      if ((r == 0) != cases[i].ok)
        fail_msg ("case %zu (\"%s\"): got %d %s", i, cases[i].value, r, iw_error_msg (err));
      if (r == 0 && ms != cases[i].ms)
        fail_msg ("case %zu (\"%s\"): %ld ms, want %ld", i, cases[i].value, ms, cases[i].ms);
      if (r < 0)
        assert_int_equal (iw_error_code (err), IW_EPARSE);
      iw_error_free (err);
    }
}

static void
test_registry_retry__null_is_an_error (void **state)
{
  long ms;
  iw_error *err = NULL;

  (void)state;
  assert_int_equal (iw_retry_after_parse (&ms, NULL, NOW, MAX, &err), -1);
  iw_error_free (err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_registry_retry__parses_three_forms),
    cmocka_unit_test (test_registry_retry__null_is_an_error),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
