# SPDX-License-Identifier: GPL-2.0-or-later
"""Audio end to end: a bare-metal guest (guests/tests/snd.c, a small virtio-snd driver)
plays tones and captures PCM through virtio-snd and the audio backends.

- audio-gst: the recording made by `wavenc` has the tone's frequency (+-1 Hz), level
  and length (+-20 ms); a WAV file fed through in.pipeline arrives in guest memory
  sample-exact; the format matrix (8/16/24/32-bit, float, 8-192 kHz, mono/stereo/5.1)
  against a 48 kHz stereo sink completes every period with no glitch in the recording.
- Bad pipelines and unavailable devices: errors naming the audiodev and the element.
- A real PulseAudio server started by the test (null sink) with both backends.
- audio-none: periods complete at the stream's pace, capture gives silence."""
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'guests' / 'pylib'))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import audio_analysis as aa  # noqa: E402
import mosaic_guests as g  # noqa: E402

# virtio-snd codes
FMT = {'U8': 4, 'S16': 5, 'S24_3': 11, 'S24': 15, 'S32': 17, 'F32': 19, 'F64': 20, 'S8': 3,
       'U16': 6, 'S20_3': 9}
RATE = {8000: 1, 11025: 2, 16000: 3, 22050: 4, 32000: 5, 44100: 6, 48000: 7, 64000: 8,
        88200: 9, 96000: 10, 176400: 11, 192000: 12}


@pytest.fixture(scope='module')
def snd_elf():
    return g.ensure_guests() / 'tests' / 'snd.elf'


def machine(tmp_path, snd_elf, args, audiodev, device_extra=''):
    ini = tmp_path / 'snd.ini'
    ini.write_text('[machine]\ntype = riscv-virt\nmemory = 64M\nkernel = %s\n'
                   'append = mosaic.snd=%s\n\n[audiodev snd0]\n%s\n\n'
                   '[device snd]\ntype = virtio-snd\naudiodev = snd0\n%s\n'
                   % (snd_elf, ','.join(map(str, args)), audiodev, device_extra))
    return ini


def sigs(out):
    d = {}
    for line in out.splitlines():
        if line.startswith('SIG '):
            _, k, v = line.split()
            d[k] = int(v, 16)
    return d


def play_args(fmt='S16', rate=48000, ch=2, frames=48000, period=480, freq=440, amp=50):
    return [0, FMT[fmt], RATE[rate], ch, frames, period, freq, amp]


def check_played(r, periods):
    assert r.returncode == 0, r.stdout + r.stderr
    s = sigs(r.stdout)
    assert s.get('periods') == periods, r.stdout
    assert s.get('bad-status') == 0, r.stdout
    assert r.stdout.rstrip().endswith('PASS'), r.stdout


@pytest.mark.needs_tools('riscv64-unknown-elf-gcc')
@pytest.mark.parametrize('volume', [100, 50])
def test_tone_recorded_by_wavenc(tmp_path, snd_elf, run_mosaic, volume):
    out = tmp_path / 'out.wav'
    ini = machine(tmp_path, snd_elf, play_args(),
                  'driver = gst\nout.pipeline = wavenc ! filesink location=%s' % out,
                  'volume = %d' % volume)
    r = run_mosaic(ini)
    check_played(r, 100)
    t = aa.tone(out)
    level = 0.5 * volume / 100
    assert abs(t.seconds - 1.0) <= 0.020, t
    assert abs(t.freq - 440) <= 1, t
    assert abs(t.peak - level) <= 0.01 * level + 0.001, t
    assert abs(t.rms - level / 2 ** 0.5) <= 0.01 * level, t
    assert aa.glitches(t, 1.5 * t.slope()) == 0, t


# A 48 kHz stereo sink: the guest's format, rate and channels are converted by
# audioconvert ! audioresample inside audio-gst.
SINK48 = 'audio/x-raw,format=S16LE,rate=48000,channels=2 ! wavenc ! filesink location=%s'
MATRIX = [
    ('U8', 8000, 1), ('S16', 11025, 2), ('S24_3', 22050, 6), ('S24', 44100, 1),
    ('S32', 96000, 2), ('F32', 192000, 2), ('F64', 16000, 6), ('S8', 32000, 2),
    ('U16', 88200, 1), ('S20_3', 48000, 2), ('S16', 176400, 6), ('S32', 8000, 6),
]


