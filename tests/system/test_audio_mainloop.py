# SPDX-License-Identifier: GPL-2.0-or-later
"""A GStreamer pipeline that takes its time to fail must not hold up the main loop:
audio-gst changes pipeline states on a worker thread per stream, and the failure
reaches the guest (its buffers complete with IO_ERR) and the log (naming the audiodev
and the element) when it comes.

The stand-in for a slow host device is a PulseAudio "server" that accepts connections
and never answers: libpulse waits up to 30 s for it, inside the pipeline's state change.
While it hangs, the monitor must answer; once the test lets it go, the stream fails."""
import socket
import sys
import tempfile
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_audio import machine, play_args, sigs, snd_elf  # noqa: E402,F401
from test_monitor import Qmp, Vm  # noqa: E402


class SilentServer:
    """A UNIX socket that accepts and holds every connection until release()."""

    def __init__(self, path):
        self.path = path
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(str(path))
        self.ls.listen(16)
        self.conns = []
        self.accepted = threading.Event()
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            self.conns.append(c)
            self.accepted.set()

    def release(self):
        self.ls.close()  # later connections are refused: the next attempt fails at once
        for c in self.conns:
            c.close()


@pytest.fixture
def silent_server():
    # A short path: UNIX socket names are limited to 108 bytes.
    with tempfile.TemporaryDirectory(prefix='mosaic-snd-') as d:
        s = SilentServer(Path(d) / 'pulse')
        yield s
        s.release()


def test_hanging_sink_does_not_block_the_monitor(tmp_path, snd_elf, mosaic, silent_server):
    ini = machine(tmp_path, snd_elf, play_args(frames=4800),
                  'driver = gst\nprobe = off\nout.pipeline = pulsesink server=unix:%s'
                  % silent_server.path).read_text()
    v = Vm(mosaic, tmp_path, ini)
    try:
        # The guest prepares and starts its stream at once: the pipeline is connecting.
        assert silent_server.accepted.wait(20), 'the pipeline never reached the server'
        q = Qmp(v.sock, timeout=5)  # the greeting needs the main loop too
        for _ in range(10):
            assert q.cmd('query-status')['return']['status'] == 'running'
        assert v.p.poll() is None and silent_server.conns, 'still hanging in the state change'
        silent_server.release()
        assert v.wait(60) is not None
        out, err = v.p.stdout.read(), v.p.stderr.read()
    finally:
        v.kill()
    # The failure came, named, and the guest's buffers completed with an error.
    assert "audiodev 'snd0'" in err and "element 'pulsesink" in err, err
    assert 'out.pipeline' in err, err
    assert sigs(out).get('bad-status', 0) > 0, out
