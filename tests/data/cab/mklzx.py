#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write lzxtest.pd_: a one-member Microsoft Cabinet compressed with LZX.

No LZX compressor is packaged for Debian (gcab writes MSZIP only, lcab is
not in bookworm, libmspack's LZX compressor is an empty stub), so this
writes the LZX stream by hand, as one *uncompressed* LZX block (block
type 3, allowed by the format for incompressible data).  That takes the
cabinet through libmspack's LZX decoder (header bit, block header, stored
R0-R2, frame end), not through its Huffman decoding.

Usage: mklzx.py OUTDIR   (writes OUTDIR/lzxtest.pdb and OUTDIR/lzxtest.pd_;
the output is deterministic)
"""
import struct
import sys

MEMBER = b"lzxtest.pdb"
WINDOW_BITS = 15          # smallest LZX window (32 KiB)
DOS_DATE, DOS_TIME = 0x2821, 0  # 2000-01-01 00:00


def plain_bytes():
    lines = [b"symsrvd LZX cabinet fixture, line %04d\n" % i for i in range(100)]
    data = b"".join(lines)
    assert len(data) % 2 == 0 and len(data) <= 32768  # one frame, no pad
    return data


class Bits:
    """LZX bit writer: bits go MSB first into 16-bit little-endian words."""

    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, value, width):
        for i in reversed(range(width)):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 16:
                self.out += struct.pack("<H", self.acc)
                self.acc = self.n = 0

    def align(self):
        if self.n:
            self.put(0, 16 - self.n)


def lzx_stream(data):
    b = Bits()
    b.put(0, 1)               # no Intel E8 translation
    b.put(3, 3)               # block type 3: uncompressed
    b.put(len(data), 24)      # block size
    b.align()                 # the decoder drops the rest of the word
    out = bytes(b.out)
    out += struct.pack("<III", 1, 1, 1)  # R0, R1, R2
    return out + data


def checksum(data, seed=0):
    """The cabinet CFDATA checksum (XOR of little-endian 32-bit words)."""
    csum = seed
    full = len(data) & ~3
    for i in range(0, full, 4):
        csum ^= struct.unpack_from("<I", data, i)[0]
    tail = data[full:]
    ul = 0
    for byte in tail:
        ul = (ul << 8) | byte
    return csum ^ ul


def cabinet(data):
    comp = lzx_stream(data)
    name = MEMBER + b"\0"
    hdr_len, folder_len, file_len = 36, 8, 16 + len(name)
    data_off = hdr_len + folder_len + file_len
    total = data_off + 8 + len(comp)
    header = b"MSCF" + struct.pack(
        "<IIIIIBBHHHHH", 0, total, 0, hdr_len + folder_len, 0, 3, 1,
        1, 1, 0, 0, 0)
    folder = struct.pack("<IHH", data_off, 1, 3 | (WINDOW_BITS << 8))
    cffile = struct.pack("<IIHHHH", len(data), 0, 0, DOS_DATE, DOS_TIME,
                         0x20) + name
    sizes = struct.pack("<HH", len(comp), len(data))
    csum = checksum(sizes, checksum(comp))
    block = struct.pack("<I", csum) + sizes + comp
    cab = header + folder + cffile + block
    assert len(cab) == total
    return cab


def main():
    out = sys.argv[1]
    data = plain_bytes()
    with open(out + "/lzxtest.pdb", "wb") as f:
        f.write(data)
    with open(out + "/lzxtest.pd_", "wb") as f:
        f.write(cabinet(data))


if __name__ == "__main__":
    main()
