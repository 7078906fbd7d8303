# SPDX-License-Identifier: GPL-2.0-or-later
"""accel-kvm and the x86-microvm board.

Error paths run directly on this host.  The guest runs need a /dev/kvm that runs a stock
kernel, which the CI machines do not have: the test starts one Linux guest under QEMU's
TCG emulating an AMD CPU with SVM (tests/nested-kvm: kvm_amd gives that guest a
/dev/kvm), and in it boots Debian's own vmlinuz with our busybox initramfs
(guests/x86-busybox) on Mosaic's accel-kvm, once per scenario, in one outer boot."""
import json
import os
import subprocess
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def guest():
    r = subprocess.run([str(TOP / 'guests/x86-busybox/build.sh')], capture_output=True, text=True,
                       check=True)
    return Path(r.stdout.strip().splitlines()[-1])


def machine(tmp_path, guest, body=''):
    ini = tmp_path / 'x86.ini'
    ini.write_text(f'[machine]\ntype = x86-microvm\ncpus = 1\nmemory = 256M\n'
                   f'kernel = {guest}/vmlinuz\ninitrd = {guest}/initrd.gz\n'
                   f'append = console=ttyS0\n' + body)
    return ini


def run(mosaic, *args):
    return subprocess.run([str(mosaic), *map(str, args)], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def test_no_kvm_device_is_a_clear_error(mosaic, tmp_path, guest):
    r = run(mosaic, machine(tmp_path, guest, '[accel]\ndevice = /nonexistent/kvm\n'))
    assert r.returncode != 0
    assert '/nonexistent/kvm does not exist: this host offers no KVM' in r.stderr, r.stderr


def test_kvm_device_that_is_not_kvm(mosaic, tmp_path, guest):
    r = run(mosaic, machine(tmp_path, guest, '[accel]\ndevice = /dev/null\n'))
    assert r.returncode != 0
    assert '/dev/null is not a KVM device of API version 12' in r.stderr, r.stderr


def test_too_much_ram_is_refused(mosaic, tmp_path, guest):
    # The accelerator is opened first: on a host without KVM its error comes first.
    r = run(mosaic, '--set', 'machine.memory=1T', machine(tmp_path, guest))
    assert r.returncode != 0
    if 'offers no KVM' not in r.stderr:
        assert 'memory = 1048576 MiB is more than the board allows (524288 MiB)' in r.stderr, r.stderr


def test_tcg_is_refused_naming_who_can(mosaic, tmp_path, guest):
    r = run(mosaic, '--set', 'machine.accel=tcg', machine(tmp_path, guest))
    assert r.returncode != 0
    assert "accelerator 'tcg' cannot run x86_64 machines" in r.stderr, r.stderr
    assert 'accelerators that can: kvm' in r.stderr, r.stderr


def test_not_a_bzimage(mosaic, tmp_path, guest):
    bogus = tmp_path / 'bogus'
    bogus.write_bytes(b'\0' * 8192)
    ini = machine(tmp_path, guest)
    r = run(mosaic, '--set', f'machine.kernel={bogus}', ini)
    assert r.returncode != 0
    if 'offers no KVM' not in r.stderr:  # the accelerator is opened first
        assert f'kernel = {bogus} is not a Linux bzImage' in r.stderr, r.stderr


# ---- guests under nested SVM ----

DISK_HEAD = b'HOST-WROTE-THIS!'
PCI_HEAD = b'HOST-WROTE-PCI!!'


# Under ASan the inner machines run several times slower inside a TCG-emulated SVM host;
# all six runs took the whole 850 s budget of the outer guest.  The sanitized build boots
# the two basic runs; the rest run in the release half of every suite run.
ASAN = os.environ.get('MOSAIC_VARIANT', 'release') == 'asan'
RUNS = 'blk2 mmio1' if ASAN else 'blk2 mmio1 shell dirty1 gdb1 pciblk1'


class Runs(dict):
    def __missing__(self, name):
        if ASAN:
            pytest.skip(f'{name}: run in the release half only (suite time budget)')
        raise KeyError(name)


@pytest.fixture(scope='module')
def nested(mosaic, guest, tmp_path_factory):
    job = tmp_path_factory.mktemp('nested-job')
    disk = job / 'disk.raw'
    disk.write_bytes(DISK_HEAD + b'\0' * (8 * 1024 * 1024 - len(DISK_HEAD)))
    (job / 'pcidisk.raw').write_bytes(PCI_HEAD + b'\0' * (8 * 1024 * 1024 - len(PCI_HEAD)))
    (job / 'job.sh').write_text(
        f'python3 {TOP}/tests/nested-kvm/inner_runs.py {mosaic} {guest} {job} {RUNS}\n')
    r = subprocess.run([str(TOP / 'tests/nested-kvm/run.sh'), str(job)], capture_output=True,
                       text=True, timeout=900, env=dict(os.environ, TIMEOUT='850'))
    res = job / 'results.json'
    assert res.exists(), r.stdout[-5000:] + r.stderr[-2000:]
    return Runs(json.loads(res.read_text())), disk, job / 'pcidisk.raw'




@pytest.mark.linux
@pytest.mark.needs_tools('qemu-system-x86_64')
def test_two_vcpus_boot_and_use_virtio_blk(nested):
    results, disk, _ = nested
    r = results['blk2']
    assert 'MOSAIC-X86-UP cpus=2' in r['out'], r['out']
    assert 'MOSAIC-BLK-READ ' + DISK_HEAD.decode() in r['out'], r['out']
    assert 'MOSAIC-BLK-DONE rc=0' in r['out'], r['out']
    assert r['rc'] == 0, r['out']  # the guest powered the machine off
    assert disk.read_bytes()[4096:4096 + 13] == b'GUEST-WROTE-2'


@pytest.mark.linux
@pytest.mark.needs_tools('qemu-system-x86_64')
def test_monitor_stop_cont_query_cpus(nested):
    m = nested[0]['blk2']['monitor']
    assert m['paused-status']['running'] is False
    assert [c['cpu-index'] for c in m['cpus']] == [0, 1]
    assert m['stop'] == {'return': {}} and m['stopped-status']['running'] is False
    assert m['cont'] == {'return': {}} and m['running-status']['running'] is True


@pytest.mark.linux
@pytest.mark.needs_tools('qemu-system-x86_64')
def test_virtio_queue_notifications_use_ioeventfd(nested):
    assert nested[0]['blk2']['monitor']['notify-fds'] >= 1, nested[0]['blk2']['monitor']


@pytest.mark.linux
@pytest.mark.needs_tools('qemu-system-x86_64')
def test_virtio_interrupts_use_irqfd(nested):
    # The virtio-blk line went to an irqfd; the disk I/O's completions raised it there,
    # and the guest's EOIs came back through the resample fd (a level-triggered line).
    st = nested[0]['blk2']['monitor']['stats']
    assert st['irq-fds'] >= 1, st
    assert st['irqfd-signals'] > 0, st
    assert st['irqfd-resamples'] > 0, st


@pytest.mark.linux
@pytest.mark.needs_tools('qemu-system-x86_64')
def test_dirty_log_sees_exactly_the_pages_the_guest_wrote(nested):
    r = nested[0]['dirty1']
    m = r['monitor']
    assert 'MOSAIC-DIRTY-WROTE' in r['out'], r['out']
    assert m['start']['return']['regions'] >= 1, m
    assert m['before-run']['return']['pages'] == [], m
    # devmem wrote 0xa1000 and 0xa5000 in guest RAM that KVM maps directly: only KVM's
    # dirty log can have told the core.
    assert m['pages'] == [0xa1000, 0xa5000], m
    assert m['after-all']['pages'] == [], m
    assert m['stats']['dirty-log-pages'] >= 2, m
    assert r['rc'] == 0, r['out']


def gdb_reg(out, name):
    return [int(l.split()[1], 16) for l in out.splitlines()
            if l.split() and l.split()[0] == name and len(l.split()) >= 2]


@pytest.mark.linux
@pytest.mark.needs_tools('qemu-system-x86_64')
def test_gdb_registers_continue_stop_on_kvm(nested):
    r = nested[0]['gdb1']
    out = r['gdb']
    # At the 64-bit entry of the bzImage (startup_64) with the boot parameters in rsi.
    assert gdb_reg(out, 'rip')[0] == 0x100200, out
    assert gdb_reg(out, 'rsi') == [0x7000], out
    assert gdb_reg(out, 'cs')[0] == 0x10, out
    assert gdb_reg(out, 'rbx') == [0x1234abcd], out  # written with G/P, read back
    assert '$1 = 0x37f' in out, out  # fctrl: the x87's reset control word
    assert r['ran'], r
    # Stopped by the monitor while the kernel idled: in the kernel's text, kernel CS.
    rips = gdb_reg(out, 'rip')
    assert rips[1] >= 0xffffffff80000000, out
    assert gdb_reg(out, 'cs')[1] == 0x10, out
    # One step (KVM_GUESTDBG_SINGLESTEP) moves on from there and stops again.
    assert len(rips) == 3 and rips[2] != rips[1], out
    assert r['rc'] is not None, r


@pytest.mark.linux
@pytest.mark.needs_tools('qemu-system-x86_64')
def test_virtio_blk_on_pcie_with_msi(nested):
    # pcie = true: ACPI (MCFG, PNP0A08) announces the ECAM host, virtio-blk sits on it as
    # 1af4:1042 and interrupts through MSI-X into KVM's local APICs.
    results, _, pcidisk = nested
    r = results['pciblk1']
    assert 'MOSAIC-PCI 0x1af4:0x1042' in r['out'], r['out']
    assert 'MOSAIC-BLK-READ ' + PCI_HEAD.decode() in r['out'], r['out']
    assert 'MOSAIC-BLK-DONE rc=0' in r['out'], r['out']
    assert r['rc'] == 0, r['out']
    assert pcidisk.read_bytes()[4096:4096 + 13] == b'GUEST-WROTE-1'
    assert r['monitor']['stats']['msis'] > 0, r['monitor']


@pytest.mark.linux
@pytest.mark.needs_tools('qemu-system-x86_64')
def test_one_vcpu_unmapped_mmio_is_reported_and_survived(nested):
    r = nested[0]['mmio1']
    assert 'MOSAIC-X86-UP cpus=1' in r['out'], r['out']
    assert 'guest read of 4 bytes at address 0xc0000000: nothing is mapped there' in r['out'], r['out']
    assert 'MOSAIC-MMIO-READ 0xFFFFFFFF' in r['out'], r['out']
    assert r['rc'] == 0, r['out']


@pytest.mark.linux
@pytest.mark.needs_tools('qemu-system-x86_64')
def test_shipped_config_gives_a_shell_and_poweroff_ends_it(nested):
    r = nested[0]['shell']
    assert 'MOSAIC-X86-UP cpus=2' in r['out'], r['out']
    assert 'SHELL-SAYS-42' in r['out'], r['out']
    assert r['rc'] == 0, r['out']
