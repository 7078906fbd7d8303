# SPDX-License-Identifier: GPL-2.0-or-later
"""The GDB stub (--gdb tcp:127.0.0.1:PORT): gdb-multiarch driving a tiny bare-metal
program (break, stepi, registers, memory, kill), and a raw remote-serial-protocol client
sending hostile input that must be answered, never crash the emulator."""
import os
import resource
import shutil
import signal
import socket
import subprocess
import time

import pytest
from free_port import free_port  # tests/free_port.py

pytestmark = pytest.mark.needs_tools('riscv64-unknown-elf-gcc')

GDB = shutil.which('gdb-multiarch')

PROGRAM = r"""
    .text
    .globl _start
_start:
    li a0, 0x1234
    addi a1, a0, 1
    .globl target
target:
    addi a2, a1, 2
    addi a3, a2, 3
    la t0, data
    sd a3, 0(t0)
    .globl spin
spin:
    addi a4, a4, 1
    j spin
    .globl exit_ok
exit_ok:            # the SiFive test device of riscv-virt: 0x5555 = pass, exit 0
    li t0, 0x100000
    li t1, 0x5555
    sw t1, 0(t0)
    j exit_ok
    .data
    .balign 8
    .globl data
data:
    .dword 0x1122334455667788
"""

LDSCRIPT = """ENTRY(_start)
SECTIONS {
  . = 0x80000000;
  .text : { *(.text*) }
  . = ALIGN(8);
  .data : { *(.data*) }
}
"""


@pytest.fixture(scope='module')
def program(tmp_path_factory):
    d = tmp_path_factory.mktemp('gdbprog')
    (d / 't.S').write_text(PROGRAM)
    (d / 't.ld').write_text(LDSCRIPT)
    elf = d / 't.elf'
    subprocess.run(['riscv64-unknown-elf-gcc', '-march=rv64imac', '-mabi=lp64', '-nostdlib',
                    '-nostartfiles', '-Wl,--no-warn-rwx-segments', '-T', str(d / 't.ld'),
                    '-o', str(elf), str(d / 't.S')], check=True)
    nm = subprocess.run(['riscv64-unknown-elf-nm', str(elf)], check=True, capture_output=True,
                        text=True).stdout
    syms = {l.split()[2]: int(l.split()[0], 16) for l in nm.splitlines() if len(l.split()) == 3}
    return elf, syms


class Emu:
    """mosaic running `elf` with a GDB stub on a fresh port."""

    def __init__(self, mosaic, top, tmp_path, elf, extra=()):
        self.port = free_port()
        env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'xdg'))
        self.p = subprocess.Popen([str(mosaic), str(top / 'configs' / 'riscv-virt-bare.ini'),
                                   '--set', 'machine.kernel=%s' % elf,
                                   '--gdb', 'tcp:127.0.0.1:%d' % self.port, *extra],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env)
        # Wait for the listening socket without connecting: a connection attaches,
        # and a disconnect resumes the machine.
        end = time.monotonic() + 10
        while not self.listening():
            assert self.p.poll() is None, 'mosaic exited: %r' % (self.p.communicate(),)
            assert time.monotonic() < end, 'the GDB stub never listened'
            time.sleep(0.05)

    def listening(self):
        with open('/proc/net/tcp') as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if local == '0100007F:%04X' % self.port and state == '0A':
                    return True
        return False

    def wait(self, timeout=10):
        try:
            return self.p.wait(timeout)
        finally:
            if self.p.poll() is None:
                self.p.kill()
                self.p.wait()

    def close(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
            self.p.wait()
        self.p.stdout.close()
        self.p.stderr.close()


class Rsp:
    """A minimal raw GDB remote-protocol client."""

    def __init__(self, port):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=10)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # ack + packet pairs
        self.buf = b''
        self.noack = False

    @staticmethod
    def frame(payload):
        if isinstance(payload, str):
            payload = payload.encode()
        return b'$' + payload + b'#%02x' % (sum(payload) & 0xff)

    def raw(self, data):
        self.s.sendall(data)

    def _fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise EOFError('stub closed the connection')
        self.buf += chunk

    def read_ack(self):
        while not self.buf:
            self._fill()
        c, self.buf = self.buf[:1], self.buf[1:]
        return c

    def read_packet(self):
        while True:
            start = self.buf.find(b'$')
            if start >= 0:
                end = self.buf.find(b'#', start)
                if end >= 0 and len(self.buf) >= end + 3:
                    payload = self.buf[start + 1:end]
                    csum = int(self.buf[end + 1:end + 3], 16)
                    assert csum == sum(payload) & 0xff, 'bad checksum from the stub'
                    self.buf = self.buf[end + 3:]
                    if not self.noack:
                        self.raw(b'+')
                    return payload.decode('latin-1')
            self._fill()

    def cmd(self, payload):
        self.raw(self.frame(payload))
        if not self.noack:
            assert self.read_ack() == b'+'
        return self.read_packet()

    def close(self):
        self.s.close()


