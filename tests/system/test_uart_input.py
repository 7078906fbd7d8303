# SPDX-License-Identifier: GPL-2.0-or-later
"""Console input to the bare-metal uart guest (guests/tests/uart.c): bounded in time.

The guest waits with wfi for 200 bytes; a CI run once hung there for good.  These tests
feed the input in ways the ISA comparison does not (split into many writes at random
delays) and check that lost input ends the run through the guest's CLINT watchdog
instead of hanging it."""
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'guests' / 'pylib'))
import mosaic_guests as g  # noqa: E402

import pytest  # noqa: E402

CONFIG = Path(__file__).resolve().parents[2] / 'configs' / 'riscv-virt-bare.ini'


@pytest.fixture(scope='module')
def guests():
    return g.ensure_guests()


def _run_split(mosaic, elf, seed, timeout=60):
    """One run; the input goes in chunks of 1..40 bytes, up to 3 ms apart, after READY."""
    rnd = random.Random(seed)
    data = g.BARE_INPUT['uart']
    p = subprocess.Popen([str(mosaic), str(CONFIG), '--set', 'machine.kernel=%s' % elf],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def feed():
        out = b''
        while b'READY' not in out:
            c = p.stdout.read1(4096)
            if not c:
                return
            out += c
        i = 0
        while i < len(data):
            n = rnd.randint(1, 40)
            p.stdin.write(data[i:i + n])
            p.stdin.flush()
            i += n
            time.sleep(rnd.random() * 0.003)
        feed.out = out
    feed.out = b''
    t = threading.Thread(target=feed)
    t.start()
    t.join(timeout)
    try:
        rest, err = p.communicate(timeout=max(1, timeout))
    except subprocess.TimeoutExpired:
        p.kill()
        rest, err = p.communicate()
        return None, feed.out + rest, err
    return p.returncode, feed.out + rest, err


def test_uart_input_split_writes(guests, mosaic):
    elf = guests / 'tests' / 'uart.elf'
    for seed in range(20):
        rc, out, err = _run_split(mosaic, elf, seed)
        assert rc == 0, 'seed %d: rc %r\n%s\n%s' % (seed, rc, out.decode(errors='replace'),
                                                    err.decode(errors='replace'))
        assert b'\nPASS\n' in out


def test_uart_lost_input_fails_fast(guests, mosaic):
    """Only half the input: the guest's watchdog (10 s of mtime) must end the wait."""
    elf = guests / 'tests' / 'uart.elf'
    r = g.run_mosaic_bare(elf, mosaic=mosaic, timeout=60, stdin_data=g.BARE_INPUT['uart'][:100])
    assert r.rc is not None, 'the guest hung instead of timing out: %r' % r
    assert r.rc != 0 and 'FAIL received' in r.out, r
