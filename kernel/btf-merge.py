#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""btf-merge.py BASE SPLIT OUT: one standalone raw BTF from a base and a split
BTF made against it (e.g. vmlinux + a module), with the same type ids.

Split BTF numbers its types after the base's and its string offsets after
the base's strings, so the types and the strings of the two, each
concatenated, are a BTF in which every id and offset is unchanged.
BASE and SPLIT are raw BTF files (objcopy -O binary --only-section=.BTF)."""
import struct
import sys

HDR = '<HBBIIIII'  # magic, version, flags, hdr_len, type_off, type_len, str_off, str_len


def parse(path):
    data = open(path, 'rb').read()
    magic, ver, flags, hdr_len, toff, tlen, soff, slen = struct.unpack_from(HDR, data)
    if magic != 0xeb9f:
        sys.exit(f'btf-merge: {path}: not little-endian raw BTF')
    types = data[hdr_len + toff:hdr_len + toff + tlen]
    strs = data[hdr_len + soff:hdr_len + soff + slen]
    return ver, flags, types, strs


def main():
    if len(sys.argv) != 4:
        sys.exit('usage: btf-merge.py BASE SPLIT OUT')
    ver, flags, bt, bs = parse(sys.argv[1])
    _, _, st, ss = parse(sys.argv[2])
    types, strs = bt + st, bs + ss
    hdr_len = struct.calcsize(HDR)
    hdr = struct.pack(HDR, 0xeb9f, ver, flags, hdr_len, 0, len(types), len(types), len(strs))
    with open(sys.argv[3], 'wb') as f:
        f.write(hdr + types + strs)


if __name__ == '__main__':
    main()
