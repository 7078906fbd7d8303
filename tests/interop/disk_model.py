# SPDX-License-Identifier: GPL-2.0-or-later
"""A reference model of a disk for model-checked tests: what every byte must read as
after a sequence of writes, write-zeroes and discards.

Sparse, in pages: a page never written reads as the base (the backing file's bytes,
zeroes past its end, or zeroes without one); a page zeroed whole is one shared object, so
a 2 GiB write-zeroes costs a dictionary, not 2 GiB.  A discard leaves the clusters it
covers whole "unknown": they may read as zeroes or as the base (qcow2 drops them), never
as anything else; the bytes of partly covered clusters keep their contents."""
import os

PAGE = 64 << 10
ZERO_PAGE = bytes(PAGE)
ALL_UNKNOWN = b'\x01' * PAGE


class DiskModel:
    def __init__(self, size, cluster, backing=None):
        self.size, self.cluster = size, cluster
        self.backing = open(backing, 'rb') if backing else None
        self.backing_len = self.backing.seek(0, 2) if backing else 0
        self.pages = {}    # page index -> bytes/bytearray (PAGE long)
        self.unknown = {}  # page index -> mask (1: unknown byte)

    def base(self, off, n):
        """The bytes the disk had before any request (the backing file's, or zeroes)."""
        if off >= self.backing_len:
            return bytes(n)
        self.backing.seek(off)
        b = self.backing.read(min(n, self.backing_len - off))
        return b + bytes(n - len(b))

    def _page(self, i):
        p = self.pages.get(i)
        if p is None:
            p = self.base(i * PAGE, PAGE)
        if not isinstance(p, bytearray):
            p = self.pages[i] = bytearray(p)
        return p

    def _spans(self, off, n):
        """(page index, start in page, length) covering [off, off + n)."""
        while n > 0:
            i, s = divmod(off, PAGE)
            k = min(n, PAGE - s)
            yield i, s, k
            off += k
            n -= k

    def _set_unknown(self, off, n, value):
        for i, s, k in self._spans(off, n):
            if k == PAGE:
                if value:
                    self.unknown[i] = ALL_UNKNOWN
                else:
                    self.unknown.pop(i, None)
                continue
            m = self.unknown.get(i)
            if m is None and not value:
                continue
            m = bytearray(m if m is not None else PAGE)
            m[s:s + k] = (b'\x01' if value else b'\x00') * k
            if any(m):
                self.unknown[i] = m
            else:
                self.unknown.pop(i, None)

    def write(self, off, data):
        pos = 0
        for i, s, k in self._spans(off, len(data)):
            if k == PAGE:
                self.pages[i] = bytes(data[pos:pos + k])
            else:
                self._page(i)[s:s + k] = data[pos:pos + k]
            pos += k
        self._set_unknown(off, len(data), False)

    def zero(self, off, n):
        for i, s, k in self._spans(off, n):
            if k == PAGE:
                self.pages[i] = ZERO_PAGE
            else:
                self._page(i)[s:s + k] = bytes(k)
        self._set_unknown(off, n, False)

    def discard(self, off, n):
        cs = self.cluster
        c0, end = -(-off // cs) * cs, (off + n) // cs * cs
        if off + n == self.size:
            end = -(-self.size // cs) * cs  # the image's last, partial cluster counts whole
        end = min(end, self.size)
        if end > c0:
            self._set_unknown(c0, end - c0, True)

    def expected(self, off, n):
        """(bytes, unknown mask or None) for [off, off + n)."""
        data, mask, any_unknown = bytearray(), bytearray(), False
        for i, s, k in self._spans(off, n):
            p = self.pages.get(i)
            data += p[s:s + k] if p is not None else self.base(off + len(data), k)
            m = self.unknown.get(i)
            any_unknown |= m is not None
            mask += m[s:s + k] if m is not None else bytes(k)
        return bytes(data), (mask if any_unknown else None)

    def check(self, off, got):
        """None when `got` (read from the disk at off) agrees with the model, else why."""
        exp, mask = self.expected(off, len(got))
        if mask is None:
            return None if got == exp else self._diff(off, got, exp)
        cs, pos = self.cluster, 0
        while pos < len(got):
            k = min(len(got) - pos, cs - (off + pos) % cs)
            g, e, m = got[pos:pos + k], exp[pos:pos + k], mask[pos:pos + k]
            unknown = m.count(1)
            if unknown == k:  # a discarded cluster: zeroes or the base, nothing else
                if g != bytes(k) and g != self.base(off + pos, k):
                    return f'discarded cluster at {off + pos} reads neither zeroes nor the base'
            elif unknown:  # partly written since: the rest is zeroes or the base
                b = self.base(off + pos, k)
                as_zero = bytes(0 if m[j] else x for j, x in enumerate(e))
                as_base = bytes(b[j] if m[j] else x for j, x in enumerate(e))
                if g != as_zero and g != as_base:
                    return f'partly discarded cluster at {off + pos} reads wrong'
            elif g != e:
                return self._diff(off + pos, g, e)
            pos += k
        return None

    @staticmethod
    def _diff(off, got, exp):
        i = next(j for j in range(len(got)) if got[j] != exp[j])
        return (f'byte {off + i} reads 0x{got[i]:02x}, the model says 0x{exp[i]:02x} '
                f'(first difference of a read of {len(got)} bytes at {off})')

    def unknown_pages(self):
        return sorted(self.unknown)

    def settle(self, i, got):
        """After checking page i against the disk: its unknown bytes become what was read."""
        self.pages[i] = bytes(got)
        self.unknown.pop(i, None)

    def touched_pages(self):
        """Pages that may differ from zeroes: written ones and the backing file's data."""
        pages = set(self.pages)
        if self.backing:
            fd, off = self.backing.fileno(), 0
            while off < self.backing_len:
                try:
                    off = os.lseek(fd, off, os.SEEK_DATA)
                except OSError:
                    break  # no data after off
                end = os.lseek(fd, off, os.SEEK_HOLE)
                pages.update(range(off // PAGE, -(-end // PAGE)))
                off = end
        return sorted(pages)

    def save_raw(self, path):
        """The disk as the model says, as a sparse raw file (for qemu-img compare)."""
        with open(path, 'wb') as f:
            f.truncate(self.size)
            for i in self.touched_pages():
                if i * PAGE >= self.size:
                    continue
                n = min(PAGE, self.size - i * PAGE)
                data = self.expected(i * PAGE, n)[0]
                if data != ZERO_PAGE[:n]:
                    f.seek(i * PAGE)
                    f.write(data)
