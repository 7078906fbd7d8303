# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared pytest fixtures: where the build is and how to start mosaic.

Nothing here skips: what the build makes and what scripts/setup installs must be there,
so a missing one fails the test that needs it.  A test may skip only for a missing
optional host facility (root, a pty...), with the reason."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parent.parent
VARIANT = os.environ.get('MOSAIC_VARIANT', 'release')

# Every ASan program a test starts checks for leaks at its exit and writes what it finds
# (leaks and every other ASan report) to a file here instead of its stderr: a test that
# never reads a daemon's stderr or exit status still fails on it (_sanitizer_reports).
# Options from the environment (tests/run.py's) come after the defaults and win; the
# report directory is always this one.  Tests add options to os.environ's, never drop it.
ASAN_REPORTS = Path(tempfile.mkdtemp(prefix='mosaic-asan-'))
# Allocations a system library holds on purpose at exit (each has its reason there).
os.environ.setdefault('LSAN_OPTIONS', f'suppressions={TOP}/tests/lsan.supp:print_suppressions=0')
os.environ['ASAN_OPTIONS'] = ':'.join(
    x for x in ('detect_leaks=1:intercept_tls_get_addr=0', os.environ.get('ASAN_OPTIONS'),
                f'log_path={ASAN_REPORTS}/report') if x)


def asan_options(extra):
    """ASAN_OPTIONS for a test's program with `extra` ("a=1:b=2") added."""
    return f"{os.environ['ASAN_OPTIONS']}:{extra}"


@pytest.fixture(autouse=True)
def _sanitizer_reports():
    """Fails the test during which a program wrote a sanitizer report."""
    before = set(ASAN_REPORTS.iterdir())
    yield
    new = sorted(set(ASAN_REPORTS.iterdir()) - before)
    if new:
        text = '\n'.join(f'--- {p.name}\n' + p.read_text(errors='replace')[-8000:] for p in new)
        for p in new:
            p.unlink()
        pytest.fail(f'AddressSanitizer/LeakSanitizer report(s) from a program of this test:\n'
                    f'{text}', pytrace=False)


def pytest_sessionfinish(session, exitstatus):
    # A program that ended after the last test (a session-scoped daemon) is counted too.
    left = sorted(ASAN_REPORTS.iterdir())
    for p in left:
        print(f'\nsanitizer report {p.name} after the last test:\n'
              + p.read_text(errors='replace')[-8000:])
    if left:
        session.exitstatus = 1
    else:
        shutil.rmtree(ASAN_REPORTS, ignore_errors=True)


def pytest_configure(config):
    config.addinivalue_line('markers', 'sanitize: also run against the ASan+UBSan build')
    config.addinivalue_line('markers', 'slow: long-running (kernel builds, benchmarks)')
    config.addinivalue_line('markers', 'linux: boots the Linux guest kernel (left out by scripts/test --quick)')
    config.addinivalue_line('markers', 'needs_tools(*programs): host programs the test runs; '
                            'scripts/setup installs them, so a missing one fails')


def pytest_runtest_setup(item):
    for m in item.iter_markers('needs_tools'):
        missing = [t for t in m.args if not shutil.which(t)]
        if missing:
            pytest.fail('%s not found: run scripts/setup' % ', '.join(missing), pytrace=False)


@pytest.fixture(scope='session')
def top():
    return TOP


@pytest.fixture(scope='session')
def build():
    return TOP / 'build' / VARIANT


@pytest.fixture(scope='session')
def mosaic(build):
    return build / 'core' / 'mosaic'


@pytest.fixture(scope='session')
def mosaic_ctl(build):
    return build / 'tools' / 'mosaic-ctl' / 'mosaic-ctl'


@pytest.fixture
def run_mosaic(mosaic, tmp_path):
    """Runs mosaic to completion with an isolated plugin policy; returns CompletedProcess."""
    def run(*args, timeout=60, env=None, **kw):
        e = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'xdg'))
        e.update(env or {})
        return subprocess.run([str(mosaic), *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, env=e, stdin=subprocess.DEVNULL, **kw)
    return run
