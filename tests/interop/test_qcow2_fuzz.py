"""The qcow2 header/table parser survives 20 s of libFuzzer (ASan + UBSan)."""
import subprocess

import pytest


@pytest.mark.needs_tools('clang')
def test_fuzz_qcow2_parser_briefly(top, tmp_path):
    out = tmp_path / 'fuzz'
    r = subprocess.run([str(top / 'fuzz' / 'qcow2' / 'build.sh'), str(out)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(out / 'fuzz-qcow2'), str(out / 'corpus'), '-max_total_time=20',
                        '-max_len=300000', '-rss_limit_mb=1024'], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'Done' in r.stderr
