#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""virtio-gpu benchmarks, driven by the bare-metal guests of the tests:

- 2D: frames per second of a full-screen TRANSFER_TO_HOST_2D + RESOURCE_FLUSH at
  1920x1080 (guests/tests/gpu.c, mosaic.gpubench=N; the guest changes one byte a frame,
  so the device path is what is measured), Mosaic side by side with QEMU's
  virtio-gpu-device on the same guest (qemu-system-riscv64 -M virt -bios none,
  -display none, modern virtio-mmio); host CPU seconds per frame and the ratio.
- 3D: fenced SUBMIT_3D per second of a virgl clear of a 64x48 render target
  (guests/tests/gpu3d.c) through gpu-virgl on virglrenderer + Mesa llvmpipe (surfaceless
  EGL); and the same with a triangle drawn in each (clear + DRAW_VBO through the whole
  pipeline: TGSI shaders, vertex buffer, state objects, bound once).  Debian 12's QEMU has no virtio-gpu-gl-device (the OpenGL display modules are
  not in qemu-system-misc), so there is no QEMU line for 3D.

Rates come from the guest's own clock (CLINT mtime, 10 MHz) around the loop; CPU time
is the emulator process's (user + system).  Each run is sized to take >= 10 s of CPU.

Usage: bench/gpu/bench_gpu.py [--variant release] [--frames 6000] [--qemu-frames 3500]
                              [--submissions 20000] [--draws 15000]"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(TOP / 'guests' / 'pylib'))
import mosaic_guests as g  # noqa: E402


def child_cpu(cmd, env=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200,
                       stdin=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode or 'PASS' not in r.stdout:
        sys.exit('failed: %s\n%s%s' % (' '.join(map(str, cmd)), r.stdout[-2000:], r.stderr[-2000:]))
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), r.stdout


def sigs(out):
    return {l.split()[1]: int(l.split()[2], 16) for l in out.splitlines() if l.startswith('SIG ')}


def mosaic_run(mosaic, tmp, elf, append, device):
    ini = Path(tmp) / 'bench.ini'
    ini.write_text('[machine]\ntype = riscv-virt\nmemory = 64M\nkernel = %s\nappend = %s\n\n'
                   '[device gpu0]\ntype = virtio-gpu\n%s\n' % (elf, append, device))
    env = dict(os.environ, XDG_CONFIG_HOME=str(Path(tmp) / 'xdg'))
    return child_cpu([str(mosaic), str(ini)], env)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--variant', default='release')
    ap.add_argument('--frames', type=int, default=6000)
    ap.add_argument('--qemu-frames', type=int, default=3500)
    ap.add_argument('--submissions', type=int, default=20000)
    ap.add_argument('--draws', type=int, default=15000)
    a = ap.parse_args()
    mosaic = TOP / 'build' / a.variant / 'core' / 'mosaic'
    guests = g.ensure_guests() / 'tests'
    with tempfile.TemporaryDirectory() as tmp:
        cpu, out = mosaic_run(mosaic, tmp, guests / 'gpu.elf', 'mosaic.gpubench=%d' % a.frames,
                              'xres = 1920\nyres = 1080')
        s = sigs(out)
        m_fps = s['frames'] / (s['mtime-ticks'] / 1e7)
        m_cpf = cpu / s['frames']
        print('2D 1920x1080 transfer+flush  mosaic: %7.1f fps  %6.2f ms CPU/frame  (%d frames, '
              '%.1f s CPU)' % (m_fps, 1000 * m_cpf, s['frames'], cpu))
        cpu, out = child_cpu(['qemu-system-riscv64', '-M', 'virt', '-bios', 'none', '-m', '64M',
                              '-nographic', '-display', 'none', '-global',
                              'virtio-mmio.force-legacy=false', '-kernel', str(guests / 'gpu.elf'),
                              '-append', 'mosaic.gpubench=%d' % a.qemu_frames, '-device',
                              'virtio-gpu-device,xres=1920,yres=1080'])
        s = sigs(out)
        q_fps = s['frames'] / (s['mtime-ticks'] / 1e7)
        q_cpf = cpu / s['frames']
        print('2D 1920x1080 transfer+flush  qemu:   %7.1f fps  %6.2f ms CPU/frame  (%d frames, '
              '%.1f s CPU)' % (q_fps, 1000 * q_cpf, s['frames'], cpu))
        print('2D ratio mosaic/qemu: fps %.2f, CPU per frame %.2f' % (m_fps / q_fps, m_cpf / q_cpf))
        cpu, out = mosaic_run(mosaic, tmp, guests / 'gpu3d.elf',
                              'mosaic.gpubench=%d' % a.submissions, 'accel3d = virgl')
        s = sigs(out)
        rate = s['submissions'] / (s['mtime-ticks'] / 1e7)
        print('3D virgl fenced submissions  mosaic: %7.0f /s   %6.3f ms CPU/submission (%d, '
              '%.1f s CPU; virglrenderer 0.10.4, Mesa llvmpipe, surfaceless EGL)'
              % (rate, 1000 * cpu / s['submissions'], s['submissions'], cpu))
        cpu, out = mosaic_run(mosaic, tmp, guests / 'gpu3d.elf',
                              'mosaic.gpubench=%d mosaic.gpudraw=1' % a.draws, 'accel3d = virgl')
        s = sigs(out)
        rate = s['submissions'] / (s['mtime-ticks'] / 1e7)
        print('3D virgl fenced clear+triangle mosaic: %5.0f /s   %6.3f ms CPU/submission (%d, '
              '%.1f s CPU; virglrenderer 0.10.4, Mesa llvmpipe, surfaceless EGL)'
              % (rate, 1000 * cpu / s['submissions'], s['submissions'], cpu))


if __name__ == '__main__':
    main()
