# SPDX-License-Identifier: GPL-2.0-or-later
"""A small analysis of recorded test tones (16-bit WAV files), in plain Python.

tone(path) finds the tone (samples above a threshold), and measures its length, its
frequency (from linearly interpolated upward zero crossings: a fraction of a Hz over a
second), its RMS level and its largest step between two samples (a dropout or a
discontinuity shows as a step much larger than the sine's own slope)."""
import struct
import wave


def read(path):
    """(rate, channels, samples of channel 0 as floats in [-1, 1))."""
    with wave.open(str(path), 'rb') as w:
        rate, ch, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        assert width == 2, 'analysis expects 16-bit WAV, got %d bytes' % width
        raw = w.readframes(w.getnframes())
    n = len(raw) // (2 * ch)
    vals = struct.unpack('<%dh' % (n * ch), raw[:n * 2 * ch])
    return rate, ch, [v / 32768.0 for v in vals[0::ch]]


class Tone:
    def __init__(self, rate, start, end, freq, rms, peak, max_step):
        self.rate, self.start, self.end = rate, start, end
        self.seconds = (end - start) / rate
        self.freq, self.rms, self.peak, self.max_step = freq, rms, peak, max_step

    def slope(self):
        """The largest step a clean sine of this frequency and peak makes."""
        import math
        return 2 * math.pi * self.freq / self.rate * self.peak

    def __repr__(self):
        return ('Tone(%.4f s from %.4f s, %.3f Hz, rms %.4f, peak %.4f, max step %.4f)' %
                (self.seconds, self.start / self.rate, self.freq, self.rms, self.peak,
                 self.max_step))


def tone(path, threshold=0.02):
    rate, _, x = read(path)
    loud = [i for i, v in enumerate(x) if abs(v) > threshold]
    assert loud, '%s: no tone above %s' % (path, threshold)
    # The tone starts and ends on a zero crossing at most one cycle from its first and
    # last loud sample; the edges are found to within a sample by the crossings.
    start, end = loud[0], loud[-1] + 1
    seg = x[start:end]
    ups = []
    for i in range(1, len(seg)):
        a, b = seg[i - 1], seg[i]
        if a < 0 <= b:
            ups.append(i - 1 + (-a) / (b - a))
    freq = (len(ups) - 1) / ((ups[-1] - ups[0]) / rate) if len(ups) > 2 else 0.0
    rms = (sum(v * v for v in seg) / len(seg)) ** 0.5
    peak = max(abs(v) for v in seg)
    max_step = max(abs(seg[i] - seg[i - 1]) for i in range(1, len(seg)))
    t = Tone(rate, start, end, freq, rms, peak, max_step)
    # Steps larger than `glitch` (set by the caller from the sine's own slope) are
    # counted by glitches(); kept here for that.
    t.samples = seg
    return t


def robust(t):
    """(frequency, level) from the median cycle: a recording through a real-time server
    on a loaded host may have a dropout, which must not move these."""
    s, rate = t.samples, t.rate
    ups = [i - 1 + (-s[i - 1]) / (s[i] - s[i - 1]) for i in range(1, len(s)) if s[i - 1] < 0 <= s[i]]
    periods = sorted(b - a for a, b in zip(ups, ups[1:]))
    peaks = sorted(max(abs(v) for v in s[int(a):int(b) + 1]) for a, b in zip(ups, ups[1:]))
    return rate / periods[len(periods) // 2], peaks[len(peaks) // 2]


def glitches(t, limit):
    """Number of sample-to-sample steps above limit (dropouts, discontinuities)."""
    s = t.samples
    return sum(1 for i in range(1, len(s)) if abs(s[i] - s[i - 1]) > limit)