@pytest.fixture
def emu(mosaic, top, tmp_path, program):
    e = Emu(mosaic, top, tmp_path, program[0])
    yield e
    e.close()


def gdb(port, elf, *cmds, timeout=60):
    args = [GDB, '-nx', '-batch', '-ex', 'set architecture riscv:rv64',
            '-ex', 'target remote :%d' % port]
    for c in cmds:
        args += ['-ex', c]
    args.append(str(elf))
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return r.stdout + r.stderr


def reg(out, name):
    """Value of `info registers NAME` lines in gdb output."""
    vals = [l.split()[1] for l in out.splitlines() if l.split()[:1] == [name]]
    assert vals, 'no %s in gdb output:\n%s' % (name, out)
    return [int(v, 16) for v in vals]


@pytest.mark.needs_tools('gdb-multiarch')
def test_gdb_break_step_registers_memory(emu, program):
    elf, sym = program
    out = gdb(emu.port, elf,
              'break *0x%x' % sym['target'], 'continue',
              'info registers pc', 'info registers a1',
              'stepi', 'info registers pc', 'info registers a2',
              'set $a5 = 0x77', 'info registers a5',
              'delete', 'break *0x%x' % sym['spin'], 'continue',
              'x/gx 0x%x' % sym['data'],
              'set {long}0x%x = 0x5555' % sym['data'], 'x/gx 0x%x' % sym['data'],
              'info registers mhartid', 'info registers priv', 'info threads',
              'kill')
    assert reg(out, 'pc') == [sym['target'], sym['target'] + 4], out
    assert reg(out, 'a1') == [0x1235], out
    assert reg(out, 'a2') == [0x1237], out
    assert reg(out, 'a5') == [0x77], out
    assert reg(out, 'mhartid') == [0], out
    # The program stored a3 = 0x123a; then gdb wrote 0x5555 through M.
    mem = [l for l in out.splitlines() if l.startswith('0x%x' % sym['data'])]
    assert [m.split()[-1] for m in mem] == ['0x000000000000123a', '0x0000000000005555'], out
    assert 'Breakpoint 2, 0x%016x in spin' % sym['spin'] in out, out
    assert 'Thread 1 (hart 0)' in out, out
    assert emu.wait() == 0  # k quits the emulator


@pytest.mark.needs_tools('gdb-multiarch')
def test_gdb_target_xml_and_fpu(emu, program):
    elf, _ = program
    out = gdb(emu.port, elf, 'info registers fcsr', 'p $f0', 'p/x $mstatus', 'detach')
    assert 'fcsr' in out and '$1 =' in out and '$2 = 0x' in out, out
    # Detached: the program ran on into its loop; attaching again stops it there.
    time.sleep(0.2)
    assert emu.p.poll() is None
    c = Rsp(emu.port)
    assert c.cmd('?') == 'T05thread:1;'
    pc = int.from_bytes(bytes.fromhex(c.cmd('p20')), 'little')
    assert program[1]['spin'] <= pc <= program[1]['spin'] + 2, hex(pc)


def test_exit_reported(emu, program):
    _, sym = program
    c = Rsp(emu.port)
    assert c.cmd('P20=' + sym['exit_ok'].to_bytes(8, 'little').hex()) == 'OK'
    assert c.cmd('c') == 'W00'
    assert emu.wait() == 0


