#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Audio benchmark: host CPU per second of 48 kHz stereo S16 playback, and the time from
the guest queueing a period to the backend having taken it (guest write -> sink).

The guest is guests/tests/snd.c (bare-metal virtio-snd driver) sleeping in WFI between
interrupts, so the CPU measured is the device path, not a polling vCPU.  Backends:
audio-none (clocked discard) and audio-gst into `fakesink sync=true` (clocked, through
audioconvert ! audioresample).  Reference in the same run: gst-launch-1.0 playing the
same PCM through the same elements into the same clocked sink.  (QEMU 7.2, Debian 12's,
has no virtio-snd: its `-audiodev wav` cannot run this guest, so there is no QEMU line.)

Usage: bench/audio/bench_audio.py [--variant release] [--seconds 10]"""
import argparse
import os
import resource
import struct
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(TOP / 'guests' / 'pylib'))
import mosaic_guests as g  # noqa: E402


def child_cpu(cmd, env=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode:
        sys.exit('failed: %s\n%s%s' % (' '.join(map(str, cmd)), r.stdout[-2000:], r.stderr[-2000:]))
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), r.stdout


def sigs(out):
    return {l.split()[1]: int(l.split()[2], 16) for l in out.splitlines() if l.startswith('SIG ')}


def run_guest(mosaic, tmp, audiodev, seconds, inflight, tag):
    frames = 48000 * seconds
    ini = Path(tmp) / ('%s.ini' % tag)
    ini.write_text('[machine]\ntype = riscv-virt\nmemory = 64M\nkernel = %s\n'
                   'append = mosaic.snd=0,5,7,2,%d,480,440,50,1,%d\n\n[audiodev a]\n%s\n\n'
                   '[device snd]\ntype = virtio-snd\naudiodev = a\n'
                   % (g.GUESTS / 'tests' / 'snd.elf', frames, inflight, audiodev))
    env = dict(os.environ, XDG_CONFIG_HOME=str(Path(tmp) / 'xdg'))
    cpu, out = child_cpu([str(mosaic), str(ini)], env)
    s = sigs(out)
    if s.get('bad-status') != 0 or s.get('periods') != frames // 480:
        sys.exit('%s: guest reported %s' % (tag, s))
    return cpu, s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--variant', default='release')
    ap.add_argument('--seconds', type=int, default=10)
    a = ap.parse_args()
    mosaic = TOP / 'build' / a.variant / 'core' / 'mosaic'
    g.ensure_guests()
    secs = a.seconds
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / 'tone.wav'
        with wave.open(str(wav), 'wb') as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(48000)
            w.writeframes(struct.pack('<h', 0) * 2 * 48000 * secs)
        ref, _ = child_cpu(['gst-launch-1.0', '-q', 'filesrc', 'location=%s' % wav, '!',
                            'wavparse', '!', 'audioconvert', '!', 'audioresample', '!',
                            'volume', '!', 'fakesink', 'sync=true'])
        none, _ = run_guest(mosaic, tmp, 'driver = none', secs, 4, 'none')
        gst, _ = run_guest(mosaic, tmp, 'driver = gst\nout.pipeline = fakesink sync=true',
                           secs, 4, 'gst')
        _, lat = run_guest(mosaic, tmp, 'driver = gst\nout.pipeline = fakesink sync=true\n'
                           'latency = 20', max(secs // 2, 2), 1, 'latency')
    print('audio: CPU per second of 48 kHz stereo playback (%d s each)' % secs)
    print('  gst-launch-1.0 reference (same elements, clocked fakesink): %.2f ms/s' % (1000 * ref / secs))
    print('  mosaic virtio-snd -> audio-gst (clocked fakesink):          %.2f ms/s  ratio %.2f'
          % (1000 * gst / secs, gst / ref if ref else float('inf')))
    print('  mosaic virtio-snd -> audio-none:                            %.2f ms/s' % (1000 * none / secs))
    print('audio: guest write -> backend took the period (10 ms periods, one in flight, '
          'latency = 20 ms): mean %.1f ms, max %.1f ms'
          % (lat['latency-us-mean'] / 1000, lat['latency-us-max'] / 1000))


if __name__ == '__main__':
    main()
