# SPDX-License-Identifier: GPL-2.0-or-later
"""accel-kvm and the x86-microvm board.

Error paths run directly on this host.  The guest runs need a /dev/kvm that runs a stock
kernel, which the CI machines do not have: the test starts one Linux guest under QEMU's
TCG emulating an AMD CPU with SVM (tests/nested-kvm: kvm_amd gives that guest a
/dev/kvm), and in it boots Debian's own vmlinuz with our busybox initramfs
(guests/x86-busybox) on Mosaic's accel-kvm, once per scenario, in one outer boot."""
import json
import os
import re
import shlex
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
# dirty2 runs last, with the outer KVM on shadow paging (kvm-amd-npt0): under QEMU 7.2's
# TCG emulation of nested paging its stress makes the inner guest triple-fault or the
# outer kernel panic in about 1 run of 3, with the log only fetched too, and never with
# npt=0 (tests/nested-kvm/README.md has the evidence and counts).  The other runs use
# nested paging (npt=1), as the issue asks.
RUNS = 'blk2 mmio1' if ASAN else 'blk2 mmio1 shell gdb1 pciblk1 kvm-amd-npt0 dirty2'
# Chasing a rare failure: MOSAIC_NESTED_RUNS='dirty2*10' runs only that, ten times in
# one outer boot (tests/nested-kvm/inner_runs.py; MOSAIC_NESTED_TIMEOUT: the outer
# guest's budget in s); the tests of other runs skip, test_every_inner_run_ended
# reports each repetition.
CHOSEN = os.environ.get('MOSAIC_NESTED_RUNS')
RUNS = CHOSEN or RUNS


class Runs(dict):
    """The inner runs' results; a run that ended on its deadline (tests/nested-kvm/
    watchdog.py) or never ran fails every test that reads it, saying so."""
    console = ''

    def __missing__(self, name):
        if ASAN:
            pytest.skip(f'{name}: run in the release half only (suite time budget)')
        if CHOSEN:
            pytest.skip(f'{name}: not in MOSAIC_NESTED_RUNS={CHOSEN}')
        pytest.fail(f'inner run {name} never started: the outer guest ended before it\n'
                    + self.console[-3000:])

    def __getitem__(self, name):
        r = super().__getitem__(name)
        if r.get('error'):
            # A run the outer guest did not survive has no console of its own: the outer
            # guest's console says how it ended.
            pytest.fail(f"{r['error']}\n{r.get('diagnosis') or ''}\n--- its console:\n"
                        f"{r.get('out', '')[-3000:]}\n--- the outer guest's console:\n"
                        f"{self.console[-6000:]}")
        return r


@pytest.fixture(scope='module')
def nested(mosaic, guest, tmp_path_factory):
    job = tmp_path_factory.mktemp('nested-job')
    disk = job / 'disk.raw'
    disk.write_bytes(DISK_HEAD + b'\0' * (8 * 1024 * 1024 - len(DISK_HEAD)))
    (job / 'pcidisk.raw').write_bytes(PCI_HEAD + b'\0' * (8 * 1024 * 1024 - len(PCI_HEAD)))
    runs = ' '.join(shlex.quote(r) for r in RUNS.split())
    (job / 'job.sh').write_text(
        f'python3 {TOP}/tests/nested-kvm/inner_runs.py {mosaic} {guest} {job} {runs}\n')
    # The outer guest's budget: 850 s for the suite's runs; more when chasing with many.
    budget = int(os.environ.get('MOSAIC_NESTED_TIMEOUT') or 850) if CHOSEN else 850
    r = subprocess.run([str(TOP / 'tests/nested-kvm/run.sh'), str(job)], capture_output=True,
                       text=True, timeout=budget + 50, env=dict(os.environ, TIMEOUT=str(budget)))
    res = job / 'results.json'
    assert res.exists(), r.stdout[-5000:] + r.stderr[-2000:]
    runs = Runs(json.loads(res.read_text()))
    runs.console = r.stdout
    return runs, disk, job / 'pcidisk.raw'