def test_raw_protocol_basics(emu, program):
    _, sym = program
    c = Rsp(emu.port)
    sup = c.cmd('qSupported:multiprocess+;swbreak+;xmlRegisters=i386')
    assert 'PacketSize=1000' in sup and 'qXfer:features:read+' in sup, sup
    xml = ''
    while True:  # in pieces of at most PacketSize
        r = c.cmd('qXfer:features:read:target.xml:%x,ffff' % len(xml))
        assert r[:1] in ('m', 'l') and len(r) <= 0x1000, r
        xml += r[1:]
        if r[0] == 'l':
            break
    assert 'org.gnu.gdb.riscv.cpu' in xml and 'riscv:rv64' in xml and xml.endswith('</target>\n')
    assert c.cmd('?').startswith('T05thread:1;')
    g = c.cmd('g')
    assert len(g) == 33 * 16 and int.from_bytes(bytes.fromhex(g[32 * 16:]), 'little') == sym['_start']
    assert c.cmd('qfThreadInfo') == 'm1' and c.cmd('qsThreadInfo') == 'l'
    assert c.cmd('qC') == 'QC1'
    assert c.cmd('T1') == 'OK' and c.cmd('T2').startswith('E')
    assert c.cmd('Hg1') == 'OK' and c.cmd('Hg5').startswith('E')
    # Single step through vCont, then the legacy s packet.
    assert c.cmd('vCont?').startswith('vCont')
    assert c.cmd('vCont;s:1;c') == 'T05thread:1;'
    assert c.cmd('p20') == (sym['_start'] + 2).to_bytes(8, 'little').hex()  # c.lui is 2 bytes
    assert c.cmd('s') == 'T05thread:1;'
    assert c.cmd('p20') == (sym['_start'] + 6).to_bytes(8, 'little').hex()
    # Many steps in a row: each moves exactly one instruction (spin: c.addi; c.j).
    assert c.cmd('Z0,%x,2' % sym['spin']) == 'OK'
    assert c.cmd('c') == 'T05thread:1;'
    assert c.cmd('z0,%x,2' % sym['spin']) == 'OK'
    pcs = []
    for _ in range(40):
        assert c.cmd('s') == 'T05thread:1;'
        pcs.append(int.from_bytes(bytes.fromhex(c.cmd('p20')), 'little') - sym['spin'])
    assert pcs == [2, 0] * 20, pcs
    a4 = int.from_bytes(bytes.fromhex(c.cmd('pe')), 'little')
    assert a4 == 20, a4  # the breakpoint stopped before the first c.addi
    # Breakpoint, continue, Ctrl-C.
    assert c.cmd('Z0,%x,4' % sym['spin']) == 'OK'
    assert c.cmd('c') == 'T05thread:1;'
    assert c.cmd('p20') == sym['spin'].to_bytes(8, 'little').hex()
    assert c.cmd('z0,%x,4' % sym['spin']) == 'OK'
    c.raw(c.frame('c'))
    assert c.read_ack() == b'+'
    time.sleep(0.3)
    c.raw(b'\x03')
    assert c.read_packet() == 'T02thread:1;'
    pc = int.from_bytes(bytes.fromhex(c.cmd('p20')), 'little')
    assert sym['spin'] <= pc <= sym['spin'] + 2
    # Memory: read, write, read back; CSR through p (65 + 0xf14 = mhartid).
    assert c.cmd('m%x,8' % sym['data']) == (0x123a).to_bytes(8, 'little').hex()
    assert c.cmd('M%x,2:abcd' % sym['data']) == 'OK'
    assert c.cmd('m%x,2' % sym['data']) == 'abcd'
    assert c.cmd('p%x' % (65 + 0xf14)) == '0' * 16
    # No-ack mode, then kill.
    assert c.cmd('QStartNoAckMode') == 'OK'
    c.noack = True
    assert c.cmd('qC') == 'QC1'
    c.raw(c.frame('k'))
    assert emu.wait() == 0


