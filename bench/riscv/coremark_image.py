# SPDX-License-Identifier: GPL-2.0-or-later
"""A copy of a CoreMark image that runs a chosen number of iterations.

CoreMark reads its iteration count at run time from the volatile `seed4_volatile`
(core_portme.c, SEED_VOLATILE: the portable way to set it without argv), so the same
binary runs longer by changing that one initialised word.  A faster emulator must still
run CoreMark for at least 10 s of guest time or CoreMark refuses the result.  The
validation CRCs come from the first iteration, so `Correct operation validated` still
proves the run; only crcfinal depends on the count.
"""
import shutil
import struct
import subprocess
from pathlib import Path

ITERATIONS_IN_IMAGE = 60000
SYMBOL = 'seed4_volatile'


def _symbol_address(elf):
    r = subprocess.run(['nm', '-P', str(elf)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit('%s: not an ELF image with symbols: %s' % (elf, r.stderr.strip()))
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) >= 3 and f[0] == SYMBOL:
            return int(f[2], 16)
    raise SystemExit('%s: no symbol %s (not a CoreMark SEED_VOLATILE build)' % (elf, SYMBOL))


def _file_offset(data, addr):
    """The file offset of virtual address addr, through the ELF64 program headers."""
    if data[:4] != b'\x7fELF' or data[4] != 2 or data[5] != 1:
        raise SystemExit('not a little-endian ELF64 image')
    phoff, = struct.unpack_from('<Q', data, 0x20)
    phentsize, phnum = struct.unpack_from('<HH', data, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(
            '<IIQQQQ', data, phoff + i * phentsize)
        if p_type == 1 and p_vaddr <= addr and addr + 4 <= p_vaddr + p_filesz:
            return p_offset + addr - p_vaddr
    raise SystemExit('%s at 0x%x is in no loaded segment' % (SYMBOL, addr))


def with_iterations(elf, iterations, outdir):
    """Copies elf into outdir with its iteration count set; returns the copy's path."""
    elf = Path(elf)
    out = Path(outdir) / ('%s-%d%s' % (elf.stem, iterations, elf.suffix))
    data = bytearray(elf.read_bytes())
    off = _file_offset(data, _symbol_address(elf))
    old, = struct.unpack_from('<i', data, off)
    if old != ITERATIONS_IN_IMAGE:
        raise SystemExit('%s: %s is %d, expected %d' % (elf, SYMBOL, old, ITERATIONS_IN_IMAGE))
    struct.pack_into('<i', data, off, iterations)
    out.write_bytes(bytes(data))
    shutil.copymode(elf, out)
    return out
