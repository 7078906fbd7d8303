# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/run.py itself, black-box: a copy of it runs in a fake tree whose unit "programs"
are shell scripts printing chosen TAP and whose pytest tests end in chosen ways.  The
runner may count only results it saw: skips as skips, a short TAP plan, a pytest that
died (with or without a stale report from an earlier run) as failures."""
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

RUN_PY = Path(__file__).resolve().parents[1] / 'run.py'
PASSING_TEST = 'def test_ok():\n    assert True\n'


class Tree:
    def __init__(self, root):
        self.root = root
        (root / 'tests' / 'system').mkdir(parents=True)
        (root / 'tests' / 'interop').mkdir()
        shutil.copy(RUN_PY, root / 'tests' / 'run.py')

    def unit(self, name, tap, rc=0, variant='release'):
        d = self.root / 'build' / variant / 'tests' / 'unit'
        d.mkdir(parents=True, exist_ok=True)
        p = d / name
        p.write_text('#!/bin/sh\ncat <<"EOF"\n%sEOF\nexit %d\n' % (textwrap.dedent(tap), rc))
        p.chmod(p.stat().st_mode | stat.S_IXUSR)

    def pytest_file(self, rel, text):
        p = self.root / 'tests' / rel
        p.write_text(textwrap.dedent(text))

    def run(self, *args):
        env = {k: v for k, v in os.environ.items() if not k.startswith('PYTEST')}
        r = subprocess.run([sys.executable, str(self.root / 'tests' / 'run.py'), *args],
                           cwd=self.root, capture_output=True, text=True, timeout=120, env=env)
        lines = r.stdout.strip().splitlines()
        return r.returncode, (lines[-1] if lines else ''), r.stdout + r.stderr


@pytest.fixture
def tree(tmp_path):
    return Tree(tmp_path)


def test_all_pass_counts_zero_skips(tree):
    tree.unit('test-a', '1..2\nok 1 /a/x\nok 2 /a/y\n')
    rc, last, out = tree.run('--unit-only', '--no-asan')
    assert (rc, last) == (0, '2 passed, 0 failed, 0 skipped'), out


def test_glib_skip_is_a_skip(tree):
    tree.unit('test-a', '1..3\nok 1 /a/x\nok 2 /a/pty # SKIP no pty on this host\n'
                        'ok 3 /a/z # skip lower case too\n')
    rc, last, out = tree.run('--unit-only', '--no-asan')
    assert (rc, last) == (0, '1 passed, 0 failed, 2 skipped'), out
    assert 'no pty on this host' in out, out


def test_only_skips_is_not_a_pass(tree):
    tree.unit('test-a', '1..1\nok 1 /a/x # SKIP nothing here\n')
    rc, last, out = tree.run('--unit-only', '--no-asan')
    assert (rc, last) == (1, '0 passed, 0 failed, 1 skipped'), out


@pytest.mark.parametrize('tap,rc', [
    ('1..3\nok 1 /a/x\n', 0),                  # exits 0 after one of three cases
    ('1..3\nok 1 /a/x\nBail out! boom\n', 0),  # GLib's way of giving up
    ('1..3\nok 1 /a/x\nok 2 /a/y\n', 134),     # aborted
    ('ok 1 /a/x\n', 0),                        # no plan at all
    ('1..2\nok 1 /a/x\nok 1 /a/x\n', 0),       # a number twice, one case unseen
    ('1..2\nok 1 /a/x\nok 2 /a/y\nok 3 /a/z\n', 0),  # more than planned
])
def test_short_or_broken_tap_fails(tree, tap, rc):
    tree.unit('test-a', tap, rc=rc)
    tree.unit('test-b', '1..1\nok 1 /b/x\n')
    code, last, out = tree.run('--unit-only', '--no-asan')
    assert code == 1, out
    passed, failed = [int(last.split()[i]) for i in (0, 2)]
    assert failed >= 1, out
    assert 'test-a' in out.split('Failures:')[-1], out


def test_not_ok_fails(tree):
    tree.unit('test-a', '1..2\nok 1 /a/x\nnot ok 2 /a/y\n', rc=1)
    rc, last, out = tree.run('--unit-only', '--no-asan')
    assert (rc, last) == (1, '1 passed, 1 failed, 0 skipped'), out


STALE = ('<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" '
         'errors="0" failures="0" skipped="0" tests="160">' +
         ''.join('<testcase classname="old" name="t%d"/>' % i for i in range(160)) +
         '</testsuite></testsuites>')


@pytest.mark.parametrize('how', ['dies', 'internal-error', 'usage-error', 'no-tests'])
@pytest.mark.parametrize('stale', [True, False])
def test_dead_pytest_is_a_failure(tree, how, stale):
    """pytest exits 3, 4 or 5, with or without a report: never a count from an earlier run."""
    tree.unit('test-a', '1..1\nok 1 /a/x\n')
    args = ['--no-asan']
    if how == 'internal-error':
        tree.pytest_file('system/test_x.py', PASSING_TEST)
        tree.pytest_file('system/conftest.py', '''
            def pytest_collection_modifyitems(items):
                raise RuntimeError('internal error on purpose')
            ''')
    elif how == 'dies':  # like a pytest killed mid-run: exit 3, no report written
        tree.pytest_file('system/test_x.py', PASSING_TEST)
        tree.pytest_file('system/conftest.py', '''
            import os
            def pytest_collection_modifyitems(items):
                os._exit(3)
            ''')
    elif how == 'usage-error':
        tree.pytest_file('system/test_x.py', PASSING_TEST)
        args += ['-k', 'not (']
    if stale:
        (tree.root / 'build').mkdir(exist_ok=True)
        (tree.root / 'build' / 'pytest-release.xml').write_text(STALE)
    rc, last, out = tree.run(*args)
    assert rc == 1, out
    assert last.startswith('1 passed, ') and not last.startswith('1 passed, 0 failed'), out
    assert '160' not in last, out


def test_pytest_outcomes_counted(tree):
    tree.unit('test-a', '1..1\nok 1 /a/x\n')
    tree.pytest_file('system/test_x.py', '''
        import pytest
        def test_ok():
            pass
        def test_bad():
            assert 1 == 2
        def test_skipped():
            pytest.skip('needs a host facility')
        ''')
    tree.pytest_file('interop/test_y.py', PASSING_TEST)
    rc, last, out = tree.run('--no-asan')
    assert (rc, last) == (1, '3 passed, 1 failed, 1 skipped'), out


def test_quick_is_release_only_without_linux(tree):
    """--quick: the release build only and no test that boots Linux (marker `linux`)."""
    tree.unit('test-a', '1..1\nok 1 /a/x\n')
    tree.unit('test-a', '1..1\nnot ok 1 /a/x\n', rc=1, variant='asan')
    tree.pytest_file('system/test_x.py', '''
        import pytest
        def test_ok():
            pass
        @pytest.mark.linux
        def test_boots_linux():
            assert False, 'a Linux boot ran under --quick'
        ''')
    rc, last, out = tree.run('--quick')
    assert (rc, last) == (0, '2 passed, 0 failed, 0 skipped'), out
