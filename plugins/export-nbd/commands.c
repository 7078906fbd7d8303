/* SPDX-License-Identifier: GPL-2.0-or-later */
/* export-nbd: the NBD export server as a plugin of kind export.  Its [export LABEL]
 * section kind and its monitor commands are declared in the descriptor, so a machine
 * file with an [export] section, or the first block-export-add, loads it. */
#include "nbd.h"

static const char *opt_str(const MosaicArgs *a, const char *k)
{
    return mosaic_args_has(a, k) ? mosaic_args_get_str(a, k) : NULL;
}

static bool cmd_export_add(void *opaque, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    gint64 port = mosaic_args_has(a, "port") ? mosaic_args_get_int(a, "port") : 0;
    if (port < 0 || port > 65535) {
        mosaic_error_set(err, "port %" G_GINT64_FORMAT " is out of range (1..65535)", port);
        return false;
    }
    return nbd_export_add(mosaic_args_get_str(a, "id"), mosaic_args_get_str(a, "node-name"),
                          opt_str(a, "name"), opt_str(a, "socket"), opt_str(a, "addr"), port,
                          mosaic_args_has(a, "writable") && mosaic_args_get_bool(a, "writable"),
                          opt_str(a, "bitmap"), err);
}

static bool cmd_export_del(void *opaque, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    return nbd_export_del(mosaic_args_get_str(a, "id"), err);
}

static void export_row(void *opaque, const char *id, const char *node, const char *name,
                       const char *where, gboolean writable, guint clients)
{
    MosaicJson *j = opaque;
    mosaic_json_begin_object(j, NULL);
    mosaic_json_str(j, "id", id);
    mosaic_json_str(j, "node-name", node);
    mosaic_json_str(j, "name", name);
    mosaic_json_str(j, "addr", where);
    mosaic_json_bool(j, "writable", writable);
    mosaic_json_int(j, "clients", clients);
    mosaic_json_end_object(j);
}

static bool cmd_query_exports(void *opaque, const MosaicArgs *a, MosaicJson *ret, MosaicError *err)
{
    mosaic_json_begin_array(ret, "exports");
    nbd_exports_foreach(export_row, ret);
    mosaic_json_end_array(ret);
    return true;
}

static const MosaicArgDesc export_add_args[] = {
    {"id", MOSAIC_ARG_STR, false, "export id"},
    {"node-name", MOSAIC_ARG_STR, false, "block node to export"},
    {"name", MOSAIC_ARG_STR, true, "export name (default: id)"},
    {"socket", MOSAIC_ARG_STR, true, "UNIX socket path"},
    {"addr", MOSAIC_ARG_STR, true, "loopback address for TCP (default 127.0.0.1)"},
    {"port", MOSAIC_ARG_INT, true, "TCP port"},
    {"writable", MOSAIC_ARG_BOOL, true, "allow writes (default false)"},
    {"bitmap", MOSAIC_ARG_STR, true, "dirty bitmap of the node (or of a node below it) to "
     "offer as NBD metadata context qemu:dirty-bitmap:NAME"},
    {NULL},
};
static const MosaicArgDesc id_args[] = {{"id", MOSAIC_ARG_STR, false, "export id"}, {NULL}};
static const MosaicArgDesc no_args[] = {{NULL}};

#define CMD(n, h, a, f, r) {.size = sizeof(MosaicCommandDesc), .name = n, .help = h, .args = a, \
                            .handler = f, .returns = r}
static const MosaicCommandDesc commands[] = {
    CMD("block-export-add", "export a block node over NBD", export_add_args, cmd_export_add, "{}"),
    CMD("block-export-del", "remove an NBD export (its clients are disconnected)", id_args,
        cmd_export_del, "{}"),
    CMD("query-block-exports", "list NBD exports", no_args, cmd_query_exports,
        "{exports: [{id, node-name, name, addr, writable, clients}]}"),
    {0},
};

static const MosaicSectionDesc sections[] = {
    {.kind = "export", .help = "a block node served over NBD (UNIX socket or loopback TCP)",
     .props = nbd_export_props},
    {NULL},
};

static const MosaicExportOps nbd_ops = {
    .size = sizeof(MosaicExportOps),
    .start = nbd_exports_start,
    .stop = nbd_exports_stop,
};

MOSAIC_PLUGIN(.kind = MOSAIC_KIND_EXPORT, .kind_abi = MOSAIC_EXPORT_ABI, .name = "nbd",
              .version = "1.0", .license = "GPL-2.0-or-later",
              .description = "NBD export server (newstyle, structured replies, block status, "
                             "dirty bitmaps)",
              .sections = sections, .ops = &nbd_ops, .commands = commands);
