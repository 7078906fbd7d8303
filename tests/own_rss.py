# SPDX-License-Identifier: GPL-2.0-or-later
"""Runs a program whose peak-RSS limit must count only its own memory (libFuzzer's
-rss_limit_mb reads getrusage's ru_maxrss).  Linux keeps that peak across execve, and a
child forked from a large process starts with the parent's resident pages, so a fuzzer
started straight from a pytest worker that grew to 1.5 GB (tests/run.py runs many files
per worker) reported an out-of-memory on its empty first input.  A small shell in
between forks it afresh; `; exit $?` keeps the shell from exec'ing it in place."""

OWN_RSS = ['/bin/sh', '-c', '"$@"; exit $?', 'sh']


def own_rss(cmd):
    return OWN_RSS + [str(c) for c in cmd]