@pytest.mark.parametrize('fmt,rate,ch', MATRIX, ids=['%s-%d-%dch' % m for m in MATRIX])
def test_format_matrix(tmp_path, snd_elf, run_mosaic, fmt, rate, ch):
    out = tmp_path / 'out.wav'
    period = rate // 100 if rate % 100 == 0 else rate // 25  # 10 or 40 ms
    periods = max(25 * (rate // 100) // period, 8)
    ini = machine(tmp_path, snd_elf, play_args(fmt, rate, ch, periods * period, period, 1000, 40),
                  'driver = gst\nout.pipeline = ' + SINK48 % out)
    r = run_mosaic(ini, timeout=120)
    check_played(r, periods)
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels()) == (48000, 2)
    t = aa.tone(out)
    assert abs(t.seconds - periods * period / rate) <= 0.020, t
    assert abs(t.freq - 1000) <= 1, t
    assert aa.glitches(t, 1.5 * t.slope()) == 0, t


def fnv1a(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def write_wav(path, rate, ch, frames, width=2, seed=1):
    """A WAV of pseudo-random samples; returns its PCM bytes."""
    x = seed
    raw = bytearray()
    for _ in range(frames * ch * width):
        x = (x * 1103515245 + 12345) & 0x7fffffff
        raw.append((x >> 16) & 0xff)
    with wave.open(str(path), 'wb') as w:
        w.setnchannels(ch)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(bytes(raw))
    return bytes(raw)


@pytest.mark.parametrize('rate,ch,fmt', [(48000, 2, 'S16'), (16000, 1, 'S16'),
                                         (44100, 2, 'S24_3')])
def test_capture_is_sample_exact(tmp_path, snd_elf, run_mosaic, rate, ch, fmt):
    period = rate // 100
    frames = 30 * period
    raw = write_wav(tmp_path / 'in.wav', rate, ch, frames, 3 if fmt == 'S24_3' else 2)
    ini = machine(tmp_path, snd_elf, [1, FMT[fmt], RATE[rate], ch, frames, period, 0, 0],
                  'driver = gst\nin.pipeline = filesrc location=%s ! decodebin'
                  % (tmp_path / 'in.wav'))
    r = run_mosaic(ini)
    check_played(r, 30)
    assert sigs(r.stdout)['hash'] == fnv1a(raw), r.stdout


@pytest.mark.parametrize('pipeline,element', [
    ('wavenc ! nosuchelement', 'nosuchelement'),
    ('wavenc ! filesink location=/nonexistent-dir/x.wav', "element 'filesink"),
    ('audioconvert ! audio/x-raw,format=S16LE ! wavenc ! ! fakesink', 'out.pipeline'),
])
def test_bad_output_pipeline_names_audiodev_and_element(tmp_path, snd_elf, run_mosaic,
                                                         pipeline, element):
    ini = machine(tmp_path, snd_elf, play_args(), 'driver = gst\nout.pipeline = ' + pipeline)
    r = run_mosaic(ini)
    assert r.returncode != 0
    assert "audiodev 'snd0'" in r.stderr, r.stderr
    assert element in r.stderr, r.stderr
    assert 'snd.ini:' in r.stderr, r.stderr


def test_bad_input_pipeline_names_audiodev_and_element(tmp_path, snd_elf, run_mosaic):
    ini = machine(tmp_path, snd_elf, play_args(),
                  'driver = gst\nin.pipeline = filesrc location=/nonexistent.wav ! decodebin')
    r = run_mosaic(ini)
    assert r.returncode != 0
    assert "audiodev 'snd0'" in r.stderr and "in.pipeline" in r.stderr, r.stderr
    assert "element 'filesrc" in r.stderr, r.stderr


def test_unreachable_pulse_server_named(tmp_path, snd_elf, run_mosaic):
    sock = tmp_path / 'no-such-server'
    for audiodev, what in [('driver = pulse\nserver = unix:%s' % sock, str(sock)),
                           ('driver = gst\nout.pipeline = pulsesink server=unix:%s' % sock,
                            "element 'pulsesink")]:
        r = run_mosaic(machine(tmp_path, snd_elf, play_args(), audiodev))
        assert r.returncode != 0
        assert "audiodev 'snd0'" in r.stderr and what in r.stderr, r.stderr


def test_audio_none_keeps_time_and_captures_silence(tmp_path, snd_elf, run_mosaic):
    t0 = time.monotonic()
    r = run_mosaic(machine(tmp_path, snd_elf, play_args(frames=24000), 'driver = none'))
    elapsed = time.monotonic() - t0
    check_played(r, 50)
    # A device with a clock: half a second of audio cannot be played in less.
    assert elapsed >= 0.45, elapsed
    r = run_mosaic(machine(tmp_path, snd_elf, [1, FMT['S16'], RATE[48000], 2, 4800, 480, 0, 0],
                           'driver = none'))
    check_played(r, 10)
    assert sigs(r.stdout)['hash'] == fnv1a(bytes(4800 * 4)), r.stdout


@pytest.fixture
def pulse_server(tmp_path):
    """A PulseAudio server of our own with a null sink, on a private socket."""
    home = tmp_path / 'pulse-home'
    (home / 'run').mkdir(parents=True)
    sock = home / 'native'
    env = dict(os.environ, HOME=str(home), XDG_RUNTIME_DIR=str(home / 'run'),
               XDG_CONFIG_HOME=str(home / 'cfg'), PULSE_SERVER='unix:%s' % sock)
    p = subprocess.Popen(['pulseaudio', '-n', '--daemonize=no', '--exit-idle-time=-1',
                          '--use-pid-file=no', '--disallow-exit', '--log-target=stderr',
                          '-L', 'module-null-sink sink_name=null rate=48000 channels=2',
                          '-L', 'module-native-protocol-unix socket=%s auth-anonymous=1' % sock],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        if subprocess.run(['pactl', 'info'], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    else:
        p.kill()
        pytest.fail('pulseaudio did not start: %s' % p.communicate()[1].decode()[-2000:])
    yield env
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


@pytest.mark.needs_tools('pulseaudio', 'pactl', 'parecord')
@pytest.mark.parametrize('backend', ['pulse', 'gst'])
def test_pulseaudio_server_plays_the_tone(tmp_path, snd_elf, run_mosaic, pulse_server, backend):
    env = pulse_server
    server = env['PULSE_SERVER']
    audiodev = ('driver = pulse\nserver = %s\nsink = null\nlatency = 100' % server
                if backend == 'pulse' else
                'driver = gst\nout.pipeline = pulsesink server=%s device=null '
                'buffer-time=200000' % server)
    rec = tmp_path / 'rec.wav'
    recorder = subprocess.Popen(['parecord', '--device=null.monitor', '--file-format=wav',
                                 '--rate=48000', '--channels=2', '--format=s16le',
                                 '--latency-msec=100', str(rec)], env=env)
    try:
        time.sleep(0.3)
        t0 = time.monotonic()
        r = run_mosaic(machine(tmp_path, snd_elf, play_args(), audiodev), env=env)
        elapsed = time.monotonic() - t0
        time.sleep(0.3)
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(10)
    check_played(r, 100)
    # The server's clock paced the guest: a second of audio takes at least that long.
    assert elapsed >= 0.95, elapsed
    t = aa.tone(rec)
    freq, peak = aa.robust(t)
    assert abs(freq - 440) <= 1, (t, freq)
    assert abs(peak - 0.5) <= 0.02, (t, peak)


@pytest.mark.parametrize('audiodev', ['driver = gst\nout.pipeline = fakesink sync=true',
                                      'driver = none'], ids=['gst', 'none'])
def test_malformed_requests_get_errors(tmp_path, snd_elf, run_mosaic, audiodev):
    """Short, out-of-range and misdirected requests each get BAD_MSG or NOT_SUPP (the
    guest checks every answer), nothing crashes, and the device still plays after them:
    20 rounds of set-params, prepare, start, one period, stop, release."""
    r = run_mosaic(machine(tmp_path, snd_elf, [2], audiodev))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.rstrip().endswith('PASS'), r.stdout
    assert 'FAIL' not in r.stdout, r.stdout


def test_dotted_keys_in_files_and_set(tmp_path, snd_elf, run_mosaic):
    """out.pipeline is a key of machine files, of --set (everything after the label is
    the key) and of --dump-config, whose output loads back to the same machine."""
    out = tmp_path / 'set.wav'
    ini = machine(tmp_path, snd_elf, play_args(frames=4800),
                  'driver = gst\nout.pipeline = wavenc ! filesink location=%s' % (tmp_path / 'x.wav'))
    r = run_mosaic(ini, '--set', 'audiodev.snd0.out.pipeline=wavenc ! filesink location=%s' % out)
    check_played(r, 10)
    assert out.exists() and not (tmp_path / 'x.wav').exists()
    d = run_mosaic('--dump-config', ini)
    assert d.returncode == 0 and 'out.pipeline = wavenc' in d.stdout, d
    again = tmp_path / 'again.ini'
    again.write_text(d.stdout)
    assert run_mosaic('--dump-config', again).stdout == d.stdout
    bad = tmp_path / 'bad.ini'
    bad.write_text(ini.read_text().replace('out.pipeline', 'out..pipeline'))
    r = run_mosaic(bad)
    assert r.returncode != 0 and "bad key name 'out..pipeline'" in r.stderr, r.stderr


@pytest.mark.needs_tools('pulseaudio', 'pactl')
@pytest.mark.parametrize('backend', ['pulse', 'gst'])
def test_pulseaudio_server_captures(tmp_path, snd_elf, run_mosaic, pulse_server, backend):
    """Capture from the idle null sink's monitor through the server: every period
    arrives, paced by the server (a tenth of a second of audio takes at least that), and
    holds the silence the sink plays."""
    server = pulse_server['PULSE_SERVER']
    audiodev = ('driver = pulse\nserver = %s\nsource = null.monitor' % server
                if backend == 'pulse' else
                'driver = gst\nin.pipeline = pulsesrc server=%s device=null.monitor' % server)
    t0 = time.monotonic()
    r = run_mosaic(machine(tmp_path, snd_elf, [1, FMT['S16'], RATE[48000], 2, 4800, 480, 0, 0],
                           audiodev), env=pulse_server)
    elapsed = time.monotonic() - t0
    check_played(r, 10)
    assert sigs(r.stdout)['hash'] == fnv1a(bytes(4800 * 4)), r.stdout
    assert elapsed >= 0.1, elapsed


def test_clocked_sink_paces_the_guest(tmp_path, snd_elf, run_mosaic):
    """Periods complete in the sink's time: with a sink that syncs to the pipeline clock,
    half a second of audio cannot be played in less (a file sink has no clock and goes
    as fast as the guest)."""
    t0 = time.monotonic()
    r = run_mosaic(machine(tmp_path, snd_elf, play_args(frames=24000),
                           'driver = gst\nout.pipeline = fakesink sync=true'))
    elapsed = time.monotonic() - t0
    check_played(r, 50)
    assert elapsed >= 0.45, elapsed


def test_quit_while_playing_finishes_the_recording(tmp_path, snd_elf, mosaic):
    """Stopping the machine in the middle of playback plays out what the guest already
    gave and closes the recording properly (wavenc writes its header on EOS)."""
    out = tmp_path / 'out.wav'
    ini = machine(tmp_path, snd_elf, play_args(frames=480000),
                  'driver = gst\nout.pipeline = identity sync=true ! wavenc ! filesink '
                  'location=%s' % out)
    p = subprocess.Popen([str(mosaic), str(ini)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / 'xdg')))
    time.sleep(1.5)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=30)
    assert p.returncode in (0, 128 + signal.SIGTERM, -signal.SIGTERM), err
    with wave.open(str(out)) as w:  # a header that matches the data
        frames = w.getnframes()
        assert frames * 4 == out.stat().st_size - 44, (frames, out.stat().st_size)
    t = aa.tone(out)
    assert 0.2 <= t.seconds <= 2.0, t
    assert abs(t.freq - 440) <= 1, t
    assert aa.glitches(t, 1.5 * t.slope()) == 0, t


def test_denied_backend_named(tmp_path, snd_elf, run_mosaic):
    """The deployment policy applies to audio backends: a denied one stops the machine
    before it starts, naming the plugin, the rule and the section that needs it."""
    ini = machine(tmp_path, snd_elf, play_args(), 'driver = none')
    r = run_mosaic('--disable-plugin', 'audio-*', ini)
    assert r.returncode != 0
    assert "plugin 'audio-none' is disabled by the command line (--disable-plugin audio-*)" \
        in r.stderr, r.stderr
    assert "audiodev 'snd0' (%s:8)" % ini in r.stderr, r.stderr


def test_mute_and_volume_while_playing(tmp_path, snd_elf, mosaic):
    """qom-set of the device's volume and mute reaches the running stream's backend:
    two seconds of tone played in real time, halved after about half a second and muted
    after about one; the recording shows the three parts."""
    from test_monitor import Qmp, Vm
    out = tmp_path / 'out.wav'
    ini = machine(tmp_path, snd_elf, play_args(frames=96000),
                  'driver = gst\nout.pipeline = identity sync=true ! wavenc ! filesink '
                  'location=%s' % out).read_text()
    v = Vm(mosaic, tmp_path, ini)
    try:
        q = Qmp(v.sock)
        time.sleep(0.5)
        assert q.cmd('qom-set', {'path': 'snd', 'property': 'volume', 'value': 50}) == {'return': {}}
        time.sleep(0.5)
        assert q.cmd('qom-set', {'path': 'snd', 'property': 'mute', 'value': True}) == {'return': {}}
        r = q.cmd('qom-set', {'path': 'snd', 'property': 'volume', 'value': 101})
        assert 'error' in r, r
        assert v.wait(30) == 0, v.p.stderr.read()
    finally:
        v.kill()
    rate, _, x = aa.read(out)
    assert len(x) >= 1.9 * rate
    peaks = [max(abs(s) for s in x[i:i + rate // 20]) for i in range(0, len(x) - rate // 20, rate // 20)]
    assert max(peaks[:4]) > 0.45, peaks              # full volume at first (peak 0.5)
    assert any(0.2 < p < 0.3 for p in peaks), peaks  # then half (0.25)
    assert peaks[-1] < 0.01, peaks                   # muted at the end
    loud = [i for i, p in enumerate(peaks) if p > 0.01]
    assert loud[-1] < len(peaks) - 4, peaks          # muted for a while before the end
