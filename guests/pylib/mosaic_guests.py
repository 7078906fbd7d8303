# SPDX-License-Identifier: GPL-2.0-or-later
"""Running our guest programs under Mosaic and QEMU, for the system tests and benches.

Bare-metal programs (build/guests/tests/*.elf) print "SIG name value" lines and end
through the SiFive test device; the Linux guest prints "MOSAIC-..." lines and powers
off.  Everything here returns plain data: exit status, output text, elapsed time.
"""
import os
import re
import subprocess
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
GUESTS = TOP / 'build' / 'guests'
LINUX_DIR = GUESTS / 'linux'
OPENSBI = Path('/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin')
QEMU = 'qemu-system-riscv64'

BARE_TESTS = ['rv64i', 'rv64m', 'rv64a', 'rv64c', 'rv64fd', 'csr', 'paging', 'warl', 'misaligned',
              'interrupts', 'illegal', 'plic', 'reset', 'smp', 'uart', 'smc', 'tbcache',
              'jitregs', 'jitpaths']
# Harts each program runs with (default 1).
BARE_CPUS = {'smp': 4}
RAND_TESTS = ['rand-%02d' % s for s in range(1, 21)]
# Programs run by their own tests only (not compared with QEMU).
OTHER_TESTS = ['snd', 'net']
# Self-checking programs whose results QEMU (without -icount) cannot reproduce.
MOSAIC_ONLY_TESTS = ['counters', 'trigger']


class Run:
    def __init__(self, rc, out, err, seconds):
        self.rc, self.out, self.err, self.seconds = rc, out, err, seconds

    def sigs(self):
        return [l for l in self.out.splitlines() if l.startswith('SIG ')]

    def lines(self, prefix):
        return [l for l in self.out.splitlines() if l.startswith(prefix)]

    def __repr__(self):
        return 'Run(rc=%r, %ss)\n--- stdout\n%s\n--- stderr\n%s' % (
            self.rc, self.seconds, self.out[-4000:], self.err[-2000:])


def _run(cmd, timeout, env=None, marker=None, stdin_data=None, stdin_after=None, stop_after=None):
    """Runs cmd; with marker, the elapsed time is taken when that line first appears.
    stdin_data is written to the guest console once stdin_after appears in the output.
    stop_after=(text, n): the process is terminated once text appeared n times (rc None)."""
    t0 = time.monotonic()
    e = dict(os.environ, ASAN_OPTIONS='detect_leaks=0')
    e.update(env or {})
    p = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.PIPE if stdin_data else subprocess.DEVNULL, env=e)
    fed = stdin_data is None
    out = bytearray()
    t_marker = None
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    sel.register(p.stderr, selectors.EVENT_READ)
    err = bytearray()
    open_streams = 2
    deadline = t0 + timeout
    while open_streams:
        left = deadline - time.monotonic()
        if left <= 0:
            p.kill()
            p.wait()
            return Run(None, out.decode('utf-8', 'replace'),
                       err.decode('utf-8', 'replace') + '\n[timeout after %ss]' % timeout,
                       time.monotonic() - t0)
        for key, _ in sel.select(min(left, 1.0)):
            chunk = os.read(key.fileobj.fileno(), 65536)
            if not chunk:
                sel.unregister(key.fileobj)
                open_streams -= 1
                continue
            if key.fileobj is p.stdout:
                out += chunk
                if marker and t_marker is None and marker.encode() in out:
                    t_marker = time.monotonic() - t0
                if stop_after and out.count(stop_after[0].encode()) >= stop_after[1]:
                    p.kill()
                    p.wait()
                    return Run(None, out.decode('utf-8', 'replace').replace('\r', ''),
                               err.decode('utf-8', 'replace'), time.monotonic() - t0)
                if not fed and stdin_after.encode() in out:
                    p.stdin.write(stdin_data)
                    p.stdin.flush()
                    fed = True
            else:
                err += chunk
    rc = p.wait()
    total = time.monotonic() - t0
    return Run(rc, out.decode('utf-8', 'replace').replace('\r', ''),
               err.decode('utf-8', 'replace'), t_marker if marker else total)


def mosaic_binary(variant=None):
    return TOP / 'build' / (variant or os.environ.get('MOSAIC_VARIANT', 'release')) / 'core' / 'mosaic'


# Console input some programs wait for (after they print READY).
BARE_INPUT = {'uart': bytes(97 + i % 26 for i in range(200))}


