# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared pytest fixtures: where the build is and how to start mosaic.

Nothing here skips: what the build makes and what scripts/setup installs must be there,
so a missing one fails the test that needs it.  A test may skip only for a missing
optional host facility (root, a pty...), with the reason."""
import fcntl
import hashlib
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
# Under pytest-xdist (tests/run.py runs several workers) each worker has its own report
# directory inside the one the controller made: what a worker's daemons write after its
# last test is still found by the controller (pytest_sessionfinish).
_REPORTS_ROOT_ENV = 'MOSAIC_TEST_ASAN_REPORTS'
if os.environ.get(_REPORTS_ROOT_ENV) and 'PYTEST_XDIST_WORKER' in os.environ:
    ASAN_REPORTS = Path(tempfile.mkdtemp(prefix='worker-', dir=os.environ[_REPORTS_ROOT_ENV]))
else:
    ASAN_REPORTS = Path(tempfile.mkdtemp(prefix='mosaic-asan-'))
    os.environ[_REPORTS_ROOT_ENV] = str(ASAN_REPORTS)
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
    # An xdist worker leaves its reports for the controller, which sees every worker's.
    if hasattr(session.config, 'workerinput'):
        if not any(ASAN_REPORTS.iterdir()):
            ASAN_REPORTS.rmdir()
        return
    left = sorted(p for p in ASAN_REPORTS.rglob('*') if p.is_file())
    for p in left:
        print(f'\nsanitizer report {p.relative_to(ASAN_REPORTS)} after the last test:\n'
              + p.read_text(errors='replace')[-8000:])
    if left:
        session.exitstatus = 1
    else:
        shutil.rmtree(ASAN_REPORTS, ignore_errors=True)


def pytest_configure(config):
    config.addinivalue_line('markers', 'sanitize: also run against the ASan+UBSan build')
    config.addinivalue_line('markers', 'slow: long-running (kernel builds, benchmarks)')
    config.addinivalue_line('markers', 'linux: boots the Linux guest kernel (left out by scripts/test --quick)')
    config.addinivalue_line('markers', 'alone: measures rates or counts that other tests running '
                            'at the same time change; tests/run.py runs it after the parallel '
                            'halves, one test at a time')
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


# ---- running in parallel (tests/run.py starts pytest-xdist workers, --dist loadfile) ----

# Test files that share one thing in the source tree and must not run at the same time as
# each other: each group runs as one unit, on one worker.  `scons` keeps one database
# (.sconsign.dblite) per tree: two scons runs at once would corrupt it.
SERIAL_GROUPS = {
    'scons-in-tree': ('tests/system/test_install.py', 'tests/system/test_sdk.py',
                      'tests/system/test_accel_hvf_build.py'),
}
_GROUP_OF = {f: g for g, files in SERIAL_GROUPS.items() for f in files}

# Files whose tests each take minutes mostly waiting on a guest, with no costly fixture
# shared between them: each of their tests is a unit of its own, so that several run at
# once on different workers.
SPLIT_FILES = (
    'tests/system/test_pci.py',  # hot-plug rounds: the guest waits on pciehp's timers
)

# The longest files first, so that no long one starts last on an otherwise idle machine
# (longest-processing-time-first); measured from the JUnit reports of a whole run
# (build/pytest-release.xml, build/pytest-asan.xml: time per file).  Files not named
# keep their order after these.  A file's tests stay in its order: module-scoped
# fixtures (one Linux boot, one outer guest) still serve them all.
SLOW_FIRST = (
    'tests/system/test_x86_kvm.py',  # the nested-KVM outer guest: minutes, mostly waiting
    'tests/system/test_net_vhost_nested.py',  # another outer guest
    'tests/system/test_pci.py',  # split: each hot-plug test is minutes of waiting
    'tests/system/test_runner.py',
    'tests/system/test_audio.py',
    'tests/system/test_config.py',
    'tests/interop/test_qcow2_model.py',
    'tests/interop/test_qcow2_fuzz.py',
    'tests/system/test_sdk.py',  # with test_install.py: one SERIAL_GROUPS unit
    'tests/system/test_install.py',
    'tests/system/test_linux_boot.py',
    'tests/system/test_tcg_fuzz.py',
    'tests/system/test_backup.py',
    'tests/system/test_backup_failures.py',
    'tests/system/test_net_linux.py',
    'tests/interop/test_qcow2.py',
    'tests/system/test_riscv_isa.py',
    'tests/system/test_backup_groups.py',
    'tests/system/test_sdk_net.py',
    'tests/system/test_x86emu_fuzz.py',
)


def _file_of(config, nodeid):
    """A test's file relative to the top of the tree (node ids are relative to pytest's
    rootdir, which depends on the paths given)."""
    path = config.rootpath / nodeid.split('::', 1)[0]
    try:
        return str(path.relative_to(TOP))
    except ValueError:
        return str(path)


def pytest_collection_modifyitems(session, config, items):
    rank = {f: i for i, f in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(_file_of(config, item.nodeid), len(rank)))


@pytest.fixture(scope='module', autouse=True)
def _serial_group(request):
    """Holds the lock of the module's SERIAL_GROUPS group, if any, while the module runs
    (its module-scoped fixtures too): the other pytest half, running at the same time,
    takes the same lock."""
    group = _GROUP_OF.get(_file_of(request.config, request.node.nodeid))
    if group is None:
        yield
        return
    lock_dir = TOP / 'build' / 'test-locks'
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / group, 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def pytest_xdist_make_scheduler(config, log):
    if config.getvalue('dist') != 'loadfile':
        return None
    from xdist.scheduler import LoadFileScheduling

    class GroupedFiles(LoadFileScheduling):
        """loadfile, where the files of a SERIAL_GROUPS group make one unit and each test
        of a SPLIT_FILES file is one."""

        def _split_scope(self, nodeid):
            f = _file_of(config, nodeid)
            return nodeid if f in SPLIT_FILES else _GROUP_OF.get(f, f)

    return GroupedFiles(config, log)


# ---- programs the tests compile themselves (fuzz targets) ----

def _inputs_digest(cmd):
    """sha256 over the command and every file it reads (sources and headers, as gcc -M
    lists them for all its sources)."""
    m = subprocess.run(cmd + ['-M'], check=True, capture_output=True, text=True, cwd=TOP).stdout
    names = set()
    for rule in m.replace('\\\n', ' ').splitlines():
        if ':' in rule:
            names.update(rule.split(':', 1)[1].split())
    h = hashlib.sha256('\0'.join(cmd).encode())
    for name in sorted(names):
        h.update(b'\0' + name.encode() + b'\0' + (TOP / name).read_bytes())
    return h.hexdigest()


@pytest.fixture(scope='session')
def compiled():
    """compiled(name, cmd) -> Path: the program `cmd` (a gcc command line without -o) makes,
    built once for every test and both halves of the suite, and again whenever the command
    or any file it reads (sources, headers) changed.  Kept in build/test-programs/NAME-KEY/;
    a lock lets parallel workers share it."""
    def build(name, cmd):
        cmd = [str(c) for c in cmd]
        key = hashlib.sha256('\0'.join(cmd).encode()).hexdigest()[:16]
        d = TOP / 'build' / 'test-programs' / f'{name}-{key}'
        d.mkdir(parents=True, exist_ok=True)
        prog, stamp = d / name, d / 'inputs.sha256'
        with open(d / 'lock', 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            digest = _inputs_digest(cmd)
            if prog.exists() and stamp.exists() and stamp.read_text() == digest:
                return prog
            stamp.unlink(missing_ok=True)
            subprocess.run(cmd + ['-o', str(prog)], check=True, cwd=TOP)
            stamp.write_text(digest)
        return prog
    return build
