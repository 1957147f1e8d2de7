"""Response bodies decoded (Content-Encoding) with a cap on what comes out.

httpx's decoders inflate each network chunk whole: 64 KiB of gzip can become 66 MB in one
call, and stacked codings (`gzip, gzip`) multiply that past 100,000:1. Here the raw bytes go
through one zlib inflater per coding, each asked for at most what the next one (or the
body) still has room for (`max_length`), so a body that inflates to gigabytes costs no more
memory than the cap before it is refused.
"""

import zlib
from collections.abc import Sequence
from typing import Protocol

import httpx

# Input handed from one layer to the next at a time; bounds each layer's buffer.
_STEP = 64 * 1024
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_GZIP_MAGIC = b"\x1f\x8b"
# Real servers stack at most two codings; every layer holds buffers of its own.
MAX_CODINGS = 3
_CODINGS = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate"}


class BodyTooLargeError(Exception):
    """The decoded body passed its cap."""


class _Reader(Protocol):
    def read(self, size: int) -> bytes: ...


class _RawBytes:
    """What the network gave and no layer has taken yet."""

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data = b""

    def read(self, size: int) -> bytes:
        if len(self.data) <= size:
            chunk, self.data = self.data, b""
        else:
            chunk, self.data = self.data[:size], self.data[size:]
        return chunk


def _is_zlib_header(data: bytes) -> bool:
    return data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


class _Inflater:
    """One gzip or deflate layer. Deflate is zlib-wrapped per RFC 9110, but servers also
    send raw deflate; the first two bytes tell which (as browsers and httpx do)."""

    __slots__ = ("_gzip", "_inflate", "_more", "_pending", "_source", "done")

    def __init__(self, source: _Reader, coding: str) -> None:
        self._source = source
        self._gzip = coding == "gzip"
        self._inflate = zlib.decompressobj(_GZIP_WBITS) if self._gzip else None
        self._pending = b""  # input not yet consumed
        self._more = False  # the last call filled its room: output may be waiting
        self.done = False

    def read(self, size: int) -> bytes:
        out: list[bytes] = []
        room = size
        while room > 0:
            if self.done:
                while self._source.read(_STEP):  # what follows the stream is ignored
                    pass
                break
            if not self._pending and not self._more:
                self._pending = self._source.read(_STEP)
                if not self._pending:
                    break
            inflate = self._inflate
            if inflate is None:
                if len(self._pending) < 2:
                    more = self._source.read(_STEP)
                    if not more:
                        break
                    self._pending += more
                    continue
                wbits = zlib.MAX_WBITS if _is_zlib_header(self._pending) else -zlib.MAX_WBITS
                inflate = self._inflate = zlib.decompressobj(wbits)
            try:
                piece = inflate.decompress(self._pending, room)
            except zlib.error as exc:
                raise httpx.DecodingError(f"invalid compressed body: {exc}") from exc
            self._more = len(piece) == room
            if piece:
                out.append(piece)
                room -= len(piece)
            if inflate.eof:
                rest = inflate.unused_data
                self._more = False
                if self._gzip and rest.startswith(_GZIP_MAGIC):
                    # Concatenated gzip members (pigz, appended logs) are one body.
                    self._inflate = zlib.decompressobj(_GZIP_WBITS)
                    self._pending = rest
                else:
                    self._pending = b""
                    self.done = True
            else:
                self._pending = inflate.unconsumed_tail
        return b"".join(out)


class BoundedDecoder:
    """Feed it the raw body chunk by chunk; it returns the decoded bytes, and raises
    BodyTooLargeError as soon as more than `limit` decoded bytes would come out.

    `codings` are the Content-Encoding values in the order the server applied them;
    `identity` and codings we do not know are passed over (as httpx does).
    """

    __slots__ = ("_layers", "_limit", "_raw", "_top", "raw_size", "size")

    def __init__(self, codings: Sequence[str], limit: int) -> None:
        known = [_CODINGS[c] for c in (v.strip().lower() for v in codings) if c in _CODINGS]
        if len(known) > MAX_CODINGS:
            raise httpx.DecodingError(f"{len(known)} stacked content codings")
        self._limit = limit
        self._raw = _RawBytes()
        reader: _Reader = self._raw
        for coding in reversed(known):  # the last one applied is the first undone
            reader = _Inflater(reader, coding)
        self._top: _Reader | None = reader if known else None
        self.size = 0  # decoded bytes so far
        self.raw_size = 0

    def feed(self, chunk: bytes) -> bytes:
        self.raw_size += len(chunk)
        if self.raw_size > self._limit + _STEP:  # e.g. endless bytes after the stream's end
            raise BodyTooLargeError
        if self._top is None:
            self.size += len(chunk)
            if self.size > self._limit:
                raise BodyTooLargeError
            return chunk
        self._raw.data += chunk
        out: list[bytes] = []
        while True:
            # One byte past the cap is enough to know it is passed.
            piece = self._top.read(self._limit - self.size + 1)
            if not piece:
                return b"".join(out)
            self.size += len(piece)
            if self.size > self._limit:
                raise BodyTooLargeError
            out.append(piece)
