/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Words for a file's type in messages ("/x is a FIFO, not a regular file"). */
#ifndef MOSAIC_CORE_UTIL_FILE_TYPE_H
#define MOSAIC_CORE_UTIL_FILE_TYPE_H

#include <sys/stat.h>

/* "a directory", "a FIFO", ... for st_mode. */
const char *util_file_type_name(mode_t mode);

#endif
