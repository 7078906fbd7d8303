# SPDX-License-Identifier: GPL-2.0-or-later
"""Leak checking cannot be silenced by a test that ignores a program's exit: every ASan
program a test starts reports to tests/conftest.py's directory, and the test during
which a report appears fails.  Checked with a leaking ASan program run by a test that
never looks at its exit status, in a pytest of its own with this suite's conftest."""
import os
import shutil
import subprocess

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.needs_tools('gcc')
def test_a_leak_in_a_program_fails_the_test_that_ran_it(tmp_path):
    src = tmp_path / 'leak.c'
    src.write_text('#include <stdlib.h>\nvoid *p;\n'
                   'int main(void) { p = malloc(77); p = 0; return 0; }\n')
    exe = tmp_path / 'leak'
    subprocess.run(['gcc', '-fsanitize=address', '-g', str(src), '-o', str(exe)], check=True)
    d = tmp_path / 'suite'
    d.mkdir()
    shutil.copy(os.path.join(TOP, 'tests', 'conftest.py'), d / 'conftest.py')
    (d / 'test_inner.py').write_text(
        'import subprocess\n'
        'def test_ignores_exit():\n'
        f'    subprocess.run([{str(exe)!r}])\n'
        'def test_clean():\n'
        '    subprocess.run(["true"])\n')
    env = {k: v for k, v in os.environ.items() if k != 'ASAN_OPTIONS'}
    r = subprocess.run(['/usr/bin/python3', '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                        str(d)], capture_output=True, text=True, timeout=120, env=env, cwd=d)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert 'ERROR' in out and 'test_ignores_exit' in out and '77 byte(s) leaked' in out, out
    assert '2 passed, 1 error' in out and 'ERROR at teardown of test_ignores_exit' in out, out
