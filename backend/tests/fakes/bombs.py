"""Decompression bombs: bodies of a few KB that inflate to gigabytes of zeros.

Compressing 2 GiB of zeros takes zlib most of a minute, so a stream is built instead from
one compressed MiB repeated: a block that ends with a full flush refers to nothing before
it, so the same bytes can follow themselves any number of times.
"""

import struct
import zlib
from functools import cache

MIB = 1024 * 1024
# zlib.crc32 of 2 GiB of zeros (computed once; it takes seconds).
_CRC32_OF_2_GIB_ZEROS = 0x4DBDF21C


@cache
def _zero_blocks(mib: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(bytes(MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    # A final empty block (fixed Huffman, BFINAL=1) ends the stream.
    return block * mib + b"\x03\x00"


def gzip_of_zeros_2gib() -> bytes:
    """A valid gzip member of 2 GiB of zeros, about 2 MB."""
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", _CRC32_OF_2_GIB_ZEROS, (2048 * MIB) & 0xFFFFFFFF)
    return header + _zero_blocks(2048) + trailer


def zlib_of_zeros_2gib() -> bytes:
    """A valid zlib stream (HTTP's `deflate`) of 2 GiB of zeros."""
    size = 2048 * MIB
    adler = ((size % 65521) << 16) | 1  # Adler-32 of zeros: a stays 1, b grows by 1 a byte
    return b"\x78\xda" + _zero_blocks(2048) + struct.pack(">I", adler)


def raw_deflate_of_zeros_2gib() -> bytes:
    """Raw deflate (no zlib wrapper), as some servers send `deflate`."""
    return _zero_blocks(2048)


def double_gzip_bomb() -> bytes:
    """`Content-Encoding: gzip, gzip`: a few KB that inflate to 2 GiB."""
    return zlib.compress(gzip_of_zeros_2gib(), 9, wbits=16 + zlib.MAX_WBITS)


def double_deflate_bomb() -> bytes:
    """`Content-Encoding: deflate, deflate`: raw deflate inside a zlib stream."""
    return zlib.compress(raw_deflate_of_zeros_2gib(), 9)
