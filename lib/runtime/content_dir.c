/*
 * content_dir.c - blobs read straight from a containerd content directory:
 * <root>/io.containerd.content.v1.content/blobs/sha256/<hex>.
 *
 * Read-only.  Paths are built only from validated digests, so a descriptor
 * cannot name a file outside the blob directory.
 */
#include "runtime/store.h"
#include "util/mem.h"
#include "util/sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 64 KiB: the copy from the page cache stays in L2, where the hash reads it;
 * bigger buffers cost more system time (measured: bench/store.sh). */
#define READ_CHUNK (64 * 1024)

typedef struct dir_ctx
{
  char *blobs; /* ".../blobs/sha256" */
} dir_ctx;

static char *
blob_path (const dir_ctx *d, const char *digest)
{
  return iw_xasprintf ("%s/%s", d->blobs, digest + 7);
}

static int
dir_stat (void *ctx, const char *digest, long long *size_out, iw_error **err)
{
  char *path;
  struct stat st;
  int ret = 0;

  if (!iw_store_digest_valid (digest))
    return iw_error_set (err, IW_EINVAL, "invalid digest \"%.80s\"", digest);
  path = blob_path (ctx, digest);
  if (stat (path, &st) < 0)
    ret = iw_error_set (err, errno == ENOENT ? IW_ENOTFOUND : IW_EIO, "stat %s: %s", path, strerror (errno));
  else if (!S_ISREG (st.st_mode))
    ret = iw_error_set (err, IW_EIO, "%s is not a regular file", path);
  else
    *size_out = (long long)st.st_size;
  free (path);
  return ret;
}

static int
dir_read (void *ctx, const char *digest, long long limit, iw_content_sink sink, void *userdata,
          iw_error **err)
{
  char *path, *chunk = NULL;
  int fd = -1, ret = -1;
  long long total = 0;

  if (!iw_store_digest_valid (digest))
    return iw_error_set (err, IW_EINVAL, "invalid digest \"%.80s\"", digest);
  path = blob_path (ctx, digest);
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    {
      iw_error_set (err, errno == ENOENT ? IW_ENOTFOUND : IW_EIO, "open %s: %s", path, strerror (errno));
      goto done;
    }
  (void)posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  chunk = iw_xmalloc (READ_CHUNK);
  while (limit < 0 || total < limit)
    {
      size_t want = READ_CHUNK;
      ssize_t n;

      if (limit >= 0 && (long long)want > limit - total)
        want = (size_t)(limit - total);
      n = read (fd, chunk, want);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          iw_error_set (err, IW_EIO, "read %s: %s", path, strerror (errno));
          goto done;
        }
      if (n == 0)
        break;
      if (sink (chunk, (size_t)n, userdata, err) < 0)
        goto done;
      total += n;
    }
  ret = 0;
done:
  if (fd >= 0)
    close (fd);
  free (chunk);
  free (path);
  return ret;
}

static int
dir_list (void *ctx, int (*fn) (const char *digest, void *userdata, iw_error **err), void *userdata,
          iw_error **err)
{
  dir_ctx *d = ctx;
  DIR *dir = opendir (d->blobs);
  struct dirent *e;
  int ret = 0;

  if (dir == NULL)
    return iw_error_set (err, IW_EIO, "open %s: %s", d->blobs, strerror (errno));
  while ((e = readdir (dir)) != NULL)
    {
      char digest[IW_SHA256_HEX_LEN + 8];

      if (strlen (e->d_name) != IW_SHA256_HEX_LEN)
        continue;
      memcpy (digest, "sha256:", 7);
      memcpy (digest + 7, e->d_name, IW_SHA256_HEX_LEN + 1);
      if (!iw_store_digest_valid (digest))
        continue;
      if (fn (digest, userdata, err) < 0)
        {
          ret = -1;
          break;
        }
    }
  closedir (dir);
  return ret;
}

static void
dir_free (void *ctx)
{
  dir_ctx *d = ctx;

  if (d == NULL)
    return;
  free (d->blobs);
  free (d);
}

static const iw_content_ops dir_ops = { dir_stat, dir_read, dir_list, dir_free };

static bool
is_dir (const char *path)
{
  struct stat st;

  return stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

int
iw_content_dir_open (iw_content_store **out, const char *root, iw_error **err)
{
  char *a = iw_xasprintf ("%s/io.containerd.content.v1.content/blobs/sha256", root);
  char *b = iw_xasprintf ("%s/blobs/sha256", root);
  iw_content_store *cs;
  struct stat st;
  dir_ctx *d;

  int bad = 0;

  if (stat (root, &st) < 0)
    bad = iw_error_set (err, errno == ENOENT ? IW_ENOTFOUND : IW_EIO, "%s: %s", root, strerror (errno));
  else if (!S_ISDIR (st.st_mode))
    bad = iw_error_set (err, IW_EINVAL, "%s: not a directory", root);
  if (bad < 0)
    {
      free (a);
      free (b);
      return -1;
    }
  d = iw_xcalloc (1, sizeof *d);
  if (is_dir (a))
    {
      d->blobs = a;
      free (b);
    }
  else if (is_dir (b))
    {
      d->blobs = b;
      free (a);
    }
  else
    {
      free (a);
      free (b);
      free (d);
      return iw_error_set (err, IW_ENOTFOUND,
                           "%s holds neither io.containerd.content.v1.content/blobs/sha256 nor blobs/sha256",
                           root);
    }
  cs = iw_xcalloc (1, sizeof *cs);
  cs->ops = &dir_ops;
  cs->ctx = d;
  cs->description = iw_xasprintf ("dir:%s", root);
  *out = cs;
  return 0;
}
