/*
 * headloop.c - the registry's own ceiling: a bare libcurl-multi loop that
 * HEADs every URL read from stdin, CONCURRENCY at a time (default 16), on
 * reused connections, and does nothing else.  bench/registry.sh compares
 * `imgwatch resolve` against it.
 *
 *   headloop [CONCURRENCY] < urls      prints "OK TOTAL SECONDS"
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t
discard (char *p, size_t s, size_t n, void *ud)
{
  (void)p;
  (void)ud;
  return s * n;
}

int
main (int argc, char **argv)
{
  int conc = argc > 1 ? atoi (argv[1]) : 16;
  char **urls = NULL, line[4096];
  size_t n = 0, cap = 0, next = 0, done = 0, ok = 0;
  int running = 0;
  struct curl_slist *hdrs = NULL;
  CURLM *multi;
  double t0;

  while (fgets (line, sizeof line, stdin))
    {
      line[strcspn (line, "\r\n")] = '\0';
      if (!*line)
        continue;
      if (n == cap)
        {
          cap = cap ? cap * 2 : 1024;
          urls = realloc (urls, cap * sizeof *urls);
          if (urls == NULL)
            return 1;
        }
      urls[n++] = strdup (line);
    }
  curl_global_init (CURL_GLOBAL_DEFAULT);
  multi = curl_multi_init ();
  curl_multi_setopt (multi, CURLMOPT_MAXCONNECTS, (long)conc + 4);
  hdrs = curl_slist_append (hdrs, "Accept: application/vnd.oci.image.manifest.v1+json, "
                                  "application/vnd.oci.image.index.v1+json, "
                                  "application/vnd.docker.distribution.manifest.v2+json, "
                                  "application/vnd.docker.distribution.manifest.list.v2+json");
  t0 = now ();
  while (done < n)
    {
      CURLMsg *msg;
      int left;

      while (next < n && running < conc)
        {
          CURL *e = curl_easy_init ();

          curl_easy_setopt (e, CURLOPT_URL, urls[next++]);
          curl_easy_setopt (e, CURLOPT_NOBODY, 1L);
          curl_easy_setopt (e, CURLOPT_HTTPHEADER, hdrs);
          curl_easy_setopt (e, CURLOPT_WRITEFUNCTION, discard);
          curl_multi_add_handle (multi, e);
          running++;
        }
      curl_multi_perform (multi, &left);
      while ((msg = curl_multi_info_read (multi, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE)
          {
            long code = 0;

            curl_easy_getinfo (msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            if (msg->data.result == CURLE_OK && code == 200)
              ok++;
            curl_multi_remove_handle (multi, msg->easy_handle);
            curl_easy_cleanup (msg->easy_handle);
            running--;
            done++;
          }
      if (done < n)
        curl_multi_poll (multi, NULL, 0, 100, NULL);
    }
  printf ("%zu %zu %.6f\n", ok, n, now () - t0);
  curl_multi_cleanup (multi);
  curl_slist_free_all (hdrs);
  for (size_t i = 0; i < n; i++)
    free (urls[i]);
  free (urls);
  return ok == n ? 0 : 1;
}