BAD = [
    'm', 'mzz,4', 'm80000000', 'm80000000,', 'm80000000,zz', 'm1ffffffffffffffff,4',
    'mffffffffffffffff,10', 'm0,4', 'M80000000,4:zz', 'M80000000,4:00', 'M80000000,1:0000',
    'M80000000,ffffffffffffffff:00', 'M80000000', 'Mffffffffffffffff,2:0000',
    'p', 'pzz', 'p99999', 'p10000000000000000', 'P20', 'P20=', 'P20=12', 'P20=zzzzzzzzzzzzzzzz',
    'P1=00000000000000000', 'G0', 'G' + 'z' * 16, 'G' + '0' * 16 * 40,
    'Z0', 'Z0,', 'Z0,zz,4', 'Z0,80000000', 'Z0,80000000,', 'Z9,80000000,4', 'z0,1,4',
    'H', 'Hx1', 'Hg', 'Hgzz', 'Hg-2', 'Hgp1.1', 'T', 'Tzz', 'T0', 'T-1',
    'vCont', 'vCont;', 'vCont;x', 'vCont;s:zz', 'vCont;C', 'vCont;s:9', 'vFile:open:',
    'qXfer:features:read:', 'qXfer:features:read:other.xml:0,10',
    'qXfer:features:read:target.xml:zz', 'qXfer:features:read:target.xml:ffffffff,10',
    'qThreadExtraInfo,zz', 'qThreadExtraInfo,1', 'c zz', 'czz', 'C', 'Czz', 'S05;zz', 'S05x',
    'Q', 'X0,0:',
    '\x00', 'q\x00', '', '}', 'g' * 100,
]
# The reply each of BAD must get: E22 (malformed) unless listed here: E14 (no memory
# there), '' (a packet the stub does not support), or the answer a valid packet has.
REGISTERS = object()
REPLY = {
    'mffffffffffffffff,10': 'E14', 'm0,4': 'E14', 'Mffffffffffffffff,2:0000': 'E14',
    'Z9,80000000,4': '', 'vCont': '', 'vFile:open:': '', 'Q': '', 'X0,0:': '', '': '', '}': '',
    'z0,1,4': 'OK',  # removing a breakpoint that is not there is not an error
    'qXfer:features:read:other.xml:0,10': 'E00',
    'qXfer:features:read:target.xml:ffffffff,10': 'l',  # past the end: empty, last
    'qThreadExtraInfo,1': b'hart 0'.hex(),
    'g' * 100: REGISTERS,  # 'g' takes no argument; the rest is ignored, as QEMU does
}


def test_raw_protocol_hostile_input(emu, program):
    c = Rsp(emu.port)
    # Noise, bad checksums (NAKed), an oversize packet (refused), then normal service.
    c.raw(b'\x00\xff garbage +++ ---')
    c.raw(b'$g#00')
    assert c.read_ack() == b'-'
    c.raw(b'$g#zz')
    assert c.read_ack() == b'-'
    c.raw(b'$$#24')  # a '$' restarts the packet: empty payload, wrong sum
    assert c.read_ack() == b'-'
    c.raw(b'$' + b'A' * 100000 + b'#00')
    assert c.read_ack() == b'+'
    assert c.read_packet() == 'E22'
    for p in BAD:
        c.s.settimeout(5)
        try:
            r = c.cmd(p.encode('latin-1'))
        except socket.timeout:
            raise AssertionError('no reply to %r' % p)
        want = REPLY.get(p, 'E22')
        if want is REGISTERS:
            assert len(r) == 33 * 16 and int(r, 16) >= 0, (p, r)
        else:
            assert r == want, (p, r)
        assert emu.p.poll() is None, 'mosaic died on %r' % p
    # Everything still works.
    assert len(c.cmd('g')) == 33 * 16
    assert c.cmd('m80000000,2') == '0565'  # c.lui a0, 0x1
    # A second debugger is turned away while the first is attached.
    other = socket.create_connection(('127.0.0.1', emu.port), timeout=5)
    assert other.recv(100).startswith(b'$E')
    other.close()
    # Random bytes.
    import random
    rnd = random.Random(7)
    for _ in range(200):
        c.raw(bytes(rnd.choice(b'$#+-0123456789abcdefgmMpPZzqHvT,:;\x03') for _ in range(50)))
    c.raw(b'#00')  # whatever state the parser is in, end it
    time.sleep(0.3)
    assert emu.p.poll() is None
    c.close()


def lowest_free_fd(pid):
    used = {int(f) for f in os.listdir(f'/proc/{pid}/fd')}
    return min(set(range(len(used) + 1)) - used)


