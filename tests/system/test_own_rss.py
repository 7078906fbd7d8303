# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/own_rss.py: a program started from a large process counts only its own peak RSS
(the libFuzzer runs' -rss_limit_mb depend on it)."""
import subprocess

from own_rss import own_rss  # tests/own_rss.py

PEAK_MB = ['/usr/bin/python3', '-c',
           'import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)']


def test_child_peak_rss_is_its_own():
    big = bytearray(600 << 20)
    for i in range(0, len(big), 4096):
        big[i] = 1
    direct = int(subprocess.run(PEAK_MB, capture_output=True, text=True, check=True).stdout)
    fresh = int(subprocess.run(own_rss(PEAK_MB), capture_output=True, text=True,
                               check=True).stdout)
    del big
    assert direct >= 500, direct  # the effect own_rss exists for (Linux keeps it over exec)
    assert fresh < 100, fresh
