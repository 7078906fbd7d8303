# SPDX-License-Identifier: GPL-2.0-or-later
"""Linux's own virtio_snd driver against device-virtio-snd: the Mosaic test kernel
(guests/linux: CONFIG_SND_VIRTIO) runs a small player of ours in its /init
(mosaic.cmd=snd-play: raw ALSA ioctls HW_PARAMS, PREPARE, WRITEI_FRAMES, DRAIN on
/dev/snd/pcmC0D0p; 48 kHz S16 stereo, 20 ms periods, 8 of them).  The wavenc recording
has the tone's frequency (+-1 Hz), level and length (+-20 ms) and no glitch, and the
guest saw no xrun (no WRITEI answered -EPIPE).  Capture: mosaic.cmd=snd-capture reads a
WAV fed through in.pipeline sample-exact."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'guests' / 'pylib'))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import audio_analysis as aa  # noqa: E402
import mosaic_guests as g  # noqa: E402

# alone: the guest plays and records in real time; a loaded host starves it (underruns).
pytestmark = [pytest.mark.linux, pytest.mark.alone]


@pytest.fixture(scope='module')
def kernel():
    return g.ensure_linux() / 'Image-fpu'


def run_linux(mosaic, top, tmp_path, kernel, cmd, audiodev, timeout=240):
    ini = tmp_path / 'snd-linux.ini'
    ini.write_text(f'include = {top}/configs/riscv-virt-linux.ini\n[machine]\ncpus = 1\n'
                   f'kernel = {kernel}\nappend = console=ttyS0 earlycon=sbi mosaic.cmd={cmd}\n'
                   f'[audiodev snd0]\n{audiodev}\n[device snd]\ntype = virtio-snd\n'
                   f'audiodev = snd0\n')
    r = subprocess.run([str(mosaic), str(ini)], capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL,
                       env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'xdg')))
    return r.stdout + r.stderr


@pytest.mark.parametrize('freq,ms,amp', [(440, 1000, 50), (1000, 700, 25)])
def test_linux_plays_a_tone(mosaic, top, tmp_path, kernel, freq, ms, amp):
    out = tmp_path / 'out.wav'
    # identity sync=true: the recording is paced by the pipeline clock, as a sound card
    # would pace it (a bare file sink would take the guest's periods as fast as it can).
    log = run_linux(mosaic, top, tmp_path, kernel,
                    f'snd-play mosaic.freq={freq} mosaic.ms={ms} mosaic.amp={amp}',
                    f'driver = gst\nout.pipeline = identity sync=true ! wavenc ! '
                    f'filesink location={out}')
    assert 'MOSAIC-SND period=960 periods=8 buffer=7680' in log, log
    assert 'MOSAIC-CMD snd-play OK' in log, log
    assert ' xruns=0' in log, log
    t = aa.tone(out)
    level = amp / 100
    assert abs(t.seconds - ms / 1000) <= 0.020, t
    assert abs(t.freq - freq) <= 1, t
    assert abs(t.peak - level) <= 0.01 * level + 0.001, t
    assert abs(t.rms - level / 2 ** 0.5) <= 0.01 * level, t
    assert aa.glitches(t, 1.5 * t.slope()) == 0, t


# The source's pace must not matter: `identity sync=true` delivers the file at its own
# rate, as a microphone would; a bare file source delivers it as fast as it decodes, and
# after its end audio-gst fills silence at once.  The device completes capture buffers
# at the stream's rate either way: completed faster, Linux (which keeps every period of
# its ring queued) has its unread last period overwritten by the periods that follow.
@pytest.mark.parametrize('pace', ['identity sync=true', 'unpaced'])
def test_linux_captures_a_wav_sample_exact(mosaic, top, tmp_path, kernel, pace):
    """A WAV file fed through in.pipeline arrives in the Linux guest sample-exact
    (mosaic.cmd=snd-capture: READI_FRAMES on /dev/snd/pcmC0D0c, FNV-1a of every byte),
    with no overrun, whether in.pipeline is paced or not."""
    from test_audio import fnv1a, write_wav
    frames = 24000
    raw = write_wav(tmp_path / 'in.wav', 48000, 2, frames)
    log = run_linux(mosaic, top, tmp_path, kernel, f'snd-capture mosaic.frames={frames}',
                    f'driver = gst\nin.pipeline = filesrc location={tmp_path / "in.wav"} ! '
                    f'decodebin' + ('' if pace == 'unpaced' else f' ! {pace}'))
    assert 'MOSAIC-CMD snd-capture OK' in log, log
    assert f'MOSAIC-SND captured={frames} hash={fnv1a(raw):016x} xruns=0' in log, log