def test_fd_exhaustion_backs_off(emu, program):
    """Out of file descriptors, a second debugger waits in the backlog and the listening
    socket stays readable: the stub backs off and says so once instead of spinning a core;
    when the first debugger leaves, the waiting one is served."""
    from test_monitor_bounds import proc_cpu_seconds
    c = Rsp(emu.port)
    assert c.cmd('?').startswith('T05')  # attached: the machine is paused
    # Every descriptor below the limit is taken: the next accept fails with EMFILE.
    limit = lowest_free_fd(emu.p.pid)
    old = resource.prlimit(emu.p.pid, resource.RLIMIT_NOFILE)
    resource.prlimit(emu.p.pid, resource.RLIMIT_NOFILE, (limit, old[1]))
    waiting = socket.create_connection(('127.0.0.1', emu.port), timeout=10)
    time.sleep(0.5)
    cpu0 = proc_cpu_seconds(emu.p.pid)
    time.sleep(2)
    cpu = proc_cpu_seconds(emu.p.pid) - cpu0
    assert cpu < 0.3, f'{cpu:.2f} CPU seconds in 2 s at fd exhaustion'
    resource.prlimit(emu.p.pid, resource.RLIMIT_NOFILE, old)
    c.close()
    # The first debugger's descriptor is free: the waiting one is served.
    w = Rsp.__new__(Rsp)
    w.s, w.buf, w.noack = waiting, b'', False
    assert w.cmd('?').startswith('T05')
    w.close()
    emu.p.kill()
    _, err = emu.p.communicate()
    assert err.count(b'cannot accept') == 1 and b'GDB stub' in err, err[-2000:]


def test_multi_hart_threads(mosaic, top, tmp_path, program):
    elf, sym = program
    e = Emu(mosaic, top, tmp_path, elf, extra=['--set', 'machine.cpus=2'])
    try:
        c = Rsp(e.port)
        assert c.cmd('qfThreadInfo') == 'm1,2'
        assert c.cmd('T2') == 'OK'
        assert c.cmd('Hg2') == 'OK'
        assert c.cmd('p%x' % (65 + 0xf14)) == (1).to_bytes(8, 'little').hex()  # mhartid
        assert c.cmd('Hg1') == 'OK'
        assert c.cmd('p%x' % (65 + 0xf14)) == '0' * 16
        assert c.cmd('qThreadExtraInfo,2') == b'hart 1'.hex()
        c.raw(c.frame('k'))
        assert e.wait() == 0
    finally:
        e.close()


def test_gdb_option_errors(run_mosaic, top, program):
    r = run_mosaic(top / 'configs' / 'riscv-virt-bare.ini', '--set',
                   'machine.kernel=%s' % program[0], '--gdb', 'tcp:0.0.0.0:1234')
    assert r.returncode != 0 and 'loopback' in r.stderr, r.stderr
    r = run_mosaic(top / 'configs' / 'riscv-virt-bare.ini', '--set',
                   'machine.kernel=%s' % program[0], '--gdb', 'udp:1234')
    assert r.returncode != 0 and 'tcp:127.0.0.1:PORT' in r.stderr, r.stderr


def test_gdb_is_a_plugin_the_policy_can_deny(run_mosaic, top, program, tmp_path):
    """--gdb comes from plugins/debug-gdb (the core names no debugger): a deployment
    that denies it gets an error naming the rule, and the machine does not start."""
    conf = tmp_path / 'deploy.ini'
    conf.write_text('[plugins]\ndeny = debug-gdb\n')
    r = run_mosaic(top / 'configs' / 'riscv-virt-bare.ini', '--set',
                   'machine.kernel=%s' % program[0], '--gdb', 'tcp:127.0.0.1:0',
                   env={'MOSAIC_PLUGINS_CONF': str(conf)})
    assert r.returncode != 0, r.stderr
    assert "plugin 'debug-gdb' is disabled by %s:2 (deny = debug-gdb); needed by --gdb" % conf \
        in r.stderr, r.stderr


def test_unknown_option_is_not_a_debug_plugin(run_mosaic, top):
    r = run_mosaic(top / 'configs' / 'riscv-virt-bare.ini', '--no-such-thing', 'x')
    assert r.returncode != 0
    assert 'Unknown option --no-such-thing' in r.stderr and 'no debug plugin' in r.stderr, r.stderr
    r = run_mosaic(top / 'configs' / 'riscv-virt-bare.ini', '-Z')
    assert r.returncode != 0 and 'Unknown option -Z' in r.stderr, r.stderr
