/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Grouped completion of block jobs (core/block/job-txn.c): the jobs of one group commit
 * only when every one of them succeeded; the first failure or cancel cancels the rest;
 * nobody commits or aborts before the last job of the group has finished.  A fake job
 * driver writes what happened to a log, so each case checks the exact sequence. */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "block/job.h"
#include "loop/loop.h"

static GString *events; /* "finish:A commit:A free:A ..." */

static void note(BlkJob *job, const char *what)
{
    g_string_append_printf(events, "%s%s:%s%s", events->len ? " " : "", what, job->id,
                           job->cancelled ? "(cancelled)" : "");
}

static void fake_kick(BlkJob *job)
{
    (void)job; /* the test completes jobs itself */
}

static void fake_finish(BlkJob *job, int ret, bool cancelled)
{
    (void)ret;
    (void)cancelled;
    note(job, "finish");
}

static void fake_commit(BlkJob *job)
{
    note(job, "commit");
}

static void fake_abort(BlkJob *job)
{
    note(job, "abort");
}

static const BlkJobDriver fake_driver = {
    .size = sizeof(BlkJobDriver),
    .type = "fake",
    .kick = fake_kick,
    .finish = fake_finish,
    .commit = fake_commit,
    .abort = fake_abort,
};

static BlkJob *job_in(BlkJobTxn *txn, const char *id)
{
    g_autoptr(GError) err = NULL;
    BlkJob *job = blk_job_new(id, "node0", &fake_driver, NULL, 0, &err);
    g_assert_no_error(err);
    if (txn)
        blk_job_txn_add(txn, job);
    blk_job_start(job);
    return job;
}

static void expect(const char *want)
{
    g_assert_cmpstr(events->str, ==, want);
    g_string_truncate(events, 0);
}

static void test_alone(void)
{
    BlkJob *a = job_in(NULL, "a");
    blk_job_completed(a, 0, NULL);
    expect("finish:a commit:a");
    BlkJob *b = job_in(NULL, "b");
    blk_job_completed(b, -EIO, "write error");
    expect("finish:b abort:b");
    g_assert_null(blk_job_find("a"));
    g_assert_null(blk_job_find("b"));
}

/* Every job succeeds: each waits for the last one, then all commit. */
static void test_all_succeed(void)
{
    BlkJobTxn *txn = blk_job_txn_new();
    BlkJob *a = job_in(txn, "a"), *b = job_in(txn, "b"), *c = job_in(txn, "c");
    blk_job_completed(b, 0, NULL);
    blk_job_completed(a, 0, NULL);
    expect("finish:b finish:a");
    g_assert_true(blk_job_find("a") == a && blk_job_find("b") == b);
    g_assert_cmpstr(a->status, ==, "waiting");
    g_assert_false(a->cancelled || b->cancelled || c->cancelled);
    blk_job_completed(c, 0, NULL);
    expect("finish:c commit:a commit:b commit:c");
    g_assert_null(blk_job_find("a"));
    g_assert_null(blk_job_find("c"));
}

/* The last job fails after the others finished well: nobody commits (a backup's bitmap
 * of the disk that was copied must stay), and the finished ones count as cancelled. */
static void test_last_fails(void)
{
    BlkJobTxn *txn = blk_job_txn_new();
    BlkJob *a = job_in(txn, "a"), *b = job_in(txn, "b");
    blk_job_completed(a, 0, NULL);
    expect("finish:a");
    blk_job_completed(b, -ENOSPC, "target full");
    expect("finish:b abort:a(cancelled) abort:b");
}

/* The first job fails while the others still work: they are cancelled at once, and the
 * group ends (all abort) only when the last of them has wound down. */
static void test_first_fails(void)
{
    BlkJobTxn *txn = blk_job_txn_new();
    BlkJob *a = job_in(txn, "a"), *b = job_in(txn, "b"), *c = job_in(txn, "c");
    blk_job_completed(a, -EIO, "read error");
    expect("finish:a");
    g_assert_true(b->cancelled && c->cancelled);
    g_assert_cmpstr(b->status, ==, "aborting");
    g_assert_cmpstr(c->status, ==, "aborting");
    blk_job_completed(c, -ECANCELED, NULL);
    expect("finish:c(cancelled)");
    g_assert_cmpint(c->ret, ==, -ECANCELED);
    /* A cancelled job whose work happened to end well still fails the group. */
    blk_job_completed(b, 0, NULL);
    g_assert_cmpstr(events->str, ==,
                    "finish:b(cancelled) abort:a abort:b(cancelled) abort:c(cancelled)");
    g_string_truncate(events, 0);
}

/* Cancelling a job that already finished and waits for its group fails the group. */
static void test_cancel_waiting(void)
{
    BlkJobTxn *txn = blk_job_txn_new();
    BlkJob *a = job_in(txn, "a"), *b = job_in(txn, "b");
    blk_job_completed(a, 0, NULL);
    expect("finish:a");
    blk_job_cancel(a);
    g_assert_true(b->cancelled);
    g_assert_true(blk_job_find("a") == a); /* still waits for b */
    expect("");
    blk_job_completed(b, -ECANCELED, NULL);
    expect("finish:b(cancelled) abort:a(cancelled) abort:b(cancelled)");
}

/* Two groups at once do not mix: one failing leaves the other to commit. */
static void test_groups_independent(void)
{
    BlkJobTxn *t1 = blk_job_txn_new(), *t2 = blk_job_txn_new();
    BlkJob *a = job_in(t1, "a"), *b = job_in(t2, "b"), *c = job_in(t1, "c");
    BlkJob *d = job_in(t2, "d");
    blk_job_completed(a, -EIO, NULL);
    g_assert_true(c->cancelled);
    g_assert_false(b->cancelled || d->cancelled);
    blk_job_completed(b, 0, NULL);
    blk_job_completed(c, -ECANCELED, NULL);
    blk_job_completed(d, 0, NULL);
    expect("finish:a finish:b finish:c(cancelled) abort:a abort:c(cancelled) "
           "finish:d commit:b commit:d");
}

/* Shutting down with a group half done: everything aborts, nothing commits. */
static void test_shutdown(void)
{
    BlkJobTxn *txn = blk_job_txn_new();
    BlkJob *a = job_in(txn, "a");
    job_in(txn, "b");
    blk_job_completed(a, 0, NULL);
    expect("finish:a");
    blk_jobs_shutdown();
    expect("finish:b(cancelled) abort:a(cancelled) abort:b(cancelled)");
    g_assert_null(blk_job_find("a"));
    g_assert_null(blk_job_find("b"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* Events are delivered at once by the loop's owner, not queued for a loop that never runs. */
    g_main_context_acquire(loop_context());
    events = g_string_new(NULL);
    g_test_add_func("/job-txn/alone", test_alone);
    g_test_add_func("/job-txn/all-succeed", test_all_succeed);
    g_test_add_func("/job-txn/last-fails", test_last_fails);
    g_test_add_func("/job-txn/first-fails", test_first_fails);
    g_test_add_func("/job-txn/cancel-waiting", test_cancel_waiting);
    g_test_add_func("/job-txn/groups-independent", test_groups_independent);
    g_test_add_func("/job-txn/shutdown", test_shutdown);
    int ret = g_test_run();
    g_string_free(events, TRUE);
    g_main_context_release(loop_context());
    return ret;
}
