/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NBD protocol constants (https://github.com/NetworkBlockDevice/nbd doc/proto.md). */
#ifndef MOSAIC_CORE_BLOCK_NBD_PROTO_H
#define MOSAIC_CORE_BLOCK_NBD_PROTO_H

#define NBD_MAGIC 0x4e42444d41474943ULL       /* "NBDMAGIC" */
#define NBD_IHAVEOPT 0x49484156454F5054ULL    /* "IHAVEOPT" */
#define NBD_REP_MAGIC 0x3e889045565a9ULL
#define NBD_REQUEST_MAGIC 0x25609513u
#define NBD_SIMPLE_REPLY_MAGIC 0x67446698u
#define NBD_STRUCTURED_REPLY_MAGIC 0x668e33efu

#define NBD_FLAG_FIXED_NEWSTYLE 1
#define NBD_FLAG_NO_ZEROES 2

enum {
    NBD_OPT_EXPORT_NAME = 1, NBD_OPT_ABORT = 2, NBD_OPT_LIST = 3, NBD_OPT_STARTTLS = 5,
    NBD_OPT_INFO = 6, NBD_OPT_GO = 7, NBD_OPT_STRUCTURED_REPLY = 8,
    NBD_OPT_LIST_META_CONTEXT = 9, NBD_OPT_SET_META_CONTEXT = 10,
};
#define NBD_REP_ACK 1u
#define NBD_REP_SERVER 2u
#define NBD_REP_INFO 3u
#define NBD_REP_META_CONTEXT 4u
#define NBD_REP_ERR_UNSUP 0x80000001u
#define NBD_REP_ERR_POLICY 0x80000002u
#define NBD_REP_ERR_INVALID 0x80000003u
#define NBD_REP_ERR_UNKNOWN 0x80000006u
#define NBD_REP_ERR_TOO_BIG 0x80000009u

enum { NBD_INFO_EXPORT = 0, NBD_INFO_NAME = 1, NBD_INFO_DESCRIPTION = 2, NBD_INFO_BLOCK_SIZE = 3 };

enum {
    NBD_FLAG_HAS_FLAGS = 1 << 0, NBD_FLAG_READ_ONLY = 1 << 1, NBD_FLAG_SEND_FLUSH = 1 << 2,
    NBD_FLAG_SEND_FUA = 1 << 3, NBD_FLAG_SEND_TRIM = 1 << 5,
    NBD_FLAG_SEND_WRITE_ZEROES = 1 << 6, NBD_FLAG_SEND_DF = 1 << 7,
    NBD_FLAG_CAN_MULTI_CONN = 1 << 8,
};

enum {
    NBD_CMD_READ = 0, NBD_CMD_WRITE = 1, NBD_CMD_DISC = 2, NBD_CMD_FLUSH = 3, NBD_CMD_TRIM = 4,
    NBD_CMD_CACHE = 5, NBD_CMD_WRITE_ZEROES = 6, NBD_CMD_BLOCK_STATUS = 7,
};
enum {
    NBD_CMD_FLAG_FUA = 1 << 0, NBD_CMD_FLAG_NO_HOLE = 1 << 1, NBD_CMD_FLAG_DF = 1 << 2,
    NBD_CMD_FLAG_REQ_ONE = 1 << 3,
};

#define NBD_REPLY_FLAG_DONE 1
enum {
    NBD_REPLY_TYPE_NONE = 0, NBD_REPLY_TYPE_OFFSET_DATA = 1, NBD_REPLY_TYPE_BLOCK_STATUS = 5,
    NBD_REPLY_TYPE_ERROR = 32769,
};
#define NBD_STATE_HOLE 1u
#define NBD_STATE_ZERO 2u

/* Wire errno values. */
enum { NBD_EPERM = 1, NBD_EIO = 5, NBD_ENOMEM = 12, NBD_EINVAL = 22, NBD_ENOSPC = 28,
       NBD_EOVERFLOW = 75, NBD_ENOTSUP = 95, NBD_ESHUTDOWN = 108 };

#define NBD_MAX_PAYLOAD (32u << 20)    /* largest read/write we accept */
#define NBD_MAX_OPT_LEN 65536u         /* largest option payload we accept */
#define NBD_MAX_CLIENTS 64u            /* connections per listener */
/* Negotiation: replies a client may leave unread before we stop reading its options,
 * and the time it has to reach transmission (QEMU's handshake-max-seconds, the fix of
 * CVE-2024-7409: idle clients would hold every slot for ever). */
#define NBD_MAX_NEGOTIATION_OUT (1u << 20)
#define NBD_HANDSHAKE_SECONDS 10
#define NBD_META_BASE_ALLOCATION 1u     /* our context id for base:allocation */
#define NBD_META_DIRTY_BITMAP 2u        /* our context id for qemu:dirty-bitmap:NAME */
#define NBD_STATE_DIRTY 1u              /* qemu:dirty-bitmap: bit 0 set = dirty */

#endif
