/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The backup directory of mosaic-backup: DIR/manifest.json plus one qcow2 chain per disk
 * (DIR/DISK/NNNN-full.qcow2, DIR/DISK/NNNN-inc.qcow2 whose backing file is the previous
 * point of that disk).  Restoring point N reads the qcow2 of N: its chain holds the
 * whole disk as it was at N. */
#ifndef MOSAIC_BACKUP_REPO_H
#define MOSAIC_BACKUP_REPO_H

#include <glib.h>
#include <json-glib/json-glib.h>

typedef struct RepoDisk {
    char *node;
    char *file;      /* relative to the repo directory */
    char *backing;   /* relative, or NULL */
    guint64 size;
    char *checksum;  /* "ALGO:HEX" (checksum.h), "" for none (--no-checksum, remote) */
} RepoDisk;

typedef struct RepoPoint {
    guint id;
    char *kind;      /* "full" | "incremental" */
    char *time;      /* ISO 8601 UTC */
    GPtrArray *disks; /* RepoDisk* */
} RepoPoint;

typedef struct Repo {
    char *dir;
    /* Names the repository's change tracking on the machine (its checkpoint bitmaps);
     * made at the first save. */
    char *uuid;
    GPtrArray *points; /* RepoPoint*, oldest first */
} Repo;

Repo *repo_load(const char *dir, gboolean create, GError **err);
gboolean repo_save(Repo *r, GError **err);
void repo_free(Repo *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Repo, repo_free)
RepoPoint *repo_point_new(Repo *r, const char *kind);
RepoPoint *repo_find_point(Repo *r, const char *at, GError **err); /* id or "latest" */
RepoDisk *repo_point_disk(RepoPoint *p, const char *node);
/* The latest point that has `node` (and that point, if `point`). */
RepoDisk *repo_last_disk(Repo *r, const char *node, RepoPoint **point);
char *repo_path(Repo *r, const char *rel);
void repo_point_free(RepoPoint *p);
void repo_disk_free(RepoDisk *d);

#endif
