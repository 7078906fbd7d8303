# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/riscv/coremark_image.py: the CoreMark images run the iteration count the
benchmark asks for (CoreMark refuses runs shorter than 10 s, so a faster emulator needs
more iterations than the 60,000 built into the images)."""
import re
import sys
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / 'guests' / 'pylib'))
sys.path.insert(0, str(TOP / 'bench' / 'riscv'))
import coremark_image  # noqa: E402
import mosaic_guests as g  # noqa: E402

IMAGES = TOP / 'bench' / 'riscv' / 'coremark'


@pytest.mark.parametrize('name,harts', [('coremark-rv64imac.elf', 1),
                                        ('coremark-2hart-rv64imac.elf', 2)])
def test_patched_image_runs_that_many_iterations(tmp_path, mosaic, name, harts):
    elf = coremark_image.with_iterations(IMAGES / name, 7, tmp_path)
    r = g.run_mosaic_bare(elf, mosaic=mosaic, cpus=harts, timeout=120)
    out = r.out.replace('\r', '')
    assert re.findall(r'Iterations\s*:\s*(\d+)', out) == ['7'] * harts, out
    # The validation CRCs come from the first iteration: the same as in a full run.
    for crc in ('crclist       : 0xe714', 'crcmatrix     : 0x1fd7', 'crcstate      : 0x8e3a'):
        assert out.count(crc) == harts, (crc, out)
    assert (IMAGES / name).read_bytes() != elf.read_bytes()


@pytest.mark.needs_tools('riscv64-unknown-elf-gcc')
def test_an_image_without_the_iterations_seed_is_refused(tmp_path):
    other = g.ensure_guests() / 'bench' / 'startup.elf'
    with pytest.raises(SystemExit, match='no symbol seed4_volatile'):
        coremark_image.with_iterations(other, 7, tmp_path)
    junk = tmp_path / 'junk.elf'
    junk.write_bytes(b'not an image')
    with pytest.raises(SystemExit, match='junk.elf: not an ELF image'):
        coremark_image.with_iterations(junk, 7, tmp_path)
