# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared pytest fixtures: where the build is and how to start mosaic.

Nothing here skips: what the build makes and what scripts/setup installs must be there,
so a missing one fails the test that needs it.  A test may skip only for a missing
optional host facility (root, a pty...), with the reason."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parent.parent
VARIANT = os.environ.get('MOSAIC_VARIANT', 'release')


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
        e = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'xdg'),
                 ASAN_OPTIONS='detect_leaks=0')
        e.update(env or {})
        return subprocess.run([str(mosaic), *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, env=e, stdin=subprocess.DEVNULL, **kw)
    return run