def run_mosaic_bare(elf, timeout=60, cpus=1, mosaic=None, extra=(), stdin_data=None, env=None):
    cmd = [mosaic or mosaic_binary(), TOP / 'configs' / 'riscv-virt-bare.ini',
           '--set', 'machine.kernel=%s' % elf, '--set', 'machine.cpus=%d' % cpus, *extra]
    return _run(cmd, timeout, env=env, stdin_data=stdin_data, stdin_after='READY')


def run_qemu_bare(elf, timeout=60, cpus=1, stdin_data=None):
    cmd = [QEMU, '-M', 'virt', '-smp', str(cpus), '-m', '128M', '-bios', 'none', '-kernel', elf,
           '-nographic', '-monitor', 'none', '-serial', 'stdio']
    return _run(cmd, timeout, stdin_data=stdin_data, stdin_after='READY')


def ensure_guests():
    """Builds the bare-metal programs (scons target build/guests) when missing."""
    want = [GUESTS / 'tests' / (n + '.elf') for n in BARE_TESTS + RAND_TESTS + OTHER_TESTS + MOSAIC_ONLY_TESTS]
    want.append(GUESTS / 'bench' / 'coremark-lite.elf')
    want.append(GUESTS / 'bench' / 'startup.elf')
    if not all(p.exists() for p in want):
        subprocess.run(['scons', '-Q', '-j2', 'build/guests'], cwd=TOP, check=True,
                       stdout=subprocess.DEVNULL)
    return GUESTS


def ensure_linux(timeout=3600):
    """Builds (or takes from the cache) the test kernels; returns their directory."""
    images = [LINUX_DIR / 'Image-fpu', LINUX_DIR / 'Image-nofpu']
    key_file = LINUX_DIR / 'KEY'
    # build.sh is cheap when the cache already holds this recipe's kernels.
    subprocess.run([TOP / 'guests' / 'linux' / 'build.sh', LINUX_DIR], check=True, timeout=timeout,
                   stdout=subprocess.DEVNULL)
    assert all(p.exists() for p in images) and key_file.exists()
    return LINUX_DIR


def mosaic_linux_cmd(image, cpus=1, cmd='report', memory='256M', mosaic=None, extra=()):
    return [mosaic or mosaic_binary(), TOP / 'configs' / 'riscv-virt-linux.ini',
            '--set', 'machine.kernel=%s' % image, '--set', 'machine.cpus=%d' % cpus,
            '--set', 'machine.memory=%s' % memory,
            '--set', 'machine.append=console=ttyS0 earlycon=sbi mosaic.cmd=%s' % cmd, *extra]


def qemu_linux_cmd(image, cpus=1, cmd='report', memory='256M', extra=()):
    return [QEMU, '-M', 'virt', '-smp', str(cpus), '-m', memory, '-bios', OPENSBI,
            '-kernel', image, '-append', 'console=ttyS0 earlycon=sbi mosaic.cmd=%s' % cmd,
            '-nographic', '-monitor', 'none', '-serial', 'stdio', *extra]


def run_mosaic_linux(image, cpus=1, cmd='report', memory='256M', timeout=300, mosaic=None,
                     extra=(), stop_after=None, env=None):
    args = mosaic_linux_cmd(image, cpus, cmd, memory, mosaic, extra)
    return _run(args, timeout, env=env, marker='MOSAIC-INIT-OK', stop_after=stop_after)


def run_qemu_linux(image, cpus=1, cmd='report', memory='256M', timeout=300, extra=(),
                   stop_after=None):
    args = qemu_linux_cmd(image, cpus, cmd, memory, extra)
    return _run(args, timeout, marker='MOSAIC-INIT-OK', stop_after=stop_after)


def bench_result(run):
    m = re.search(r'BENCH iterations=(\d+) ticks=(\d+)', run.out)
    return (int(m.group(1)), int(m.group(2))) if m else None


def make_initrd(path, files):
    """Writes an uncompressed cpio (newc) archive: files maps names to bytes."""
    out = bytearray()

    def entry(name, data, mode, ino):
        nb = name.encode() + b'\0'
        hdr = '070701' + ''.join('%08x' % v for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0))
        out.extend(hdr.encode() + nb)
        out.extend(b'\0' * (-len(out) % 4))
        out.extend(data)
        out.extend(b'\0' * (-len(out) % 4))

    for i, (name, data) in enumerate(sorted(files.items())):
        entry(name, data, 0o100644, i + 1)
    entry('TRAILER!!!', b'', 0, 0)
    Path(path).write_bytes(bytes(out))
    return path
