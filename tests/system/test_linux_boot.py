# SPDX-License-Identifier: GPL-2.0-or-later
"""Linux on riscv-virt: OpenSBI + our test kernel (guests/linux) to the init marker and
a clean power-off, on 1 and 4 harts, with the FPU and the no-FPU kernel; the boot, reboot,
initrd and disk tests run with accel-tcg's code generator on and forced off.

The kernels are built by guests/linux/build.sh when missing (about 7 minutes per
variant on 2 cores, once per recipe hash; cached in ~/.cache/mosaic/linux-<sha>/).
"""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'guests' / 'pylib'))
import mosaic_guests as g  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.linux]


@pytest.fixture(scope='module')
def linux():
    for tool in ['riscv64-linux-gnu-gcc', 'flex', 'bison', 'bc']:
        assert shutil.which(tool), '%s missing: run scripts/setup' % tool
    assert Path('/usr/src/linux-source-6.1.tar.xz').exists(), 'linux-source-6.1 missing: run scripts/setup'
    return g.ensure_linux()


# accel-tcg with its code generator (default) and with it forced off (the interpreter
# alone); MOSAIC_TCG_STATS shows which one ran.
JIT = {'jit': [], 'interp': ['--set', 'accel.jit=off']}
STATS = {'MOSAIC_TCG_STATS': '1'}


def _check_engine(run, jit):
    compiled = [int(n) for n in re.findall(r'tcg hart \d+: .*compiled (\d+)', run.err)]
    assert compiled, run
    assert (sum(compiled) > 0) == (jit == 'jit'), run


def _check_report(run, cpus):
    assert run.rc == 0, run
    lines = run.out.splitlines()
    assert 'MOSAIC-INIT-OK' in lines, run
    assert 'MOSAIC-NCPUS %d' % cpus in lines, run
    online = '0' if cpus == 1 else '0-%d' % (cpus - 1)
    assert 'MOSAIC-CPUS-ONLINE %s' % online in lines, run
    assert 'MOSAIC-CMD report OK' in lines, run
    assert 'MOSAIC-POWEROFF' in lines, run
    assert 'Kernel panic' not in run.out, run
    assert 'Oops' not in run.out, run


@pytest.mark.parametrize('jit', JIT)
@pytest.mark.parametrize('variant', ['fpu', 'nofpu'])
@pytest.mark.parametrize('cpus', [1, 4])
def test_boot(linux, mosaic, variant, cpus, jit):
    # The no-FPU kernel is told the harts have no F/D (device tree riscv,isa).
    extra = [] if variant == 'fpu' else ['--set', 'machine.isa=rv64imac_zicsr_zifencei']
    run = g.run_mosaic_linux(linux / ('Image-' + variant), cpus=cpus, mosaic=mosaic, timeout=300,
                             extra=extra + JIT[jit], env=STATS)
    _check_report(run, cpus)
    _check_engine(run, jit)
    isa = [l for l in run.out.splitlines() if l.startswith('MOSAIC-ISA ')]
    assert isa and (('f' in isa[0].split()[1].split('_')[0][4:]) == (variant == 'fpu')), run


def _report(run):
    keep = ('MOSAIC-NCPUS', 'MOSAIC-CPUS-ONLINE', 'MOSAIC-VIRTIO', 'MOSAIC-DISK', 'MOSAIC-PCI',
            'MOSAIC-CMD')
    return [l for l in run.out.splitlines() if l.startswith(keep)]


def _base_isa(run):
    isa = [l.split()[1] for l in run.out.splitlines() if l.startswith('MOSAIC-ISA ')]
    assert isa, run
    return isa[0].split('_')[0]


def test_nofpu_boot_matches_qemu_without_fpu(linux, mosaic):
    """The no-FPU kernel on harts without F/D, under Mosaic (machine.isa) and under QEMU
    (-cpu rv64,f=false,d=false: the reference shows the recipe needs no FPU): both
    boot, both harts lack F and D, and the guest's reports are the same."""
    q = g.run_qemu_linux(linux / 'Image-nofpu', cpus=2, extra=['-cpu', 'rv64,f=false,d=false'])
    m = g.run_mosaic_linux(linux / 'Image-nofpu', cpus=2, mosaic=mosaic,
                           extra=['--set', 'machine.isa=rv64imac_zicsr_zifencei'])
    _check_report(q, 2)
    _check_report(m, 2)
    for run in (m, q):
        assert not set('fd') & set(_base_isa(run)[4:]), run
    assert _report(m) == _report(q)


