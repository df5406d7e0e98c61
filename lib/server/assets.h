/*
 * assets.h - the dashboard's files (lib/server/assets/), embedded into the
 * binary at build time by scripts/embed-assets.sh as build/gen/server_assets.c.
 */
#ifndef IW_SERVER_ASSETS_H
#define IW_SERVER_ASSETS_H

#include <stddef.h>

typedef struct iw_asset
{
  const char *name;         /* file name: "index.html", "app.js" */
  const char *content_type; /* "text/html; charset=utf-8", ... */
  const unsigned char *data;
  size_t len;
} iw_asset;

extern const iw_asset iw_server_assets[];
extern const size_t iw_server_n_assets;

/* The asset named name, or NULL. */
const iw_asset *iw_server_asset (const char *name);

#endif