@pytest.mark.linux
@pytest.mark.needs_tools('qemu-system-x86_64')
def test_every_inner_run_ended(nested):
    # Each inner run ended by itself, before its deadline (tests/nested-kvm/watchdog.py):
    # a hung one names the step it waited for, with the VMM's stacks.
    # dirty2's own tests report a bad dirty2 run (it stresses the nested emulator, see
    # tests/nested-kvm/README.md), unless runs were chosen to chase one.
    results = nested[0]
    for name in dict.keys(results):
        if CHOSEN or name.split('.')[0] != 'dirty2':
            results[name]


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
def test_triple_fault_on_a_second_vcpu_reboots_the_machine(nested):
    # blk2 ends by a triple fault on vCPU 1 (Linux reboot=t,f,s1: an empty IDT, int3)
    # while vCPU 0 runs on.  KVM leaves that vCPU at the reset vector; re-entered before
    # the core's reset it failed ("KVM internal error ... rip 0xfff0") and the machine
    # stopped instead of rebooting.  The guest boots a second time and powers off.
    r = nested[0]['blk2']
    assert 'MOSAIC-TRIPLE-FAULT on cpu 1, cpus=2' in r['out'], r['out']
    assert 'internal error' not in r['out'] and 'still running' not in r['out'], r['out']
    assert 'MOSAIC-REBOOTED-AFTER-TRIPLE-FAULT' in r['out'], r['out']
    assert r['markers'] == 2, r['out']
    assert r['rc'] == 0, r['out']


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
    r = nested[0]['dirty2']
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


@pytest.mark.linux
@pytest.mark.needs_tools('qemu-system-x86_64')
def test_dirty_logging_switched_while_two_vcpus_write(nested):
    # Before the two words above: a writer pinned to each of the 2 vCPUs wrote the 16
    # pages at 0xb0000 for 15 s while the monitor switched dirty tracking off and on
    # (the map changes, the KVM slot's LOG_DIRTY_PAGES flag flips under running vCPUs)
    # and fetched the log after each switch.  The run must end (its deadline names the
    # step it hung in, tests/nested-kvm/watchdog.py), every writer must have written,
    # and the log, switched on again, must see the writers' pages.
    if not CHOSEN:  # the suite's dirty2 runs on shadow paging (RUNS above)
        assert 'npt=N' in nested[0]['kvm-amd-npt0']['out'], nested[0]['kvm-amd-npt0']
    r = nested[0]['dirty2']
    m = r['monitor']
    # The guest booted once: a triple fault under the switches reboots it now (and the
    # stress would run again), instead of stopping the machine.
    assert r['markers'] == 1, r['out']
    cpus = sorted(marked(r['out'], 'MOSAIC-DIRTY-CPU'))
    assert [c.split()[0] for c in cpus] == ['cpu=0', 'cpu=1'], r['out']
    assert all(int(c.split('writes=')[1]) > 0 for c in cpus), r['out']
    assert m['toggles'] >= 5, m
    # Every page was seen written after a switch, and pages after most switches (the
    # last fetch may come after the writers stopped).
    assert max(m['stress-fetches']) == 16, m
    assert sum(1 for n in m['stress-fetches'] if n) >= m['toggles'] // 2, m


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
    # x87 and SSE registers, wider than 8 bytes (p/P packets, KVM_GET/SET_FPU): written
    # by gdb and read back.
    assert '$2 = 1.5' in out, out
    assert '$3 = {0x1122334455667788, 0x99aabbccddeeff00}' in out, out
    assert r['ran'], r
    # Stopped by the monitor while the kernel idled: in the kernel's text, kernel CS.
    rips = gdb_reg(out, 'rip')
    assert rips[1] >= 0xffffffff80000000, out
    assert gdb_reg(out, 'cs')[1] == 0x10, out
    # One step (KVM_GUESTDBG_SINGLESTEP) moves on from there and stops again.
    assert len(rips) >= 3 and rips[2] != rips[1], out
    assert r['rc'] is not None, r


def gdb_bytes(out, addr):
    """The bytes of gdb's `x/Nxb addr` lines for that address."""
    return [[int(b, 16) for b in l.split(':', 1)[1].split()] for l in out.splitlines()
            if l.startswith(f'{addr:#x}:')]