def test_boot_matches_qemu_report(linux, mosaic):
    """The guest's own report (harts, virtio devices, disks, PCI functions: the ECAM host
    bridge) is the same as under QEMU."""
    m = g.run_mosaic_linux(linux / 'Image-fpu', cpus=2, mosaic=mosaic)
    q = g.run_qemu_linux(linux / 'Image-fpu', cpus=2)
    _check_report(q, 2)
    _check_report(m, 2)
    assert _report(m) == _report(q)


@pytest.mark.parametrize('jit', JIT)
def test_external_initrd(linux, mosaic, tmp_path, jit):
    """`initrd` is loaded and named in /chosen; Linux unpacks it (as with QEMU -initrd)."""
    rd = g.make_initrd(tmp_path / 'rd.cpio', {'mosaic-initrd': b'hello-initrd\n'})
    m = g.run_mosaic_linux(linux / 'Image-fpu', cpus=1, mosaic=mosaic,
                           extra=['--set', 'machine.initrd=%s' % rd] + JIT[jit], env=STATS)
    _check_engine(m, jit)
    q = g.run_qemu_linux(linux / 'Image-fpu', cpus=1, extra=['-initrd', rd])
    _check_report(q, 1)
    _check_report(m, 1)
    assert 'MOSAIC-INITRD hello-initrd' in q.out.splitlines(), q
    assert 'MOSAIC-INITRD hello-initrd' in m.out.splitlines(), m


@pytest.mark.parametrize('jit', JIT)
@pytest.mark.parametrize('cpus', [1, 2])
def test_reboot(linux, mosaic, cpus, jit):
    """A guest reboot (SBI SRST -> OpenSBI -> sifive,test 0x7777) resets the board and
    reloads the images: OpenSBI and Linux come up again on every hart."""
    m = g.run_mosaic_linux(linux / 'Image-fpu', cpus=cpus, cmd='reboot', mosaic=mosaic,
                           timeout=120, stop_after=('MOSAIC-INIT-OK', 3), extra=JIT[jit])
    assert m.out.count('MOSAIC-REBOOT') >= 2, m
    assert m.out.count('MOSAIC-NCPUS %d' % cpus) >= 2, m
    assert m.out.count('OpenSBI v') >= 3, m


def _virtio_blk_available(mosaic):
    r = subprocess.run([str(mosaic), '--describe', 'virtio-blk'], capture_output=True, text=True)
    return r.returncode == 0


# Two disks: vd0 takes virtio-mmio slot 0 (0x10001000, PLIC 1), vd1 slot 1.
DISK_SECTIONS = """
[blockdev disk0]
driver = file
filename = {image}

[device vd0]
type = virtio-blk
drive = disk0

[blockdev disk1]
driver = file
filename = {image2}

[device vd1]
type = virtio-blk
drive = disk1
"""


@pytest.mark.parametrize('jit', JIT)
def test_virtio_blk_roundtrip(linux, mosaic, tmp_path, jit):
    """Linux (4 harts) writes a pattern to /dev/vda in one boot and checks it in the
    next; the report lists both virtio devices (id 2) and both disks."""
    assert _virtio_blk_available(mosaic), 'virtio-blk device type missing from this build'
    image = tmp_path / 'disk.img'
    image.write_bytes(b'\0' * (8 << 20))
    image2 = tmp_path / 'disk2.img'
    image2.write_bytes(b'\0' * (4 << 20))
    ini = tmp_path / 'linux-disk.ini'
    ini.write_text('include = %s\n' % (g.TOP / 'configs' / 'riscv-virt-linux.ini') +
                   DISK_SECTIONS.format(image=image, image2=image2))
    for cmd in ['blk-write-pattern', 'blk-read-check']:
        args = [mosaic, ini, '--set', 'machine.kernel=%s' % (linux / 'Image-fpu'),
                '--set', 'machine.cpus=4',
                '--set', 'machine.append=console=ttyS0 mosaic.cmd=%s' % cmd, *JIT[jit]]
        run = g._run(args, 300, env=STATS, marker='MOSAIC-INIT-OK')
        _check_engine(run, jit)
        assert run.rc == 0, run
        lines = run.out.splitlines()
        assert 'MOSAIC-VIRTIO virtio0 device=0x0002' in lines, run
        assert 'MOSAIC-VIRTIO virtio1 device=0x0002' in lines, run
        assert 'MOSAIC-DISK vda sectors=16384' in lines, run
        assert 'MOSAIC-DISK vdb sectors=8192' in lines, run
        assert 'MOSAIC-NCPUS 4' in lines, run
        assert 'MOSAIC-CMD %s OK' % cmd in lines, run
    data = image.read_bytes()[:16]
    assert data == bytes((i * 7 + 0x5a) & 0xff for i in range(16))
    assert image2.read_bytes() == b'\0' * (4 << 20)
