# SPDX-License-Identifier: GPL-2.0-or-later
"""mosaic/audio.h is enough to write a backend out of tree: tests/system/audio_oot/
rawfile.c is built here with nothing but sdk/include, the SDK's version script and
libmosaic-core (-z defs: no other symbol), loaded with --plugin-path, and the bare-metal
guest's tone comes out of it with the right frequency and length; its refusal of capture
reaches the guest as an error naming the audiodev."""
import subprocess
import sys
import wave
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import audio_analysis as aa  # noqa: E402
from test_audio import FMT, RATE, machine, play_args, sigs, snd_elf  # noqa: E402,F401

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def rawfile(build, tmp_path):
    out = tmp_path / 'plugins' / 'mosaic-audio-rawfile.so'
    out.parent.mkdir()
    cmd = ['gcc', '-std=c11', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC',
           '-fvisibility=hidden', '-Wl,-z,defs', '-Wl,--version-script=%s' % (ROOT / 'sdk' / 'plugin.map'),
           '-I', str(ROOT / 'sdk' / 'include'), '-o', str(out),
           str(Path(__file__).resolve().parent / 'audio_oot' / 'rawfile.c'),
           '-L', str(build / 'core'), '-lmosaic-core']
    if build.name == 'asan':
        cmd[1:1] = ['-fsanitize=address,undefined']
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


def test_out_of_tree_backend_plays(tmp_path, snd_elf, run_mosaic, rawfile):
    pcm = tmp_path / 'out.raw'
    ini = machine(tmp_path, snd_elf, play_args(frames=24000),
                  'driver = rawfile\npath = %s' % pcm)
    r = run_mosaic('--plugin-path', rawfile.parent, ini)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sigs(r.stdout).get('periods') == 50 and sigs(r.stdout).get('bad-status') == 0, r.stdout
    wav = tmp_path / 'out.wav'
    with wave.open(str(wav), 'wb') as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(pcm.read_bytes())
    t = aa.tone(wav)
    assert abs(t.seconds - 0.5) <= 0.020, t
    assert abs(t.freq - 440) <= 1, t
    assert abs(t.peak - 0.5) <= 0.006, t
    assert aa.glitches(t, 1.5 * t.slope()) == 0, t


def test_out_of_tree_backend_refusal_named(tmp_path, snd_elf, run_mosaic, rawfile):
    ini = machine(tmp_path, snd_elf, [1, FMT['S16'], RATE[48000], 2, 4800, 480, 0, 0],
                  'driver = rawfile\npath = %s' % (tmp_path / 'x.raw'))
    r = run_mosaic('--plugin-path', rawfile.parent, ini)
    assert "audiodev 'snd0'" in r.stdout + r.stderr and 'rawfile only plays' in r.stdout + r.stderr, \
        r.stdout + r.stderr
    assert 'PASS' not in r.stdout.splitlines()[-1:], r.stdout
