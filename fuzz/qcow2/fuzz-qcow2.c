/* libFuzzer target: the qcow2 header, header extension and table parser of
 * plugins/block-qcow2/header.c, fed whole (small) image files. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2-format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Qcow2Header h;
    char err[256];
    size_t hlen = size < (1u << QCOW2_MAX_CLUSTER_BITS) ? size : (1u << QCOW2_MAX_CLUSTER_BITS);
    if (qcow2_parse_header(data, hlen, size, &h, err, sizeof err) < 0)
        return 0;
    /* The parser promised the tables are inside the file. */
    if (h.l1_size && h.l1_table_offset + (uint64_t)h.l1_size * 8 > size)
        abort();
    uint64_t rt_bytes = (uint64_t)h.refcount_table_clusters * h.cluster_size;
    if (h.refcount_table_offset + rt_bytes > size)
        abort();
    if (qcow2_check_reftable(&h, data + h.refcount_table_offset, size, err, sizeof err) < 0)
        return 0;
    if (h.l1_size && qcow2_check_l1(&h, data + h.l1_table_offset, size, err, sizeof err) < 0)
        return 0;
    for (uint32_t i = 0; i < h.l1_size; i++) {
        uint64_t l2 = q_be64(data + h.l1_table_offset + 8 * (uint64_t)i) & L1E_OFFSET_MASK;
        if (!l2)
            continue;
        if (l2 + h.cluster_size > size)
            abort(); /* check_l1 let a table past the end through */
        for (uint32_t j = 0; j < h.l2_entries; j++) {
            uint64_t e = q_be64(data + l2 + 8 * (uint64_t)j);
            if (qcow2_check_l2_entry(&h, e, size) == 0 && !(e & QCOW_OFLAG_COMPRESSED) &&
                (e & L2E_OFFSET_MASK) >= size)
                abort();
        }
    }
    return 0;
}
