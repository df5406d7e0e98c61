/*
 * main.c - replay a libFuzzer corpus without libFuzzer.
 *
 * Linked with one fuzz target (tests/fuzz/fuzz_*.c) under ASan+UBSan by
 * gcc, so `make test` exercises every saved input on every build.  Each
 * argument is a file or a directory of files.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
run_file (const char *path)
{
  FILE *f = fopen (path, "rb");
  unsigned char *data = NULL;
  size_t len = 0, cap = 0, n;
  unsigned char chunk[65536];

  if (f == NULL)
    {
      perror (path);
      return -1;
    }
  while ((n = fread (chunk, 1, sizeof chunk, f)) > 0)
    {
      if (len + n > cap)
        {
          cap = (len + n) * 2;
          data = realloc (data, cap);
          if (data == NULL)
            abort ();
        }
      memcpy (data + len, chunk, n);
      len += n;
    }
  fclose (f);
  LLVMFuzzerTestOneInput (data ? data : (const uint8_t *)"", len);
  free (data);
  return 0;
}

static int
run_path (const char *path, int *count)
{
  struct stat st;
  DIR *d;
  struct dirent *e;

  if (stat (path, &st) < 0)
    {
      perror (path);
      return -1;
    }
  if (!S_ISDIR (st.st_mode))
    {
      (*count)++;
      return run_file (path);
    }
  d = opendir (path);
  if (d == NULL)
    {
      perror (path);
      return -1;
    }
  while ((e = readdir (d)) != NULL)
    {
      char sub[4096];

      if (e->d_name[0] == '.')
        continue;
      snprintf (sub, sizeof sub, "%s/%s", path, e->d_name);
      if (run_path (sub, count) < 0)
        {
          closedir (d);
          return -1;
        }
    }
  closedir (d);
  return 0;
}

int
main (int argc, char **argv)
{
  int count = 0;

  for (int i = 1; i < argc; i++)
    if (run_path (argv[i], &count) < 0)
      return 1;
  printf ("replayed %d inputs\n", count);
  return 0;
}
