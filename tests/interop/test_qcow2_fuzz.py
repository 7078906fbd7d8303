# SPDX-License-Identifier: GPL-2.0-or-later
"""The qcow2 fuzzers (plugins/block-qcow2/fuzz/, libFuzzer + ASan + UBSan) run briefly
from their seed corpora: the header/table/bitmap-directory parser, the table cache over
more tables than it holds, and the cutting of large fragmented requests.  clang and
qemu-img come with scripts/setup: missing, the test fails."""
import subprocess

import pytest

from own_rss import own_rss  # tests/own_rss.py

TARGETS = [('fuzz-qcow2', 15), ('fuzz-q2-cache', 5), ('fuzz-q2-iov', 5)]


@pytest.fixture(scope='module')
def fuzzers(top, tmp_path_factory):
    out = tmp_path_factory.mktemp('fuzz')
    r = subprocess.run([str(top / 'plugins' / 'block-qcow2' / 'fuzz' / 'build.sh'), str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize('target,seconds', TARGETS, ids=[t for t, _ in TARGETS])
def test_fuzz_briefly(fuzzers, target, seconds):
    corpus = fuzzers / ('corpus-' + target[len('fuzz-'):])
    assert any(corpus.iterdir()), f'{corpus}: no seeds'
    r = subprocess.run(own_rss([fuzzers / target, corpus, f'-max_total_time={seconds}',
                                '-max_len=300000', '-rss_limit_mb=1024']), capture_output=True,
                       text=True, timeout=120, cwd=fuzzers)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'Done' in r.stderr
