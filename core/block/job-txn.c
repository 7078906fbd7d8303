/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Grouped completion of block jobs (QEMU's `completion-mode: grouped`): the jobs of one
 * transaction take one point in time together, so they succeed or fail together.  A job
 * whose work is over waits for the others; the first failure or cancel cancels the
 * rest; when the last one has finished every job commits (all succeeded) or aborts, so a
 * backup's dirty bitmap is reset only if the backup of every disk succeeded. */
#include "block/job.h"

struct MosaicJobGroup {
    GPtrArray *jobs;    /* BlkJob*, not owned */
    gboolean failed;
};

BlkJobTxn *blk_job_txn_new(void)
{
    BlkJobTxn *t = g_new0(BlkJobTxn, 1);
    t->jobs = g_ptr_array_new();
    return t;
}

void blk_job_txn_add(BlkJobTxn *txn, BlkJob *job)
{
    g_assert(!job->txn && !job->finished);
    job->txn = txn;
    g_ptr_array_add(txn->jobs, job);
}

void blk_job_txn_finished(BlkJob *job)
{
    BlkJobTxn *t = job->txn;
    if ((job->ret < 0 || job->cancelled) && !t->failed) {
        t->failed = TRUE;
        for (guint i = 0; i < t->jobs->len; i++) {
            BlkJob *j = g_ptr_array_index(t->jobs, i);
            if (j != job && !j->cancelled) {
                /* Its copy is worth nothing without the others: reported as cancelled. */
                if (j->finished)
                    j->cancelled = TRUE;
                else
                    blk_job_cancel(j);
            }
        }
    }
    for (guint i = 0; i < t->jobs->len; i++)
        if (!((BlkJob *)g_ptr_array_index(t->jobs, i))->finished)
            return;
    /* Concluding frees the jobs: take the list first. */
    g_autoptr(GPtrArray) all = t->jobs;
    gboolean success = !t->failed;
    g_free(t);
    for (guint i = 0; i < all->len; i++) {
        BlkJob *j = g_ptr_array_index(all, i);
        j->txn = NULL;
        blk_job_conclude(j, success);
    }
}