@pytest.mark.linux
@pytest.mark.needs_tools('qemu-system-x86_64')
def test_gdb_kernel_virtual_memory_and_breakpoint_on_kvm(nested):
    # The guest named __x64_sys_sync's kernel virtual address (/proc/kallsyms); gdb,
    # stopped in the running kernel, reads the function there (the stub walks the
    # guest's page tables: 4 KiB pages of kernel text) and sets a breakpoint there,
    # always inserted: the int3 is in guest RAM, seen through the kernel's direct map
    # (another virtual address, large pages) until the breakpoint is deleted.
    r = nested[0]['gdb1']
    out, sym = r['gdb'], r['sym']
    assert sym and sym >= 0xffffffff80000000, r['out']
    # The bytes at the virtual address are those the monitor read at the physical one
    # (nokaslr: the kernel's text at __START_KERNEL_map + its physical address).
    assert r['phys_bytes'] and len(r['phys_bytes']) == 8, r
    assert gdb_bytes(out, sym) == [r['phys_bytes']], out
    direct = 0xffff888000000000 + sym - 0xffffffff80000000
    assert gdb_bytes(out, direct) == [[0xcc], [r['phys_bytes'][0]]], out
    if r['breakpoints_stop']:
        # Where the guest's int3 reaches KVM: continued, its next sync(2) stops there.
        assert f'Breakpoint 2, {sym:#018x}' in out, out
        assert gdb_reg(out, 'rip')[3:] == [sym], out
    # The guest went on to the end of its loop: the int3 was gone.
    assert 'MOSAIC-GDB-SYNCED' in r['out'], r['out']
    assert r['rc'] == 0, r['out']


def marked(out, marker):
    """The rest of every console line that starts with marker."""
    return [l.split(marker, 1)[1].strip() for l in out.splitlines() if marker in l]


@pytest.mark.linux
@pytest.mark.needs_tools('qemu-system-x86_64')
def test_virtio_blk_on_pcie_with_intx_and_64bit_bar(nested):
    # pcie = true: ACPI (MCFG, PNP0A08) announces the ECAM host, virtio-blk sits on it as
    # 1af4:1042.  Linux runs with pci=nomsi: the function interrupts through INTA, which
    # the DSDT's _PRT routes to an IOAPIC pin (GSI 20-23, level-triggered).  Its BAR 4
    # (64-bit, prefetchable) is placed in the host's 64-bit window above 4 GiB, and the
    # host bridge claims its I/O ports and windows.
    results, _, pcidisk = nested
    r = results['pciblk1']
    out = r['out']
    assert 'MOSAIC-PCI 0x1af4:0x1042 0 msi lines' in out, out
    bar = marked(out, 'MOSAIC-PCI-BAR4')[0].split()
    assert int(bar[0], 16) >= 1 << 32 and int(bar[1], 16) - int(bar[0], 16) == 0x3fff, out
    # /proc/interrupts: "25: 3 IO-APIC 21-fasteoi virtio0" (slot 1, INTA: GSI 21).
    pin = re.search(r'IO-APIC (\d+)-fasteoi virtio', marked(out, 'MOSAIC-PCI-IRQ')[0])
    assert pin and 20 <= int(pin.group(1)) <= 23, out
    windows = marked(out, 'MOSAIC-PCI-WINDOW')
    assert any(w.startswith('/proc/ioports:1000-ffff : PCI Bus 0000:00') for w in windows), out
    assert any(w.startswith('/proc/iomem:800000000-fffffffff : PCI Bus 0000:00') for w in windows), out
    assert 'MOSAIC-BLK-READ ' + PCI_HEAD.decode() in out, out
    assert 'MOSAIC-BLK-DONE rc=0' in out, out
    assert r['rc'] == 0, out
    assert pcidisk.read_bytes()[4096:4096 + 13] == b'GUEST-WROTE-1'
    st = r['monitor']['stats']
    assert st['msis'] == 0 and st['irq-line-ioctls'] > 0, st


@pytest.mark.linux
@pytest.mark.needs_tools('qemu-system-x86_64')
def test_virtio_blk_on_pcie_with_msi(nested):
    # The same function with MSI (the gdb run's disk): its vectors are MSI-X messages
    # into KVM's local APICs, counted by the accelerator.
    r = nested[0]['gdb1']
    n = marked(r['out'], 'MOSAIC-MSI')
    assert n and int(n[0].split()[0]) >= 2, r['out']  # config + one request queue
    assert r['stats'] and r['stats']['msis'] > 0, r


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
